//! Routing: where a domain's mail goes (RFC 5321 5.1, RFC 7505).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::dnssec::{Proof, TrustAnchors};
use hickory_resolver::proto::rr::{RData, Record, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use tern_common::config::DnsConfig;

use crate::dane::Tlsa;

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
    /// A DNSSEC-validating resolver for DANE; `None` when `[dns] dnssec`
    /// is off.
    secure: Option<TokioResolver>,
    /// Check that the root validates (only with the IANA keys).
    probe_root: bool,
    probe: Arc<tokio::sync::Mutex<Probe>>,
}

/// The last check that the configured resolvers deliver DNSSEC.
#[derive(Default)]
struct Probe {
    /// When it ran and whether the root validated.
    last: Option<(std::time::Instant, bool)>,
}

/// How soon a failed root check is tried again.
const PROBE_RETRY: std::time::Duration = std::time::Duration::from_secs(300);

/// What DNSSEC says about one MX host (RFC 7672 2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaneHost {
    /// No DANE: an insecure name, or no TLSA records.
    None,
    /// Validated TLSA records, none of them usable: TLS is still
    /// mandatory, unauthenticated (RFC 7672 2.2).
    Unusable,
    /// Validated, usable TLSA records: they authenticate the host.
    Tlsa(Vec<Tlsa>),
    /// The host is in a signed zone, but its TLSA records could not be had
    /// (bogus, SERVFAIL): do not deliver to it (RFC 7672 2.2).
    Failed(String),
}

/// A resolver that asks the configured servers, or the system's.
pub fn resolver(cfg: &DnsConfig) -> anyhow::Result<TokioResolver> {
    build(cfg, None)
}

/// `resolver`, asking DNS only: never /etc/hosts, whose entries (the
/// machine's own names for its addresses) would hide what the world sees
/// (`tern doctor`).
pub fn dns_only_resolver(cfg: &DnsConfig) -> anyhow::Result<TokioResolver> {
    let mut b = builder(cfg)?;
    b.options_mut().use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
    Ok(b.build()?)
}

/// A resolver that validates DNSSEC from `anchors` (the IANA root keys
/// when `None`).
fn build(cfg: &DnsConfig, anchors: Option<Arc<TrustAnchors>>) -> anyhow::Result<TokioResolver> {
    let mut b = builder(cfg)?;
    if let Some(a) = anchors {
        b = b.with_trust_anchor(a);
    }
    Ok(b.build()?)
}

fn builder(
    cfg: &DnsConfig,
) -> anyhow::Result<hickory_resolver::ResolverBuilder<TokioRuntimeProvider>> {
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_secs(cfg.timeout_secs);
    opts.attempts = 2;
    opts.ndots = 0;
    let mut b = if cfg.servers.is_empty() {
        Resolver::builder_tokio()?
    } else {
        let mut config = ResolverConfig::default();
        for s in &cfg.servers {
            config.add_name_server(name_server(*s));
        }
        Resolver::builder_with_config(config, TokioRuntimeProvider::default())
    };
    *b.options_mut() = opts;
    Ok(b)
}

/// The DNSSEC trust anchors: `[dns] trust_anchor` or the IANA root keys.
fn trust_anchors(cfg: &DnsConfig) -> anyhow::Result<Arc<TrustAnchors>> {
    Ok(Arc::new(match &cfg.trust_anchor {
        Some(p) => TrustAnchors::from_file(p)
            .map_err(|e| anyhow::anyhow!("dns.trust_anchor: {}: {e}", p.display()))?,
        None => TrustAnchors::default(),
    }))
}

async fn root_validates(secure: &TokioResolver) -> Result<(), String> {
    let l = secure
        .lookup(".", RecordType::DNSKEY)
        .await
        .map_err(|e| e.to_string())?;
    let keys = l
        .answers()
        .iter()
        .filter(|r| r.record_type() == RecordType::DNSKEY);
    if all_secure(keys) {
        Ok(())
    } else {
        Err("the root DNSKEY RRset does not validate".into())
    }
}

fn all_secure<'a>(records: impl Iterator<Item = &'a Record>) -> bool {
    let mut any = false;
    for r in records {
        if r.proof != Proof::Secure {
            return false;
        }
        any = true;
    }
    any
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
        let secure = if cfg.dnssec {
            Some(build(cfg, Some(trust_anchors(cfg)?))?)
        } else {
            None
        };
        Ok(Dns {
            resolver: resolver(cfg)?,
            secure,
            probe_root: cfg.trust_anchor.is_none(),
            probe: Arc::default(),
        })
    }

    /// Whether DNSSEC answers can be had at all: with the IANA keys, the
    /// root zone's own DNSKEY RRset must validate. Resolvers that strip
    /// DNSSEC records make every signed answer look bogus; deferring all
    /// mail to signed domains for that would hold back mail over a
    /// configuration fault, so — as a server without a validating resolver
    /// does — tern then uses no DANE, says so loudly, and checks again
    /// every few minutes. Per-domain bogus answers, once the root
    /// validates, still defer (RFC 7672 2.2).
    async fn dnssec_works(&self, secure: &TokioResolver) -> bool {
        if !self.probe_root {
            return true;
        }
        let mut probe = self.probe.lock().await;
        match probe.last {
            Some((_, true)) => return true,
            Some((at, false)) if at.elapsed() < PROBE_RETRY => return false,
            _ => {}
        }
        let ok = match root_validates(secure).await {
            Ok(()) => {
                if probe.last.is_some() {
                    tracing::info!("DNSSEC validation works again; DANE is on");
                }
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "DNSSEC validation through the configured DNS servers fails, so DANE is off (mail goes out with MTA-STS or opportunistic TLS); use resolvers that pass DNSSEC records, or set [dns] dnssec = false to silence this");
                false
            }
        };
        probe.last = Some((std::time::Instant::now(), ok));
        ok
    }

    /// DANE for each hop of `domain` (RFC 7672 2.2). An `Err` means the
    /// MX answer failed DNSSEC validation and delivery must wait.
    pub async fn dane(&self, domain: &str, hops: &[Hop]) -> Result<Vec<DaneHost>, String> {
        let none = || vec![DaneHost::None; hops.len()];
        let Some(secure) = &self.secure else {
            return Ok(none());
        };
        if !self.dnssec_works(secure).await {
            return Ok(none());
        }
        // RFC 7672 2.2.1: only MX hosts from a secure MX RRset are looked up
        // for TLSA; a bogus MX answer is a lookup failure.
        match secure.lookup(fqdn(domain), RecordType::MX).await {
            Ok(l) => {
                let mx = l
                    .answers()
                    .iter()
                    .filter(|r| r.record_type() == RecordType::MX);
                if !all_secure(mx) {
                    return Ok(none());
                }
            }
            // No MX: the domain is its own host (implicit MX), whose address
            // records decide below.
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => {}
            Err(e) => {
                return Err(format!(
                    "DNSSEC validation of the MX of {domain} failed: {e}"
                ));
            }
        }
        let mut out = Vec::with_capacity(hops.len());
        for hop in hops {
            out.push(self.dane_host(secure, &hop.host).await);
        }
        Ok(out)
    }

    async fn dane_host(&self, secure: &TokioResolver, host: &str) -> DaneHost {
        // RFC 7672 2.2.2: TLSA records count only for a host whose address
        // records are secure.
        match secure.lookup_ip(fqdn(host)).await {
            Ok(ips) => {
                let addrs = ips
                    .as_lookup()
                    .answers()
                    .iter()
                    .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA));
                if !all_secure(addrs) {
                    return DaneHost::None;
                }
            }
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => return DaneHost::None,
            Err(e) => {
                return DaneHost::Failed(format!(
                    "DNSSEC validation of the address of {host} failed: {e}"
                ));
            }
        }
        let name = format!("_25._tcp.{}", fqdn(host));
        match secure.lookup(name.clone(), RecordType::TLSA).await {
            Ok(l) => {
                let records: Vec<&Record> = l
                    .answers()
                    .iter()
                    .filter(|r| r.record_type() == RecordType::TLSA)
                    .collect();
                if !all_secure(records.iter().copied()) {
                    return DaneHost::None;
                }
                let tlsa = records
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::TLSA(t) => Some(Tlsa {
                            usage: u8::from(t.cert_usage),
                            selector: u8::from(t.selector),
                            matching: u8::from(t.matching),
                            data: t.cert_data.clone(),
                        }),
                        _ => None,
                    })
                    .collect();
                match crate::dane::usable(tlsa) {
                    Some(u) => DaneHost::Tlsa(u),
                    None => DaneHost::Unusable,
                }
            }
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => DaneHost::None,
            // RFC 7672 2.2: a failed TLSA lookup for a host in a signed zone
            // rules the host out.
            Err(e) => DaneHost::Failed(format!("TLSA lookup at {name} failed: {e}")),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(servers: &str, dnssec: bool) -> DnsConfig {
        DnsConfig {
            servers: vec![servers.parse().unwrap()],
            timeout_secs: 1,
            dnssec,
            trust_anchor: None,
        }
    }

    #[tokio::test]
    async fn without_working_dnssec_the_root_does_not_validate() {
        // Nothing answers on the discard port: no validated root keys.
        let d = Dns::new(&cfg("127.0.0.1:9", true)).unwrap();
        let secure = d.secure.clone().unwrap();
        assert!(root_validates(&secure).await.is_err());
    }

    #[tokio::test]
    async fn resolvers_without_dnssec_turn_dane_off_not_the_mail() {
        // Nothing answers on the discard port: the root keys cannot be
        // validated, so DANE is off and delivery goes on without it.
        let d = Dns::new(&cfg("127.0.0.1:9", true)).unwrap();
        let hops = vec![Hop {
            host: "mx.example".into(),
            addrs: vec!["127.0.0.1".parse().unwrap()],
        }];
        assert_eq!(d.dane("example.org", &hops).await, Ok(vec![DaneHost::None]));
        // The failure is remembered: no new probe before PROBE_RETRY.
        let last = d.probe.lock().await.last;
        assert!(matches!(last, Some((_, false))));
        assert_eq!(d.dane("example.org", &hops).await, Ok(vec![DaneHost::None]));
        assert_eq!(d.probe.lock().await.last.map(|l| l.0), last.map(|l| l.0));
    }

    #[tokio::test]
    async fn with_dnssec_off_there_is_no_dane() {
        let d = Dns::new(&cfg("127.0.0.1:9", false)).unwrap();
        let hops = vec![Hop {
            host: "mx.example".into(),
            addrs: vec!["127.0.0.1".parse().unwrap()],
        }];
        assert_eq!(d.dane("example.org", &hops).await, Ok(vec![DaneHost::None]));
    }

    #[test]
    fn a_broken_trust_anchor_file_is_an_error_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("anchor.keys");
        std::fs::write(&f, "not a key\n").unwrap();
        let mut c = cfg("127.0.0.1:9", true);
        c.trust_anchor = Some(f);
        let e = Dns::new(&c).err().unwrap().to_string();
        assert!(e.contains("dns.trust_anchor"), "{e}");
    }
}
