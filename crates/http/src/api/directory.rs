//! Domains, users, aliases, send-as, DKIM keys and DNS records: each
//! handler reads its input, calls the one `tern_manage` operation with the
//! token's scope, and answers with its result.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tern_manage::{
    AliasInfo, DkimInfo, DnsRecord, DomainCreated, DomainInfo, MtaStsInfo, MtaStsPolicy,
    NewPassword, NewUser, Page, UserCreated, UserInfo,
};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::body::JsonBody;
use super::error::{ApiError, ErrorResponse};
use super::manager;
use super::params::{DomainPageQuery, PageQuery, Params};
use crate::state::AppState;

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDomain {
    pub name: String,
    /// Make its DKIM keys (RSA-2048 and Ed25519); default true.
    #[serde(default = "yes")]
    pub dkim: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemoveQuery {
    /// Remove the domain with its accounts and their mail.
    #[serde(default)]
    pub force: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Bytes; 0 is unlimited.
    pub quota: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAlias {
    pub address: String,
    pub targets: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendAs {
    pub address: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDkimKey {
    pub domain: String,
    /// Default: `ed<YYYYMM>` or `rsa<YYYYMM>`.
    #[serde(default)]
    pub selector: Option<String>,
    /// `ed25519` (default) or `rsa` (2048 bits).
    #[serde(default)]
    pub algorithm: Option<String>,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Password {
    /// The password made by the server, shown this once; absent when the
    /// request gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[utoipa::path(get, path = "/domains", tag = "domains", params(PageQuery),
    security(("token" = [])),
    responses((status = 200, description = "Done", body = Page<DomainInfo>), (status = 401, description = "No valid credential", body = ErrorResponse)))]
pub async fn list_domains(
    State(s): State<AppState>,
    c: Caller,
    Params(q): Params<PageQuery>,
) -> Result<Json<Page<DomainInfo>>> {
    Ok(Json(manager(&s).domain_list(&c.scope, &q.request()).await?))
}

#[utoipa::path(post, path = "/domains", tag = "domains", request_body = NewDomain,
    security(("token" = [])),
    responses((status = 201, description = "Created", body = DomainCreated), (status = 400, description = "The body is not the JSON this takes (`field` names what)", body = ErrorResponse),
        (status = 403, description = "Outside the caller's scope", body = ErrorResponse), (status = 409, description = "It exists already, or something still needs it", body = ErrorResponse),
        (status = 422, description = "Invalid input (`field` names what)", body = ErrorResponse)))]
pub async fn add_domain(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(d): JsonBody<NewDomain>,
) -> Result<(StatusCode, Json<DomainCreated>)> {
    let made = manager(&s).domain_add(&c.scope, &d.name, d.dkim).await?;
    tracing::info!(token = %c.token, domain = %made.name, "api: domain added");
    Ok((StatusCode::CREATED, Json(made)))
}

#[utoipa::path(get, path = "/domains/{domain}", tag = "domains",
    params(("domain" = String, Path)), security(("token" = [])),
    responses((status = 200, description = "Done", body = DomainInfo), (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn get_domain(
    State(s): State<AppState>,
    c: Caller,
    Path(domain): Path<String>,
) -> Result<Json<DomainInfo>> {
    Ok(Json(manager(&s).domain_get(&c.scope, &domain).await?))
}

#[utoipa::path(delete, path = "/domains/{domain}", tag = "domains",
    params(("domain" = String, Path), RemoveQuery), security(("token" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse), (status = 409, description = "It exists already, or something still needs it", body = ErrorResponse)))]
pub async fn remove_domain(
    State(s): State<AppState>,
    c: Caller,
    Path(domain): Path<String>,
    Params(q): Params<RemoveQuery>,
) -> Result<StatusCode> {
    manager(&s)
        .domain_remove(&c.scope, &domain, q.force)
        .await?;
    tracing::info!(token = %c.token, %domain, "api: domain removed");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/domains/{domain}/dns", tag = "domains",
    params(("domain" = String, Path)), security(("token" = [])),
    responses((status = 200, description = "Done", body = Vec<DnsRecord>), (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn domain_dns(
    State(s): State<AppState>,
    c: Caller,
    Path(domain): Path<String>,
) -> Result<Json<Vec<DnsRecord>>> {
    Ok(Json(manager(&s).dns_records(&c.scope, &domain).await?))
}

#[utoipa::path(get, path = "/users", tag = "users", params(DomainPageQuery),
    security(("token" = [])),
    responses((status = 200, description = "Done", body = Page<UserInfo>), (status = 403, description = "Outside the caller's scope", body = ErrorResponse)))]
pub async fn list_users(
    State(s): State<AppState>,
    c: Caller,
    Params(q): Params<DomainPageQuery>,
) -> Result<Json<Page<UserInfo>>> {
    let page = manager(&s)
        .user_list(&c.scope, q.domain.as_deref(), &q.request())
        .await?;
    Ok(Json(page))
}

#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUser,
    security(("token" = [])),
    responses((status = 201, description = "Created", body = UserCreated), (status = 400, description = "The body is not the JSON this takes (`field` names what)", body = ErrorResponse),
        (status = 403, description = "Outside the caller's scope", body = ErrorResponse), (status = 409, description = "It exists already, or something still needs it", body = ErrorResponse),
        (status = 422, description = "Invalid input (`field` names what)", body = ErrorResponse)))]
pub async fn add_user(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(u): JsonBody<NewUser>,
) -> Result<(StatusCode, Json<UserCreated>)> {
    let made = manager(&s).user_add(&c.scope, &u).await?;
    tracing::info!(token = %c.token, user = %made.user.address, "api: user added");
    Ok((StatusCode::CREATED, Json(made)))
}

#[utoipa::path(get, path = "/users/{address}", tag = "users",
    params(("address" = String, Path)), security(("token" = [])),
    responses((status = 200, description = "Done", body = UserInfo), (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn get_user(
    State(s): State<AppState>,
    c: Caller,
    Path(address): Path<String>,
) -> Result<Json<UserInfo>> {
    Ok(Json(manager(&s).user_get(&c.scope, &address).await?))
}

#[utoipa::path(delete, path = "/users/{address}", tag = "users",
    params(("address" = String, Path)), security(("token" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn remove_user(
    State(s): State<AppState>,
    c: Caller,
    Path(address): Path<String>,
) -> Result<StatusCode> {
    manager(&s).user_remove(&c.scope, &address).await?;
    tracing::info!(token = %c.token, user = %address, "api: user removed");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/users/{address}/password", tag = "users",
    params(("address" = String, Path)), request_body = NewPassword, security(("token" = [])),
    responses((status = 200, description = "Done", body = Password), (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse), (status = 422, description = "Invalid input (`field` names what)", body = ErrorResponse)))]
pub async fn set_password(
    State(s): State<AppState>,
    c: Caller,
    Path(address): Path<String>,
    JsonBody(p): JsonBody<NewPassword>,
) -> Result<Json<Password>> {
    let made = manager(&s)
        .user_set_password(&c.scope, &address, &p)
        .await?;
    tracing::info!(token = %c.token, user = %address, "api: password changed");
    Ok(Json(Password { password: made }))
}

#[utoipa::path(put, path = "/users/{address}/quota", tag = "users",
    params(("address" = String, Path)), request_body = Quota, security(("token" = [])),
    responses((status = 200, description = "Done", body = UserInfo), (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn set_quota(
    State(s): State<AppState>,
    c: Caller,
    Path(address): Path<String>,
    JsonBody(q): JsonBody<Quota>,
) -> Result<Json<UserInfo>> {
    Ok(Json(
        manager(&s)
            .user_set_quota(&c.scope, &address, q.quota)
            .await?,
    ))
}

#[utoipa::path(get, path = "/users/{address}/send-as", tag = "users",
    params(("address" = String, Path), PageQuery), security(("token" = [])),
    responses((status = 200, description = "Done", body = Page<String>), (status = 403, description = "Outside the caller's scope", body = ErrorResponse)))]
pub async fn list_send_as(
    State(s): State<AppState>,
    c: Caller,
    Path(address): Path<String>,
    Params(q): Params<PageQuery>,
) -> Result<Json<Page<String>>> {
    let all = manager(&s).send_as_list(&c.scope, &address).await?;
    Ok(Json(q.request().page(all, |a| a.clone())?))
}

#[utoipa::path(post, path = "/users/{address}/send-as", tag = "users",
    params(("address" = String, Path)), request_body = SendAs, security(("token" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse), (status = 409, description = "It exists already, or something still needs it", body = ErrorResponse)))]
pub async fn add_send_as(
    State(s): State<AppState>,
    c: Caller,
    Path(address): Path<String>,
    JsonBody(a): JsonBody<SendAs>,
) -> Result<StatusCode> {
    manager(&s)
        .send_as_add(&c.scope, &address, &a.address)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/users/{address}/send-as/{send_as}", tag = "users",
    params(("address" = String, Path), ("send_as" = String, Path)), security(("token" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn remove_send_as(
    State(s): State<AppState>,
    c: Caller,
    Path((address, send_as)): Path<(String, String)>,
) -> Result<StatusCode> {
    manager(&s)
        .send_as_remove(&c.scope, &address, &send_as)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/aliases", tag = "aliases", params(DomainPageQuery),
    security(("token" = [])),
    responses((status = 200, description = "Done", body = Page<AliasInfo>), (status = 403, description = "Outside the caller's scope", body = ErrorResponse)))]
pub async fn list_aliases(
    State(s): State<AppState>,
    c: Caller,
    Params(q): Params<DomainPageQuery>,
) -> Result<Json<Page<AliasInfo>>> {
    let page = manager(&s)
        .alias_list(&c.scope, q.domain.as_deref(), &q.request())
        .await?;
    Ok(Json(page))
}

#[utoipa::path(post, path = "/aliases", tag = "aliases", request_body = NewAlias,
    security(("token" = [])),
    responses((status = 201, description = "Created", body = AliasInfo), (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 409, description = "It exists already, or something still needs it", body = ErrorResponse), (status = 422, description = "Invalid input (`field` names what)", body = ErrorResponse)))]
pub async fn add_alias(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(a): JsonBody<NewAlias>,
) -> Result<(StatusCode, Json<AliasInfo>)> {
    let made = manager(&s)
        .alias_add(&c.scope, &a.address, &a.targets)
        .await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[utoipa::path(delete, path = "/aliases/{address}", tag = "aliases",
    params(("address" = String, Path)), security(("token" = [])),
    responses((status = 204, description = "Done, nothing to return"), (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn remove_alias(
    State(s): State<AppState>,
    c: Caller,
    Path(address): Path<String>,
) -> Result<StatusCode> {
    manager(&s).alias_remove(&c.scope, &address).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/dkim", tag = "dkim", params(DomainPageQuery),
    security(("token" = [])),
    responses((status = 200, description = "Done", body = Page<DkimInfo>), (status = 403, description = "Outside the caller's scope", body = ErrorResponse)))]
pub async fn list_dkim(
    State(s): State<AppState>,
    c: Caller,
    Params(q): Params<DomainPageQuery>,
) -> Result<Json<Page<DkimInfo>>> {
    let all = manager(&s).dkim_list(&c.scope, q.domain.as_deref()).await?;
    // Domain and selector, apart by a byte neither can hold.
    let page = q
        .request()
        .page(all, |k| format!("{}\u{0}{}", k.domain, k.selector))?;
    Ok(Json(page))
}

#[utoipa::path(post, path = "/dkim", tag = "dkim", request_body = NewDkimKey,
    security(("token" = [])),
    responses((status = 201, description = "Created", body = DnsRecord), (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 409, description = "It exists already, or something still needs it", body = ErrorResponse), (status = 422, description = "Invalid input (`field` names what)", body = ErrorResponse)))]
pub async fn add_dkim(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(k): JsonBody<NewDkimKey>,
) -> Result<(StatusCode, Json<DnsRecord>)> {
    let algorithm = k.algorithm.as_deref().unwrap_or("ed25519");
    let r = manager(&s)
        .dkim_generate(&c.scope, &k.domain, k.selector.as_deref(), algorithm)
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[utoipa::path(get, path = "/domains/{domain}/mta-sts", tag = "domains",
    params(("domain" = String, Path)), security(("token" = [])),
    responses((status = 200, description = "Done", body = MtaStsInfo),
        (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such domain, or it publishes no policy", body = ErrorResponse)))]
pub async fn get_mta_sts(
    State(s): State<AppState>,
    c: Caller,
    Path(domain): Path<String>,
) -> Result<Json<MtaStsInfo>> {
    match manager(&s).mta_sts_get(&c.scope, &domain).await? {
        Some(p) => Ok(Json(p)),
        None => Err(ApiError::not_found(format!(
            "domain {domain} publishes no MTA-STS policy"
        ))),
    }
}

#[utoipa::path(put, path = "/domains/{domain}/mta-sts", tag = "domains",
    params(("domain" = String, Path)), request_body = MtaStsPolicy, security(("token" = [])),
    responses((status = 200, description = "Done", body = MtaStsInfo),
        (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse),
        (status = 422, description = "Invalid input (`field` names what)", body = ErrorResponse)))]
pub async fn set_mta_sts(
    State(s): State<AppState>,
    c: Caller,
    Path(domain): Path<String>,
    JsonBody(p): JsonBody<MtaStsPolicy>,
) -> Result<Json<MtaStsInfo>> {
    let p = manager(&s).mta_sts_set(&c.scope, &domain, &p).await?;
    tracing::info!(token = %c.token, %domain, mode = %p.mode, "api: MTA-STS policy set");
    Ok(Json(p))
}

#[utoipa::path(delete, path = "/domains/{domain}/mta-sts", tag = "domains",
    params(("domain" = String, Path)), security(("token" = [])),
    responses((status = 204, description = "Done, nothing to return"),
        (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn remove_mta_sts(
    State(s): State<AppState>,
    c: Caller,
    Path(domain): Path<String>,
) -> Result<StatusCode> {
    manager(&s).mta_sts_remove(&c.scope, &domain).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/users/{address}/disable", tag = "users",
    params(("address" = String, Path)), security(("token" = [])),
    responses((status = 200, description = "Done: it logs in nowhere; its mail is still delivered", body = UserInfo),
        (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn disable_user(
    State(s): State<AppState>,
    c: Caller,
    Path(address): Path<String>,
) -> Result<Json<UserInfo>> {
    let u = manager(&s)
        .user_set_disabled(&c.scope, &address, true)
        .await?;
    tracing::info!(token = %c.token, user = %address, "api: user disabled");
    Ok(Json(u))
}

#[utoipa::path(post, path = "/users/{address}/enable", tag = "users",
    params(("address" = String, Path)), security(("token" = [])),
    responses((status = 200, description = "Done", body = UserInfo),
        (status = 403, description = "Outside the caller's scope", body = ErrorResponse),
        (status = 404, description = "No such thing (in the caller's scope)", body = ErrorResponse)))]
pub async fn enable_user(
    State(s): State<AppState>,
    c: Caller,
    Path(address): Path<String>,
) -> Result<Json<UserInfo>> {
    let u = manager(&s)
        .user_set_disabled(&c.scope, &address, false)
        .await?;
    tracing::info!(token = %c.token, user = %address, "api: user enabled");
    Ok(Json(u))
}
