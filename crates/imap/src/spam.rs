//! What a user's moves teach the spam filter: a message moved or copied
//! into the `\Junk` mailbox is spam; one moved out of it (anywhere but
//! `\Trash`) is ham, and so is one flagged or answered outside Junk. The
//! account's model and the global one learn it (`Store::spam_train`; a
//! message trained again the other way counts once, as the last move
//! says), and rspamd's controller too when `[spam]` names it.
//!
//! Training never delays the command: it runs after the reply, in the
//! background, a few messages at a time server-wide (`PARALLEL`), at
//! most `MAX_PER_COMMAND` messages per command (a mass move teaches
//! with its first ones; the rest would only repeat them).

use std::sync::Arc;
use std::time::Duration;

use tern_common::config::Config;
use tern_store::{MailboxId, Store};
use tokio::sync::Semaphore;

/// Messages trained at once, server-wide.
const PARALLEL: usize = 2;
/// Messages one command trains at most.
pub const MAX_PER_COMMAND: usize = 500;

pub struct Trainer {
    store: Store,
    classifier: bool,
    rspamd: Option<tern_spam::Rspamd>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("classifier", &self.classifier)
            .field("rspamd", &self.rspamd.is_some())
            .finish()
    }
}

/// What a change of mailbox or flags teaches, if anything.
pub fn lesson(from_use: Option<&str>, to_use: Option<&str>) -> Option<bool> {
    let is = |u: Option<&str>, want: &str| u.is_some_and(|u| u.eq_ignore_ascii_case(want));
    match (is(from_use, "\\Junk"), is(to_use, "\\Junk")) {
        (false, true) => Some(true),
        (true, false) if !is(to_use, "\\Trash") => Some(false),
        _ => None,
    }
}

impl Trainer {
    /// From `[spam]`: `None` when neither the classifier nor rspamd is on.
    pub fn new(config: &Config, store: Store) -> Option<Arc<Trainer>> {
        let s = &config.spam;
        let rspamd = s.rspamd_url.as_deref().map(|url| {
            tern_spam::Rspamd::new(
                url,
                s.rspamd_controller_url.as_deref(),
                s.rspamd_password.clone(),
                Duration::from_secs(s.rspamd_timeout_secs),
            )
        });
        if !s.classifier && rspamd.is_none() {
            return None;
        }
        Some(Arc::new(Trainer {
            store,
            classifier: s.classifier,
            rspamd,
            permits: Arc::new(Semaphore::new(PARALLEL)),
        }))
    }

    /// Teach that the messages `uids` of `mailbox` are spam (or ham), in
    /// the background.
    pub fn learn(self: &Arc<Self>, account: i64, mailbox: MailboxId, uids: Vec<u32>, spam: bool) {
        if uids.is_empty() {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            for uid in uids.into_iter().take(MAX_PER_COMMAND) {
                let Ok(_permit) = me.permits.clone().acquire_owned().await else {
                    return;
                };
                if let Err(e) = me.one(account, mailbox, uid, spam).await {
                    tracing::warn!(account, uid, error = %e, "spam: training failed");
                }
            }
        });
    }

    async fn one(
        &self,
        account: i64,
        mailbox: MailboxId,
        uid: u32,
        spam: bool,
    ) -> Result<(), String> {
        let bytes = self
            .store
            .message_bytes(mailbox, uid)
            .await
            .map_err(|e| e.to_string())?;
        let bytes = bytes::Bytes::from(bytes);
        if self.classifier {
            let raw = bytes.clone();
            let (key, tokens) = tokio::task::spawn_blocking(move || {
                (
                    tern_spam::tokens::message_key(&raw),
                    tern_spam::tokens(&raw),
                )
            })
            .await
            .map_err(|e| e.to_string())?;
            let changed = self
                .store
                .spam_train(account, &key, spam, &tokens)
                .await
                .map_err(|e| e.to_string())?;
            tracing::debug!(account, uid, spam, changed, "spam: trained");
        }
        if let Some(r) = &self.rspamd {
            r.learn(spam, bytes).await.map_err(|e| e.to_string())?;
            tracing::info!(account, uid, spam, "spam: rspamd learned");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_teach_by_special_use() {
        assert_eq!(lesson(None, Some("\\Junk")), Some(true));
        assert_eq!(lesson(Some("\\Sent"), Some("\\junk")), Some(true));
        assert_eq!(lesson(Some("\\Junk"), None), Some(false));
        assert_eq!(lesson(Some("\\Junk"), Some("\\Archive")), Some(false));
        assert_eq!(
            lesson(Some("\\Junk"), Some("\\Trash")),
            None,
            "deleting spam teaches nothing"
        );
        assert_eq!(lesson(Some("\\Junk"), Some("\\Junk")), None);
        assert_eq!(lesson(None, None), None);
    }
}
