//! Password hashing (argon2id, 19 MiB per run) on a few dedicated threads.
//!
//! On tokio's blocking pool each login could run on another of its many
//! threads, and the allocator keeps a thread's 19 MiB after the hash is
//! done: resident memory grew with the number of logins that ever ran at
//! once (about 19 MiB each), not with what is in use. Here at most one hash
//! per CPU runs at a time, on the same threads every time — argon2 is
//! CPU-bound, so more at once would not finish sooner — and the rest wait
//! in line. argon2's working memory is reused from one verification to
//! the next while logins are waiting, and given back to the system as soon
//! as none is: a server nobody is logging in to does not hold 19 MiB per
//! hashing thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::Block;

use crate::{Result, StoreError};

type Job = Box<dyn FnOnce() + Send>;

/// Jobs sent and not yet taken by a thread.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// Working memories not in use by a job.
static SPARE: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

fn spare() -> std::sync::MutexGuard<'static, Vec<Vec<Block>>> {
    SPARE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Run `f` in an argon2 working memory of `blocks` blocks: a spare one if
/// there is, else a new one.
pub(crate) fn with_memory<R>(blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    let mut m = spare().pop().unwrap_or_default();
    if m.len() < blocks {
        m.resize(blocks, Block::default());
    }
    let r = f(&mut m[..blocks]);
    spare().push(m);
    r
}

/// Free the spare working memories when no job waits for one. (A block
/// this large is a mapping of its own — see the allocator set-up in
/// `tern`'s main — so freeing it gives it back to the system.)
fn release_if_idle() {
    if WAITING.load(Ordering::Acquire) == 0 {
        let freed = std::mem::take(&mut *spare());
        drop(freed);
    }
}

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
                                    WAITING.fetch_sub(1, Ordering::AcqRel);
                                    let _ =
                                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                                    release_if_idle();
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
        WAITING.fetch_add(1, Ordering::AcqRel);
        let ok = q.send(job).is_ok();
        if !ok {
            WAITING.fetch_sub(1, Ordering::AcqRel);
        }
        ok
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

    #[tokio::test]
    async fn working_memory_is_given_back_when_no_job_waits() {
        // Several at once: some threads use their memory while others wait.
        let jobs: Vec<_> = (0..8)
            .map(|_| super::run(move || super::with_memory(64, |m| m.len())))
            .collect();
        for j in jobs {
            assert_eq!(j.await.unwrap(), 64);
        }
        // Once the line is empty (other tests may still be hashing), the
        // memory is given back; a job that has just sent its answer frees it
        // right after, hence the short wait.
        let start = std::time::Instant::now();
        while !super::spare().is_empty() && start.elapsed() < std::time::Duration::from_secs(10) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(super::spare().len(), 0, "working memory still held");
    }
}
