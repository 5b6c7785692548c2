//! DMARC and TLS reports: those other servers sent about our domains (a
//! domain-scoped token sees its own domain's), and those tern sent
//! (admin tokens only).

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use tern_manage::{ReportInfo, ReportQuery, SentReportInfo};
use utoipa::IntoParams;

use super::auth::Caller;
use super::error::{ApiError, ErrorResponse};
use super::manager;
use super::params::Params;
use crate::state::AppState;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Only reports about this domain.
    pub domain: Option<String>,
    /// `dmarc` or `tlsrpt`.
    pub kind: Option<String>,
    /// Reports older than this id (the last one of the previous page).
    pub before: Option<i64>,
    /// At most this many (1 to 1000; default 100).
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SentParams {
    /// Reports for days from this time on (seconds since the epoch;
    /// default: the last 30 days).
    pub since: Option<i64>,
}

#[utoipa::path(get, path = "/reports", tag = "reports", params(ReportParams),
    security(("token" = [])),
    responses((status = 200, description = "Done", body = Vec<ReportInfo>), (status = 400, description = "Bad input", body = ErrorResponse), (status = 403, description = "Outside the caller's scope", body = ErrorResponse)))]
pub async fn list_reports(
    State(s): State<AppState>,
    c: Caller,
    Params(q): Params<ReportParams>,
) -> Result<Json<Vec<ReportInfo>>> {
    let q = ReportQuery {
        domain: q.domain,
        kind: q.kind,
        before: q.before.unwrap_or(0),
        limit: q.limit.unwrap_or(100),
    };
    Ok(Json(manager(&s).reports_received(&c.scope, &q).await?))
}

#[utoipa::path(get, path = "/reports/{id}", tag = "reports", params(("id" = i64, Path)),
    security(("token" = [])),
    responses((status = 200, description = "Done", body = ReportInfo), (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn get_report(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<i64>,
) -> Result<Json<ReportInfo>> {
    Ok(Json(manager(&s).report_received(&c.scope, id).await?))
}

#[utoipa::path(get, path = "/reports/sent", tag = "reports", params(SentParams),
    security(("token" = [])),
    responses((status = 200, description = "Done", body = Vec<SentReportInfo>), (status = 403, description = "Outside the caller's scope", body = ErrorResponse)))]
pub async fn list_sent(
    State(s): State<AppState>,
    c: Caller,
    Params(q): Params<SentParams>,
) -> Result<Json<Vec<SentReportInfo>>> {
    let since = q
        .since
        .unwrap_or_else(|| tern_common::time::now_secs() - 30 * 86_400);
    Ok(Json(manager(&s).reports_sent(&c.scope, since).await?))
}
