//! The write side: new messages into the index (delivery, APPEND, COPY).
//! Files first, then one group commit (`commit.rs`): nothing is
//! acknowledged before its bytes and rows are on disk.

use crate::blob;
use crate::commit::Prepared;
use crate::db::Backend;
use crate::delivered::Delivered;
use crate::mail::meta::join_flags;
use crate::{AccountId, MailboxId, Result, Store, StoreError};

/// Which mailbox a new message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxSel {
    Name(String),
    Id(MailboxId),
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub account_id: AccountId,
    pub mailbox: MailboxSel,
    pub bytes: Vec<u8>,
    pub flags: Vec<String>,
    pub internal_date: i64,
    /// Minutes east of UTC of the INTERNALDATE (an APPEND's date-time); 0
    /// for mail received here.
    pub internal_zone: i32,
    /// What a protocol layer derived from the bytes, if it already has it
    /// (see [`Store::message_summary_set`]); kept with the message.
    pub summary: Option<Vec<u8>>,
}

impl Store {
    /// Store new messages durably: files first (fsynced, in parallel with
    /// other callers), then one group commit for the index rows. All of
    /// `messages` or none.
    pub async fn deliver(&self, messages: Vec<NewMessage>) -> Result<Vec<Delivered>> {
        self.deliver_once(messages, None).await
    }

    /// `deliver`, at most once for `key` (a message fetched by SOURCE/GET):
    /// a key delivered before gives `StoreError::AlreadyDelivered` and
    /// stores nothing. The key is committed with the messages.
    pub async fn deliver_once(
        &self,
        messages: Vec<NewMessage>,
        key: Option<String>,
    ) -> Result<Vec<Delivered>> {
        let mut prepared = Vec::with_capacity(messages.len());
        let mut written: Vec<std::path::PathBuf> = Vec::new();
        let result = async {
            for m in messages {
                let mb = match &m.mailbox {
                    MailboxSel::Id(id) => self.mailbox_by_id(*id).await?,
                    MailboxSel::Name(n) => self.mailbox_get(m.account_id, n).await?,
                }
                .filter(|mb| mb.account_id == m.account_id)
                .ok_or_else(|| StoreError::NotFound(format!("mailbox {:?}", m.mailbox)))?;
                let account = self.account_name(m.account_id).await?;
                let size = m.bytes.len() as i64;
                // The summary, when the deliverer has none, is computed
                // beside the file's write, off the async workers.
                let summarize = m.summary.is_none().then(|| self.summarizer()).flatten();
                let (file, data, summary) = match self.backend() {
                    Backend::Sqlite => {
                        let dir: String =
                            sqlx::query_scalar("SELECT dir FROM mailboxes WHERE id = $1")
                                .bind(mb.id)
                                .fetch_one(self.pool())
                                .await?;
                        let folder = blob::folder_path(self.data_dir(), m.account_id, &dir);
                        let bytes = m.bytes;
                        let f2 = folder.clone();
                        let (name, summary) = tokio::task::spawn_blocking(move || {
                            let summary = summarize.and_then(|f| f(&bytes));
                            blob::write_message_unsynced(&f2, &bytes).map(|n| (n, summary))
                        })
                        .await
                        .map_err(|e| StoreError::Other(e.into()))??;
                        written.push(folder.join("cur").join(&name));
                        (Some(name), None, m.summary.or(summary))
                    }
                    Backend::Postgres => match summarize {
                        Some(f) => {
                            let bytes = m.bytes;
                            let (bytes, summary) = tokio::task::spawn_blocking(move || {
                                let summary = f(&bytes);
                                (bytes, summary)
                            })
                            .await
                            .map_err(|e| StoreError::Other(e.into()))?;
                            (None, Some(bytes), summary)
                        }
                        None => (None, Some(m.bytes), m.summary),
                    },
                };
                prepared.push(Prepared {
                    account_id: m.account_id,
                    account,
                    mailbox_id: mb.id,
                    size,
                    flags: join_flags(&m.flags),
                    internal_date: m.internal_date,
                    internal_zone: m.internal_zone,
                    file,
                    data,
                    large_object: None,
                    summary,
                });
            }
            self.inner.committer.commit(prepared, key).await
        }
        .await;
        if result.is_err() {
            // Nothing of a failed delivery stays visible.
            for p in &written {
                blob::remove_file(p);
            }
        }
        result
    }
}
