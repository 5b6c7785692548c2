//! `[source_get]`: the SOURCE/GET reverse-delivery extension
//! (docs/source-get.md). Off in both directions by default.

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

/// What mail that did not come by SOURCE/GET gets (`source-get=none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unidentified {
    Accept,
    Junk,
    Reject,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceGetConfig {
    /// Send SOURCE instead of DATA when the next hop offers it and the
    /// reverse-path domain is one tern hosts (so tern answers its GETs).
    pub send: bool,
    /// Offer SOURCE on port 25 and fetch what it names.
    pub receive: bool,
    /// Policy for port-25 mail with `source-get=none`.
    pub unidentified: Unidentified,
    /// How long a sent message stays fetchable.
    pub retention_secs: u64,
    /// How long the receiver keeps trying to fetch.
    pub fetch_window_secs: u64,
}

impl Default for SourceGetConfig {
    fn default() -> Self {
        SourceGetConfig {
            send: false,
            receive: false,
            unidentified: Unidentified::Accept,
            retention_secs: 26 * 3600,
            fetch_window_secs: 24 * 3600,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSourceGet {
    send: Option<bool>,
    receive: Option<bool>,
    unidentified: Option<Spanned<String>>,
    retention_secs: Option<Spanned<u64>>,
    fetch_window_secs: Option<Spanned<u64>>,
}

impl SourceGetConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawSourceGet) -> SourceGetConfig {
        let d = SourceGetConfig::default();
        let unidentified = match &raw.unidentified {
            None => d.unidentified,
            Some(v) => match v.get_ref().as_str() {
                "accept" => Unidentified::Accept,
                "junk" => Unidentified::Junk,
                "reject" => Unidentified::Reject,
                _ => {
                    c.err_at("source_get.unidentified", v, "accept, junk or reject");
                    d.unidentified
                }
            },
        };
        SourceGetConfig {
            send: raw.send.unwrap_or(d.send),
            receive: raw.receive.unwrap_or(d.receive),
            unidentified,
            retention_secs: c.positive(
                "source_get.retention_secs",
                &raw.retention_secs,
                d.retention_secs,
            ),
            fetch_window_secs: c.positive(
                "source_get.fetch_window_secs",
                &raw.fetch_window_secs,
                d.fetch_window_secs,
            ),
        }
    }
}
