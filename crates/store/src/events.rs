//! Change events: who changed which mailbox of which account. In-process with
//! SQLite; through PostgreSQL `LISTEN/NOTIFY` otherwise, so that a delivery
//! on one node wakes an IDLE session on another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::{AccountId, MailboxId};

pub(crate) const CHANNEL: &str = "tern_changes";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// New messages were added (delivery, APPEND, COPY, MOVE).
    Appended,
    /// Flags changed.
    Flags,
    /// Messages were expunged.
    Expunged,
    /// Mailboxes were created, renamed or deleted.
    Mailboxes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub account_id: AccountId,
    pub mailbox_id: MailboxId,
    pub kind: ChangeKind,
    /// The mailbox's HIGHESTMODSEQ after the change.
    pub modseq: u64,
}

impl Change {
    pub(crate) fn encode(&self) -> String {
        let k = match self.kind {
            ChangeKind::Appended => "a",
            ChangeKind::Flags => "f",
            ChangeKind::Expunged => "x",
            ChangeKind::Mailboxes => "m",
        };
        format!(
            "{} {} {k} {}",
            self.account_id, self.mailbox_id, self.modseq
        )
    }

    pub(crate) fn decode(s: &str) -> Option<Change> {
        let mut it = s.split(' ');
        let account_id = it.next()?.parse().ok()?;
        let mailbox_id = it.next()?.parse().ok()?;
        let kind = match it.next()? {
            "a" => ChangeKind::Appended,
            "f" => ChangeKind::Flags,
            "x" => ChangeKind::Expunged,
            "m" => ChangeKind::Mailboxes,
            _ => return None,
        };
        let modseq = it.next()?.parse().ok()?;
        Some(Change {
            account_id,
            mailbox_id,
            kind,
            modseq,
        })
    }
}

/// Subscribers per account. Senders without receivers are dropped on the
/// next publish, so the map only holds accounts someone is watching.
#[derive(Clone, Default)]
pub(crate) struct Bus {
    inner: Arc<Mutex<HashMap<AccountId, broadcast::Sender<Change>>>>,
}

impl Bus {
    pub fn subscribe(&self, account: AccountId) -> broadcast::Receiver<Change> {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(account)
            .or_insert_with(|| broadcast::channel(256).0)
            .subscribe()
    }

    pub fn publish(&self, change: Change) {
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = map.get(&change.account_id)
            && tx.send(change.clone()).is_err()
        {
            map.remove(&change.account_id);
        }
    }
}

/// Forward PostgreSQL notifications to the local bus. The listener
/// reconnects by itself; notifications sent while it was away are lost, so
/// sessions also re-read their mailbox on NOOP/IDLE re-entry.
pub(crate) async fn listen_postgres(url: &str, bus: Bus) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut listener = sqlx::postgres::PgListener::connect(url)
        .await
        .context("connecting the change listener to PostgreSQL")?;
    listener
        .listen(CHANNEL)
        .await
        .context("LISTEN tern_changes")?;
    tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(n) => {
                    if let Some(c) = Change::decode(n.payload()) {
                        bus.publish(c);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "change listener lost PostgreSQL; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let c = Change {
            account_id: 3,
            mailbox_id: 9,
            kind: ChangeKind::Expunged,
            modseq: 42,
        };
        assert_eq!(Change::decode(&c.encode()), Some(c));
        assert_eq!(Change::decode("x y"), None);
    }
}
