//! API tokens: what a script or dashboard presents as `Authorization:
//! Bearer` (RFC 6750 2.1). A token is a 256-bit random secret, shown once
//! when it is made; the store keeps only its SHA-256. The secret is
//! high-entropy, so a fast unsalted hash is enough (nobody can guess their
//! way to a preimage), and a presented secret is found by its hash with
//! one indexed lookup. Rule: no secret is ever stored or logged.

use aws_lc_rs::digest;
use sqlx::Row;
use tern_common::time::now_secs;

use crate::{Result, Store, StoreError};

/// What a token's secret starts with: secret scanners and people can tell
/// it apart from other credentials.
const PREFIX: &str = "tern_";

/// How many seconds a token's `last_used` may lag: a busy script does not
/// write the store on every request.
const LAST_USED_GRANULARITY: i64 = 60;

/// What a token may manage, as stored. (People write it `admin` or
/// `domain:DOMAIN`: `tern_manage::Scope::parse` reads that, once.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    /// Everything.
    Admin,
    /// One domain (its name as stored: lower case, IDNA A-label), and
    /// nothing outside it.
    Domain(String),
}

impl std::fmt::Display for TokenScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenScope::Admin => f.write_str("admin"),
            TokenScope::Domain(d) => write!(f, "domain:{d}"),
        }
    }
}

/// A token as the store knows it: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scope: TokenScope,
    /// Seconds since the epoch.
    pub created: i64,
    /// When it stops working, if ever (seconds since the epoch).
    pub expires: Option<i64>,
    /// The last request it authorised, to the minute.
    pub last_used: Option<i64>,
}

impl ApiToken {
    pub fn expired(&self, now: i64) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

/// A token just made, with its secret: the only time the secret exists
/// outside the caller's hands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
}

/// `tern_` and 64 hex digits: 256 random bits.
fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    let mut s = String::with_capacity(PREFIX.len() + 64);
    s.push_str(PREFIX);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The SHA-256 of a secret, in hex: what the store keeps and looks up.
pub(crate) fn secret_hash(secret: &str) -> String {
    digest::digest(&digest::SHA256, secret.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Could this be a secret tern made? Anything else is refused without a
/// look-up.
fn well_formed(secret: &str) -> bool {
    secret
        .strip_prefix(PREFIX)
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A token's name: 1 to 64 characters without control characters, not
/// only digits (so that `revoke NAME-or-ID` is never ambiguous).
fn check_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 64 || n.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "invalid token name {name:?} (1 to 64 characters, no control characters)"
        )));
    }
    if n.chars().all(|c| c.is_ascii_digit()) {
        return Err(StoreError::Invalid(format!(
            "invalid token name {name:?}: a name of digits only would read as an id"
        )));
    }
    Ok(n.to_string())
}

const TOKEN_COLS: &str = "t.id, t.name, t.scope, d.name, t.created, t.expires, t.last_used";
const TOKEN_FROM: &str = "api_tokens t LEFT JOIN domains d ON d.id = t.domain_id";

fn token_from(r: &sqlx::any::AnyRow) -> Result<ApiToken> {
    let scope: String = r.try_get(2)?;
    let domain: Option<String> = r.try_get(3)?;
    let scope = match (scope.as_str(), domain) {
        ("admin", None) => TokenScope::Admin,
        ("domain", Some(d)) => TokenScope::Domain(d),
        (s, d) => {
            return Err(StoreError::Other(anyhow::anyhow!(
                "api token with scope {s:?} and domain {d:?}"
            )));
        }
    };
    Ok(ApiToken {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        scope,
        created: r.try_get(4)?,
        expires: r.try_get(5)?,
        last_used: r.try_get(6)?,
    })
}

impl Store {
    /// Make a token; its secret is in the answer and nowhere else. A
    /// domain scope must name a domain of this server; `expires` (seconds
    /// since the epoch) must lie in the future.
    pub async fn token_create(
        &self,
        name: &str,
        scope: &TokenScope,
        expires: Option<i64>,
    ) -> Result<CreatedToken> {
        let name = check_name(name)?;
        let now = now_secs();
        if expires.is_some_and(|e| e <= now) {
            return Err(StoreError::Invalid(
                "the expiry must lie in the future".into(),
            ));
        }
        let secret = new_secret();
        let mut tx = self.write_tx().await?;
        let (kind, domain_id) = match scope {
            TokenScope::Admin => ("admin", None),
            TokenScope::Domain(d) => {
                let id: i64 = sqlx::query_scalar("SELECT id FROM domains WHERE name = $1")
                    .bind(d)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("domain {d}")))?;
                ("domain", Some(id))
            }
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, scope, domain_id, secret_hash, created, expires) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(&name)
        .bind(kind)
        .bind(domain_id)
        .bind(secret_hash(&secret))
        .bind(now)
        .bind(expires)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Duplicate(format!("token {name:?}")))?;
        tx.commit().await?;
        Ok(CreatedToken {
            token: ApiToken {
                id,
                name,
                scope: scope.clone(),
                created: now,
                expires,
                last_used: None,
            },
            secret,
        })
    }

    /// Every token (expired ones too), by id; no secrets.
    pub async fn token_list(&self) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLS} FROM {TOKEN_FROM} ORDER BY t.id"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(token_from).collect()
    }

    /// Revoke a token, named by its name or its id: it is deleted, and its
    /// secret never works again. Answers what was revoked.
    pub async fn token_revoke(&self, name_or_id: &str) -> Result<ApiToken> {
        let key = name_or_id.trim();
        let id: Option<i64> = key.parse().ok();
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLS} FROM {TOKEN_FROM} WHERE t.name = $1 OR t.id = $2"
        )))
        .bind(key)
        .bind(id.unwrap_or(-1))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("token {key:?}")))?;
        let token = token_from(&row)?;
        sqlx::query("DELETE FROM api_tokens WHERE id = $1")
            .bind(token.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The token whose secret this is, if it works at `now` (not expired,
    /// not revoked); its `last_used` becomes `now` (written at most once a
    /// minute).
    pub async fn token_verify(&self, secret: &str, now: i64) -> Result<Option<ApiToken>> {
        if !well_formed(secret) {
            return Ok(None);
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLS} FROM {TOKEN_FROM} WHERE t.secret_hash = $1"
        )))
        .bind(secret_hash(secret))
        .fetch_optional(self.pool())
        .await?;
        let Some(mut token) = row.as_ref().map(token_from).transpose()? else {
            return Ok(None);
        };
        if token.expired(now) {
            return Ok(None);
        }
        if token
            .last_used
            .is_none_or(|t| t <= now - LAST_USED_GRANULARITY)
        {
            let mut tx = self.write_tx().await?;
            sqlx::query("UPDATE api_tokens SET last_used = $1 WHERE id = $2")
                .bind(now)
                .bind(token.id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            token.last_used = Some(now);
        }
        Ok(Some(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_random_bits_and_only_their_hash_is_kept() {
        let (a, b) = (new_secret(), new_secret());
        assert!(well_formed(&a) && well_formed(&b), "{a}");
        assert_ne!(a, b);
        let h = secret_hash(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a[PREFIX.len()..]));
        // The SHA-256 of "abc" (FIPS 180-2 B.1): the hash is the standard one.
        assert_eq!(
            secret_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(!well_formed("tern_xyz"));
        assert!(!well_formed(&a.to_uppercase()));
    }

    #[test]
    fn scopes_print_as_they_are_written() {
        assert_eq!(TokenScope::Admin.to_string(), "admin");
        let d = TokenScope::Domain("example.org".into());
        assert_eq!(d.to_string(), "domain:example.org");
    }

    #[test]
    fn names_are_never_ids() {
        assert_eq!(check_name(" ci ").unwrap(), "ci");
        assert!(check_name("42").is_err());
        assert!(check_name("").is_err());
        assert!(check_name("a\nb").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
        assert!(check_name("42-grafana").is_ok());
    }
}
