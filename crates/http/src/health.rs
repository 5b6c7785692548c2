//! `/health`: 200 while the process serves. `/health/detailed`: each
//! component checked now — a store round trip, free space under
//! `data_dir`, the outbound queue, the bound listeners, the days left on
//! the served certificate, the last ACME attempt — and 503 naming every
//! component that failed.

use std::path::Path;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::state::AppState;

/// A component that does not answer within this is failing.
const CHECK_TIME: Duration = Duration::from_secs(5);
/// Less free space than this under `data_dir` is a failure: deliveries
/// would start failing soon.
const MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;

pub async fn basic() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn detailed(State(state): State<AppState>) -> Response {
    let mut failing = Vec::new();
    let mut check = |name: &'static str, (ok, v): (bool, Value)| {
        if !ok {
            failing.push(name);
        }
        v
    };
    let store = check("store", store(&state).await);
    let disk = check("disk", disk(&state.config.data_dir).await);
    let queue = check("queue", queue(&state).await);
    let certificate = check("certificate", certificate(&state));
    let acme = check("acme", acme(&state).await);
    let listeners: Vec<Value> = state
        .listeners
        .iter()
        .map(|l| json!({ "kind": l.kind.name(), "addr": l.addr.to_string() }))
        .collect();
    let status = if failing.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if failing.is_empty() { "ok" } else { "fail" },
        "failing": failing,
        "store": store,
        "disk": disk,
        "queue": queue,
        "listeners": listeners,
        "certificate": certificate,
        "acme": acme,
    });
    (status, Json(body)).into_response()
}

async fn store(state: &AppState) -> (bool, Value) {
    let t = std::time::Instant::now();
    match tokio::time::timeout(CHECK_TIME, state.store.ping()).await {
        Ok(Ok(())) => (
            true,
            json!({ "status": "ok", "backend": backend(state), "round_trip_ms": t.elapsed().as_millis() as u64 }),
        ),
        Ok(Err(e)) => (
            false,
            json!({ "status": "fail", "backend": backend(state), "error": e.to_string() }),
        ),
        Err(_) => (
            false,
            json!({ "status": "fail", "backend": backend(state), "error": "no answer within 5 s" }),
        ),
    }
}

fn backend(state: &AppState) -> &'static str {
    match state.store.backend() {
        tern_store::Backend::Sqlite => "sqlite",
        tern_store::Backend::Postgres => "postgres",
    }
}

async fn disk(dir: &Path) -> (bool, Value) {
    let d = dir.to_path_buf();
    let stat = tokio::task::spawn_blocking(move || rustix::fs::statvfs(&d)).await;
    match stat {
        Ok(Ok(s)) => {
            let free = s.f_bavail.saturating_mul(s.f_frsize);
            let total = s.f_blocks.saturating_mul(s.f_frsize);
            let ok = free >= MIN_FREE_BYTES;
            (
                ok,
                json!({ "status": if ok { "ok" } else { "fail" }, "path": dir.display().to_string(), "free_bytes": free, "total_bytes": total }),
            )
        }
        Ok(Err(e)) => (
            false,
            json!({ "status": "fail", "path": dir.display().to_string(), "error": e.to_string() }),
        ),
        Err(e) => (false, json!({ "status": "fail", "error": e.to_string() })),
    }
}

async fn queue(state: &AppState) -> (bool, Value) {
    match tokio::time::timeout(CHECK_TIME, state.store.queue_stats()).await {
        Ok(Ok(q)) => {
            let now = tern_common::time::now_secs();
            let age = q.oldest.map(|t| (now - t).max(0));
            (
                true,
                json!({ "status": "ok", "depth": q.depth, "oldest_age_secs": age }),
            )
        }
        Ok(Err(e)) => (false, json!({ "status": "fail", "error": e.to_string() })),
        Err(_) => (
            false,
            json!({ "status": "fail", "error": "no answer within 5 s" }),
        ),
    }
}

/// The certificate served now (after any reload): its leaf's expiry. An
/// expired certificate fails.
fn certificate(state: &AppState) -> (bool, Value) {
    let Some(slot) = &state.cert else {
        return (true, json!({ "status": "ok", "configured": false }));
    };
    let key = slot.current();
    let Some(leaf) = key.cert.first() else {
        return (
            false,
            json!({ "status": "fail", "error": "no certificate" }),
        );
    };
    match x509_parser::parse_x509_certificate(leaf.as_ref()) {
        Ok((_, cert)) => {
            let not_after = cert.validity().not_after.timestamp();
            let days = (not_after - tern_common::time::now_secs()).div_euclid(86_400);
            let ok = days >= 0;
            (
                ok,
                json!({
                    "status": if ok { "ok" } else { "fail" },
                    "subject": cert.subject().to_string(),
                    "not_after": tern_common::time::iso8601(not_after),
                    "days_left": days,
                }),
            )
        }
        Err(e) => (false, json!({ "status": "fail", "error": e.to_string() })),
    }
}

/// With `[acme]`: the last attempt to obtain or renew a certificate (any
/// node's, from the store). A failed one fails this component while the
/// current certificate is still served.
async fn acme(state: &AppState) -> (bool, Value) {
    if state.config.acme.is_none() {
        return (true, json!({ "status": "ok", "configured": false }));
    }
    let rows = match tokio::time::timeout(CHECK_TIME, state.store.acme_cert_list()).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return (false, json!({ "status": "fail", "error": e.to_string() })),
        Err(_) => {
            return (
                false,
                json!({ "status": "fail", "error": "no answer within 5 s" }),
            );
        }
    };
    let Some(last) = rows.iter().max_by_key(|r| r.last_attempt.unwrap_or(0)) else {
        return (true, json!({ "status": "ok", "certificates": 0 }));
    };
    let ok = last.last_error.is_none();
    (
        ok,
        json!({
            "status": if ok { "ok" } else { "fail" },
            "names": last.names,
            "not_after": last.not_after.map(tern_common::time::iso8601),
            "last_error": last.last_error,
            "failures": last.failures,
        }),
    )
}
