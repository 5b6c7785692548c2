//! Sieve scripts (RFC 5228) of one account: list, get, put (compiled
//! first: a script that does not compile is never stored), activate,
//! deactivate, remove, rename, and check without storing. In the scope of
//! the account's domain, like every user operation. ManageSieve (RFC 5804)
//! stores through `put_script` and checks through `check_script`, so a
//! script is judged by one compiler, one way, whoever uploads it.
//!
//! Compiling is `tern_filter`'s, the one compiler with tern's limits.

use serde::Serialize;
use tern_filter::{ScriptError, check_script_blocking};
use tern_store::{AccountId, MAX_SIEVE_SCRIPT_SIZE, SieveScriptInfo, Store, StoreError};
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Error, Result};
use crate::scope::Scope;

// The compiler refuses what the store would: one limit.
const _: () = assert!(tern_filter::MAX_SCRIPT_SIZE == MAX_SIEVE_SCRIPT_SIZE);

/// A refused `put_script`: the script does not compile, or the store
/// refused it (limits, names, the account).
#[derive(Debug)]
pub enum PutError {
    Script(ScriptError),
    Store(StoreError),
}

impl From<PutError> for Error {
    fn from(e: PutError) -> Error {
        match e {
            PutError::Script(s) => Error::invalid("script", s.to_string()),
            PutError::Store(e) => Error::from(e),
        }
    }
}

/// One script, listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SieveInfo {
    pub name: String,
    /// It is the account's active script.
    pub active: bool,
    /// Bytes.
    pub size: u64,
    /// Seconds since the epoch, of the last upload.
    pub updated: i64,
}

impl From<SieveScriptInfo> for SieveInfo {
    fn from(s: SieveScriptInfo) -> SieveInfo {
        SieveInfo {
            name: s.name,
            active: s.active,
            size: s.size.max(0) as u64,
            updated: s.updated,
        }
    }
}

/// Compile `script` and, when it compiles, store it as the account's
/// script `name` (replacing one of that name; an active one stays
/// active). Returns whether the script is new.
pub async fn put_script(
    store: &Store,
    account: AccountId,
    name: &str,
    script: &[u8],
) -> std::result::Result<bool, PutError> {
    tern_store::check_sieve_name(name).map_err(PutError::Store)?;
    if script.len() > MAX_SIEVE_SCRIPT_SIZE {
        // The store's refusal, with its limit, before compiling.
        store
            .sieve_have_space(account, name, script.len())
            .await
            .map_err(PutError::Store)?;
    }
    let text = check_script_blocking(script)
        .await
        .map_err(PutError::Script)?;
    store
        .sieve_put(account, name, &text)
        .await
        .map_err(PutError::Store)
}

impl Manager {
    /// `user`'s scripts, by name.
    pub async fn sieve_list(&self, scope: &Scope, user: &str) -> Result<Vec<SieveInfo>> {
        let id = self.account_id(scope, user).await?;
        let all = self.store.sieve_list(id).await?;
        Ok(all.into_iter().map(SieveInfo::from).collect())
    }

    /// The text of `user`'s script `name`.
    pub async fn sieve_get(&self, scope: &Scope, user: &str, name: &str) -> Result<String> {
        let id = self.account_id(scope, user).await?;
        match self.store.sieve_get(id, name).await? {
            Some(s) => Ok(s.content),
            None => Err(Error::not_found(format!("script {name:?} not found"))),
        }
    }

    /// Compile `script` and store it as `user`'s script `name`; returns
    /// whether it is new. A script that does not compile is refused with
    /// its line and column.
    pub async fn sieve_put(
        &self,
        scope: &Scope,
        user: &str,
        name: &str,
        script: &[u8],
    ) -> Result<bool> {
        let id = self.account_id(scope, user).await?;
        put_script(&self.store, id, name, script)
            .await
            .map_err(|e| match e {
                PutError::Store(StoreError::Invalid(m)) => Error::invalid("name", m),
                e => e.into(),
            })
    }

    /// Make `name` `user`'s active script (and no other).
    pub async fn sieve_activate(&self, scope: &Scope, user: &str, name: &str) -> Result<()> {
        let id = self.account_id(scope, user).await?;
        self.store.sieve_activate(id, name).await?;
        Ok(())
    }

    /// Leave `user` without an active script; the one that was, if any.
    pub async fn sieve_deactivate(&self, scope: &Scope, user: &str) -> Result<Option<String>> {
        let id = self.account_id(scope, user).await?;
        Ok(self.store.sieve_deactivate(id).await?)
    }

    /// Delete `user`'s script `name`; not the active one.
    pub async fn sieve_remove(&self, scope: &Scope, user: &str, name: &str) -> Result<()> {
        let id = self.account_id(scope, user).await?;
        self.store.sieve_remove(id, name).await?;
        Ok(())
    }

    /// Rename `user`'s script `from` to `to`; active, it stays active.
    pub async fn sieve_rename(
        &self,
        scope: &Scope,
        user: &str,
        from: &str,
        to: &str,
    ) -> Result<()> {
        let id = self.account_id(scope, user).await?;
        self.store
            .sieve_rename(id, from, to)
            .await
            .map_err(|e| match e {
                StoreError::Invalid(m) => Error::invalid("name", m),
                e => e.into(),
            })
    }

    /// Whether `script` would compile for `user`, without storing it.
    pub async fn sieve_check(&self, scope: &Scope, user: &str, script: &[u8]) -> Result<()> {
        self.account_id(scope, user).await?;
        check_script_blocking(script)
            .await
            .map(|_| ())
            .map_err(|e| Error::invalid("script", e.to_string()))
    }
}
