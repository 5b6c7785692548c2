//! The Sender Rewriting Scheme for forwarded mail, in the format of
//! Mail::SRS (its Guarded flavour) and postsrsd, so either can reverse what
//! tern writes and the reverse: mail tern forwards to another domain leaves
//! with `SRS0=HHHH=TT=orig-domain=orig-local@forwarding-domain`, which the
//! next hop's SPF check ties to this server, and a bounce to that address
//! comes back here and is sent on to the original sender.
//!
//! - `HHHH`: the first 4 characters of the base64 HMAC-SHA1, keyed with a
//!   secret in the store, of the lower-cased timestamp, domain and local
//!   part; compared without case, as Mail::SRS does.
//! - `TT`: the day (Unix time / 86400) in two base32 characters, i.e.
//!   modulo 1024; an address is honoured for `MAX_AGE_DAYS` days.
//! - An address already rewritten by someone else (`SRS0=…`) becomes
//!   `SRS1=HHHH=their-domain==HHHH=TT=…`, whose reversal sends the bounce
//!   on to them; an `SRS1` address keeps its first hop and gets our hash.
//! - The null sender is never rewritten (RFC 5321 4.5.5).
//!
//! Secrets: the newest signs; every secret made within the last
//! `MAX_AGE_DAYS` (and the newest, whatever its age) verifies, so a
//! rotation does not orphan bounces already on their way.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use tern_common::time::now_secs;

use crate::{Result, Store};

/// How many days a rewritten address is honoured for a bounce.
pub const MAX_AGE_DAYS: i64 = 21;
const HASH_LEN: usize = 4;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const DAY: i64 = 86_400;
/// 32 × 32 timestamps, used in a cycle.
const SLOTS: i64 = 1024;

/// Why an SRS address is not honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrsError {
    /// Not in either SRS form.
    Malformed,
    /// The hash does not match: forged, or made with a secret long gone.
    Forged,
    /// Older than `MAX_AGE_DAYS`, or from the future.
    Expired,
}

impl std::fmt::Display for SrsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SrsError::Malformed => "not an SRS address",
            SrsError::Forged => "the SRS address's hash does not verify",
            SrsError::Expired => "the SRS address has expired",
        })
    }
}

/// SRS with a set of secrets (the first signs).
#[derive(Debug, Clone)]
pub struct Srs {
    secrets: Vec<String>,
}

/// `SRS0` or `SRS1` (any case) and its separator, off the local part.
fn tagged<'a>(local: &'a str, tag: &str) -> Option<(char, &'a str)> {
    let head = local.get(..4)?;
    if !head.eq_ignore_ascii_case(tag) {
        return None;
    }
    let sep = local[4..].chars().next()?;
    matches!(sep, '=' | '+' | '-').then(|| (sep, &local[5..]))
}

/// Does this local part look like an SRS address (`SRS0=`/`SRS1=`, also
/// with `+` or `-`)?
pub fn is_srs(local: &str) -> bool {
    tagged(local, "SRS0").is_some() || tagged(local, "SRS1").is_some()
}

fn timestamp(now: i64) -> String {
    let t = now.div_euclid(DAY);
    let hi = BASE32[((t >> 5) & 31) as usize] as char;
    let lo = BASE32[(t & 31) as usize] as char;
    format!("{hi}{lo}")
}

/// Mail::SRS's `timestamp_check`: within `MAX_AGE_DAYS` of today, in the
/// 1024-day cycle.
fn timestamp_ok(ts: &str, now: i64) -> bool {
    let mut t = 0i64;
    for c in ts.chars() {
        let Some(v) = BASE32
            .iter()
            .position(|b| *b as char == c.to_ascii_uppercase())
        else {
            return false;
        };
        t = t * 32 + v as i64;
    }
    if ts.chars().count() != 2 {
        return false;
    }
    let mut today = now.div_euclid(DAY).rem_euclid(SLOTS);
    while today < t {
        today += SLOTS;
    }
    today <= t + MAX_AGE_DAYS
}

fn hash(secret: &str, parts: &[&str]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    for p in parts {
        ctx.update(p.to_lowercase().as_bytes());
    }
    STANDARD_NO_PAD.encode(ctx.sign().as_ref())
}

impl Srs {
    pub fn new(secrets: Vec<String>) -> Srs {
        Srs { secrets }
    }

    fn sign(&self, parts: &[&str]) -> String {
        let secret = self.secrets.first().map(String::as_str).unwrap_or("");
        hash(secret, parts)[..HASH_LEN].to_string()
    }

    fn verify(&self, given: &str, parts: &[&str]) -> bool {
        if given.len() < HASH_LEN {
            return false;
        }
        self.secrets.iter().any(|s| {
            let full = hash(s, parts);
            full.get(..given.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(given))
        })
    }

    /// The envelope sender for mail that `alias_domain` forwards; `None`
    /// when it stays as it is (the null sender, no domain, or the
    /// forwarding domain's own).
    pub fn forward(&self, sender: &str, alias_domain: &str, now: i64) -> Option<String> {
        let (user, host) = sender.rsplit_once('@')?;
        if user.is_empty() || host.is_empty() || host.eq_ignore_ascii_case(alias_domain) {
            return None;
        }
        let local = if let Some((sep, rest)) = tagged(user, "SRS0") {
            // Someone else's SRS0: wrap it, so a bounce goes back to them.
            let inner = format!("{sep}{rest}");
            let h = self.sign(&[host, &inner]);
            format!("SRS1={h}={host}={inner}")
        } else if let Some((_, rest)) = tagged(user, "SRS1") {
            // Already wrapped: keep its first hop, sign it ourselves.
            let mut it = rest.splitn(3, '=');
            let (_, srshost, srsuser) = (it.next()?, it.next()?, it.next()?);
            let h = self.sign(&[srshost, srsuser]);
            format!("SRS1={h}={srshost}={srsuser}")
        } else {
            let ts = timestamp(now);
            let h = self.sign(&[&ts, host, user]);
            format!("SRS0={h}={ts}={host}={user}")
        };
        Some(format!("{local}@{alias_domain}"))
    }

    /// Where a bounce to the SRS local part `local` goes: the original
    /// sender (SRS0), or the previous forwarder's SRS0 address (SRS1).
    pub fn reverse(&self, local: &str, now: i64) -> std::result::Result<String, SrsError> {
        if let Some((_, rest)) = tagged(local, "SRS1") {
            let mut it = rest.splitn(3, '=');
            let (Some(h), Some(srshost), Some(srsuser)) = (it.next(), it.next(), it.next()) else {
                return Err(SrsError::Malformed);
            };
            if srshost.is_empty() || srsuser.is_empty() {
                return Err(SrsError::Malformed);
            }
            if !self.verify(h, &[srshost, srsuser]) {
                return Err(SrsError::Forged);
            }
            return Ok(format!("SRS0{srsuser}@{srshost}"));
        }
        let Some((_, rest)) = tagged(local, "SRS0") else {
            return Err(SrsError::Malformed);
        };
        let mut it = rest.splitn(4, '=');
        let (Some(h), Some(ts), Some(host), Some(user)) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(SrsError::Malformed);
        };
        if host.is_empty() || user.is_empty() {
            return Err(SrsError::Malformed);
        }
        if !self.verify(h, &[ts, host, user]) {
            return Err(SrsError::Forged);
        }
        if !timestamp_ok(ts, now) {
            return Err(SrsError::Expired);
        }
        Ok(format!("{user}@{host}"))
    }
}

/// A new secret: 24 random bytes, URL-safe base64 (a command-line
/// argument for Mail::SRS's `srs --secret` or postsrsd as it is).
fn new_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Store {
    /// The secrets that verify, newest first (made on first use).
    async fn srs_secrets(&self) -> Result<Vec<String>> {
        let since = now_secs() - (MAX_AGE_DAYS + 1) * DAY;
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT secret, created FROM srs_secrets ORDER BY id DESC")
                .fetch_all(self.pool())
                .await?;
        if rows.is_empty() {
            self.srs_rotate().await?;
            return Box::pin(self.srs_secrets()).await;
        }
        Ok(rows
            .into_iter()
            .enumerate()
            .filter(|(i, (_, created))| *i == 0 || *created >= since)
            .map(|(_, (s, _))| s)
            .collect())
    }

    /// SRS with this server's secrets.
    pub async fn srs(&self) -> Result<Srs> {
        Ok(Srs::new(self.srs_secrets().await?))
    }

    /// The secret new addresses are signed with.
    pub async fn srs_secret(&self) -> Result<String> {
        let all = self.srs_secrets().await?;
        Ok(all.into_iter().next().unwrap_or_default())
    }

    /// Make a new signing secret; the previous ones verify for
    /// `MAX_AGE_DAYS` more, and older ones are dropped.
    pub async fn srs_rotate(&self) -> Result<String> {
        let secret = new_secret();
        let now = now_secs();
        sqlx::query("INSERT INTO srs_secrets (secret, created) VALUES ($1, $2)")
            .bind(&secret)
            .bind(now)
            .execute(self.pool())
            .await?;
        sqlx::query(
            "DELETE FROM srs_secrets WHERE created < $1 \
             AND id <> (SELECT MAX(id) FROM srs_secrets)",
        )
        .bind(now - (MAX_AGE_DAYS + 1) * DAY)
        .execute(self.pool())
        .await?;
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-30, and the address Mail::SRS's `srs --secret=abc
    /// --forward alice@orig.example --alias=fwd.example` printed that day.
    const NOW: i64 = 1_795_996_800 + 3600;
    const MAIL_SRS: &str = "SRS0=4fhk=JT=orig.example=alice@fwd.example";

    fn srs() -> Srs {
        Srs::new(vec!["abc".into()])
    }

    #[test]
    fn forward_matches_mail_srs() {
        assert_eq!(timestamp(NOW), "JT");
        assert_eq!(
            srs()
                .forward("alice@orig.example", "fwd.example", NOW)
                .as_deref(),
            Some(MAIL_SRS)
        );
        // Null sender, no domain, the alias's own domain: unchanged.
        assert_eq!(srs().forward("", "fwd.example", NOW), None);
        assert_eq!(srs().forward("bob@Fwd.Example", "fwd.example", NOW), None);
    }

    #[test]
    fn reverse_checks_hash_and_age() {
        let s = srs();
        let local = MAIL_SRS.split('@').next().unwrap();
        assert_eq!(s.reverse(local, NOW).as_deref(), Ok("alice@orig.example"));
        // Case does not matter (Mail::SRS compares without it).
        assert_eq!(
            s.reverse(&local.to_lowercase(), NOW).as_deref(),
            Ok("alice@orig.example")
        );
        assert_eq!(
            s.reverse("SRS0=q9Zz=JT=orig.example=alice", NOW),
            Err(SrsError::Forged)
        );
        assert_eq!(s.reverse(local, NOW + 30 * DAY), Err(SrsError::Expired));
        assert_eq!(s.reverse(local, NOW - 2 * DAY), Err(SrsError::Expired));
        assert_eq!(s.reverse("SRS0=4fhk=JT", NOW), Err(SrsError::Malformed));
        assert_eq!(s.reverse("alice", NOW), Err(SrsError::Malformed));
        // An old secret still verifies after a rotation.
        let rotated = Srs::new(vec!["new".into(), "abc".into()]);
        assert_eq!(
            rotated.reverse(local, NOW).as_deref(),
            Ok("alice@orig.example")
        );
        assert_eq!(
            Srs::new(vec!["new".into()]).reverse(local, NOW),
            Err(SrsError::Forged)
        );
    }

    #[test]
    fn forwarding_an_srs_address_wraps_it_and_unwraps_back() {
        let s = srs();
        let first = "SRS0=abcd=JT=orig.example=alice@hop1.example";
        let wrapped = s.forward(first, "fwd.example", NOW).unwrap();
        assert!(
            wrapped.starts_with("SRS1=")
                && wrapped.ends_with("=hop1.example==abcd=JT=orig.example=alice@fwd.example"),
            "{wrapped}"
        );
        let local = wrapped.rsplit_once('@').unwrap().0;
        assert_eq!(
            s.reverse(local, NOW).as_deref(),
            Ok("SRS0=abcd=JT=orig.example=alice@hop1.example")
        );
        // Rewrapped again, the first hop stays.
        let again = s.forward(&wrapped, "other.example", NOW).unwrap();
        assert!(again.contains("=hop1.example=="), "{again}");
        assert!(is_srs("srs0=x") && is_srs("SRS1+x") && !is_srs("srs2=x") && !is_srs("SRS"));
    }
}
