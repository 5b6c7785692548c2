//! Aliases: an address that delivers to other addresses (local accounts
//! or remote forwards).

use serde::Serialize;
use tern_common::Address;
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest};
use crate::scope::Scope;
use crate::users::{domain_of, scoped_address};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AliasInfo {
    pub address: String,
    pub targets: Vec<String>,
}

impl Manager {
    pub async fn alias_add(
        &self,
        scope: &Scope,
        address: &str,
        targets: &[String],
    ) -> Result<AliasInfo> {
        let a = scoped_address(scope, "address", address)?;
        if targets.is_empty() {
            return Err(Error::invalid("targets", "at least one target is needed"));
        }
        let targets = targets
            .iter()
            .map(|t| Address::parse(t).map_err(|e| Error::invalid("targets", format!("{t}: {e}"))))
            .collect::<Result<Vec<_>>>()?;
        self.store.alias_add(&a, &targets).await?;
        Ok(AliasInfo {
            address: a.to_string(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
        })
    }

    pub async fn alias_list(
        &self,
        scope: &Scope,
        domain: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<AliasInfo>> {
        let domain = match domain {
            Some(d) => Some(self.known_domain(scope, d).await?),
            None => None,
        };
        let all = self.store.alias_list(domain.as_deref()).await?;
        let visible = all
            .into_iter()
            .filter(|a| scope.covers(domain_of(&a.address)))
            .map(|a| AliasInfo {
                address: a.address,
                targets: a.targets,
            })
            .collect();
        page.page(visible, |a| a.address.clone())
    }

    pub async fn alias_remove(&self, scope: &Scope, address: &str) -> Result<()> {
        let a = scoped_address(scope, "address", address)?;
        self.store.alias_remove(&a).await?;
        Ok(())
    }
}
