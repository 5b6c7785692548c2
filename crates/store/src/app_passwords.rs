//! App passwords: per-device passwords an account's mail programs use
//! beside its own password (IMAP, POP3, submission AUTH), each with a name
//! unique in the account, revocable on its own, its last use recorded.
//!
//! tern makes them: 16 characters from a 32-letter alphabet without look-
//! alikes (`l`, `o`, `0`, `1`), shown once as four groups of four
//! (`abcd-efgh-jkmn-pqrs`), 80 random bits. The store keeps their argon2id
//! hash, like an account's password, and their first group as a selector:
//! not secret (the other 60 bits are), it picks the one hash a login
//! verifies, so a login costs at most two argon2 runs however many app
//! passwords the account has (see `login.rs`). An account has at most
//! `MAX_APP_PASSWORDS`. Rule: no app password is ever stored or logged.

use sqlx::Row;
use tern_common::time::now_secs;

use crate::password::hash_password;
use crate::{AccountId, Result, Store, StoreError};

/// The most app passwords one account may have: one per device, with room
/// to spare; more is refused with an error saying so.
pub const MAX_APP_PASSWORDS: usize = 20;

/// The letters of an app password: lower case and digits without `l`, `o`,
/// `0` and `1`, which read alike. 32 of them: 5 bits each.
const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// Characters in an app password, and in its selector.
const LENGTH: usize = 16;
const SELECTOR: usize = 4;

/// One app password, without the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPassword {
    pub id: i64,
    /// The device it is for; unique in the account.
    pub name: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// The last login it made, to the minute.
    pub last_used: Option<i64>,
}

/// An app password just made, with the password itself: the only time it
/// exists outside the user's device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedAppPassword {
    pub app_password: AppPassword,
    /// As the user should type it: four groups of four, with dashes.
    pub password: String,
}

/// What a login needs to check one app password.
pub(crate) struct Candidate {
    pub id: i64,
    pub name: String,
    /// The argon2id PHC string.
    pub secret: String,
    pub last_used: Option<i64>,
}

/// 16 random characters of the alphabet (the canonical form).
fn generate() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..LENGTH)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// `abcdefghjkmnpqrs` → `abcd-efgh-jkmn-pqrs`.
fn grouped(canonical: &str) -> String {
    canonical
        .as_bytes()
        .chunks(SELECTOR)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The canonical form of what a user typed, if it has an app password's
/// shape: dashes and spaces left out, upper case read as lower case.
pub(crate) fn canonical(typed: &str) -> Option<String> {
    let c: String = typed
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (c.len() == LENGTH && c.bytes().all(|b| ALPHABET.contains(&b))).then_some(c)
}

/// The selector of a canonical app password: its first group.
pub(crate) fn selector(canonical: &str) -> &str {
    &canonical[..SELECTOR]
}

/// A device name: 1 to 64 characters, no control characters.
fn check_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 64 || n.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "invalid app password name {name:?} (1 to 64 characters, no control characters)"
        )));
    }
    Ok(n.to_string())
}

impl Store {
    /// Make an app password named `name` for the account; the password is
    /// in the answer and nowhere else. Refused when the account has one of
    /// that name, or already `MAX_APP_PASSWORDS`.
    pub async fn app_password_add(
        &self,
        account: AccountId,
        name: &str,
    ) -> Result<CreatedAppPassword> {
        let name = check_name(name)?;
        // A selector the account does not use yet (a race with another
        // add is caught by the UNIQUE constraint).
        let taken: Vec<String> =
            sqlx::query_scalar("SELECT selector FROM app_passwords WHERE account_id = $1")
                .bind(account)
                .fetch_all(self.pool())
                .await?;
        let password = loop {
            let p = generate();
            if !taken.iter().any(|t| t == selector(&p)) {
                break p;
            }
        };
        // Hashed before the write transaction: argon2 takes a while, and
        // the write lock is everyone's.
        let pw = password.clone();
        let secret = crate::hashing::run(move || hash_password(&pw)).await??;
        let mut tx = self.write_tx().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("account #{account}")));
        }
        let names: Vec<String> =
            sqlx::query_scalar("SELECT name FROM app_passwords WHERE account_id = $1")
                .bind(account)
                .fetch_all(&mut *tx)
                .await?;
        if names.contains(&name) {
            return Err(StoreError::Duplicate(format!("app password {name:?}")));
        }
        if names.len() >= MAX_APP_PASSWORDS {
            return Err(StoreError::Invalid(format!(
                "the account already has {} app passwords, the most it may have; revoke one first",
                names.len()
            )));
        }
        let now = now_secs();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO app_passwords (account_id, name, selector, secret, created) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(account)
        .bind(&name)
        .bind(selector(&password))
        .bind(&secret)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Duplicate(format!("app password {name:?}"))
            }
            e => e.into(),
        })?;
        tx.commit().await?;
        Ok(CreatedAppPassword {
            app_password: AppPassword {
                id,
                name,
                created: now,
                last_used: None,
            },
            password: grouped(&password),
        })
    }

    /// The account's app passwords, by name; no passwords.
    pub async fn app_password_list(&self, account: AccountId) -> Result<Vec<AppPassword>> {
        let rows = sqlx::query(
            "SELECT id, name, created, last_used FROM app_passwords WHERE account_id = $1 ORDER BY name",
        )
        .bind(account)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AppPassword {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    created: r.try_get(2)?,
                    last_used: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Revoke (delete) the account's app password named `name`: it logs
    /// in no more. Sessions it already opened run on until they end.
    pub async fn app_password_revoke(&self, account: AccountId, name: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let r = sqlx::query("DELETE FROM app_passwords WHERE account_id = $1 AND name = $2")
            .bind(account)
            .bind(name.trim())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "app password {:?}",
                name.trim()
            )));
        }
        Ok(())
    }

    /// The account's app password with this selector, if any.
    pub(crate) async fn app_password_candidate(
        &self,
        account: AccountId,
        selector: &str,
    ) -> Result<Option<Candidate>> {
        let row: Option<(i64, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, name, secret, last_used FROM app_passwords \
             WHERE account_id = $1 AND selector = $2",
        )
        .bind(account)
        .bind(selector)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(id, name, secret, last_used)| Candidate {
            id,
            name,
            secret,
            last_used,
        }))
    }

    /// Record a login with an app password at `now`.
    pub(crate) async fn app_password_used(&self, id: i64, now: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE app_passwords SET last_used = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
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
    fn made_passwords_have_the_shape_logins_recognise() {
        for _ in 0..100 {
            let p = generate();
            let shown = grouped(&p);
            assert_eq!(shown.len(), 19, "{shown}");
            assert_eq!(shown.matches('-').count(), 3, "{shown}");
            assert_eq!(canonical(&shown).as_deref(), Some(p.as_str()));
            assert_eq!(selector(&p), &shown[..4]);
        }
    }

    #[test]
    fn typing_variants_are_read_as_the_same_password() {
        let c = Some("abcdefghjkmnpqrs".to_string());
        assert_eq!(canonical("abcd-efgh-jkmn-pqrs"), c);
        // Spaces instead of dashes, none at all, and capitals from a phone
        // keyboard's auto-capitalisation.
        assert_eq!(canonical("abcd efgh jkmn pqrs"), c);
        assert_eq!(canonical("abcdefghjkmnpqrs"), c);
        assert_eq!(canonical("Abcd-efgh-jkmn-pqrs"), c);
        // Not the shape: too short, letters outside the alphabet, a
        // typical account password.
        assert_eq!(canonical("abcd-efgh-jkmn"), None);
        assert_eq!(canonical("abcd-efgh-jkmn-pql0"), None);
        assert_eq!(canonical("correct horse battery staple"), None);
    }

    #[test]
    fn device_names() {
        assert_eq!(check_name(" phone ").unwrap(), "phone");
        assert!(check_name("Alice's iPhone").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a\tb").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
    }
}
