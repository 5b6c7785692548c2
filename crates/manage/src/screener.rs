//! The Screener and VIP senders of an account (the rules at delivery are
//! SMTP's; this is how a user or an administrator sets them): turning the
//! Screener on and off, approving or screening out a sender, forgetting a
//! decision, and the VIP list of addresses and `@domain`s.

use serde::Serialize;
use tern_common::Address;
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Error, Result};
use crate::scope::Scope;

/// One sender's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SenderDecision {
    pub sender: String,
    /// Approved (to INBOX) or screened out (to Junk, seen).
    pub approved: bool,
    /// How it was decided: `moved`, `sent`, `api`, `cli`, `web`.
    pub source: String,
    /// Seconds since the epoch.
    pub at: i64,
}

/// A sender address as the Screener keys it: the whole address in lower
/// case (its domain normalised).
pub fn sender_key(s: &str) -> Result<String> {
    let a = Address::parse(s.trim()).map_err(|e| Error::invalid("sender", e.to_string()))?;
    // A sender that skips filters must not be a look-alike of another:
    // the characters a name may have, in one script.
    a.check_new()
        .map_err(|e| Error::invalid("sender", e.to_string()))?;
    if !a.single_script_local() {
        return Err(Error::invalid(
            "sender",
            format!("{a} mixes scripts (a look-alike of another address)"),
        ));
    }
    Ok(a.to_string().to_lowercase())
}

/// A VIP entry: an address, or a domain as `@domain` (a bare domain is
/// taken as one too).
pub fn vip_key(s: &str) -> Result<String> {
    let s = s.trim();
    if s.contains('@') && !s.starts_with('@') {
        return sender_key(s).map_err(|e| e.on("pattern"));
    }
    let d = tern_common::normalize_domain(s.trim_start_matches('@'))
        .map_err(|e| Error::invalid("pattern", e.to_string()))?;
    Ok(format!("@{d}"))
}

impl Manager {
    /// Turn the Screener on (creating the `Screener` mailbox) or off.
    pub async fn screener_set(&self, scope: &Scope, user: &str, on: bool) -> Result<()> {
        let id = self.account_id(scope, user).await?;
        Ok(self.store.screener_set(id, on).await?)
    }

    pub async fn screener_enabled(&self, scope: &Scope, user: &str) -> Result<bool> {
        let id = self.account_id(scope, user).await?;
        Ok(self.store.screener_enabled(id).await?)
    }

    /// Approve `sender` (later mail to INBOX) or screen them out (to Junk).
    pub async fn screener_decide(
        &self,
        scope: &Scope,
        user: &str,
        sender: &str,
        approve: bool,
        source: &str,
    ) -> Result<()> {
        let id = self.account_id(scope, user).await?;
        let key = sender_key(sender)?;
        Ok(self
            .store
            .screener_decide(id, &key, approve, source)
            .await?)
    }

    /// Forget the decision about `sender`: their next mail is screened.
    pub async fn screener_forget(&self, scope: &Scope, user: &str, sender: &str) -> Result<()> {
        let id = self.account_id(scope, user).await?;
        let key = sender_key(sender)?;
        if !self.store.screener_forget(id, &key).await? {
            return Err(Error::not_found(format!("no decision about {key}")));
        }
        Ok(())
    }

    pub async fn screener_list(&self, scope: &Scope, user: &str) -> Result<Vec<SenderDecision>> {
        let id = self.account_id(scope, user).await?;
        Ok(self
            .store
            .screener_list(id)
            .await?
            .into_iter()
            .map(|d| SenderDecision {
                sender: d.sender,
                approved: d.approved,
                source: d.source,
                at: d.at,
            })
            .collect())
    }

    pub async fn vip_add(&self, scope: &Scope, user: &str, pattern: &str) -> Result<String> {
        let id = self.account_id(scope, user).await?;
        let key = vip_key(pattern)?;
        if !self
            .store
            .vip_add(id, &key)
            .await
            .map_err(|e| Error::from(e).on("pattern"))?
        {
            return Err(Error::conflict(format!("{key} is a VIP already")).on("pattern"));
        }
        Ok(key)
    }

    pub async fn vip_remove(&self, scope: &Scope, user: &str, pattern: &str) -> Result<()> {
        let id = self.account_id(scope, user).await?;
        let key = vip_key(pattern)?;
        if !self.store.vip_remove(id, &key).await? {
            return Err(Error::not_found(format!("{key} is not a VIP")));
        }
        Ok(())
    }

    pub async fn vip_list(&self, scope: &Scope, user: &str) -> Result<Vec<String>> {
        let id = self.account_id(scope, user).await?;
        Ok(self.store.vip_list(id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_and_vips_are_keyed_in_lower_case() {
        assert_eq!(
            sender_key(" Boss@Work.Example ").unwrap(),
            "boss@work.example"
        );
        assert!(sender_key("not an address").is_err());
        assert_eq!(vip_key("Boss@Work.Example").unwrap(), "boss@work.example");
        assert_eq!(vip_key("@Family.Example").unwrap(), "@family.example");
        assert_eq!(vip_key("family.example").unwrap(), "@family.example");
        assert!(vip_key("@").is_err());
        assert!(vip_key("\u{430}lice@example.org").is_err(), "mixed scripts");
        assert!(
            sender_key("\u{430}\u{43b}\u{438}\u{441}\u{430}@example.org").is_ok(),
            "all Cyrillic"
        );
    }
}
