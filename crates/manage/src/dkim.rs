//! DKIM keys: make one (or the pair a new domain gets), list them with the
//! record each needs published.

use serde::Serialize;
use tern_queue::dkim::{Algorithm, generate, txt_record};
use tern_store::DkimKey;
use utoipa::ToSchema;

use crate::Manager;
use crate::dns::DnsRecord;
use crate::domains::domain_name;
use crate::error::{Error, Result};
use crate::scope::Scope;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DkimInfo {
    pub domain: String,
    pub selector: String,
    /// `rsa` or `ed25519`.
    pub algorithm: String,
    /// Seconds since the epoch.
    pub created: i64,
    pub record: DnsRecord,
}

/// `ed202611`: the algorithm and the month, so keys can be rotated.
pub fn default_selector(algo: Algorithm) -> String {
    let date = tern_common::time::iso8601(tern_common::time::now_secs());
    let prefix = if algo == Algorithm::Ed25519 {
        "ed"
    } else {
        "rsa"
    };
    format!("{prefix}{}{}", &date[0..4], &date[5..7])
}

pub(crate) fn record_of(
    domain: &str,
    selector: &str,
    algorithm: &str,
    public_key: &str,
) -> DnsRecord {
    DnsRecord::txt(
        &format!("{selector}._domainkey.{domain}."),
        &txt_record(algorithm, public_key),
    )
}

impl Manager {
    /// Make and store a key for a domain in the caller's scope; the
    /// record to publish.
    pub async fn dkim_generate(
        &self,
        scope: &Scope,
        domain: &str,
        selector: Option<&str>,
        algorithm: &str,
    ) -> Result<DnsRecord> {
        let domain = domain_name(domain)?;
        scope.check(&domain)?;
        let algo = Algorithm::parse(algorithm).ok_or_else(|| {
            Error::invalid(
                "algorithm",
                format!("unknown algorithm `{algorithm}` (ed25519 or rsa)"),
            )
        })?;
        self.dkim_key(&domain, selector.map(str::to_string), algo)
            .await
    }

    /// Give a domain in the caller's scope the default pair of keys (see
    /// `dkim_defaults`); the records to publish.
    pub async fn dkim_add_defaults(&self, scope: &Scope, domain: &str) -> Result<Vec<DnsRecord>> {
        let domain = self.known_domain(scope, domain).await?;
        self.dkim_defaults(&domain).await
    }

    /// The keys a new domain gets: RSA-2048, which every verifier knows
    /// (large mailbox providers do not verify Ed25519 yet), and Ed25519
    /// (RFC 8463), both signing every message.
    pub(crate) async fn dkim_defaults(&self, domain: &str) -> Result<Vec<DnsRecord>> {
        let mut records = Vec::new();
        for algo in [Algorithm::Rsa, Algorithm::Ed25519] {
            records.push(self.dkim_key(domain, None, algo).await?);
        }
        Ok(records)
    }

    async fn dkim_key(
        &self,
        domain: &str,
        selector: Option<String>,
        algo: Algorithm,
    ) -> Result<DnsRecord> {
        let selector = selector.unwrap_or_else(|| default_selector(algo));
        let (private_key, public_key) =
            generate(algo).map_err(|e| Error::unavailable(format!("making a key: {e:#}")))?;
        let key = DkimKey {
            domain: domain.to_string(),
            selector: selector.clone(),
            algorithm: algo.name().to_string(),
            private_key,
            public_key: public_key.clone(),
            created: 0,
        };
        self.store
            .dkim_key_add(&key)
            .await
            .map_err(|e| Error::from(e).on("selector"))?;
        Ok(record_of(domain, &selector, algo.name(), &public_key))
    }

    /// The keys of one domain, or of every domain in the scope.
    pub async fn dkim_list(&self, scope: &Scope, domain: Option<&str>) -> Result<Vec<DkimInfo>> {
        let domain = match domain {
            Some(d) => {
                let d = domain_name(d)?;
                scope.check(&d)?;
                Some(d)
            }
            None => None,
        };
        let keys = self.store.dkim_keys(domain.as_deref()).await?;
        Ok(keys
            .into_iter()
            .filter(|k| scope.covers(&k.domain))
            .map(|k| DkimInfo {
                record: record_of(&k.domain, &k.selector, &k.algorithm, &k.public_key),
                domain: k.domain,
                selector: k.selector,
                algorithm: k.algorithm,
                created: k.created,
            })
            .collect())
    }
}
