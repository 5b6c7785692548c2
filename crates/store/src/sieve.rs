//! Sieve scripts (RFC 5228), as ManageSieve (RFC 5804) and `tern sieve`
//! keep them: per account any number of named scripts, at most one of
//! them active. The store keeps the text; whether it compiles is the
//! caller's check (the management layer's), made before `sieve_put`.
//!
//! Limits: a script is at most `MAX_SIEVE_SCRIPT_SIZE` bytes, an account
//! has at most `MAX_SIEVE_SCRIPTS`; names are 1 to `MAX_SIEVE_NAME_CHARS`
//! characters without control characters (RFC 5804 1.6). "At most one
//! active" is held twice: by the transactions here and by a partial unique
//! index, so two nodes activating at once cannot both win. Writers of one
//! account's scripts take its row first (`lock_account`), so they go one at
//! a time on PostgreSQL too.

use sqlx::Row;
use tern_common::time::now_secs;

use crate::{AccountId, Result, Store, StoreError};

/// The largest script, in bytes: far beyond a hand-written filter set.
pub const MAX_SIEVE_SCRIPT_SIZE: usize = 64 * 1024;
/// The most scripts one account may have.
pub const MAX_SIEVE_SCRIPTS: usize = 32;
/// The longest script name, in characters (RFC 5804 1.6 asks servers to
/// take at least 128 octets; this takes 128 characters).
pub const MAX_SIEVE_NAME_CHARS: usize = 128;

/// Which limit a refused write met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SieveLimit {
    /// The account has `MAX_SIEVE_SCRIPTS` already.
    Scripts,
    /// The script is over `MAX_SIEVE_SCRIPT_SIZE`.
    Size,
}

/// One script, without its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SieveScriptInfo {
    pub name: String,
    pub active: bool,
    /// Bytes.
    pub size: i64,
    /// Seconds since the epoch, of the last put.
    pub updated: i64,
}

/// One script with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SieveScript {
    pub name: String,
    pub active: bool,
    pub content: String,
}

/// A script name as RFC 5804 1.6 allows it: not empty, at most
/// `MAX_SIEVE_NAME_CHARS` characters, none of them a control character
/// (U+0000–U+001F, U+007F–U+009F) or a line or paragraph separator
/// (U+2028, U+2029). Names are compared as given (no case folding).
pub fn check_sieve_name(name: &str) -> Result<()> {
    let bad = name.is_empty()
        || name.chars().count() > MAX_SIEVE_NAME_CHARS
        || name
            .chars()
            .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}');
    if bad {
        return Err(StoreError::Invalid(format!(
            "invalid script name {name:?} (1 to {MAX_SIEVE_NAME_CHARS} characters, no control characters)"
        )));
    }
    Ok(())
}

fn check_size(len: usize) -> Result<()> {
    if len > MAX_SIEVE_SCRIPT_SIZE {
        return Err(StoreError::Limit(
            SieveLimit::Size,
            format!(
                "the script is {len} bytes; the most a script may have is {MAX_SIEVE_SCRIPT_SIZE}"
            ),
        ));
    }
    Ok(())
}

impl Store {
    /// Take the account's row for the rest of the transaction, so that
    /// writers of one account's scripts go one at a time (the count limit,
    /// "one active"); whether the account exists. SQLite's `BEGIN
    /// IMMEDIATE` already serialises every writer; PostgreSQL's READ
    /// COMMITTED needs the row lock. Only the account row is taken, so no
    /// cycle forms with writers that lock a mailbox and then its account.
    async fn lock_account(
        &self,
        tx: &mut crate::write_lock::WriteTx,
        account: AccountId,
    ) -> Result<bool> {
        let sql = match self.backend() {
            crate::Backend::Postgres => "SELECT id FROM accounts WHERE id = $1 FOR UPDATE",
            crate::Backend::Sqlite => "SELECT id FROM accounts WHERE id = $1",
        };
        let id: Option<i64> = sqlx::query_scalar(sql)
            .bind(account)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(id.is_some())
    }

    /// Whether the account could put a script of `size` bytes named
    /// `name` now (ManageSieve HAVESPACE, RFC 5804 2.3): replacing one of
    /// that name never adds a script.
    pub async fn sieve_have_space(
        &self,
        account: AccountId,
        name: &str,
        size: usize,
    ) -> Result<()> {
        check_sieve_name(name)?;
        check_size(size)?;
        let names: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sieve_scripts WHERE account_id = $1")
                .bind(account)
                .fetch_all(self.pool())
                .await?;
        if !names.iter().any(|n| n == name) && names.len() >= MAX_SIEVE_SCRIPTS {
            return Err(too_many(names.len()));
        }
        Ok(())
    }

    /// The account's scripts, by name, without their text.
    pub async fn sieve_list(&self, account: AccountId) -> Result<Vec<SieveScriptInfo>> {
        let rows = sqlx::query(
            "SELECT name, active, size, updated FROM sieve_scripts \
             WHERE account_id = $1 ORDER BY name",
        )
        .bind(account)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SieveScriptInfo {
                    name: r.try_get(0)?,
                    active: r.try_get::<i64, _>(1)? != 0,
                    size: r.try_get(2)?,
                    updated: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// The account's script named `name`, with its text.
    pub async fn sieve_get(&self, account: AccountId, name: &str) -> Result<Option<SieveScript>> {
        let row: Option<(String, i64, String)> = sqlx::query_as(
            "SELECT name, active, content FROM sieve_scripts WHERE account_id = $1 AND name = $2",
        )
        .bind(account)
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(name, active, content)| SieveScript {
            name,
            active: active != 0,
            content,
        }))
    }

    /// The account's active script, if it has one.
    pub async fn sieve_active(&self, account: AccountId) -> Result<Option<SieveScript>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT name, content FROM sieve_scripts WHERE account_id = $1 AND active = 1",
        )
        .bind(account)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(name, content)| SieveScript {
            name,
            active: true,
            content,
        }))
    }

    /// Store `content` as the account's script `name`, replacing one of
    /// that name (which stays active if it was). Returns whether the script
    /// is new. Refused over the limits; the text is not checked here.
    pub async fn sieve_put(&self, account: AccountId, name: &str, content: &str) -> Result<bool> {
        check_sieve_name(name)?;
        check_size(content.len())?;
        if content.contains('\0') {
            return Err(StoreError::Invalid("a script has no NUL characters".into()));
        }
        let now = now_secs();
        let mut tx = self.write_tx().await?;
        if !self.lock_account(&mut tx, account).await? {
            return Err(StoreError::NotFound(format!("account #{account}")));
        }
        let r = sqlx::query(
            "UPDATE sieve_scripts SET content = $1, size = $2, updated = $3 \
             WHERE account_id = $4 AND name = $5",
        )
        .bind(content)
        .bind(content.len() as i64)
        .bind(now)
        .bind(account)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() > 0 {
            tx.commit().await?;
            return Ok(false);
        }
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sieve_scripts WHERE account_id = $1")
                .bind(account)
                .fetch_one(&mut *tx)
                .await?;
        if count as usize >= MAX_SIEVE_SCRIPTS {
            return Err(too_many(count as usize));
        }
        sqlx::query(
            "INSERT INTO sieve_scripts (account_id, name, content, size, active, created, updated) \
             VALUES ($1, $2, $3, $4, 0, $5, $5)",
        )
        .bind(account)
        .bind(name)
        .bind(content)
        .bind(content.len() as i64)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique(e, name))?;
        tx.commit().await?;
        Ok(true)
    }

    /// Make `name` the account's active script, and no other.
    pub async fn sieve_activate(&self, account: AccountId, name: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        self.lock_account(&mut tx, account).await?;
        let id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM sieve_scripts WHERE account_id = $1 AND name = $2")
                .bind(account)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(id) = id else {
            return Err(StoreError::NotFound(format!("script {name:?}")));
        };
        sqlx::query("UPDATE sieve_scripts SET active = 0 WHERE account_id = $1 AND id <> $2")
            .bind(account)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sieve_scripts SET active = 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Leave the account without an active script; returns the name of the
    /// one that was active, if any.
    pub async fn sieve_deactivate(&self, account: AccountId) -> Result<Option<String>> {
        let mut tx = self.write_tx().await?;
        self.lock_account(&mut tx, account).await?;
        let was: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sieve_scripts WHERE account_id = $1 AND active = 1",
        )
        .bind(account)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query("UPDATE sieve_scripts SET active = 0 WHERE account_id = $1 AND active = 1")
            .bind(account)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(was)
    }

    /// Delete the account's script `name`; the active one is refused
    /// (`StoreError::Active`, RFC 5804 2.10): deactivate it first.
    pub async fn sieve_remove(&self, account: AccountId, name: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        self.lock_account(&mut tx, account).await?;
        let active: Option<i64> = sqlx::query_scalar(
            "SELECT active FROM sieve_scripts WHERE account_id = $1 AND name = $2",
        )
        .bind(account)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        match active {
            None => return Err(StoreError::NotFound(format!("script {name:?}"))),
            Some(a) if a != 0 => return Err(StoreError::Active(format!("script {name:?}"))),
            Some(_) => {}
        }
        sqlx::query("DELETE FROM sieve_scripts WHERE account_id = $1 AND name = $2")
            .bind(account)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rename the account's script `from` to `to`; an active script stays
    /// active (RFC 5804 2.11.1). Refused when `to` exists.
    pub async fn sieve_rename(&self, account: AccountId, from: &str, to: &str) -> Result<()> {
        check_sieve_name(to)?;
        let mut tx = self.write_tx().await?;
        self.lock_account(&mut tx, account).await?;
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sieve_scripts WHERE account_id = $1 AND (name = $2 OR name = $3)",
        )
        .bind(account)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx)
        .await?;
        if !names.iter().any(|n| n == from) {
            return Err(StoreError::NotFound(format!("script {from:?}")));
        }
        if from == to {
            return Ok(());
        }
        if names.iter().any(|n| n == to) {
            return Err(StoreError::Duplicate(format!("script {to:?}")));
        }
        sqlx::query("UPDATE sieve_scripts SET name = $1 WHERE account_id = $2 AND name = $3")
            .bind(to)
            .bind(account)
            .bind(from)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique(e, to))?;
        tx.commit().await?;
        Ok(())
    }
}

fn too_many(have: usize) -> StoreError {
    StoreError::Limit(
        SieveLimit::Scripts,
        format!(
            "the account has {have} scripts, the most it may have ({MAX_SIEVE_SCRIPTS}); delete one first"
        ),
    )
}

fn unique(e: sqlx::Error, name: &str) -> StoreError {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Duplicate(format!("script {name:?}"))
        }
        e => e.into(),
    }
}

/// The digest an id is kept as: ids hold senders' addresses.
fn seen_digest(id: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, id.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// Whether Sieve recorded `id` for the account and it has not expired
    /// at `now` (RFC 7352 `duplicate`; vacation's window per sender).
    pub async fn sieve_seen(&self, account: AccountId, id: &str, now: i64) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT expires FROM sieve_seen WHERE account_id = $1 AND digest = $2 AND expires > $3",
        )
        .bind(account)
        .bind(seen_digest(id))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(found.is_some())
    }

    /// Record `id` for the account until `now + expiry_secs`. An id still
    /// recorded keeps its window unless `refresh` (RFC 7352 3.2 `:last`)
    /// starts it again. Expired ids of the account go at the same time.
    pub async fn sieve_remember(
        &self,
        account: AccountId,
        id: &str,
        expiry_secs: u64,
        refresh: bool,
        now: i64,
    ) -> Result<()> {
        let expires = now.saturating_add(i64::try_from(expiry_secs).unwrap_or(i64::MAX / 2));
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM sieve_seen WHERE account_id = $1 AND expires <= $2")
            .bind(account)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let sql = if refresh {
            "INSERT INTO sieve_seen (account_id, digest, expires) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, digest) DO UPDATE SET expires = excluded.expires"
        } else {
            "INSERT INTO sieve_seen (account_id, digest, expires) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, digest) DO NOTHING"
        };
        sqlx::query(sql)
            .bind(account)
            .bind(seen_digest(id))
            .bind(expires)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_rfc_5804() {
        for ok in ["vacation", "Mail filters", "ümlaut €", &"x".repeat(128)] {
            assert!(check_sieve_name(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "",
            "a\tb",
            "a\nb",
            "a\u{7f}",
            "a\u{85}b",
            "a\u{2028}b",
            "a\u{2029}",
            &"x".repeat(129),
        ] {
            assert!(check_sieve_name(bad).is_err(), "{bad:?}");
        }
    }
}
