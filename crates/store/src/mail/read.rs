//! The read side: a mailbox's messages (all, or changed since a MODSEQ for
//! RFC 7162 CONDSTORE), where a message's bytes are, the bytes, and the
//! cached summaries a protocol layer derived from them.

use sqlx::Row;

use crate::blob;
use crate::mail::meta::{MessageMeta, MetaRow, meta_of_row};
use crate::{MailboxId, Result, Store, StoreError};

impl Store {
    /// Every message of a mailbox, by ascending UID.
    pub async fn messages(&self, mailbox: MailboxId) -> Result<Vec<MessageMeta>> {
        let rows: Vec<MetaRow> = sqlx::query_as(
            "SELECT uid, size, internal_date, flags, modseq, internal_zone FROM messages WHERE mailbox_id = $1 ORDER BY uid",
        )
        .bind(mailbox)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(meta_of_row).collect())
    }

    /// The messages of a mailbox added or changed after `modseq`, by
    /// ascending UID.
    pub async fn messages_changed_since(
        &self,
        mailbox: MailboxId,
        modseq: u64,
    ) -> Result<Vec<MessageMeta>> {
        let rows: Vec<MetaRow> = sqlx::query_as(
            "SELECT uid, size, internal_date, flags, modseq, internal_zone FROM messages \
             WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
        )
        .bind(mailbox)
        .bind(modseq as i64)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(meta_of_row).collect())
    }

    /// Where a message's bytes are: its file, or its blob. Read through
    /// `exec`, so that a writer asks inside its own transaction instead of
    /// waiting for a second pooled connection while holding the write lock.
    pub(super) async fn locate<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
        &self,
        exec: E,
        mailbox: MailboxId,
        uid: u32,
    ) -> Result<(Option<std::path::PathBuf>, Option<i64>)> {
        let row = sqlx::query(
            "SELECT m.file, m.blob_id, b.dir, b.account_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id \
             WHERE m.mailbox_id = $1 AND m.uid = $2",
        )
        .bind(mailbox)
        .bind(uid as i64)
        .fetch_optional(exec)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("message {uid}")))?;
        let file: Option<String> = row.try_get(0)?;
        let blob_id: Option<i64> = row.try_get(1)?;
        let dir: String = row.try_get(2)?;
        let account: i64 = row.try_get(3)?;
        let path = file.map(|f| {
            blob::folder_path(self.data_dir(), account, &dir)
                .join("cur")
                .join(f)
        });
        Ok((path, blob_id))
    }

    /// Where a message's bytes are (see `locate`), through the pool.
    pub(crate) async fn locate_message(
        &self,
        mailbox: MailboxId,
        uid: u32,
    ) -> Result<(Option<std::path::PathBuf>, Option<i64>)> {
        self.locate(self.pool(), mailbox, uid).await
    }

    /// The bytes of one message.
    pub async fn message_bytes(&self, mailbox: MailboxId, uid: u32) -> Result<Vec<u8>> {
        match self.locate(self.pool(), mailbox, uid).await? {
            (Some(path), _) => Ok(tokio::fs::read(&path).await.map_err(|e| {
                StoreError::Other(anyhow::anyhow!("reading {}: {e}", path.display()))
            })?),
            (None, Some(blob)) => Ok(sqlx::query_scalar("SELECT data FROM blobs WHERE id = $1")
                .bind(blob)
                .fetch_one(self.pool())
                .await?),
            (None, None) => Err(StoreError::Other(anyhow::anyhow!(
                "message {uid} has no content"
            ))),
        }
    }

    /// The cached summaries (see [`Store::message_summary_set`]) of the
    /// messages among `uids` that have one.
    pub async fn message_summaries(
        &self,
        mailbox: MailboxId,
        uids: &[u32],
    ) -> Result<Vec<(u32, Vec<u8>)>> {
        let (Some(lo), Some(hi)) = (uids.iter().min(), uids.iter().max()) else {
            return Ok(Vec::new());
        };
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT uid, summary FROM messages WHERE mailbox_id = $1 AND uid >= $2 AND uid <= $3 \
             AND summary IS NOT NULL",
        )
        .bind(mailbox)
        .bind(*lo as i64)
        .bind(*hi as i64)
        .fetch_all(self.pool())
        .await?;
        let wanted: std::collections::HashSet<u32> = uids.iter().copied().collect();
        Ok(rows
            .into_iter()
            .map(|(u, s)| (u as u32, s))
            .filter(|(u, _)| wanted.contains(u))
            .collect())
    }

    /// Keep what a protocol layer derived from a message's bytes (the
    /// IMAP ENVELOPE and BODYSTRUCTURE), so it is computed once, not on
    /// every read. The message is immutable, so the summary never goes
    /// stale; it goes with the message when that is expunged.
    pub async fn message_summary_set(
        &self,
        mailbox: MailboxId,
        uid: u32,
        summary: &[u8],
    ) -> Result<()> {
        sqlx::query("UPDATE messages SET summary = $1 WHERE mailbox_id = $2 AND uid = $3")
            .bind(summary)
            .bind(mailbox)
            .bind(uid as i64)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
