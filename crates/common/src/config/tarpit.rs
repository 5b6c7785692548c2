//! `[tarpit]`: slower replies on port 25 to an IP that sends bad commands
//! or unknown recipients.

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

/// Tarpitting on port 25: each invalid command or unknown recipient from an
/// IP doubles the delay before its replies (0, base, 2·base, …, capped);
/// the count resets after `reset_after_secs` of good behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarpitConfig {
    pub enabled: bool,
    pub base_delay_ms: u64,
    pub max_delay_secs: u64,
    pub reset_after_secs: u64,
}

impl Default for TarpitConfig {
    fn default() -> Self {
        TarpitConfig {
            enabled: true,
            base_delay_ms: 1000,
            max_delay_secs: 30,
            reset_after_secs: 3600,
        }
    }
}

impl TarpitConfig {
    /// The first step's delay for bad recipients at a domain with its own
    /// setting `own` (`None`: none; `0`: off): `None` when it is off.
    pub fn base_for(&self, own: Option<u64>) -> Option<u64> {
        match own {
            Some(0) => None,
            Some(ms) => Some(ms),
            None => self.enabled.then_some(self.base_delay_ms),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarpit {
    enabled: Option<bool>,
    base_delay_ms: Option<u64>,
    max_delay_secs: Option<u64>,
    reset_after_secs: Option<Spanned<u64>>,
}

impl TarpitConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawTarpit) -> TarpitConfig {
        let d = TarpitConfig::default();
        TarpitConfig {
            enabled: raw.enabled.unwrap_or(d.enabled),
            base_delay_ms: raw.base_delay_ms.unwrap_or(d.base_delay_ms),
            max_delay_secs: raw.max_delay_secs.unwrap_or(d.max_delay_secs),
            reset_after_secs: c.positive(
                "tarpit.reset_after_secs",
                &raw.reset_after_secs,
                d.reset_after_secs,
            ),
        }
    }
}
