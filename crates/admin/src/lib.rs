//! The web admin (`/admin`) and every user's self-service pages
//! (`/account`): rendered on the server with askama's compile-checked,
//! auto-escaping templates (`templates/`), one small stylesheet, no
//! JavaScript — every page works in any browser, on a 360-px screen.
//!
//! Every page calls `tern_manage` exactly as the CLI and the API do; the
//! rules live there. Here: who is asking (`session.rs`: the cookie, the
//! second factor, CSRF and `Origin` checks), the login steps (`login.rs`),
//! the self-service pages (`account.rs`) and the admin pages (`pages/`).
//!
//! Served on the `https` listener, and on plain `http` only to loopback
//! clients (an SSH tunnel): the router in `tern-http` decides that and
//! hands each request its client address as `ClientIp`.

mod account;
mod error;
mod login;
mod pages;
mod session;
mod view;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tern_common::Config;
use tern_common::security::Security;
use tern_common::tls::CertSlot;
use tern_manage::Manager;
use tern_store::Store;

/// The client's address, as the HTTP layer worked it out (behind trusted
/// proxies, the forwarded one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The largest form read before anyone signed in.
const LOGIN_BODY: usize = 4 * 1024;

/// What every page shares.
pub struct Inner {
    pub manager: Manager,
    pub config: Arc<Config>,
    /// Throttling and audit for logins (`tern_common::gate::Gate`), and
    /// the node's open connections.
    pub security: Security,
    /// The certificate served now, for the dashboard's expiry.
    pub cert: Option<Arc<CertSlot>>,
}

#[derive(Clone)]
pub struct AdminState(Arc<Inner>);

impl AdminState {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        security: Security,
        cert: Option<Arc<CertSlot>>,
    ) -> AdminState {
        AdminState(Arc::new(Inner {
            manager: Manager::new(store, config.clone()),
            config,
            security,
            cert,
        }))
    }
}

impl std::ops::Deref for AdminState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

const STYLE: &str = include_str!("../static/style.css");

async fn style() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLE,
    )
}

/// The pages, at their full paths (`/admin/…`, `/account/…`).
pub fn router(state: AdminState) -> Router {
    let small = DefaultBodyLimit::max(LOGIN_BODY);
    Router::new()
        .route("/admin/static/style.css", get(style))
        .route(
            "/account/login",
            get(login::form).post(login::password).layer(small),
        )
        .route(
            "/account/login/code",
            get(login::code_form).post(login::code).layer(small),
        )
        .route("/account/logout", post(login::logout))
        .route("/account/logout-all", post(login::logout_all))
        .merge(account::routes())
        .merge(pages::routes())
        .layer(axum::middleware::map_response(view::page_headers))
        .with_state(state)
}
