//! What a DMARC aggregate report (RFC 7489 7.2) needs, one row per message
//! checked on arrival: the source IP, the RFC5322.From domain, the policy
//! that applied, the SPF and DKIM results with their identifiers and
//! alignment, and what tern did with the message.

use tern_common::time::now_secs;

use crate::{Result, Store};

/// One message's DMARC evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DmarcRecord {
    /// Seconds since the epoch; 0 on insert means "now".
    pub at: i64,
    pub source_ip: String,
    /// The RFC5322.From domain (the DMARC identifier).
    pub header_from: String,
    /// The RFC5321.MailFrom domain (or the HELO name for a null sender).
    pub envelope_from: String,
    /// "none", "quarantine", "reject", or "" when no DMARC record applied.
    pub policy: String,
    /// "pass", "fail", "temperror", "permerror", "none".
    pub dmarc_result: String,
    /// SPF result and the domain it was evaluated for.
    pub spf_result: String,
    pub spf_domain: String,
    pub spf_aligned: bool,
    /// DKIM results, "d=domain result" separated by commas.
    pub dkim_results: String,
    pub dkim_aligned: bool,
    /// "accept", "junk", "reject", "defer".
    pub disposition: String,
    /// Why the published policy was not applied as written ("sampled_out"
    /// for `pct`, "trusted_forwarder"...), or "".
    pub override_reason: String,
}

type Row = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    i64,
    String,
    String,
);

impl Store {
    /// Record one message's DMARC evaluation.
    pub async fn dmarc_record_insert(&self, r: &DmarcRecord) -> Result<()> {
        let at = if r.at == 0 { now_secs() } else { r.at };
        sqlx::query(
            "INSERT INTO dmarc_records (at, source_ip, header_from, envelope_from, policy, \
             dmarc_result, spf_result, spf_domain, spf_aligned, dkim_results, dkim_aligned, \
             disposition, override_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(at)
        .bind(&r.source_ip)
        .bind(&r.header_from)
        .bind(&r.envelope_from)
        .bind(&r.policy)
        .bind(&r.dmarc_result)
        .bind(&r.spf_result)
        .bind(&r.spf_domain)
        .bind(i64::from(r.spf_aligned))
        .bind(&r.dkim_results)
        .bind(i64::from(r.dkim_aligned))
        .bind(&r.disposition)
        .bind(&r.override_reason)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records with `since <= at < until`, of one From domain or all,
    /// oldest first.
    pub async fn dmarc_records_list(
        &self,
        since: i64,
        until: i64,
        header_from: Option<&str>,
    ) -> Result<Vec<DmarcRecord>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT at, source_ip, header_from, envelope_from, policy, dmarc_result, \
             spf_result, spf_domain, spf_aligned, dkim_results, dkim_aligned, disposition, \
             override_reason FROM dmarc_records \
             WHERE at >= $1 AND at < $2 AND ($3 = '' OR header_from = $3) ORDER BY id",
        )
        .bind(since)
        .bind(until)
        .bind(header_from.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| DmarcRecord {
                at: r.0,
                source_ip: r.1,
                header_from: r.2,
                envelope_from: r.3,
                policy: r.4,
                dmarc_result: r.5,
                spf_result: r.6,
                spf_domain: r.7,
                spf_aligned: r.8 != 0,
                dkim_results: r.9,
                dkim_aligned: r.10 != 0,
                disposition: r.11,
                override_reason: r.12,
            })
            .collect())
    }
}
