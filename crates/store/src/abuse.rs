//! The audit log and the greylisting triplets.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tern_common::security::{AuditEvent, AuditSink};
use tern_common::time::now_secs;
use tokio::sync::mpsc;

use crate::{Result, Store};

/// One stored audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub at: i64,
    pub kind: String,
    pub protocol: String,
    pub ip: Option<String>,
    pub account: Option<String>,
    pub detail: String,
}

/// Greylisting timings, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreylistPolicy {
    /// A retry sooner than this after first sight is deferred again.
    pub delay: i64,
    /// A retry later than this after first sight starts over.
    pub retry_window: i64,
    /// How long a passed triplet keeps passing at once.
    pub pass_ttl: i64,
}

/// Which audit records to read, newest first: every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Seconds since the epoch (inclusive); 0 is from the start.
    pub since: i64,
    /// Seconds since the epoch (exclusive).
    pub until: Option<i64>,
    /// Any of these kinds; empty is every kind.
    pub kinds: Vec<String>,
    pub account: Option<String>,
    pub ip: Option<String>,
    pub limit: i64,
}

type AuditRow = (i64, String, String, Option<String>, Option<String>, String);

/// What greylisting says about a triplet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Greylist {
    /// Seen before, retried after the delay, or already passed.
    Pass,
    /// First sight, or retried too early: 451 4.7.1.
    Defer,
}

/// Writes audit events to the store from a bounded queue, so a flood of
/// events can neither block sessions nor grow memory; what does not fit is
/// counted and dropped (it is still in the log).
pub struct StoreAudit {
    tx: mpsc::Sender<AuditEvent>,
    pub dropped: Arc<AtomicU64>,
}

impl StoreAudit {
    pub fn start(store: Store) -> StoreAudit {
        let (tx, mut rx) = mpsc::channel::<AuditEvent>(10_000);
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                if let Err(err) = store.audit_insert(&e).await {
                    tracing::warn!(error = %err, "cannot store audit event");
                }
            }
        });
        StoreAudit {
            tx,
            dropped: Arc::default(),
        }
    }
}

impl AuditSink for StoreAudit {
    fn record(&self, event: AuditEvent) {
        if self.tx.try_send(event).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Store {
    pub async fn audit_insert(&self, e: &AuditEvent) -> Result<()> {
        sqlx::query("INSERT INTO audit (at, kind, protocol, ip, account, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(now_secs())
            .bind(e.kind.name())
            .bind(e.protocol)
            .bind(e.ip.map(|i| i.to_string()))
            .bind(e.account.as_deref())
            .bind(&e.detail)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Audit records since `since` (seconds since the epoch), of one kind
    /// or all, oldest first, at most `limit`.
    pub async fn audit_list(
        &self,
        since: i64,
        kind: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT at, kind, protocol, ip, account, detail FROM audit \
             WHERE at >= $1 AND ($2 = '' OR kind = $2) ORDER BY id LIMIT $3",
        )
        .bind(since)
        .bind(kind.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, kind, protocol, ip, account, detail)| AuditRecord {
                at,
                kind,
                protocol,
                ip,
                account,
                detail,
            })
            .collect())
    }

    /// The records `f` selects, newest first.
    pub async fn audit_search(&self, f: &AuditFilter) -> Result<Vec<AuditRecord>> {
        let mut sql = String::from(
            "SELECT at, kind, protocol, ip, account, detail FROM audit \
             WHERE at >= $1 AND at < $2 AND ($3 = '' OR account = $3) AND ($4 = '' OR ip = $4)",
        );
        if !f.kinds.is_empty() {
            let marks: Vec<String> = (0..f.kinds.len()).map(|i| format!("${}", i + 6)).collect();
            sql.push_str(&format!(" AND kind IN ({})", marks.join(", ")));
        }
        sql.push_str(" ORDER BY id DESC LIMIT $5");
        let mut q = sqlx::query_as::<_, AuditRow>(sqlx::AssertSqlSafe(sql))
            .bind(f.since)
            .bind(f.until.unwrap_or(i64::MAX))
            .bind(f.account.as_deref().unwrap_or(""))
            .bind(f.ip.as_deref().unwrap_or(""))
            .bind(f.limit);
        for k in &f.kinds {
            q = q.bind(k.as_str());
        }
        Ok(q.fetch_all(self.pool())
            .await?
            .into_iter()
            .map(|(at, kind, protocol, ip, account, detail)| AuditRecord {
                at,
                kind,
                protocol,
                ip,
                account,
                detail,
            })
            .collect())
    }

    /// Greylisting decision for (client network, sender, recipient) at
    /// `at`: first sight and early retries defer; a retry after `delay`
    /// within `retry_window` passes and keeps passing for `pass_ttl`.
    pub async fn greylist_check(
        &self,
        network: IpAddr,
        sender: &str,
        recipient: &str,
        at: i64,
        policy: GreylistPolicy,
    ) -> Result<Greylist> {
        let GreylistPolicy {
            delay,
            retry_window,
            pass_ttl,
        } = policy;
        let net = network.to_string();
        let sender = sender.to_lowercase();
        let recipient = recipient.to_lowercase();
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT first_seen, passed_until FROM greylist WHERE network = $1 AND sender = $2 AND recipient = $3",
        )
        .bind(&net)
        .bind(&sender)
        .bind(&recipient)
        .fetch_optional(self.pool())
        .await?;
        let pass = |s: &Store| {
            let (net, sender, recipient) = (net.clone(), sender.clone(), recipient.clone());
            let s = s.clone();
            async move {
                sqlx::query(
                    "UPDATE greylist SET passed_until = $1 WHERE network = $2 AND sender = $3 AND recipient = $4",
                )
                .bind(at + pass_ttl)
                .bind(net)
                .bind(sender)
                .bind(recipient)
                .execute(s.pool())
                .await
            }
        };
        match row {
            Some((_, passed_until)) if passed_until >= at => {
                pass(self).await?;
                Ok(Greylist::Pass)
            }
            Some((first, _)) if at - first >= delay && at - first <= retry_window => {
                pass(self).await?;
                Ok(Greylist::Pass)
            }
            Some((first, _)) if at - first < delay => Ok(Greylist::Defer),
            _ => {
                // New, or its retry window (or pass) has lapsed: start over.
                sqlx::query(
                    "INSERT INTO greylist (network, sender, recipient, first_seen, passed_until) \
                     VALUES ($1, $2, $3, $4, 0) ON CONFLICT (network, sender, recipient) \
                     DO UPDATE SET first_seen = $4, passed_until = 0",
                )
                .bind(&net)
                .bind(&sender)
                .bind(&recipient)
                .bind(at)
                .execute(self.pool())
                .await?;
                Ok(Greylist::Defer)
            }
        }
    }

    /// Forget triplets that neither passed recently nor can still pass.
    pub async fn greylist_cleanup(&self, at: i64, retry_window: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM greylist WHERE passed_until < $1 AND first_seen < $2")
            .bind(at)
            .bind(at - retry_window)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }
}
