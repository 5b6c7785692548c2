//! `[greylist]`: greylisting, opt-in per recipient domain. The domains are
//! normalised like every domain (IDNA A-label, lower case).

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;
use crate::address::normalize_domain;

/// Greylisting (opt-in per domain): first sight of a (client network,
/// sender, recipient) triplet is answered 451 4.7.1; a retry after
/// `delay_secs` (and within `retry_window_secs`) passes, and the triplet then
/// passes at once for `pass_ttl_days`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GreylistConfig {
    pub domains: Vec<String>,
    pub delay_secs: u64,
    pub retry_window_secs: u64,
    pub pass_ttl_days: u64,
}

impl Default for GreylistConfig {
    fn default() -> Self {
        GreylistConfig {
            domains: Vec::new(),
            delay_secs: 300,
            retry_window_secs: 2 * 86400,
            pass_ttl_days: 36,
        }
    }
}

impl GreylistConfig {
    /// The delay greylisting applies to mail for `domain` (normalised),
    /// given the domain's own setting from the store (`None`: none; `0`:
    /// off): `None` when it is off for that domain.
    pub fn delay_for(&self, domain: &str, own: Option<u64>) -> Option<u64> {
        match own {
            Some(0) => None,
            Some(d) => Some(d),
            None => self
                .domains
                .iter()
                .any(|d| d == domain)
                .then_some(self.delay_secs),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGreylist {
    #[serde(default)]
    domains: Vec<Spanned<String>>,
    delay_secs: Option<u64>,
    retry_window_secs: Option<Spanned<u64>>,
    pass_ttl_days: Option<Spanned<u64>>,
}

impl GreylistConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawGreylist) -> GreylistConfig {
        let d = GreylistConfig::default();
        let mut domains = Vec::new();
        for dom in &raw.domains {
            match normalize_domain(dom.get_ref()) {
                Ok(n) => domains.push(n),
                Err(e) => c.err_at("greylist.domains", dom, e.to_string()),
            }
        }
        GreylistConfig {
            domains,
            delay_secs: raw.delay_secs.unwrap_or(d.delay_secs),
            retry_window_secs: c.positive(
                "greylist.retry_window_secs",
                &raw.retry_window_secs,
                d.retry_window_secs,
            ),
            pass_ttl_days: c.positive(
                "greylist.pass_ttl_days",
                &raw.pass_ttl_days,
                d.pass_ttl_days,
            ),
        }
    }
}
