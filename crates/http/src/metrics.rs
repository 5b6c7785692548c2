//! `/metrics`: every metric `tern_common::metrics` names, in the Prometheus
//! text format, to clients in `[http] metrics_allow` or bearing
//! `[http] metrics_token`. The recorder is installed once per process by
//! `install`; the queue gauges are read from the store at each scrape, so
//! several nodes on one PostgreSQL report the same queue.

use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tern_common::metrics::{COUNTERS, GAUGES, Gauge, HISTOGRAMS};

use crate::client::ClientIp;
use crate::state::AppState;

/// Install the process's Prometheus recorder, with every metric described
/// and the unlabelled counters at 0 (so a scrape shows them before the
/// first event). Call once; a second call fails.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    let mut b = PrometheusBuilder::new();
    for (name, _, buckets) in HISTOGRAMS {
        b = b.set_buckets_for_metric(Matcher::Full((*name).to_string()), buckets)?;
    }
    let handle = b.install_recorder()?;
    for (name, help) in COUNTERS {
        metrics::describe_counter!(*name, *help);
    }
    for (name, help) in GAUGES {
        metrics::describe_gauge!(*name, *help);
    }
    for (name, help, _) in HISTOGRAMS {
        metrics::describe_histogram!(*name, metrics::Unit::Seconds, *help);
    }
    for m in [
        tern_common::metrics::Metric::MessagesReceived,
        tern_common::metrics::Metric::MessagesSent,
        tern_common::metrics::Metric::MessagesBounced,
        tern_common::metrics::Metric::QuotaExceeded,
    ] {
        tern_common::metrics::add(m, 0);
    }
    Gauge::QueueDepth.set(0.0);
    Ok(handle)
}

pub async fn scrape(
    State(state): State<AppState>,
    Extension(ClientIp(ip)): Extension<ClientIp>,
    headers: HeaderMap,
) -> Response {
    let cfg = &state.config.http;
    if !cfg.metrics_allowed(ip) && !bearer_matches(&headers, cfg.metrics_token.as_deref()) {
        return (
            StatusCode::FORBIDDEN,
            "metrics are not available to this client\n",
        )
            .into_response();
    }
    let Some(handle) = &state.metrics else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no metrics recorder\n").into_response();
    };
    if let Ok(Ok(q)) = tokio::time::timeout(Duration::from_secs(5), state.store.queue_stats()).await
    {
        Gauge::QueueDepth.set(q.depth as f64);
        let age = q
            .oldest
            .map(|t| (tern_common::time::now_secs() - t).max(0))
            .unwrap_or(0);
        Gauge::QueueOldestSeconds.set(age as f64);
    }
    handle.run_upkeep();
    let mut res = handle.render().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

/// `Authorization: Bearer TOKEN` (RFC 6750 2.1) equal to the configured
/// token, compared in constant time.
fn bearer_matches(headers: &HeaderMap, token: Option<&str>) -> bool {
    let Some(token) = token else { return false };
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (given.trim().as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_token_is_accepted() {
        let token = "0123456789abcdef0123456789abcdef";
        let mut h = HeaderMap::new();
        assert!(!bearer_matches(&h, Some(token)));
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        assert!(bearer_matches(&h, Some(token)));
        assert!(!bearer_matches(&h, None), "no token configured");
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {token}x").parse().unwrap(),
        );
        assert!(!bearer_matches(&h, Some(token)));
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {token}").parse().unwrap(),
        );
        assert!(!bearer_matches(&h, Some(token)));
    }
}
