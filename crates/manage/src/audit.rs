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

/// The web admin's audit filter: every field narrows; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSearch {
    pub since: i64,
    pub until: Option<i64>,
    pub kind: Option<String>,
    pub account: Option<String>,
    pub ip: Option<String>,
    pub limit: i64,
}

fn entry(r: tern_store::AuditRecord) -> AuditEntry {
    AuditEntry {
        at: r.at,
        kind: r.kind,
        protocol: r.protocol,
        ip: r.ip,
        account: r.account,
        detail: r.detail,
    }
}

impl Manager {
    /// Audit records `q` selects, newest first.
    pub async fn audit_search(&self, scope: &Scope, q: &AuditSearch) -> Result<Vec<AuditEntry>> {
        scope.admin()?;
        if !(1..=MAX_AUDIT).contains(&q.limit) {
            return Err(Error::invalid(
                "limit",
                format!("between 1 and {MAX_AUDIT}"),
            ));
        }
        if let Some(k) = &q.kind
            && !tern_common::audit::AuditKind::ALL
                .iter()
                .any(|a| a.name() == k)
        {
            return Err(Error::invalid(
                "kind",
                format!("`{k}` is not an audit kind"),
            ));
        }
        let rows = self
            .store
            .audit_search(&tern_store::AuditFilter {
                since: q.since,
                until: q.until,
                kinds: q.kind.iter().cloned().collect(),
                account: q.account.clone(),
                ip: q.ip.clone(),
                limit: q.limit,
            })
            .await?;
        Ok(rows.into_iter().map(entry).collect())
    }

    /// The most recent security events (not routine logins), newest first.
    pub async fn security_events(&self, scope: &Scope, limit: i64) -> Result<Vec<AuditEntry>> {
        scope.admin()?;
        let kinds = tern_common::audit::AuditKind::ALL
            .iter()
            .filter(|k| !k.is_routine())
            .map(|k| k.name().to_string())
            .collect();
        let rows = self
            .store
            .audit_search(&tern_store::AuditFilter {
                kinds,
                limit: limit.clamp(1, MAX_AUDIT),
                ..Default::default()
            })
            .await?;
        Ok(rows.into_iter().map(entry).collect())
    }

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
