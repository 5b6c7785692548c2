//! The TRANSACTION state (RFC 1939 5) and the UPDATE state (RFC 1939 6).

use std::io;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::lines::LineIo;
use crate::maildrop::{Body, DropError, Maildrop};
use crate::state::{Flow, Session, State, Txn, reply_line};
use crate::stuff::{Stuffer, TopCut};

/// Message bytes go out in pieces of this size (then the buffer may flush).
const CHUNK: usize = 64 * 1024;

impl<M: Maildrop> Session<M> {
    pub(crate) async fn transaction<S>(
        &mut self,
        verb: &str,
        args: &str,
        io: &mut LineIo<S>,
    ) -> io::Result<Flow>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let State::Transaction(txn) = &mut self.state else {
            return Ok(Flow::Continue);
        };
        let mut words = args.split(' ').filter(|w| !w.is_empty());
        let a1 = words.next();
        let a2 = words.next();
        let extra = words.next().is_some();
        let reply = match verb {
            "STAT" if a1.is_none() => {
                let (n, octets) = txn.totals();
                format!("+OK {n} {octets}")
            }
            "NOOP" if a1.is_none() => "+OK".into(),
            "RSET" if a1.is_none() => {
                txn.deleted.iter_mut().for_each(|d| *d = false);
                let (n, octets) = txn.totals();
                format!("+OK maildrop has {n} messages ({octets} octets)")
            }
            "LIST" | "UIDL" if a2.is_none() => {
                let uidl = verb == "UIDL";
                match a1 {
                    Some(a) => match txn.number(a) {
                        Ok(i) => format!("+OK {} {}", i + 1, txn.describe(i, uidl)),
                        Err(e) => e,
                    },
                    None => {
                        let mut r = String::from("+OK\r\n");
                        for i in (0..txn.deleted.len()).filter(|&i| !txn.deleted[i]) {
                            r.push_str(&format!("{} {}\r\n", i + 1, txn.describe(i, uidl)));
                        }
                        r.push('.');
                        r
                    }
                }
            }
            "DELE" if a1.is_some() && a2.is_none() => match txn.number(a1.unwrap_or_default()) {
                Ok(i) => {
                    txn.deleted[i] = true;
                    format!("+OK message {} deleted", i + 1)
                }
                Err(e) => e,
            },
            "RETR" if a1.is_some() && a2.is_none() => {
                return self.send(a1.unwrap_or_default(), None, io).await;
            }
            "TOP" if a2.is_some() && !extra => {
                let Some(n) = a2.and_then(parse_number) else {
                    return Ok(self.error(io, "-ERR TOP needs a message number and a line count"));
                };
                return self.send(a1.unwrap_or_default(), Some(n), io).await;
            }
            "QUIT" if a1.is_none() => return Ok(self.update(io).await),
            "STAT" | "NOOP" | "RSET" | "LIST" | "UIDL" | "DELE" | "RETR" | "TOP" | "QUIT" => {
                return Ok(self.error(io, "-ERR wrong arguments"));
            }
            "USER" | "PASS" | "AUTH" | "STLS" | "APOP" | "UTF8" => {
                return Ok(self.error(io, "-ERR already logged in"));
            }
            _ => return Ok(self.error(io, "-ERR unknown command")),
        };
        reply_line(io, &reply);
        Ok(Flow::Continue)
    }

    /// RETR (whole message) and TOP (header and `lines` body lines).
    async fn send<S>(
        &mut self,
        arg: &str,
        lines: Option<u64>,
        io: &mut LineIo<S>,
    ) -> io::Result<Flow>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let State::Transaction(txn) = &self.state else {
            return Ok(Flow::Continue);
        };
        let i = match txn.number(arg) {
            Ok(i) => i,
            Err(e) => {
                reply_line(io, &e);
                return Ok(Flow::Continue);
            }
        };
        let entry = txn.snapshot.messages[i];
        let Some(mailbox) = txn.snapshot.mailbox else {
            reply_line(io, "-ERR no such message");
            return Ok(Flow::Continue);
        };
        let mut body = match self.drop.open(mailbox, entry.uid).await {
            Ok(b) => b,
            Err(DropError::Gone) => {
                reply_line(io, &format!("-ERR message {} no longer exists", i + 1));
                return Ok(Flow::Continue);
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, uid = entry.uid, error = %e, "pop3 cannot read message");
                reply_line(io, &sys_err(&e, "cannot read the message"));
                return Ok(Flow::Continue);
            }
        };
        match lines {
            Some(_) => reply_line(io, "+OK top of message follows"),
            None => reply_line(io, &format!("+OK {} octets", entry.size)),
        }
        // One chunk at a time from the file: memory does not grow with the
        // message's size.
        let mut top = lines.map(TopCut::new);
        let mut stuffer = Stuffer::default();
        loop {
            let chunk = match body.next_chunk(CHUNK).await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => {
                    // The +OK is out: the only honest end is to close
                    // (RFC 1939 has no way to fail a multi-line answer).
                    tracing::warn!(peer = %self.peer, uid = entry.uid, error = %e, "pop3 message unreadable mid-answer");
                    io.maybe_flush().await?;
                    return Ok(Flow::Close);
                }
            };
            let n = top.as_mut().map_or(chunk.len(), |t| t.take(&chunk));
            stuffer.push(&chunk[..n], io.out());
            io.maybe_flush().await?;
            if top.as_ref().is_some_and(TopCut::done) {
                break;
            }
        }
        stuffer.finish(io.out());
        Ok(Flow::Continue)
    }

    /// QUIT in TRANSACTION: the UPDATE state (RFC 1939 6) removes every
    /// message marked deleted, in one expunge.
    async fn update<S>(&mut self, io: &mut LineIo<S>) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let State::Transaction(txn) =
            std::mem::replace(&mut self.state, State::Authorization { user: None })
        else {
            return Flow::Close;
        };
        let uids: Vec<u32> = txn
            .snapshot
            .messages
            .iter()
            .zip(&txn.deleted)
            .filter(|(_, d)| **d)
            .map(|(m, _)| m.uid)
            .collect();
        let bye = format!("{} POP3 server signing off", self.opts.hostname);
        let reply = match (txn.snapshot.mailbox, uids.is_empty()) {
            (Some(mailbox), false) => match self.drop.expunge(mailbox, &uids).await {
                Ok(removed) => {
                    tracing::info!(peer = %self.peer, user = %txn.principal.name, removed = removed.len(), "pop3 update");
                    format!("+OK {bye} ({} messages deleted)", removed.len())
                }
                Err(e) => {
                    tracing::warn!(peer = %self.peer, user = %txn.principal.name, error = %e, "pop3 update failed");
                    // RFC 1939 6: say that deletions did not happen.
                    format!("{} some deleted messages not removed", sys_code(&e))
                }
            },
            _ => format!("+OK {bye}"),
        };
        reply_line(io, &reply);
        // The lock goes with `txn`.
        Flow::Close
    }
}

impl Txn {
    /// Messages not marked deleted, and their octets.
    fn totals(&self) -> (usize, u64) {
        self.snapshot
            .messages
            .iter()
            .zip(&self.deleted)
            .filter(|(_, d)| !**d)
            .fold((0, 0), |(n, o), (m, _)| (n + 1, o + m.size))
    }

    /// A message number argument, as an index into the snapshot.
    fn number(&self, arg: &str) -> Result<usize, String> {
        let n = parse_number(arg).ok_or_else(|| "-ERR no such message".to_string())?;
        let i = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .filter(|&i| i < self.deleted.len())
            .ok_or_else(|| "-ERR no such message".to_string())?;
        if self.deleted[i] {
            return Err(format!("-ERR message {n} already deleted"));
        }
        Ok(i)
    }

    /// LIST: the size; UIDL: the unique id. The id is made of UIDVALIDITY
    /// and UID, so it never changes and is never reused (RFC 1939 7).
    fn describe(&self, i: usize, uidl: bool) -> String {
        let m = self.snapshot.messages[i];
        if uidl {
            format!("{}.{}", self.snapshot.uidvalidity, m.uid)
        } else {
            m.size.to_string()
        }
    }
}

fn parse_number(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn sys_code(e: &DropError) -> &'static str {
    match e {
        DropError::Perm(_) => "-ERR [SYS/PERM]",
        DropError::Temp(_) | DropError::Gone => "-ERR [SYS/TEMP]",
    }
}

pub(crate) fn sys_err(e: &DropError, what: &str) -> String {
    format!("{} {what}", sys_code(e))
}
