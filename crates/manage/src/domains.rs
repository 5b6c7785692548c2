//! Domains: add (with DKIM keys unless asked not to), list, get, remove.

use serde::Serialize;
use utoipa::ToSchema;

use crate::Manager;
use crate::dns::DnsRecord;
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest};
use crate::scope::Scope;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DomainInfo {
    pub name: String,
    /// Where mail to unknown addresses of the domain goes, if anywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch_all: Option<String>,
    pub accounts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DomainCreated {
    pub name: String,
    /// The DKIM records to publish (RSA-2048 and Ed25519), unless the
    /// domain was added without keys.
    pub dkim: Vec<DnsRecord>,
}

/// A domain name from the caller, normalised (IDNA, lower case).
pub(crate) fn domain_name(s: &str) -> Result<String> {
    tern_common::normalize_domain(s).map_err(|e| Error::invalid("domain", e.to_string()))
}

impl Manager {
    /// Adding a domain is server-wide: admin only.
    pub async fn domain_add(&self, scope: &Scope, name: &str, dkim: bool) -> Result<DomainCreated> {
        scope.admin()?;
        let name = domain_name(name)?;
        let name = self.store.domain_add(&name).await?;
        let dkim = if dkim {
            self.dkim_defaults(&name).await?
        } else {
            Vec::new()
        };
        Ok(DomainCreated { name, dkim })
    }

    pub async fn domain_list(&self, scope: &Scope, page: &PageRequest) -> Result<Page<DomainInfo>> {
        let all = self.store.domain_list().await?;
        let visible = all
            .into_iter()
            .filter(|d| scope.covers(&d.name))
            .map(|d| DomainInfo {
                name: d.name,
                catch_all: d.catch_all,
                accounts: d.accounts,
            })
            .collect();
        page.page(visible, |d| d.name.clone())
    }

    pub async fn domain_get(&self, scope: &Scope, name: &str) -> Result<DomainInfo> {
        let name = domain_name(name)?;
        scope.check(&name)?;
        self.store
            .domain_list()
            .await?
            .into_iter()
            .find(|d| d.name == name)
            .map(|d| DomainInfo {
                name: d.name,
                catch_all: d.catch_all,
                accounts: d.accounts,
            })
            .ok_or_else(|| Error::not_found(format!("domain {name} not found")))
    }

    /// Removing a domain is server-wide: admin only. Without `force`, a
    /// domain with accounts is refused (a conflict).
    pub async fn domain_remove(&self, scope: &Scope, name: &str, force: bool) -> Result<()> {
        scope.admin()?;
        let name = domain_name(name)?;
        self.store.domain_remove(&name, force).await?;
        Ok(())
    }

    /// The domain must exist and be in the caller's scope.
    pub(crate) async fn known_domain(&self, scope: &Scope, name: &str) -> Result<String> {
        let name = domain_name(name)?;
        scope.check(&name)?;
        if !self.store.is_local_domain(&name).await? {
            return Err(Error::not_found(format!("domain {name} not found")));
        }
        Ok(name)
    }
}
