//! DMARC aggregate (RFC 7489 7.2) and TLS-RPT (RFC 8460) reports: what
//! tern sent — one row per kind, day and policy domain, taken in the same
//! transaction that puts the report's mail in the queue, so neither a
//! restart nor a second node sends a day twice — which days are finished,
//! and the reports other servers sent to the domains tern hosts.

use tern_common::time::now_secs;

use crate::queue::queue_insert_in;
use crate::{QueueNew, Result, Store};

/// The two kinds of report, as stored.
pub const KIND_DMARC: &str = "dmarc";
pub const KIND_TLSRPT: &str = "tlsrpt";

/// One report tern sent (or is sending) about one policy domain for one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSent {
    /// `dmarc` or `tlsrpt`.
    pub kind: String,
    /// The first second of the UTC day the report covers.
    pub period: i64,
    pub domain: String,
    pub report_id: String,
    /// Where it went, comma separated (`mailto:`/`https:` URIs).
    pub destinations: String,
    /// `queued` (mail in the queue), `posting` (an https destination still
    /// to be reached), `sent`, `failed`, `skipped` (no destination allowed).
    pub state: String,
    pub detail: String,
    pub attempts: i64,
    pub at: i64,
}

/// A report another server sent us, with its figures.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportIn {
    pub id: i64,
    /// `dmarc` or `tlsrpt`.
    pub kind: String,
    /// The domain the report is about (ours).
    pub domain: String,
    /// Who sent it.
    pub org_name: String,
    pub report_id: String,
    pub begin_at: i64,
    pub end_at: i64,
    pub received: i64,
    /// DMARC: messages; TLS-RPT: sessions.
    pub messages: i64,
    /// DMARC: messages that passed (DKIM or SPF aligned); TLS-RPT: successful sessions.
    pub passed: i64,
    pub failed: i64,
    /// The report's rows as JSON (sources, or failure details).
    pub detail: String,
}

type SentRow = (
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
);

const SENT_COLS: &str =
    "kind, period, domain, report_id, destinations, state, detail, attempts, at";

fn sent(r: SentRow) -> ReportSent {
    ReportSent {
        kind: r.0,
        period: r.1,
        domain: r.2,
        report_id: r.3,
        destinations: r.4,
        state: r.5,
        detail: r.6,
        attempts: r.7,
        at: r.8,
    }
}

type InRow = (
    i64,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    String,
);

const IN_COLS: &str = "id, kind, domain, org_name, report_id, begin_at, end_at, received, \
                       messages, passed, failed, detail";

fn received(r: InRow) -> ReportIn {
    ReportIn {
        id: r.0,
        kind: r.1,
        domain: r.2,
        org_name: r.3,
        report_id: r.4,
        begin_at: r.5,
        end_at: r.6,
        received: r.7,
        messages: r.8,
        passed: r.9,
        failed: r.10,
        detail: r.11,
    }
}

impl Store {
    /// Record `report` and, in the same transaction, queue `mail` (when
    /// there is one) and keep `payload` for https destinations. `false`
    /// when this kind, day and domain was already taken — by this node
    /// earlier or by another — and nothing was queued.
    pub async fn report_send(
        &self,
        report: &ReportSent,
        mail: Option<&QueueNew>,
        payload: Option<&[u8]>,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let taken = sqlx::query(
            "INSERT INTO reports_sent (kind, period, domain, report_id, destinations, state, \
             detail, attempts, at, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9) \
             ON CONFLICT (kind, period, domain) DO NOTHING",
        )
        .bind(&report.kind)
        .bind(report.period)
        .bind(&report.domain)
        .bind(&report.report_id)
        .bind(&report.destinations)
        .bind(&report.state)
        .bind(&report.detail)
        .bind(now_secs())
        .bind(payload)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(m) = mail {
            queue_insert_in(&mut tx, m).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Reports whose https destinations are still to be reached, with what
    /// to post.
    pub async fn reports_posting(&self) -> Result<Vec<(ReportSent, Vec<u8>)>> {
        type PostRow = (
            String,
            i64,
            String,
            String,
            String,
            String,
            String,
            i64,
            i64,
            Vec<u8>,
        );
        let rows: Vec<PostRow> = sqlx::query_as(
            "SELECT kind, period, domain, report_id, destinations, state, detail, attempts, \
                 at, payload FROM reports_sent WHERE state = 'posting' AND payload IS NOT NULL \
                 ORDER BY period, domain",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let payload = r.9;
                (sent((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8)), payload)
            })
            .collect())
    }

    /// The outcome of posting a report: `sent` or `failed` drop the payload;
    /// `posting` counts one more attempt.
    pub async fn report_posted(
        &self,
        kind: &str,
        period: i64,
        domain: &str,
        state: &str,
        detail: &str,
    ) -> Result<()> {
        let keep = state == "posting";
        sqlx::query(
            "UPDATE reports_sent SET state = $1, detail = $2, attempts = attempts + 1, at = $3, \
             payload = CASE WHEN $4 = 1 THEN payload ELSE NULL END \
             WHERE kind = $5 AND period = $6 AND domain = $7",
        )
        .bind(state)
        .bind(detail)
        .bind(now_secs())
        .bind(i64::from(keep))
        .bind(kind)
        .bind(period)
        .bind(domain)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Reports sent for days at or after `since`, newest first.
    pub async fn reports_sent(&self, since: i64) -> Result<Vec<ReportSent>> {
        let rows: Vec<SentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SENT_COLS} FROM reports_sent WHERE period >= $1 \
             ORDER BY period DESC, kind, domain"
        )))
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(sent).collect())
    }

    /// Mark a day finished for a kind (idempotent).
    pub async fn report_day_done(&self, kind: &str, period: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO reports_done (kind, period, at) VALUES ($1, $2, $3) \
             ON CONFLICT (kind, period) DO NOTHING",
        )
        .bind(kind)
        .bind(period)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The last day a kind finished, if any.
    pub async fn report_last_day(&self, kind: &str) -> Result<Option<i64>> {
        let last: Option<i64> =
            sqlx::query_scalar("SELECT MAX(period) FROM reports_done WHERE kind = $1")
                .bind(kind)
                .fetch_one(self.pool())
                .await?;
        Ok(last)
    }

    /// Drop the DMARC evaluations and TLS outcomes recorded before
    /// `before`: what reports are made from is kept only as long as a
    /// report could still need it.
    pub async fn report_data_prune(&self, before: i64) -> Result<u64> {
        let a = sqlx::query("DELETE FROM dmarc_records WHERE at < $1")
            .bind(before)
            .execute(self.pool())
            .await?
            .rows_affected();
        let b = sqlx::query("DELETE FROM tls_results WHERE at < $1")
            .bind(before)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(a + b)
    }

    /// Keep a report another server sent; `None` when the same report
    /// (kind, sender, report id, domain) was kept before.
    pub async fn report_in_insert(&self, r: &ReportIn) -> Result<Option<i64>> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO reports_in (kind, domain, org_name, report_id, begin_at, end_at, \
             received, messages, passed, failed, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (kind, org_name, report_id, domain) DO NOTHING RETURNING id",
        )
        .bind(&r.kind)
        .bind(&r.domain)
        .bind(&r.org_name)
        .bind(&r.report_id)
        .bind(r.begin_at)
        .bind(r.end_at)
        .bind(if r.received == 0 {
            now_secs()
        } else {
            r.received
        })
        .bind(r.messages)
        .bind(r.passed)
        .bind(r.failed)
        .bind(&r.detail)
        .fetch_optional(self.pool())
        .await?;
        Ok(id)
    }

    /// Received reports, newest first: of the `domains` given (all when
    /// `None`), of one kind or both, at most `limit` older than `before_id`
    /// (0: from the newest). Without their rows.
    pub async fn reports_in_list(
        &self,
        domains: Option<&[String]>,
        kind: Option<&str>,
        before_id: i64,
        limit: i64,
    ) -> Result<Vec<ReportIn>> {
        let all = i64::from(domains.is_none());
        let domains_json = serde_json::to_string(domains.unwrap_or(&[])).unwrap_or_default();
        let each = match self.backend() {
            crate::Backend::Sqlite => "SELECT value FROM json_each($1)",
            crate::Backend::Postgres => "SELECT json_array_elements_text($1::json)",
        };
        let sql = format!(
            "SELECT id, kind, domain, org_name, report_id, begin_at, end_at, received, messages, \
             passed, failed, '' FROM reports_in \
             WHERE ($5 = 1 OR domain IN ({each})) AND ($2 = '' OR kind = $2) \
             AND ($3 = 0 OR id < $3) ORDER BY id DESC LIMIT $4"
        );
        let rows: Vec<InRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(domains_json)
            .bind(kind.unwrap_or(""))
            .bind(before_id)
            .bind(limit)
            .bind(all)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(received).collect())
    }

    /// One received report with its rows.
    pub async fn report_in_get(&self, id: i64) -> Result<Option<ReportIn>> {
        let row: Option<InRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {IN_COLS} FROM reports_in WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(received))
    }
}
