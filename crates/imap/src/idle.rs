//! IDLE (RFC 2177, RFC 9051 6.3.13): updates pushed as the store's change
//! events arrive, until the client sends DONE.

use std::time::Duration;

use tokio::sync::broadcast;

use crate::protocol::io::Io;
use crate::protocol::io::Wire;
use crate::session::{Flow, Session};

impl Session {
    pub(crate) async fn idle<S: Wire>(&mut self, io: &mut Io<S>, tag: &str) -> Flow {
        io.set_lean(true);
        let flow = self.idle_wait(io, tag).await;
        io.set_lean(false);
        flow
    }

    async fn idle_wait<S: Wire>(&mut self, io: &mut Io<S>, tag: &str) -> Flow {
        // A second receiver of the login's change events only wakes the
        // wait; `sync` still reads the login's own. Taken before the first
        // sync, so that a change between the two is not missed.
        let mut wake = self
            .state
            .login()
            .and_then(|l| l.events.as_ref())
            .map(|rx| rx.resubscribe());
        self.sync(io, true).await;
        io.push(b"+ idling\r\n");
        // Bounded like any other wait (RFC 9051 5.4: autologout).
        let deadline = tokio::time::Instant::now() + self.opts.idle_timeout;
        let shutdown = io.shutdown_signal();
        loop {
            if io.flush().await.is_err() {
                return Flow::Close;
            }
            let event = async {
                match &mut wake {
                    Some(rx) => match rx.recv().await {
                        Err(broadcast::error::RecvError::Closed) => {
                            std::future::pending::<()>().await
                        }
                        // One wake for what has queued up.
                        _ => while rx.try_recv().is_ok() {},
                    },
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                line = io.read_line() => {
                    match line {
                        Ok(Ok(Some(l))) => {
                            let l = l.strip_suffix(b"\r\n").unwrap_or(&l);
                            if l.eq_ignore_ascii_case(b"DONE") {
                                self.sync(io, true).await;
                                io.push_str(&format!("{tag} OK IDLE terminated\r\n"));
                                return Flow::Continue;
                            }
                            return self.bad(io, tag, "expected DONE");
                        }
                        Ok(Err(_)) => return self.bad(io, tag, "expected DONE"),
                        _ => return Flow::Close,
                    }
                }
                _ = event => {
                    if let Some(sel) = self.state.selected_mut() {
                        sel.dirty = true;
                    }
                    // Let a burst of changes settle into one report.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    self.sync(io, true).await;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    io.push(b"* BYE autologout; idle for too long\r\n");
                    return Flow::Close;
                }
                // An idling client is waiting, not working: it hears at once
                // that the server goes, instead of after the grace period.
                _ = shutdown.cancelled() => {
                    io.push(crate::session::SHUTTING_DOWN);
                    return Flow::Close;
                }
            }
        }
    }
}
