//! `/me`: what a user manages themself, signed in with their own address
//! and password — who they are, their password, and their app passwords
//! (one per device, for mail clients).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tern_manage::{AppPasswordCreated, AppPasswordInfo, NewPassword, Scope, UserInfo};
use utoipa::ToSchema;

use super::auth::User;
use super::body::JsonBody;
use super::error::{ApiError, ErrorResponse};
use super::manager;
use crate::state::AppState;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MyPassword {
    /// The new password; it must pass the strength check.
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAppPassword {
    /// The device it is for (`phone`, `laptop`, …).
    pub name: String,
}

#[utoipa::path(get, path = "/me", tag = "me", security(("password" = [])),
    responses((status = 200, description = "Done", body = UserInfo), (status = 401, description = "No valid credential", body = ErrorResponse)))]
pub async fn whoami(State(s): State<AppState>, u: User) -> Result<Json<UserInfo>> {
    Ok(Json(
        manager(&s).user_get(&Scope::Admin, &u.account.name).await?,
    ))
}

#[utoipa::path(put, path = "/me/password", tag = "me", request_body = MyPassword,
    security(("password" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 401, description = "No valid credential", body = ErrorResponse),
        (status = 422, description = "Invalid input (`field` names what)", body = ErrorResponse)))]
pub async fn change_password(
    State(s): State<AppState>,
    u: User,
    JsonBody(p): JsonBody<MyPassword>,
) -> Result<StatusCode> {
    let new = NewPassword {
        password: Some(p.password),
        allow_weak: false,
    };
    manager(&s)
        .user_set_password(&Scope::Admin, &u.account.name, &new)
        .await?;
    tracing::info!(user = %u.account.name, "api: password changed by its user");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/me/app-passwords", tag = "me", security(("password" = [])),
    responses((status = 200, description = "Done", body = Vec<AppPasswordInfo>), (status = 401, description = "No valid credential", body = ErrorResponse)))]
pub async fn list_app_passwords(
    State(s): State<AppState>,
    u: User,
) -> Result<Json<Vec<AppPasswordInfo>>> {
    let all = manager(&s)
        .app_password_list(&Scope::Admin, &u.account.name)
        .await?;
    Ok(Json(all))
}

#[utoipa::path(post, path = "/me/app-passwords", tag = "me", request_body = NewAppPassword,
    security(("password" = [])),
    responses((status = 201, description = "Created", body = AppPasswordCreated), (status = 401, description = "No valid credential", body = ErrorResponse),
        (status = 409, description = "It exists already, or something still needs it", body = ErrorResponse), (status = 422, description = "Invalid input (`field` names what)", body = ErrorResponse)))]
pub async fn add_app_password(
    State(s): State<AppState>,
    u: User,
    JsonBody(n): JsonBody<NewAppPassword>,
) -> Result<(StatusCode, Json<AppPasswordCreated>)> {
    let made = manager(&s)
        .app_password_add(&Scope::Admin, &u.account.name, &n.name)
        .await?;
    tracing::info!(user = %u.account.name, name = %made.app_password.name, "api: app password added");
    Ok((StatusCode::CREATED, Json(made)))
}

#[utoipa::path(delete, path = "/me/app-passwords/{name}", tag = "me",
    params(("name" = String, Path)), security(("password" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 401, description = "No valid credential", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn revoke_app_password(
    State(s): State<AppState>,
    u: User,
    Path(name): Path<String>,
) -> Result<StatusCode> {
    manager(&s)
        .app_password_revoke(&Scope::Admin, &u.account.name, &name)
        .await?;
    tracing::info!(user = %u.account.name, %name, "api: app password revoked");
    Ok(StatusCode::NO_CONTENT)
}
