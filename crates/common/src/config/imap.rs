//! `[imap]`: the bounds of every IMAP session. RFC 9051 4 (command lines of
//! at least 8192 octets) and RFC 9051 5.4 (an autologout timer of at least
//! 30 minutes) are floors a configuration cannot go below.

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawImap {
    max_line_length: Option<Spanned<usize>>,
    max_literal_size: Option<Spanned<usize>>,
    idle_timeout_secs: Option<Spanned<u64>>,
    auth_failure_delay_ms: Option<Spanned<u64>>,
    max_auth_failures: Option<Spanned<u32>>,
    max_errors: Option<Spanned<u32>>,
    summary_cache_mib: Option<Spanned<usize>>,
    memory_budget_mib: Option<Spanned<usize>>,
}

/// `[imap]`: the bounds of every IMAP session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapConfig {
    /// Longest command line, literals excluded (RFC 9051 4: at least 8192).
    pub max_line_length: usize,
    /// Largest literal, hence largest APPEND; advertised as APPENDLIMIT.
    pub max_literal_size: usize,
    /// RFC 9051 5.4: the autologout timer is at least 30 minutes.
    pub idle_timeout_secs: u64,
    /// A failed login waits this long before its answer.
    pub auth_failure_delay_ms: u64,
    /// Failed logins on one connection before it is closed.
    pub max_auth_failures: u32,
    /// Bad commands on one connection before it is closed.
    pub max_errors: u32,
    /// Memory for the ENVELOPE/BODYSTRUCTURE/header summaries of recently
    /// read messages, shared by every session; 0 keeps none in memory (they
    /// are still read from the index).
    pub summary_cache_mib: usize,
    /// Memory all logged-in sessions together may hold in message bytes
    /// at once: APPEND literals and the messages FETCH, SEARCH, SORT and
    /// THREAD read. A command that finds no room within a few seconds gets
    /// `NO [LIMIT]`. At least `max_literal_size`.
    pub memory_budget_mib: usize,
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            max_line_length: 64 * 1024,
            max_literal_size: 64 * 1024 * 1024,
            idle_timeout_secs: 30 * 60,
            auth_failure_delay_ms: 1500,
            max_auth_failures: 3,
            max_errors: 50,
            summary_cache_mib: 32,
            memory_budget_mib: 256,
        }
    }
}

impl ImapConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawImap) -> ImapConfig {
        let d = ImapConfig::default();
        let cfg = ImapConfig {
            max_line_length: c.positive(
                "imap.max_line_length",
                &raw.max_line_length,
                d.max_line_length,
            ),
            max_literal_size: c.positive(
                "imap.max_literal_size",
                &raw.max_literal_size,
                d.max_literal_size,
            ),
            idle_timeout_secs: c.positive(
                "imap.idle_timeout_secs",
                &raw.idle_timeout_secs,
                d.idle_timeout_secs,
            ),
            auth_failure_delay_ms: c.any(&raw.auth_failure_delay_ms, d.auth_failure_delay_ms),
            max_auth_failures: c.positive(
                "imap.max_auth_failures",
                &raw.max_auth_failures,
                d.max_auth_failures,
            ),
            max_errors: c.positive("imap.max_errors", &raw.max_errors, d.max_errors),
            summary_cache_mib: c.any(&raw.summary_cache_mib, d.summary_cache_mib),
            memory_budget_mib: c.positive(
                "imap.memory_budget_mib",
                &raw.memory_budget_mib,
                d.memory_budget_mib,
            ),
        };
        Self::check_budget(c, raw, &cfg);
        Self::check_floors(c, raw);
        cfg
    }

    /// The memory budget must hold at least one literal of the largest size.
    fn check_budget(c: &mut Checker<'_>, raw: &RawImap, cfg: &ImapConfig) {
        if cfg.memory_budget_mib.saturating_mul(1 << 20) >= cfg.max_literal_size {
            return;
        }
        if let Some(m) = &raw.memory_budget_mib {
            c.err_at(
                "imap.memory_budget_mib",
                m,
                "must hold at least one literal of imap.max_literal_size",
            );
        } else if let Some(l) = &raw.max_literal_size {
            c.err_at(
                "imap.max_literal_size",
                l,
                "must fit in imap.memory_budget_mib (256 MiB by default)",
            );
        }
    }

    /// The RFC 9051 floors: 8192-octet lines (4), 30-minute autologout (5.4).
    fn check_floors(c: &mut Checker<'_>, raw: &RawImap) {
        if let Some(l) = &raw.max_line_length
            && *l.get_ref() < 8192
        {
            c.err_at(
                "imap.max_line_length",
                l,
                "must be at least 8192 (RFC 9051 4)",
            );
        }
        if let Some(t) = &raw.idle_timeout_secs
            && *t.get_ref() < 1800
        {
            c.err_at(
                "imap.idle_timeout_secs",
                t,
                "must be at least 1800 (RFC 9051 5.4: 30 minutes)",
            );
        }
    }
}
