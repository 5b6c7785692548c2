//! IDLE (RFC 2177, RFC 9051 6.3.13): updates pushed as the store's change
//! events arrive, until the client sends DONE.

use std::time::Duration;

use tern_store::Change;
use tokio::sync::broadcast;

use crate::protocol::io::Io;
use crate::protocol::io::Wire;
use crate::session::{Flow, Session};

/// What the events of one wake say of the selected mailbox: nothing yet,
/// the newest HIGHESTMODSEQ it reached, or that some were lost (a lagging
/// receiver skipped them), when only the store can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reached {
    Nothing,
    At(u64),
    Lost,
}

impl Reached {
    fn with(self, event: Result<&Change, ()>, selected: Option<i64>) -> Reached {
        match (self, event) {
            (Reached::Lost, _) | (_, Err(())) => Reached::Lost,
            (r, Ok(c)) if Some(c.mailbox_id) != selected => r,
            (Reached::At(m), Ok(c)) => Reached::At(m.max(c.modseq)),
            (Reached::Nothing, Ok(c)) => Reached::At(c.modseq),
        }
    }

    fn modseq(self) -> Option<u64> {
        match self {
            Reached::At(m) => Some(m),
            _ => None,
        }
    }
}

/// How long a woken IDLE waits for more of a burst of changes before it
/// reports: short, since the report is what the client waits for.
const SETTLE: Duration = Duration::from_millis(2);

impl Session {
    pub(crate) async fn idle<S: Wire>(&mut self, io: &mut Io<S>, tag: &str) -> Flow {
        io.set_lean(true);
        let flow = self.idle_wait(io, tag).await;
        io.set_lean(false);
        flow
    }

    /// The syncs are boxed: their state (store reads) exists only while
    /// one runs, instead of sizing every idling session's wait.
    async fn idle_wait<S: Wire>(&mut self, io: &mut Io<S>, tag: &str) -> Flow {
        // A second receiver of the login's change events only wakes the
        // wait; `sync` still reads the login's own. Taken before the first
        // sync, so that a change between the two is not missed.
        let mut wake = self
            .state
            .login()
            .and_then(|l| l.events.as_ref())
            .map(|rx| rx.resubscribe());
        Box::pin(self.sync(io, true)).await;
        io.push(b"+ idling\r\n");
        // Bounded like any other wait (RFC 9051 5.4: autologout).
        let deadline = tokio::time::Instant::now() + self.opts.idle_timeout;
        let shutdown = io.shutdown_signal();
        loop {
            if io.flush().await.is_err() {
                return Flow::Close;
            }
            let selected = self.state.selected().map(|s| s.mailbox.id);
            // One wake for what has queued up.
            let event = async {
                let Some(rx) = &mut wake else {
                    return std::future::pending().await;
                };
                let mut reached = match rx.recv().await {
                    Err(broadcast::error::RecvError::Closed) => {
                        return std::future::pending().await;
                    }
                    Ok(c) => Reached::Nothing.with(Ok(&c), selected),
                    Err(broadcast::error::RecvError::Lagged(_)) => Reached::Lost,
                };
                loop {
                    reached = match rx.try_recv() {
                        Ok(c) => reached.with(Ok(&c), selected),
                        Err(broadcast::error::TryRecvError::Empty) => break,
                        Err(_) => Reached::Lost,
                    };
                }
                reached.modseq()
            };
            tokio::select! {
                line = io.read_line() => {
                    match line {
                        Ok(Ok(Some(l))) => {
                            let l = l.strip_suffix(b"\r\n").unwrap_or(&l);
                            if l.eq_ignore_ascii_case(b"DONE") {
                                Box::pin(self.sync(io, true)).await;
                                io.push_str(&format!("{tag} OK IDLE terminated\r\n"));
                                return Flow::Continue;
                            }
                            return self.bad(io, tag, "expected DONE");
                        }
                        Ok(Err(_)) => return self.bad(io, tag, "expected DONE"),
                        _ => return Flow::Close,
                    }
                }
                reached = event => {
                    if let Some(sel) = self.state.selected_mut() {
                        sel.dirty = true;
                        sel.reached = reached;
                    }
                    // Let a burst of changes (a COPY of many messages, a
                    // delivery to many mailboxes) settle into one report.
                    tokio::time::sleep(SETTLE).await;
                    Box::pin(self.sync(io, true)).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use tern_store::ChangeKind;

    fn change(mailbox_id: i64, modseq: u64) -> Result<Change, ()> {
        Ok(Change {
            account_id: 1,
            mailbox_id,
            kind: ChangeKind::Appended,
            modseq,
        })
    }

    /// `Reached` folded over a wake's events, as the wait does.
    fn reached(seen: &[Result<Change, ()>], selected: Option<i64>) -> Option<u64> {
        seen.iter()
            .fold(Reached::Nothing, |r, e| {
                r.with(e.as_ref().map_err(|_| ()), selected)
            })
            .modseq()
    }

    #[test]
    fn a_wake_reports_the_newest_modseq_of_the_selected_mailbox_only_when_nothing_was_lost() {
        let seen = [change(7, 4), change(9, 30), change(7, 6), change(7, 5)];
        assert_eq!(reached(&seen, Some(7)), Some(6));
        assert_eq!(reached(&seen, Some(9)), Some(30));
        assert_eq!(reached(&seen, Some(8)), None, "no event about it");
        assert_eq!(reached(&seen, None), None, "nothing selected");
        let lagged = [change(7, 4), Err(()), change(7, 6)];
        assert_eq!(reached(&lagged, Some(7)), None, "events were lost: ask");
    }
}
