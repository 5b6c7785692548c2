//! `[log]`: the filter and format of the log on standard error. `RUST_LOG`,
//! when set, overrides `level`; a bare word that is not a level is a typo,
//! never a module name.

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    level: Option<Spanned<String>>,
    format: Option<LogFormat>,
}

/// How tern logs (to standard error). `RUST_LOG`, when set, overrides
/// `level`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Filter directives: a level (`info`) and/or `module=level` pairs,
    /// comma-separated (`info,tern_smtp=debug`).
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event, for log collectors.
    Json,
}

impl LogConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawLog) -> LogConfig {
        LogConfig {
            level: match &raw.level {
                Some(l) if !valid_log_filter(l.get_ref()) => {
                    c.err_at(
                        "log.level",
                        l,
                        "must be a level (trace, debug, info, warn, error, off) or module=level pairs, comma-separated",
                    );
                    LogConfig::default().level
                }
                Some(l) => l.get_ref().trim().to_string(),
                None => LogConfig::default().level,
            },
            format: raw.format.unwrap_or_default(),
        }
    }
}

/// Is `s` a valid list of log filter directives (`level` or
/// `target=level`, comma-separated)?
pub fn valid_log_filter(s: &str) -> bool {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    let level = |l: &str| LEVELS.contains(&l.to_ascii_lowercase().as_str());
    let target = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '-')
    };
    !s.trim().is_empty()
        && s.split(',')
            .map(str::trim)
            .all(|d| match d.split_once('=') {
                Some((t, l)) => target(t) && level(l),
                // A bare word must be a level: `loud` is a typo, not a module.
                None => level(d),
            })
}
