//! The Maildir++ format, both ways (see `mod.rs` for the commands): the
//! `:2,` flag letters and Dovecot's keyword letters, folder names, and
//! reading a tree that may come from anyone — no symbolic link followed,
//! no FIFO waited on, no file read past what is asked (`open_regular`).

use std::path::{Path, PathBuf};

use crate::{Failure, usage};

/// Maildir `:2,` letters and the flags they stand for.
const MAILDIR_FLAGS: [(char, &str); 6] = [
    ('D', "\\Draft"),
    ('F', "\\Flagged"),
    ('P', "$Forwarded"),
    ('R', "\\Answered"),
    ('S', "\\Seen"),
    ('T', "\\Deleted"),
];

/// The flags of a Maildir file name (`…:2,FSab`): the system letters, and
/// the lower-case letters as the folder's keywords (`dovecot-keywords`:
/// a is its keyword 0, b its keyword 1, …).
pub(super) fn flags_of(name: &str, keywords: &[Option<String>]) -> Vec<String> {
    let Some((_, info)) = name.rsplit_once(":2,") else {
        return Vec::new();
    };
    let mut flags: Vec<String> = MAILDIR_FLAGS
        .iter()
        .filter(|(c, _)| info.contains(*c))
        .map(|(_, f)| f.to_string())
        .collect();
    for c in info.chars().filter(char::is_ascii_lowercase) {
        if let Some(Some(k)) = keywords.get((c as u8 - b'a') as usize)
            && !flags.contains(k)
        {
            flags.push(k.clone());
        }
    }
    flags
}

/// A folder's `dovecot-keywords` (`0 $Label1` per line), by index; none
/// when the file is missing. Names that are not IMAP atoms are left out.
pub(super) fn keywords_in(dir: &Path) -> Vec<Option<String>> {
    use std::io::Read;
    // 26 names of at most 128 bytes fit in far less; a larger file is
    // read only that far.
    let Some((file, _)) = open_regular(&dir.join("dovecot-keywords")) else {
        return Vec::new();
    };
    let mut raw = Vec::new();
    if file.take(KEYWORDS_READ).read_to_end(&mut raw).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&raw);
    let mut out: Vec<Option<String>> = vec![None; 26];
    for line in text.lines() {
        if let Some((i, name)) = line.split_once(' ')
            && let Ok(i) = i.trim().parse::<usize>()
            && i < 26
            && !name.is_empty()
            && name.len() <= 128
            && name.bytes().all(|b| {
                b.is_ascii_graphic()
                    && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
            })
        {
            out[i] = Some(name.to_string());
        }
    }
    out
}

/// The keywords a folder's messages carry, as `dovecot-keywords` lists
/// them for export (at most 26: the letters a–z).
pub(super) fn keyword_table(flags: &[&[String]]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in flags.iter().flat_map(|f| f.iter()) {
        if !f.starts_with('\\')
            && !f.eq_ignore_ascii_case("$Forwarded")
            && !out.contains(f)
            && out.len() < 26
        {
            out.push(f.clone());
        }
    }
    out
}

/// The `:2,` suffix for flags (letters in ASCII order, as Maildir wants),
/// keywords as their letters in `keywords`.
pub(super) fn info_of(flags: &[String], keywords: &[String]) -> String {
    let mut letters: String = MAILDIR_FLAGS
        .iter()
        .filter(|(_, f)| flags.iter().any(|x| x.eq_ignore_ascii_case(f)))
        .map(|(c, _)| *c)
        .collect();
    for (i, k) in keywords.iter().enumerate() {
        if flags.contains(k) {
            letters.push((b'a' + i as u8) as char);
        }
    }
    format!(":2,{letters}")
}

/// A mailbox name as a Maildir++ folder or mbox file name: each level in
/// modified UTF-7 (as Dovecot names its folders), `/` → `.` (Maildir++'s
/// separator), anything else unsafe percent-encoded — a name never
/// becomes a path on its own.
pub(super) fn safe_name(name: &str) -> String {
    let mut levels = Vec::new();
    for level in name.split('/') {
        let mut out = String::new();
        for c in tern_imap::mutf7_encode(level).chars() {
            match c {
                c if c.is_ascii_alphanumeric() || "_- &+,".contains(c) => out.push(c),
                c => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("%{b:02X}"));
                    }
                }
            }
        }
        levels.push(out);
    }
    levels.join(".")
}

/// A Maildir++ folder name (`Archive.2020`, `Entw&APw-rfe`) as a mailbox
/// name: levels by `.`, each decoded from modified UTF-7 when it is that.
pub(super) fn folder_name(folder: &str) -> String {
    folder
        .split('.')
        .map(|l| tern_imap::mutf7_decode(l).unwrap_or_else(|| l.to_string()))
        .collect::<Vec<_>>()
        .join("/")
}

/// The most of a `dovecot-keywords` file read.
const KEYWORDS_READ: u64 = 64 << 10;

/// A regular file of an imported tree, opened without following a
/// symbolic link and without waiting on a FIFO, with its size; `None` for
/// anything else. The tree may come from anyone (a user's archive): a link
/// in it could name any file the importing user may read, a server key
/// say, and put it in a mailbox. Checked on the open file, so nothing can
/// be swapped in between the check and the read.
pub(super) fn open_regular(path: &Path) -> Option<(std::fs::File, u64)> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = std::fs::File::from(rustix::fs::open(path, flags, Mode::empty()).ok()?);
    let meta = file.metadata().ok()?;
    meta.is_file().then_some((file, meta.len()))
}

/// A directory of an imported tree, not through a symbolic link (see
/// `open_regular`).
pub(super) fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Maildir++ folders under `root`: ("INBOX" or the folder's name, dir).
/// `root` is what the command names; links below it are not followed.
pub(super) fn maildir_folders(root: &Path) -> Result<Vec<(String, PathBuf)>, Failure> {
    let mut out = vec![("INBOX".to_string(), root.to_path_buf())];
    let entries = std::fs::read_dir(root).map_err(|e| usage(format!("{}: {e}", root.display())))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(folder) = name.strip_prefix('.')
            && !folder.is_empty()
            && !folder.starts_with('.')
            && is_real_dir(&e.path())
            && is_real_dir(&e.path().join("cur"))
        {
            out.push((folder_name(folder), e.path()));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maildir_flags_both_ways() {
        let f = flags_of("1700000000.M1.host:2,FRS", &[]);
        assert_eq!(f, ["\\Flagged", "\\Answered", "\\Seen"]);
        assert_eq!(info_of(&f, &[]), ":2,FRS");
        assert!(flags_of("1700000000.M1.host", &[]).is_empty());
        // Dovecot's keyword letters, both ways.
        let kw = vec![Some("$Label1".to_string()), None, Some("Work".to_string())];
        let f = flags_of("1.M1.host:2,Sac", &kw);
        assert_eq!(f, ["\\Seen", "$Label1", "Work"]);
        let table = keyword_table(&[&f]);
        assert_eq!(table, ["$Label1", "Work"]);
        assert_eq!(info_of(&f, &table), ":2,Sab");
    }
}
