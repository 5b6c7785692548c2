//! A message's bytes read a piece at a time, for the protocols that send a
//! whole message (POP3 RETR/TOP): a session holds one chunk, never the
//! message, so memory does not grow with sessions × message size.

use tokio::io::AsyncReadExt;

use crate::{MailboxId, Result, Store, StoreError};

/// The bytes of one message, from its Maildir file (SQLite setup) or its
/// row in `blobs` (PostgreSQL), in chunks.
pub struct MessageReader {
    source: Source,
    len: u64,
    pos: u64,
}

enum Source {
    File(tokio::fs::File),
    Blob { store: Store, id: i64 },
}

impl Store {
    /// Open a message for reading in chunks.
    pub async fn message_reader(&self, mailbox: MailboxId, uid: u32) -> Result<MessageReader> {
        match self.locate_message(mailbox, uid).await? {
            (Some(path), _) => {
                let file = tokio::fs::File::open(&path).await.map_err(|e| {
                    StoreError::Other(anyhow::anyhow!("reading {}: {e}", path.display()))
                })?;
                let len = file.metadata().await?.len();
                Ok(MessageReader {
                    source: Source::File(file),
                    len,
                    pos: 0,
                })
            }
            (None, Some(id)) => {
                let len: i64 = sqlx::query_scalar(
                    "SELECT CAST(length(data) AS BIGINT) FROM blobs WHERE id = $1",
                )
                .bind(id)
                .fetch_one(self.pool())
                .await?;
                Ok(MessageReader {
                    source: Source::Blob {
                        store: self.clone(),
                        id,
                    },
                    len: len.max(0) as u64,
                    pos: 0,
                })
            }
            (None, None) => Err(StoreError::Other(anyhow::anyhow!(
                "message {uid} has no content"
            ))),
        }
    }
}

impl MessageReader {
    /// The message's size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The next at most `max` bytes; `None` once everything was read.
    pub async fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<u8>>> {
        let want = (self.len - self.pos).min(max.max(1) as u64) as usize;
        if want == 0 {
            return Ok(None);
        }
        let chunk = match &mut self.source {
            Source::File(f) => {
                let mut buf = vec![0; want];
                let mut got = 0;
                while got < want {
                    match f.read(&mut buf[got..]).await? {
                        0 => break,
                        n => got += n,
                    }
                }
                buf.truncate(got);
                buf
            }
            // substr counts from 1 on both backends.
            Source::Blob { store, id } => {
                sqlx::query_scalar("SELECT substr(data, CAST($1 AS INTEGER), CAST($2 AS INTEGER)) FROM blobs WHERE id = $3")
                    .bind(self.pos as i64 + 1)
                    .bind(want as i64)
                    .bind(*id)
                    .fetch_one(store.pool())
                    .await?
            }
        };
        if chunk.is_empty() {
            // The file shrank under us: end here rather than loop.
            self.pos = self.len;
            return Ok(None);
        }
        self.pos += chunk.len() as u64;
        Ok(Some(chunk))
    }
}
