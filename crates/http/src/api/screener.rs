//! `/me/screener` and `/me/vip`: the user's Screener and VIP senders, the
//! second way in beside moving mail in any IMAP client. Each is one
//! `tern_manage` call on the signed-in account.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tern_manage::{Scope, SenderDecision};
use utoipa::ToSchema;

use super::auth::User;
use super::body::JsonBody;
use super::error::{ApiError, ErrorResponse};
use super::manager;
use crate::state::AppState;

type Result<T> = std::result::Result<T, ApiError>;

/// The Screener's state and every decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScreenerState {
    /// Mail from unknown senders waits in the `Screener` mailbox.
    pub enabled: bool,
    pub senders: Vec<SenderDecision>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenerSwitch {
    pub enabled: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenerDecide {
    pub sender: String,
    /// `approve` (later mail to INBOX) or `deny` (to Junk, seen).
    pub decision: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VipEntry {
    /// An address, or `@domain`.
    pub pattern: String,
}

#[utoipa::path(get, path = "/me/screener", tag = "me", security(("password" = [])),
    responses((status = 200, description = "Done", body = ScreenerState), (status = 401, description = "No valid credential", body = ErrorResponse)))]
pub async fn screener_get(State(s): State<AppState>, u: User) -> Result<Json<ScreenerState>> {
    let m = manager(&s);
    let name = &u.account.name;
    Ok(Json(ScreenerState {
        enabled: m.screener_enabled(&Scope::Admin, name).await?,
        senders: m.screener_list(&Scope::Admin, name).await?,
    }))
}

#[utoipa::path(put, path = "/me/screener", tag = "me", request_body = ScreenerSwitch,
    security(("password" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 401, description = "No valid credential", body = ErrorResponse)))]
pub async fn screener_switch(
    State(s): State<AppState>,
    u: User,
    JsonBody(b): JsonBody<ScreenerSwitch>,
) -> Result<StatusCode> {
    manager(&s)
        .screener_set(&Scope::Admin, &u.account.name, b.enabled)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/me/screener", tag = "me", request_body = ScreenerDecide,
    security(("password" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 401, description = "No valid credential", body = ErrorResponse),
        (status = 422, description = "Invalid input (`field` names what)", body = ErrorResponse)))]
pub async fn screener_decide(
    State(s): State<AppState>,
    u: User,
    JsonBody(b): JsonBody<ScreenerDecide>,
) -> Result<StatusCode> {
    let approve = match b.decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => {
            return Err(tern_manage::Error::invalid("decision", "approve or deny").into());
        }
    };
    manager(&s)
        .screener_decide(&Scope::Admin, &u.account.name, &b.sender, approve, "api")
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/me/screener/{sender}", tag = "me",
    params(("sender" = String, Path)), security(("password" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 401, description = "No valid credential", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn screener_forget(
    State(s): State<AppState>,
    u: User,
    Path(sender): Path<String>,
) -> Result<StatusCode> {
    manager(&s)
        .screener_forget(&Scope::Admin, &u.account.name, &sender)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/me/vip", tag = "me", security(("password" = [])),
    responses((status = 200, description = "Done", body = Vec<String>), (status = 401, description = "No valid credential", body = ErrorResponse)))]
pub async fn vip_list(State(s): State<AppState>, u: User) -> Result<Json<Vec<String>>> {
    Ok(Json(
        manager(&s).vip_list(&Scope::Admin, &u.account.name).await?,
    ))
}

#[utoipa::path(post, path = "/me/vip", tag = "me", request_body = VipEntry,
    security(("password" = [])),
    responses((status = 201, description = "Created", body = String), (status = 401, description = "No valid credential", body = ErrorResponse),
        (status = 409, description = "It exists already, or something still needs it", body = ErrorResponse), (status = 422, description = "Invalid input (`field` names what)", body = ErrorResponse)))]
pub async fn vip_add(
    State(s): State<AppState>,
    u: User,
    JsonBody(b): JsonBody<VipEntry>,
) -> Result<(StatusCode, Json<String>)> {
    let k = manager(&s)
        .vip_add(&Scope::Admin, &u.account.name, &b.pattern)
        .await?;
    Ok((StatusCode::CREATED, Json(k)))
}

#[utoipa::path(delete, path = "/me/vip/{pattern}", tag = "me",
    params(("pattern" = String, Path)), security(("password" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 401, description = "No valid credential", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn vip_remove(
    State(s): State<AppState>,
    u: User,
    Path(pattern): Path<String>,
) -> Result<StatusCode> {
    manager(&s)
        .vip_remove(&Scope::Admin, &u.account.name, &pattern)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Snooze: whether it is on, the time zone, and what is snoozed.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnoozeState {
    pub enabled: bool,
    /// The account's time zone (IANA name); empty: the server's.
    pub time_zone: String,
    pub snoozed: Vec<tern_manage::SnoozedInfo>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeSwitch {
    pub enabled: bool,
    /// An IANA name (`Europe/Berlin`); empty: the server's. Absent: kept.
    #[serde(default)]
    pub time_zone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeMessage {
    pub mailbox: String,
    pub uid: u32,
    /// When it comes back: seconds since the epoch, in the future.
    pub until: i64,
}

#[utoipa::path(get, path = "/me/snooze", tag = "me", security(("password" = [])),
    responses((status = 200, description = "Done", body = SnoozeState), (status = 401, description = "No valid credential", body = ErrorResponse)))]
pub async fn snooze_get(State(s): State<AppState>, u: User) -> Result<Json<SnoozeState>> {
    let m = manager(&s);
    let name = &u.account.name;
    let (enabled, time_zone) = m.snooze_settings(&Scope::Admin, name).await?;
    Ok(Json(SnoozeState {
        enabled,
        time_zone,
        snoozed: m.snooze_list(&Scope::Admin, name).await?,
    }))
}

#[utoipa::path(put, path = "/me/snooze", tag = "me", request_body = SnoozeSwitch,
    security(("password" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 401, description = "No valid credential", body = ErrorResponse),
        (status = 422, description = "Invalid input (`field` names what)", body = ErrorResponse)))]
pub async fn snooze_switch(
    State(s): State<AppState>,
    u: User,
    JsonBody(b): JsonBody<SnoozeSwitch>,
) -> Result<StatusCode> {
    let m = manager(&s);
    if let Some(tz) = &b.time_zone {
        m.time_zone_set(&Scope::Admin, &u.account.name, tz).await?;
    }
    m.snooze_set(&Scope::Admin, &u.account.name, b.enabled)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/me/snooze", tag = "me", request_body = SnoozeMessage,
    security(("password" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 401, description = "No valid credential", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse),
        (status = 422, description = "Invalid input (`field` names what)", body = ErrorResponse)))]
pub async fn snooze_message(
    State(s): State<AppState>,
    u: User,
    JsonBody(b): JsonBody<SnoozeMessage>,
) -> Result<StatusCode> {
    manager(&s)
        .snooze_message(&Scope::Admin, &u.account.name, &b.mailbox, b.uid, b.until)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
