//! Message bytes. With SQLite each account is a Maildir++ tree on disk
//! (`accounts/<account>/{tmp,new,cur}` for INBOX, `.<Name>/…` for the other
//! mailboxes) written tmp → fsync → rename → fsync dir, so standard tools can
//! read it and a crash never leaves a torn file. With PostgreSQL the bytes
//! live in the `blobs` table, shared by every node. IMAP state (UIDs, flags)
//! is never encoded in file names: the index is the truth.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::AnyConnection;

pub(crate) fn account_root(data_dir: &Path, account: &str) -> PathBuf {
    data_dir.join("accounts").join(account)
}

/// The Maildir++ folder of a mailbox name: "" for INBOX, `.A.B` for `A/B`.
/// `.` and `%` inside a level are percent-encoded so the mapping is one to one.
pub(crate) fn mailbox_dir(name: &str) -> String {
    if name.eq_ignore_ascii_case("INBOX") {
        return String::new();
    }
    let levels: Vec<String> = name
        .split('/')
        .map(|l| l.replace('%', "%25").replace('.', "%2E"))
        .collect();
    format!(".{}", levels.join("."))
}

pub(crate) fn folder_path(data_dir: &Path, account: &str, dir: &str) -> PathBuf {
    let root = account_root(data_dir, account);
    if dir.is_empty() { root } else { root.join(dir) }
}

pub(crate) fn ensure_maildir(folder: &Path) -> io::Result<()> {
    for sub in ["tmp", "new", "cur"] {
        fs::create_dir_all(folder.join(sub))?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A name unique on this host: time, process, counter and randomness.
fn unique_name() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.M{}P{}Q{}R{:08x}.tern:2,",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    )
}

/// Write a message durably into `folder/cur`; returns the file name.
pub(crate) fn write_message(folder: &Path, bytes: &[u8]) -> io::Result<String> {
    ensure_maildir(folder)?;
    let name = unique_name();
    let tmp = folder.join("tmp").join(&name);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, folder.join("cur").join(&name))?;
        sync_dir(&folder.join("cur"))
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        let _ = fs::remove_file(folder.join("cur").join(&name));
        return Err(e);
    }
    Ok(name)
}

pub(crate) fn remove_file(path: &Path) {
    if let Err(e) = fs::remove_file(path)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove message file");
    }
}

pub(crate) fn remove_account_dir(data_dir: &Path, account: &str) {
    let root = account_root(data_dir, account);
    if let Err(e) = fs::remove_dir_all(&root)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %root.display(), error = %e, "cannot remove account directory");
    }
}

/// Drop one reference to a database blob, deleting it at zero.
pub(crate) async fn release_db_blob(conn: &mut AnyConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE blobs SET refs = refs - 1 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM blobs WHERE id = $1 AND refs <= 0")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_dirs_are_one_to_one() {
        assert_eq!(mailbox_dir("INBOX"), "");
        assert_eq!(mailbox_dir("Archive/2024"), ".Archive.2024");
        assert_eq!(mailbox_dir("a.b"), ".a%2Eb");
        assert_ne!(mailbox_dir("a.b"), mailbox_dir("a/b"));
    }

    #[test]
    fn write_leaves_nothing_in_tmp() {
        let d = tempfile::tempdir().unwrap();
        let name = write_message(d.path(), b"hello").unwrap();
        let p = d.path().join("cur").join(&name);
        assert_eq!(fs::read(&p).unwrap(), b"hello");
        assert!(fs::read_dir(d.path().join("tmp")).unwrap().next().is_none());
    }
}
