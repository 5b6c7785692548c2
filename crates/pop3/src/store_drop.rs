//! The maildrop on the real store: INBOX of the account.

use std::sync::Arc;

use tern_common::config::Config;
use tern_store::{Store, StoreError};

use crate::lock::Locks;
use crate::maildrop::{Body, DropError, Entry, Maildrop, Principal, Snapshot};

/// A message of the store, read from its file (or blob row) in chunks.
pub struct StoreBody(tern_store::MessageReader);

impl Body for StoreBody {
    async fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<u8>>, DropError> {
        self.0
            .next_chunk(max)
            .await
            .map_err(|e| map(e, "reading a message"))
    }
}
use crate::service::{Pop3, options_from};

/// The POP3 service on the store, for the `pop3` and `pop3s` listeners.
pub type Service = Pop3<StoreDrop>;

impl Pop3<StoreDrop> {
    /// The service for the `pop3` and `pop3s` listeners. Services made
    /// from the same configuration share their maildrop locks.
    pub fn new(config: Arc<Config>, store: Store) -> Service {
        let key = format!(
            "{:?}|{}|{}",
            config.store.kind,
            config.store.url.as_deref().unwrap_or_default(),
            config.data_dir.display()
        );
        Pop3::with_locks(
            StoreDrop { store },
            options_from(&config),
            Locks::shared(&key),
        )
    }
}

#[derive(Clone)]
pub struct StoreDrop {
    store: Store,
}

impl StoreDrop {
    pub fn new(store: Store) -> StoreDrop {
        StoreDrop { store }
    }
}

fn map(e: StoreError, what: &str) -> DropError {
    match e {
        StoreError::NotFound(_) => DropError::Gone,
        StoreError::Invalid(m) => DropError::Perm(format!("{what}: {m}")),
        e => DropError::Temp(format!("{what}: {e:#}")),
    }
}

/// How long a maildrop lease lives without renewal (its node died).
const LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(120);

impl Maildrop for StoreDrop {
    type Body = StoreBody;

    async fn hold(&self, account: i64) -> Result<Option<crate::maildrop::Hold>, DropError> {
        match self
            .store
            .lease_try(&format!("pop3:{account}"), LEASE_TTL)
            .await
        {
            Ok(Some(lease)) => Ok(Some(Box::new(lease))),
            Ok(None) => Ok(None),
            Err(e) => Err(map(e, "locking the maildrop")),
        }
    }

    async fn login_key(&self, user: &str) -> String {
        match self.store.login_key(user).await {
            Ok(k) => k,
            Err(_) => tern_common::address::login_key(user),
        }
    }

    async fn authenticate(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Principal>, DropError> {
        let account = self
            .store
            .authenticate(user, password)
            .await
            .map_err(|e| DropError::Temp(format!("authenticating: {e:#}")))?;
        Ok(account.map(|l| Principal {
            app_password: l.credential.app_password().map(str::to_string),
            id: l.account.id,
            name: l.account.name,
        }))
    }

    async fn snapshot(&self, account: i64) -> Result<Snapshot, DropError> {
        let Some(inbox) = self
            .store
            .mailbox_get(account, "INBOX")
            .await
            .map_err(|e| map(e, "opening INBOX"))?
        else {
            return Ok(Snapshot::default());
        };
        let messages = self
            .store
            .messages(inbox.id)
            .await
            .map_err(|e| map(e, "listing INBOX"))?
            .into_iter()
            .map(|m| Entry {
                uid: m.uid,
                size: m.size,
            })
            .collect();
        Ok(Snapshot {
            mailbox: Some(inbox.id),
            uidvalidity: inbox.uidvalidity,
            messages,
        })
    }

    async fn open(&self, mailbox: i64, uid: u32) -> Result<StoreBody, DropError> {
        self.store
            .message_reader(mailbox, uid)
            .await
            .map(StoreBody)
            .map_err(|e| map(e, "reading a message"))
    }

    async fn expunge(&self, mailbox: i64, uids: &[u32]) -> Result<Vec<u32>, DropError> {
        self.store
            .expunge_uids(mailbox, uids)
            .await
            .map_err(|e| match e {
                StoreError::NotFound(m) => DropError::Temp(format!("expunging: {m} not found")),
                e => map(e, "expunging"),
            })
    }
}
