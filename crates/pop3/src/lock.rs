//! The maildrop lock (RFC 1939 §8: one session at a time per maildrop).
//! In-process only: with several nodes on one PostgreSQL store, a second
//! node does not see this lock (that needs a lease row in the store).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub struct Locks {
    held: Arc<Mutex<HashSet<i64>>>,
}

/// Held while a session is in the TRANSACTION state; released on drop.
#[derive(Debug)]
pub struct LockGuard {
    locks: Locks,
    account: i64,
}

impl Locks {
    /// `None` when another session holds the account's maildrop.
    pub fn try_lock(&self, account: i64) -> Option<LockGuard> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.insert(account).then(|| LockGuard {
            locks: self.clone(),
            account,
        })
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let mut held = self.locks.held.lock().unwrap_or_else(|p| p.into_inner());
        held.remove(&self.account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_per_account() {
        let l = Locks::default();
        let a = l.try_lock(1);
        assert!(a.is_some());
        assert!(l.try_lock(1).is_none());
        assert!(l.try_lock(2).is_some());
        drop(a);
        assert!(l.try_lock(1).is_some());
    }
}
