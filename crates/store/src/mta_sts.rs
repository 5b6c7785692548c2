//! MTA-STS policies tern publishes for its own domains (RFC 8461 3.2): mode,
//! max_age and the MX patterns, per domain, with the policy id that the
//! `_mta-sts` TXT record carries (RFC 8461 3.1). Every change makes a new
//! id, so senders fetch the new policy.

use tern_common::normalize_domain;
use tern_common::time::now_secs;

use crate::{Result, Store, StoreError};

/// RFC 8461 3.2: `max_age` is at most 31557600 seconds (about a year).
pub const MAX_AGE_LIMIT: u64 = 31_557_600;

/// A domain's published policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtaSts {
    pub domain: String,
    /// `testing` or `enforce`.
    pub mode: String,
    pub max_age: u64,
    /// MX patterns (`mx.example.org`, `*.example.org`); empty: the server's
    /// hostname, filled in by whoever serves the policy.
    pub mx: Vec<String>,
    /// The `id=` of the `_mta-sts` TXT record: 1 to 32 letters and digits.
    pub id: String,
    pub updated: i64,
}

/// One MX pattern: a domain name, optionally with `*.` for one leftmost
/// label (RFC 8461 4.1), normalised.
fn mx_pattern(p: &str) -> Result<String> {
    let (wild, name) = match p.trim().strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, p.trim()),
    };
    let name = normalize_domain(name).map_err(|e| StoreError::Invalid(format!("mx `{p}`: {e}")))?;
    Ok(if wild { format!("*.{name}") } else { name })
}

/// A fresh policy id: the time in seconds and random digits, so two changes
/// in one second still differ.
fn new_id() -> String {
    format!("{}{:08x}", now_secs(), rand::random::<u32>())
}

impl Store {
    /// Publish (or change) `domain`'s policy; returns it with its new id.
    pub async fn mta_sts_set(
        &self,
        domain: &str,
        mode: &str,
        max_age: u64,
        mx: &[String],
    ) -> Result<MtaSts> {
        let domain = normalize_domain(domain).map_err(|e| StoreError::Invalid(e.to_string()))?;
        if !matches!(mode, "testing" | "enforce") {
            return Err(StoreError::Invalid(format!(
                "mode `{mode}`: must be testing or enforce (RFC 8461 3.2)"
            )));
        }
        if max_age == 0 || max_age > MAX_AGE_LIMIT {
            return Err(StoreError::Invalid(format!(
                "max_age {max_age}: must be 1 to {MAX_AGE_LIMIT} seconds (RFC 8461 3.2)"
            )));
        }
        let mx = mx
            .iter()
            .map(|p| mx_pattern(p))
            .collect::<Result<Vec<_>>>()?;
        if !self.is_local_domain(&domain).await? {
            return Err(StoreError::NotFound(format!("domain {domain}")));
        }
        let policy = MtaSts {
            domain,
            mode: mode.to_string(),
            max_age,
            mx,
            id: new_id(),
            updated: now_secs(),
        };
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM mta_sts WHERE domain = $1")
            .bind(&policy.domain)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO mta_sts (domain, mode, max_age, mx, id, updated) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&policy.domain)
        .bind(&policy.mode)
        .bind(policy.max_age as i64)
        .bind(policy.mx.join(" "))
        .bind(&policy.id)
        .bind(policy.updated)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(policy)
    }

    /// Stop publishing `domain`'s policy; whether there was one.
    pub async fn mta_sts_remove(&self, domain: &str) -> Result<bool> {
        let domain = normalize_domain(domain).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let r = sqlx::query("DELETE FROM mta_sts WHERE domain = $1")
            .bind(&domain)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// The policy of a hosted domain, if it publishes one.
    /// Every hosted domain and whether it publishes a policy, in one query
    /// (the ACME names, looked at every few seconds).
    pub async fn domains_with_mta_sts(&self) -> Result<Vec<(String, bool)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT d.name, CASE WHEN m.domain IS NULL THEN 0 ELSE 1 END FROM domains d \
             LEFT JOIN mta_sts m ON m.domain = d.name ORDER BY d.name",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(d, m)| (d, m != 0)).collect())
    }

    pub async fn mta_sts_get(&self, domain: &str) -> Result<Option<MtaSts>> {
        let Ok(domain) = normalize_domain(domain) else {
            return Ok(None);
        };
        let row: Option<(String, String, i64, String, String, i64)> = sqlx::query_as(
            "SELECT m.domain, m.mode, m.max_age, m.mx, m.id, m.updated FROM mta_sts m \
             JOIN domains d ON d.name = m.domain WHERE m.domain = $1",
        )
        .bind(&domain)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(domain, mode, max_age, mx, id, updated)| MtaSts {
            domain,
            mode,
            max_age: max_age.max(0) as u64,
            mx: mx.split_whitespace().map(str::to_string).collect(),
            id,
            updated,
        }))
    }
}
