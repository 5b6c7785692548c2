//! The outbound queue: list, show, retry now, remove. Server-wide: admin
//! only.

use serde::Serialize;
use tern_store::{QueueId, QueueMessage, RcptState};
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest};
use crate::scope::Scope;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QueueRcptInfo {
    pub rcpt: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: u32,
    /// Seconds since the epoch.
    pub next_attempt: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_error: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QueueInfo {
    pub id: QueueId,
    /// Seconds since the epoch.
    pub created: i64,
    /// The envelope sender; empty for a bounce.
    pub sender: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ret: Option<String>,
    pub requiretls: bool,
    pub recipients: Vec<QueueRcptInfo>,
}

fn state_name(s: RcptState) -> &'static str {
    match s {
        RcptState::Pending => "pending",
        RcptState::Awaiting => "awaiting fetch",
        RcptState::Delivered => "delivered",
        RcptState::Failed => "failed",
    }
}

impl From<QueueMessage> for QueueInfo {
    fn from(m: QueueMessage) -> QueueInfo {
        QueueInfo {
            id: m.id,
            created: m.created,
            sender: m.sender,
            size: m.size,
            envid: m.envid,
            ret: m.ret,
            requiretls: m.requiretls,
            recipients: m
                .recipients
                .into_iter()
                .map(|r| QueueRcptInfo {
                    rcpt: r.rcpt,
                    state: state_name(r.state).into(),
                    attempts: r.attempts,
                    next_attempt: r.next_attempt,
                    last_error: r.last_error,
                })
                .collect(),
        }
    }
}

impl Manager {
    pub async fn queue_list(&self, scope: &Scope, page: &PageRequest) -> Result<Page<QueueInfo>> {
        scope.admin()?;
        let all: Vec<QueueInfo> = self
            .store
            .queue_list()
            .await?
            .into_iter()
            .map(QueueInfo::from)
            .collect();
        // Zero-padded, so that the key orders as the id does.
        page.page(all, |m| format!("{:020}", m.id))
    }

    pub async fn queue_get(&self, scope: &Scope, id: QueueId) -> Result<QueueInfo> {
        scope.admin()?;
        self.store
            .queue_message(id)
            .await?
            .map(QueueInfo::from)
            .ok_or_else(|| Error::not_found(format!("queued message {id} not found")))
    }

    /// Make one message's (or, with `None`, every) pending recipient due
    /// now; how many were. A message with nothing pending is a conflict.
    pub async fn queue_retry(&self, scope: &Scope, id: Option<QueueId>) -> Result<u64> {
        scope.admin()?;
        if let Some(id) = id {
            self.queue_get(scope, id).await?;
        }
        let n = self.store.queue_retry_now(id).await?;
        if let (0, Some(id)) = (n, id) {
            return Err(Error::conflict(format!(
                "queued message {id} has no pending recipient"
            )));
        }
        Ok(n)
    }

    pub async fn queue_remove(&self, scope: &Scope, id: QueueId) -> Result<()> {
        scope.admin()?;
        self.store.queue_remove(id).await?;
        Ok(())
    }
}
