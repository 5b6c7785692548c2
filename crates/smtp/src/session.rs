//! One inbound SMTP session (RFC 5321) over any byte stream: the loop
//! (`run` reads, `process` answers everything buffered, `flush` writes the
//! replies once: RFC 2920 pipelining), strict framing and the command
//! dispatch. Each phase lives in its own module: `greeting` (EHLO/HELO),
//! `starttls` (RFC 3207), `envelope` (MAIL/RCPT), `data` (DATA/BDAT,
//! RFC 3030) and `auth` (AUTH and submission policy). Rule: a handler
//! chooses the reply and the next `Step`; only this loop closes or upgrades
//! the stream.

mod auth;
mod data;
mod envelope;
mod greeting;
mod source_get;
mod starttls;

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smtp_proto::{Error as ProtoError, Request};
use tern_common::config::Family;
use tern_common::gate::Gate;
use tern_common::listener::TlsInfo;
pub use tern_common::listener::Upgrade;
use tern_common::quick_ack::QuickAck;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::Shared;
use crate::deliver::Envelope;
use crate::framing::{ChunkState, FrameError, take_line};
use crate::numbers::{self, Size};
use crate::replies as R;
use crate::spool::Spool;

/// RFC 5321 4.5.3.1.4: a command line is at most 512 octets with CRLF.
const MAX_COMMAND: usize = 510;

/// The whole message (DATA, or every BDAT chunk together) must arrive
/// within this many data time-outs: the per-read time-out alone would let
/// a client drip one byte at a time forever.
const MESSAGE_TIMEOUTS: u32 = 3;

/// Commands that move no mail (NOOP, RSET, VRFY, HELP, EHLO/HELO) allowed
/// between two messages before the connection is closed, as idle
/// keep-alives would otherwise hold a connection slot for ever.
const MAX_JUNK: u32 = 100;

/// For streams that cannot do TLS (in-memory tests): STARTTLS is not offered.
pub struct NoTls;

impl<S: Send + 'static> Upgrade<S> for NoTls {
    fn upgrade(
        &self,
        _stream: S,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<S>> + Send + '_>> {
        Box::pin(async { Err(io::Error::other("TLS is not available")) })
    }
}

/// Facts about the connection.
#[derive(Debug, Clone)]
pub struct Peer {
    pub ip: IpAddr,
    pub tls: Option<TlsInfo>,
    /// Whether STARTTLS can be offered.
    pub can_starttls: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Command,
    Data,
    /// Reading a BDAT chunk; `discard` when the chunk was refused but must
    /// still be read (RFC 3030 3).
    Bdat {
        remaining: usize,
        last: bool,
        discard: bool,
    },
    /// AUTH PLAIN sent R::AUTH_CONTINUE and waits for the credentials.
    AuthPlain,
    /// AUTH LOGIN waits for the user name, then the password.
    AuthLoginUser,
    AuthLoginPass,
}

enum Step {
    NeedMore,
    Close,
    StartTls,
}

struct Txn {
    env: Envelope,
    /// The message so far: in memory up to a threshold, then spooled.
    data: Spool,
    too_big: bool,
    used_bdat: bool,
    /// BDAT framing state carried from one chunk to the next.
    chunk: ChunkState,
    /// When the message must be complete (set by DATA or the first BDAT).
    deadline: Option<Instant>,
}

pub struct Session<'a, S> {
    shared: Arc<Shared>,
    stream: Option<S>,
    upgrade: &'a dyn Upgrade<S>,
    peer: Peer,
    shutdown: CancellationToken,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    helo: Option<String>,
    esmtp: bool,
    txn: Option<Txn>,
    mode: Mode,
    errors: u32,
    /// Commands that moved no mail since the last message (MAX_JUNK).
    junk: u32,
    /// When the wait for the current command line began: bytes of a partial
    /// command do not extend its time-out (RFC 5321 4.5.3.2.7).
    wait_since: Instant,
    /// The authenticated account (submission).
    authed: Option<(i64, String)>,
    login_user: String,
    /// Login throttling, the per-user limits and the audit of logins.
    gate: Gate,
    /// This session replays a message fetched by GET from an MX of this
    /// reverse-path domain, under this identifier (docs/source-get.md 7).
    fetched: Option<(String, String)>,
}

fn reply(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

impl<'a, S> Session<'a, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + QuickAck,
{
    /// A session outside the listener (tests): logins are throttled by
    /// the shared `Security`, as a served connection's are.
    pub fn new(
        shared: Arc<Shared>,
        stream: S,
        upgrade: &'a dyn Upgrade<S>,
        peer: Peer,
        shutdown: CancellationToken,
    ) -> Self {
        let sec = shared.security.clone();
        let gate = match sec.limiter.admit(Family::Submission, peer.ip) {
            Ok(guard) => Gate::new(sec, guard, peer.ip, "submission"),
            Err(_) => Gate::open("submission"),
        };
        Self::with_gate(shared, stream, upgrade, peer, shutdown, gate)
    }

    /// A session whose logins go through `gate` (the listener's connection
    /// guard and the server's throttle).
    pub fn with_gate(
        shared: Arc<Shared>,
        stream: S,
        upgrade: &'a dyn Upgrade<S>,
        peer: Peer,
        shutdown: CancellationToken,
        gate: Gate,
    ) -> Self {
        Session {
            shared,
            stream: Some(stream),
            upgrade,
            peer,
            shutdown,
            inbuf: Vec::with_capacity(4096),
            out: Vec::with_capacity(1024),
            helo: None,
            esmtp: false,
            txn: None,
            mode: Mode::Command,
            errors: 0,
            junk: 0,
            wait_since: Instant::now(),
            authed: None,
            login_user: String::new(),
            gate,
            fetched: None,
        }
    }

    /// Mark the session as the replay of a message fetched by GET (`id`)
    /// from an MX of `domain`: its Authentication-Results say
    /// `source-get=pass`, and it is stored at most once for `id`.
    pub fn fetched_from(mut self, domain: String, id: String) -> Self {
        self.fetched = Some((domain, id));
        self
    }

    /// In the middle of a message (DATA or BDAT): the one state that gets
    /// the shutdown grace period. Waiting for a command, or for an AUTH
    /// response, the session is answered 421 at once (RFC 5321 3.8).
    fn receiving(&self) -> bool {
        matches!(self.mode, Mode::Data | Mode::Bdat { .. })
    }

    fn hostname(&self) -> &str {
        &self.shared.config.hostname
    }

    /// Serve until QUIT, an error, a time-out or shutdown. Every log line
    /// of the session carries its id and the peer (the span).
    pub async fn run(self) {
        let id = format!("{:08x}", rand::random::<u32>());
        // `user` is filled in at login, so later lines name the account too.
        let span = tracing::info_span!(
            "smtp",
            session = %id,
            peer = %self.peer.ip,
            user = tracing::field::Empty
        );
        self.serve().instrument(span).await
    }

    async fn serve(mut self) {
        let greeting = R::greeting(self.hostname());
        reply(&mut self.out, &greeting);
        loop {
            let step = self.process().await;
            if self.flush().await.is_err() {
                return;
            }
            match step {
                Step::Close => break,
                Step::StartTls => {
                    if !self.start_tls().await {
                        break;
                    }
                    continue;
                }
                Step::NeedMore => {}
            }
            if self.shutdown.is_cancelled() && !self.receiving() {
                let t = R::hosted(R::SHUTTING_DOWN, self.hostname());
                reply(&mut self.out, &t);
                let _ = self.flush().await;
                break;
            }
            match self.read_more().await {
                Ok(true) => {}
                Ok(false) => break,
                Err(msg) => {
                    reply(&mut self.out, &msg);
                    let _ = self.flush().await;
                    break;
                }
            }
        }
        if let Some(mut s) = self.stream.take() {
            let _ = s.shutdown().await;
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let Some(s) = self.stream.as_mut() else {
            return Ok(());
        };
        // RFC 2920 3.2: the replies of a pipelined batch go out together.
        let r = tokio::time::timeout(Duration::from_secs(60), async {
            s.write_all(&self.out).await?;
            s.flush().await
        })
        .await
        .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "write timed out")));
        self.out.clear();
        r
    }

    /// Read more bytes; Ok(false) at end of stream; Err(reply) on time-out.
    async fn read_more(&mut self) -> Result<bool, String> {
        let cfg = &self.shared.config.smtp;
        // RFC 5321 4.5.3.2: 5 minutes for commands, 3 for each data block,
        // and here also a bound on the whole message, against slow drips.
        let now = Instant::now();
        let limit = match self.mode {
            Mode::Command | Mode::AuthPlain | Mode::AuthLoginUser | Mode::AuthLoginPass => {
                // Nothing buffered: a new command line starts now. A partial
                // line keeps the time its first byte came in under.
                if self.inbuf.is_empty() {
                    self.wait_since = now;
                }
                let deadline = self.wait_since + Duration::from_secs(cfg.command_timeout_secs);
                deadline.saturating_duration_since(now)
            }
            Mode::Data | Mode::Bdat { .. } => {
                let per_read = Duration::from_secs(cfg.data_timeout_secs);
                match self.txn.as_ref().and_then(|t| t.deadline) {
                    Some(d) => per_read.min(d.saturating_duration_since(now)),
                    None => per_read,
                }
            }
        };
        let idle = !self.receiving();
        let Some(s) = self.stream.as_mut() else {
            return Ok(false);
        };
        // More of a message to come: acknowledge what came, or the
        // client's last write of it may wait for the delayed ACK (see
        // `tern_common::quick_ack`).
        if matches!(self.mode, Mode::Data | Mode::Bdat { .. }) {
            s.quick_ack();
        }
        let mut chunk = [0u8; 16 * 1024];
        let shutdown = self.shutdown.clone();
        let read = tokio::select! {
            r = tokio::time::timeout(limit, s.read(&mut chunk)) => r,
            _ = shutdown.cancelled(), if idle => {
                return Err(R::hosted(R::SHUTTING_DOWN, &self.shared.config.hostname));
            }
        };
        match read {
            Err(_) => Err(R::hosted(R::TIMEOUT, &self.shared.config.hostname)),
            Ok(Err(_)) | Ok(Ok(0)) => Ok(false),
            Ok(Ok(n)) => {
                self.inbuf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
        }
    }

    /// Handle everything already buffered: each step takes what its mode
    /// reads (a command line, a message line, an AUTH response, BDAT
    /// octets) and says whether to stop (`Some`) or go on.
    async fn process(&mut self) -> Step {
        loop {
            let stop = match self.mode {
                Mode::Command => self.command_line().await,
                Mode::Data => self.data_line().await,
                Mode::AuthPlain | Mode::AuthLoginUser | Mode::AuthLoginPass => {
                    self.auth_line().await
                }
                Mode::Bdat {
                    remaining,
                    last,
                    discard,
                } => self.bdat_octets(remaining, last, discard).await,
            };
            if let Some(step) = stop {
                return step;
            }
        }
    }

    /// One command line, unless shutdown has begun.
    async fn command_line(&mut self) -> Option<Step> {
        let line = match take_line(&mut self.inbuf, MAX_COMMAND) {
            Ok(Some(l)) => l,
            Ok(None) => return Some(Step::NeedMore),
            Err(e) => return Some(self.frame_error(e, "command")),
        };
        // Whatever follows in the buffer is the next command's start.
        self.wait_since = Instant::now();
        // Shutting down: no new command is started, even one already
        // pipelined behind a finished message.
        if self.shutdown.is_cancelled() {
            let t = R::hosted(R::SHUTTING_DOWN, self.hostname());
            reply(&mut self.out, &t);
            return Some(Step::Close);
        }
        match self.command(&line).await {
            Step::NeedMore => None,
            other => Some(other),
        }
    }

    fn frame_error(&mut self, e: FrameError, what: &str) -> Step {
        let text = R::framing(e, what);
        tracing::info!(error = %e, "smtp framing violation");
        reply(&mut self.out, &text);
        Step::Close
    }

    /// Delay the reply to a bad command or recipient (tarpit), count the error.
    async fn bad(&mut self, text: &str) -> Step {
        let base = self.shared.config.tarpit.base_for(None);
        self.bad_with(text, base).await
    }

    /// `bad` for an unknown recipient at a local domain, whose own
    /// tarpitting setting decides (a store that cannot say: the
    /// configuration's).
    async fn bad_recipient(&mut self, text: &str, domain: &str) -> Step {
        let own = match self.shared.store.domain_policy(domain).await {
            Ok(p) => p.and_then(|p| p.tarpit_ms),
            Err(e) => {
                tracing::warn!(error = %e, "smtp domain policy lookup failed");
                None
            }
        };
        let base = self.shared.config.tarpit.base_for(own);
        self.bad_with(text, base).await
    }

    async fn bad_with(&mut self, text: &str, base_ms: Option<u64>) -> Step {
        let delay = self
            .shared
            .tarpit
            .bad_with(self.peer.ip, std::time::Instant::now(), base_ms);
        if !delay.is_zero() {
            // Answer what came before without waiting, then the pause.
            let _ = self.flush().await;
            self.shared
                .security
                .metrics
                .count(tern_common::metrics::Metric::SmtpTarpitDelays);
            tokio::time::sleep(delay).await;
        }
        self.error(text)
    }

    fn error(&mut self, text: &str) -> Step {
        reply(&mut self.out, text);
        self.errors += 1;
        if self.errors >= self.shared.config.smtp.max_errors {
            let t = R::hosted(R::TOO_MANY_ERRORS, self.hostname());
            reply(&mut self.out, &t);
            return Step::Close;
        }
        Step::NeedMore
    }

    async fn command(&mut self, line: &[u8]) -> Step {
        if let Some(step) = self.oversized_chunk(line) {
            return step;
        }
        if let Some(step) = self.source_get_command(line).await {
            return step;
        }
        let mut with_end = line.to_vec();
        with_end.extend_from_slice(b"\r\n");
        let parsed = Request::parse(&mut with_end.iter()).map(Request::into_owned);
        let req = match parsed {
            Ok(r) => r,
            Err(ProtoError::UnknownCommand) => {
                return self.bad(R::UNRECOGNIZED).await;
            }
            Err(ProtoError::SyntaxError { syntax }) => {
                return self.bad(&R::syntax(syntax)).await;
            }
            Err(ProtoError::InvalidSenderAddress) => {
                return self.bad(R::BAD_SENDER_SYNTAX).await;
            }
            Err(ProtoError::InvalidRecipientAddress) => {
                return self.bad(R::BAD_RECIPIENT_SYNTAX).await;
            }
            Err(ProtoError::InvalidParameter { param }) => {
                return self.bad(&R::invalid_parameter(param)).await;
            }
            Err(ProtoError::UnsupportedParameter { param }) => {
                return self.bad(&R::unsupported_parameter(&param)).await;
            }
            Err(_) => return self.bad(R::SYNTAX_ERROR).await,
        };
        let idle = matches!(
            req,
            Request::Ehlo { .. }
                | Request::Helo { .. }
                | Request::Rset
                | Request::Noop { .. }
                | Request::Help { .. }
                | Request::Vrfy { .. }
        );
        if idle && let Some(step) = self.junk() {
            return step;
        }
        match req {
            Request::Ehlo { host } => self.ehlo(host, true),
            Request::Helo { host } => self.ehlo(host, false),
            Request::Mail { from } => self.mail(from, numbers::mail_size(line)).await,
            Request::Rcpt { to } => self.rcpt(to).await,
            Request::Data => self.data(),
            Request::Bdat {
                chunk_size,
                is_last,
            } => self.bdat(chunk_size, is_last),
            Request::Rset => {
                self.txn = None;
                reply(&mut self.out, R::OK);
                Step::NeedMore
            }
            Request::Noop { .. } => {
                reply(&mut self.out, R::OK);
                Step::NeedMore
            }
            Request::Help { .. } => {
                reply(&mut self.out, R::HELP);
                Step::NeedMore
            }
            // RFC 5321 3.5.3: 252 neither confirms nor denies.
            Request::Vrfy { .. } => {
                reply(&mut self.out, R::VRFY);
                Step::NeedMore
            }
            Request::Expn { .. } => self.error(R::NO_EXPN),
            Request::Quit => {
                let t = R::hosted(R::BYE, self.hostname());
                reply(&mut self.out, &t);
                Step::Close
            }
            Request::StartTls => self.starttls(),
            Request::Auth {
                mechanism,
                initial_response,
            } => self.auth(mechanism, initial_response).await,
            Request::Lhlo { .. }
            | Request::Etrn { .. }
            | Request::Atrn { .. }
            | Request::Burl { .. } => self.bad(R::NOT_IMPLEMENTED).await,
        }
    }

    /// A BDAT chunk larger than a whole message may be: refused before the
    /// command is parsed (its parser saturates sizes), with the size read
    /// exactly. RFC 3030 2 says a refused chunk is still read, but this one
    /// cannot be in bounded time or memory, so the stream is out of step
    /// for good: the reply closes the connection, whatever the state.
    fn oversized_chunk(&mut self, line: &[u8]) -> Option<Step> {
        let max = self.shared.config.smtp.max_message_size;
        let over = match numbers::bdat_size(line)? {
            Size::Octets(n) => n > max,
            Size::TooBig => true,
            Size::Malformed => false,
        };
        if !over {
            return None;
        }
        tracing::info!(ip = %self.peer.ip, "smtp BDAT chunk over the size limit");
        self.txn = None;
        reply(&mut self.out, &R::chunk_too_big(max));
        Some(Step::Close)
    }

    /// Count a command that moves no mail; too many in a row close the
    /// connection (an idle client must not hold a slot for ever).
    fn junk(&mut self) -> Option<Step> {
        self.junk += 1;
        if self.junk <= MAX_JUNK {
            return None;
        }
        let t = R::hosted(R::TOO_MUCH_JUNK, self.hostname());
        reply(&mut self.out, &t);
        Some(Step::Close)
    }
}
