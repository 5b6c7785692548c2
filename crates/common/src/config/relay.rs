//! `[relay]`: a smarthost that takes all outbound mail instead of MX
//! delivery. A password is never sent without TLS.

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayTls {
    /// TLS from the first byte (port 465).
    Implicit,
    /// STARTTLS, required (port 587).
    Starttls,
    /// Plain text: only for a relay on the same host or a trusted network.
    None,
}

/// A smarthost that takes all outbound mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    pub host: String,
    pub port: u16,
    pub tls: RelayTls,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelay {
    host: Spanned<String>,
    port: Option<u16>,
    tls: Option<RelayTls>,
    username: Option<String>,
    password: Option<String>,
}

impl RelayConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, r: &RawRelay) -> RelayConfig {
        if r.host.get_ref().trim().is_empty() {
            c.err_at("relay.host", &r.host, "must not be empty");
        }
        if r.username.is_some() != r.password.is_some() {
            c.err("relay", "username and password go together");
        }
        let tls = r.tls.unwrap_or(RelayTls::Starttls);
        if tls == RelayTls::None && r.username.is_some() {
            c.err(
                "relay.tls",
                "a password is never sent without TLS; use starttls or implicit",
            );
        }
        RelayConfig {
            host: r.host.get_ref().trim().to_string(),
            // RFC 8314 3.3 (465, implicit TLS), RFC 6409 (587), RFC 5321 (25).
            port: r.port.unwrap_or(match tls {
                RelayTls::Implicit => 465,
                RelayTls::Starttls => 587,
                RelayTls::None => 25,
            }),
            tls,
            username: r.username.clone(),
            password: r.password.clone(),
        }
    }
}
