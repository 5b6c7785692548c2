//! Delivery of a message whose body is in a spool file (SMTP spools data
//! beyond a small in-memory threshold): each copy is its own header bytes
//! followed by the same body octets of the file. With SQLite the copy into
//! the Maildir file is made by the kernel (`std::io::copy` between files
//! uses `copy_file_range`), tmp → fsync → rename → fsync dir as every
//! other write, so no copy of the body passes through memory. The copies
//! differ in their first bytes (Return-Path, Delivered-To, the trace
//! field), which is why the spool file itself is not renamed into place.
//!
//! With PostgreSQL the copy is a large object written 1 MiB at a time
//! (`lo_from_bytea`, `lo_put`), which the commit turns into the `blobs`
//! row (`lo_get`) and unlinks, so the body does not pass through memory
//! there either.
//!
//! The rule: the body is read in bounded pieces, never whole.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::commit::Prepared;
use crate::db::Backend;
use crate::mail::{Delivered, MailboxSel, NewMessage, join_flags};
use crate::{Result, Store, StoreError, blob};

/// `len` octets of the file at `path` from `offset`: the part of every
/// copy after its own header bytes (`NewMessage::bytes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpooledBody {
    pub path: PathBuf,
    pub offset: u64,
    pub len: u64,
}

/// Open the body's octets for reading.
fn open_body(body: &SpooledBody) -> io::Result<io::Take<File>> {
    let mut f = File::open(&body.path)?;
    f.seek(SeekFrom::Start(body.offset))?;
    Ok(f.take(body.len))
}

/// Write `head` then the body durably into `folder/cur`; returns the name.
pub(crate) fn write_from(folder: &Path, head: &[u8], body: &SpooledBody) -> io::Result<String> {
    blob::ensure_maildir(folder)?;
    let name = blob::unique_name();
    let tmp = folder.join("tmp").join(&name);
    let cur = folder.join("cur").join(&name);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(head)?;
        let copied = io::copy(&mut open_body(body)?, &mut f)?;
        if copied != body.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("spool file ended after {copied} of {} octets", body.len),
            ));
        }
        // Not synced here: the group commit syncs the file system once for
        // every delivery of its batch (`commit.rs`).
        drop(f);
        fs::rename(&tmp, &cur)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        let _ = fs::remove_file(&cur);
        return Err(e);
    }
    Ok(name)
}

impl Store {
    /// Where SMTP spools message data: `<data dir>/spool`, on the same
    /// file system as the Maildirs.
    pub fn spool_dir(&self) -> PathBuf {
        self.data_dir().join("spool")
    }

    /// [`Store::deliver`] for messages that share a spooled body: each
    /// copy is `bytes` followed by `body`. All of `messages` or none.
    pub async fn deliver_spooled(
        &self,
        messages: Vec<NewMessage>,
        body: &SpooledBody,
    ) -> Result<Vec<Delivered>> {
        self.deliver_spooled_once(messages, body, None).await
    }

    /// `deliver_spooled`, at most once for `key` (see `deliver_once`).
    pub async fn deliver_spooled_once(
        &self,
        messages: Vec<NewMessage>,
        body: &SpooledBody,
        key: Option<String>,
    ) -> Result<Vec<Delivered>> {
        let mut prepared = Vec::with_capacity(messages.len());
        let mut written: Vec<PathBuf> = Vec::new();
        let mut uploaded: Vec<i64> = Vec::new();
        let result = async {
            for m in messages {
                let mb = match &m.mailbox {
                    MailboxSel::Id(id) => self.mailbox_by_id(*id).await?,
                    MailboxSel::Name(n) => self.mailbox_get(m.account_id, n).await?,
                }
                .filter(|mb| mb.account_id == m.account_id)
                .ok_or_else(|| StoreError::NotFound(format!("mailbox {:?}", m.mailbox)))?;
                let account = self.account_name(m.account_id).await?;
                let size = i64::try_from(m.bytes.len() as u64 + body.len)
                    .map_err(|_| StoreError::Invalid("message too large".into()))?;
                let (file, large_object) = match self.backend() {
                    Backend::Sqlite => {
                        let dir: String =
                            sqlx::query_scalar("SELECT dir FROM mailboxes WHERE id = $1")
                                .bind(mb.id)
                                .fetch_one(self.pool())
                                .await?;
                        let folder = blob::folder_path(self.data_dir(), m.account_id, &dir);
                        let (f2, b2, head) = (folder.clone(), body.clone(), m.bytes);
                        let name = tokio::task::spawn_blocking(move || write_from(&f2, &head, &b2))
                            .await
                            .map_err(|e| StoreError::Other(e.into()))??;
                        written.push(folder.join("cur").join(&name));
                        (Some(name), None)
                    }
                    Backend::Postgres => {
                        let lo = self.upload(&m.bytes, body).await?;
                        uploaded.push(lo);
                        (None, Some(lo))
                    }
                };
                prepared.push(Prepared {
                    account_id: m.account_id,
                    account,
                    mailbox_id: mb.id,
                    size,
                    flags: join_flags(&m.flags),
                    internal_date: m.internal_date,
                    internal_zone: m.internal_zone,
                    file,
                    data: None,
                    large_object,
                    summary: m.summary,
                });
            }
            self.inner.committer.commit(prepared, key).await
        }
        .await;
        if result.is_err() {
            // Nothing of a failed delivery stays visible.
            for p in &written {
                blob::remove_file(p);
            }
            for lo in &uploaded {
                self.unlink(*lo).await;
            }
        }
        result
    }

    /// A large object of `head` and then the body, written a piece at a
    /// time (`lo_put` appends in place; appending to a bytea would rewrite
    /// it at each piece); its oid.
    async fn upload(&self, head: &[u8], body: &SpooledBody) -> Result<i64> {
        let lo: i64 = sqlx::query_scalar("SELECT CAST(lo_from_bytea(0, $1) AS bigint)")
            .bind(head)
            .fetch_one(self.pool())
            .await?;
        let result = async {
            let mut file = tokio::fs::File::open(&body.path).await?;
            file.seek(SeekFrom::Start(body.offset)).await?;
            let mut file = file.take(body.len);
            let mut at = i64::try_from(head.len()).unwrap_or(i64::MAX);
            let mut piece = vec![0u8; UPLOAD_PIECE];
            loop {
                let n = read_full(&mut file, &mut piece).await?;
                if n == 0 {
                    break;
                }
                sqlx::query("SELECT lo_put(CAST($1 AS oid), $2, $3)")
                    .bind(lo)
                    .bind(at)
                    .bind(&piece[..n])
                    .execute(self.pool())
                    .await?;
                at += i64::try_from(n).unwrap_or(i64::MAX);
            }
            Ok::<_, StoreError>(())
        }
        .await;
        if let Err(e) = result {
            self.unlink(lo).await;
            return Err(e);
        }
        Ok(lo)
    }

    async fn unlink(&self, lo: i64) {
        if let Err(e) = sqlx::query("SELECT lo_unlink(CAST($1 AS oid))")
            .bind(lo)
            .execute(self.pool())
            .await
        {
            tracing::warn!(large_object = lo, error = %e, "cannot remove a large object");
        }
    }
}

/// The pieces a spooled body goes to PostgreSQL in.
const UPLOAD_PIECE: usize = 1024 * 1024;

/// Fill `buf` as far as the reader goes; the octets read.
async fn read_full(
    r: &mut (impl tokio::io::AsyncRead + Unpin),
    buf: &mut [u8],
) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let got = r.read(&mut buf[n..]).await?;
        if got == 0 {
            break;
        }
        n += got;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_its_head_then_the_body_octets() {
        let d = tempfile::tempdir().unwrap();
        let spool = d.path().join("spool-file");
        fs::write(&spool, b"HEADER\r\n\r\nbody line\r\n").unwrap();
        let body = SpooledBody {
            path: spool.clone(),
            offset: 6,
            len: 15,
        };
        let folder = d.path().join("box");
        let name = write_from(&folder, b"Delivered-To: a\r\nX: y\r\n", &body).unwrap();
        let got = fs::read(folder.join("cur").join(name)).unwrap();
        assert_eq!(got, b"Delivered-To: a\r\nX: y\r\n\r\n\r\nbody line\r\n");
        assert!(fs::read_dir(folder.join("tmp")).unwrap().next().is_none());
        let short = SpooledBody { len: 1000, ..body };
        assert!(
            write_from(&folder, b"h", &short).is_err(),
            "a short file fails"
        );
        assert_eq!(fs::read_dir(folder.join("cur")).unwrap().count(), 1);
        assert!(spool.exists(), "the spool file is the caller's");
    }
}
