//! How a ManageSieve session behaves: the bounds and timers one service
//! gives all its sessions.

use std::time::Duration;

/// How a session behaves; one per service.
#[derive(Debug, Clone)]
pub struct Options {
    /// Named in the greeting's IMPLEMENTATION.
    pub hostname: String,
    /// The Sieve extensions the compiler takes, space-separated (the SIEVE
    /// capability, RFC 5804 1.7).
    pub extensions: String,
    /// The longest line before login, and the largest literal (a SASL
    /// response is all a client sends then).
    pub max_line_anonymous: usize,
    /// The longest line once logged in; literals may then be as large as
    /// a script (`tern_store::MAX_SIEVE_SCRIPT_SIZE`).
    pub max_line: usize,
    /// A session that has not logged in after this long is closed.
    pub login_timeout: Duration,
    /// A session idle this long is closed.
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
            extensions: tern_manage::sieve_extensions().join(" "),
            max_line_anonymous: 2048,
            max_line: 8192,
            login_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(600),
            auth_failure_delay: Duration::from_millis(1500),
            max_auth_failures: 3,
            max_errors: 20,
        }
    }
}
