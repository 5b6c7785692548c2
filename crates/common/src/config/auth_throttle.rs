//! `[auth_throttle]`: how failed logins slow down and lock out a network or
//! a login name, for every protocol that takes a password. The throttle
//! itself is `crate::throttle`; this is only its configuration.

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthThrottleConfig {
    /// Delay before answering the first failure; doubles with each one.
    pub base_delay_ms: u64,
    pub max_delay_secs: u64,
    /// Failures from one network before it is locked out entirely.
    pub ip_lock_after: u32,
    /// Failures on one login name before failing networks are locked out of it.
    pub account_lock_after: u32,
    pub lock_secs: u64,
    /// Failures older than this are forgotten.
    pub window_secs: u64,
    /// Bound on tracked networks and names (`max_tracked` in the file).
    pub max_keys: usize,
}

impl Default for AuthThrottleConfig {
    fn default() -> Self {
        AuthThrottleConfig {
            base_delay_ms: 500,
            max_delay_secs: 16,
            ip_lock_after: 30,
            account_lock_after: 10,
            lock_secs: 900,
            window_secs: 3600,
            max_keys: 100_000,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuthThrottle {
    base_delay_ms: Option<u64>,
    max_delay_secs: Option<u64>,
    ip_lock_after: Option<u32>,
    account_lock_after: Option<u32>,
    lock_secs: Option<u64>,
    window_secs: Option<Spanned<u64>>,
    max_tracked: Option<Spanned<usize>>,
}

impl AuthThrottleConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, a: &RawAuthThrottle) -> AuthThrottleConfig {
        let d = AuthThrottleConfig::default();
        AuthThrottleConfig {
            base_delay_ms: a.base_delay_ms.unwrap_or(d.base_delay_ms),
            max_delay_secs: a.max_delay_secs.unwrap_or(d.max_delay_secs),
            ip_lock_after: a.ip_lock_after.unwrap_or(d.ip_lock_after),
            account_lock_after: a.account_lock_after.unwrap_or(d.account_lock_after),
            lock_secs: a.lock_secs.unwrap_or(d.lock_secs),
            window_secs: c.positive("auth_throttle.window_secs", &a.window_secs, d.window_secs),
            max_keys: c.positive("auth_throttle.max_tracked", &a.max_tracked, d.max_keys),
        }
    }
}
