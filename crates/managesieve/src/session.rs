//! The session loop: greet with the capabilities (RFC 5804 1.7), then
//! read, frame and answer commands until LOGOUT, end of stream, a time-out
//! or shutdown. `run` drives it over any byte stream: it answers
//! everything buffered, then flushes once. Before login the framing takes
//! only short lines and literals; the login time-out runs from the
//! connection's start (and again after UNAUTHENTICATE), the idle time-out
//! from the last input.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tern_common::gate::Gate;
use tern_common::quick_ack::QuickAck;
use tern_store::Store;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::framing::{Frame, Framer};
use crate::options::Options;
use crate::reply::response;
use crate::state::{Flow, Session, State};

pub use tern_common::listener::Upgrade;

/// How long a client that stops reading its responses is waited for.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// Serve one connection without login throttling or limits (tests).
pub async fn run<S>(
    store: Store,
    opts: Arc<Options>,
    stream: S,
    tls: bool,
    upgrader: &dyn Upgrade<S>,
    shutdown: CancellationToken,
    peer: String,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + QuickAck,
{
    let gate = Gate::open("managesieve");
    run_gated(store, opts, stream, tls, upgrader, shutdown, peer, gate).await
}

/// The bounds of the framing in the session's state.
fn limits(s: &Session) -> (usize, usize) {
    match s.state {
        State::Authenticated(_) => (s.opts.max_line, tern_store::MAX_SIEVE_SCRIPT_SIZE),
        _ => (s.opts.max_line_anonymous, s.opts.max_line_anonymous),
    }
}

async fn write<S: AsyncWrite + Unpin>(stream: &mut S, out: &mut Vec<u8>) -> std::io::Result<()> {
    let w = async {
        if !out.is_empty() {
            stream.write_all(out).await?;
            out.clear();
        }
        stream.flush().await
    };
    tokio::time::timeout(WRITE_TIMEOUT, w)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "client stopped reading"))?
}

/// `run`, with login throttling and per-user connection limits.
#[allow(clippy::too_many_arguments)]
pub async fn run_gated<S>(
    store: Store,
    opts: Arc<Options>,
    mut stream: S,
    tls: bool,
    upgrader: &dyn Upgrade<S>,
    shutdown: CancellationToken,
    peer: String,
    gate: Gate,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + QuickAck,
{
    let mut s = Session {
        store,
        opts: opts.clone(),
        peer,
        tls,
        state: State::Anonymous,
        started: Instant::now(),
        auth_failures: 0,
        errors: 0,
        gate,
        out: Vec::with_capacity(1024),
    };
    let (line, literal) = limits(&s);
    let mut framer = Framer::new(line, literal);
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let caps = s.capabilities();
    s.push(&caps);
    s.ok(&format!("{} ManageSieve ready", opts.hostname));
    loop {
        let Some(frame) = framer.next(&mut buf) else {
            if write(&mut stream, &mut s.out).await.is_err() {
                return;
            }
            // Before login, the time left of the login time-out; after,
            // the idle time-out.
            let wait = match s.state {
                State::Authenticated(_) => opts.idle_timeout,
                _ => opts
                    .login_timeout
                    .saturating_sub(s.started.elapsed())
                    .min(opts.idle_timeout),
            };
            // Read no more than the framing will take in one step.
            let room = framer.want().saturating_sub(buf.len()).clamp(1, 16 * 1024);
            let mut chunk = vec![0u8; room];
            // A script still arriving: acknowledge what came, or the
            // client's last write of it may wait for the delayed ACK (see
            // `tern_common::quick_ack`).
            if framer.mid_command() {
                stream.quick_ack();
            }
            tokio::select! {
                _ = shutdown.cancelled() => {
                    s.push(&response("BYE", Some("TRYLATER"), "server shutting down"));
                    let _ = write(&mut stream, &mut s.out).await;
                    let _ = stream.shutdown().await;
                    return;
                }
                r = tokio::time::timeout(wait, stream.read(&mut chunk)) => match r {
                    Err(_) => {
                        let why = match s.state {
                            State::Authenticated(_) => "idle for too long",
                            _ => "no login in time",
                        };
                        s.push(&response("BYE", None, why));
                        let _ = write(&mut stream, &mut s.out).await;
                        let _ = stream.shutdown().await;
                        return;
                    }
                    Ok(Ok(0)) | Ok(Err(_)) => return,
                    Ok(Ok(n)) => {
                        buf.extend_from_slice(&chunk[..n]);
                        continue;
                    }
                }
            }
        };
        let flow = match frame {
            Frame::Command(args) => match std::mem::replace(&mut s.state, State::Anonymous) {
                State::Sasl(sasl) => s.sasl_response(sasl, args).await,
                state => {
                    s.state = state;
                    s.command(args).await
                }
            },
            Frame::TooLong => {
                if matches!(s.state, State::Sasl(_)) {
                    s.state = State::Anonymous;
                }
                s.error("line too long")
            }
            Frame::Malformed(why) => {
                if matches!(s.state, State::Sasl(_)) {
                    s.state = State::Anonymous;
                }
                s.error(why)
            }
            Frame::LiteralTooLarge { args, size } => {
                if matches!(s.state, State::Sasl(_)) {
                    s.state = State::Anonymous;
                }
                s.too_large(&args, size)
            }
        };
        let (line, literal) = limits(&s);
        framer.set_limits(line, literal);
        match flow {
            Flow::Continue => {
                if s.out.len() >= 64 * 1024 && write(&mut stream, &mut s.out).await.is_err() {
                    return;
                }
            }
            Flow::Close => {
                let _ = write(&mut stream, &mut s.out).await;
                let _ = stream.shutdown().await;
                return;
            }
            Flow::StartTls => {
                if write(&mut stream, &mut s.out).await.is_err() {
                    return;
                }
                // RFC 5804 2.2: nothing sent before the handshake is a
                // command.
                buf.clear();
                framer.reset();
                match upgrader.upgrade(stream).await {
                    Ok(t) => {
                        stream = t;
                        s.tls = true;
                        // RFC 5804 2.2: the capabilities again, under TLS.
                        let caps = s.capabilities();
                        s.push(&caps);
                        s.ok("TLS negotiation successful");
                    }
                    Err(e) => {
                        tracing::debug!(peer = %s.peer, error = %e, "managesieve STARTTLS handshake failed");
                        return;
                    }
                }
            }
        }
    }
}
