//! What the web admin and the self-service pages keep: TOTP second
//! factors (RFC 6238) with their recovery codes, browser sessions, and the
//! day's message counts.
//!
//! A TOTP secret must be readable to check a code, so it is kept like a
//! DKIM key (in the 0600 store). `pending` holds a secret being enrolled
//! until one code from it is confirmed; the active one stays in force
//! meanwhile. `last_step` is the time step of the last code accepted: a
//! code is good once (RFC 6238 5.2), checked and moved in one `UPDATE`,
//! so two nodes cannot both accept it.
//!
//! Recovery codes and session cookies are high-entropy secrets tern made:
//! the store keeps their SHA-256 only, like API tokens.

use sqlx::Row;
use tern_common::time::now_secs;

use crate::tokens::secret_hash;
use crate::{AccountId, Result, Store};

/// An account's second factor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totp {
    /// The confirmed secret (base32); `None`: no second factor.
    pub secret: Option<String>,
    /// A secret being enrolled, not yet confirmed.
    pub pending: Option<String>,
}

/// How far a browser session got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The password was right; the TOTP code is still owed.
    Password,
    /// Signed in.
    Full,
}

impl Stage {
    fn code(self) -> i64 {
        match self {
            Stage::Password => 1,
            Stage::Full => 2,
        }
    }
}

/// One browser session, found by its cookie (the store keeps its digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub account_id: AccountId,
    /// The token every form of this session carries.
    pub csrf: String,
    pub stage: Stage,
    /// Seconds since the epoch.
    pub created: i64,
    pub seen: i64,
}

fn opt(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl Store {
    pub async fn totp_get(&self, account: AccountId) -> Result<Totp> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT secret, pending FROM totp WHERE account_id = $1")
                .bind(account)
                .fetch_optional(self.pool())
                .await?;
        Ok(row
            .map(|(secret, pending)| Totp {
                secret: opt(secret),
                pending: opt(pending),
            })
            .unwrap_or_default())
    }

    /// Start (or restart) an enrolment with `pending`; an active secret
    /// stays in force until the new one is confirmed.
    pub async fn totp_set_pending(&self, account: AccountId, pending: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO totp (account_id, pending, created) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id) DO UPDATE SET pending = $2",
        )
        .bind(account)
        .bind(pending)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Make `pending` the account's secret (if it is still the pending
    /// one), with `step` as the last code used, and replace the recovery
    /// codes by `recovery` (their digests are kept). False: the enrolment changed meanwhile.
    pub async fn totp_confirm(
        &self,
        account: AccountId,
        pending: &str,
        step: i64,
        recovery: &[String],
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let r = sqlx::query(
            "UPDATE totp SET secret = pending, pending = '', last_step = $3 \
             WHERE account_id = $1 AND pending = $2 AND pending <> ''",
        )
        .bind(account)
        .bind(pending)
        .bind(step)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
            .bind(account)
            .execute(&mut *tx)
            .await?;
        for d in recovery {
            sqlx::query("INSERT INTO recovery_codes (account_id, digest) VALUES ($1, $2)")
                .bind(account)
                .bind(secret_hash(d))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Take the code of time step `step`: true only if no code of this
    /// step or a later one was taken before (RFC 6238 5.2: one use).
    pub async fn totp_take_step(&self, account: AccountId, step: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE totp SET last_step = $2 WHERE account_id = $1 AND secret <> '' AND last_step < $2",
        )
        .bind(account)
        .bind(step)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Remove the second factor and its recovery codes.
    pub async fn totp_remove(&self, account: AccountId) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for sql in [
            "DELETE FROM totp WHERE account_id = $1",
            "DELETE FROM recovery_codes WHERE account_id = $1",
        ] {
            sqlx::query(sql).bind(account).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Use this recovery code: true once, false after.
    pub async fn recovery_take(&self, account: AccountId, code: &str) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE recovery_codes SET used = $3 \
             WHERE account_id = $1 AND digest = $2 AND used IS NULL",
        )
        .bind(account)
        .bind(secret_hash(code))
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Recovery codes not used yet.
    pub async fn recovery_left(&self, account: AccountId) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used IS NULL",
        )
        .bind(account)
        .fetch_one(self.pool())
        .await?)
    }

    /// A new session for the cookie secret `cookie` (only its digest is
    /// kept).
    pub async fn web_session_create(
        &self,
        cookie: &str,
        account: AccountId,
        csrf: &str,
        stage: Stage,
        ip: &str,
    ) -> Result<()> {
        let now = now_secs();
        sqlx::query(
            "INSERT INTO web_sessions (digest, account_id, csrf, stage, created, seen, ip) \
             VALUES ($1, $2, $3, $4, $5, $5, $6)",
        )
        .bind(secret_hash(cookie))
        .bind(account)
        .bind(csrf)
        .bind(stage.code())
        .bind(now)
        .bind(ip)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn web_session_get(&self, cookie: &str) -> Result<Option<WebSession>> {
        let Some(row) = sqlx::query(
            "SELECT account_id, csrf, stage, created, seen FROM web_sessions WHERE digest = $1",
        )
        .bind(secret_hash(cookie))
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(WebSession {
            account_id: row.try_get(0)?,
            csrf: row.try_get(1)?,
            stage: if row.try_get::<i64, _>(2)? == Stage::Full.code() {
                Stage::Full
            } else {
                Stage::Password
            },
            created: row.try_get(3)?,
            seen: row.try_get(4)?,
        }))
    }

    /// Record activity (callers do it at most once a minute).
    pub async fn web_session_touch(&self, cookie: &str, seen: i64) -> Result<()> {
        sqlx::query("UPDATE web_sessions SET seen = $2 WHERE digest = $1")
            .bind(secret_hash(cookie))
            .bind(seen)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn web_session_delete(&self, cookie: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE digest = $1")
            .bind(secret_hash(cookie))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// End every session of the account (logout everywhere, a new
    /// password, a disabled account); returns how many.
    pub async fn web_sessions_end_all(&self, account: AccountId) -> Result<u64> {
        let r = sqlx::query("DELETE FROM web_sessions WHERE account_id = $1")
            .bind(account)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }

    /// Forget sessions idle since before `idle_before` or opened before
    /// `created_before`.
    pub async fn web_sessions_expire(&self, idle_before: i64, created_before: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM web_sessions WHERE seen < $1 OR created < $2")
            .bind(idle_before)
            .bind(created_before)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }

    /// Add `n` to the day's count of `kind` (`received`, `sent`, …).
    pub async fn tally_add(&self, day: i64, kind: &str, n: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO daily_tally (day, kind, n) VALUES ($1, $2, $3) \
             ON CONFLICT (day, kind) DO UPDATE SET n = daily_tally.n + $3",
        )
        .bind(day)
        .bind(kind)
        .bind(n)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The day's counts, by kind.
    pub async fn tally_get(&self, day: i64) -> Result<Vec<(String, i64)>> {
        Ok(
            sqlx::query_as("SELECT kind, n FROM daily_tally WHERE day = $1 ORDER BY kind")
                .bind(day)
                .fetch_all(self.pool())
                .await?,
        )
    }
}
