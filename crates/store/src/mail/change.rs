//! What every writer of the mail index shares: telling other sessions
//! about a change (in process on SQLite, `pg_notify` on PostgreSQL, sent
//! only once the transaction commits), and the mailbox write that
//! serialises changes to one mailbox's messages.

use sqlx::AnyConnection;

use crate::db::Backend;
use crate::events::{CHANNEL, Change};
use crate::{AccountId, MailboxId, Result, Store, StoreError};

impl Store {
    pub(super) async fn emit(&self, conn: &mut AnyConnection, change: &Change) -> Result<()> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT 1 FROM pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(change.encode())
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    pub(super) fn emitted(&self, change: Change) {
        if self.backend() == Backend::Sqlite {
            self.inner.events.publish(change);
        }
    }

    /// A transaction that changes the messages of one mailbox; returns its
    /// account. The mailbox row is written first, which on PostgreSQL takes
    /// its row lock: concurrent read-modify-writes of the mailbox's flags
    /// are serialised and cannot lose an update (READ COMMITTED would let
    /// two sessions read the same flags and each write back its own).
    pub(super) async fn begin_mailbox_write(
        &self,
        mailbox: MailboxId,
    ) -> Result<(crate::write_lock::WriteTx, AccountId)> {
        let mut tx = self.write_tx().await?;
        let account: i64 = sqlx::query_scalar(
            "UPDATE mailboxes SET highestmodseq = highestmodseq WHERE id = $1 RETURNING account_id",
        )
        .bind(mailbox)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("mailbox #{mailbox}")))?;
        Ok((tx, account))
    }

    pub(crate) async fn account_name(&self, account: AccountId) -> Result<String> {
        sqlx::query_scalar("SELECT name FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("account #{account}")))
    }
}
