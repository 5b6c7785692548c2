//! `tern import USER mbox|maildir PATH [--mailbox NAME]` and `tern export
//! USER maildir|mbox DEST`: mail brought in from, and taken out to, the two
//! formats every mail program reads.
//!
//! - mbox: messages separated by `From ` lines (mboxo and mboxrd: a body
//!   line `>From ` or `>>From ` loses one `>` on import, RFC 4155 and the
//!   mboxrd convention, and gains one on export); read a line at a time,
//!   so a multi-gigabyte file needs memory for one message only.
//! - Maildir++: `cur/` and `new/` of the root (INBOX) and of each `.Folder`
//!   (`.Archive.2020` is `Archive/2020`); the `:2,` flags D, F, P, R, S, T
//!   become \Draft, \Flagged, $Forwarded, \Answered, \Seen, \Deleted.
//!
//! Messages go into the store in batches through `Store::deliver` (files
//! fsynced, one commit per batch). With `--dedup`, a message whose
//! Message-ID and size are already in its mailbox is skipped: an import
//! that was interrupted is run again with `--dedup` and resumes. On export, a mailbox's name becomes a
//! folder or file name only after every character outside `[A-Za-z0-9_-]`
//! and space is percent-encoded: a name never becomes a path on its own.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use tern_common::{Address, Config};
use tern_store::{MailboxSel, NewMessage, Store, StoreError};

use crate::cli::{ExportFormat, ImportFormat};
use crate::{Failure, open_store, usage};

/// Messages per commit, and the bytes one batch may hold.
const BATCH: usize = 200;
const BATCH_BYTES: usize = 32 << 20;
/// The largest message imported (what SMTP would accept by default too).
const MAX_MESSAGE: usize = 64 << 20;

fn runtime(e: impl std::fmt::Display) -> Failure {
    Failure::Runtime(e.to_string())
}

/// Maildir `:2,` letters and the flags they stand for.
const MAILDIR_FLAGS: [(char, &str); 6] = [
    ('D', "\\Draft"),
    ('F', "\\Flagged"),
    ('P', "$Forwarded"),
    ('R', "\\Answered"),
    ('S', "\\Seen"),
    ('T', "\\Deleted"),
];

/// The flags of a Maildir file name (`…:2,FS`).
fn flags_of(name: &str) -> Vec<String> {
    let Some((_, info)) = name.rsplit_once(":2,") else {
        return Vec::new();
    };
    MAILDIR_FLAGS
        .iter()
        .filter(|(c, _)| info.contains(*c))
        .map(|(_, f)| f.to_string())
        .collect()
}

/// The `:2,` suffix for flags (letters in ASCII order, as Maildir wants).
fn info_of(flags: &[String]) -> String {
    let letters: String = MAILDIR_FLAGS
        .iter()
        .filter(|(_, f)| flags.iter().any(|x| x.eq_ignore_ascii_case(f)))
        .map(|(c, _)| *c)
        .collect();
    format!(":2,{letters}")
}

/// The date of an mbox `From ` line (`From sender Tue Nov 14 22:13:20
/// 2023`, asctime form, UTC), if it has one.
fn from_line_date(line: &str) -> Option<i64> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 7 {
        return None;
    }
    let (mon, day, time, year) = (f[3], f[4], f[5], f[6]);
    let month = tern_common::time::MONTHS.iter().position(|m| *m == mon)? as u32 + 1;
    let day: u32 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (
        hms.next()??,
        hms.next()??,
        hms.next().flatten().unwrap_or(0),
    );
    let days = tern_common::time::days_from_civil(year, month, day);
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

/// A mailbox name as a file or folder name: `/` → `.` (Maildir++'s
/// separator), everything unsafe percent-encoded.
fn safe_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        match c {
            '/' => out.push('.'),
            c if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ' ' => out.push(c),
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

/// A message's identity for deduplication: its Message-ID and size.
type Identity = (String, usize);

/// The Message-ID field's value of a message (first 64 KiB of header).
fn message_id(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(head.len());
    let text = String::from_utf8_lossy(&head[..end]);
    let mut lines = text.split("\r\n").peekable();
    while let Some(l) = lines.next() {
        // `get`: a header name with multi-byte characters is no panic.
        if let (Some(name), Some(value)) = (l.get(..11), l.get(11..))
            && name.eq_ignore_ascii_case("message-id:")
        {
            let mut v = value.trim().to_string();
            // A folded value continues on indented lines.
            while let Some(next) = lines.peek().filter(|n| n.starts_with([' ', '\t'])) {
                v.push_str(next.trim());
                lines.next();
            }
            return (!v.is_empty()).then_some(v);
        }
    }
    None
}

/// Where imported messages go, batched.
struct Sink<'a> {
    store: &'a Store,
    account: i64,
    batch: Vec<NewMessage>,
    bytes: usize,
    count: u64,
    /// With `--dedup`: per mailbox, the identities already there.
    dedup: Option<std::collections::HashMap<String, std::collections::HashSet<Identity>>>,
    skipped: u64,
}

impl Sink<'_> {
    async fn mailbox(&self, name: &str) -> Result<(), Failure> {
        match self.store.mailbox_create(self.account, name, None).await {
            Ok(_) | Err(StoreError::Duplicate(_)) => Ok(()),
            Err(e) => Err(usage(format!("mailbox {name:?}: {e}"))),
        }
    }

    /// The identities of the messages in `mailbox` now.
    async fn identities(
        &self,
        mailbox: &str,
    ) -> Result<std::collections::HashSet<Identity>, Failure> {
        let mut out = std::collections::HashSet::new();
        let Some(mb) = self
            .store
            .mailbox_get(self.account, mailbox)
            .await
            .map_err(runtime)?
        else {
            return Ok(out);
        };
        for m in self.store.messages(mb.id).await.map_err(runtime)? {
            let bytes = self
                .store
                .message_bytes(mb.id, m.uid)
                .await
                .map_err(runtime)?;
            if let Some(id) = message_id(&bytes) {
                out.insert((id, bytes.len()));
            }
        }
        Ok(out)
    }

    /// Is this message already in `mailbox` (`--dedup`)? Remembers it.
    async fn seen(&mut self, mailbox: &str, bytes: &[u8]) -> Result<bool, Failure> {
        if self.dedup.is_none() {
            return Ok(false);
        }
        let Some(id) = message_id(bytes) else {
            return Ok(false);
        };
        let known = self.dedup.as_ref().is_some_and(|d| d.contains_key(mailbox));
        if !known {
            let ids = self.identities(mailbox).await?;
            if let Some(d) = self.dedup.as_mut() {
                d.insert(mailbox.to_string(), ids);
            }
        }
        Ok(self
            .dedup
            .as_mut()
            .and_then(|d| d.get_mut(mailbox))
            .is_some_and(|set| !set.insert((id, bytes.len()))))
    }

    async fn push(
        &mut self,
        mailbox: &str,
        bytes: Vec<u8>,
        flags: Vec<String>,
        date: i64,
    ) -> Result<(), Failure> {
        if bytes.len() > MAX_MESSAGE {
            eprintln!(
                "skipped a message of {} bytes (over {MAX_MESSAGE})",
                bytes.len()
            );
            return Ok(());
        }
        if self.seen(mailbox, &bytes).await? {
            self.skipped += 1;
            return Ok(());
        }
        self.bytes += bytes.len();
        self.batch.push(NewMessage {
            account_id: self.account,
            mailbox: MailboxSel::Name(mailbox.to_string()),
            bytes,
            flags,
            internal_date: date,
            internal_zone: 0,
            summary: None,
        });
        if self.batch.len() >= BATCH || self.bytes >= BATCH_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Failure> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let n = self.batch.len() as u64;
        self.store
            .deliver(std::mem::take(&mut self.batch))
            .await
            .map_err(runtime)?;
        self.bytes = 0;
        self.count += n;
        eprintln!("imported {} messages", self.count);
        Ok(())
    }
}

async fn account_of(store: &Store, user: &str) -> Result<i64, Failure> {
    let a = Address::parse(user).map_err(|e| usage(e.to_string()))?;
    store
        .account_get(&a)
        .await
        .map_err(runtime)?
        .map(|a| a.id)
        .ok_or_else(|| usage(format!("account {a} not found")))
}

pub async fn import(
    config: &Config,
    user: &str,
    format: ImportFormat,
    path: &Path,
    mailbox: Option<String>,
    dedup: bool,
) -> Result<(), Failure> {
    let store = open_store(config).await?;
    let account = account_of(&store, user).await?;
    let mut sink = Sink {
        store: &store,
        account,
        batch: Vec::new(),
        bytes: 0,
        count: 0,
        dedup: dedup.then(Default::default),
        skipped: 0,
    };
    match format {
        ImportFormat::Mbox => {
            let target = mailbox.unwrap_or_else(|| "INBOX".into());
            sink.mailbox(&target).await?;
            import_mbox(&mut sink, path, &target).await?;
        }
        ImportFormat::Maildir => import_maildir(&mut sink, path, mailbox.as_deref()).await?,
    }
    sink.flush().await?;
    println!("imported {} messages into {user}", sink.count);
    if sink.skipped > 0 {
        println!(
            "{} already there (same Message-ID and size) skipped",
            sink.skipped
        );
    }
    Ok(())
}

async fn import_mbox(sink: &mut Sink<'_>, path: &Path, mailbox: &str) -> Result<(), Failure> {
    let file = std::fs::File::open(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let mut r = BufReader::new(file);
    let mut line = Vec::new();
    let mut msg: Option<(Vec<u8>, i64)> = None;
    let now = tern_common::time::now_secs();
    loop {
        line.clear();
        let n = r
            .read_until(b'\n', &mut line)
            .map_err(|e| runtime(format!("{}: {e}", path.display())))?;
        if n == 0 || line.starts_with(b"From ") {
            if let Some((mut bytes, date)) = msg.take() {
                // The blank line before the next From line separates
                // messages; it is not the message's.
                if bytes.ends_with(b"\r\n\r\n") {
                    bytes.truncate(bytes.len() - 2);
                }
                sink.push(mailbox, bytes, Vec::new(), date).await?;
            }
            if n == 0 {
                return Ok(());
            }
            let date = from_line_date(&String::from_utf8_lossy(&line)).unwrap_or(now);
            msg = Some((Vec::new(), date));
            continue;
        }
        let Some((bytes, _)) = msg.as_mut() else {
            // Text before the first From line is not a message.
            continue;
        };
        // mboxrd: one `>` comes off a quoted From line.
        let body = match line.iter().position(|&b| b != b'>') {
            Some(i) if i > 0 && line[i..].starts_with(b"From ") => &line[1..],
            _ => &line[..],
        };
        let text = body.strip_suffix(b"\n").unwrap_or(body);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if bytes.len() + text.len() <= MAX_MESSAGE + 2 {
            bytes.extend_from_slice(text);
            bytes.extend_from_slice(b"\r\n");
        }
    }
}

/// Maildir++ folders under `root`: ("INBOX" or the folder's name, dir).
fn maildir_folders(root: &Path) -> Result<Vec<(String, PathBuf)>, Failure> {
    let mut out = vec![("INBOX".to_string(), root.to_path_buf())];
    let entries = std::fs::read_dir(root).map_err(|e| usage(format!("{}: {e}", root.display())))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(folder) = name.strip_prefix('.')
            && !folder.is_empty()
            && !folder.starts_with('.')
            && e.path().join("cur").is_dir()
        {
            out.push((folder.replace('.', "/"), e.path()));
        }
    }
    out.sort();
    Ok(out)
}

async fn import_maildir(
    sink: &mut Sink<'_>,
    root: &Path,
    into: Option<&str>,
) -> Result<(), Failure> {
    for (folder, dir) in maildir_folders(root)? {
        let target = match into {
            Some(prefix) if folder == "INBOX" => prefix.to_string(),
            Some(prefix) => format!("{prefix}/{folder}"),
            None => folder,
        };
        sink.mailbox(&target).await?;
        let mut files = Vec::new();
        for sub in ["cur", "new"] {
            if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
                files.extend(rd.flatten().map(|e| e.path()));
            }
        }
        files.sort();
        for f in files {
            let meta = std::fs::metadata(&f).map_err(runtime)?;
            if !meta.is_file() {
                continue;
            }
            let bytes = std::fs::read(&f).map_err(|e| runtime(format!("{}: {e}", f.display())))?;
            let date = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs() as i64)
                .unwrap_or_else(tern_common::time::now_secs);
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            sink.push(&target, bytes, flags_of(&name), date).await?;
        }
    }
    Ok(())
}

pub async fn export(
    config: &Config,
    user: &str,
    format: ExportFormat,
    dest: &Path,
) -> Result<(), Failure> {
    let store = open_store(config).await?;
    let account = account_of(&store, user).await?;
    if dest.exists() && std::fs::read_dir(dest).map_err(runtime)?.next().is_some() {
        return Err(usage(format!("{} is not empty", dest.display())));
    }
    tern_store::private_dir_all(dest).map_err(runtime)?;
    let mut total = 0u64;
    for mb in store.mailbox_list(account).await.map_err(runtime)? {
        let msgs = store.messages(mb.id).await.map_err(runtime)?;
        match format {
            ExportFormat::Maildir => {
                let dir = if mb.name == "INBOX" {
                    dest.to_path_buf()
                } else {
                    dest.join(format!(".{}", safe_name(&mb.name)))
                };
                for sub in ["tmp", "new", "cur"] {
                    tern_store::private_dir_all(&dir.join(sub)).map_err(runtime)?;
                }
                for m in &msgs {
                    let bytes = store.message_bytes(mb.id, m.uid).await.map_err(runtime)?;
                    let name = format!(
                        "{}.{}_{}.tern{}",
                        m.internal_date,
                        mb.id,
                        m.uid,
                        info_of(&m.flags)
                    );
                    let mut f =
                        tern_store::create_private(&dir.join("cur").join(name)).map_err(runtime)?;
                    f.write_all(&bytes).map_err(runtime)?;
                    total += 1;
                }
            }
            ExportFormat::Mbox => {
                let path = dest.join(format!("{}.mbox", safe_name(&mb.name)));
                let f = tern_store::create_private(&path).map_err(runtime)?;
                let mut w = std::io::BufWriter::new(f);
                for m in &msgs {
                    let bytes = store.message_bytes(mb.id, m.uid).await.map_err(runtime)?;
                    write_mbox_message(&mut w, &bytes, m.internal_date).map_err(runtime)?;
                    total += 1;
                }
                w.flush().map_err(runtime)?;
            }
        }
    }
    println!(
        "exported {total} messages of {user} into {}",
        dest.display()
    );
    Ok(())
}

/// One mboxrd message: the `From ` line, every `>*From ` line quoted
/// once more, a blank line after.
fn write_mbox_message(w: &mut impl Write, bytes: &[u8], date: i64) -> std::io::Result<()> {
    let c = tern_common::time::civil(date);
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    writeln!(
        w,
        "From MAILER-DAEMON {} {} {:2} {:02}:{:02}:{:02} {}",
        DAYS[c.weekday as usize],
        tern_common::time::MONTHS[c.month as usize - 1],
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.year
    )?;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let quoted = text
            .iter()
            .position(|&b| b != b'>')
            .is_some_and(|i| text[i..].starts_with(b"From "));
        if quoted {
            w.write_all(b">")?;
        }
        w.write_all(text)?;
        w.write_all(b"\n")?;
    }
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maildir_flags_both_ways() {
        let f = flags_of("1700000000.M1.host:2,FRS");
        assert_eq!(f, ["\\Flagged", "\\Answered", "\\Seen"]);
        assert_eq!(info_of(&f), ":2,FRS");
        assert!(flags_of("1700000000.M1.host").is_empty());
    }

    #[test]
    fn from_lines_and_names() {
        assert_eq!(
            from_line_date("From a@b.example Tue Nov 14 22:13:20 2023"),
            Some(1_700_000_000)
        );
        assert_eq!(from_line_date("From a@b.example"), None);
        assert_eq!(safe_name("Archive/2020"), "Archive.2020");
        assert_eq!(safe_name("../x"), "%2E%2E.x");
        assert_eq!(safe_name("Été"), "%C3%89t%C3%A9");
        assert_eq!(
            message_id(b"Subject: x\r\nMessage-ID:\r\n <a@b>\r\n\r\nbody").as_deref(),
            Some("<a@b>")
        );
        assert_eq!(message_id(b"Subject: x\r\n\r\nMessage-ID: <no>"), None);
        assert_eq!(message_id("Messagé-IDxx: y\r\n\r\n".as_bytes()), None);
    }
}
