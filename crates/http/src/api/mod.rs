//! The JSON management API, `/api/v1`, on the `https` listener only (the
//! router never mounts it on plain `http`), inside the router's security
//! headers, body limit and request time-out.
//!
//! - `auth.rs`: bearer tokens for the management endpoints, the user's own
//!   password for `/me`, both through the login gate;
//! - `directory.rs`, `ops.rs`, `me.rs`: the handlers, each one call into
//!   `tern_manage` (the layer the CLI uses too);
//! - `body.rs`, `params.rs`, `error.rs`: JSON in, JSON errors out.
//!
//! The OpenAPI 3.1 document (`/api/v1/openapi.json`) is generated from the
//! handlers' annotations by utoipa, so it cannot drift from the routes.

mod auth;
mod body;
mod directory;
mod error;
mod me;
mod ops;
mod params;
mod reports;
mod screener;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub use error::{ApiError, ErrorBody, ErrorResponse};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tern management API",
        description = "Domains, users, aliases, DKIM keys, the queue, the audit log, DMARC and TLS \
                       reports and the ACME certificates of a tern mail server. Management endpoints take `Authorization: Bearer <token>` \
                       (`tern token create`); `/me` takes the user's own address and password \
                       (HTTP Basic). Errors are `{\"error\": {\"code\", \"message\", \"field\"}}`."
    ),
    servers((url = "/api/v1")),
    modifiers(&Schemes),
    components(schemas(ErrorResponse, ErrorBody))
)]
struct ApiDoc;

/// The two ways in: a bearer token and the user's password.
struct Schemes;

impl Modify for Schemes {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "password",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(directory::list_domains, directory::add_domain))
        .routes(routes!(directory::get_domain, directory::remove_domain))
        .routes(routes!(directory::domain_dns))
        .routes(routes!(
            directory::get_mta_sts,
            directory::set_mta_sts,
            directory::remove_mta_sts
        ))
        .routes(routes!(directory::list_users, directory::add_user))
        .routes(routes!(directory::get_user, directory::remove_user))
        .routes(routes!(directory::set_password))
        .routes(routes!(directory::set_quota))
        .routes(routes!(directory::disable_user))
        .routes(routes!(directory::enable_user))
        .routes(routes!(directory::list_send_as, directory::add_send_as))
        .routes(routes!(directory::remove_send_as))
        .routes(routes!(directory::list_aliases, directory::add_alias))
        .routes(routes!(directory::remove_alias))
        .routes(routes!(directory::list_dkim, directory::add_dkim))
        .routes(routes!(ops::list_queue))
        .routes(routes!(ops::retry_all))
        .routes(routes!(ops::get_queued, ops::remove_queued))
        .routes(routes!(ops::retry_queued))
        .routes(routes!(ops::list_audit))
        .routes(routes!(reports::list_reports))
        .routes(routes!(reports::list_sent))
        .routes(routes!(reports::get_report))
        .routes(routes!(ops::list_certs))
        .routes(routes!(ops::renew_certs))
        .routes(routes!(me::whoami))
        .routes(routes!(me::change_password))
        .routes(routes!(me::list_app_passwords, me::add_app_password))
        .routes(routes!(me::revoke_app_password))
        .routes(routes!(
            screener::screener_get,
            screener::screener_switch,
            screener::screener_decide
        ))
        .routes(routes!(screener::screener_forget))
        .routes(routes!(screener::vip_list, screener::vip_add))
        .routes(routes!(screener::vip_remove))
        .routes(routes!(
            screener::snooze_get,
            screener::snooze_switch,
            screener::snooze_message
        ))
}

/// The management layer over this server's store and configuration.
fn manager(state: &AppState) -> tern_manage::Manager {
    tern_manage::Manager::new(state.store.clone(), state.config.clone())
}

/// The OpenAPI document of every route below.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().into_openapi()
}

/// The API's routes, nested under `/api/v1` by `router`; an unknown path
/// under it is a JSON 404.
pub fn routes() -> Router<AppState> {
    let (router, doc) = documented().split_for_parts();
    let doc = doc.to_json().unwrap_or_else(|_| "{}".into());
    router
        .route(
            "/openapi.json",
            axum::routing::get(move |State(_): State<AppState>| {
                let doc = doc.clone();
                async move { json_text(doc) }
            }),
        )
        .fallback(|| async { ApiError::not_found("no such API endpoint") })
}

fn json_text(doc: String) -> Response {
    let mut r = doc.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
