//! Tern's own writers take turns in process before SQLite's write lock.
//!
//! SQLite has one writer at a time (`BEGIN IMMEDIATE` takes the lock, see
//! `Store::write_tx`). A connection that finds it taken waits in SQLite's
//! busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25 … ms between tries
//! whatever happens meanwhile: the lock may come free a fraction of a
//! millisecond in, and the writer still sleeps on. Under a load of small
//! writes beside deliveries (flag changes, expunges) tern's threads slept
//! about 260 times a second, 4 ms each on average, in that handler.
//!
//! So on SQLite every write transaction of this process first waits its
//! turn here, first come first served (a tokio semaphore of one permit),
//! and holds it until it commits or is dropped. Then SQLite's lock is
//! free when it asks, except for another process (the CLI, a backup),
//! which the busy handler still arbitrates. The wait is bounded: past
//! `TURN_WAIT` the transaction goes on to SQLite without its turn (a
//! writer that opened a second write transaction inside its first would
//! otherwise wait for itself forever; SQLite's busy time-out then fails
//! it, as it always did).
//!
//! PostgreSQL takes row locks, not one lock for the database: no turn.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::{Any, AnyConnection, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a writer waits for its turn before it goes to SQLite anyway.
const TURN_WAIT: Duration = Duration::from_secs(10);

/// The turns of one SQLite database's writers in this process.
#[derive(Clone)]
pub(crate) struct Turns(Arc<Semaphore>);

impl Turns {
    pub fn new() -> Turns {
        Turns(Arc::new(Semaphore::new(1)))
    }

    /// This writer's turn, once every writer before it has finished;
    /// `None` past `TURN_WAIT`.
    pub async fn take(&self) -> Option<OwnedSemaphorePermit> {
        self.take_within(TURN_WAIT).await
    }

    async fn take_within(&self, wait: Duration) -> Option<OwnedSemaphorePermit> {
        match tokio::time::timeout(wait, self.0.clone().acquire_owned()).await {
            Ok(Ok(p)) => Some(p),
            Ok(Err(_)) => None,
            Err(_) => {
                tracing::warn!("store: a write waited {wait:?} for its turn; going on without it");
                None
            }
        }
    }
}

/// A write transaction and, on SQLite, this process's writing turn, given
/// back when the transaction ends (commit, rollback or drop). Used as the
/// connection it runs on: `&mut *tx` for queries.
pub(crate) struct WriteTx {
    tx: Transaction<'static, Any>,
    _turn: Option<OwnedSemaphorePermit>,
}

impl WriteTx {
    pub fn new(tx: Transaction<'static, Any>, turn: Option<OwnedSemaphorePermit>) -> WriteTx {
        WriteTx { tx, _turn: turn }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writers_take_turns_in_the_order_they_asked() {
        let turns = Turns::new();
        let first = turns.take().await.expect("free");
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut waiting = Vec::new();
        for i in 0..3 {
            let (turns, order) = (turns.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let _t = turns.take().await;
                order.lock().unwrap().push(i);
            }));
            // Each asks before the next one does.
            tokio::task::yield_now().await;
        }
        assert!(order.lock().unwrap().is_empty(), "all wait for the first");
        drop(first);
        for w in waiting {
            w.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2]);
    }

    #[tokio::test]
    async fn a_writer_that_waits_too_long_goes_on_without_its_turn() {
        let turns = Turns::new();
        let _held = turns.take().await;
        let wait = Duration::from_millis(20);
        assert!(turns.take_within(wait).await.is_none());
    }
}
