//! Group commit of deliveries. Each caller's message files are written
//! (and renamed into `cur/`) but not synced when it gets here; the
//! committer gathers every request that is waiting, makes all their files
//! durable with one `syncfs(2)` of the data directory's file system, then
//! writes all their index rows in one transaction (one more sync for all of
//! them), and only then answers each caller. So a batch of concurrent
//! deliveries costs two syncs, not two per message, and still no caller is
//! answered before its bytes and its rows are durable. A request is atomic:
//! its rows sit behind a savepoint, so one failing request (over quota,
//! say) leaves the others in the same commit untouched.

use std::path::PathBuf;

use sqlx::{AnyConnection, AnyPool, Connection};
use tokio::sync::{mpsc, oneshot};

use crate::db::Backend;
use crate::delivered::Delivered;
use crate::events::{Bus, CHANNEL, Change, ChangeKind};
use crate::write_lock::Turns;
use crate::{Result, StoreError};

/// How many requests one commit takes at most.
const MAX_BATCH: usize = 256;

/// One message ready to be indexed.
pub(crate) struct Prepared {
    pub account_id: i64,
    pub account: String,
    pub mailbox_id: i64,
    pub size: i64,
    pub flags: String,
    pub internal_date: i64,
    pub internal_zone: i32,
    /// Maildir file name (SQLite setup).
    pub file: Option<String>,
    /// The bytes themselves (PostgreSQL setup).
    pub data: Option<Vec<u8>>,
    /// Or a large object holding them, built from a spool file in pieces
    /// (PostgreSQL setup): the blob is made from it and it is unlinked.
    pub large_object: Option<i64>,
    pub summary: Option<Vec<u8>>,
}

struct Request {
    items: Vec<Prepared>,
    /// A delivery that must happen once (a message fetched by SOURCE/GET):
    /// its key is written with the rows; a key already there makes the
    /// request `StoreError::AlreadyDelivered`, with nothing stored.
    key: Option<String>,
    reply: oneshot::Sender<Result<Vec<Delivered>>>,
}

pub(crate) struct Committer {
    tx: mpsc::Sender<Request>,
}

impl Committer {
    pub fn start(
        pool: AnyPool,
        backend: Backend,
        data_dir: PathBuf,
        bus: Bus,
        turns: Option<Turns>,
    ) -> Committer {
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(run(pool, backend, data_dir, bus, turns, rx));
        Committer { tx }
    }

    /// Index `items` atomically; returns once they are committed. With a
    /// `key`, at most once for that key.
    pub async fn commit(
        &self,
        items: Vec<Prepared>,
        key: Option<String>,
    ) -> Result<Vec<Delivered>> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request { items, key, reply })
            .await
            .map_err(|_| StoreError::Other(anyhow::anyhow!("the store is shutting down")))?;
        rx.await
            .map_err(|_| StoreError::Other(anyhow::anyhow!("the committer stopped")))?
    }
}

async fn run(
    pool: AnyPool,
    backend: Backend,
    data_dir: PathBuf,
    bus: Bus,
    turns: Option<Turns>,
    mut rx: mpsc::Receiver<Request>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        // The batch's message files first: one sync for all of them.
        let files = batch
            .iter()
            .any(|r| r.items.iter().any(|i| i.file.is_some()));
        if files && let Err(e) = sync_files(&data_dir).await {
            tracing::error!(error = %e, "cannot sync the message files");
            fail_all(batch, format!("cannot sync the message files: {e}"));
            continue;
        }
        // SQLite: the batch's transaction waits for its writing turn
        // like any other (`write_lock`).
        let _turn = match &turns {
            Some(t) => t.take().await,
            None => None,
        };
        commit_batch(&pool, backend, &bus, batch).await;
    }
}

/// Make every file written under `data_dir` durable, with the directory
/// entries that name them: `syncfs(2)` of its file system, on the blocking
/// pool. (The spool and the Maildirs live on that one file system; the
/// SQLite database syncs its own WAL at commit.)
async fn sync_files(data_dir: &std::path::Path) -> std::io::Result<()> {
    let dir = data_dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let d = std::fs::File::open(&dir)?;
        rustix::fs::syncfs(&d).map_err(std::io::Error::from)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Answer every request of a batch with the same error: none of it is stored.
fn fail_all(batch: Vec<Request>, msg: String) {
    for r in batch {
        let _ = r
            .reply
            .send(Err(StoreError::Other(anyhow::anyhow!(msg.clone()))));
    }
}

async fn commit_batch(pool: &AnyPool, backend: Backend, bus: &Bus, batch: Vec<Request>) {
    let mut conn = match pool.acquire().await {
        Ok(c) => c,
        Err(e) => {
            return fail_all(batch, format!("database unavailable: {e}"));
        }
    };
    let mut outcomes: Vec<Result<Vec<Delivered>>> = Vec::with_capacity(batch.len());
    // See `Store::write_tx`: take SQLite's write lock at BEGIN.
    let begin = match backend {
        Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => conn.begin().await,
    };
    let mut tx = match begin {
        Ok(t) => t,
        Err(e) => {
            return fail_all(batch, format!("cannot begin a transaction: {e}"));
        }
    };
    if backend == Backend::Postgres
        && let Err(e) = lock_rows(&mut tx, &batch).await
    {
        return fail_all(batch, format!("cannot lock the mailboxes: {e}"));
    }
    for req in &batch {
        let outcome = async {
            let mut sp = tx.begin().await?;
            if let Some(key) = &req.key {
                let fresh = sqlx::query(
                    "INSERT INTO delivery_keys (name, at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                )
                .bind(key)
                .bind(tern_common::time::now_secs())
                .execute(&mut *sp)
                .await?
                .rows_affected();
                if fresh == 0 {
                    sp.rollback().await?;
                    return Err(StoreError::AlreadyDelivered);
                }
            }
            match insert_request(&mut sp, backend, &req.items).await {
                Ok(d) => {
                    sp.commit().await?;
                    Ok(d)
                }
                Err(e) => {
                    sp.rollback().await?;
                    Err(e)
                }
            }
        }
        .await;
        outcomes.push(outcome);
    }
    if let Err(e) = tx.commit().await {
        tracing::error!(error = %e, "delivery commit failed");
        return fail_all(batch, format!("commit failed: {e}"));
    }
    for (req, outcome) in batch.into_iter().zip(outcomes) {
        if backend == Backend::Sqlite
            && let Ok(delivered) = &outcome
        {
            for d in delivered {
                bus.publish(Change {
                    account_id: d.account_id,
                    mailbox_id: d.mailbox_id,
                    kind: ChangeKind::Appended,
                    modseq: d.modseq,
                });
            }
        }
        let _ = req.reply.send(outcome);
    }
}

/// Lock every mailbox row the batch writes to, then every account row, each
/// in ascending id order: the order every writer follows (mailbox, then
/// account), so that batches on two nodes, or a batch and an expunge,
/// cannot wait for each other in a cycle. (SQLite has one writer at a time.)
async fn lock_rows(conn: &mut AnyConnection, batch: &[Request]) -> Result<()> {
    let items = || batch.iter().flat_map(|r| r.items.iter());
    let mailboxes: std::collections::BTreeSet<i64> = items().map(|i| i.mailbox_id).collect();
    let accounts: std::collections::BTreeSet<i64> = items().map(|i| i.account_id).collect();
    for id in mailboxes {
        sqlx::query("SELECT id FROM mailboxes WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    }
    for id in accounts {
        sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn insert_request(
    conn: &mut AnyConnection,
    backend: Backend,
    items: &[Prepared],
) -> Result<Vec<Delivered>> {
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        // Mailbox row first, then the account row: the order every writer
        // takes them in (expunges free quota after locking the mailbox), so
        // that two transactions on PostgreSQL cannot deadlock. Over quota,
        // the savepoint undoes the UID taken here.
        let (uid, modseq, uidvalidity): (i64, i64, i64) = sqlx::query_as(
            "UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 \
             WHERE id = $1 RETURNING uidnext - 1, highestmodseq, uidvalidity",
        )
        .bind(it.mailbox_id)
        .fetch_one(&mut *conn)
        .await?;
        let r = sqlx::query("UPDATE accounts SET used = used + $1 WHERE id = $2 AND (quota = 0 OR used + $1 <= quota)")
            .bind(it.size)
            .bind(it.account_id)
            .execute(&mut *conn)
            .await?;
        if r.rows_affected() == 0 {
            // Every delivery path (SMTP, IMAP APPEND) ends here: one count.
            tern_common::metrics::count(tern_common::metrics::Metric::QuotaExceeded);
            return Err(StoreError::OverQuota {
                account: it.account.clone(),
            });
        }
        let blob_id: Option<i64> = match (&it.data, it.large_object) {
            (Some(data), _) => Some(
                sqlx::query_scalar("INSERT INTO blobs (refs, data) VALUES (1, $1) RETURNING id")
                    .bind(data.as_slice())
                    .fetch_one(&mut *conn)
                    .await?,
            ),
            (None, Some(lo)) => {
                // The server copies the large object into the row; nothing
                // of it passes through tern.
                let id = sqlx::query_scalar(
                    "INSERT INTO blobs (refs, data) VALUES (1, lo_get(CAST($1 AS oid))) RETURNING id",
                )
                .bind(lo)
                .fetch_one(&mut *conn)
                .await?;
                sqlx::query("SELECT lo_unlink(CAST($1 AS oid))")
                    .bind(lo)
                    .execute(&mut *conn)
                    .await?;
                Some(id)
            }
            (None, None) => None,
        };
        sqlx::query(
            "INSERT INTO messages (mailbox_id, uid, size, internal_date, flags, modseq, file, blob_id, summary, internal_zone) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(it.mailbox_id)
        .bind(uid)
        .bind(it.size)
        .bind(it.internal_date)
        .bind(&it.flags)
        .bind(modseq)
        .bind(it.file.as_deref())
        .bind(blob_id)
        .bind(it.summary.as_deref())
        .bind(it.internal_zone as i64)
        .execute(&mut *conn)
        .await?;
        let d = Delivered {
            account_id: it.account_id,
            mailbox_id: it.mailbox_id,
            uidvalidity: uidvalidity as u32,
            uid: uid as u32,
            modseq: modseq as u64,
        };
        if backend == Backend::Postgres {
            let c = Change {
                account_id: d.account_id,
                mailbox_id: d.mailbox_id,
                kind: ChangeKind::Appended,
                modseq: d.modseq,
            };
            sqlx::query("SELECT 1 FROM pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(c.encode())
                .execute(&mut *conn)
                .await?;
        }
        out.push(d);
    }
    Ok(out)
}
