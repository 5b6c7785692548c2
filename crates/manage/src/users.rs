//! Users (accounts): add, list, get, password, quota, remove; and the
//! addresses an account may send as.

use serde::{Deserialize, Serialize};
use tern_common::Address;
use tern_store::Account;
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest};
use crate::password::choose;
use crate::scope::Scope;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UserInfo {
    /// The primary address, which is also the login name.
    pub address: String,
    /// Bytes; 0 is unlimited.
    pub quota: u64,
    /// Bytes in use.
    pub used: u64,
    /// The other addresses that deliver to the account.
    pub aliases: Vec<String>,
    /// It cannot log in (its mail is still delivered).
    pub disabled: bool,
    /// It may use the web admin.
    pub admin: bool,
}

impl From<Account> for UserInfo {
    fn from(a: Account) -> UserInfo {
        UserInfo {
            address: a.name,
            quota: a.quota,
            used: a.used,
            aliases: a.addresses.into_iter().skip(1).collect(),
            disabled: a.disabled,
            admin: a.admin,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub address: String,
    /// Omitted: a random password is made and returned once.
    #[serde(default)]
    pub password: Option<String>,
    /// Bytes; omitted or 0 is unlimited.
    #[serde(default)]
    pub quota: Option<u64>,
    /// Accept a password the strength check refuses.
    #[serde(default)]
    pub allow_weak: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UserCreated {
    pub user: UserInfo,
    /// The password made here, shown this once; absent when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// Omitted: a random password is made and returned once.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub allow_weak: bool,
}

/// An address from the caller, in the caller's scope.
pub(crate) fn scoped_address(scope: &Scope, field: &str, s: &str) -> Result<Address> {
    let a = Address::parse(s).map_err(|e| Error::invalid(field, e.to_string()))?;
    scope.check(a.domain())?;
    Ok(a)
}

impl Manager {
    pub async fn user_add(&self, scope: &Scope, new: &NewUser) -> Result<UserCreated> {
        let a = scoped_address(scope, "address", &new.address)?;
        let (pw, made) = choose(new.password.as_deref(), &new.address, new.allow_weak)?;
        let acc = self
            .store
            .account_add(&a, &pw, new.quota.unwrap_or(0))
            .await
            .map_err(|e| Error::from(e).on("address"))?;
        Ok(UserCreated {
            user: acc.into(),
            password: made.then_some(pw),
        })
    }

    /// Accounts, of one domain or of every domain in the scope.
    pub async fn user_list(
        &self,
        scope: &Scope,
        domain: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<UserInfo>> {
        let domain = match domain {
            Some(d) => Some(self.known_domain(scope, d).await?),
            None => None,
        };
        let all = self.store.account_list(domain.as_deref()).await?;
        let visible = all
            .into_iter()
            .filter(|a| scope.covers(domain_of(&a.name)))
            .map(UserInfo::from)
            .collect();
        page.page(visible, |u| u.address.clone())
    }

    pub async fn user_get(&self, scope: &Scope, address: &str) -> Result<UserInfo> {
        let a = scoped_address(scope, "address", address)?;
        self.account(&a).await.map(UserInfo::from)
    }

    /// A new password; the one made here is returned (shown once).
    pub async fn user_set_password(
        &self,
        scope: &Scope,
        address: &str,
        new: &NewPassword,
    ) -> Result<Option<String>> {
        let a = scoped_address(scope, "address", address)?;
        let acc = self.account(&a).await?;
        let (pw, made) = choose(new.password.as_deref(), address, new.allow_weak)?;
        self.store.account_set_password(&a, &pw).await?;
        // Whoever knew the old password is signed out of the web pages.
        self.store.web_sessions_end_all(acc.id).await?;
        Ok(made.then_some(pw))
    }

    /// Bytes; 0 is unlimited.
    pub async fn user_set_quota(
        &self,
        scope: &Scope,
        address: &str,
        quota: u64,
    ) -> Result<UserInfo> {
        let a = scoped_address(scope, "address", address)?;
        self.store.account_set_quota(&a, quota).await?;
        self.account(&a).await.map(UserInfo::from)
    }

    /// Disable (or enable) an account's logins; sessions already open run
    /// on until they end.
    pub async fn user_set_disabled(
        &self,
        scope: &Scope,
        address: &str,
        disabled: bool,
    ) -> Result<UserInfo> {
        let a = scoped_address(scope, "address", address)?;
        self.store.account_set_disabled(&a, disabled).await?;
        let acc = self.account(&a).await?;
        if disabled {
            self.store.web_sessions_end_all(acc.id).await?;
        }
        Ok(acc.into())
    }

    pub async fn user_remove(&self, scope: &Scope, address: &str) -> Result<()> {
        let a = scoped_address(scope, "address", address)?;
        self.store.account_remove(&a).await?;
        Ok(())
    }

    pub async fn send_as_add(&self, scope: &Scope, account: &str, address: &str) -> Result<()> {
        let acc = scoped_address(scope, "account", account)?;
        let a = scoped_address(scope, "address", address)?;
        self.store.send_as_add(&acc, &a).await?;
        Ok(())
    }

    pub async fn send_as_remove(&self, scope: &Scope, account: &str, address: &str) -> Result<()> {
        let acc = scoped_address(scope, "account", account)?;
        let a = Address::parse(address).map_err(|e| Error::invalid("address", e.to_string()))?;
        self.store.send_as_remove(&acc, &a).await?;
        Ok(())
    }

    pub async fn send_as_list(&self, scope: &Scope, account: &str) -> Result<Vec<String>> {
        let acc = scoped_address(scope, "account", account)?;
        Ok(self.store.send_as_list(&acc).await?)
    }

    async fn account(&self, a: &Address) -> Result<Account> {
        self.store
            .account_get(a)
            .await?
            .ok_or_else(|| Error::not_found(format!("account {a} not found")))
    }
}

/// The domain of a stored (valid) address.
pub(crate) fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map_or("", |(_, d)| d)
}
