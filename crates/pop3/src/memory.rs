//! An in-memory maildrop, for tests and for trying the protocol without a
//! store.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::maildrop::{Body, DropError, Entry, Maildrop, Principal, Snapshot};

/// A message of the in-memory maildrop, handed out in chunks like a file.
pub struct MemoryBody {
    bytes: Vec<u8>,
    pos: usize,
}

impl Body for MemoryBody {
    async fn next_chunk(&mut self, max: usize) -> Result<Option<Vec<u8>>, DropError> {
        let end = self.bytes.len().min(self.pos + max.max(1));
        if self.pos >= end {
            return Ok(None);
        }
        let chunk = self.bytes[self.pos..end].to_vec();
        self.pos = end;
        Ok(Some(chunk))
    }
}

#[derive(Debug, Default)]
struct Account {
    id: i64,
    password: String,
    /// uid → bytes
    messages: BTreeMap<u32, Vec<u8>>,
    next_uid: u32,
}

/// Accounts with an INBOX each; mailbox id = account id.
#[derive(Debug, Clone, Default)]
pub struct MemoryDrop {
    inner: Arc<Mutex<BTreeMap<String, Account>>>,
}

pub const MEMORY_UIDVALIDITY: u32 = 1_700_000_000;

impl MemoryDrop {
    pub fn new() -> MemoryDrop {
        MemoryDrop::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Account>> {
        // A poisoned lock only means another test thread panicked.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Add an account; returns its id.
    pub fn add_account(&self, name: &str, password: &str) -> i64 {
        let mut m = self.lock();
        let id = m.len() as i64 + 1;
        m.insert(
            name.to_string(),
            Account {
                id,
                password: password.to_string(),
                messages: BTreeMap::new(),
                next_uid: 1,
            },
        );
        id
    }

    /// Deliver a message to an account's INBOX; returns its UID.
    pub fn deliver(&self, name: &str, bytes: &[u8]) -> Option<u32> {
        let mut m = self.lock();
        let a = m.get_mut(name)?;
        let uid = a.next_uid;
        a.next_uid += 1;
        a.messages.insert(uid, bytes.to_vec());
        Some(uid)
    }

    /// The UIDs now in an account's INBOX.
    pub fn uids(&self, name: &str) -> Vec<u32> {
        self.lock()
            .get(name)
            .map(|a| a.messages.keys().copied().collect())
            .unwrap_or_default()
    }

    fn by_id<T>(&self, id: i64, f: impl FnOnce(&mut Account) -> T) -> Option<T> {
        let mut m = self.lock();
        m.values_mut().find(|a| a.id == id).map(f)
    }
}

impl Maildrop for MemoryDrop {
    type Body = MemoryBody;

    async fn hold(&self, _account: i64) -> Result<Option<crate::maildrop::Hold>, DropError> {
        // One process: the in-process lock is the whole story.
        Ok(Some(Box::new(())))
    }

    async fn authenticate(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Option<Principal>, DropError> {
        let m = self.lock();
        Ok(m.get(user)
            .filter(|a| a.password == password)
            .map(|a| Principal {
                id: a.id,
                name: user.to_string(),
                app_password: None,
            }))
    }

    async fn snapshot(&self, account: i64) -> Result<Snapshot, DropError> {
        self.by_id(account, |a| Snapshot {
            mailbox: Some(a.id),
            uidvalidity: MEMORY_UIDVALIDITY,
            messages: a
                .messages
                .iter()
                .map(|(uid, b)| Entry {
                    uid: *uid,
                    size: b.len() as u64,
                })
                .collect(),
        })
        .ok_or_else(|| DropError::Perm(format!("no account {account}")))
    }

    async fn open(&self, mailbox: i64, uid: u32) -> Result<MemoryBody, DropError> {
        self.by_id(mailbox, |a| a.messages.get(&uid).cloned())
            .flatten()
            .map(|bytes| MemoryBody { bytes, pos: 0 })
            .ok_or(DropError::Gone)
    }

    async fn expunge(&self, mailbox: i64, uids: &[u32]) -> Result<Vec<u32>, DropError> {
        self.by_id(mailbox, |a| {
            uids.iter()
                .copied()
                .filter(|u| a.messages.remove(u).is_some())
                .collect()
        })
        .ok_or_else(|| DropError::Perm(format!("no mailbox {mailbox}")))
    }
}
