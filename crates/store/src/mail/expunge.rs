//! Expunging: removing messages, freeing their bytes and quota, and the
//! expunge log QRESYNC reads (RFC 7162 3.2.10 VANISHED).

use crate::blob;
use crate::events::{Change, ChangeKind};
use crate::{MailboxId, Result, Store, StoreError};

impl Store {
    /// Remove the given messages (whatever their flags), log them for
    /// QRESYNC, and return the UIDs actually removed.
    pub async fn expunge_uids(&self, mailbox: MailboxId, uids: &[u32]) -> Result<Vec<u32>> {
        let mut paths = Vec::new();
        let (mut tx, account) = self.begin_mailbox_write(mailbox).await?;
        let mut removed = Vec::new();
        let mut modseq = 0u64;
        let mut freed = 0i64;
        for &uid in uids {
            let (path, blob_id) = match self.locate(&mut *tx, mailbox, uid).await {
                Ok(x) => x,
                Err(StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let size: Option<i64> = sqlx::query_scalar(
                "DELETE FROM messages WHERE mailbox_id = $1 AND uid = $2 RETURNING size",
            )
            .bind(mailbox)
            .bind(uid as i64)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(size) = size else { continue };
            freed += size;
            modseq = sqlx::query_scalar::<_, i64>(
                "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING highestmodseq",
            )
            .bind(mailbox)
            .fetch_one(&mut *tx)
            .await? as u64;
            sqlx::query("INSERT INTO expunged (mailbox_id, uid, modseq) VALUES ($1, $2, $3)")
                .bind(mailbox)
                .bind(uid as i64)
                .bind(modseq as i64)
                .execute(&mut *tx)
                .await?;
            if let Some(b) = blob_id {
                blob::release_db_blob(&mut tx, b).await?;
            }
            paths.extend(path);
            removed.push(uid);
        }
        sqlx::query("UPDATE accounts SET used = CASE WHEN used > $1 THEN used - $1 ELSE 0 END WHERE id = $2")
            .bind(freed)
            .bind(account)
            .execute(&mut *tx)
            .await?;
        let change = Change {
            account_id: account,
            mailbox_id: mailbox,
            kind: ChangeKind::Expunged,
            modseq,
        };
        if !removed.is_empty() {
            self.emit(&mut tx, &change).await?;
        }
        tx.commit().await?;
        for p in &paths {
            blob::remove_file(p);
        }
        if !removed.is_empty() {
            self.emitted(change);
        }
        Ok(removed)
    }

    /// EXPUNGE: remove the messages flagged `\Deleted` (only among `uids`
    /// when given, for UID EXPUNGE).
    pub async fn expunge_deleted(
        &self,
        mailbox: MailboxId,
        uids: Option<&[u32]>,
    ) -> Result<Vec<u32>> {
        let candidates: Vec<u32> = self
            .messages(mailbox)
            .await?
            .into_iter()
            .filter(|m| m.flags.iter().any(|f| f == "\\Deleted"))
            .map(|m| m.uid)
            .filter(|u| uids.is_none_or(|set| set.contains(u)))
            .collect();
        self.expunge_uids(mailbox, &candidates).await
    }

    /// UIDs expunged from a mailbox after `modseq` (QRESYNC VANISHED).
    pub async fn expunged_since(&self, mailbox: MailboxId, modseq: u64) -> Result<Vec<u32>> {
        let uids: Vec<i64> = sqlx::query_scalar(
            "SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
        )
        .bind(mailbox)
        .bind(modseq as i64)
        .fetch_all(self.pool())
        .await?;
        Ok(uids.into_iter().map(|u| u as u32).collect())
    }
}
