//! DMARC and TLS reports: what other servers reported about our domains
//! (filtered by domain and kind, each report with its rows), and what
//! tern sent in the last 30 days.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tern_manage::{ReportInfo, ReportQuery, Scope};

use crate::AdminState;
use crate::error::PageError;
use crate::session::Admin;
use crate::view::{Chrome, when};

/// The most reports one page shows.
const PAGE: i64 = 200;

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    domain: String,
    #[serde(default)]
    kind: String,
}

/// One received report, as a row of the list.
pub struct Row {
    id: i64,
    kind: String,
    domain: String,
    org_name: String,
    period: String,
    messages: i64,
    passed: i64,
    failed: i64,
}

fn row(r: &ReportInfo) -> Row {
    Row {
        id: r.id,
        kind: r.kind.clone(),
        domain: r.domain.clone(),
        org_name: r.org_name.clone(),
        period: format!("{} – {}", when(r.begin), when(r.end)),
        messages: r.messages,
        passed: r.passed,
        failed: r.failed,
    }
}

/// One report tern sent.
pub struct SentRow {
    day: String,
    kind: String,
    domain: String,
    state: String,
    destinations: String,
    detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "reports.html")]
struct Page {
    c: Chrome,
    f: Filter,
    received: Vec<Row>,
    sent: Vec<SentRow>,
}

pub async fn list(
    State(state): State<AdminState>,
    Admin(who): Admin,
    Query(f): Query<Filter>,
) -> Result<Response, PageError> {
    let mut c = who.chrome("Reports", "reports");
    let q = ReportQuery {
        domain: Some(f.domain.trim().to_string()).filter(|d| !d.is_empty()),
        kind: Some(f.kind.trim().to_string()).filter(|k| !k.is_empty()),
        before: 0,
        limit: PAGE,
    };
    let mut received = Vec::new();
    match state.manager.reports_received(&Scope::Admin, &q).await {
        Ok(rows) => received = rows.iter().map(row).collect(),
        Err(e) => c = c.error(super::refusal(e)?),
    }
    let since = tern_common::time::now_secs() - 30 * 86_400;
    let sent = state
        .manager
        .reports_sent(&Scope::Admin, since)
        .await?
        .into_iter()
        .map(|r| SentRow {
            day: when(r.period),
            kind: r.kind,
            domain: r.domain,
            state: r.state,
            destinations: r.destinations,
            detail: r.detail,
        })
        .collect();
    Ok(Page {
        c,
        f,
        received,
        sent,
    }
    .into_response())
}

#[derive(Deserialize)]
pub struct Id {
    id: i64,
}

/// One row of a report, as text cells.
pub struct Detail {
    cells: Vec<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "report.html")]
struct View {
    c: Chrome,
    r: Row,
    report_id: String,
    received: String,
    rows: Vec<Detail>,
}

/// A JSON value as one line of text.
fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        // The rows tern keeps nest one level: lists of strings.
        serde_json::Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

pub async fn view(
    State(state): State<AdminState>,
    Admin(who): Admin,
    Query(q): Query<Id>,
) -> Result<Response, PageError> {
    let r = state.manager.report_received(&Scope::Admin, q.id).await?;
    let c = who.chrome(&format!("Report {}", r.id), "reports");
    let rows = match &r.rows {
        Some(serde_json::Value::Array(rows)) => rows
            .iter()
            .filter_map(|row| row.as_object())
            .map(|o| Detail {
                cells: o
                    .iter()
                    .map(|(k, v)| (k.replace('_', " "), text(v)))
                    .collect(),
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(View {
        c,
        report_id: r.report_id.clone(),
        received: when(r.received),
        r: row(&r),
        rows,
    }
    .into_response())
}
