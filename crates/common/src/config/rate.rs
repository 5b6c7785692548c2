//! `[rate]`: token buckets per IP and per account (connections, messages,
//! recipients); 0 means no limit. Idle buckets are dropped past
//! `max_tracked`, so memory stays bounded. The limiters are
//! `crate::security::Rates`; this is only their configuration.

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

#[derive(Debug, Clone)]
pub struct RateConfig {
    pub connections_per_minute_per_ip: u32,
    pub messages_per_minute_per_ip: u32,
    pub messages_per_minute_per_account: u32,
    pub recipients_per_hour_per_account: u32,
    /// Bound on the keys each limiter tracks.
    pub max_tracked: usize,
}

impl Default for RateConfig {
    fn default() -> Self {
        RateConfig {
            connections_per_minute_per_ip: 120,
            messages_per_minute_per_ip: 60,
            messages_per_minute_per_account: 30,
            recipients_per_hour_per_account: 1000,
            max_tracked: 100_000,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRate {
    connections_per_minute_per_ip: Option<u32>,
    messages_per_minute_per_ip: Option<u32>,
    messages_per_minute_per_account: Option<u32>,
    recipients_per_hour_per_account: Option<u32>,
    max_tracked: Option<Spanned<usize>>,
}

impl RateConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawRate) -> RateConfig {
        let d = RateConfig::default();
        RateConfig {
            connections_per_minute_per_ip: raw
                .connections_per_minute_per_ip
                .unwrap_or(d.connections_per_minute_per_ip),
            messages_per_minute_per_ip: raw
                .messages_per_minute_per_ip
                .unwrap_or(d.messages_per_minute_per_ip),
            messages_per_minute_per_account: raw
                .messages_per_minute_per_account
                .unwrap_or(d.messages_per_minute_per_account),
            recipients_per_hour_per_account: raw
                .recipients_per_hour_per_account
                .unwrap_or(d.recipients_per_hour_per_account),
            max_tracked: c.positive("rate.max_tracked", &raw.max_tracked, d.max_tracked),
        }
    }
}
