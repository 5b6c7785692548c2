//! What a health check asks of the store: a round trip through the pool,
//! and how much the outbound queue holds.

use crate::{Result, Store};

/// The outbound queue at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Recipients still pending.
    pub depth: i64,
    /// When the oldest message with a pending recipient was queued (Unix
    /// seconds); `None` when nothing waits.
    pub oldest: Option<i64>,
}

impl Store {
    /// A trivial query through the pool: the database answers.
    pub async fn ping(&self) -> Result<()> {
        let _one: i64 = sqlx::query_scalar("SELECT CAST(1 AS BIGINT)")
            .fetch_one(self.pool())
            .await?;
        Ok(())
    }

    /// Pending recipients and the age of the oldest pending message.
    pub async fn queue_stats(&self) -> Result<QueueStats> {
        let (depth, oldest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), MIN(m.created) FROM queue_recipients r \
             JOIN queue_messages m ON m.id = r.message_id WHERE r.state = 'pending'",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(QueueStats { depth, oldest })
    }
}
