//! Reports other servers send to the domains tern hosts: DMARC aggregate
//! reports (XML, plain or in gzip/zip) and TLS-RPT reports (JSON, plain or
//! gzip), parsed by mail-auth with the uncompressed size capped, reduced
//! to their figures and rows, and kept per domain. The mail itself is
//! delivered like any other before this runs; a report that does not
//! parse, or is about a domain tern does not host, is only logged.

use mail_auth::report::tlsrpt::TlsReport;
use mail_auth::report::{DmarcResult, Report};
use serde_json::json;
use tern_store::{KIND_DMARC, KIND_TLSRPT, ReportIn, Store};

/// Rows kept per report; the figures always count all of them.
pub const MAX_ROWS: usize = 500;

/// What became of a message to a report address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// Kept under this id.
    Kept(i64, ReportIn),
    /// The same report (sender, id, domain) was kept before.
    Duplicate,
    /// A report, but about a domain tern does not host.
    NotOurs(String),
    /// Not a report this server can read: why.
    Unreadable(String),
}

/// The report in `message`, reduced to what is kept. `max` caps the size
/// a compressed report may grow to.
pub fn parse(message: &[u8], max: usize) -> Result<ReportIn, String> {
    match Report::parse_rfc5322(message, max) {
        Ok(r) => Ok(dmarc(&r)),
        Err(dmarc_err) => match TlsReport::parse_rfc5322(message, max) {
            Ok(r) => tlsrpt(&r).ok_or_else(|| "a TLS report about no domain".to_string()),
            Err(tls_err) => Err(format!(
                "not a DMARC report ({dmarc_err:?}) nor a TLS report ({tls_err:?})"
            )),
        },
    }
}

fn dmarc(r: &Report) -> ReportIn {
    let mut messages = 0i64;
    let mut passed = 0i64;
    let mut rows = Vec::new();
    for rec in &r.record {
        let count = i64::from(rec.row.count);
        let pe = &rec.row.policy_evaluated;
        let pass = pe.dkim == DmarcResult::Pass || pe.spf == DmarcResult::Pass;
        messages += count;
        if pass {
            passed += count;
        }
        if rows.len() < MAX_ROWS {
            rows.push(json!({
                "source_ip": rec.row.source_ip.map(|i| i.to_string()),
                "count": count,
                "disposition": pe.disposition.to_string(),
                "dkim": pe.dkim.to_string(),
                "spf": pe.spf.to_string(),
                "header_from": rec.identifiers.header_from,
                "envelope_from": rec.identifiers.envelope_from,
                "dkim_domains": rec.auth_results.dkim.iter()
                    .map(|d| format!("{} {}", d.domain, d.result)).collect::<Vec<_>>(),
                "spf_domains": rec.auth_results.spf.iter()
                    .map(|s| format!("{} {}", s.domain, s.result)).collect::<Vec<_>>(),
            }));
        }
    }
    let m = &r.report_metadata;
    ReportIn {
        id: 0,
        kind: KIND_DMARC.into(),
        domain: r
            .policy_published
            .domain
            .trim_end_matches('.')
            .to_ascii_lowercase(),
        org_name: m.org_name.chars().take(200).collect(),
        report_id: m.report_id.chars().take(200).collect(),
        begin_at: i64::try_from(m.date_range.begin).unwrap_or(0),
        end_at: i64::try_from(m.date_range.end).unwrap_or(0),
        received: 0,
        messages,
        passed,
        failed: messages - passed,
        detail: serde_json::Value::Array(rows).to_string(),
    }
}

fn tlsrpt(r: &TlsReport) -> Option<ReportIn> {
    let domain = r
        .policies
        .iter()
        .map(|p| {
            p.policy
                .policy_domain
                .trim_end_matches('.')
                .to_ascii_lowercase()
        })
        .find(|d| !d.is_empty())?;
    let (mut passed, mut failed) = (0i64, 0i64);
    let mut rows = Vec::new();
    for p in &r.policies {
        passed += i64::from(p.summary.total_success);
        failed += i64::from(p.summary.total_failure);
        if rows.len() < MAX_ROWS {
            let failures: Vec<_> = p
                .failure_details
                .iter()
                .take(MAX_ROWS)
                .map(|f| {
                    json!({
                        "result_type": serde_json::to_value(f.result_type).unwrap_or_default(),
                        "receiving_mx_hostname": f.receiving_mx_hostname,
                        "receiving_ip": f.receiving_ip.map(|i| i.to_string()),
                        "count": f.failed_session_count,
                        "additional_information": f.additional_information,
                    })
                })
                .collect();
            rows.push(json!({
                "policy_type": serde_json::to_value(p.policy.policy_type).unwrap_or_default(),
                "policy_domain": p.policy.policy_domain,
                "success": p.summary.total_success,
                "failure": p.summary.total_failure,
                "failures": failures,
            }));
        }
    }
    Some(ReportIn {
        id: 0,
        kind: KIND_TLSRPT.into(),
        domain,
        org_name: r
            .organization_name
            .clone()
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect(),
        report_id: r.report_id.chars().take(200).collect(),
        begin_at: r.date_range.start_datetime.to_timestamp(),
        end_at: r.date_range.end_datetime.to_timestamp(),
        received: 0,
        messages: passed + failed,
        passed,
        failed,
        detail: serde_json::Value::Array(rows).to_string(),
    })
}

/// At most two reports are read into memory and parsed at once.
static READING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// A turn to read one report: hold it while the message is read into
/// memory and through `ingest`, so the reports in memory at once are
/// bounded.
pub async fn turn() -> Option<tokio::sync::SemaphorePermit<'static>> {
    READING.acquire().await.ok()
}

/// Read the report in `message` (on the blocking pool) and keep it when it
/// is about a domain tern hosts. Call it holding a `turn`.
pub async fn ingest(store: &Store, message: Vec<u8>, max: usize) -> Ingested {
    let parsed = match tokio::task::spawn_blocking(move || parse(&message, max)).await {
        Ok(r) => r,
        Err(e) => Err(format!("the parser failed: {e}")),
    };
    let report = match parsed {
        Ok(r) => r,
        Err(e) => return Ingested::Unreadable(e),
    };
    match store.is_local_domain(&report.domain).await {
        Ok(true) => {}
        Ok(false) => return Ingested::NotOurs(report.domain),
        Err(e) => return Ingested::Unreadable(e.to_string()),
    }
    match store.report_in_insert(&report).await {
        Ok(Some(id)) => Ingested::Kept(id, report),
        Ok(None) => Ingested::Duplicate,
        Err(e) => Ingested::Unreadable(e.to_string()),
    }
}
