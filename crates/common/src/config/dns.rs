//! `[dns]`: where DNS questions go, and DNSSEC for DANE (RFC 7672). A
//! trust anchor file is read at start: an empty or broken one would make
//! every answer bogus, so it is a config error.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

/// Where DNS questions go. Empty `servers` means the system's resolver
/// (`/etc/resolv.conf`); tests point this at an in-process server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    pub servers: Vec<std::net::SocketAddr>,
    pub timeout_secs: u64,
    /// Validate DNSSEC for DANE (RFC 7672) on outbound delivery.
    pub dnssec: bool,
    /// DNSKEY records (zone-file syntax) trusted instead of the IANA root
    /// keys; for private or test zones.
    pub trust_anchor: Option<PathBuf>,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            servers: Vec::new(),
            timeout_secs: 5,
            dnssec: true,
            trust_anchor: None,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDns {
    #[serde(default)]
    servers: Vec<std::net::SocketAddr>,
    timeout_secs: Option<Spanned<u64>>,
    dnssec: Option<bool>,
    trust_anchor: Option<Spanned<PathBuf>>,
}

impl DnsConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawDns, base: &Path) -> DnsConfig {
        let d = DnsConfig::default();
        DnsConfig {
            servers: raw.servers.clone(),
            timeout_secs: c.positive("dns.timeout_secs", &raw.timeout_secs, d.timeout_secs),
            dnssec: raw.dnssec.unwrap_or(d.dnssec),
            trust_anchor: raw.trust_anchor.as_ref().map(|f| {
                let p = base.join(f.get_ref());
                if let Err(e) = check_trust_anchor(&p) {
                    c.err_at("dns.trust_anchor", f, e);
                }
                p
            }),
        }
    }
}

/// A trust anchor file must hold DNSKEY records (zone-file syntax) whose
/// keys decode: an empty or broken one would make every answer bogus.
fn check_trust_anchor(p: &Path) -> Result<(), String> {
    use hickory_proto::dnssec::TrustAnchors;
    use hickory_proto::serialize::txt::trust_anchor::Parser;
    let text =
        std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    let bad = |e: &dyn std::fmt::Display| format!("{}: not DNSKEY records: {e}", p.display());
    let entries = Parser::new(text.as_str()).parse().map_err(|e| bad(&e))?;
    if entries.is_empty() {
        return Err(format!("{} holds no DNSKEY record", p.display()));
    }
    text.parse::<TrustAnchors>().map_err(|e| bad(&e))?;
    Ok(())
}
