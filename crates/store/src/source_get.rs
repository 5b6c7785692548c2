//! SOURCE/GET (docs/source-get.md). The sender's side lives in the queue:
//! recipients sent by SOURCE wait as `awaiting` under the identifier until
//! the receiver RELEASEs it — then they are delivered — or it expires at
//! their `next_attempt`, when the queue bounces them. The receiver's side
//! is `source_in`: each envelope taken by SOURCE, fetched by the fetch
//! worker, marked `stored` once delivered, deleted once released.

use tern_common::time::now_secs;

use crate::{QueueId, Result, Store};

/// How a refused recipient's `last_error` starts: the receiver's reply
/// follows.
pub const REFUSED: &str = "refused after GET: ";

/// An envelope taken by SOURCE, waiting to be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceIn {
    pub id: i64,
    pub source_id: String,
    pub sender: String,
    pub rcpts: Vec<String>,
    pub helo: String,
    /// The client that sent the SOURCE.
    pub ip: String,
    /// Whether that session used TLS (the fetch must too).
    pub tls: bool,
    pub created: i64,
    pub attempts: i64,
    /// `waiting` (to fetch) or `stored` (delivered; RELEASE still to send).
    pub state: String,
    pub last_error: String,
}

type InRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    String,
    String,
);

fn source_in(r: InRow) -> SourceIn {
    SourceIn {
        id: r.0,
        source_id: r.1,
        sender: r.2,
        rcpts: serde_json::from_str(&r.3).unwrap_or_default(),
        helo: r.4,
        ip: r.5,
        tls: r.6 != 0,
        created: r.7,
        attempts: r.8,
        state: r.9,
        last_error: r.10,
    }
}

impl Store {
    /// Sender side: these recipients were sent by SOURCE under `id`; they
    /// wait until `expires`.
    pub async fn source_issue(
        &self,
        rcpt_ids: &[i64],
        id: &str,
        expires: i64,
        note: &str,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for r in rcpt_ids {
            sqlx::query(
                "UPDATE queue_recipients SET state = 'awaiting', source_id = $1, next_attempt = $2, \
                 attempts = attempts + 1, last_error = $3, lease_until = 0, lease_owner = '', \
                 updated = $4 WHERE id = $5",
            )
            .bind(id)
            .bind(expires)
            .bind(note)
            .bind(now_secs())
            .bind(r)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sender side: the queued message `id` names, while it is fetchable
    /// (issued, not released, not expired).
    pub async fn source_message(&self, id: &str) -> Result<Option<QueueId>> {
        let m: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(message_id) FROM queue_recipients \
             WHERE source_id = $1 AND state = 'awaiting' AND next_attempt > $2",
        )
        .bind(id)
        .bind(now_secs())
        .fetch_one(self.pool())
        .await?;
        Ok(m)
    }

    /// Sender side: the receiver released `id`: its recipients are
    /// delivered. How many were; 0 for an unknown, released or expired id.
    pub async fn source_release(&self, id: &str, how: &str) -> Result<u64> {
        let n = sqlx::query(
            "UPDATE queue_recipients SET state = 'delivered', last_error = $1, updated = $2 \
             WHERE source_id = $3 AND state = 'awaiting' AND next_attempt > $2",
        )
        .bind(how)
        .bind(now_secs())
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n)
    }

    /// Sender side: the receiver fetched `id` and refused the message
    /// (`reply`): its recipients are due now, for the queue to bounce them
    /// with that reply. How many; 0 for an unknown, released or expired id.
    pub async fn source_refuse(&self, id: &str, reply: &str) -> Result<u64> {
        let t = now_secs();
        let n = sqlx::query(
            "UPDATE queue_recipients SET next_attempt = $1, last_error = $2, updated = $1 \
             WHERE source_id = $3 AND state = 'awaiting' AND next_attempt > $1",
        )
        .bind(t)
        .bind(format!("{REFUSED}{reply}"))
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n)
    }

    /// Receiver side: keep an envelope taken by SOURCE (durable when this
    /// returns). `false` when the identifier was taken before.
    #[allow(clippy::too_many_arguments)]
    pub async fn source_in_add(
        &self,
        source_id: &str,
        sender: &str,
        rcpts: &[String],
        helo: &str,
        ip: &str,
        tls: bool,
    ) -> Result<bool> {
        let t = now_secs();
        let n = sqlx::query(
            "INSERT INTO source_in (source_id, sender, rcpts, helo, ip, tls, created, next_attempt, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 'waiting') ON CONFLICT (source_id) DO NOTHING",
        )
        .bind(source_id)
        .bind(sender)
        .bind(serde_json::to_string(rcpts).unwrap_or_default())
        .bind(helo)
        .bind(ip)
        .bind(i64::from(tls))
        .bind(t)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Receiver side: claim up to `limit` due envelopes for `lease_secs`.
    pub async fn source_in_claim(&self, limit: i64, lease_secs: i64) -> Result<Vec<SourceIn>> {
        let t = now_secs();
        let lock = if self.backend() == crate::Backend::Postgres {
            "FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE source_in SET lease_until = $1 WHERE id IN ( \
               SELECT id FROM source_in WHERE next_attempt <= $2 AND lease_until < $2 \
               ORDER BY next_attempt, id LIMIT $3 {lock}) \
             RETURNING id, source_id, sender, rcpts, helo, ip, tls, created, attempts, state, last_error"
        );
        let rows: Vec<InRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(t + lease_secs)
            .bind(t)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(source_in).collect())
    }

    /// Receiver side: the message was delivered; RELEASE is still to send.
    pub async fn source_in_stored(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE source_in SET state = 'stored' WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Receiver side: try again at `next_attempt`.
    pub async fn source_in_retry(&self, id: i64, next_attempt: i64, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE source_in SET next_attempt = $1, attempts = attempts + 1, last_error = $2, \
             lease_until = 0 WHERE id = $3",
        )
        .bind(next_attempt)
        .bind(error)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Receiver side: done with an envelope (released, refused, or given up).
    pub async fn source_in_remove(&self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM source_in WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Receiver side: forget the delivery keys of fetches older than
    /// `before` (no GET of theirs can come back).
    pub async fn delivery_keys_prune(&self, before: i64) -> Result<u64> {
        let n = sqlx::query("DELETE FROM delivery_keys WHERE at < $1")
            .bind(before)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n)
    }

    /// Receiver side: every envelope, oldest first (for `tern queue`).
    pub async fn source_in_list(&self) -> Result<Vec<SourceIn>> {
        let rows: Vec<InRow> = sqlx::query_as(
            "SELECT id, source_id, sender, rcpts, helo, ip, tls, created, attempts, state, last_error \
             FROM source_in ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(source_in).collect())
    }
}
