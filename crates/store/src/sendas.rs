//! Which sender addresses an account may use on submission: its own
//! addresses (with any +tag), aliases that deliver to it, and a per-account
//! "may also send as" list for shared addresses.

use tern_common::Address;

use crate::{AccountId, Result, Store, StoreError};

impl Store {
    pub async fn send_as_add(&self, account: &Address, address: &Address) -> Result<()> {
        let acc = self
            .account_get(account)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("account {account}")))?;
        let r = sqlx::query(
            "INSERT INTO send_as (account_id, address) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(acc.id)
        .bind(address.to_string())
        .execute(self.pool())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Duplicate(format!(
                "{account} may already send as {address}"
            )));
        }
        Ok(())
    }

    pub async fn send_as_remove(&self, account: &Address, address: &Address) -> Result<()> {
        let acc = self
            .account_get(account)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("account {account}")))?;
        let r = sqlx::query("DELETE FROM send_as WHERE account_id = $1 AND address = $2")
            .bind(acc.id)
            .bind(address.to_string())
            .execute(self.pool())
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "{account} may not send as {address}"
            )));
        }
        Ok(())
    }

    pub async fn send_as_list(&self, account: &Address) -> Result<Vec<String>> {
        let acc = self
            .account_get(account)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("account {account}")))?;
        Ok(
            sqlx::query_scalar(
                "SELECT address FROM send_as WHERE account_id = $1 ORDER BY address",
            )
            .bind(acc.id)
            .fetch_all(self.pool())
            .await?,
        )
    }

    /// May `account` use `address` as its sender (envelope or From:)?
    pub async fn may_send_as(&self, account: AccountId, address: &Address) -> Result<bool> {
        let candidates: Vec<String> = std::iter::once(address.to_string())
            .chain(address.without_tag().map(|a| a.to_string()))
            .collect();
        for c in &candidates {
            let own: Option<i64> =
                sqlx::query_scalar("SELECT account_id FROM addresses WHERE address = $1")
                    .bind(c)
                    .fetch_optional(self.pool())
                    .await?;
            if own == Some(account) {
                return Ok(true);
            }
            let listed: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM send_as WHERE account_id = $1 AND address = $2",
            )
            .bind(account)
            .bind(c)
            .fetch_one(self.pool())
            .await?;
            if listed > 0 {
                return Ok(true);
            }
            // An alias that delivers to one of the account's addresses.
            let via_alias: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM aliases a JOIN addresses d ON d.address = a.target \
                 WHERE a.address = $1 AND d.account_id = $2",
            )
            .bind(c)
            .bind(account)
            .fetch_one(self.pool())
            .await?;
            if via_alias > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
