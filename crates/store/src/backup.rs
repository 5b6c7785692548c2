//! Online backup and restore of the SQLite + Maildir store: a consistent
//! copy while mail keeps arriving, without stopping the server.
//!
//! 1. `VACUUM INTO` writes a snapshot of the database from one read
//!    transaction: the index as it was at one instant, every row committed
//!    before it and none after.
//! 2. The message files that snapshot names are copied (they never change
//!    once written: Maildir files are immutable; IMAP state lives in the
//!    index). A file expunged between the snapshot and its copy is gone:
//!    its row is taken out of the snapshot too, as if the backup had been
//!    a moment later, and the manifest counts it.
//! 3. `manifest.json` lists every file with its size and SHA-256, and the
//!    row counts, so `verify` can tell a backup that rotted.
//!
//! With PostgreSQL the bytes are in the database: `pg_dump` is the backup
//! (README); this module refuses, saying so.

use std::path::{Path, PathBuf};

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Connection, Row};

use crate::blob::{create_private, private_dir_all};
use crate::db::Backend;
use crate::{Result, Store, StoreError};

/// The database file inside a backup (and a data dir).
pub const DB_FILE: &str = "tern.sqlite";
/// The manifest inside a backup.
pub const MANIFEST: &str = "manifest.json";

/// One message file: where it is under the data dir, its size and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupFile {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Seconds since the epoch when the snapshot was taken.
    pub created: i64,
    pub schema_version: i64,
    pub accounts: i64,
    pub mailboxes: i64,
    pub messages: i64,
    /// Messages expunged between the snapshot and their copy (left out).
    pub expunged_meanwhile: u64,
    pub files: Vec<BackupFile>,
}

/// What `verify` found wrong, by file; empty when the backup is whole.
pub type Damage = Vec<String>;

fn sha256_file(path: &Path) -> std::io::Result<(u64, String)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        ctx.update(&buf[..n]);
    }
    let hex: String = ctx
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((size, hex))
}

/// The relative path of a message file: `accounts/<id>/<dir>/cur/<file>`,
/// from ids and names the store itself made (never a user's).
fn rel_path(account: i64, dir: &str, file: &str) -> Option<PathBuf> {
    let ok = |s: &str| !s.is_empty() && !s.contains('/') && s != "." && s != "..";
    if !ok(file) || !(dir.is_empty() || ok(dir)) {
        return None;
    }
    let mut p = PathBuf::from("accounts").join(account.to_string());
    if !dir.is_empty() {
        p = p.join(dir);
    }
    Some(p.join("cur").join(file))
}

async fn open_db(path: &Path) -> Result<AnyConnection> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}", path.display());
    Ok(AnyConnection::connect(&url).await?)
}

async fn count(c: &mut AnyConnection, table: &str) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(c)
        .await?)
}

/// Every message file the database at `db` names, with its row id.
async fn named_files(c: &mut AnyConnection) -> Result<Vec<(i64, PathBuf)>> {
    let rows = sqlx::query(
        "SELECT m.id, m.file, b.dir, b.account_id FROM messages m \
         JOIN mailboxes b ON b.id = m.mailbox_id WHERE m.file IS NOT NULL ORDER BY m.id",
    )
    .fetch_all(c)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let (id, file, dir, account): (i64, String, String, i64) =
            (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
        let p = rel_path(account, &dir, &file).ok_or_else(|| {
            StoreError::Invalid(format!("message {id} names an impossible file {file:?}"))
        })?;
        out.push((id, p));
    }
    Ok(out)
}

impl Store {
    /// Back the store up into `dest` (new or empty) while it serves;
    /// `progress` is told (done, total) as files are copied. With
    /// `previous` (an earlier backup), a file that backup already holds is
    /// hard-linked from it (message files never change), or copied when it
    /// is on another file system: only new mail costs space.
    pub async fn backup(
        &self,
        dest: &Path,
        previous: Option<&Path>,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<Manifest> {
        let earlier: std::collections::HashMap<String, BackupFile> = match previous {
            Some(p) => read_manifest(p)?
                .files
                .into_iter()
                .map(|f| (f.path.clone(), f))
                .collect(),
            None => Default::default(),
        };
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::Invalid(
                "this store is on PostgreSQL: back it up with pg_dump (see README)".into(),
            ));
        }
        if dest.exists() && std::fs::read_dir(dest)?.next().is_some() {
            return Err(StoreError::Invalid(format!(
                "{} is not empty; a backup goes into a new or empty directory",
                dest.display()
            )));
        }
        private_dir_all(dest)?;
        let snapshot = dest.join(DB_FILE);
        let created = tern_common::time::now_secs();
        // One statement, one read transaction: a consistent snapshot.
        let target = snapshot.display().to_string().replace('\'', "''");
        sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM INTO '{target}'")))
            .execute(self.pool())
            .await?;
        set_private(&snapshot)?;
        let mut db = open_db(&snapshot).await?;
        let files = named_files(&mut db).await?;
        let total = files.len() as u64;
        let mut listed = Vec::with_capacity(files.len());
        let mut gone = Vec::new();
        for (n, (id, rel)) in files.into_iter().enumerate() {
            let from = self.data_dir().join(&rel);
            let to = dest.join(&rel);
            if let Some(parent) = to.parent() {
                private_dir_all(parent)?;
            }
            let key = rel.display().to_string();
            if let (Some(prev), Some(p)) = (earlier.get(&key), previous)
                && std::fs::hard_link(p.join(&rel), &to).is_ok()
            {
                // Still in the store? Then it is the same immutable file.
                if from.exists() {
                    listed.push(prev.clone());
                } else {
                    std::fs::remove_file(&to)?;
                    gone.push(id);
                }
                progress(n as u64 + 1, total);
                continue;
            }
            match copy_private(&from, &to) {
                Ok(()) => {
                    let (size, sha256) = sha256_file(&to)?;
                    listed.push(BackupFile {
                        path: key,
                        size,
                        sha256,
                    });
                }
                // Expunged since the snapshot: leave it out.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => gone.push(id),
                Err(e) => return Err(e.into()),
            }
            progress(n as u64 + 1, total);
        }
        for id in &gone {
            sqlx::query("DELETE FROM messages WHERE id = $1")
                .bind(id)
                .execute(&mut db)
                .await?;
        }
        let manifest = Manifest {
            created,
            schema_version: sqlx::query_scalar("SELECT MAX(version) FROM schema_version")
                .fetch_one(&mut db)
                .await?,
            accounts: count(&mut db, "accounts").await?,
            mailboxes: count(&mut db, "mailboxes").await?,
            messages: count(&mut db, "messages").await?,
            expunged_meanwhile: gone.len() as u64,
            files: listed,
        };
        db.close().await?;
        write_manifest(dest, &manifest)?;
        Ok(manifest)
    }
}

fn set_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// Copy a file to a new 0600 file, synced.
fn copy_private(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut src = std::fs::File::open(from)?;
    let mut dst = create_private(to)?;
    std::io::copy(&mut src, &mut dst)?;
    dst.sync_all()
}

fn write_manifest(dest: &Path, m: &Manifest) -> Result<()> {
    let text = serde_json::to_vec_pretty(m)
        .map_err(|e| StoreError::Other(anyhow::anyhow!("writing the manifest: {e}")))?;
    let path = dest.join(MANIFEST);
    let mut f = create_private(&path)?;
    std::io::Write::write_all(&mut f, &text)?;
    f.sync_all()?;
    Ok(())
}

/// The manifest of the backup in `src`.
pub fn read_manifest(src: &Path) -> Result<Manifest> {
    let text = std::fs::read(src.join(MANIFEST))?;
    serde_json::from_slice(&text)
        .map_err(|e| StoreError::Invalid(format!("{}: {e}", src.join(MANIFEST).display())))
}

/// Check a backup (or a data dir restored from it) against its manifest:
/// every file there with its size and hash, and the database's counts.
pub async fn verify(
    root: &Path,
    m: &Manifest,
    mut progress: impl FnMut(u64, u64),
) -> Result<Damage> {
    let mut damage = Vec::new();
    let total = m.files.len() as u64;
    for (n, f) in m.files.iter().enumerate() {
        match sha256_file(&root.join(&f.path)) {
            Ok((size, sha)) if size == f.size && sha == f.sha256 => {}
            Ok(_) => damage.push(format!("{}: content differs from the manifest", f.path)),
            Err(e) => damage.push(format!("{}: {e}", f.path)),
        }
        progress(n as u64 + 1, total);
    }
    let mut db = open_db(&root.join(DB_FILE)).await?;
    for (table, want) in [
        ("accounts", m.accounts),
        ("mailboxes", m.mailboxes),
        ("messages", m.messages),
    ] {
        let have = count(&mut db, table).await?;
        if have != want {
            damage.push(format!("{table}: {have} rows, the manifest says {want}"));
        }
    }
    db.close().await?;
    Ok(damage)
}

/// Restore the backup in `src` into the data dir `data_dir`, which must
/// hold no store (unless `force`); the copy is verified before it is
/// declared done.
pub async fn restore(
    src: &Path,
    data_dir: &Path,
    force: bool,
    mut progress: impl FnMut(u64, u64),
) -> Result<Manifest> {
    let m = read_manifest(src)?;
    let occupied = data_dir.join(DB_FILE).exists()
        || std::fs::read_dir(data_dir.join("accounts"))
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
    if occupied && !force {
        return Err(StoreError::Invalid(format!(
            "{} already holds a store; restore into an empty data dir, or pass --force",
            data_dir.display()
        )));
    }
    private_dir_all(data_dir)?;
    for side in ["", "-wal", "-shm"] {
        let p = data_dir.join(format!("{DB_FILE}{side}"));
        if p.exists() {
            std::fs::remove_file(&p)?;
        }
    }
    copy_private(&src.join(DB_FILE), &data_dir.join(DB_FILE))?;
    let total = m.files.len() as u64;
    for (n, f) in m.files.iter().enumerate() {
        let to = data_dir.join(&f.path);
        if let Some(parent) = to.parent() {
            private_dir_all(parent)?;
        }
        if to.exists() {
            std::fs::remove_file(&to)?;
        }
        copy_private(&src.join(&f.path), &to)?;
        progress(n as u64 + 1, total);
    }
    let damage = verify(data_dir, &m, |_, _| {}).await?;
    if let Some(first) = damage.first() {
        return Err(StoreError::Invalid(format!(
            "the restored copy does not match the backup: {first} (and {} more)",
            damage.len() - 1
        )));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_come_from_ids_and_never_leave_the_tree() {
        assert_eq!(
            rel_path(7, ".12", "1700000000.x.host"),
            Some(PathBuf::from("accounts/7/.12/cur/1700000000.x.host"))
        );
        assert_eq!(
            rel_path(7, "", "f"),
            Some(PathBuf::from("accounts/7/cur/f"))
        );
        for (dir, file) in [
            ("", "../x"),
            ("..", "f"),
            ("a/b", "f"),
            ("", ""),
            ("", ".."),
        ] {
            assert_eq!(rel_path(1, dir, file), None, "{dir:?} {file:?}");
        }
    }
}
