//! What an attempt's fates become: delivered, failed (a DSN, RFC 3464),
//! expired after `give_up_after_secs` (4.4.7), or deferred with exponential
//! backoff and jitter (a delay DSN once, when asked for: RFC 3461 4.1). Rule:
//! every outcome is one info line per recipient, and no report ever goes to
//! the null sender (RFC 5321 6.1).

use tern_common::time::{iso8601, now_secs};
use tern_store::{QueueMessage, QueueRcpt, RcptState};

use super::{Fate, Worker};
use crate::dsn::{self, Action, RcptStatus};
use crate::local;

impl Worker {
    pub(super) fn backoff(&self, attempts: u32) -> i64 {
        let q = &self.config.queue;
        let exp = attempts.min(30);
        let base = q
            .retry_base_secs
            .saturating_mul(1u64 << exp.min(20))
            .min(q.retry_max_secs) as f64;
        // ±20 % jitter so that a burst of failures does not retry in lockstep.
        let jitter = 0.8 + rand::random::<f64>() * 0.4;
        (base * jitter).max(1.0) as i64
    }

    pub(super) async fn record(
        &self,
        msg: &QueueMessage,
        rcpts: &[QueueRcpt],
        fates: Vec<Fate>,
        data: &[u8],
    ) -> anyhow::Result<()> {
        let now = now_secs();
        let age = now - msg.created;
        let mut failed = Vec::new();
        let mut delayed = Vec::new();
        let mut sourced: Vec<i64> = Vec::new();
        let mut source: Option<(String, String)> = None;
        for (r, fate) in rcpts.iter().zip(fates) {
            match fate {
                Fate::Awaiting { id, host } => {
                    tracing::info!(rcpt = %r.rcpt, attempt = r.attempts + 1, result = "awaiting fetch", host = %host, "queue: delivery attempt");
                    sourced.push(r.id);
                    source = Some((id, host));
                }
                Fate::Delivered(how) => {
                    tracing::info!(rcpt = %r.rcpt, attempt = r.attempts + 1, result = "delivered", detail = %how, "queue: delivery attempt");
                    tern_common::metrics::count(tern_common::metrics::Metric::MessagesSent);
                    self.store
                        .queue_update(r.id, RcptState::Delivered, 0, &how, r.delay_notified)
                        .await?;
                }
                Fate::Failed { status, diagnostic } => {
                    tracing::info!(rcpt = %r.rcpt, attempt = r.attempts + 1, result = "failed", detail = %diagnostic, "queue: delivery attempt");
                    self.store
                        .queue_update(r.id, RcptState::Failed, 0, &diagnostic, r.delay_notified)
                        .await?;
                    failed.push((r, status, diagnostic));
                }
                Fate::Deferred(why) if age >= self.config.queue.give_up_after_secs as i64 => {
                    let diagnostic = format!("gave up after {} days: {why}", age / 86400);
                    tracing::info!(rcpt = %r.rcpt, attempt = r.attempts + 1, result = "expired", detail = %why, "queue: delivery attempt");
                    self.store
                        .queue_update(r.id, RcptState::Failed, 0, &diagnostic, r.delay_notified)
                        .await?;
                    failed.push((r, "4.4.7".to_string(), diagnostic));
                }
                Fate::Deferred(why) => {
                    let next = now + self.backoff(r.attempts);
                    let notice = !r.delay_notified
                        && age >= self.config.queue.delay_notice_after_secs as i64
                        && dsn::wanted(&r.notify, Action::Delayed);
                    tracing::info!(rcpt = %r.rcpt, attempt = r.attempts + 1, result = "deferred", next_attempt = %iso8601(next), detail = %why, "queue: delivery attempt");
                    self.store
                        .queue_update(
                            r.id,
                            RcptState::Pending,
                            next,
                            &why,
                            r.delay_notified || notice,
                        )
                        .await?;
                    if notice {
                        delayed.push((r, dsn::status_of(&why, false), why));
                    }
                }
            }
        }
        if let Some((id, host)) = source {
            let expires = now + self.config.source_get.retention_secs as i64;
            let note = format!("{host} took it by SOURCE; awaiting its fetch");
            self.store
                .source_issue(&sourced, &id, expires, &note)
                .await?;
        }
        use tern_common::metrics::{Metric, add};
        add(Metric::MessagesBounced, failed.len() as u64);
        self.notify_sender(msg, Action::Failed, failed, data).await;
        self.notify_sender(msg, Action::Delayed, delayed, data)
            .await;
        Ok(())
    }

    /// Send one DSN for these recipients, if the sender wants one.
    pub(super) async fn notify_sender(
        &self,
        msg: &QueueMessage,
        action: Action,
        who: Vec<(&QueueRcpt, String, String)>,
        data: &[u8],
    ) {
        // RFC 3461 / RFC 5321 6.1: never a report to the null sender.
        if msg.sender.is_empty() {
            return;
        }
        let rcpts: Vec<RcptStatus> = who
            .into_iter()
            .filter(|(r, _, _)| dsn::wanted(&r.notify, action))
            .map(|(r, status, diagnostic)| RcptStatus {
                rcpt: r.rcpt.clone(),
                orcpt: r.orcpt.clone(),
                status,
                remote_mta: None,
                diagnostic,
            })
            .collect();
        if rcpts.is_empty() {
            return;
        }
        let report = dsn::build(&dsn::Report {
            hostname: &self.config.hostname,
            sender: &msg.sender,
            envid: msg.envid.as_deref(),
            ret: msg.ret.as_deref(),
            arrival: msg.created,
            now: now_secs(),
            action,
            rcpts: &rcpts,
            original: data,
        });
        let n = rcpts.len();
        // RFC 3464 2.3.3: the action the report announces.
        let kind = match action {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
        };
        match local::send_report(&self.store, &self.wake, &msg.sender, report).await {
            Ok(()) => {
                tracing::info!(to = %msg.sender, action = kind, rcpts = n, "queue: delivery status notification sent")
            }
            Err(e) => {
                tracing::warn!(to = %msg.sender, error = %e, "queue: cannot send the delivery status notification")
            }
        }
    }
}
