//! Outbound delivery: a durable queue in the store, worked by a pool with
//! total and per-destination limits; MX routing (implicit MX, null MX),
//! opportunistic or required STARTTLS, MTA-STS, DANE, an optional smarthost, retries with
//! exponential backoff and jitter, a per-destination circuit breaker, and
//! RFC 3464 delivery status notifications.

pub mod client;
pub mod dane;
pub mod dkim;
pub mod dns;
pub mod dsn;
mod local;
pub mod msgid;
pub mod mta_sts;
pub mod source_get;
pub mod tls;
mod worker;

use std::sync::Arc;

use tern_common::Config;
use tern_store::{QueueId, QueueNew, Store};
use tokio::sync::Notify;

/// A handle on the running queue.
#[derive(Clone)]
pub struct Queue {
    store: Store,
    wake: Arc<Notify>,
}

impl Queue {
    /// Start the delivery loop for this node.
    pub fn start(config: Arc<Config>, store: Store) -> anyhow::Result<Queue> {
        let dns = dns::Dns::new(&config.dns)?;
        let wake = Arc::new(Notify::new());
        // Stable per node, so a restart takes back the leases of its crash.
        let owner = format!("{}:{}", config.hostname, config.data_dir.display());
        let w = Arc::new(worker::Worker::new(
            config,
            store.clone(),
            dns,
            wake.clone(),
            owner,
        ));
        tokio::spawn(w.run());
        Ok(Queue { store, wake })
    }

    /// Queue a message durably and wake the workers.
    pub async fn enqueue(&self, m: &QueueNew) -> anyhow::Result<QueueId> {
        let id = self.store.queue_insert(m).await?;
        self.wake.notify_one();
        Ok(id)
    }

    /// Send an automatic message (a Sieve vacation reply or notification,
    /// a refusal notice) from the null sender, so it can never bounce back:
    /// into the mailbox when `to` is local, through the queue otherwise;
    /// DKIM-signed with the keys of its From domain, like submitted mail.
    pub async fn send_auto(&self, to: &str, message: Vec<u8>) -> anyhow::Result<()> {
        let message = dkim::sign(&self.store, message).await?;
        local::send_report(&self.store, &self.wake, to, message).await
    }

    /// Wake the workers (after `tern queue retry`, say).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}
