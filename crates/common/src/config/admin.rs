//! `[admin]`: the web admin (`/admin`) and the self-service pages
//! (`/account`) on the `https` listener (and on `http` for loopback
//! clients only).

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

/// Browser sessions end after `idle_secs` without a request, and after
/// `max_secs` whatever happens (then the user signs in again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    pub enabled: bool,
    pub idle_secs: u64,
    pub max_secs: u64,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            enabled: true,
            idle_secs: 30 * 60,
            max_secs: 12 * 3600,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAdmin {
    enabled: Option<bool>,
    idle_secs: Option<Spanned<u64>>,
    max_secs: Option<Spanned<u64>>,
}

impl AdminConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawAdmin) -> AdminConfig {
        let d = AdminConfig::default();
        AdminConfig {
            enabled: raw.enabled.unwrap_or(d.enabled),
            idle_secs: c.positive("admin.idle_secs", &raw.idle_secs, d.idle_secs),
            max_secs: c.positive("admin.max_secs", &raw.max_secs, d.max_secs),
        }
    }
}
