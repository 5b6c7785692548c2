//! Reports sent to us: once a message to a report address (`[reports]
//! receive`, postmaster by default) from the internet is stored like any
//! other, the DMARC or TLS report it carries is read and kept
//! (`tern_reports::receive`). Nothing here can refuse or lose the message:
//! a report that does not read is logged and stays ordinary mail.

use tern_reports::receive::{Ingested, ingest};

use crate::Shared;
use crate::spool::Message;
use crate::transaction::Envelope;

pub(crate) async fn read(shared: &Shared, env: &Envelope, msg: &Message, id: &str) {
    let cfg = &shared.config.reports;
    if !env
        .rcpts
        .iter()
        .any(|r| cfg.receives(&r.address.to_string()))
    {
        return;
    }
    let max = usize::try_from(cfg.max_report_kib.saturating_mul(1024)).unwrap_or(usize::MAX);
    if msg.len() > max as u64 {
        tracing::info!(queue_id = %id, size = msg.len(), "reports: message too large to read as a report");
        return;
    }
    let Some(_turn) = tern_reports::receive::turn().await else {
        return;
    };
    let bytes = match msg.prefix(max).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(queue_id = %id, error = %e, "reports: cannot read the message");
            return;
        }
    };
    match ingest(&shared.store, bytes, max).await {
        Ingested::Kept(n, r) => tracing::info!(
            queue_id = %id,
            report = n,
            kind = %r.kind,
            domain = %r.domain,
            from = %r.org_name,
            messages = r.messages,
            failed = r.failed,
            "reports: report received"
        ),
        Ingested::Duplicate => {
            tracing::info!(queue_id = %id, "reports: a report received before, kept once")
        }
        Ingested::NotOurs(d) => {
            tracing::info!(queue_id = %id, domain = %d, "reports: a report about a domain not hosted here")
        }
        Ingested::Unreadable(e) => {
            tracing::warn!(queue_id = %id, error = %e, "reports: not a readable report; kept as mail")
        }
    }
}
