//! The queue, the audit log and the ACME certificates: server-wide, admin
//! tokens only (the management layer refuses a domain scope with 403).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tern_manage::{AuditEntry, AuditQuery, CertInfo, Page, QueueInfo};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::{ApiError, ErrorResponse};
use super::manager;
use super::params::{PageQuery, Params};
use crate::state::AppState;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Serialize, ToSchema)]
pub struct Retried {
    /// Recipients made due now.
    pub recipients: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RenewRequested {
    /// Sets of names the running server(s) were asked to renew.
    pub certificates: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RenewParams {
    /// Renew even a certificate that is not due.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only events at or after this time (seconds since the epoch).
    #[serde(default)]
    pub since: i64,
    /// Only events of this kind (`login_failure`, `limit`, …).
    pub kind: Option<String>,
    /// At most this many events (1 to 10,000; default 1,000).
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/queue", tag = "queue", params(PageQuery),
    security(("token" = [])),
    responses((status = 200, description = "Done", body = Page<QueueInfo>), (status = 403, description = "Outside the caller's scope", body = ErrorResponse)))]
pub async fn list_queue(
    State(s): State<AppState>,
    c: Caller,
    Params(q): Params<PageQuery>,
) -> Result<Json<Page<QueueInfo>>> {
    Ok(Json(manager(&s).queue_list(&c.scope, &q.request()).await?))
}

#[utoipa::path(get, path = "/queue/{id}", tag = "queue", params(("id" = i64, Path)),
    security(("token" = [])),
    responses((status = 200, description = "Done", body = QueueInfo), (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn get_queued(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<i64>,
) -> Result<Json<QueueInfo>> {
    Ok(Json(manager(&s).queue_get(&c.scope, id).await?))
}

#[utoipa::path(post, path = "/queue/{id}/retry", tag = "queue", params(("id" = i64, Path)),
    security(("token" = [])),
    responses((status = 200, description = "Done", body = Retried), (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse),
        (status = 409, description = "It exists already, or something still needs it", body = ErrorResponse)))]
pub async fn retry_queued(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Retried>> {
    let recipients = manager(&s).queue_retry(&c.scope, Some(id)).await?;
    Ok(Json(Retried { recipients }))
}

#[utoipa::path(post, path = "/queue/retry", tag = "queue", security(("token" = [])),
    responses((status = 200, description = "Done", body = Retried), (status = 403, description = "Outside the caller's scope", body = ErrorResponse)))]
pub async fn retry_all(State(s): State<AppState>, c: Caller) -> Result<Json<Retried>> {
    let recipients = manager(&s).queue_retry(&c.scope, None).await?;
    Ok(Json(Retried { recipients }))
}

#[utoipa::path(delete, path = "/queue/{id}", tag = "queue", params(("id" = i64, Path)),
    security(("token" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn remove_queued(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    manager(&s).queue_remove(&c.scope, id).await?;
    tracing::info!(token = %c.token, id, "api: queued message removed");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditParams),
    security(("token" = [])),
    responses((status = 200, description = "Done", body = Vec<AuditEntry>), (status = 403, description = "Outside the caller's scope", body = ErrorResponse)))]
pub async fn list_audit(
    State(s): State<AppState>,
    c: Caller,
    Params(q): Params<AuditParams>,
) -> Result<Json<Vec<AuditEntry>>> {
    let q = AuditQuery {
        since: q.since,
        kind: q.kind,
        limit: q.limit.unwrap_or(1000),
    };
    Ok(Json(manager(&s).audit_list(&c.scope, &q).await?))
}

#[utoipa::path(get, path = "/certs", tag = "certs", security(("token" = [])),
    responses((status = 200, description = "Done", body = Vec<CertInfo>), (status = 403, description = "Outside the caller's scope", body = ErrorResponse)))]
pub async fn list_certs(State(s): State<AppState>, c: Caller) -> Result<Json<Vec<CertInfo>>> {
    Ok(Json(manager(&s).cert_status(&c.scope).await?))
}

#[utoipa::path(post, path = "/certs/renew", tag = "certs", params(RenewParams),
    security(("token" = [])),
    responses((status = 200, description = "Done", body = RenewRequested), (status = 403, description = "Outside the caller's scope", body = ErrorResponse), (status = 422, description = "No [acme] section", body = ErrorResponse)))]
pub async fn renew_certs(
    State(s): State<AppState>,
    c: Caller,
    Params(q): Params<RenewParams>,
) -> Result<Json<RenewRequested>> {
    let certificates = manager(&s).cert_renew(&c.scope, q.force).await?;
    tracing::info!(token = %c.token, force = q.force, "api: certificate renewal asked");
    Ok(Json(RenewRequested { certificates }))
}
