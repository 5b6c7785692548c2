//! `[screener]`: server-wide rules of the per-account Screener (each
//! account turns it on for itself).

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenerConfig {
    /// Mail from another account of the recipient's domain (proved by
    /// DMARC or an aligned SPF/DKIM pass) is approved without asking.
    pub same_domain: bool,
}

impl Default for ScreenerConfig {
    fn default() -> Self {
        ScreenerConfig { same_domain: true }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScreener {
    same_domain: Option<bool>,
}

impl ScreenerConfig {
    pub(super) fn from_raw(raw: &RawScreener) -> ScreenerConfig {
        let d = ScreenerConfig::default();
        ScreenerConfig {
            same_domain: raw.same_domain.unwrap_or(d.same_domain),
        }
    }
}
