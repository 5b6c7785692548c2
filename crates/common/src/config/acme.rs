//! `[acme]`: certificates from an ACME CA (RFC 8555) for every TLS
//! listener. The CA's directory URL, contacts, the challenge (RFC 8737
//! tls-alpn-01 or RFC 8555 8.3 http-01), the names (default: worked out
//! at run time from the hostname and the domains), the root a test CA's
//! own HTTPS is checked against, and when to renew. Every value is checked here:
//! a typo must not become a certificate for the wrong name.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;
use super::listeners::{ListenerConfig, ListenerKind};
use crate::address::normalize_domain;

/// Let's Encrypt's production directory, the default CA.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// How the CA checks that tern controls a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// RFC 8737: a TLS handshake with ALPN `acme-tls/1` on port 443
    /// (the `https` listener).
    TlsAlpn01,
    /// RFC 8555 8.3: `/.well-known/acme-challenge/<token>` on port 80
    /// (the `http` listener).
    Http01,
}

impl Challenge {
    pub fn name(self) -> &'static str {
        match self {
            Challenge::TlsAlpn01 => "tls-alpn-01",
            Challenge::Http01 => "http-01",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeConfig {
    /// The CA's directory URL (RFC 8555 7.1.1), `https://` only.
    pub directory: String,
    /// Contact addresses given to the CA, as `mailto:` URLs.
    pub contact: Vec<String>,
    pub challenge: Challenge,
    /// The names to cover, normalised; empty: the default (the hostname,
    /// `mta-sts.<domain>` for each domain that publishes MTA-STS,
    /// `autoconfig.<domain>` for each domain when `https` serves
    /// autoconfiguration), worked out when ordering.
    pub names: Vec<String>,
    /// The one root certificate (PEM) the CA's own HTTPS is checked
    /// against (a test CA); `None`: the system's roots.
    pub ca_root: Option<PathBuf>,
    /// Renew this many days before expiry; `None`: at two thirds of the
    /// certificate's lifetime.
    pub renew_before_days: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAcme {
    directory: Option<Spanned<String>>,
    #[serde(default)]
    contact: Vec<Spanned<String>>,
    challenge: Option<Spanned<String>>,
    names: Option<Vec<Spanned<String>>>,
    ca_root: Option<Spanned<PathBuf>>,
    renew_before_days: Option<Spanned<u64>>,
}

impl AcmeConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawAcme, base: &Path) -> AcmeConfig {
        let directory = match &raw.directory {
            Some(d) if !d.get_ref().starts_with("https://") => {
                c.err_at(
                    "acme.directory",
                    d,
                    "must be an https:// URL (RFC 8555 6.1)",
                );
                LETS_ENCRYPT.to_string()
            }
            Some(d) => d.get_ref().clone(),
            None => LETS_ENCRYPT.to_string(),
        };
        let mut contact = Vec::new();
        for m in &raw.contact {
            let a = m.get_ref().trim();
            let a = a.strip_prefix("mailto:").unwrap_or(a);
            match crate::address::Address::parse(a) {
                Ok(addr) => contact.push(format!("mailto:{addr}")),
                Err(e) => c.err_at("acme.contact", m, format!("not an address: {e}")),
            }
        }
        let challenge = match raw.challenge.as_ref().map(|s| (s, s.get_ref().as_str())) {
            None | Some((_, "tls-alpn-01")) => Challenge::TlsAlpn01,
            Some((_, "http-01")) => Challenge::Http01,
            Some((s, other)) => {
                c.err_at(
                    "acme.challenge",
                    s,
                    format!("`{other}`: must be tls-alpn-01 or http-01"),
                );
                Challenge::TlsAlpn01
            }
        };
        let mut names = Vec::new();
        for n in raw.names.iter().flatten() {
            if n.get_ref().starts_with("*.") {
                c.err_at(
                    "acme.names",
                    n,
                    "wildcards need dns-01 (RFC 8555 7.1.3), which tern does not do",
                );
                continue;
            }
            match normalize_domain(n.get_ref()) {
                Ok(d) if !names.contains(&d) => names.push(d),
                Ok(_) => {}
                Err(e) => c.err_at("acme.names", n, e.to_string()),
            }
        }
        if raw.names.as_ref().is_some_and(|n| n.is_empty()) {
            c.err(
                "acme.names",
                "an empty list: leave the key out for the default names",
            );
        }
        let ca_root = raw.ca_root.as_ref().map(|p| {
            let path = base.join(p.get_ref());
            if let Err(e) = check_root(&path) {
                c.err_at("acme.ca_root", p, e);
            }
            path
        });
        let renew_before_days = raw.renew_before_days.as_ref().map(|d| {
            if *d.get_ref() == 0 {
                c.err_at("acme.renew_before_days", d, "must be greater than zero");
            }
            *d.get_ref()
        });
        AcmeConfig {
            directory,
            contact,
            challenge,
            names,
            ca_root,
            renew_before_days,
        }
    }
}

impl AcmeConfig {
    /// The challenge needs its listener: tls-alpn-01 is answered on
    /// `https` (the CA connects to port 443, RFC 8737 3), http-01 on
    /// `http` (port 80, RFC 8555 8.3).
    pub(super) fn listener_check(
        c: &mut Checker<'_>,
        acme: &Option<AcmeConfig>,
        listeners: &[ListenerConfig],
    ) {
        let Some(a) = acme else { return };
        let kind = match a.challenge {
            Challenge::TlsAlpn01 => ListenerKind::Https,
            Challenge::Http01 => ListenerKind::Http,
        };
        if !listeners.iter().any(|l| l.kind == kind) {
            c.err(
                "acme.challenge",
                format!("{} needs an {kind} listener", a.challenge.name()),
            );
        }
    }
}

/// The root must be one loadable certificate.
fn check_root(path: &Path) -> Result<(), String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let der = CertificateDer::from_pem_file(path)
        .map_err(|e| format!("{}: no PEM certificate: {e:?}", path.display()))?;
    rustls::RootCertStore::empty()
        .add(der)
        .map_err(|e| format!("{}: not a usable root: {e}", path.display()))
}
