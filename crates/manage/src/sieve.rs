//! Sieve scripts (RFC 5228) of one account: list, get, put (compiled
//! first: a script that does not compile is never stored), activate,
//! deactivate, remove, rename, and check without storing. In the scope of
//! the account's domain, like every user operation. ManageSieve (RFC 5804)
//! stores through `put_script` and checks through `check_script`, so a
//! script is judged by one compiler, one way, whoever uploads it.
//!
//! Compiling is sieve-rs's (0.7.3) with tern's limits: a script of at most
//! `MAX_SIEVE_SCRIPT_SIZE` bytes, 15 nested blocks and tests, 6 includes;
//! and only the extensions `sieve_extensions` lists (`sieve_require.rs`).

use serde::Serialize;
use tern_store::{AccountId, MAX_SIEVE_SCRIPT_SIZE, SieveScriptInfo, Store, StoreError};
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Error, Result};
use crate::scope::Scope;
use crate::sieve_require::required;

/// Why a script does not compile, and where (1-based; a column counts
/// characters from the start of the line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ScriptError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

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

/// The compiler with tern's limits.
fn compiler() -> sieve::Compiler {
    sieve::Compiler::new()
        .with_max_script_size(MAX_SIEVE_SCRIPT_SIZE)
        .with_max_nested_blocks(15)
        .with_max_nested_tests(15)
        .with_max_includes(6)
}

/// Whether `script` compiles; the script as text when it does. A script is
/// UTF-8 (RFC 5228 2.2); bytes that are not are refused where they start.
pub fn check_script(script: &[u8]) -> std::result::Result<String, ScriptError> {
    let text = match std::str::from_utf8(script) {
        Ok(t) => t,
        Err(e) => {
            let (line, column) = position(&script[..e.valid_up_to()]);
            return Err(ScriptError {
                line,
                column,
                message: "the script is not UTF-8".into(),
            });
        }
    };
    if let Some(at) = text.find('\0') {
        let (line, column) = position(&script[..at]);
        return Err(ScriptError {
            line,
            column,
            message: "a script has no NUL characters".into(),
        });
    }
    // Uploads are hostile input: should the compiler panic on one, the
    // script is refused, and the session or command goes on.
    let compiled = std::panic::catch_unwind(|| compiler().compile(script).map(|_| ()));
    let Ok(compiled) = compiled else {
        return Err(ScriptError {
            line: 1,
            column: 1,
            message: "the compiler failed on this script".into(),
        });
    };
    match compiled {
        Ok(()) => {
            // RFC 5228 3.2: an extension tern does not offer fails the
            // script, where sieve-rs would take it.
            let known = sieve_extensions();
            match required(text)
                .into_iter()
                .find(|r| !known.contains(&r.name))
            {
                Some(r) => Err(ScriptError {
                    line: r.line,
                    column: r.column,
                    message: format!("Unsupported extension {:?}", r.name),
                }),
                None => Ok(text.to_string()),
            }
        }
        Err(e) => {
            // sieve-rs counts lines and columns from 1 (the column of the
            // token at fault).
            let full = e.to_string();
            let message = match full.rfind(" at line ") {
                Some(i) => full[..i].to_string(),
                None => full,
            };
            Err(ScriptError {
                line: e.line_num().max(1),
                column: e.line_pos().max(1),
                message,
            })
        }
    }
}

/// `check_script` on the blocking pool: a large script takes a while to
/// compile (tens of milliseconds for 64 KiB of regexes), which an async
/// worker serving other sessions must not spend.
pub async fn check_script_blocking(script: &[u8]) -> std::result::Result<String, ScriptError> {
    let owned = script.to_vec();
    match tokio::task::spawn_blocking(move || check_script(&owned)).await {
        Ok(r) => r,
        Err(_) => Err(ScriptError {
            line: 1,
            column: 1,
            message: "the compiler failed on this script".into(),
        }),
    }
}

/// The 1-based line and column just after `before`.
fn position(before: &[u8]) -> (usize, usize) {
    let text = String::from_utf8_lossy(before);
    let line = text.matches('\n').count() + 1;
    let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
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

/// The extensions the compiler accepts in `require`, as ManageSieve's
/// SIEVE capability lists them (RFC 5804 1.7): the standard ones, without
/// sieve-rs's own (`vnd.stalwart.*`) and the joke comparator.
pub fn sieve_extensions() -> Vec<String> {
    sieve::compiler::grammar::Capability::all()
        .iter()
        .map(|c| c.to_string())
        .filter(|c| !c.starts_with("vnd.") && c != "comparator-elbonia")
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_compile_or_say_where_they_do_not() {
        let ok = b"require [\"fileinto\", \"imap4flags\"];\r\n\
                   if header :contains \"subject\" \"[list]\" {\r\n\
                   \x20 addflag \"\\\\Seen\";\r\n\
                   \x20 fileinto \"Lists\";\r\n\
                   }\r\n";
        assert!(check_script(ok).is_ok(), "{:?}", check_script(ok));
        let e = check_script(b"keep;\nif true {\n  fileinto \"x\";\n}\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 3), "{e:?}");
        assert!(e.message.contains("fileinto"), "{e:?}");
        let e = check_script(b"keep;\n\nif true { keep;\n").unwrap_err();
        assert!(e.line >= 3, "{e:?}");
        let e = check_script(b"keep;\n  stop\xff;").unwrap_err();
        assert_eq!((e.line, e.column), (2, 7), "{e:?}");
        let e = check_script(b"keep;\0").unwrap_err();
        assert_eq!((e.line, e.column), (1, 6), "{e:?}");
        assert_eq!(
            e.to_string(),
            "line 1, column 6: a script has no NUL characters"
        );
    }

    #[test]
    fn extensions_are_the_standard_ones() {
        let ext = sieve_extensions();
        for want in [
            "fileinto",
            "vacation",
            "imap4flags",
            "include",
            "comparator-i;ascii-numeric",
        ] {
            assert!(ext.iter().any(|e| e == want), "{want} in {ext:?}");
        }
        assert!(ext.iter().all(|e| !e.starts_with("vnd.")), "{ext:?}");
    }
}
