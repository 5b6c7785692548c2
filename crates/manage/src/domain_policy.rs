//! A domain's own greylisting and tarpitting, over `[greylist]` and
//! `[tarpit]`: on with a delay, off, or as the configuration says. SMTP
//! reads the store's `DomainPolicy` at each recipient; the configuration
//! stays the default for every domain without a setting.

use serde::Serialize;
use tern_store::DomainPolicy;
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Error, Result};
use crate::scope::Scope;

/// The longest greylisting delay: a day (senders retry for days, but a
/// longer first wait only loses mail).
pub const MAX_GREYLIST_SECS: u64 = 86_400;
/// The longest first tarpit step: a minute (it doubles from there).
pub const MAX_TARPIT_MS: u64 = 60_000;

/// One of the two settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// As `[greylist]`/`[tarpit]` say.
    Default,
    Off,
    /// On, with this delay (seconds for greylisting, milliseconds for the
    /// tarpit's first step).
    On(u64),
}

impl Setting {
    /// `default`, `off` or `on` with `delay`.
    pub fn parse(state: &str, delay: Option<u64>, field: &str) -> Result<Setting> {
        match state {
            "default" => Ok(Setting::Default),
            "off" => Ok(Setting::Off),
            "on" => delay
                .map(Setting::On)
                .ok_or_else(|| Error::invalid(field, "on needs a delay")),
            _ => Err(Error::invalid(field, "one of default, on, off")),
        }
    }

    fn stored(self) -> Option<u64> {
        match self {
            Setting::Default => None,
            Setting::Off => Some(0),
            Setting::On(d) => Some(d),
        }
    }
}

/// What applies to a domain now, and whether the domain set it itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DomainPolicyInfo {
    pub greylisting: bool,
    /// Seconds (meaningful when on).
    pub greylist_delay_secs: u64,
    /// The domain's own setting (not the configuration's).
    pub greylist_own: bool,
    pub tarpitting: bool,
    /// Milliseconds before the second bad recipient's reply; it doubles.
    pub tarpit_delay_ms: u64,
    pub tarpit_own: bool,
}

impl Manager {
    pub async fn domain_policy(&self, scope: &Scope, domain: &str) -> Result<DomainPolicyInfo> {
        let name = self.known_domain(scope, domain).await?;
        let p = self
            .store
            .domain_policy(&name)
            .await?
            .ok_or_else(|| Error::not_found(format!("domain {name} not found")))?;
        let g = self.config.greylist.delay_for(&name, p.greylist_secs);
        let t = self.config.tarpit.base_for(p.tarpit_ms);
        Ok(DomainPolicyInfo {
            greylisting: g.is_some(),
            greylist_delay_secs: g.unwrap_or(self.config.greylist.delay_secs),
            greylist_own: p.greylist_secs.is_some(),
            tarpitting: t.is_some(),
            tarpit_delay_ms: t.unwrap_or(self.config.tarpit.base_delay_ms),
            tarpit_own: p.tarpit_ms.is_some(),
        })
    }

    /// Change either setting (`None` keeps it).
    pub async fn domain_set_policy(
        &self,
        scope: &Scope,
        domain: &str,
        greylist: Option<Setting>,
        tarpit: Option<Setting>,
    ) -> Result<DomainPolicyInfo> {
        let name = self.known_domain(scope, domain).await?;
        if let Some(Setting::On(d)) = greylist
            && !(1..=MAX_GREYLIST_SECS).contains(&d)
        {
            return Err(Error::invalid(
                "greylist_delay",
                format!("between 1 and {MAX_GREYLIST_SECS} seconds"),
            ));
        }
        if let Some(Setting::On(d)) = tarpit
            && !(1..=MAX_TARPIT_MS).contains(&d)
        {
            return Err(Error::invalid(
                "tarpit_delay",
                format!("between 1 and {MAX_TARPIT_MS} milliseconds"),
            ));
        }
        let now = self.store.domain_policy(&name).await?.unwrap_or_default();
        let new = DomainPolicy {
            greylist_secs: greylist.map_or(now.greylist_secs, Setting::stored),
            tarpit_ms: tarpit.map_or(now.tarpit_ms, Setting::stored),
        };
        self.store.domain_set_policy(&name, &new).await?;
        self.domain_policy(scope, &name).await
    }
}
