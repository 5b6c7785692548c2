//! What stands between a login and a session: login throttling (growing
//! delays, locks that spare clean networks) and the per-user connection
//! limits, from the server's shared `Security`. Sessions driven without a
//! server (tests) use `Gate::open`, which only applies the fixed delay.

use std::net::IpAddr;
use std::time::Duration;

use crate::audit::AuditKind;
use crate::limits::{ConnGuard, Level};
use crate::metrics::{Metric, count};
use crate::security::{AuditEvent, Security};

pub struct Gate {
    inner: Option<(Security, ConnGuard, IpAddr)>,
    /// The protocol named in audit records ("pop3", "imap", …).
    protocol: &'static str,
}

impl Gate {
    /// No throttling and no limits.
    pub fn open(protocol: &'static str) -> Gate {
        Gate {
            inner: None,
            protocol,
        }
    }

    pub fn new(security: Security, guard: ConnGuard, ip: IpAddr, protocol: &'static str) -> Gate {
        Gate {
            inner: Some((security, guard, ip)),
            protocol,
        }
    }

    /// May `user` try a password from here now? A lock is answered exactly
    /// like a wrong password, so it reveals nothing about the account.
    pub fn check(&self, user: &str) -> bool {
        let Some((sec, _, ip)) = &self.inner else {
            return true;
        };
        match sec.throttle.check(*ip, user) {
            Ok(()) => true,
            Err(l) => {
                sec.audit(AuditEvent {
                    kind: AuditKind::LoginLocked,
                    protocol: self.protocol,
                    ip: Some(*ip),
                    account: Some(user.to_string()),
                    detail: format!("{l:?} lock"),
                });
                false
            }
        }
    }

    /// A failed attempt: how long to wait before answering.
    pub fn failure(&self, user: &str, fixed: Duration) -> Duration {
        self.attempt("failure");
        let Some((sec, _, ip)) = &self.inner else {
            return fixed;
        };
        sec.audit(AuditEvent {
            kind: AuditKind::LoginFailure,
            protocol: self.protocol,
            ip: Some(*ip),
            account: Some(user.to_string()),
            detail: "invalid user name or password".into(),
        });
        sec.throttle.failure(*ip, user)
    }

    /// Count one login attempt and how it ended (`tern_auth_attempts_total`);
    /// a locked-out attempt ends in `failure` too (and in
    /// `tern_auth_locked_total`).
    fn attempt(&self, result: &'static str) {
        count(Metric::AuthAttempts {
            protocol: self.protocol,
            result,
        });
    }

    /// The session went back to the not-authenticated state.
    pub fn signed_out(&mut self) {
        if let Some((_, guard, _)) = &mut self.inner {
            guard.signed_out();
        }
    }

    /// A successful login: clear the failures and count the connection
    /// against the user's limits (per user+IP, then per user).
    pub fn success(&mut self, user: &str) -> Result<(), Level> {
        self.attempt("success");
        let Some((sec, guard, ip)) = &mut self.inner else {
            return Ok(());
        };
        sec.throttle.success(*ip, user);
        guard.authenticated(user).inspect_err(|level| {
            sec.audit(AuditEvent {
                kind: AuditKind::Limit,
                protocol: self.protocol,
                ip: Some(*ip),
                account: Some(user.to_string()),
                detail: format!("login refused: {} limit", level.name()),
            });
        })
    }
}
