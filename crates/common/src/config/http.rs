//! `[http]`: the bounds of every HTTP connection (body size, time-outs), who
//! may read `/metrics`, which proxies' `X-Forwarded-For` is believed, and
//! the public URL when tern sits behind a proxy. A slow client (headers or
//! a body dripped a byte at a time) is cut off by the time-outs: none of
//! them may be 0.

use std::net::IpAddr;

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;
use super::checks::{in_network, parse_network};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// The largest request body accepted, in KiB (413 past it).
    pub max_body_kib: u64,
    /// Seconds a client has to send a request's header section (RFC 9112
    /// 2.2 leaves the bound to the server); a slowloris client is closed.
    pub header_timeout_secs: u64,
    /// Seconds a connection may sit with no bytes moving before it is
    /// closed (keep-alive between requests, a stalled client).
    pub idle_timeout_secs: u64,
    /// Seconds one request may take, reading its body included (408 past
    /// it, the connection closed).
    pub request_timeout_secs: u64,
    /// Proxies whose `X-Forwarded-For` names the client; empty: the
    /// connection's peer is the client.
    pub trusted_proxies: Vec<(IpAddr, u8)>,
    /// The URL clients reach tern's HTTP service at, when a proxy in front
    /// changes it (`https://mail.example.org`); without it, links are made
    /// from the hostname.
    pub public_url: Option<String>,
    /// Networks allowed to read `/metrics`.
    pub metrics_allow: Vec<(IpAddr, u8)>,
    /// A bearer token that also lets a client read `/metrics` (from any
    /// network); `None`: the networks alone decide.
    pub metrics_token: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body_kib: 1024,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            request_timeout_secs: 30,
            trusted_proxies: Vec::new(),
            public_url: None,
            metrics_allow: vec![
                (IpAddr::from([127, 0, 0, 1]), 32),
                (IpAddr::from(std::net::Ipv6Addr::LOCALHOST), 128),
            ],
            metrics_token: None,
        }
    }
}

impl HttpConfig {
    /// Whether `ip` is one of the trusted proxies.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|(net, len)| in_network(ip, *net, *len))
    }

    /// Whether `ip` may read `/metrics` without a token.
    pub fn metrics_allowed(&self, ip: IpAddr) -> bool {
        self.metrics_allow
            .iter()
            .any(|(net, len)| in_network(ip, *net, *len))
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    max_body_kib: Option<Spanned<u64>>,
    header_timeout_secs: Option<Spanned<u64>>,
    idle_timeout_secs: Option<Spanned<u64>>,
    request_timeout_secs: Option<Spanned<u64>>,
    trusted_proxies: Option<Vec<Spanned<String>>>,
    public_url: Option<Spanned<String>>,
    metrics_allow: Option<Vec<Spanned<String>>>,
    metrics_token: Option<Spanned<String>>,
}

impl HttpConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawHttp) -> HttpConfig {
        let d = HttpConfig::default();
        HttpConfig {
            max_body_kib: c.positive("http.max_body_kib", &raw.max_body_kib, d.max_body_kib),
            header_timeout_secs: c.positive(
                "http.header_timeout_secs",
                &raw.header_timeout_secs,
                d.header_timeout_secs,
            ),
            idle_timeout_secs: c.positive(
                "http.idle_timeout_secs",
                &raw.idle_timeout_secs,
                d.idle_timeout_secs,
            ),
            request_timeout_secs: c.positive(
                "http.request_timeout_secs",
                &raw.request_timeout_secs,
                d.request_timeout_secs,
            ),
            trusted_proxies: networks(c, "http.trusted_proxies", &raw.trusted_proxies)
                .unwrap_or(d.trusted_proxies),
            public_url: raw.public_url.as_ref().and_then(|u| public_url(c, u)),
            metrics_allow: networks(c, "http.metrics_allow", &raw.metrics_allow)
                .unwrap_or(d.metrics_allow),
            metrics_token: raw.metrics_token.as_ref().and_then(|t| token(c, t)),
        }
    }
}

fn networks(
    c: &mut Checker<'_>,
    key: &str,
    raw: &Option<Vec<Spanned<String>>>,
) -> Option<Vec<(IpAddr, u8)>> {
    let raw = raw.as_ref()?;
    let mut out = Vec::new();
    for n in raw {
        match parse_network(n.get_ref()) {
            Ok(x) => out.push(x),
            Err(e) => c.err_at(key, n, e),
        }
    }
    Some(out)
}

/// `http://` or `https://`, a host, no query or fragment; kept without a
/// trailing slash.
fn public_url(c: &mut Checker<'_>, u: &Spanned<String>) -> Option<String> {
    let s = u.get_ref().trim();
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| {
        let host = r.split('/').next().unwrap_or("");
        !host.is_empty()
            && !r.contains(['?', '#', ' ', '"', '<', '>'])
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    });
    if !ok {
        c.err_at(
            "http.public_url",
            u,
            "must be an http:// or https:// URL with a host (no query or fragment)",
        );
        return None;
    }
    Some(s.trim_end_matches('/').to_string())
}

/// At least 32 characters of printable ASCII: a bearer token is compared
/// as it is, so it must be hard to guess.
fn token(c: &mut Checker<'_>, t: &Spanned<String>) -> Option<String> {
    let s = t.get_ref();
    if s.len() < 32 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        c.err_at(
            "http.metrics_token",
            t,
            "must be at least 32 printable ASCII characters without spaces",
        );
        return None;
    }
    Some(s.clone())
}
