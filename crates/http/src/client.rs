//! Who the client is: the connection's peer, unless the peer is a trusted
//! proxy (`[http] trusted_proxies`), in which case the rightmost address in
//! `X-Forwarded-For` that is not itself a trusted proxy. Addresses a client
//! wrote to the left of that are never believed: anyone can send the header.
//! And the host a request names, for routing by name (MTA-STS, autoconfig).

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use tern_common::config::HttpConfig;

/// What the connection told the request: the peer, whether it came over
/// TLS, and the client address worked out from the proxies.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub secure: bool,
}

/// The client address of a request (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// At most this many `X-Forwarded-For` hops are walked.
const MAX_HOPS: usize = 16;

pub fn client_ip(peer: IpAddr, headers: &HeaderMap, cfg: &HttpConfig) -> IpAddr {
    if !cfg.is_trusted_proxy(peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev().take(MAX_HOPS) {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            // A hop we cannot read: stop at the last one we could.
            return client;
        };
        client = ip.to_canonical();
        if !cfg.is_trusted_proxy(client) {
            return client;
        }
    }
    client
}

/// The host name a request names (`Host`, or the HTTP/2 `:authority`),
/// without its port, lower case; `None` unless it is a plain DNS name.
pub fn request_host(req: &axum::extract::Request) -> Option<String> {
    let raw = req
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())?;
    let host = match raw.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => raw,
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    ok.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(proxies: &[&str]) -> HttpConfig {
        HttpConfig {
            trusted_proxies: proxies
                .iter()
                .map(|p| tern_common::config::parse_network(p).unwrap())
                .collect(),
            ..HttpConfig::default()
        }
    }

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let c = cfg(&["10.0.0.0/8"]);
        // Not a proxy: its header is its own invention.
        assert_eq!(
            client_ip(ip("192.0.2.1"), &headers(&["203.0.113.9"]), &c),
            ip("192.0.2.1")
        );
        // A proxy: the address it saw.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers(&["203.0.113.9"]), &c),
            ip("203.0.113.9")
        );
        // A spoofed hop to the left of the real one is not believed.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers(&["198.51.100.1, 203.0.113.9"]), &c),
            ip("203.0.113.9")
        );
        // Two proxies in a row, the header split over two lines.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers(&["203.0.113.9", "10.0.0.2"]), &c),
            ip("203.0.113.9")
        );
        // Garbage stops the walk at the last readable hop.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers(&["nonsense"]), &c),
            ip("10.0.0.1")
        );
        // No header: the proxy itself.
        assert_eq!(client_ip(ip("10.0.0.1"), &headers(&[]), &c), ip("10.0.0.1"));
    }
}
