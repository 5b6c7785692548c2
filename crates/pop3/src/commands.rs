//! The commands of each state.

use std::io;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::lines::LineIo;
use crate::maildrop::{DropError, Maildrop};
use crate::sasl::decode_plain;
use crate::session::{Flow, Session, State, Txn, reply_line};
use crate::stuff::{Stuffer, top_len};

/// Message bytes go out in pieces of this size (then the buffer may flush).
const CHUNK: usize = 16 * 1024;

const TLS_REQUIRED: &str = "-ERR [AUTH] TLS required; use STLS first";
const BAD_LOGIN: &str = "-ERR [AUTH] invalid user name or password";

impl<M: Maildrop> Session<M> {
    pub(crate) async fn command<S>(
        &mut self,
        verb: &str,
        args: &str,
        io: &mut LineIo<S>,
    ) -> io::Result<Flow>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        // Valid in every state.
        if verb == "CAPA" {
            self.capa(io);
            return Ok(Flow::Continue);
        }
        if matches!(self.state, State::Transaction(_)) {
            return self.transaction(verb, args, io).await;
        }
        match verb {
            "QUIT" => {
                reply_line(
                    io,
                    &format!("+OK {} POP3 server signing off", self.opts.hostname),
                );
                Ok(Flow::Close)
            }
            "STLS" => {
                if !args.is_empty() {
                    return Ok(self.error(io, "-ERR STLS takes no argument"));
                }
                if self.tls {
                    return Ok(self.error(io, "-ERR TLS is already active"));
                }
                reply_line(io, "+OK begin TLS negotiation");
                Ok(Flow::StartTls)
            }
            // RFC 2595 §2 and §4: no credential in the clear. Refuse before
            // reading it, with the same answer for each way of sending one.
            "USER" | "PASS" | "AUTH" if !self.tls => Ok(self.error(io, TLS_REQUIRED)),
            "USER" => {
                if args.is_empty() {
                    return Ok(self.error(io, "-ERR USER needs a name"));
                }
                self.state = State::Authorization {
                    user: Some(args.to_string()),
                };
                reply_line(io, "+OK send PASS");
                Ok(Flow::Continue)
            }
            "PASS" => {
                let State::Authorization { user: Some(user) } =
                    std::mem::replace(&mut self.state, State::Authorization { user: None })
                else {
                    return Ok(self.error(io, "-ERR send USER first"));
                };
                // RFC 1939 §7: the password is the rest of the line, spaces included.
                Ok(self.login(&user, args, io).await)
            }
            "AUTH" => Ok(self.auth(args, io).await),
            // RFC 6856 §2: the client takes UTF-8. This server accepts UTF-8
            // in USER, PASS and AUTH in any case and sends messages as
            // stored, so the command changes nothing here.
            "UTF8" if args.is_empty() => {
                reply_line(io, "+OK UTF8 enabled");
                Ok(Flow::Continue)
            }
            "STAT" | "LIST" | "RETR" | "DELE" | "NOOP" | "RSET" | "TOP" | "UIDL" => {
                Ok(self.error(io, "-ERR not logged in"))
            }
            _ => Ok(self.error(io, "-ERR unknown command")),
        }
    }

    /// RFC 2449 §5: the capabilities of the current state and connection.
    fn capa<S>(&self, io: &mut LineIo<S>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut r = String::from(
            "+OK capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\n",
        );
        let authorization = !matches!(self.state, State::Transaction(_));
        if self.tls && authorization {
            r.push_str("USER\r\nSASL PLAIN\r\n");
        }
        if !self.tls && authorization {
            r.push_str("STLS\r\n");
        }
        match (authorization, self.tls) {
            // RFC 6856 §2: "USER" says UTF-8 user names and passwords work.
            (true, true) => r.push_str("UTF8 USER\r\n"),
            (true, false) => r.push_str("UTF8\r\n"),
            _ => {}
        }
        r.push_str("IMPLEMENTATION tern\r\n.\r\n");
        io.push(r.as_bytes());
    }

    /// RFC 5034 §4: `AUTH mechanism [initial-response]`.
    async fn auth<S>(&mut self, args: &str, io: &mut LineIo<S>) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        if args.is_empty() {
            // Not in RFC 5034, but common clients ask this way.
            io.push(b"+OK\r\nPLAIN\r\n.\r\n");
            return Flow::Continue;
        }
        let (mech, initial) = match args.split_once(' ') {
            Some((m, i)) => (m, Some(i)),
            None => (args, None),
        };
        if !mech.eq_ignore_ascii_case("PLAIN") {
            return self.error(io, "-ERR unsupported SASL mechanism");
        }
        match initial {
            Some(ir) => self.plain(ir, io).await,
            None => {
                // An empty challenge: "+" and a space (RFC 5034 §4).
                io.push(b"+ \r\n");
                self.state = State::SaslPlain;
                Flow::Continue
            }
        }
    }

    /// The client's line after "+ ".
    pub(crate) async fn sasl_response<S>(
        &mut self,
        line: &[u8],
        io: &mut LineIo<S>,
    ) -> io::Result<Flow>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        if line == b"*" {
            return Ok(self.error(io, "-ERR authentication cancelled"));
        }
        let Ok(text) = std::str::from_utf8(line) else {
            return Ok(self.error(io, "-ERR [AUTH] malformed SASL response"));
        };
        Ok(self.plain(text, io).await)
    }

    async fn plain<S>(&mut self, b64: &str, io: &mut LineIo<S>) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        match decode_plain(b64) {
            Some(p) => self.login(&p.authcid, &p.password, io).await,
            None => {
                self.login_failed(io, "-ERR [AUTH] malformed SASL response")
                    .await
            }
        }
    }

    async fn login_failed<S>(&mut self, io: &mut LineIo<S>, reply: &str) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        self.login_failed_as(io, reply, "").await
    }

    /// A failed login of `user`: answered after the throttle's delay, the
    /// same for unknown users, wrong passwords and locks.
    async fn login_failed_as<S>(&mut self, io: &mut LineIo<S>, reply: &str, user: &str) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let delay = self.gate.failure(user, self.opts.auth_failure_delay);
        tokio::time::sleep(delay).await;
        self.auth_failures += 1;
        reply_line(io, reply);
        if self.auth_failures >= self.opts.max_auth_failures {
            return Flow::Close;
        }
        Flow::Continue
    }

    async fn login<S>(&mut self, user: &str, password: &str, io: &mut LineIo<S>) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        if !self.gate.check(user) {
            tracing::info!(peer = %self.peer, user, "pop3 login refused: too many failures");
            return self.login_failed_as(io, BAD_LOGIN, user).await;
        }
        let principal = match self.drop.authenticate(user, password).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                tracing::info!(peer = %self.peer, user, "pop3 login failed");
                return self.login_failed_as(io, BAD_LOGIN, user).await;
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, error = %e, "pop3 authentication unavailable");
                reply_line(io, "-ERR [SYS/TEMP] authentication unavailable; try later");
                return Flow::Continue;
            }
        };
        if self.gate.success(&principal.name).is_err() {
            reply_line(
                io,
                "-ERR [SYS/TEMP] too many connections for this account; try again later",
            );
            return Flow::Close;
        }
        // RFC 1939 §8 / RFC 2449 §8.1.1: one session per maildrop.
        let Some(lock) = self.locks.try_lock(principal.id) else {
            reply_line(
                io,
                "-ERR [IN-USE] maildrop already in use by another session",
            );
            return Flow::Continue;
        };
        let snapshot = match self.drop.snapshot(principal.id).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(peer = %self.peer, user, error = %e, "pop3 cannot open maildrop");
                reply_line(io, &sys_err(&e, "cannot open the maildrop"));
                return Flow::Continue;
            }
        };
        tracing::info!(peer = %self.peer, user = %principal.name, messages = snapshot.messages.len(), "pop3 login");
        let n = snapshot.messages.len();
        let octets: u64 = snapshot.messages.iter().map(|m| m.size).sum();
        self.state = State::Transaction(Box::new(Txn {
            principal,
            deleted: vec![false; n],
            snapshot,
            _lock: lock,
        }));
        reply_line(
            io,
            &format!("+OK maildrop has {n} messages ({octets} octets)"),
        );
        Flow::Continue
    }

    async fn transaction<S>(
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
        let bytes = match self.drop.message(mailbox, entry.uid).await {
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
        let body = match lines {
            Some(n) => &bytes[..top_len(&bytes, n)],
            None => &bytes[..],
        };
        match lines {
            Some(_) => reply_line(io, "+OK top of message follows"),
            None => reply_line(io, &format!("+OK {} octets", entry.size)),
        }
        let mut stuffer = Stuffer::default();
        for chunk in body.chunks(CHUNK) {
            stuffer.push(chunk, io.out());
            io.maybe_flush().await?;
        }
        stuffer.finish(io.out());
        Ok(Flow::Continue)
    }

    /// QUIT in TRANSACTION: the UPDATE state (RFC 1939 §6) removes every
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
                    // RFC 1939 §6: say that deletions did not happen.
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
    /// and UID, so it never changes and is never reused (RFC 1939 §7).
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

fn sys_err(e: &DropError, what: &str) -> String {
    format!("{} {what}", sys_code(e))
}
