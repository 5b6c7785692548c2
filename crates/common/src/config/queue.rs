//! `[queue]`: outbound delivery: concurrency, retries and their backoff,
//! when to give up (RFC 5321 4.5.4.1 suggests at least 4-5 days), leases,
//! the circuit breaker per destination, and domains that require TLS.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;
use crate::address::normalize_domain;

/// The outbound queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// Deliveries in flight at once.
    pub workers: usize,
    /// Deliveries in flight to one destination domain.
    pub per_domain: usize,
    /// First retry after this, doubling (with jitter) up to `retry_max_secs`.
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    /// A recipient still failing after this is bounced (default 5 days).
    pub give_up_after_secs: u64,
    /// Send a delay notice (when NOTIFY=DELAY asks) once this old.
    pub delay_notice_after_secs: u64,
    /// How long a claimed recipient stays leased to its worker.
    pub lease_secs: u64,
    /// Consecutive connection failures that pause a destination...
    pub breaker_failures: u32,
    /// ...for this long.
    pub breaker_pause_secs: u64,
    /// TEST ONLY: the port remote MX hosts are contacted on (25).
    pub remote_port: u16,
    /// Destination domains that only ever get mail over TLS.
    pub require_tls: Vec<String>,
    /// Extra trust anchors (PEM) for verified TLS (MTA-STS), besides the
    /// system's certificate store.
    pub tls_ca_file: Option<PathBuf>,
    /// TEST ONLY: the port MTA-STS policies are fetched from (443).
    pub mta_sts_port: u16,
    /// How often the queue looks for due work when nothing wakes it.
    pub poll_secs: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            workers: 16,
            per_domain: 4,
            retry_base_secs: 300,
            retry_max_secs: 4 * 3600,
            give_up_after_secs: 5 * 86400,
            delay_notice_after_secs: 4 * 3600,
            lease_secs: 1800,
            breaker_failures: 5,
            breaker_pause_secs: 300,
            remote_port: 25,
            poll_secs: 30,
            require_tls: Vec::new(),
            tls_ca_file: None,
            mta_sts_port: 443,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueue {
    workers: Option<Spanned<usize>>,
    per_domain: Option<Spanned<usize>>,
    retry_base_secs: Option<Spanned<u64>>,
    retry_max_secs: Option<Spanned<u64>>,
    give_up_after_secs: Option<Spanned<u64>>,
    delay_notice_after_secs: Option<Spanned<u64>>,
    lease_secs: Option<Spanned<u64>>,
    breaker_failures: Option<Spanned<u32>>,
    breaker_pause_secs: Option<Spanned<u64>>,
    remote_port: Option<Spanned<u16>>,
    #[serde(default)]
    require_tls: Vec<Spanned<String>>,
    tls_ca_file: Option<Spanned<PathBuf>>,
    mta_sts_port: Option<Spanned<u16>>,
    poll_secs: Option<Spanned<u64>>,
}

impl QueueConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, rq: &RawQueue, base: &Path) -> QueueConfig {
        let d = QueueConfig::default();
        let timing = QueueConfig {
            workers: c.positive("queue.workers", &rq.workers, d.workers),
            per_domain: c.positive("queue.per_domain", &rq.per_domain, d.per_domain),
            retry_base_secs: c.positive(
                "queue.retry_base_secs",
                &rq.retry_base_secs,
                d.retry_base_secs,
            ),
            retry_max_secs: c.positive(
                "queue.retry_max_secs",
                &rq.retry_max_secs,
                d.retry_max_secs,
            ),
            give_up_after_secs: c.positive(
                "queue.give_up_after_secs",
                &rq.give_up_after_secs,
                d.give_up_after_secs,
            ),
            delay_notice_after_secs: c.positive(
                "queue.delay_notice_after_secs",
                &rq.delay_notice_after_secs,
                d.delay_notice_after_secs,
            ),
            lease_secs: c.positive("queue.lease_secs", &rq.lease_secs, d.lease_secs),
            breaker_failures: c.positive(
                "queue.breaker_failures",
                &rq.breaker_failures,
                d.breaker_failures,
            ),
            breaker_pause_secs: c.positive(
                "queue.breaker_pause_secs",
                &rq.breaker_pause_secs,
                d.breaker_pause_secs,
            ),
            remote_port: c.positive("queue.remote_port", &rq.remote_port, d.remote_port),
            poll_secs: c.positive("queue.poll_secs", &rq.poll_secs, d.poll_secs),
            ..QueueConfig::default()
        };
        QueueConfig {
            require_tls: require_tls(c, &rq.require_tls),
            tls_ca_file: tls_ca_file(c, &rq.tls_ca_file, base),
            mta_sts_port: c.positive("queue.mta_sts_port", &rq.mta_sts_port, d.mta_sts_port),
            ..timing
        }
    }
}

/// `require_tls`: domains, normalised.
fn require_tls(c: &mut Checker<'_>, raw: &[Spanned<String>]) -> Vec<String> {
    let mut out = Vec::new();
    for d in raw {
        match normalize_domain(d.get_ref()) {
            Ok(n) => out.push(n),
            Err(e) => c.err_at("queue.require_tls", d, e.to_string()),
        }
    }
    out
}

/// `tls_ca_file`: resolved against `base`, and readable.
fn tls_ca_file(
    c: &mut Checker<'_>,
    raw: &Option<Spanned<PathBuf>>,
    base: &Path,
) -> Option<PathBuf> {
    raw.as_ref().map(|f| {
        let p = base.join(f.get_ref());
        if let Err(e) = std::fs::read(&p) {
            c.err_at(
                "queue.tls_ca_file",
                f,
                format!("cannot read {}: {e}", p.display()),
            );
        }
        p
    })
}
