//! API tokens: create, list, revoke (admin only), and the check a bearer
//! secret gets (`token_scope`, for the JSON API). The secret is returned
//! once, by `token_create`; the store keeps only its SHA-256.

use serde::{Deserialize, Serialize};
use tern_common::time::now_secs;
use tern_store::{ApiToken, TokenScope};
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Code, Error, Result};
use crate::scope::Scope;

/// The longest a token may live, in days (100 years: "never" is spelled
/// by leaving the expiry out).
pub const MAX_TOKEN_DAYS: u32 = 36_500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    /// `admin` or `domain:DOMAIN`.
    pub scope: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// When it stops working; absent: never.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    /// The last request it authorised, to the minute; absent: never used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<i64>,
}

impl From<ApiToken> for TokenInfo {
    fn from(t: ApiToken) -> TokenInfo {
        TokenInfo {
            id: t.id,
            name: t.name,
            scope: scope_of(&t.scope).name(),
            created: t.created,
            expires: t.expires,
            last_used: t.last_used,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    /// `admin` (the default) or `domain:DOMAIN`.
    #[serde(default)]
    pub scope: Option<String>,
    /// It stops working after this many days; omitted: never.
    #[serde(default)]
    pub expires_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TokenCreated {
    pub token: TokenInfo,
    /// The secret to send as `Authorization: Bearer`, shown this once.
    pub secret: String,
}

fn scope_of(t: &TokenScope) -> Scope {
    match t {
        TokenScope::Admin => Scope::Admin,
        TokenScope::Domain(d) => Scope::Domain(d.clone()),
    }
}

fn token_scope_of(s: &Scope) -> TokenScope {
    match s {
        Scope::Admin => TokenScope::Admin,
        Scope::Domain(d) => TokenScope::Domain(d.clone()),
    }
}

impl Manager {
    /// Make a token. Tokens are server-wide: admin only.
    pub async fn token_create(&self, scope: &Scope, new: &NewToken) -> Result<TokenCreated> {
        scope.admin()?;
        let given = match new.scope.as_deref() {
            None => Scope::Admin,
            Some(s) => Scope::parse(s)?,
        };
        let expires = match new.expires_days {
            None => None,
            Some(d @ 1..=MAX_TOKEN_DAYS) => Some(now_secs() + i64::from(d) * 86_400),
            Some(_) => {
                return Err(Error::invalid(
                    "expires_days",
                    format!("between 1 and {MAX_TOKEN_DAYS}"),
                ));
            }
        };
        let made = self
            .store
            .token_create(&new.name, &token_scope_of(&given), expires)
            .await
            .map_err(|e| {
                let e = Error::from(e);
                match e.code {
                    Code::NotFound => e.on("scope"),
                    _ => e.on("name"),
                }
            })?;
        Ok(TokenCreated {
            token: made.token.into(),
            secret: made.secret,
        })
    }

    /// Every token, without secrets: admin only.
    pub async fn token_list(&self, scope: &Scope) -> Result<Vec<TokenInfo>> {
        scope.admin()?;
        let all = self.store.token_list().await?;
        Ok(all.into_iter().map(TokenInfo::from).collect())
    }

    /// Revoke a token named by its name or id: admin only.
    pub async fn token_revoke(&self, scope: &Scope, name_or_id: &str) -> Result<TokenInfo> {
        scope.admin()?;
        Ok(self.store.token_revoke(name_or_id).await?.into())
    }

    /// What a bearer secret may do: the scope of its token, if it is one
    /// that works now (not expired, not revoked). Its use is recorded.
    pub async fn token_scope(&self, secret: &str) -> Result<Option<(TokenInfo, Scope)>> {
        let Some(t) = self.store.token_verify(secret, now_secs()).await? else {
            return Ok(None);
        };
        let scope = scope_of(&t.scope);
        Ok(Some((t.into(), scope)))
    }
}
