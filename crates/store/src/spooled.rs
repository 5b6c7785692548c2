//! Delivery of a message whose body is in a spool file (SMTP spools data
//! beyond a small in-memory threshold): each copy is its own header bytes
//! followed by the same body octets of the file. With SQLite the copy into
//! the Maildir file is made by the kernel (`std::io::copy` between files
//! uses `copy_file_range`), tmp → fsync → rename → fsync dir as every
//! other write, so no copy of the body passes through memory. The copies
//! differ in their first bytes (Return-Path, Delivered-To, the trace
//! field), which is why the spool file itself is not renamed into place.
//!
//! The rule: the body is read in bounded pieces, never whole, on SQLite.
//! With PostgreSQL the blob is one `bytea` bound to one INSERT, so the
//! body is read into memory there (bounded by the SMTP layer's budget).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

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
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, &cur)?;
        blob::sync_dir(&folder.join("cur"))
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
        let mut prepared = Vec::with_capacity(messages.len());
        let mut written: Vec<PathBuf> = Vec::new();
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
                let (file, data) = match self.backend() {
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
                        let b2 = body.clone();
                        let mut bytes = m.bytes;
                        let bytes = tokio::task::spawn_blocking(move || {
                            open_body(&b2)?.read_to_end(&mut bytes)?;
                            Ok::<_, io::Error>(bytes)
                        })
                        .await
                        .map_err(|e| StoreError::Other(e.into()))??;
                        (None, Some(bytes))
                    }
                };
                prepared.push(Prepared {
                    account_id: m.account_id,
                    account,
                    mailbox_id: mb.id,
                    size,
                    flags: join_flags(&m.flags),
                    internal_date: m.internal_date,
                    file,
                    data,
                    summary: m.summary,
                });
            }
            self.inner.committer.commit(prepared).await
        }
        .await;
        if result.is_err() {
            // Nothing of a failed delivery stays visible.
            for p in &written {
                blob::remove_file(p);
            }
        }
        result
    }
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
