//! TLS-RPT over HTTPS (RFC 8460 5.3.2): POST the gzip-compressed report
//! as `application/tlsrpt+gzip` to the published URL, the server
//! authenticated as for MTA-STS (the system's roots and `[queue]
//! tls_ca_file`), names resolved through the configured DNS.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tern_queue::dns::Dns;
use tokio::net::TcpStream;

/// How long one POST may take, connection included.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// `https://host[:port]/path` split; `None` for anything else.
pub fn split_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("https://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.contains('@') || authority.is_empty() {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || h.ends_with(']') => (h, p.parse().ok()?),
        _ => (authority, 443),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some((host.to_ascii_lowercase(), port, path.to_string()))
}

/// POST `body` to `url`; `Ok` on a 2xx answer.
pub async fn post(
    dns: &Dns,
    tls: &Arc<rustls::ClientConfig>,
    url: &str,
    body: Vec<u8>,
) -> Result<(), String> {
    let (host, port, path) = split_url(url).ok_or_else(|| format!("{url}: not an https URL"))?;
    let work = async {
        let ip = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => ip,
            Err(_) => *dns
                .addresses(&host)
                .await
                .map_err(|e| format!("{e:?}"))?
                .first()
                .ok_or_else(|| format!("{host} has no address"))?,
        };
        let tcp = TcpStream::connect(SocketAddr::new(ip, port))
            .await
            .map_err(|e| format!("connecting to {host}:{port}: {e}"))?;
        let name = ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
        let stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS to {host}: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let authority = if port == 443 {
            host.clone()
        } else {
            format!("{host}:{port}")
        };
        let req = hyper::Request::post(path)
            .header(hyper::header::HOST, authority)
            .header(hyper::header::CONTENT_TYPE, "application/tlsrpt+gzip")
            .header(hyper::header::USER_AGENT, "tern")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        // The answer's body is not needed; read a little so the
        // connection closes cleanly.
        let _ = http_body_util::Limited::new(resp.into_body(), 4096)
            .collect()
            .await;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("{url} answered {status}"))
        }
    };
    tokio::time::timeout(TIME_LIMIT, work)
        .await
        .map_err(|_| format!("{url}: timed out"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        assert_eq!(
            split_url("https://Reports.Example/v1/tlsrpt"),
            Some(("reports.example".into(), 443, "/v1/tlsrpt".into()))
        );
        assert_eq!(
            split_url("https://r.example:8443"),
            Some(("r.example".into(), 8443, "/".into()))
        );
        assert_eq!(split_url("http://r.example/"), None);
        assert_eq!(split_url("https://user@r.example/"), None);
        assert_eq!(split_url("https://r.example:x/"), None);
    }
}
