//! A domain's MTA-STS policy (RFC 8461): published by tern's https
//! listener at `mta-sts.<domain>`, announced by the `_mta-sts` TXT record
//! whose id changes with every change of the policy.

use serde::{Deserialize, Serialize};
use tern_store::MtaSts;
use utoipa::ToSchema;

use crate::Manager;
use crate::dns::DnsRecord;
use crate::error::{Error, Result};
use crate::scope::Scope;

/// RFC 8461 3.2: `max_age` is at most 31557600 seconds (a year).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MtaStsPolicy {
    /// `testing` (report, deliver anyway) or `enforce`.
    pub mode: String,
    /// Seconds senders cache the policy; default one week.
    #[serde(default = "week")]
    pub max_age: u64,
    /// MX host patterns; empty: the server's host name.
    #[serde(default)]
    pub mx: Vec<String>,
}

fn week() -> u64 {
    604_800
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MtaStsInfo {
    pub domain: String,
    pub mode: String,
    pub max_age: u64,
    /// The MX patterns the policy names (the server's host name when none
    /// were given).
    pub mx: Vec<String>,
    /// The `_mta-sts` record to publish, with the policy's new id.
    pub record: DnsRecord,
}

impl Manager {
    /// Publish (or change) a domain's policy.
    pub async fn mta_sts_set(
        &self,
        scope: &Scope,
        domain: &str,
        policy: &MtaStsPolicy,
    ) -> Result<MtaStsInfo> {
        let domain = self.known_domain(scope, domain).await?;
        if !(1..=MAX_AGE_LIMIT).contains(&policy.max_age) {
            return Err(Error::invalid(
                "max_age",
                format!("between 1 and {MAX_AGE_LIMIT} seconds (RFC 8461 3.2)"),
            ));
        }
        let p = self
            .store
            .mta_sts_set(&domain, &policy.mode, policy.max_age, &policy.mx)
            .await
            .map_err(|e| Error::from(e).on("mode"))?;
        Ok(self.mta_sts_info(p))
    }

    /// The policy a domain publishes, if any.
    pub async fn mta_sts_get(&self, scope: &Scope, domain: &str) -> Result<Option<MtaStsInfo>> {
        let domain = self.known_domain(scope, domain).await?;
        Ok(self
            .store
            .mta_sts_get(&domain)
            .await?
            .map(|p| self.mta_sts_info(p)))
    }

    /// Stop publishing a domain's policy (its TXT record should go too).
    pub async fn mta_sts_remove(&self, scope: &Scope, domain: &str) -> Result<()> {
        let domain = self.known_domain(scope, domain).await?;
        if !self.store.mta_sts_remove(&domain).await? {
            return Err(Error::not_found(format!(
                "domain {domain} publishes no MTA-STS policy"
            )));
        }
        Ok(())
    }

    fn mta_sts_info(&self, p: MtaSts) -> MtaStsInfo {
        let mx = if p.mx.is_empty() {
            vec![self.config.hostname.clone()]
        } else {
            p.mx
        };
        MtaStsInfo {
            record: DnsRecord::txt(
                &format!("_mta-sts.{}.", p.domain),
                &format!("v=STSv1; id={}", p.id),
            ),
            domain: p.domain,
            mode: p.mode,
            max_age: p.max_age,
            mx,
        }
    }
}
