//! `[pop3]`: the bounds of every POP3 session. RFC 1939 3: the autologout
//! timer is at least 10 minutes, so a shorter one is refused.

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPop3 {
    max_line_length: Option<Spanned<usize>>,
    idle_timeout_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Clone)]
pub struct Pop3Config {
    pub max_line_length: usize,
    pub idle_timeout_secs: u64,
}

impl Default for Pop3Config {
    fn default() -> Self {
        // RFC 1939 3: the inactivity timer is at least 10 minutes.
        Pop3Config {
            max_line_length: 1024,
            idle_timeout_secs: 600,
        }
    }
}

impl Pop3Config {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawPop3) -> Pop3Config {
        let d = Pop3Config::default();
        let pop3 = Pop3Config {
            max_line_length: c.positive(
                "pop3.max_line_length",
                &raw.max_line_length,
                d.max_line_length,
            ),
            idle_timeout_secs: c.positive(
                "pop3.idle_timeout_secs",
                &raw.idle_timeout_secs,
                d.idle_timeout_secs,
            ),
        };
        if let Some(t) = &raw.idle_timeout_secs
            && *t.get_ref() < 600
        {
            c.err_at(
                "pop3.idle_timeout_secs",
                t,
                "must be at least 600 (RFC 1939 3: an autologout timer of at least 10 minutes)",
            );
        }
        pop3
    }
}
