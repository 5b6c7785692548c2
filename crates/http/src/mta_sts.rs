//! The MTA-STS policy of a hosted domain (RFC 8461 3.2), served at
//! `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` and chosen by the Host
//! the sender asked for. A domain without a published policy, or a host
//! that is not `mta-sts.` of a hosted domain, is 404 (RFC 8461 3.3: a
//! sender then has no policy, which is what the operator chose).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tern_store::MtaSts;

use crate::client::request_host;
use crate::state::AppState;

pub async fn policy(State(state): State<AppState>, req: Request) -> Response {
    let Some(domain) = request_host(&req)
        .as_deref()
        .and_then(|h| h.strip_prefix("mta-sts."))
        .map(str::to_string)
    else {
        return (StatusCode::NOT_FOUND, "no MTA-STS policy for this host\n").into_response();
    };
    match state.store.mta_sts_get(&domain).await {
        Ok(Some(p)) => {
            let mut res = text(&p, &state.config.hostname).into_response();
            // RFC 8461 3.2: the media type is "text/plain".
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            res
        }
        Ok(None) => (StatusCode::NOT_FOUND, "no MTA-STS policy for this host\n").into_response(),
        Err(e) => {
            tracing::warn!(%domain, error = %e, "http MTA-STS policy lookup failed");
            (StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response()
        }
    }
}

/// The policy file (RFC 8461 3.2): `key: value` lines ending in CRLF, one
/// `mx` line per pattern; no patterns stored means the server's hostname.
pub fn text(p: &MtaSts, hostname: &str) -> String {
    let mut s = format!("version: STSv1\r\nmode: {}\r\n", p.mode);
    if p.mx.is_empty() {
        s.push_str(&format!("mx: {hostname}\r\n"));
    }
    for mx in &p.mx {
        s.push_str(&format!("mx: {mx}\r\n"));
    }
    s.push_str(&format!("max_age: {}\r\n", p.max_age));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_file_follows_rfc_8461() {
        let mut p = MtaSts {
            domain: "example.org".into(),
            mode: "enforce".into(),
            max_age: 86400,
            mx: vec![],
            id: "1".into(),
            updated: 0,
        };
        assert_eq!(
            text(&p, "mail.example.org"),
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmax_age: 86400\r\n"
        );
        p.mx = vec!["a.example.org".into(), "*.b.example.org".into()];
        assert!(text(&p, "h").contains("mx: a.example.org\r\nmx: *.b.example.org\r\n"));
        assert!(!text(&p, "h").contains("mx: h\r\n"));
    }
}
