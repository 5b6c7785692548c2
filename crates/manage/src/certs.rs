//! Certificates from ACME (RFC 8555): what each set of names has — issuer,
//! expiry, the next renewal, the last error — and a renewal asked of the
//! running server(s) through the store (`tern cert status|renew`).
//! Server-wide: admin only.

use serde::Serialize;
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Error, Result};
use crate::scope::Scope;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CertInfo {
    /// The DNS names the certificate covers.
    pub names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Seconds since the epoch; absent until a certificate is issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued: Option<i64>,
    /// When the server renews it (seconds since the epoch), unless a
    /// failure's backoff (`retry_after`) is later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew_at: Option<i64>,
    /// No attempt before this after a failure (seconds since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub failures: i64,
    /// The order being worked on (its URL at the CA), resumed after a
    /// restart while the CA still holds it open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// A renewal asked for and not yet done: `renew` or `force`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
}

impl Manager {
    /// Every set of names the store holds a certificate (or an attempt)
    /// for, newest certificate first.
    pub async fn cert_status(&self, scope: &Scope) -> Result<Vec<CertInfo>> {
        scope.admin()?;
        let before = self.config.acme.as_ref().and_then(|a| a.renew_before_days);
        let rows = self.store.acme_cert_list().await?;
        Ok(rows
            .into_iter()
            .map(|r| CertInfo {
                names: r.names.split(' ').map(str::to_string).collect(),
                renew_at: r.renew_at(before),
                issuer: r.issuer,
                not_after: r.not_after,
                issued: r.issued,
                retry_after: (r.next_attempt > 0 && r.last_error.is_some())
                    .then_some(r.next_attempt),
                last_error: r.last_error,
                failures: r.failures,
                order: r.order_url,
                requested: match r.renew_requested {
                    1 => Some("renew".into()),
                    2 => Some("force".into()),
                    _ => None,
                },
            })
            .collect())
    }

    /// Ask the running server(s) to renew now: every certificate that is
    /// due (any failure's backoff waived), or every one with `force`.
    /// Returns how many sets of names were asked; 0 when the store has
    /// none yet (a server with `[acme]` orders one by itself).
    pub async fn cert_renew(&self, scope: &Scope, force: bool) -> Result<u64> {
        scope.admin()?;
        if self.config.acme.is_none() {
            return Err(Error::invalid(
                "acme",
                "the configuration has no [acme] section",
            ));
        }
        Ok(self.store.acme_renew_request(force).await?)
    }
}
