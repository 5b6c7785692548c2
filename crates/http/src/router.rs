//! What each listener kind serves, and the layers every response passes.
//!
//! Both `http` and `https`: `/health`, `/health/detailed`, `/metrics` (to
//! allowed clients), client autoconfiguration. `http` only: ACME http-01
//! answers (RFC 8555 8.3). `https` only: the MTA-STS
//! policy (RFC 8461 3.3: fetched over HTTPS) and the API (`api::routes`
//! under `/api/v1`). The web admin and self-service pages (`tern_admin`,
//! `/admin` and `/account`) on `https`, and on `http` to loopback peers
//! only. Anything else on plain `http` is redirected to
//! `https` (308, RFC 9110 15.4.9), so no secret ever travels in clear.
//!
//! Every response: `X-Content-Type-Options: nosniff`, `Cache-Control:
//! no-store` and `Referrer-Policy: no-referrer` unless the handler chose
//! otherwise (the admin pages say `same-origin`), no CORS header at all
//! (browsers then refuse cross-origin reads). Every request: a body limit
//! (413, RFC 9110 15.5.14) and a time limit (408, RFC 9110 15.5.9).

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};

use crate::client::{ClientIp, ConnInfo, client_ip, request_host};
use crate::state::AppState;
use crate::{acme, api, autoconfig, health, metrics, mta_sts};

/// The largest Autodiscover request read.
const POX_LIMIT: usize = 16 * 1024;

/// The router of one listener kind (`secure`: `https`).
pub fn router(state: AppState, secure: bool) -> Router {
    let limit = (state.config.http.max_body_kib as usize).saturating_mul(1024);
    let mut r = Router::new()
        .route("/health", get(health::basic))
        .route("/health/detailed", get(health::detailed))
        .route("/metrics", get(metrics::scrape))
        .route(
            "/.well-known/autoconfig/mail/config-v1.1.xml",
            get(autoconfig::thunderbird),
        )
        .route("/mail/config-v1.1.xml", get(autoconfig::thunderbird))
        .route(
            "/autodiscover/autodiscover.xml",
            // A POX request is a few hundred bytes, and nobody has logged
            // in: a small bound whatever `max_body_kib` allows the API.
            post(autoconfig::autodiscover).layer(DefaultBodyLimit::max(limit.min(POX_LIMIT))),
        )
        .route("/apple/mobileconfig", get(autoconfig::mobileconfig));
    if state.config.admin.enabled {
        let admin = tern_admin::router(tern_admin::AdminState::new(
            state.config.clone(),
            state.store.clone(),
            state.security.clone(),
            state.cert.clone(),
        ));
        // The admin pages on plain http only for loopback peers (an SSH
        // tunnel); anyone else is sent to https like every other path.
        let admin = if secure {
            admin
        } else {
            admin.layer(middleware::from_fn_with_state(state.clone(), loopback_only))
        };
        for path in ["/admin", "/admin/{*rest}", "/account", "/account/{*rest}"] {
            r = r.route_service(path, admin.clone());
        }
    }
    r = if secure {
        let dav = tern_dav::router(tern_dav::DavState::new(
            state.config.clone(),
            state.store.clone(),
            state.security.clone(),
        ));
        r.route("/.well-known/mta-sts.txt", get(mta_sts::policy))
            .nest("/api/v1", api::routes())
            // RFC 6764 5: the well-known URIs lead to the DAV root.
            .route("/.well-known/caldav", any(dav_root))
            .route("/.well-known/carddav", any(dav_root))
            .nest_service("/dav", dav)
            .fallback(not_found)
    } else {
        // RFC 8555 8.3: the CA asks on port 80, plain HTTP.
        r.route("/.well-known/acme-challenge/{token}", get(acme::http01))
            .fallback(to_https)
    };
    r.layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Plain `http` serves the admin pages to loopback peers only (the
/// connection's own peer, not a forwarded address): others go to https.
async fn loopback_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match req.extensions().get::<ConnInfo>() {
        Some(info) if info.peer.ip().is_loopback() => next.run(req).await,
        _ => to_https(State(state), req).await,
    }
}

/// RFC 6764 5: a temporary redirect to where CalDAV and CardDAV live.
async fn dav_root() -> Response {
    Redirect::temporary(tern_dav::ROOT).into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// Plain `http`: the same path on `https`. The host is `public_url`'s,
/// else the one the client asked for (a name, never an arbitrary string),
/// else the server's hostname; the port is the `https` listener's.
async fn to_https(State(state): State<AppState>, req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let base = match &state.config.http.public_url {
        Some(u) if u.starts_with("https://") => u.clone(),
        _ => {
            let Some(port) = state
                .listener(tern_common::ListenerKind::Https)
                .map(|a| a.port())
            else {
                return not_found().await;
            };
            let host = request_host(&req).unwrap_or_else(|| state.config.hostname.clone());
            if port == 443 {
                format!("https://{host}")
            } else {
                format!("https://{host}:{port}")
            }
        }
    };
    Redirect::permanent(&format!("{base}{path}")).into_response()
}

/// Client address, limits and security headers around every handler.
async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let cfg = &state.config.http;
    let Some(info) = req.extensions().get::<ConnInfo>().copied() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let ip = client_ip(info.peer.ip(), req.headers(), cfg);
    req.extensions_mut().insert(ClientIp(ip));
    req.extensions_mut().insert(tern_dav::ClientIp(ip));
    req.extensions_mut().insert(tern_admin::ClientIp(ip));
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let limit = cfg.max_body_kib.saturating_mul(1024);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let api = path.starts_with("/api/");
    let mut res = if let Some(n) = declared.filter(|n| *n > limit) {
        // RFC 9110 15.5.14: refused for its declared size. A small body
        // is read and dropped first (bounded in size and time), so that the
        // client, still sending it, is not reset by our close before it
        // reads the answer; a large one is refused at once.
        if n <= DRAIN_MAX {
            drain(req.into_body(), n).await;
        }
        closing(StatusCode::PAYLOAD_TOO_LARGE, "request body too large", api)
    } else {
        let budget = Duration::from_secs(cfg.request_timeout_secs);
        match tokio::time::timeout(budget, next.run(req)).await {
            Ok(r) => r,
            Err(_) => closing(StatusCode::REQUEST_TIMEOUT, "request took too long", api),
        }
    };
    secure_headers(&mut res);
    // Probes poll health and metrics every few seconds: those lines are
    // debug, every other request one info line.
    let status = res.status().as_u16();
    let path = truncate(&path, 200);
    if path.starts_with("/health") || path == "/metrics" {
        tracing::debug!(client = %ip, %method, path, status, "http request");
    } else {
        tracing::info!(client = %ip, %method, path, status, "http request");
    }
    res
}

/// Declared bodies up to this size are read and dropped before a 413.
const DRAIN_MAX: u64 = 256 * 1024;

/// Read and drop at most `n` octets of `body`, for at most 5 seconds.
async fn drain(body: axum::body::Body, n: u64) {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut read = 0u64;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while read <= n {
            match body.frame().await {
                Some(Ok(f)) => {
                    read += f.data_ref().map_or(0, |d| d.len() as u64);
                }
                _ => break,
            }
        }
    })
    .await;
}

/// An error after which the connection is closed (the body may be half
/// read): `Connection: close` on HTTP/1.1 (RFC 9112 9.6). Under `/api/`
/// it is the API's JSON error.
fn closing(status: StatusCode, text: &'static str, api: bool) -> Response {
    let mut r = if api {
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "timeout"
        };
        let body = api::ErrorResponse {
            error: api::ErrorBody {
                code: code.into(),
                message: text.into(),
                field: None,
            },
        };
        (status, axum::Json(body)).into_response()
    } else {
        (status, format!("{text}\n")).into_response()
    };
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

fn secure_headers(res: &mut Response) {
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
