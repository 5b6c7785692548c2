//! The Screener and VIP senders, per account (the rules are in
//! `tern_manage` and SMTP delivery; this is what they keep):
//!
//! - `accounts.screener`: whether first-contact mail is held in the
//!   `Screener` mailbox;
//! - `screener_senders`: each sender address's decision — approved or
//!   screened out — and where it came from (`moved`, `sent`, `api`, `cli`);
//!   a later decision replaces an earlier one;
//! - `vip_senders`: addresses and `@domain`s whose mail is important;
//! - `sent_ids`: the Message-IDs the account sent through submission, so
//!   a reply to one is approved without asking. Kept `SENT_DAYS` days.
//!
//! Addresses and domains are kept lower case; callers normalise them.

use tern_common::time::now_secs;

use crate::{AccountId, Result, Store, StoreError};

/// The keyword delivery puts on a held message whose From the checks
/// proved (DMARC pass, or an aligned SPF or DKIM pass). A decision made by
/// moving a held message binds its From address only when the message
/// carries it: a forged From must not get the real sender approved or
/// screened out. Only delivery sets it on mail from outside (a sender
/// cannot: keywords are not in the message, and Sieve does not run for
/// held mail); the account's owner can, but decides for that account only.
pub const FROM_VERIFIED: &str = "$FromVerified";
/// How long a sent Message-ID approves replies to it.
pub const SENT_DAYS: i64 = 365;
/// The most VIP entries an account may have.
pub const MAX_VIP: i64 = 1_000;

/// One sender's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenerDecision {
    pub sender: String,
    pub approved: bool,
    pub source: String,
    pub at: i64,
}

impl Store {
    pub async fn screener_enabled(&self, account: AccountId) -> Result<bool> {
        let on: Option<i64> = sqlx::query_scalar("SELECT screener FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_optional(self.pool())
            .await?;
        Ok(on.unwrap_or(0) != 0)
    }

    /// Turn the Screener on (creating the `Screener` mailbox if the
    /// account has none) or off.
    pub async fn screener_set(&self, account: AccountId, on: bool) -> Result<()> {
        if on && self.mailbox_get(account, "Screener").await?.is_none() {
            match self.mailbox_create(account, "Screener", None).await {
                Ok(_) | Err(StoreError::Duplicate(_)) => {}
                Err(e) => return Err(e),
            }
        }
        sqlx::query("UPDATE accounts SET screener = $1 WHERE id = $2")
            .bind(i64::from(on))
            .bind(account)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Record a decision about `sender` (lower case), replacing any earlier.
    pub async fn screener_decide(
        &self,
        account: AccountId,
        sender: &str,
        approved: bool,
        source: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO screener_senders (account_id, sender, approved, source, at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, sender) \
             DO UPDATE SET approved = $3, source = $4, at = $5",
        )
        .bind(account)
        .bind(sender)
        .bind(i64::from(approved))
        .bind(source)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Approve `senders` unless the account screened them out (what
    /// sending mail to someone does).
    pub async fn screener_approve_new(
        &self,
        account: AccountId,
        senders: &[String],
        source: &str,
    ) -> Result<()> {
        for s in senders {
            sqlx::query(
                "INSERT INTO screener_senders (account_id, sender, approved, source, at) \
                 VALUES ($1, $2, 1, $3, $4) ON CONFLICT (account_id, sender) DO NOTHING",
            )
            .bind(account)
            .bind(s)
            .bind(source)
            .bind(now_secs())
            .execute(self.pool())
            .await?;
        }
        Ok(())
    }

    /// The decision about `sender`, if any: `Some(true)` approved.
    pub async fn screener_decision(
        &self,
        account: AccountId,
        sender: &str,
    ) -> Result<Option<bool>> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT approved FROM screener_senders WHERE account_id = $1 AND sender = $2",
        )
        .bind(account)
        .bind(sender)
        .fetch_optional(self.pool())
        .await?;
        Ok(v.map(|a| a != 0))
    }

    /// Forget the decision about `sender` (the next mail is screened again).
    pub async fn screener_forget(&self, account: AccountId, sender: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM screener_senders WHERE account_id = $1 AND sender = $2")
            .bind(account)
            .bind(sender)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn screener_list(&self, account: AccountId) -> Result<Vec<ScreenerDecision>> {
        let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
            "SELECT sender, approved, source, at FROM screener_senders \
             WHERE account_id = $1 ORDER BY sender",
        )
        .bind(account)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(sender, a, source, at)| ScreenerDecision {
                sender,
                approved: a != 0,
                source,
                at,
            })
            .collect())
    }

    /// Add a VIP address or `@domain` (lower case); false if it was there.
    pub async fn vip_add(&self, account: AccountId, pattern: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vip_senders WHERE account_id = $1")
            .bind(account)
            .fetch_one(self.pool())
            .await?;
        if n >= MAX_VIP {
            return Err(StoreError::Invalid(format!(
                "an account has at most {MAX_VIP} VIP senders"
            )));
        }
        let r = sqlx::query(
            "INSERT INTO vip_senders (account_id, pattern, at) VALUES ($1, $2, $3) \
             ON CONFLICT (account_id, pattern) DO NOTHING",
        )
        .bind(account)
        .bind(pattern)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn vip_remove(&self, account: AccountId, pattern: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM vip_senders WHERE account_id = $1 AND pattern = $2")
            .bind(account)
            .bind(pattern)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn vip_list(&self, account: AccountId) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT pattern FROM vip_senders WHERE account_id = $1 ORDER BY pattern",
        )
        .bind(account)
        .fetch_all(self.pool())
        .await?)
    }

    /// Is `address` (lower case) a VIP of the account, by itself or by its
    /// domain?
    pub async fn vip_matches(&self, account: AccountId, address: &str) -> Result<bool> {
        let domain = address
            .rsplit_once('@')
            .map(|(_, d)| format!("@{d}"))
            .unwrap_or_default();
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM vip_senders WHERE account_id = $1 AND pattern IN ($2, $3)",
        )
        .bind(account)
        .bind(address)
        .bind(domain)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }

    /// Remember Message-IDs the account sent (and forget old ones).
    pub async fn sent_ids_add(&self, account: AccountId, ids: &[String]) -> Result<()> {
        let now = now_secs();
        for id in ids {
            sqlx::query(
                "INSERT INTO sent_ids (account_id, msg_id, at) VALUES ($1, $2, $3) \
                 ON CONFLICT (account_id, msg_id) DO NOTHING",
            )
            .bind(account)
            .bind(id)
            .bind(now)
            .execute(self.pool())
            .await?;
        }
        sqlx::query("DELETE FROM sent_ids WHERE at < $1")
            .bind(now - SENT_DAYS * 86_400)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Did the account send any of these Message-IDs?
    pub async fn sent_ids_any(&self, account: AccountId, ids: &[String]) -> Result<bool> {
        for chunk in ids.chunks(50) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT COUNT(*) FROM sent_ids WHERE account_id = $1 AND msg_id IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(account);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            if q.fetch_one(self.pool()).await? > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
