//! Password hashing (argon2id, 19 MiB per run) on a few dedicated threads.
//!
//! On tokio's blocking pool each login could run on another of its many
//! threads, and the allocator keeps a thread's 19 MiB after the hash is
//! done: resident memory grew with the number of logins that ever ran at
//! once (about 19 MiB each), not with what is in use. Here at most one hash
//! per CPU runs at a time, on the same threads every time — argon2 is
//! CPU-bound, so more at once would not finish sooner — and the rest wait
//! in line.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use crate::{Result, StoreError};

type Job = Box<dyn FnOnce() + Send>;

fn queue() -> Option<&'static Mutex<mpsc::Sender<Job>>> {
    static QUEUE: OnceLock<Option<Mutex<mpsc::Sender<Job>>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<Job>();
            let rx = Arc::new(Mutex::new(rx));
            let workers = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .clamp(1, 8);
            let mut started = 0;
            for i in 0..workers {
                let rx = rx.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("tern-hash-{i}"))
                    .spawn(move || {
                        loop {
                            let job = match rx.lock() {
                                Ok(r) => r.recv(),
                                Err(p) => p.into_inner().recv(),
                            };
                            match job {
                                // A panicking job only loses its own answer.
                                Ok(job) => {
                                    let _ =
                                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                                }
                                Err(_) => return,
                            }
                        }
                    });
                if spawned.is_ok() {
                    started += 1;
                }
            }
            (started > 0).then(|| Mutex::new(tx))
        })
        .as_ref()
}

/// Run `f` (a password hash or verification) on a hashing thread.
pub(crate) async fn run<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    let sent = queue().is_some_and(|q| {
        let q = q.lock().unwrap_or_else(|p| p.into_inner());
        q.send(job).is_ok()
    });
    if !sent {
        return Err(StoreError::Other(anyhow::anyhow!(
            "no password hashing thread could be started"
        )));
    }
    rx.await
        .map_err(|_| StoreError::Other(anyhow::anyhow!("password hashing thread stopped")))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn runs_jobs_and_returns_their_results() {
        let jobs: Vec<_> = (0..20u32).map(|i| super::run(move || i * 2)).collect();
        let mut out = Vec::new();
        for j in jobs {
            out.push(j.await.unwrap());
        }
        assert_eq!(out, (0..20).map(|i| i * 2).collect::<Vec<_>>());
    }
}
