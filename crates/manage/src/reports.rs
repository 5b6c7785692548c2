//! DMARC and TLS reports: the ones other servers sent to the domains tern
//! hosts (a domain's own scope sees its own), and the ones tern sent
//! (server-wide, admin only). Making and sending them is `tern_reports`'.

use serde::Serialize;
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Error, Result};
use crate::scope::Scope;

/// The most reports one listing returns.
pub const MAX_REPORTS: i64 = 1000;

/// A report another server sent about one of our domains.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReportInfo {
    pub id: i64,
    /// `dmarc` or `tlsrpt`.
    pub kind: String,
    pub domain: String,
    /// Who sent it.
    pub org_name: String,
    pub report_id: String,
    /// The period it covers, seconds since the epoch.
    pub begin: i64,
    pub end: i64,
    pub received: i64,
    /// DMARC: messages; TLS-RPT: sessions.
    pub messages: i64,
    /// DMARC: aligned DKIM or SPF pass; TLS-RPT: successful sessions.
    pub passed: i64,
    pub failed: i64,
    /// The report's rows (sources, or TLS failures); in `show` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub rows: Option<serde_json::Value>,
}

/// A report tern sent (or is sending).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SentReportInfo {
    pub kind: String,
    /// The UTC day covered, first second.
    pub period: i64,
    pub domain: String,
    pub report_id: String,
    pub destinations: String,
    /// `queued`, `posting`, `sent`, `failed` or `skipped`.
    pub state: String,
    pub detail: String,
    pub at: i64,
}

/// Which received reports to list: newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportQuery {
    pub domain: Option<String>,
    pub kind: Option<String>,
    /// Reports with a smaller id than this (the last one seen); 0: newest.
    pub before: i64,
    pub limit: i64,
}

fn info(r: tern_store::ReportIn, rows: bool) -> ReportInfo {
    ReportInfo {
        id: r.id,
        kind: r.kind,
        domain: r.domain,
        org_name: r.org_name,
        report_id: r.report_id,
        begin: r.begin_at,
        end: r.end_at,
        received: r.received,
        messages: r.messages,
        passed: r.passed,
        failed: r.failed,
        rows: rows.then(|| serde_json::from_str(&r.detail).unwrap_or_default()),
    }
}

impl Manager {
    /// Received reports `q` selects that `scope` may see.
    pub async fn reports_received(
        &self,
        scope: &Scope,
        q: &ReportQuery,
    ) -> Result<Vec<ReportInfo>> {
        if !(1..=MAX_REPORTS).contains(&q.limit) {
            return Err(Error::invalid(
                "limit",
                format!("between 1 and {MAX_REPORTS}"),
            ));
        }
        if let Some(k) = &q.kind
            && k != tern_store::KIND_DMARC
            && k != tern_store::KIND_TLSRPT
        {
            return Err(Error::invalid("kind", "dmarc or tlsrpt"));
        }
        let domain = match &q.domain {
            Some(d) => Some(
                tern_common::normalize_domain(d)
                    .map_err(|e| Error::invalid("domain", e.to_string()))?,
            ),
            None => None,
        };
        let domains: Option<Vec<String>> = match (scope, domain) {
            (Scope::Admin, None) => None,
            (_, Some(d)) => {
                scope.check(&d)?;
                Some(vec![d])
            }
            (Scope::Domain(d), None) => Some(vec![d.clone()]),
        };
        let rows = self
            .store
            .reports_in_list(
                domains.as_deref(),
                q.kind.as_deref(),
                q.before.max(0),
                q.limit,
            )
            .await?;
        Ok(rows.into_iter().map(|r| info(r, false)).collect())
    }

    /// One received report with its rows.
    pub async fn report_received(&self, scope: &Scope, id: i64) -> Result<ReportInfo> {
        let missing = || Error::not_found(format!("no report {id}"));
        let r = self.store.report_in_get(id).await?.ok_or_else(missing)?;
        if !scope.covers(&r.domain) {
            return Err(missing());
        }
        Ok(info(r, true))
    }

    /// Reports tern sent for days since `since`, newest first.
    pub async fn reports_sent(&self, scope: &Scope, since: i64) -> Result<Vec<SentReportInfo>> {
        scope.admin()?;
        let rows = self.store.reports_sent(since).await?;
        Ok(rows
            .into_iter()
            .map(|r| SentReportInfo {
                kind: r.kind,
                period: r.period,
                domain: r.domain,
                report_id: r.report_id,
                destinations: r.destinations,
                state: r.state,
                detail: r.detail,
                at: r.at,
            })
            .collect())
    }
}
