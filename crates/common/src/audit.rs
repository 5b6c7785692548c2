//! The kinds of security event tern audits, by name. The names are what
//! the audit table, the `audit_events_total{kind=...}` counter and
//! `tern audit list --kind` use, so they never change spelling.

/// What a security event was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// A wrong password (or unknown user).
    LoginFailure,
    /// A login refused because its network or name is locked out.
    LoginLocked,
    /// A connection refused by a concurrency limit.
    Limit,
    /// An unauthenticated client asked to relay to a remote domain.
    RelayAttempt,
    /// A greylisting decision.
    Greylist,
    /// A login with an app password (the detail names it): which device
    /// opened a session.
    AppPasswordLogin,
    /// A login with the account's own password (on the web, with the
    /// second factor when the account has one): the account's recent
    /// logins the self-service page shows.
    Login,
    /// A wrong TOTP or recovery code after a right password (web).
    SecondFactorFailure,
    /// An account's Sieve script failed at delivery (runtime error or
    /// limit); the detail names the script, its line when known, and the
    /// error. The message was kept in INBOX.
    SieveFailure,
}

impl AuditKind {
    pub const ALL: [AuditKind; 9] = [
        AuditKind::LoginFailure,
        AuditKind::LoginLocked,
        AuditKind::Limit,
        AuditKind::RelayAttempt,
        AuditKind::Greylist,
        AuditKind::AppPasswordLogin,
        AuditKind::SieveFailure,
        AuditKind::Login,
        AuditKind::SecondFactorFailure,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AuditKind::LoginFailure => "login_failure",
            AuditKind::LoginLocked => "login_locked",
            AuditKind::Limit => "limit",
            AuditKind::RelayAttempt => "relay_attempt",
            AuditKind::Greylist => "greylist",
            AuditKind::AppPasswordLogin => "app_password_login",
            AuditKind::SieveFailure => "sieve_failure",
            AuditKind::Login => "login",
            AuditKind::SecondFactorFailure => "second_factor_failure",
        }
    }

    /// Something that went as it should, kept for the record: logged at
    /// info, not as a warning.
    pub fn is_routine(self) -> bool {
        matches!(self, AuditKind::AppPasswordLogin | AuditKind::Login)
    }
}

impl std::fmt::Display for AuditKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
