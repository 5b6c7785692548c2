//! The memory all logged-in sessions together may hold in message bytes:
//! APPEND literals as they arrive, and each message FETCH, SEARCH, SORT
//! and THREAD read whole (`[imap] memory_budget_mib`).
//!
//! The rule: bytes that depend on what a client sends or has stored are
//! taken from the budget before they are read, and go back when the
//! command (or the message's turn in it) is done. Per-connection limits
//! alone let memory grow with the number of connections.

use std::sync::Arc;
use std::time::Duration;

use tern_store::{MailboxId, MessageMeta, Store, StoreError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A share of the budget; given back when dropped.
pub type Share = OwnedSemaphorePermit;

#[derive(Debug, Clone)]
pub struct Budget {
    sem: Arc<Semaphore>,
    total: usize,
}

impl Budget {
    pub fn new(bytes: usize) -> Budget {
        let total = bytes
            .clamp(1, Semaphore::MAX_PERMITS)
            .min(u32::MAX as usize);
        Budget {
            sem: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// `n` bytes, waiting at most `wait` for other sessions to give some
    /// back; `None` when there was no room in time. More than the whole
    /// budget is asked as the whole budget, so that one message larger
    /// than it can still be read, alone.
    pub async fn take(&self, n: usize, wait: Duration) -> Option<Share> {
        let n = u32::try_from(n.min(self.total)).ok()?;
        let share = self.sem.clone().acquire_many_owned(n);
        tokio::time::timeout(wait, share).await.ok()?.ok()
    }

    /// What is not taken.
    pub fn available(&self) -> usize {
        self.sem.available_permits()
    }
}

/// How long reading a message waits for room in the budget.
const READ_WAIT: Duration = Duration::from_secs(30);

/// The reply when a command found no room in the budget in time.
pub const BUSY: &str = "NO [LIMIT] server busy; try again later";

/// Why a message could not be read.
pub enum ReadError {
    /// Expunged meanwhile.
    Gone,
    /// No room in the budget in time.
    Busy,
    Store(StoreError),
}

/// A message's bytes with the share of the budget they hold: three times
/// their size, for the bytes, the reply being built and the write buffer
/// it goes to. Keep the share until the reply is flushed or the message
/// is done with.
pub(crate) async fn read_message(
    store: &Store,
    budget: &Budget,
    mailbox: MailboxId,
    meta: &MessageMeta,
) -> Result<(Vec<u8>, Share), ReadError> {
    let size = usize::try_from(meta.size).unwrap_or(usize::MAX);
    let share = budget
        .take(size.saturating_mul(3), READ_WAIT)
        .await
        .ok_or(ReadError::Busy)?;
    match store.message_bytes(mailbox, meta.uid).await {
        Ok(b) => Ok((b, share)),
        Err(StoreError::NotFound(_)) => Err(ReadError::Gone),
        Err(e) => Err(ReadError::Store(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shares_come_back_when_dropped() {
        let b = Budget::new(100);
        let wait = Duration::from_millis(20);
        let one = b.take(60, wait).await.expect("room");
        assert!(b.take(60, wait).await.is_none(), "no room while held");
        drop(one);
        // More than the whole budget waits for all of it.
        let all = b.take(1_000, wait).await.expect("the whole budget");
        assert_eq!(b.available(), 0);
        drop(all);
        assert_eq!(b.available(), 100);
    }
}
