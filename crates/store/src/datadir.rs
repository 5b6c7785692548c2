//! The data directory's hygiene: who may read it, where an account's files
//! live, and what a crash leaves behind.
//!
//! - **Modes.** The data dir is 0700 and everything in it 0700 (directories)
//!   or 0600 (files): it holds password hashes, DKIM private keys and every
//!   message. A data dir that others may write to is refused; looser modes
//!   inside it are repaired at `serve` start with a warning.
//! - **Layout.** Accounts live in `accounts/<account id>`, mailboxes in
//!   `.<mailbox id>`: no path is ever built from a name a person chose.
//!   Stores written by older tern versions (`accounts/<address>`,
//!   `.<Mailbox.Name>`) are moved to that layout once, at open.
//! - **Debris.** A crash can leave a file in `tmp/` (written, never renamed)
//!   or in `cur/` (renamed, index row never committed: the message was never
//!   acknowledged). At `serve` start, `tmp/` files older than a day are
//!   removed and old unindexed `cur/` files are moved to `orphans/` and
//!   reported, never silently deleted.
//!
//! Every walk here uses an explicit stack: no recursion on directory depth.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sqlx::Row;

use crate::{Backend, Result, Store, blob};

/// Files and directories this process creates are its owner's alone
/// (umask 077), whatever the caller's umask was; called first thing in
/// `main`. Returns the umask it replaced.
pub fn private_umask() -> u32 {
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    old.as_raw_mode() as u32
}

/// Create the data dir (0700) if it is missing, and refuse one that other
/// users may write to: they could swap a Maildir for a link to anywhere.
pub fn prepare(data_dir: &Path) -> anyhow::Result<()> {
    blob::private_dir_all(data_dir)
        .map_err(|e| anyhow::anyhow!("creating data dir {}: {e}", data_dir.display()))?;
    let mode = fs::metadata(data_dir)?.permissions().mode() & 0o777;
    if mode & 0o022 != 0 {
        anyhow::bail!(
            "data dir {} is writable by other users (mode {mode:o}); run `chmod 700 {}`",
            data_dir.display(),
            data_dir.display()
        );
    }
    if mode & 0o077 != 0 {
        tracing::warn!(dir = %data_dir.display(), mode = format!("{mode:o}"), "data dir was readable by others; now 700");
        fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// What `repair_modes` changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Repaired {
    pub dirs: u64,
    pub files: u64,
}

/// Make every directory under `root` 0700 and every file 0600 where it was
/// looser (links are left alone: they are never followed).
pub fn repair_modes(root: &Path) -> io::Result<Repaired> {
    let mut done = Repaired::default();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let meta = entry.metadata()?;
            let mode = meta.permissions().mode() & 0o777;
            let path = entry.path();
            if meta.is_dir() {
                if mode & 0o077 != 0 {
                    fs::set_permissions(&path, fs::Permissions::from_mode(0o700))?;
                    done.dirs += 1;
                }
                stack.push(path);
            } else if meta.is_file() && mode & 0o077 != 0 {
                fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
                done.files += 1;
            }
        }
    }
    Ok(done)
}

impl Store {
    /// Move a store written by an older tern to the id-based layout
    /// (SQLite only; PostgreSQL keeps message bytes in the database).
    ///
    /// Crash-safe and idempotent: every mailbox folder first moves to
    /// `staging/<mailbox id>` (a name no old folder can have: old ones all
    /// start with a dot) with its row updated, and only when every folder is
    /// staged do they move to `.<mailbox id>`. So a new-layout name never
    /// meets an old folder that happens to have the same name.
    pub(crate) async fn migrate_layout(&self) -> Result<()> {
        if self.backend() != Backend::Sqlite {
            return Ok(());
        }
        let accounts: Vec<(i64, String)> = sqlx::query("SELECT id, name FROM accounts")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        for (id, name) in &accounts {
            // The old path was `accounts` joined with the name, as written.
            let old = self.data_dir().join("accounts").join(name);
            let new = blob::account_root(self.data_dir(), *id);
            if !new.exists() && old.is_dir() {
                blob::private_dir_all(new.parent().unwrap_or(self.data_dir()))?;
                fs::rename(&old, &new)?;
                tracing::info!(account = %name, id, "store: account folder moved to the id-based layout");
            }
        }
        for phase in [Phase::Stage, Phase::Place] {
            let rows = sqlx::query("SELECT id, account_id, dir, name FROM mailboxes")
                .fetch_all(self.pool())
                .await?;
            for r in rows {
                let (id, account, dir, name): (i64, i64, String, String) =
                    (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
                let target = if name == "INBOX" {
                    String::new()
                } else {
                    blob::mailbox_dir(id)
                };
                let staged = format!("staging/{id}");
                let want = match phase {
                    Phase::Stage if dir != target && dir != staged => staged,
                    Phase::Place if dir == staged => target,
                    _ => continue,
                };
                let root = blob::account_root(self.data_dir(), account);
                let from = root.join(&dir);
                let to = root.join(&want);
                if from.is_dir() && !to.exists() {
                    blob::private_dir_all(to.parent().unwrap_or(&root))?;
                    fs::rename(&from, &to)?;
                }
                sqlx::query("UPDATE mailboxes SET dir = $1 WHERE id = $2")
                    .bind(&want)
                    .bind(id)
                    .execute(self.pool())
                    .await?;
            }
        }
        Ok(())
    }

    /// Clean what crashes left in the Maildirs (run by `serve` before it
    /// accepts anything; `min_age` keeps it away from a delivery another
    /// process may be committing right now).
    pub async fn sweep_debris(&self, min_age: Duration) -> Result<Debris> {
        if self.backend() != Backend::Sqlite {
            return Ok(Debris::default());
        }
        let rows = sqlx::query(
            "SELECT b.account_id, b.dir, m.file FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id \
             WHERE m.file IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await?;
        let mut indexed: HashMap<PathBuf, HashSet<String>> = HashMap::new();
        for r in rows {
            let (account, dir, file): (i64, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            indexed
                .entry(blob::folder_path(self.data_dir(), account, &dir))
                .or_default()
                .insert(file);
        }
        let folders: Vec<PathBuf> = sqlx::query("SELECT account_id, dir FROM mailboxes")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| {
                Ok(blob::folder_path(
                    self.data_dir(),
                    r.try_get(0)?,
                    &r.try_get::<String, _>(1)?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?;
        let data_dir = self.data_dir().to_path_buf();
        tokio::task::spawn_blocking(move || sweep(&data_dir, &folders, &indexed, min_age))
            .await
            .map_err(|e| crate::StoreError::Other(e.into()))?
            .map_err(Into::into)
    }
}

#[derive(Clone, Copy)]
enum Phase {
    Stage,
    Place,
}

/// What `sweep_debris` found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Debris {
    /// Half-written files removed from `tmp/`.
    pub tmp_removed: u64,
    /// Unindexed files moved from `cur/` to `orphans/`.
    pub orphans_moved: u64,
}

fn older_than(meta: &fs::Metadata, age: Duration) -> bool {
    meta.modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|d| d >= age)
}

fn sweep(
    data_dir: &Path,
    folders: &[PathBuf],
    indexed: &HashMap<PathBuf, HashSet<String>>,
    min_age: Duration,
) -> io::Result<Debris> {
    let mut debris = Debris::default();
    let empty = HashSet::new();
    let tmp_age = min_age.max(Duration::from_secs(24 * 3600));
    for folder in folders {
        for (sub, age) in [("tmp", tmp_age), ("new", min_age), ("cur", min_age)] {
            let Ok(entries) = fs::read_dir(folder.join(sub)) else {
                continue;
            };
            let known = indexed.get(folder).unwrap_or(&empty);
            for entry in entries {
                let entry = entry?;
                let meta = entry.metadata()?;
                if !meta.is_file() || !older_than(&meta, age) {
                    continue;
                }
                let path = entry.path();
                if sub == "tmp" {
                    fs::remove_file(&path)?;
                    debris.tmp_removed += 1;
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                if sub == "cur" && known.contains(&name) {
                    continue;
                }
                let rel = folder.strip_prefix(data_dir).unwrap_or(folder);
                let dest = data_dir.join("orphans").join(rel);
                blob::private_dir_all(&dest)?;
                fs::rename(&path, dest.join(&name))?;
                debris.orphans_moved += 1;
            }
        }
    }
    Ok(debris)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_data_dir_others_may_write_is_refused() {
        let d = tempfile::tempdir().unwrap();
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o777)).unwrap();
        let e = prepare(d.path()).unwrap_err().to_string();
        assert!(e.contains("writable by other users"), "{e}");
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
        prepare(d.path()).unwrap();
        assert_eq!(mode(d.path()), 0o700, "a readable data dir is made private");
    }

    #[test]
    fn loose_modes_inside_are_repaired() {
        let d = tempfile::tempdir().unwrap();
        let deep = d.path().join("accounts/1/cur");
        fs::create_dir_all(&deep).unwrap();
        fs::write(deep.join("m"), b"x").unwrap();
        fs::set_permissions(deep.join("m"), fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(&deep, fs::Permissions::from_mode(0o755)).unwrap();
        let r = repair_modes(d.path()).unwrap();
        assert!(r.files >= 1 && r.dirs >= 1, "{r:?}");
        assert_eq!(mode(&deep.join("m")), 0o600);
        assert_eq!(mode(&deep), 0o700);
        assert_eq!(repair_modes(d.path()).unwrap(), Repaired::default());
    }

    #[test]
    fn old_debris_is_swept_and_orphans_kept() {
        let d = tempfile::tempdir().unwrap();
        let folder = d.path().join("accounts/1");
        blob::ensure_maildir(&folder).unwrap();
        for (sub, name) in [("tmp", "half"), ("cur", "known"), ("cur", "orphan")] {
            fs::write(folder.join(sub).join(name), b"x").unwrap();
        }
        let indexed = HashMap::from([(folder.clone(), HashSet::from(["known".to_string()]))]);
        // Young files are left alone: a delivery may be committing them.
        let young = sweep(
            d.path(),
            std::slice::from_ref(&folder),
            &indexed,
            Duration::from_secs(3600),
        );
        assert_eq!(young.unwrap(), Debris::default());
        let old = sweep(
            d.path(),
            std::slice::from_ref(&folder),
            &indexed,
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(old.orphans_moved, 1);
        assert!(folder.join("cur/known").exists());
        assert!(d.path().join("orphans/accounts/1/orphan").exists());
        // tmp/ files go only after a day.
        assert!(folder.join("tmp/half").exists());
        assert_eq!(old.tmp_removed, 0);
        let two_days = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
        fs::File::options()
            .write(true)
            .open(folder.join("tmp/half"))
            .unwrap()
            .set_modified(two_days)
            .unwrap();
        let later = sweep(
            d.path(),
            std::slice::from_ref(&folder),
            &indexed,
            Duration::ZERO,
        )
        .unwrap();
        assert_eq!(later.tmp_removed, 1);
        assert!(!folder.join("tmp/half").exists());
    }
}
