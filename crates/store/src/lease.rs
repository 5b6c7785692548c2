//! Named leases in the store: a lock that every node sees (with PostgreSQL,
//! across machines). A lease expires unless renewed, so a node that dies
//! holding one frees it after its time-to-live.

use std::time::Duration;

use tern_common::time::now_secs;

use crate::{Result, Store};

/// A held lease: renewed in the background, released on drop.
pub struct Lease {
    store: Store,
    name: String,
    owner: String,
    renew: tokio::task::JoinHandle<()>,
}

impl Store {
    /// Take `name` for `ttl` unless someone else holds it unexpired.
    pub async fn lease_try(&self, name: &str, ttl: Duration) -> Result<Option<Lease>> {
        let owner = format!("{:032x}", rand::random::<u128>());
        let t = now_secs();
        let until = t + ttl.as_secs().max(1) as i64;
        let r = sqlx::query(
            "INSERT INTO leases (name, owner, until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET owner = $2, until = $3 WHERE leases.until < $4",
        )
        .bind(name)
        .bind(&owner)
        .bind(until)
        .bind(t)
        .execute(self.pool())
        .await?;
        if r.rows_affected() == 0 {
            return Ok(None);
        }
        let store = self.clone();
        let (n, o) = (name.to_string(), owner.clone());
        let renew = tokio::spawn(async move {
            let every = (ttl / 3).max(Duration::from_secs(1));
            loop {
                tokio::time::sleep(every).await;
                let until = now_secs() + ttl.as_secs().max(1) as i64;
                let _ = sqlx::query("UPDATE leases SET until = $1 WHERE name = $2 AND owner = $3")
                    .bind(until)
                    .bind(&n)
                    .bind(&o)
                    .execute(store.pool())
                    .await;
            }
        });
        Ok(Some(Lease {
            store: self.clone(),
            name: name.to_string(),
            owner,
            renew,
        }))
    }
}

impl Lease {
    /// Give the lease back now.
    pub async fn release(self) {
        self.renew.abort();
        let _ = sqlx::query("DELETE FROM leases WHERE name = $1 AND owner = $2")
            .bind(&self.name)
            .bind(&self.owner)
            .execute(self.store.pool())
            .await;
    }
}

impl Lease {
    /// Stop renewing without releasing: the lease runs out by itself, as it
    /// does when its node dies.
    pub fn abandon(self) {
        self.renew.abort();
        std::mem::forget(self);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renew.abort();
        let (store, name, owner) = (self.store.clone(), self.name.clone(), self.owner.clone());
        if let Ok(h) = tokio::runtime::Handle::try_current() {
            h.spawn(async move {
                let _ = sqlx::query("DELETE FROM leases WHERE name = $1 AND owner = $2")
                    .bind(name)
                    .bind(owner)
                    .execute(store.pool())
                    .await;
            });
        }
    }
}
