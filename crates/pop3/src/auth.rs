//! The AUTHORIZATION state (RFC 1939 4), CAPA (RFC 2449 5), STLS
//! (RFC 2595 4) and AUTH PLAIN (RFC 5034), and the dispatch of commands.

use std::io;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::lines::LineIo;
use crate::maildrop::Maildrop;
use crate::state::{Flow, Session, State, Txn, reply_line};
use crate::transaction::sys_err;
use tern_common::sasl::decode_plain;

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
            // RFC 2595 2 and 4: no credential in the clear. Refuse before
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
                // RFC 1939 7: the password is the rest of the line, spaces included.
                Ok(self.login(&user, args, io).await)
            }
            "AUTH" => Ok(self.auth(args, io).await),
            // RFC 6856 2: the client takes UTF-8. This server accepts UTF-8
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

    /// RFC 2449 5: the capabilities of the current state and connection.
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
            // RFC 6856 2: "USER" says UTF-8 user names and passwords work.
            (true, true) => r.push_str("UTF8 USER\r\n"),
            (true, false) => r.push_str("UTF8\r\n"),
            _ => {}
        }
        r.push_str("IMPLEMENTATION tern\r\n.\r\n");
        io.push(r.as_bytes());
    }

    /// RFC 5034 4: `AUTH mechanism [initial-response]`.
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
                // An empty challenge: "+" and a space (RFC 5034 4).
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
        // Every spelling of one account is one name to the throttle.
        let key = self.drop.login_key(user).await;
        if !self.gate.check(&key) {
            tracing::info!(peer = %self.peer, user = %key, "pop3 login refused: too many failures");
            return self.login_failed_as(io, BAD_LOGIN, &key).await;
        }
        let principal = match self.drop.authenticate(user, password).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                tracing::info!(peer = %self.peer, user = %key, "pop3 login failed");
                return self.login_failed_as(io, BAD_LOGIN, &key).await;
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, error = %e, "pop3 authentication unavailable");
                reply_line(io, "-ERR [SYS/TEMP] authentication unavailable; try later");
                return Flow::Continue;
            }
        };
        let app_password = principal.app_password.as_deref();
        if self
            .gate
            .success_with(&principal.name, app_password)
            .is_err()
        {
            reply_line(
                io,
                "-ERR [SYS/TEMP] too many connections for this account; try again later",
            );
            return Flow::Close;
        }
        // RFC 1939 8 / RFC 2449 8.1.1: one session per maildrop.
        let Some(lock) = self.locks.try_lock(principal.id) else {
            reply_line(
                io,
                "-ERR [IN-USE] maildrop already in use by another session",
            );
            return Flow::Continue;
        };
        // The in-process lock answers at once; the store lease makes the same
        // promise to sessions on the other nodes of a shared store.
        let hold = match self.drop.hold(principal.id).await {
            Ok(Some(h)) => h,
            Ok(None) => {
                reply_line(
                    io,
                    "-ERR [IN-USE] maildrop already in use by another session",
                );
                return Flow::Continue;
            }
            Err(e) => {
                reply_line(io, &sys_err(&e, "cannot lock the maildrop"));
                return Flow::Continue;
            }
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
            _hold: hold,
        }));
        reply_line(
            io,
            &format!("+OK maildrop has {n} messages ({octets} octets)"),
        );
        Flow::Continue
    }
}
