//! The outbound queue: each message's bytes once, and per recipient its
//! state (pending → delivered | failed), attempts, next attempt and lease.
//! Workers claim due recipients under a lease; an expired lease (a worker
//! or node that died) makes them due again. On PostgreSQL, claims use
//! `FOR UPDATE SKIP LOCKED` so several nodes share one queue.

use sqlx::{AssertSqlSafe, Row};
use tern_common::time::now_secs;

use crate::db::Backend;
use crate::{Result, Store, StoreError};

pub type QueueId = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RcptState {
    Pending,
    /// Sent by SOURCE: waiting for the receiver to GET and RELEASE it
    /// (docs/source-get.md); `next_attempt` is when it expires.
    Awaiting,
    Delivered,
    Failed,
}

impl RcptState {
    fn as_str(self) -> &'static str {
        match self {
            RcptState::Pending => "pending",
            RcptState::Awaiting => "awaiting",
            RcptState::Delivered => "delivered",
            RcptState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> RcptState {
        match s {
            "delivered" => RcptState::Delivered,
            "awaiting" => RcptState::Awaiting,
            "failed" => RcptState::Failed,
            _ => RcptState::Pending,
        }
    }
}

/// A message entering the queue.
#[derive(Debug, Clone, Default)]
pub struct QueueNew {
    /// Envelope sender; empty for the null sender (bounces).
    pub sender: String,
    pub recipients: Vec<QueueRcptNew>,
    /// RFC 3461 ENVID and RET.
    pub envid: Option<String>,
    pub ret: Option<String>,
    /// RFC 8689: deliver only over verified TLS.
    pub requiretls: bool,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Default)]
pub struct QueueRcptNew {
    pub rcpt: String,
    /// RFC 3461 ORCPT, as given.
    pub orcpt: Option<String>,
    /// RFC 3461 NOTIFY values, comma-separated (`SUCCESS,FAILURE,DELAY` or `NEVER`); empty means default.
    pub notify: String,
}

/// One recipient of a queued message, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRcpt {
    pub id: i64,
    pub message_id: QueueId,
    pub rcpt: String,
    pub domain: String,
    pub orcpt: Option<String>,
    pub notify: String,
    pub state: RcptState,
    pub attempts: u32,
    pub next_attempt: i64,
    pub last_error: String,
    pub delay_notified: bool,
}

/// A queued message without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub id: QueueId,
    pub created: i64,
    pub sender: String,
    pub envid: Option<String>,
    pub ret: Option<String>,
    pub requiretls: bool,
    pub size: u64,
    pub recipients: Vec<QueueRcpt>,
}

const RCPT_COLS: &str = "id, message_id, rcpt, domain, orcpt, notify, state, attempts, next_attempt, last_error, \
                         delay_notified";

fn rcpt_from(r: &sqlx::any::AnyRow) -> Result<QueueRcpt> {
    Ok(QueueRcpt {
        id: r.try_get(0)?,
        message_id: r.try_get(1)?,
        rcpt: r.try_get(2)?,
        domain: r.try_get(3)?,
        orcpt: r.try_get(4)?,
        notify: r.try_get(5)?,
        state: RcptState::parse(&r.try_get::<String, _>(6)?),
        attempts: r.try_get::<i64, _>(7)?.max(0) as u32,
        next_attempt: r.try_get(8)?,
        last_error: r.try_get(9)?,
        delay_notified: r.try_get::<i64, _>(10)? != 0,
    })
}

fn domain_of(rcpt: &str) -> String {
    rcpt.rsplit_once('@')
        .map(|(_, d)| d.to_ascii_lowercase())
        .unwrap_or_default()
}

/// One outbound TLS outcome, for TLS reporting (RFC 8460).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsResult {
    pub at: i64,
    pub domain: String,
    pub mx: String,
    /// "none" (opportunistic), "require-tls", "relay".
    pub policy: String,
    /// "tls", "plaintext", or a failure such as "starttls-not-supported".
    pub outcome: String,
    pub detail: String,
}

impl Store {
    pub async fn tls_result_insert(&self, r: &TlsResult) -> Result<()> {
        sqlx::query(
            "INSERT INTO tls_results (at, domain, mx, policy, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(r.at)
        .bind(&r.domain)
        .bind(&r.mx)
        .bind(&r.policy)
        .bind(&r.outcome)
        .bind(&r.detail)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// TLS outcomes since `since`, oldest first.
    pub async fn tls_results(&self, since: i64) -> Result<Vec<TlsResult>> {
        type Row = (i64, String, String, String, String, String);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT at, domain, mx, policy, outcome, detail FROM tls_results WHERE at >= $1 ORDER BY id",
        )
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, domain, mx, policy, outcome, detail)| TlsResult {
                at,
                domain,
                mx,
                policy,
                outcome,
                detail,
            })
            .collect())
    }

    /// Put a message in the queue; durable when this returns.
    pub async fn queue_insert(&self, m: &QueueNew) -> Result<QueueId> {
        if m.recipients.is_empty() {
            return Err(StoreError::Invalid(
                "a queued message needs at least one recipient".into(),
            ));
        }
        let mut tx = self.write_tx().await?;
        let id = queue_insert_in(&mut tx, m).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Claim up to `limit` due recipients for `lease_secs` on behalf of
    /// `owner`. Recipients whose lease expired count as due.
    pub async fn queue_claim(
        &self,
        owner: &str,
        limit: i64,
        lease_secs: i64,
    ) -> Result<Vec<QueueRcpt>> {
        let t = now_secs();
        let lock = if self.backend() == Backend::Postgres {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE queue_recipients SET lease_until = $1, lease_owner = $2 WHERE id IN ( \
               SELECT id FROM queue_recipients WHERE state IN ('pending', 'awaiting') \
               AND next_attempt <= $3 AND lease_until < $3 ORDER BY next_attempt, id LIMIT $4 {lock}) RETURNING {RCPT_COLS}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(t + lease_secs)
            .bind(owner)
            .bind(t)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let mut out = rows.iter().map(rcpt_from).collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|r| (r.message_id, r.id));
        Ok(out)
    }

    /// Record the outcome of an attempt for one recipient and drop its lease.
    /// `next_attempt` is used when the state stays pending.
    pub async fn queue_update(
        &self,
        rcpt_id: i64,
        state: RcptState,
        next_attempt: i64,
        error: &str,
        delay_notified: bool,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE queue_recipients SET state = $1, attempts = attempts + 1, next_attempt = $2, last_error = $3, \
             lease_until = 0, lease_owner = '', delay_notified = $4, updated = $5 WHERE id = $6",
        )
        .bind(state.as_str())
        .bind(next_attempt)
        .bind(error)
        .bind(delay_notified as i64)
        .bind(now_secs())
        .bind(rcpt_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Give back a claimed recipient untouched (shutdown, paused domain).
    pub async fn queue_release(&self, rcpt_id: i64, next_attempt: i64) -> Result<()> {
        sqlx::query("UPDATE queue_recipients SET lease_until = 0, lease_owner = '', next_attempt = $1 WHERE id = $2")
            .bind(next_attempt)
            .bind(rcpt_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Give back a claimed recipient whose destination is paused (the
    /// circuit breaker), saying why, without counting an attempt.
    pub async fn queue_pause(&self, rcpt_id: i64, until: i64, why: &str) -> Result<()> {
        sqlx::query(
            "UPDATE queue_recipients SET lease_until = 0, lease_owner = '', next_attempt = $1, last_error = $2 WHERE id = $3",
        )
        .bind(until)
        .bind(why)
        .bind(rcpt_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Return to pending every lease `owner` holds: a node that starts
    /// again after a crash gives back what its previous run had claimed.
    pub async fn queue_release_owner(&self, owner: &str) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE queue_recipients SET lease_until = 0, lease_owner = '' WHERE lease_owner = $1 AND state = 'pending'",
        )
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }

    pub async fn queue_message(&self, id: QueueId) -> Result<Option<QueueMessage>> {
        let Some(row) = sqlx::query(
            "SELECT id, created, sender, envid, ret, requiretls, size FROM queue_messages WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RCPT_COLS} FROM queue_recipients WHERE message_id = $1 ORDER BY id"
        )))
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        Ok(Some(QueueMessage {
            id: row.try_get(0)?,
            created: row.try_get(1)?,
            sender: row.try_get(2)?,
            envid: row.try_get(3)?,
            ret: row.try_get(4)?,
            requiretls: row.try_get::<i64, _>(5)? != 0,
            size: row.try_get::<i64, _>(6)?.max(0) as u64,
            recipients: rows.iter().map(rcpt_from).collect::<Result<Vec<_>>>()?,
        }))
    }

    pub async fn queue_data(&self, id: QueueId) -> Result<Vec<u8>> {
        sqlx::query_scalar("SELECT data FROM queue_messages WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("queued message {id}")))
    }

    /// Every message that still has a pending recipient.
    pub async fn queue_list(&self) -> Result<Vec<QueueMessage>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT message_id FROM queue_recipients WHERE state IN ('pending', 'awaiting') \
             ORDER BY message_id",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(m) = self.queue_message(id).await? {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// Make pending recipients due now (one message, or all).
    pub async fn queue_retry_now(&self, id: Option<QueueId>) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE queue_recipients SET next_attempt = $1 WHERE state = 'pending' AND ($2 = 0 OR message_id = $2)",
        )
        .bind(now_secs())
        .bind(id.unwrap_or(0))
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }

    /// Remove a message from the queue, whatever its state.
    pub async fn queue_remove(&self, id: QueueId) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM queue_recipients WHERE message_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let r = sqlx::query("DELETE FROM queue_messages WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("queued message {id}")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Drop messages none of whose recipients is pending any more (nor
    /// awaiting a fetch: a GET reads the message).
    pub async fn queue_purge_done(&self) -> Result<u64> {
        let r = sqlx::query(
            "DELETE FROM queue_messages WHERE id NOT IN \
             (SELECT message_id FROM queue_recipients WHERE state IN ('pending', 'awaiting'))",
        )
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }
}

/// Insert a queued message and its recipients inside `tx` (the caller
/// commits): a DMARC or TLS report enters the queue in the transaction that
/// records it as sent.
pub(crate) async fn queue_insert_in(
    tx: &mut crate::write_lock::WriteTx,
    m: &QueueNew,
) -> Result<QueueId> {
    if m.recipients.is_empty() {
        return Err(StoreError::Invalid(
            "a queued message needs at least one recipient".into(),
        ));
    }
    let t = now_secs();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO queue_messages (created, sender, envid, ret, requiretls, size, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(t)
    .bind(&m.sender)
    .bind(m.envid.as_deref())
    .bind(m.ret.as_deref())
    .bind(m.requiretls as i64)
    .bind(m.data.len() as i64)
    .bind(m.data.as_slice())
    .fetch_one(&mut **tx)
    .await?;
    for r in &m.recipients {
        sqlx::query(
                "INSERT INTO queue_recipients (message_id, rcpt, domain, orcpt, notify, state, next_attempt, updated) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)",
            )
            .bind(id)
            .bind(&r.rcpt)
            .bind(domain_of(&r.rcpt))
            .bind(r.orcpt.as_deref())
            .bind(&r.notify)
            .bind(t)
            .execute(&mut **tx)
            .await?;
    }
    Ok(id)
}
