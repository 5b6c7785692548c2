//! Shared snapshots of a mailbox's message list. Every IMAP session keeps
//! the list of the messages it knows (sequence number → UID, flags); many
//! sessions on one mailbox in the same state — one person's devices, a
//! shared mailbox, a thousand clients in IDLE — share one copy instead of
//! holding one each. A snapshot is keyed by the mailbox's HIGHESTMODSEQ,
//! which every append, flag change and expunge raises, and lives as long
//! as some session holds it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use crate::{MailboxId, MessageMeta, Result, Store, StoreError};

/// A mailbox's HIGHESTMODSEQ and the list read at it.
type Entry = (u64, Weak<Vec<MessageMeta>>);

#[derive(Default)]
pub(crate) struct Snapshots {
    map: Mutex<HashMap<MailboxId, Entry>>,
}

impl Store {
    /// Every message of a mailbox, by ascending UID, shared with whoever
    /// asked at the same HIGHESTMODSEQ. The list is at least as new as
    /// that HIGHESTMODSEQ.
    pub async fn messages_shared(&self, mailbox: MailboxId) -> Result<Arc<Vec<MessageMeta>>> {
        let modseq: i64 = sqlx::query_scalar("SELECT highestmodseq FROM mailboxes WHERE id = $1")
            .bind(mailbox)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("mailbox #{mailbox}")))?;
        let modseq = modseq as u64;
        let snaps = &self.inner.snapshots;
        {
            let map = snaps.map.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((m, weak)) = map.get(&mailbox)
                && *m == modseq
                && let Some(list) = weak.upgrade()
            {
                return Ok(list);
            }
        }
        let list = Arc::new(self.messages(mailbox).await?);
        let mut map = snaps.map.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(mailbox, (modseq, Arc::downgrade(&list)));
        // Forget the mailboxes nobody holds any more.
        if map.len() > 64 {
            map.retain(|_, (_, w)| w.strong_count() > 0);
        }
        Ok(list)
    }
}
