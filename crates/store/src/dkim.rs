//! DKIM signing keys (private keys as DER, public keys as base64).

use tern_common::normalize_domain;
use tern_common::time::now_secs;

use crate::{Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimKey {
    pub domain: String,
    pub selector: String,
    /// "ed25519" or "rsa".
    pub algorithm: String,
    /// PKCS#8 DER.
    pub private_key: Vec<u8>,
    /// Base64 of the public key as published in the `p=` tag.
    pub public_key: String,
    pub created: i64,
}

fn valid_selector(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

impl Store {
    pub async fn dkim_key_add(&self, key: &DkimKey) -> Result<()> {
        let domain =
            normalize_domain(&key.domain).map_err(|e| StoreError::Invalid(e.to_string()))?;
        if !self.is_local_domain(&domain).await? {
            return Err(StoreError::NotFound(format!("domain {domain}")));
        }
        if !valid_selector(&key.selector) {
            return Err(StoreError::Invalid(format!(
                "invalid selector `{}`",
                key.selector
            )));
        }
        let r = sqlx::query(
            "INSERT INTO dkim_keys (domain, selector, algorithm, private_key, public_key, created) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (domain, selector) DO NOTHING",
        )
        .bind(&domain)
        .bind(&key.selector)
        .bind(&key.algorithm)
        .bind(key.private_key.as_slice())
        .bind(&key.public_key)
        .bind(now_secs())
        .execute(self.pool())
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Duplicate(format!(
                "DKIM selector {} for {domain}",
                key.selector
            )));
        }
        Ok(())
    }

    /// Keys of one domain, or of all domains.
    pub async fn dkim_keys(&self, domain: Option<&str>) -> Result<Vec<DkimKey>> {
        let domain = domain.map(|d| normalize_domain(d).unwrap_or_else(|_| d.to_string()));
        let rows: Vec<(String, String, String, Vec<u8>, String, i64)> = sqlx::query_as(
            "SELECT domain, selector, algorithm, private_key, public_key, created FROM dkim_keys \
             WHERE ($1 = '' OR domain = $1) ORDER BY domain, created, selector",
        )
        .bind(domain.unwrap_or_default())
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(domain, selector, algorithm, private_key, public_key, created)| DkimKey {
                    domain,
                    selector,
                    algorithm,
                    private_key,
                    public_key,
                    created,
                },
            )
            .collect())
    }
}
