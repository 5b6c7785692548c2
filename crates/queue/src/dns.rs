//! Routing: where a domain's mail goes (RFC 5321 5.1, RFC 7505).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RecordType;
use hickory_resolver::{Resolver, TokioResolver};
use tern_common::config::DnsConfig;

/// Why a route could not be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// Permanent: the domain does not exist (5.1.2), or publishes a null
    /// MX (5.1.10, RFC 7505 4.2). Carries the status and the explanation.
    Permanent(&'static str, String),
    /// Temporary: a DNS failure worth retrying.
    Temporary(String),
}

/// One host to try, with its addresses, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub host: String,
    pub addrs: Vec<IpAddr>,
}

#[derive(Clone)]
pub struct Dns {
    resolver: TokioResolver,
}

/// A resolver that asks the configured servers, or the system's.
pub fn resolver(cfg: &DnsConfig) -> anyhow::Result<TokioResolver> {
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_secs(cfg.timeout_secs);
    opts.attempts = 2;
    opts.ndots = 0;
    if cfg.servers.is_empty() {
        let mut b = Resolver::builder_tokio()?;
        *b.options_mut() = opts;
        return Ok(b.build()?);
    }
    let mut config = ResolverConfig::default();
    for s in &cfg.servers {
        config.add_name_server(name_server(*s));
    }
    let mut b = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
    *b.options_mut() = opts;
    Ok(b.build()?)
}

fn name_server(addr: SocketAddr) -> NameServerConfig {
    let mut udp = ConnectionConfig::udp();
    udp.port = addr.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = addr.port();
    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
}

fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

impl Dns {
    pub fn new(cfg: &DnsConfig) -> anyhow::Result<Dns> {
        Ok(Dns {
            resolver: resolver(cfg)?,
        })
    }

    /// The hosts to try for `domain`: its MX hosts by preference, or the
    /// domain itself when it has no MX (implicit MX, RFC 5321 5.1).
    pub async fn route(&self, domain: &str) -> Result<Vec<Hop>, RouteError> {
        let mut hosts: Vec<(u16, String)> = Vec::new();
        match self.resolver.lookup(fqdn(domain), RecordType::MX).await {
            Ok(lookup) => {
                for r in lookup.answers() {
                    if let hickory_resolver::proto::rr::RData::MX(mx) = &r.data {
                        let host = mx
                            .exchange
                            .to_ascii()
                            .trim_end_matches('.')
                            .to_ascii_lowercase();
                        hosts.push((mx.preference, host));
                    }
                }
            }
            Err(e) if e.is_nx_domain() => {
                return Err(RouteError::Permanent(
                    "5.1.2",
                    format!("domain {domain} does not exist"),
                ));
            }
            Err(e) if e.is_no_records_found() => {}
            Err(e) => {
                return Err(RouteError::Temporary(format!(
                    "MX lookup for {domain} failed: {e}"
                )));
            }
        }
        // RFC 7505: a single MX of "." means the domain accepts no mail.
        if hosts.len() == 1 && hosts[0].1.is_empty() {
            return Err(RouteError::Permanent(
                "5.1.10",
                format!("{domain} accepts no mail (null MX)"),
            ));
        }
        hosts.retain(|(_, h)| !h.is_empty());
        if hosts.is_empty() {
            hosts.push((0, domain.to_ascii_lowercase()));
        }
        hosts.sort_by_key(|(p, _)| *p);
        let mut hops = Vec::new();
        let mut last_err = None;
        for (_, host) in hosts {
            match self.addresses(&host).await {
                Ok(addrs) if !addrs.is_empty() => hops.push(Hop { host, addrs }),
                Ok(_) => {}
                Err(e) => last_err = Some(e),
            }
        }
        if hops.is_empty() {
            return Err(last_err.unwrap_or_else(|| {
                RouteError::Temporary(format!("no address for any MX of {domain}"))
            }));
        }
        Ok(hops)
    }

    /// The TXT records at `name`, each as one string.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, RouteError> {
        match self.resolver.lookup(fqdn(name), RecordType::TXT).await {
            Ok(l) => Ok(l
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    hickory_resolver::proto::rr::RData::TXT(t) => Some(
                        t.txt_data
                            .iter()
                            .map(|d| String::from_utf8_lossy(d).into_owned())
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => Err(RouteError::Temporary(format!(
                "TXT lookup for {name} failed: {e}"
            ))),
        }
    }

    /// Every address of `host`, IPv6 and IPv4.
    pub async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, RouteError> {
        match self.resolver.lookup_ip(fqdn(host)).await {
            Ok(ips) => Ok(ips.iter().collect()),
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => Err(RouteError::Temporary(format!(
                "address lookup for {host} failed: {e}"
            ))),
        }
    }
}
