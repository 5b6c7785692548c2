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
    /// The connection's guard is absent for per-request logins (HTTP),
    /// where one connection may carry many users' requests.
    inner: Option<(Security, Option<ConnGuard>, IpAddr)>,
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
            inner: Some((security, Some(guard), ip)),
            protocol,
        }
    }

    /// Throttling and audit for one request's credentials, without the
    /// per-user connection limits (which count connections, and an HTTP
    /// connection is not any one user's).
    pub fn per_request(security: Security, ip: IpAddr, protocol: &'static str) -> Gate {
        Gate {
            inner: Some((security, None, ip)),
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

    /// A wrong second factor after a right password: throttled like a
    /// wrong password (the same growing delays and locks), audited as
    /// its own kind.
    pub fn second_factor_failure(&self, user: &str, fixed: Duration) -> Duration {
        self.attempt("failure");
        let Some((sec, _, ip)) = &self.inner else {
            return fixed;
        };
        sec.audit(AuditEvent {
            kind: AuditKind::SecondFactorFailure,
            protocol: self.protocol,
            ip: Some(*ip),
            account: Some(user.to_string()),
            detail: "invalid TOTP or recovery code".into(),
        });
        sec.throttle.failure(*ip, user)
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
        if let Some((_, Some(guard), _)) = &mut self.inner {
            guard.signed_out();
        }
    }

    /// A successful login with the account's password: clear the failures
    /// and count the connection against the user's limits (per user+IP,
    /// then per user).
    pub fn success(&mut self, user: &str) -> Result<(), Level> {
        self.success_with(user, None)
    }

    /// A successful login with the account's password (`app_password`
    /// `None`) or with the app password so named, which the audit log
    /// records once the limits let the session in.
    pub fn success_with(&mut self, user: &str, app_password: Option<&str>) -> Result<(), Level> {
        self.attempt("success");
        let Some((sec, guard, ip)) = &mut self.inner else {
            return Ok(());
        };
        sec.throttle.success(*ip, user);
        let event = |kind, detail| AuditEvent {
            kind,
            protocol: self.protocol,
            ip: Some(*ip),
            account: Some(user.to_string()),
            detail,
        };
        // No guard for a per-request login: no connection to count.
        if let Some(guard) = guard
            && let Err(level) = guard.authenticated(user)
        {
            sec.audit(event(
                AuditKind::Limit,
                format!("login refused: {} limit", level.name()),
            ));
            return Err(level);
        }
        sec.audit(match app_password {
            Some(name) => event(
                AuditKind::AppPasswordLogin,
                format!("logged in with app password {name:?}"),
            ),
            None => event(
                AuditKind::Login,
                "logged in with the account's password".into(),
            ),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::config::{AuthThrottleConfig, RateConfig};
    use crate::limits::{Family, LimitsConfig};
    use crate::security::AuditSink;

    /// Keeps every audit event.
    #[derive(Default, Clone)]
    struct Kept(Arc<Mutex<Vec<AuditEvent>>>);

    impl AuditSink for Kept {
        fn record(&self, e: AuditEvent) {
            self.0.lock().unwrap_or_else(|p| p.into_inner()).push(e);
        }
    }

    fn gate(kept: &Kept) -> Gate {
        let sec = Security::new(
            LimitsConfig::default(),
            &RateConfig::default(),
            AuthThrottleConfig::default(),
            Arc::new(kept.clone()),
        );
        let ip = IpAddr::from([192, 0, 2, 1]);
        let guard = sec.limiter.admit(Family::Imap, ip).unwrap();
        Gate::new(sec, guard, ip, "imap")
    }

    #[test]
    fn an_app_password_login_is_audited_by_name_and_a_password_login_as_a_login() {
        let kept = Kept::default();
        gate(&kept).success("a@example.org").unwrap();
        {
            let mut events = kept.0.lock().unwrap();
            assert_eq!(events.len(), 1, "{events:?}");
            assert_eq!(events[0].kind, AuditKind::Login);
            assert_eq!(events[0].kind.name(), "login");
            events.clear();
        }
        gate(&kept)
            .success_with("a@example.org", Some("phone"))
            .unwrap();
        let events = kept.0.lock().unwrap().clone();
        assert_eq!(events.len(), 1, "{events:?}");
        let e = &events[0];
        assert_eq!(e.kind, AuditKind::AppPasswordLogin);
        assert_eq!(e.kind.name(), "app_password_login");
        assert_eq!(
            (e.protocol, e.account.as_deref()),
            ("imap", Some("a@example.org"))
        );
        assert!(e.detail.contains("\"phone\""), "{}", e.detail);
    }
}
