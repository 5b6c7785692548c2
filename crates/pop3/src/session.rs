//! The POP3 session loop: AUTHORIZATION → TRANSACTION → UPDATE (RFC 1939 3),
//! with CAPA and response codes (RFC 2449), STLS (RFC 2595) and AUTH PLAIN
//! (RFC 5034). `run` drives it over any byte stream: it reads, lets the
//! handlers answer everything buffered, then flushes once. The state lives
//! in `state.rs`, the commands in `auth.rs` and `transaction.rs`.

use std::io;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

use crate::gate::Gate;
use crate::lines::{Line, LineIo};
use crate::lock::Locks;
use crate::maildrop::Maildrop;
use crate::options::Options;
use crate::state::{Flow, Session, State};

pub use tern_common::listener::Upgrade;

/// Serve one connection until QUIT, end of stream, autologout or shutdown.
/// `tls` says whether `stream` is already TLS (port 995); otherwise STLS is
/// offered and `upgrader` runs the handshake.
#[allow(clippy::too_many_arguments)]
pub async fn run<M, S>(
    drop: M,
    locks: Locks,
    opts: Arc<Options>,
    stream: S,
    tls: bool,
    upgrader: &dyn Upgrade<S>,
    shutdown: CancellationToken,
    peer: String,
) where
    M: Maildrop,
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    run_gated(
        drop,
        locks,
        opts,
        stream,
        tls,
        upgrader,
        shutdown,
        peer,
        Gate::open("pop3"),
    )
    .await
}

/// `run`, with login throttling and per-user connection limits.
#[allow(clippy::too_many_arguments)]
pub async fn run_gated<M, S>(
    drop: M,
    locks: Locks,
    opts: Arc<Options>,
    stream: S,
    tls: bool,
    upgrader: &dyn Upgrade<S>,
    shutdown: CancellationToken,
    peer: String,
    gate: Gate,
) where
    M: Maildrop,
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut io = LineIo::new(stream, opts.max_line_length, opts.idle_timeout);
    let mut s = Session {
        drop,
        locks,
        opts: opts.clone(),
        peer,
        tls,
        state: State::Authorization { user: None },
        auth_failures: 0,
        errors: 0,
        gate,
    };
    io.push(format!("+OK {} POP3 server ready\r\n", opts.hostname).as_bytes());
    loop {
        let line = match io.next_line() {
            Some(l) => l,
            None => {
                // Nothing more buffered: answer everything so far at once
                // (RFC 2449 6.6), then wait for the client.
                if io.flush().await.is_err() {
                    return;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => {
                        // No UPDATE state: deletions are only applied on QUIT.
                        io.push(b"-ERR [SYS/TEMP] server shutting down\r\n");
                        io.shutdown().await;
                        return;
                    }
                    r = tokio::time::timeout(opts.idle_timeout, io.fill()) => match r {
                        Err(_) => {
                            // RFC 1939 3: autologout, without entering UPDATE.
                            io.push(b"-ERR autologout; idle for too long\r\n");
                            io.shutdown().await;
                            return;
                        }
                        Ok(Ok(0)) | Ok(Err(_)) => return,
                        Ok(Ok(_)) => continue,
                    }
                }
            }
        };
        let flow = match s.handle(line, &mut io).await {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(peer = %s.peer, error = %e, "pop3 connection lost");
                return;
            }
        };
        match flow {
            Flow::Continue => {
                if io.maybe_flush().await.is_err() {
                    return;
                }
            }
            Flow::Close => {
                io.shutdown().await;
                return;
            }
            Flow::StartTls => {
                if io.flush().await.is_err() {
                    return;
                }
                // RFC 2595 4: input pipelined behind STLS is not trusted.
                io.discard_input();
                let plain = io.into_stream();
                match upgrader.upgrade(plain).await {
                    Ok(tls) => {
                        io = LineIo::new(tls, opts.max_line_length, opts.idle_timeout);
                        s.tls = true;
                        s.state = State::Authorization { user: None };
                    }
                    Err(e) => {
                        tracing::debug!(peer = %s.peer, error = %e, "pop3 STLS handshake failed");
                        return;
                    }
                }
            }
        }
    }
}

impl<M: Maildrop> Session<M> {
    async fn handle<S>(&mut self, line: Line, io: &mut LineIo<S>) -> io::Result<Flow>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let line = match line {
            Line::Ok(l) => l,
            Line::TooLong => {
                if matches!(self.state, State::SaslPlain) {
                    self.state = State::Authorization { user: None };
                }
                return Ok(self.error(io, "-ERR line too long"));
            }
            Line::Malformed => {
                if matches!(self.state, State::SaslPlain) {
                    self.state = State::Authorization { user: None };
                }
                return Ok(self.error(io, "-ERR lines end with CRLF and hold no NUL or bare CR"));
            }
        };
        if matches!(self.state, State::SaslPlain) {
            self.state = State::Authorization { user: None };
            return self.sasl_response(&line, io).await;
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            return Ok(self.error(io, "-ERR commands are ASCII"));
        };
        let (verb, args) = match text.split_once(' ') {
            Some((v, a)) => (v, a),
            None => (text, ""),
        };
        let verb = verb.to_ascii_uppercase();
        self.command(&verb, args, io).await
    }
}
