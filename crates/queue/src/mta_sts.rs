//! MTA-STS (RFC 8461): a domain publishes `_mta-sts` TXT with a policy id
//! and serves its policy over HTTPS at `mta-sts.DOMAIN`; in `enforce` mode,
//! mail goes only to MX hosts the policy lists, over TLS with a certificate
//! valid for that host — never in clear. `testing` mode only reports.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::dns::Dns;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Testing,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub id: String,
    pub mode: Mode,
    pub mx: Vec<String>,
    pub max_age: u64,
}

/// The id from an `_mta-sts` TXT record (RFC 8461 3.1).
pub fn parse_txt(txt: &str) -> Option<String> {
    let mut fields = txt.split(';').map(str::trim).filter(|f| !f.is_empty());
    if fields.next()? != "v=STSv1" {
        return None;
    }
    fields
        .find_map(|f| f.strip_prefix("id="))
        .map(str::to_string)
        .filter(|id| {
            !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// The policy file (RFC 8461 3.2).
pub fn parse_policy(text: &str, id: &str) -> Option<Policy> {
    let mut version = false;
    let mut mode = None;
    let mut mx = Vec::new();
    let mut max_age = None;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "version" => version = v == "STSv1",
            "mode" => {
                mode = match v {
                    "enforce" => Some(Mode::Enforce),
                    "testing" => Some(Mode::Testing),
                    "none" => Some(Mode::None),
                    _ => None,
                }
            }
            "mx" => mx.push(v.to_ascii_lowercase()),
            "max_age" => max_age = v.parse::<u64>().ok().filter(|a| *a <= 31_557_600),
            _ => {}
        }
    }
    let mode = mode?;
    if !version || (mode != Mode::None && mx.is_empty()) {
        return None;
    }
    Some(Policy {
        id: id.to_string(),
        mode,
        mx,
        max_age: max_age?,
    })
}

/// RFC 8461 4.1: `*.example.net` matches exactly one leftmost label.
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(rest) => host
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
        None => host == pattern,
    }
}

/// Fetch the policy over HTTPS, no redirects (RFC 8461 3.3).
async fn fetch(
    dns: &Dns,
    domain: &str,
    port: u16,
    tls: &Arc<rustls::ClientConfig>,
) -> Result<String, String> {
    let host = format!("mta-sts.{domain}");
    let addrs = dns.addresses(&host).await.map_err(|e| format!("{e:?}"))?;
    let ip = addrs
        .first()
        .ok_or_else(|| format!("{host} has no address"))?;
    let work = async {
        let tcp = TcpStream::connect(SocketAddr::new(*ip, port))
            .await
            .map_err(|e| format!("connecting to {host}: {e}"))?;
        let name = ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
        let mut s = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS to {host}: {e}"))?;
        let req = format!(
            "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {host}\r\nUser-Agent: tern\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut body = Vec::new();
        // RFC 8461 3.3: policies are small; 64 KiB is plenty.
        (&mut s)
            .take(64 * 1024)
            .read_to_end(&mut body)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<Vec<u8>, String>(body)
    };
    let raw = tokio::time::timeout(Duration::from_secs(30), work)
        .await
        .map_err(|_| "policy fetch timed out".to_string())??;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        return Err(format!("policy fetch answered {status}"));
    }
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    Ok(if chunked {
        dechunk(body)
    } else {
        body.to_string()
    })
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// Policies by domain, kept for their max_age.
#[derive(Default)]
pub struct Cache {
    map: Mutex<HashMap<String, (Policy, Instant)>>,
}

impl Cache {
    fn cached(&self, domain: &str) -> Option<Policy> {
        let m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        m.get(domain)
            .filter(|(_, until)| *until > Instant::now())
            .map(|(p, _)| p.clone())
    }

    /// The policy in force for `domain`, if any: a new id in DNS means a new
    /// fetch; a failed fetch keeps a cached policy that has not expired.
    pub async fn policy(
        &self,
        dns: &Dns,
        domain: &str,
        port: u16,
        tls: &Arc<rustls::ClientConfig>,
    ) -> Option<Policy> {
        let cached = self.cached(domain);
        let id = match dns.txt(&format!("_mta-sts.{domain}")).await {
            Ok(records) => records.iter().find_map(|t| parse_txt(t)),
            Err(_) => return cached,
        };
        let Some(id) = id else { return cached };
        if let Some(c) = &cached
            && c.id == id
        {
            return cached;
        }
        match fetch(dns, domain, port, tls).await {
            Ok(text) => match parse_policy(&text, &id) {
                Some(p) => {
                    let until = Instant::now() + Duration::from_secs(p.max_age);
                    self.map
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(domain.to_string(), (p.clone(), until));
                    Some(p)
                }
                None => {
                    tracing::warn!(%domain, "MTA-STS policy is malformed");
                    cached
                }
            },
            Err(e) => {
                tracing::warn!(%domain, error = %e, "MTA-STS policy fetch failed");
                cached
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_policies() {
        assert_eq!(
            parse_txt("v=STSv1; id=20240101T000000").as_deref(),
            Some("20240101T000000")
        );
        assert_eq!(parse_txt("v=STSv2; id=1"), None);
        assert_eq!(parse_txt("v=STSv1;"), None);
        let p = parse_policy("version: STSv1\nmode: enforce\nmx: mx1.example.net\nmx: *.example.org\nmax_age: 86400\n", "x")
            .unwrap();
        assert_eq!(p.mode, Mode::Enforce);
        assert_eq!(p.mx.len(), 2);
        assert!(
            parse_policy("version: STSv1\nmode: enforce\nmax_age: 1\n", "x").is_none(),
            "enforce needs mx"
        );
        assert!(
            parse_policy("mode: testing\nmx: a\nmax_age: 1\n", "x").is_none(),
            "needs version"
        );
    }

    #[test]
    fn mx_patterns() {
        assert!(mx_matches("mx.example.net", "MX.example.net."));
        assert!(mx_matches("*.example.net", "mx1.example.net"));
        assert!(!mx_matches("*.example.net", "a.b.example.net"));
        assert!(!mx_matches("*.example.net", "example.net"));
    }

    #[test]
    fn chunked_bodies() {
        assert_eq!(
            dechunk("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
            "hello world"
        );
    }
}
