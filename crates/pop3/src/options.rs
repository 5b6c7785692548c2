//! How a POP3 session behaves: the bounds and timers one service gives all
//! its sessions (RFC 1939 3: the autologout timer is at least 10 minutes).

use std::time::Duration;

/// How a session behaves; one per service.
#[derive(Debug, Clone)]
pub struct Options {
    /// Named in the greeting and the goodbye.
    pub hostname: String,
    pub max_line_length: usize,
    /// RFC 1939 3: the autologout timer, at least 10 minutes in production.
    pub idle_timeout: Duration,
    /// A failed login waits this long before its answer.
    pub auth_failure_delay: Duration,
    /// Failed logins before the connection is closed.
    pub max_auth_failures: u32,
    /// Bad commands before the connection is closed.
    pub max_errors: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hostname: "localhost".into(),
            max_line_length: 1024,
            idle_timeout: Duration::from_secs(600),
            auth_failure_delay: Duration::from_millis(1500),
            max_auth_failures: 3,
            max_errors: 20,
        }
    }
}
