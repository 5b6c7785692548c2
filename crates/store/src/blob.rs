//! Message bytes. With SQLite each account is a Maildir++ tree on disk
//! (`accounts/<account id>/{tmp,new,cur}` for INBOX, `.<mailbox id>/…` for
//! the other mailboxes: paths come from ids, never from names) written tmp → fsync → rename → fsync dir, so standard tools can
//! read it and a crash never leaves a torn file. With PostgreSQL the bytes
//! live in the `blobs` table, shared by every node. IMAP state (UIDs, flags)
//! is never encoded in file names: the index is the truth.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::AnyConnection;

/// An account's Maildir root: `accounts/<account id>`. Never built from the
/// account's name: a name is chosen by a person and may hold `/`, `..` or
/// look-alike characters, an id cannot.
pub(crate) fn account_root(data_dir: &Path, account: i64) -> PathBuf {
    data_dir.join("accounts").join(account.to_string())
}

/// The Maildir++ folder of a mailbox other than INBOX: `.<mailbox id>`
/// (INBOX is the account root itself, ""). Renaming a mailbox therefore
/// moves no directory.
pub(crate) fn mailbox_dir(mailbox: i64) -> String {
    format!(".{mailbox}")
}

pub(crate) fn folder_path(data_dir: &Path, account: i64, dir: &str) -> PathBuf {
    let root = account_root(data_dir, account);
    if dir.is_empty() { root } else { root.join(dir) }
}

pub(crate) fn ensure_maildir(folder: &Path) -> io::Result<()> {
    for sub in ["tmp", "new", "cur"] {
        private_dir_all(&folder.join(sub))?;
    }
    Ok(())
}

/// `create_dir_all` whose new directories are 0700: mail is nobody else's.
pub fn private_dir_all(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Create a new file readable by its owner only (0600), whatever the umask.
pub fn create_private(path: &Path) -> io::Result<File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A name unique on this host: time, process, counter and randomness.
pub(crate) fn unique_name() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let now = tern_common::time::since_epoch();
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
    write_message_with(folder, bytes, true)
}

/// Write a message into `folder/cur` without syncing it: a delivery's
/// files are made durable all at once by the group commit's `syncfs`
/// before their index rows commit (`commit.rs`).
pub(crate) fn write_message_unsynced(folder: &Path, bytes: &[u8]) -> io::Result<String> {
    write_message_with(folder, bytes, false)
}

fn write_message_with(folder: &Path, bytes: &[u8], sync: bool) -> io::Result<String> {
    ensure_maildir(folder)?;
    let name = unique_name();
    let tmp = folder.join("tmp").join(&name);
    let result = (|| {
        let mut f = create_private(&tmp)?;
        f.write_all(bytes)?;
        if sync {
            f.sync_all()?;
        }
        drop(f);
        fs::rename(&tmp, folder.join("cur").join(&name))?;
        if sync {
            sync_dir(&folder.join("cur"))?;
        }
        Ok(())
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

pub(crate) fn remove_account_dir(data_dir: &Path, account: i64) {
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
    fn paths_come_from_ids_only() {
        let d = Path::new("/data");
        assert_eq!(account_root(d, 7), Path::new("/data/accounts/7"));
        assert_eq!(folder_path(d, 7, ""), Path::new("/data/accounts/7"));
        assert_eq!(
            folder_path(d, 7, &mailbox_dir(12)),
            Path::new("/data/accounts/7/.12")
        );
    }

    proptest::proptest! {
        /// Whatever the ids, a folder is inside `data/accounts/<account>`,
        /// has no `..`, and two different ids never share a folder.
        #[test]
        fn folders_stay_inside_their_account(account in proptest::num::i64::ANY, a in proptest::num::i64::ANY, b in proptest::num::i64::ANY) {
            let d = Path::new("/data");
            let root = account_root(d, account);
            proptest::prop_assert!(root.starts_with("/data/accounts"));
            for m in [a, b] {
                let f = folder_path(d, account, &mailbox_dir(m));
                proptest::prop_assert!(f.starts_with(&root));
                proptest::prop_assert!(!f.components().any(|c| c == std::path::Component::ParentDir));
                proptest::prop_assert_eq!(f.components().count(), root.components().count() + 1);
            }
            if a != b {
                proptest::prop_assert_ne!(mailbox_dir(a), mailbox_dir(b));
            }
        }
    }

    #[test]
    fn files_and_directories_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let folder = d.path().join("a/b");
        let name = write_message(&folder, b"x").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&folder.join("cur").join(name)), 0o600);
        assert_eq!(mode(&folder.join("cur")), 0o700);
        assert_eq!(mode(&folder), 0o700);
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
