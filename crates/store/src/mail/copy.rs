//! COPY and MOVE (RFC 9051 6.4.7, RFC 6851): a copy is a delivery of the
//! same bytes, flags, dates and summaries; a move then expunges the source.
//! A move that must happen once whatever fails (a snoozed message waking)
//! is `move_message_once`.

use crate::mail::deliver::{MailboxSel, NewMessage};
use crate::{MailboxId, Result, Store, StoreError};

impl Store {
    /// Copy messages to another mailbox of the same account, keeping flags,
    /// dates and summaries. Returns (source UID, new UID) pairs.
    pub async fn copy_messages(
        &self,
        from: MailboxId,
        uids: &[u32],
        to: MailboxId,
    ) -> Result<Vec<(u32, u32)>> {
        self.copy_messages_once(from, uids, to, None).await
    }

    /// `copy_messages`, at most once for `key` (`deliver_once`): a key
    /// copied before gives `StoreError::AlreadyDelivered`, nothing copied.
    pub async fn copy_messages_once(
        &self,
        from: MailboxId,
        uids: &[u32],
        to: MailboxId,
        key: Option<String>,
    ) -> Result<Vec<(u32, u32)>> {
        let dest = self
            .mailbox_by_id(to)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("mailbox #{to}")))?;
        let src_meta = self.messages(from).await?;
        let mut summaries: std::collections::HashMap<u32, Vec<u8>> = self
            .message_summaries(from, uids)
            .await?
            .into_iter()
            .collect();
        let mut items = Vec::new();
        let mut pairs_src = Vec::new();
        for m in src_meta.iter().filter(|m| uids.contains(&m.uid)) {
            items.push(NewMessage {
                account_id: dest.account_id,
                mailbox: MailboxSel::Id(to),
                bytes: self.message_bytes(from, m.uid).await?,
                flags: m.flags.clone(),
                internal_date: m.internal_date,
                internal_zone: m.internal_zone,
                summary: summaries.remove(&m.uid),
            });
            pairs_src.push(m.uid);
        }
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let delivered = self.deliver_once(items, key).await?;
        Ok(pairs_src
            .into_iter()
            .zip(delivered.iter().map(|d| d.uid))
            .collect())
    }

    /// Move one message at most once for `key`, safe to run again after a
    /// crash at any point: the copy commits with the key, so a repeat
    /// copies nothing and only expunges the source; with the source gone,
    /// nothing happens. The new UID when this call made the copy.
    pub async fn move_message_once(
        &self,
        from: MailboxId,
        uid: u32,
        to: MailboxId,
        key: &str,
    ) -> Result<Option<u32>> {
        let new = match self
            .copy_messages_once(from, &[uid], to, Some(key.to_string()))
            .await
        {
            Ok(pairs) => pairs.first().map(|p| p.1),
            Err(StoreError::AlreadyDelivered) => None,
            Err(e) => return Err(e),
        };
        self.expunge_uids(from, &[uid]).await?;
        Ok(new)
    }

    /// MOVE: copy, then expunge from the source.
    pub async fn move_messages(
        &self,
        from: MailboxId,
        uids: &[u32],
        to: MailboxId,
    ) -> Result<Vec<(u32, u32)>> {
        let pairs = self.copy_messages(from, uids, to).await?;
        let moved: Vec<u32> = pairs.iter().map(|p| p.0).collect();
        self.expunge_uids(from, &moved).await?;
        Ok(pairs)
    }
}
