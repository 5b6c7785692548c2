//! `tern import USER mbox|maildir PATH [--mailbox NAME]` and `tern export
//! USER maildir|mbox DEST`: mail brought in from, and taken out to, the two
//! formats every mail program reads.
//!
//! - mbox (`mbox.rs`): mboxo, mboxrd and mboxcl2 in, mboxrd out; one
//!   message in memory at a time, so a multi-gigabyte file costs little.
//! - Maildir++: `cur/` and `new/` of the root (INBOX) and of each `.Folder`
//!   (`.Archive.2020` is `Archive/2020`); the `:2,` flags D, F, P, R, S, T
//!   become \Draft, \Flagged, $Forwarded, \Answered, \Seen, \Deleted, and
//!   the letters a–z the keywords Dovecot lists in the folder's
//!   `dovecot-keywords` (written the same way on export).
//!
//! An imported tree may come from anyone: a symbolic link in it is not
//! followed (it could name a server key), a FIFO is not waited on, a file
//! over the message limit and a `dovecot-keywords` file are never read
//! whole (`open_regular`).
//!
//! Long jobs show progress (`progress.rs`).
//!
//! Messages go into the store in batches through `Store::deliver` (files
//! fsynced, one commit per batch). With `--dedup`, a message whose
//! Message-ID and size are already in its mailbox is skipped: an import
//! that was interrupted is run again with `--dedup` and resumes. On export, a mailbox's name becomes a
//! folder or file name only in modified UTF-7 with every other character
//! outside `[A-Za-z0-9_-&+,]` and space percent-encoded: a name never
//! becomes a path on its own.

mod maildir;
pub mod mbox;

use std::io::Write;
use std::path::Path;

use tern_common::{Address, Config};
use tern_store::{MailboxSel, NewMessage, Store, StoreError};

use crate::cli::{ExportFormat, ImportFormat};
use crate::progress::Progress;
use crate::{Failure, open_store, usage};
use maildir::{
    flags_of, info_of, is_real_dir, keyword_table, keywords_in, maildir_folders, open_regular,
    safe_name,
};
use mbox::MAX_MESSAGE;

/// Messages per commit, and the bytes one batch may hold.
const BATCH: usize = 200;
const BATCH_BYTES: usize = 32 << 20;

fn runtime(e: impl std::fmt::Display) -> Failure {
    Failure::Runtime(e.to_string())
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
    /// How many mailboxes the account has, once counted (`mailbox`).
    mailboxes: Option<usize>,
}

impl Sink<'_> {
    /// The mailbox `name` names, made if it is not there yet. A name from
    /// an import is a name a user chose: it gets the limits and characters
    /// IMAP CREATE allows, and no more mailboxes than IMAP allows are made;
    /// `Ok(Err(why))` when it may not be. `Ok(Ok(name))` as the store spells it.
    async fn mailbox(&mut self, name: &str) -> Result<Result<String, &'static str>, Failure> {
        let name = tern_imap::names_canonical(name);
        if let Err(why) = tern_imap::check_mailbox_name(&name) {
            return Ok(Err(why.why()));
        }
        let store = self.store;
        if store
            .mailbox_get(self.account, &name)
            .await
            .map_err(runtime)?
            .is_some()
        {
            return Ok(Ok(name));
        }
        let count = match self.mailboxes {
            Some(n) => n,
            None => store
                .mailbox_list(self.account)
                .await
                .map_err(runtime)?
                .len(),
        };
        if count >= tern_imap::MAX_MAILBOXES {
            return Ok(Err("the account has the most mailboxes allowed"));
        }
        match store.mailbox_create(self.account, &name, None).await {
            Ok(_) => self.mailboxes = Some(count + 1),
            Err(StoreError::Duplicate(_)) => self.mailboxes = None,
            Err(e) => return Err(usage(format!("mailbox {name:?}: {e}"))),
        }
        Ok(Ok(name))
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
        mailboxes: None,
    };
    match format {
        ImportFormat::Mbox => {
            let target = mailbox.unwrap_or_else(|| "INBOX".into());
            let target = sink
                .mailbox(&target)
                .await?
                .map_err(|why| usage(format!("mailbox {target:?}: {why}")))?;
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
    let size = file.metadata().map(|m| m.len()).ok();
    let mut progress = Progress::new("import", "bytes", size);
    let mut r = mbox::Reader::new(file, tern_common::time::now_secs());
    let mut seen = 0;
    // Reading is blocking file I/O, a message at a time: the command has
    // this runtime to itself.
    while let Some(m) = r
        .next_message()
        .map_err(|e| runtime(format!("{}: {e}", path.display())))?
    {
        if m.truncated {
            eprintln!("skipped a message over {MAX_MESSAGE} bytes");
        } else {
            sink.push(mailbox, m.bytes, Vec::new(), m.date).await?;
        }
        progress.add(r.consumed - seen);
        seen = r.consumed;
    }
    progress.finish();
    Ok(())
}

async fn import_maildir(
    sink: &mut Sink<'_>,
    root: &Path,
    into: Option<&str>,
) -> Result<(), Failure> {
    let folders = maildir_folders(root)?;
    let mut listed = Vec::new();
    for (folder, dir) in folders {
        let mut files = Vec::new();
        for sub in ["cur", "new"] {
            let d = dir.join(sub);
            if is_real_dir(&d)
                && let Ok(rd) = std::fs::read_dir(d)
            {
                files.extend(rd.flatten().map(|e| e.path()));
            }
        }
        files.sort();
        listed.push((folder, dir, files));
    }
    let total = listed.iter().map(|(_, _, f)| f.len() as u64).sum();
    let mut progress = Progress::new("import", "messages", Some(total));
    for (folder, dir, files) in listed {
        let target = match into {
            Some(prefix) if folder == "INBOX" => prefix.to_string(),
            Some(prefix) => format!("{prefix}/{folder}"),
            None => folder,
        };
        let target = match sink.mailbox(&target).await? {
            Ok(name) => name,
            Err(why) => {
                eprintln!(
                    "skipped folder {} ({} messages): {why}",
                    dir.display(),
                    files.len()
                );
                progress.add(files.len() as u64);
                continue;
            }
        };
        let keywords = keywords_in(&dir);
        for f in files {
            use std::io::Read;
            progress.add(1);
            let Some((file, len)) = open_regular(&f) else {
                eprintln!("skipped {}: not a regular file", f.display());
                continue;
            };
            if len > MAX_MESSAGE as u64 {
                eprintln!("skipped {}: {len} bytes (over {MAX_MESSAGE})", f.display());
                continue;
            }
            let meta = file.metadata().map_err(runtime)?;
            // Bounded even if the file grows after the size was read
            // (`push` then skips it).
            let mut bytes = Vec::with_capacity(len as usize);
            file.take(MAX_MESSAGE as u64 + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| runtime(format!("{}: {e}", f.display())))?;
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
            sink.push(&target, bytes, flags_of(&name, &keywords), date)
                .await?;
        }
    }
    progress.finish();
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
    let mut boxes = Vec::new();
    for mb in store.mailbox_list(account).await.map_err(runtime)? {
        let msgs = store.messages(mb.id).await.map_err(runtime)?;
        boxes.push((mb, msgs));
    }
    let count = boxes.iter().map(|(_, m)| m.len() as u64).sum();
    let mut progress = Progress::new("export", "messages", Some(count));
    for (mb, msgs) in boxes {
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
                let all: Vec<&[String]> = msgs.iter().map(|m| m.flags.as_slice()).collect();
                let keywords = keyword_table(&all);
                if !keywords.is_empty() {
                    let text: String = keywords
                        .iter()
                        .enumerate()
                        .map(|(i, k)| format!("{i} {k}\n"))
                        .collect();
                    let mut f = tern_store::create_private(&dir.join("dovecot-keywords"))
                        .map_err(runtime)?;
                    f.write_all(text.as_bytes()).map_err(runtime)?;
                }
                for m in &msgs {
                    let bytes = store.message_bytes(mb.id, m.uid).await.map_err(runtime)?;
                    let name = format!(
                        "{}.{}_{}.tern{}",
                        m.internal_date,
                        mb.id,
                        m.uid,
                        info_of(&m.flags, &keywords)
                    );
                    let mut f =
                        tern_store::create_private(&dir.join("cur").join(name)).map_err(runtime)?;
                    f.write_all(&bytes).map_err(runtime)?;
                    total += 1;
                    progress.add(1);
                }
            }
            ExportFormat::Mbox => {
                let path = dest.join(format!("{}.mbox", safe_name(&mb.name)));
                let f = tern_store::create_private(&path).map_err(runtime)?;
                let mut w = std::io::BufWriter::new(f);
                for m in &msgs {
                    let bytes = store.message_bytes(mb.id, m.uid).await.map_err(runtime)?;
                    mbox::write_message(&mut w, &bytes, m.internal_date).map_err(runtime)?;
                    total += 1;
                    progress.add(1);
                }
                w.flush().map_err(runtime)?;
            }
        }
    }
    progress.finish();
    println!(
        "exported {total} messages of {user} into {}",
        dest.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use maildir::folder_name;

    #[test]
    fn from_lines_and_names() {
        assert_eq!(safe_name("Archive/2020"), "Archive.2020");
        assert_eq!(safe_name("../x"), "%2E%2E.x");
        assert_eq!(safe_name("Été"), "&AMk-t&AOk-");
        assert_eq!(folder_name("&AMk-t&AOk-.Sub"), "Été/Sub");
        assert_eq!(folder_name(&safe_name("Entwürfe/2024")), "Entwürfe/2024");
        assert_eq!(
            message_id(b"Subject: x\r\nMessage-ID:\r\n <a@b>\r\n\r\nbody").as_deref(),
            Some("<a@b>")
        );
        assert_eq!(message_id(b"Subject: x\r\n\r\nMessage-ID: <no>"), None);
        assert_eq!(message_id("Messagé-IDxx: y\r\n\r\n".as_bytes()), None);
    }
}
