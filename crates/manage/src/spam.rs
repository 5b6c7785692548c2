//! The spam classifier's models, for an administrator: train an account
//! with a message (bulk training from mbox or Maildir is the CLI's loop
//! over this), and how much each model has learned.

use serde::Serialize;
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Error, Result};
use crate::scope::Scope;

/// How much a model has learned, and whether it judges yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SpamModelInfo {
    /// Messages learned as spam and as ham.
    pub spam: u64,
    pub ham: u64,
    /// It has learned `[spam] min_trained` of each kind.
    pub ready: bool,
}

/// An account's model and the global one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SpamStatus {
    pub account: SpamModelInfo,
    pub global: SpamModelInfo,
}

impl Manager {
    /// Train `user`'s model (and the global one) with `message` as spam or
    /// ham; false when it was trained so already.
    pub async fn spam_train(
        &self,
        scope: &Scope,
        user: &str,
        message: Vec<u8>,
        spam: bool,
    ) -> Result<bool> {
        let account = self.account_id(scope, user).await?;
        let (key, tokens) = tokio::task::spawn_blocking(move || {
            (
                tern_spam::tokens::message_key(&message),
                tern_spam::tokens(&message),
            )
        })
        .await
        .map_err(|e| Error::unavailable(e.to_string()))?;
        Ok(self.store.spam_train(account, &key, spam, &tokens).await?)
    }

    pub async fn spam_status(&self, scope: &Scope, user: &str) -> Result<SpamStatus> {
        let account = self.account_id(scope, user).await?;
        let (own, global) = self.store.spam_models(account, &[]).await?;
        let min = self.config.spam.min_trained;
        let info = |m: tern_store::SpamModel| SpamModelInfo {
            spam: m.totals.0,
            ham: m.totals.1,
            ready: tern_spam::ready(m.totals.into(), min),
        };
        Ok(SpamStatus {
            account: info(own),
            global: info(global),
        })
    }
}
