//! App passwords: per-device passwords of one account, made (and shown)
//! once, listed with their last use, revoked one by one. In the scope of
//! the account's domain, like every user operation.

use serde::Serialize;
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Error, Result};
use crate::scope::Scope;
use crate::users::scoped_address;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AppPasswordInfo {
    /// The device it is for; unique in the account.
    pub name: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// The last login it made, to the minute; absent: never used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<i64>,
}

impl From<tern_store::AppPassword> for AppPasswordInfo {
    fn from(p: tern_store::AppPassword) -> AppPasswordInfo {
        AppPasswordInfo {
            name: p.name,
            created: p.created,
            last_used: p.last_used,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AppPasswordCreated {
    pub app_password: AppPasswordInfo,
    /// The password (four groups of four), shown this once.
    pub password: String,
}

impl Manager {
    /// The id of `user`'s account, in `scope`.
    pub(crate) async fn account_id(&self, scope: &Scope, user: &str) -> Result<i64> {
        let a = scoped_address(scope, "address", user)?;
        let acc = self
            .store
            .account_get(&a)
            .await?
            .ok_or_else(|| Error::not_found(format!("account {a} not found")))?;
        Ok(acc.id)
    }

    /// Make an app password named `name` for `user`'s device.
    pub async fn app_password_add(
        &self,
        scope: &Scope,
        user: &str,
        name: &str,
    ) -> Result<AppPasswordCreated> {
        let id = self.account_id(scope, user).await?;
        let made = self
            .store
            .app_password_add(id, name)
            .await
            .map_err(|e| Error::from(e).on("name"))?;
        Ok(AppPasswordCreated {
            app_password: made.app_password.into(),
            password: made.password,
        })
    }

    /// `user`'s app passwords, by name; never the passwords.
    pub async fn app_password_list(
        &self,
        scope: &Scope,
        user: &str,
    ) -> Result<Vec<AppPasswordInfo>> {
        let id = self.account_id(scope, user).await?;
        let all = self.store.app_password_list(id).await?;
        Ok(all.into_iter().map(AppPasswordInfo::from).collect())
    }

    /// Revoke `user`'s app password `name`: it logs in no more.
    pub async fn app_password_revoke(&self, scope: &Scope, user: &str, name: &str) -> Result<()> {
        let id = self.account_id(scope, user).await?;
        self.store.app_password_revoke(id, name).await?;
        Ok(())
    }
}
