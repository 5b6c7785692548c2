//! What the web admin and the self-service pages need beyond the other
//! operations: the admin role, the TOTP second factor (RFC 6238) with its
//! recovery codes, browser sessions, an account's recent logins, and the
//! dashboard's figures. The pages in `tern-admin` only parse forms and
//! show results; every rule is here.

use rand::Rng;
use tern_store::{Account, AuditFilter, Stage, WebSession};
use totp_rs::{Builder, Secret, Totp};

use crate::Manager;
use crate::error::{Error, Result};
use crate::scope::Scope;
use crate::users::scoped_address;

/// How many recovery codes an enrolment gives.
pub const RECOVERY_CODES: usize = 10;
/// A recovery code: 10 letters of the app password alphabet (no look-
/// alikes), 50 bits, shown as `abcde-fghjk`.
const RECOVERY_LEN: usize = 10;
const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
/// The issuer an authenticator app shows beside the account.
const ISSUER: &str = "tern";
/// Seconds a half-done login (right password, code still owed) lasts.
pub const SECOND_FACTOR_SECS: i64 = 300;

/// A TOTP enrolment to show: the secret for typing and the `otpauth://`
/// URI a QR code carries (the Key Uri Format authenticator apps read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
}

/// An account's second factor, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactor {
    pub enabled: bool,
    pub pending: Option<Enrolment>,
    pub recovery_left: i64,
}

/// A session just opened: the cookie (given to the browser, never kept)
/// and the token its forms carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub cookie: String,
    pub csrf: String,
}

/// How long sessions last, from `[admin]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub idle: i64,
    pub max: i64,
}

/// One login to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRecord {
    pub at: i64,
    pub ip: String,
    pub protocol: String,
    /// The app password used, if one was.
    pub app_password: Option<String>,
}

/// `n` random bytes as lower-case hex.
fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rng().fill(&mut b[..]);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn recovery_code() -> String {
    let mut rng = rand::rng();
    let s: String = (0..RECOVERY_LEN)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &s[..5], &s[5..])
}

/// A recovery code as typed: case, spaces and dashes do not matter.
fn canonical_recovery(s: &str) -> String {
    let c: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    if c.len() == RECOVERY_LEN && c.is_ascii() {
        format!("{}-{}", &c[..5], &c[5..])
    } else {
        String::new()
    }
}

fn totp(secret: &str) -> Result<Totp> {
    let bytes = Secret::try_from_base32(secret)
        .map_err(|_| Error::unavailable("the stored TOTP secret is not base32"))?;
    Builder::new()
        .with_secret(bytes.as_bytes().to_vec())
        .build()
        .map_err(|e| Error::unavailable(format!("TOTP: {e}")))
}

/// Percent-encoding for the `otpauth://` URI's label and parameters.
fn uri_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn enrolment(account: &str, secret: &str) -> Enrolment {
    Enrolment {
        secret: secret.to_string(),
        uri: format!(
            "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
            uri_escape(ISSUER),
            uri_escape(account),
            uri_escape(ISSUER)
        ),
    }
}

fn now() -> i64 {
    tern_common::time::now_secs()
}

/// The dashboard's figures from the store (the node's own connections and
/// certificate are the page's to add).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    /// Messages accepted, delivered out and bounced today (UTC), every
    /// node together.
    pub received: i64,
    pub sent: i64,
    pub bounced: i64,
    pub queue_depth: i64,
    /// Seconds since the oldest pending message was queued.
    pub queue_oldest_age: Option<i64>,
}

impl Manager {
    pub async fn figures(&self, scope: &Scope) -> Result<Figures> {
        scope.admin()?;
        let t = now();
        let counts = self.store.tally_get(t.div_euclid(86_400)).await?;
        let of = |k: &str| counts.iter().find(|(n, _)| n == k).map_or(0, |(_, v)| *v);
        let q = self.store.queue_stats().await?;
        Ok(Figures {
            received: of("received"),
            sent: of("sent"),
            bounced: of("bounced"),
            queue_depth: q.depth,
            queue_oldest_age: q.oldest.map(|o| (t - o).max(0)),
        })
    }

    /// Give or take away the admin role (server-wide: admin scope only).
    pub async fn user_set_admin(&self, scope: &Scope, address: &str, admin: bool) -> Result<()> {
        scope.admin()?;
        let a = scoped_address(scope, "address", address)?;
        self.store.account_set_admin(&a, admin).await?;
        if !admin {
            // Its admin pages end now, not at the next time-out.
            if let Some(acc) = self.store.account_get(&a).await? {
                self.store.web_sessions_end_all(acc.id).await?;
            }
        }
        Ok(())
    }

    pub async fn second_factor(&self, account: &Account) -> Result<SecondFactor> {
        let t = self.store.totp_get(account.id).await?;
        Ok(SecondFactor {
            enabled: t.secret.is_some(),
            pending: t.pending.map(|p| enrolment(&account.name, &p)),
            recovery_left: self.store.recovery_left(account.id).await?,
        })
    }

    /// Start an enrolment with a new 160-bit secret (RFC 4226 4); an
    /// active second factor stays until the new one is confirmed.
    pub async fn totp_begin(&self, account: &Account) -> Result<Enrolment> {
        let mut bytes = [0u8; 20];
        rand::rng().fill(&mut bytes);
        let secret = Secret::from(bytes).to_base32();
        self.store.totp_set_pending(account.id, &secret).await?;
        Ok(enrolment(&account.name, &secret))
    }

    /// Confirm the pending secret with one of its codes: it becomes the
    /// account's second factor, and the new recovery codes are returned
    /// (shown once; earlier ones stop working).
    pub async fn totp_confirm(&self, account: &Account, code: &str) -> Result<Vec<String>> {
        let t = self.store.totp_get(account.id).await?;
        let Some(pending) = t.pending else {
            return Err(Error::conflict("no enrolment is in progress").on("code"));
        };
        let Some(step) = totp(&pending)?.check(code.trim(), now().max(0) as u64) else {
            return Err(Error::invalid(
                "code",
                "that code is not right: try the current one",
            ));
        };
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        if !self
            .store
            .totp_confirm(account.id, &pending, step as i64, &codes)
            .await?
        {
            return Err(Error::conflict("the enrolment changed meanwhile: start again").on("code"));
        }
        Ok(codes)
    }

    /// Is this the account's current TOTP code, or one of its unused
    /// recovery codes? Either is good once.
    pub async fn second_factor_check(&self, account: &Account, code: &str) -> Result<bool> {
        let t = self.store.totp_get(account.id).await?;
        let Some(secret) = t.secret else {
            return Ok(false);
        };
        let code = code.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            return match totp(&secret)?.check(code, now().max(0) as u64) {
                Some(step) => Ok(self.store.totp_take_step(account.id, step as i64).await?),
                None => Ok(false),
            };
        }
        let r = canonical_recovery(code);
        Ok(!r.is_empty() && self.store.recovery_take(account.id, &r).await?)
    }

    /// Remove an account's second factor: the user (after their password)
    /// or an administrator for a user who lost the device and the codes.
    pub async fn totp_remove(&self, scope: &Scope, address: &str) -> Result<()> {
        let a = scoped_address(scope, "address", address)?;
        let acc = self
            .store
            .account_get(&a)
            .await?
            .ok_or_else(|| Error::not_found(format!("account {a} not found")))?;
        self.store.totp_remove(acc.id).await?;
        Ok(())
    }

    /// Open a session for `account` at `stage`, from `ip`.
    pub async fn session_open(&self, account: &Account, stage: Stage, ip: &str) -> Result<Opened> {
        let o = Opened {
            cookie: random_hex(32),
            csrf: random_hex(32),
        };
        self.store
            .web_session_create(&o.cookie, account.id, &o.csrf, stage, ip)
            .await?;
        Ok(o)
    }

    /// The session a cookie names, with its account, if it is still good:
    /// not idle too long, not too old, a half-done login not past its five
    /// minutes, the account neither removed nor disabled.
    pub async fn session_find(
        &self,
        cookie: &str,
        life: Lifetimes,
    ) -> Result<Option<(WebSession, Account)>> {
        if cookie.len() != 64 || !cookie.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let Some(s) = self.store.web_session_get(cookie).await? else {
            return Ok(None);
        };
        let t = now();
        let max = match s.stage {
            Stage::Password => SECOND_FACTOR_SECS,
            Stage::Full => life.max,
        };
        if t - s.seen > life.idle || t - s.created > max {
            self.store.web_session_delete(cookie).await?;
            return Ok(None);
        }
        let Some(acc) = self.store.account_by_id(s.account_id).await? else {
            return Ok(None);
        };
        if acc.disabled {
            self.store.web_sessions_end_all(acc.id).await?;
            return Ok(None);
        }
        // Recorded at most once a minute (half the idle time when that is
        // shorter), so browsing costs no write per page.
        if t - s.seen >= (life.idle / 2).clamp(1, 60) {
            self.store.web_session_touch(cookie, t).await?;
        }
        Ok(Some((s, acc)))
    }

    pub async fn session_end(&self, cookie: &str) -> Result<()> {
        Ok(self.store.web_session_delete(cookie).await?)
    }

    /// Logout everywhere: every browser session of the account ends.
    pub async fn sessions_end_all(&self, account: &Account) -> Result<u64> {
        Ok(self.store.web_sessions_end_all(account.id).await?)
    }

    /// The account's most recent logins, newest first (from the audit
    /// log: every protocol, app passwords by name).
    pub async fn login_history(&self, account: &Account, limit: i64) -> Result<Vec<LoginRecord>> {
        let rows = self
            .store
            .audit_search(&AuditFilter {
                kinds: vec!["login".into(), "app_password_login".into()],
                account: Some(account.name.clone()),
                limit: limit.clamp(1, 1000),
                ..AuditFilter::default()
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| LoginRecord {
                at: r.at,
                ip: r.ip.unwrap_or_default(),
                protocol: r.protocol,
                app_password: (r.kind == "app_password_login")
                    .then(|| {
                        r.detail
                            .split_once('"')
                            .and_then(|(_, rest)| rest.rsplit_once('"'))
                            .map(|(name, _)| name.to_string())
                    })
                    .flatten(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_read_whatever_the_case_spaces_and_dashes() {
        let c = recovery_code();
        assert_eq!(c.len(), 11);
        assert_eq!(canonical_recovery(&c), c);
        assert_eq!(canonical_recovery(&c.to_uppercase().replace('-', " ")), c);
        assert_eq!(canonical_recovery("abc"), "");
        assert_eq!(canonical_recovery("ééééééééééé"), "");
    }

    #[test]
    fn the_otpauth_uri_names_issuer_and_account_escaped() {
        let e = enrolment("a b@example.org", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            e.uri,
            "otpauth://totp/tern:a%20b%40example.org?secret=JBSWY3DPEHPK3PXP&issuer=tern&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn rfc_6238_appendix_b_vectors_hold_for_sha1() {
        // RFC 6238 B: the 20-byte ASCII secret "12345678901234567890";
        // the vectors are 8 digits, tern uses their last 6.
        let secret = Secret::from(*b"12345678901234567890").to_base32();
        let t = totp(&secret).unwrap();
        for (time, code) in [
            (59u64, "287082"),
            (1111111109, "081804"),
            (2000000000, "279037"),
        ] {
            assert_eq!(t.generate(time).to_string(), code, "at {time}");
            assert!(t.check(code, time).is_some());
        }
    }
}
