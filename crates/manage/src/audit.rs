//! The audit log of security events (logins, locks, limits). Server-wide:
//! admin only.

use serde::Serialize;
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Error, Result};
use crate::scope::Scope;

/// The most records one query returns.
pub const MAX_AUDIT: i64 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Seconds since the epoch; 0 is from the start.
    pub since: i64,
    /// One kind only (`login_failed`, …).
    pub kind: Option<String>,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Seconds since the epoch.
    pub at: i64,
    pub kind: String,
    pub protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub detail: String,
}

impl Manager {
    pub async fn audit_list(&self, scope: &Scope, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        scope.admin()?;
        if !(1..=MAX_AUDIT).contains(&q.limit) {
            return Err(Error::invalid(
                "limit",
                format!("between 1 and {MAX_AUDIT}"),
            ));
        }
        let rows = self
            .store
            .audit_list(q.since, q.kind.as_deref(), q.limit)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                at: r.at,
                kind: r.kind,
                protocol: r.protocol,
                ip: r.ip,
                account: r.account,
                detail: r.detail,
            })
            .collect())
    }
}
