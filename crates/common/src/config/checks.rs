//! `[checks]`: what inbound message authentication (SPF RFC 7208, DKIM
//! RFC 6376, DMARC RFC 7489, ARC RFC 8617) decides, how long it may take,
//! and which networks skip it.

use std::net::IpAddr;

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

/// What to do with a message whose checks failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Refuse at the end of DATA (550 5.7.1).
    Reject,
    /// Deliver to the recipient's Junk mailbox.
    Junk,
    /// Deliver normally (the verdict is still recorded).
    Accept,
}

/// What to do when a check could not complete (DNS time-out, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TempVerdict {
    /// 451 4.7.5: the sender retries later.
    Defer,
    Accept,
}

/// Inbound message authentication policy (SPF, DKIM, DMARC, ARC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksConfig {
    /// DMARC `p=reject` and the message fails.
    pub dmarc_reject: Verdict,
    /// DMARC `p=quarantine` and the message fails.
    pub dmarc_quarantine: Verdict,
    /// SPF `fail` for a domain without a DMARC policy.
    pub spf_fail_without_dmarc: Verdict,
    /// DMARC could not be evaluated because of a temporary error.
    pub temperror: TempVerdict,
    /// All checks of one message together take at most this long; past
    /// it the message is treated as a temporary error.
    pub time_limit_secs: u64,
    /// Clients in these networks skip the checks, as do authenticated ones.
    pub trusted_networks: Vec<(IpAddr, u8)>,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig {
            dmarc_reject: Verdict::Reject,
            dmarc_quarantine: Verdict::Junk,
            spf_fail_without_dmarc: Verdict::Junk,
            temperror: TempVerdict::Defer,
            time_limit_secs: 30,
            trusted_networks: Vec::new(),
        }
    }
}

impl ChecksConfig {
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_networks
            .iter()
            .any(|(net, len)| in_network(ip, *net, *len))
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChecks {
    dmarc_reject: Option<Verdict>,
    dmarc_quarantine: Option<Verdict>,
    spf_fail_without_dmarc: Option<Verdict>,
    temperror: Option<TempVerdict>,
    time_limit_secs: Option<Spanned<u64>>,
    #[serde(default)]
    trusted_networks: Vec<Spanned<String>>,
}

impl ChecksConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawChecks) -> ChecksConfig {
        let d = ChecksConfig::default();
        let mut trusted = Vec::new();
        for n in &raw.trusted_networks {
            match parse_network(n.get_ref()) {
                Ok(x) => trusted.push(x),
                Err(e) => c.err_at("checks.trusted_networks", n, e),
            }
        }
        ChecksConfig {
            dmarc_reject: raw.dmarc_reject.unwrap_or(d.dmarc_reject),
            dmarc_quarantine: raw.dmarc_quarantine.unwrap_or(d.dmarc_quarantine),
            spf_fail_without_dmarc: raw
                .spf_fail_without_dmarc
                .unwrap_or(d.spf_fail_without_dmarc),
            temperror: raw.temperror.unwrap_or(d.temperror),
            time_limit_secs: c.positive(
                "checks.time_limit_secs",
                &raw.time_limit_secs,
                d.time_limit_secs,
            ),
            trusted_networks: trusted,
        }
    }
}

/// Whether `ip` is inside `net/len`.
pub fn in_network(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    use std::net::IpAddr::{V4, V6};
    match (ip, net) {
        (V4(a), V4(b)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (V6(a), V6(b)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            u128::from(a) & mask == u128::from(b) & mask
        }
        (V6(a), V4(_)) => a
            .to_ipv4_mapped()
            .is_some_and(|a| in_network(V4(a), net, len)),
        _ => false,
    }
}

/// Parse `10.0.0.0/8`, `2001:db8::/32` or a bare address.
pub fn parse_network(s: &str) -> Result<(IpAddr, u8), String> {
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: IpAddr = a
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not an address or network"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match l {
        Some(l) => l
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| format!("bad prefix length in `{s}`"))?,
        None => max,
    };
    Ok((ip, len))
}
