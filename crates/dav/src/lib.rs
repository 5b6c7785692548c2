//! CalDAV (RFC 4791) and CardDAV (RFC 6352) on WebDAV (RFC 4918), with
//! sync-collection (RFC 6578), served under `/dav` on the `https` listener
//! (the `http` crate mounts `router`). The account's calendars and address
//! books are in the store (`tern_store` `dav.rs`); what a client PUTs is
//! kept byte for byte, and parsed (calcard) only to check it and to index
//! its UID, component and time span.
//!
//! Modules: where a request points (`path.rs`), XML in and out (`xml.rs`),
//! who is asking (`auth.rs`), properties (`props.rs`), PROPFIND and
//! PROPPATCH (`propfind.rs`), the methods on resources and collections
//! (`methods.rs`), REPORTs (`report.rs`), what iCalendar and vCard data
//! says about itself (`data.rs`), responses (`response.rs`).

// A helper that reads a request returns the response to send when it
// cannot go on; that happens once per request, so it is not boxed.
#![allow(clippy::result_large_err)]

mod auth;
mod data;
mod methods;
mod path;
mod propfind;
mod props;
mod report;
mod response;
mod xml;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, OriginalUri, State};
use axum::http::{HeaderMap, Method};

use axum::response::Response;
use axum::routing::any;
use tern_common::config::Config;
use tern_common::security::Security;
use tern_store::Store;

pub use path::ROOT;

/// What every DAV request shares.
#[derive(Clone)]
pub struct DavState {
    pub config: Arc<Config>,
    pub store: Store,
    pub security: Security,
    /// Accounts whose default collections this process has seen exist.
    ready: Arc<std::sync::Mutex<std::collections::HashSet<i64>>>,
    /// Logins verified in the last minute (`auth.rs`).
    logins: Arc<auth::LoginCache>,
}

impl DavState {
    pub fn new(config: Arc<Config>, store: Store, security: Security) -> DavState {
        DavState {
            config,
            store,
            security,
            ready: Arc::default(),
            logins: Arc::default(),
        }
    }
}

/// Accounts remembered as ready at most (then the set starts again).
const READY_MAX: usize = 100_000;

/// The client's address, as the HTTP layer worked it out (trusted
/// proxies included); the login gate throttles by it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// The DAV service, every method: the HTTP layer nests it at `/dav`
/// (requests are read by their original path).
pub fn router(state: DavState) -> Router {
    Router::new().fallback(any(dispatch)).with_state(state)
}

/// One request: who asks, what it points at, and the method.
pub(crate) struct Request {
    pub method: Method,
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The largest request body read: a resource at the limit and the XML
/// around it (a REPORT or PROPFIND is far smaller).
const MAX_BODY: usize = tern_store::MAX_DAV_RESOURCE + 64 * 1024;

async fn dispatch(
    State(state): State<DavState>,
    ip: Option<Extension<ClientIp>>,
    OriginalUri(uri): OriginalUri,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    if parts.method == Method::OPTIONS {
        return methods::options();
    }
    // Who asks comes first: before login, no body is read at all.
    let account = match auth::login(&state, ip.map(|e| e.0.0), &parts.headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let body: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return response::status(axum::http::StatusCode::PAYLOAD_TOO_LARGE),
    };
    let req = Request {
        method: parts.method,
        uri: uri.path().to_string(),
        headers: parts.headers,
        body,
    };
    let Some(target) = path::Target::parse(&req.uri) else {
        return response::status(axum::http::StatusCode::NOT_FOUND);
    };
    // Only the owner reads or writes a home (sharing is for later): a
    // name that is not the caller's is not there for them.
    if let Some(user) = target.user()
        && !auth::same_account(user, &account)
    {
        return response::status(axum::http::StatusCode::NOT_FOUND);
    }
    let ctx = methods::Ctx {
        state: &state,
        account: &account,
        target,
    };
    // The default collections exist from the first request on; checked
    // once per account and process.
    let known = state.ready.lock().is_ok_and(|r| r.contains(&account.id));
    if !known {
        if let Err(e) = ctx.ensure_defaults().await {
            return response::store_error(e);
        }
        if let Ok(mut r) = state.ready.lock() {
            if r.len() >= READY_MAX {
                r.clear();
            }
            r.insert(account.id);
        }
    }
    match req.method.as_str() {
        "PROPFIND" => propfind::propfind(&ctx, &req).await,
        "PROPPATCH" => propfind::proppatch(&ctx, &req).await,
        "REPORT" => report::report(&ctx, &req).await,
        "GET" => methods::get(&ctx, false).await,
        "HEAD" => methods::get(&ctx, true).await,
        "PUT" => methods::put(&ctx, &req).await,
        "DELETE" => methods::delete(&ctx, &req).await,
        "MKCALENDAR" | "MKCOL" => methods::mkcol(&ctx, &req).await,
        "MOVE" => methods::transfer(&ctx, &req, false).await,
        "COPY" => methods::transfer(&ctx, &req, true).await,
        _ => response::status(axum::http::StatusCode::METHOD_NOT_ALLOWED),
    }
}
