//! The maildrop lock (RFC 1939 8: one session at a time per maildrop),
//! in process. Sessions on other nodes of a shared store are kept out by
//! the store lease that `Maildrop::hold` takes as well.

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

/// Services on the same store share one set of locks: `tern serve` may make
/// one service per listener, and a session on 110 must see one on 995.
static SHARED: Mutex<Vec<(String, Locks)>> = Mutex::new(Vec::new());

impl Locks {
    /// The locks of the store named by `key` (its kind and location).
    pub fn shared(key: &str) -> Locks {
        let mut all = SHARED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, l)) = all.iter().find(|(k, _)| k == key) {
            return l.clone();
        }
        let l = Locks::default();
        all.push((key.to_string(), l.clone()));
        l
    }

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

    #[test]
    fn shared_by_store_key() {
        let a = Locks::shared("sqlite|/a");
        let _held = a.try_lock(7).unwrap();
        assert!(Locks::shared("sqlite|/a").try_lock(7).is_none());
        assert!(Locks::shared("sqlite|/b").try_lock(7).is_some());
    }
}
