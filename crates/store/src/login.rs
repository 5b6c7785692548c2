//! Checking a login (IMAP, POP3, submission AUTH): the account's password
//! or one of its app passwords, and which of them it was.
//!
//! The cost of an answer depends only on what was typed, never on the
//! account: a password with an app password's shape costs two argon2
//! verifications (the app password its selector picks, else a dummy; then
//! the account's password), any other one (and every unknown user) costs
//! one. So the answer's timing tells nobody whether an account or an app
//! password exists, and an account's many app passwords cannot make a
//! login expensive.

use sqlx::Row;
use tern_common::Address;
use tern_common::time::now_secs;

use crate::app_passwords::{canonical, selector};
use crate::directory::Account;
use crate::password::{dummy_hash, verify};
use crate::{AccountId, Result, Store};

/// How many seconds an app password's `last_used` may lag: a phone that
/// logs in every minute does not write the store every time.
const LAST_USED_GRANULARITY: i64 = 60;

/// Which credential a login used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// The account's own password.
    Password,
    /// One of its app passwords.
    App { id: i64, name: String },
}

impl Credential {
    /// The app password's name, for the audit log; `None` for the
    /// account's own password.
    pub fn app_password(&self) -> Option<&str> {
        match self {
            Credential::Password => None,
            Credential::App { name, .. } => Some(name),
        }
    }
}

/// A successful login: the account and the credential that opened it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub account: Account,
    pub credential: Credential,
}

impl Store {
    /// Check a login: `user` is any address of an account, `password` its
    /// password or one of its app passwords (recorded as used). Unknown
    /// users cost as much as a wrong password, and get the same `None`; so
    /// does a disabled account, after the same verification.
    pub async fn authenticate(&self, user: &str, password: &str) -> Result<Option<Login>> {
        let row = match Address::parse(user) {
            Ok(a) => {
                sqlx::query(
                    "SELECT a.id, a.secret FROM accounts a JOIN addresses d ON d.account_id = a.id WHERE d.address = $1",
                )
                .bind(a.to_string())
                .fetch_optional(self.pool())
                .await?
            }
            Err(_) => None,
        };
        let (id, secret) = match &row {
            Some(r) => (Some(r.try_get::<i64, _>(0)?), r.try_get::<String, _>(1)?),
            None => (None, dummy_hash().to_string()),
        };
        if let Some(typed) = canonical(password)
            && let Some(login) = self.app_login(id, &typed).await?
        {
            return Ok(Some(login));
        }
        let pw = password.to_string();
        let ok = crate::hashing::run(move || verify(&pw, &secret)).await?;
        let (true, Some(id)) = (ok, id) else {
            return Ok(None);
        };
        Ok(self
            .account_by_id(id)
            .await?
            .filter(|a| !a.disabled)
            .map(|account| Login {
                account,
                credential: Credential::Password,
            }))
    }

    /// A login with the app password `typed` (canonical) of `account`, if
    /// it is one: one argon2 verification, against the dummy hash when the
    /// account or the selector is unknown.
    async fn app_login(&self, account: Option<AccountId>, typed: &str) -> Result<Option<Login>> {
        let candidate = match account {
            Some(a) => self.app_password_candidate(a, selector(typed)).await?,
            None => None,
        };
        let phc = candidate
            .as_ref()
            .map_or_else(|| dummy_hash().to_string(), |c| c.secret.clone());
        let pw = typed.to_string();
        let ok = crate::hashing::run(move || verify(&pw, &phc)).await?;
        let (true, Some(c), Some(account)) = (ok, candidate, account) else {
            return Ok(None);
        };
        let now = now_secs();
        if c.last_used.is_none_or(|t| t <= now - LAST_USED_GRANULARITY)
            && let Err(e) = self.app_password_used(c.id, now).await
        {
            // The login stands; only its trace is late.
            tracing::warn!(error = %e, app_password = c.id, "cannot record an app password's use");
        }
        Ok(self
            .account_by_id(account)
            .await?
            .filter(|a| !a.disabled)
            .map(|account| Login {
                account,
                credential: Credential::App {
                    id: c.id,
                    name: c.name,
                },
            }))
    }
}
