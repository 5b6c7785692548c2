//! One inbound SMTP session (RFC 5321) over any byte stream: strict
//! framing, real pipelining (every command already received is answered
//! in one write, RFC 2920), DATA and BDAT (RFC 3030), STARTTLS (RFC 3207),
//! DSN parameters (RFC 3461), SMTPUTF8 (RFC 6531), REQUIRETLS (RFC 8689).

use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use smtp_proto::{Error as ProtoError, Request};
use tern_common::limits::ConnGuard;
use tern_common::listener::TlsInfo;
use tern_common::security::AuditEvent;
use tern_store::Resolution;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::Shared;
use crate::address::{self, Rcpt};
use crate::deliver::{self, Accepted, Envelope, TEMP_STORE};
use crate::framing::{ChunkState, FrameError, check_chunk, take_line};
use crate::numbers::{self, Size};
use crate::spool::{Body, HEADER_LIMIT, Message, Spool};

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

/// The TLS handshake's future: the new stream and what it negotiated.
pub type Handshake<'a, S> =
    Pin<Box<dyn Future<Output = io::Result<(S, Option<TlsInfo>)>> + Send + 'a>>;

/// Runs the TLS handshake for STARTTLS on the session's stream type.
pub trait Upgrade<S>: Send + Sync {
    fn upgrade(&self, stream: S) -> Handshake<'_, S>;
}

/// For streams that cannot do TLS (in-memory tests): STARTTLS is not offered.
pub struct NoTls;

impl<S: Send + 'static> Upgrade<S> for NoTls {
    fn upgrade(&self, _stream: S) -> Handshake<'_, S> {
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
    /// AUTH PLAIN sent "334 " and waits for the credentials.
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
    guard: Option<ConnGuard>,
}

fn reply(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

impl<'a, S> Session<'a, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    pub fn new(
        shared: Arc<Shared>,
        stream: S,
        upgrade: &'a dyn Upgrade<S>,
        peer: Peer,
        shutdown: CancellationToken,
    ) -> Self {
        Self::with_guard(shared, stream, upgrade, peer, shutdown, None)
    }

    /// A session whose connection counts against the limits; the guard is
    /// told who logged in (submission).
    pub fn with_guard(
        shared: Arc<Shared>,
        stream: S,
        upgrade: &'a dyn Upgrade<S>,
        peer: Peer,
        shutdown: CancellationToken,
        guard: Option<ConnGuard>,
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
            guard,
        }
    }

    fn hostname(&self) -> &str {
        &self.shared.config.hostname
    }

    /// Serve until QUIT, an error, a time-out or shutdown.
    pub async fn run(mut self) {
        let greeting = format!("220 {} ESMTP tern", self.hostname());
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
            if self.shutdown.is_cancelled() && self.mode == Mode::Command {
                let t = format!("421 4.3.2 {} Service shutting down", self.hostname());
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
        let Some(s) = self.stream.as_mut() else {
            return Ok(false);
        };
        let mut chunk = [0u8; 16 * 1024];
        let shutdown = self.shutdown.clone();
        let read = tokio::select! {
            r = tokio::time::timeout(limit, s.read(&mut chunk)) => r,
            _ = shutdown.cancelled(), if self.mode == Mode::Command => {
                return Err(format!("421 4.3.2 {} Service shutting down", self.shared.config.hostname));
            }
        };
        match read {
            Err(_) => Err(format!(
                "421 4.4.2 {} Timeout, closing connection",
                self.shared.config.hostname
            )),
            Ok(Err(_)) | Ok(Ok(0)) => Ok(false),
            Ok(Ok(n)) => {
                self.inbuf.extend_from_slice(&chunk[..n]);
                Ok(true)
            }
        }
    }

    async fn start_tls(&mut self) -> bool {
        // RFC 3207 4.2: anything the client pipelined after STARTTLS is
        // discarded, and the session starts over.
        self.inbuf.clear();
        let Some(s) = self.stream.take() else {
            return false;
        };
        match self.upgrade.upgrade(s).await {
            Ok((s, info)) => {
                self.stream = Some(s);
                self.peer.tls = info;
                self.peer.can_starttls = false;
                self.helo = None;
                self.esmtp = false;
                self.txn = None;
                self.mode = Mode::Command;
                true
            }
            Err(e) => {
                tracing::debug!(ip = %self.peer.ip, error = %e, "smtp STARTTLS handshake failed");
                false
            }
        }
    }

    /// Handle everything already buffered.
    async fn process(&mut self) -> Step {
        loop {
            match self.mode {
                Mode::Command => {
                    let line = match take_line(&mut self.inbuf, MAX_COMMAND) {
                        Ok(Some(l)) => l,
                        Ok(None) => return Step::NeedMore,
                        Err(e) => return self.frame_error(e, "command"),
                    };
                    // Whatever follows in the buffer is the next command's start.
                    self.wait_since = Instant::now();
                    // Shutting down: no new command is started, even one
                    // already pipelined behind a finished message.
                    if self.shutdown.is_cancelled() {
                        let t = format!("421 4.3.2 {} Service shutting down", self.hostname());
                        reply(&mut self.out, &t);
                        return Step::Close;
                    }
                    match self.command(&line).await {
                        Step::NeedMore => {}
                        other => return other,
                    }
                }
                Mode::Data => {
                    let max = self.shared.config.smtp.max_line_length;
                    // RFC 5321 4.5.3.1.6: the limit does not count the dot
                    // added for transparency, so a stuffed line may be one longer.
                    let line = match take_line(&mut self.inbuf, max + 1) {
                        Ok(Some(l)) => l,
                        Ok(None) => return Step::NeedMore,
                        Err(e) => return self.frame_error(e, "message"),
                    };
                    if line.len() > max && line.first() != Some(&b'.') {
                        return self.frame_error(FrameError::TooLong, "message");
                    }
                    if line == b"." {
                        self.mode = Mode::Command;
                        self.finish().await;
                        continue;
                    }
                    // RFC 5321 4.5.2: remove one leading dot.
                    let content = line.strip_prefix(b".").unwrap_or(&line);
                    self.append(content, true).await;
                }
                Mode::AuthPlain | Mode::AuthLoginUser | Mode::AuthLoginPass => {
                    let line = match take_line(&mut self.inbuf, 4096) {
                        Ok(Some(l)) => l,
                        Ok(None) => return Step::NeedMore,
                        Err(e) => return self.frame_error(e, "authentication"),
                    };
                    let mode = self.mode;
                    self.mode = Mode::Command;
                    let text = String::from_utf8_lossy(&line).trim().to_string();
                    match self.auth_response(mode, &text).await {
                        Step::NeedMore => {}
                        other => return other,
                    }
                }
                Mode::Bdat {
                    remaining,
                    last,
                    discard,
                } => {
                    if remaining > 0 && self.inbuf.is_empty() {
                        return Step::NeedMore;
                    }
                    let n = remaining.min(self.inbuf.len());
                    let chunk: Vec<u8> = self.inbuf.drain(..n).collect();
                    let max = self.shared.config.smtp.max_line_length;
                    if !discard && let Some(t) = self.txn.as_mut() {
                        if let Err(e) = check_chunk(&chunk, &mut t.chunk, max) {
                            return self.frame_error(e, "message");
                        }
                        self.append(&chunk, false).await;
                    }
                    let remaining = remaining - n;
                    if remaining > 0 {
                        self.mode = Mode::Bdat {
                            remaining,
                            last,
                            discard,
                        };
                        return Step::NeedMore;
                    }
                    self.mode = Mode::Command;
                    if discard {
                        continue;
                    }
                    if last {
                        if self.txn.as_ref().is_some_and(|t| t.chunk.cr) {
                            return self.frame_error(FrameError::BareLineEnding, "message");
                        }
                        self.finish().await;
                    } else {
                        let got = self.txn.as_ref().map_or(0, |t| t.data.len());
                        reply(&mut self.out, &format!("250 2.0.0 {got} octets received"));
                    }
                }
            }
        }
    }

    fn frame_error(&mut self, e: FrameError, what: &str) -> Step {
        let text = match e {
            FrameError::BareLineEnding => {
                format!(
                    "500 5.5.2 Bare CR or LF in the {what}: only CRLF ends a line (RFC 5321 2.3.8); closing"
                )
            }
            FrameError::Nul => format!("500 5.5.2 NUL in the {what}; closing"),
            FrameError::TooLong => format!("500 5.5.6 {what} line too long; closing"),
        };
        tracing::info!(ip = %self.peer.ip, error = ?e, "smtp framing violation");
        reply(&mut self.out, &text);
        Step::Close
    }

    async fn append(&mut self, content: &[u8], crlf: bool) {
        let max = self.shared.config.smtp.max_message_size;
        let Some(t) = self.txn.as_mut() else { return };
        if t.too_big {
            return;
        }
        let add = content.len() as u64 + if crlf { 2 } else { 0 };
        if t.data.len() + add > max {
            // Keep reading to the end, then refuse (RFC 5321 4.5.3.1.10).
            t.too_big = true;
            t.data.discard();
            return;
        }
        t.data.append(content).await;
        if crlf {
            t.data.append(b"\r\n").await;
        }
    }

    /// Delay the reply to a bad command or recipient (tarpit), count the error.
    async fn bad(&mut self, text: &str) -> Step {
        let delay = self.shared.tarpit.bad(self.peer.ip);
        if !delay.is_zero() {
            // Answer what came before without waiting, then the pause.
            let _ = self.flush().await;
            self.shared.security.metrics.inc("smtp_tarpit_delays_total");
            tokio::time::sleep(delay).await;
        }
        self.error(text)
    }

    fn error(&mut self, text: &str) -> Step {
        reply(&mut self.out, text);
        self.errors += 1;
        if self.errors >= self.shared.config.smtp.max_errors {
            let t = format!(
                "421 4.7.0 {} Too many errors, closing connection",
                self.hostname()
            );
            reply(&mut self.out, &t);
            return Step::Close;
        }
        Step::NeedMore
    }

    async fn command(&mut self, line: &[u8]) -> Step {
        if let Some(step) = self.oversized_chunk(line) {
            return step;
        }
        let mut with_end = line.to_vec();
        with_end.extend_from_slice(b"\r\n");
        let parsed = Request::parse(&mut with_end.iter()).map(Request::into_owned);
        let req = match parsed {
            Ok(r) => r,
            Err(ProtoError::UnknownCommand) => {
                return self.bad("500 5.5.2 Command unrecognized").await;
            }
            Err(ProtoError::SyntaxError { syntax }) => {
                return self.bad(&format!("501 5.5.4 Syntax: {syntax}")).await;
            }
            Err(ProtoError::InvalidSenderAddress) => {
                return self.bad("501 5.1.7 Bad sender address syntax").await;
            }
            Err(ProtoError::InvalidRecipientAddress) => {
                return self.bad("501 5.1.3 Bad recipient address syntax").await;
            }
            Err(ProtoError::InvalidParameter { param }) => {
                return self
                    .bad(&format!("501 5.5.4 Invalid parameter {param}"))
                    .await;
            }
            Err(ProtoError::UnsupportedParameter { param }) => {
                return self
                    .bad(&format!("555 5.5.4 Unsupported parameter {param}"))
                    .await;
            }
            Err(_) => return self.bad("500 5.5.2 Syntax error").await,
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
                reply(&mut self.out, "250 2.0.0 Ok");
                Step::NeedMore
            }
            Request::Noop { .. } => {
                reply(&mut self.out, "250 2.0.0 Ok");
                Step::NeedMore
            }
            Request::Help { .. } => {
                reply(
                    &mut self.out,
                    "214 2.0.0 See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT",
                );
                Step::NeedMore
            }
            // RFC 5321 3.5.3: 252 neither confirms nor denies.
            Request::Vrfy { .. } => {
                reply(
                    &mut self.out,
                    "252 2.5.0 Cannot VRFY user, but will accept the message and attempt delivery",
                );
                Step::NeedMore
            }
            Request::Expn { .. } => self.error("502 5.5.1 EXPN is not available"),
            Request::Quit => {
                let t = format!("221 2.0.0 {} Bye", self.hostname());
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
            | Request::Burl { .. } => self.bad("502 5.5.1 Command not implemented").await,
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
        reply(
            &mut self.out,
            &format!(
                "552 5.3.4 BDAT chunk exceeds the message size limit of {max} octets; closing"
            ),
        );
        Some(Step::Close)
    }

    fn ehlo(&mut self, host: String, esmtp: bool) -> Step {
        if host.trim().is_empty() {
            return self.error("501 5.5.4 Syntax: EHLO hostname");
        }
        self.helo = Some(host.clone());
        self.esmtp = esmtp;
        self.txn = None;
        let me = self.hostname().to_string();
        if !esmtp {
            reply(&mut self.out, &format!("250 {me}"));
            return Step::NeedMore;
        }
        let mut ext = vec![
            format!("{me} Hello {host} [{}]", self.peer.ip),
            "PIPELINING".to_string(),
            format!("SIZE {}", self.shared.config.smtp.max_message_size),
            "8BITMIME".into(),
            "SMTPUTF8".into(),
            "ENHANCEDSTATUSCODES".into(),
            "CHUNKING".into(),
            "DSN".into(),
        ];
        if self.peer.can_starttls && self.peer.tls.is_none() {
            ext.push("STARTTLS".into());
        }
        // RFC 4954 4 / RFC 8314: passwords only ever over TLS.
        if self.shared.submission && self.peer.tls.is_some() && self.authed.is_none() {
            ext.push("AUTH PLAIN LOGIN".into());
        }
        // RFC 8689 4.1: only over TLS.
        if self.peer.tls.is_some() {
            ext.push("REQUIRETLS".into());
        }
        let n = ext.len();
        for (i, e) in ext.iter().enumerate() {
            let sep = if i + 1 == n { ' ' } else { '-' };
            reply(&mut self.out, &format!("250{sep}{e}"));
        }
        Step::NeedMore
    }

    fn starttls(&mut self) -> Step {
        if self.peer.tls.is_some() {
            return self.error("503 5.5.1 TLS already active");
        }
        if !self.peer.can_starttls {
            return self.error("502 5.5.1 STARTTLS is not available");
        }
        reply(&mut self.out, "220 2.0.0 Ready to start TLS");
        Step::StartTls
    }

    /// `size` is SIZE= as the client wrote it (the parsed `from.size`
    /// saturates).
    async fn mail(&mut self, from: smtp_proto::MailFrom<String>, size: Option<Size>) -> Step {
        if self.helo.is_none() {
            return self.error("503 5.5.1 Send EHLO or HELO first");
        }
        if self.txn.is_some() {
            return self.error("503 5.5.1 Nested MAIL command");
        }
        if self.mode != Mode::Command {
            return self.error("503 5.5.1 Bad sequence of commands");
        }
        if self.shared.submission && self.authed.is_none() {
            return self.error("530 5.7.0 Authentication required");
        }
        let max = self.shared.config.smtp.max_message_size;
        let over = match size {
            Some(Size::Octets(n)) => n > max,
            Some(Size::TooBig) => true,
            Some(Size::Malformed) | None => false,
        };
        if over {
            return self.error(&format!(
                "552 5.3.4 Message size exceeds the limit of {max} octets"
            ));
        }
        if from.flags & smtp_proto::MAIL_BODY_BINARYMIME != 0 {
            return self.error("555 5.5.4 BODY=BINARYMIME is not supported");
        }
        let smtputf8 = from.flags & smtp_proto::MAIL_SMTPUTF8 != 0;
        let requiretls = from.flags & smtp_proto::MAIL_REQUIRETLS != 0;
        if requiretls && self.peer.tls.is_none() {
            return self.error("530 5.7.10 REQUIRETLS needs TLS");
        }
        if !smtputf8 && !from.address.is_ascii() {
            return self.error("553 5.6.7 Non-ASCII address without SMTPUTF8");
        }
        let Some(sender) = address::sender(&from.address) else {
            return self.bad("553 5.1.7 Bad sender address").await;
        };
        if let Some((account, name)) = self.authed.clone()
            && let Some(step) = self.check_sender(account, &name, &sender).await
        {
            return step;
        }
        // Inbound mail is limited per IP; users are limited per account
        // (check_sender), whatever address they submit from.
        if self.authed.is_none()
            && !self
                .shared
                .security
                .rates
                .messages_per_ip
                .check(&tern_common::limits::ip_group(self.peer.ip), 1)
        {
            self.shared
                .security
                .metrics
                .inc("rate_refused_total{protocol=\"smtp\",rate=\"messages\"}");
            return self.error("451 4.7.0 Too many messages from your address; try again later");
        }
        let ret = if from.flags & smtp_proto::MAIL_RET_FULL != 0 {
            Some("FULL".to_string())
        } else if from.flags & smtp_proto::MAIL_RET_HDRS != 0 {
            Some("HDRS".to_string())
        } else {
            None
        };
        self.txn = Some(Txn {
            env: Envelope {
                sender,
                smtputf8,
                eightbit: from.flags & smtp_proto::MAIL_BODY_8BITMIME != 0,
                requiretls,
                ret,
                envid: from.env_id.clone(),
                rcpts: Vec::new(),
            },
            data: Spool::new(self.shared.store.spool_dir()),
            too_big: false,
            used_bdat: false,
            chunk: ChunkState::default(),
            deadline: None,
        });
        reply(&mut self.out, "250 2.1.0 Sender OK");
        Step::NeedMore
    }

    async fn rcpt(&mut self, to: smtp_proto::RcptTo<String>) -> Step {
        let Some(t) = self.txn.as_ref() else {
            return self.error("503 5.5.1 Need MAIL before RCPT");
        };
        if t.env.rcpts.len() >= self.shared.config.smtp.max_recipients {
            // RFC 5321 4.5.3.1.8: the client sends the rest later.
            reply(&mut self.out, "452 4.5.3 Too many recipients");
            return Step::NeedMore;
        }
        if !t.env.smtputf8 && !to.address.is_ascii() {
            return self.error("553 5.6.7 Non-ASCII address without SMTPUTF8");
        }
        let notify = notify_string(to.flags);
        let is_ours = |d: &str| {
            let store = self.shared.store.clone();
            let d = d.to_string();
            async move { store.is_local_domain(&d).await }
        };
        let addr = match address::classify(&to.address) {
            Rcpt::Mailbox(a) => a,
            Rcpt::Undeliverable { domain } => {
                return match is_ours(&domain).await {
                    Ok(true) => self.bad("550 5.1.1 No such user here").await,
                    Ok(false) => self.relay_denied(&to.address).await,
                    Err(_) => self.error("451 4.3.0 Temporary failure, try again later"),
                };
            }
            Rcpt::Literal => return self.relay_denied(&to.address).await,
            Rcpt::Invalid => return self.bad("501 5.1.3 Bad recipient address syntax").await,
        };
        let (accounts, remote) = match self.shared.store.resolve(&addr).await {
            Ok(Resolution::Local { accounts, remote }) => (accounts, remote),
            Ok(Resolution::UnknownUser) => return self.bad("550 5.1.1 No such user here").await,
            Ok(Resolution::NotLocal) if self.authed.is_some() => (Vec::new(), vec![addr.clone()]),
            Ok(Resolution::NotLocal) => return self.relay_denied(&to.address).await,
            Err(e) => {
                tracing::warn!(error = %e, "smtp recipient lookup failed");
                return self.error("451 4.3.0 Temporary failure, try again later");
            }
        };
        if let Some((_, name)) = &self.authed {
            // Contain a compromised account: recipients per hour.
            if !self
                .shared
                .security
                .rates
                .recipients_per_account
                .check(name, 1)
            {
                self.shared
                    .security
                    .metrics
                    .inc("rate_refused_total{protocol=\"submission\",rate=\"recipients\"}");
                reply(
                    &mut self.out,
                    "450 4.7.1 Too many recipients this hour; try again later",
                );
                return Step::NeedMore;
            }
        } else if let Some(step) = self.greylist(&addr).await {
            return step;
        }
        if let Some(t) = self.txn.as_mut() {
            t.env.rcpts.push(Accepted {
                address: addr,
                orcpt: to.orcpt.clone(),
                notify,
                accounts,
                remote,
            });
        }
        reply(&mut self.out, "250 2.1.5 Recipient OK");
        Step::NeedMore
    }

    async fn relay_denied(&mut self, rcpt: &str) -> Step {
        self.shared.security.audit(AuditEvent {
            kind: "relay_attempt",
            protocol: "smtp",
            ip: Some(self.peer.ip),
            account: None,
            detail: format!("RCPT TO:<{rcpt}> refused"),
        });
        self.bad("550 5.7.1 Relaying denied").await
    }

    /// Greylisting for the recipient's domain, when it asked for it.
    async fn greylist(&mut self, rcpt: &tern_common::Address) -> Option<Step> {
        let g = &self.shared.config.greylist;
        if !g.domains.iter().any(|d| d == rcpt.domain())
            || self.shared.config.checks.is_trusted(self.peer.ip)
        {
            return None;
        }
        let net = match self.peer.ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                IpAddr::from([o[0], o[1], o[2], 0])
            }
            v6 => tern_common::limits::ip_group(v6),
        };
        let sender = self
            .txn
            .as_ref()
            .map(|t| t.env.sender.clone())
            .unwrap_or_default();
        let policy = tern_store::GreylistPolicy {
            delay: g.delay_secs as i64,
            retry_window: g.retry_window_secs as i64,
            pass_ttl: (g.pass_ttl_days * 86400) as i64,
        };
        let now = tern_common::time::now_secs();
        match self
            .shared
            .store
            .greylist_check(net, &sender, &rcpt.to_string(), now, policy)
            .await
        {
            Ok(tern_store::Greylist::Pass) => None,
            Ok(tern_store::Greylist::Defer) => {
                self.shared.security.audit(AuditEvent {
                    kind: "greylist",
                    protocol: "smtp",
                    ip: Some(self.peer.ip),
                    account: None,
                    detail: format!("deferred <{sender}> -> <{rcpt}>"),
                });
                reply(
                    &mut self.out,
                    "451 4.7.1 Greylisted, please try again later",
                );
                Some(Step::NeedMore)
            }
            Err(e) => {
                tracing::warn!(error = %e, "greylist check failed; accepting");
                None
            }
        }
    }

    fn data(&mut self) -> Step {
        match self.txn.as_ref() {
            None => self.error("503 5.5.1 Need MAIL before DATA"),
            Some(t) if t.used_bdat => self.error("503 5.5.1 DATA cannot follow BDAT"),
            // RFC 2920 3.1: no valid recipient answers DATA with 554.
            Some(t) if t.env.rcpts.is_empty() => self.error("554 5.5.1 No valid recipients"),
            Some(_) => {
                self.start_message_clock();
                reply(&mut self.out, "354 End data with <CR><LF>.<CR><LF>");
                self.mode = Mode::Data;
                Step::NeedMore
            }
        }
    }

    fn bdat(&mut self, size: usize, last: bool) -> Step {
        let refuse = match self.txn.as_ref() {
            None => Some("503 5.5.1 Need MAIL before BDAT"),
            Some(t) if t.env.rcpts.is_empty() => Some("554 5.5.1 No valid recipients"),
            Some(_) => None,
        };
        if let Some(text) = refuse {
            // The chunk is on its way regardless: read and drop it.
            self.mode = Mode::Bdat {
                remaining: size,
                last,
                discard: true,
            };
            return self.error(text);
        }
        self.start_message_clock();
        if let Some(t) = self.txn.as_mut() {
            t.used_bdat = true;
        }
        self.mode = Mode::Bdat {
            remaining: size,
            last,
            discard: false,
        };
        Step::NeedMore
    }

    /// The message's whole-transfer deadline starts with DATA or the first BDAT.
    fn start_message_clock(&mut self) {
        let per_read = Duration::from_secs(self.shared.config.smtp.data_timeout_secs);
        if let Some(t) = self.txn.as_mut()
            && t.deadline.is_none()
        {
            t.deadline = Some(Instant::now() + per_read * MESSAGE_TIMEOUTS);
        }
    }

    /// Count a command that moves no mail; too many in a row close the
    /// connection (an idle client must not hold a slot for ever).
    fn junk(&mut self) -> Option<Step> {
        self.junk += 1;
        if self.junk <= MAX_JUNK {
            return None;
        }
        let t = format!(
            "421 4.7.0 {} Too many commands without mail, closing connection",
            self.hostname()
        );
        reply(&mut self.out, &t);
        Some(Step::Close)
    }

    /// The end of the message: deliver, then answer.
    async fn finish(&mut self) {
        let Some(t) = self.txn.take() else { return };
        self.junk = 0;
        if t.too_big {
            let max = self.shared.config.smtp.max_message_size;
            let text = format!("552 5.3.4 Message size exceeds the limit of {max} octets");
            tracing::info!(ip = %self.peer.ip, from = %t.env.sender, rcpts = t.env.rcpts.len(), result = %text, "smtp message refused");
            reply(&mut self.out, &text);
            return;
        }
        let mut msg = match t.data.finish().await {
            Ok(Some(m)) => m,
            Ok(None) => {
                let text = format!(
                    "552 5.3.4 The header section exceeds the limit of {HEADER_LIMIT} octets"
                );
                tracing::info!(ip = %self.peer.ip, from = %t.env.sender, result = %text, "smtp message refused");
                reply(&mut self.out, &text);
                return;
            }
            Err(e) => {
                tracing::error!(ip = %self.peer.ip, error = %e, "smtp spooling failed");
                reply(&mut self.out, TEMP_STORE);
                return;
            }
        };
        let mut verdict = None;
        if self.authed.is_none()
            && let Some(checker) = self.shared.checker.clone()
        {
            match self.check_inbound(&checker, &t.env, &msg).await {
                Ok(outcome) => {
                    msg.head =
                        tern_mailauth::apply(&msg.head, checker.authserv_id(), &outcome.header);
                    verdict = Some(outcome);
                }
                Err(line) => {
                    reply(&mut self.out, &line);
                    return;
                }
            }
        }
        if let Some((account, _)) = self.authed.clone()
            && let Err(text) = self.prepare_submission(account, &mut msg).await
        {
            reply(&mut self.out, &text);
            return;
        }
        let session = deliver::SessionInfo {
            helo: self.helo.clone().unwrap_or_default(),
            esmtp: self.esmtp,
            ip: self.peer.ip,
            tls: self.peer.tls.clone(),
            authenticated: self.authed.is_some(),
            hide_ip: self.authed.is_some() && self.shared.config.submission.hide_client_ip,
        };
        let started = Instant::now();
        let r = deliver::deliver(&self.shared, &session, &t.env, msg, verdict.as_ref()).await;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "smtp delivery"
        );
        reply(&mut self.out, &r);
    }

    /// Port 25: SPF, DKIM, DMARC, ARC, iprev, then the policy decides;
    /// `Err` is the refusal line. A spooled body is read in pieces for the
    /// DKIM and ARC body hashes (and not at all without a signature).
    async fn check_inbound(
        &self,
        checker: &tern_mailauth::Checker,
        env: &Envelope,
        msg: &Message,
    ) -> Result<tern_mailauth::Outcome, String> {
        let helo = self.helo.clone().unwrap_or_default();
        let ip = self.peer.ip;
        let outcome = match &msg.body {
            Body::Memory(b) => {
                let whole = [msg.head.as_slice(), b].concat();
                checker.check(ip, &helo, &env.sender, &whole).await
            }
            Body::File(f) => {
                checker
                    .check_streamed(ip, &helo, &env.sender, &msg.head, f.body_reader())
                    .await
            }
        };
        if let Some(r) = &outcome.report
            && let Err(e) = self.shared.store.dmarc_record_insert(r).await
        {
            tracing::warn!(error = %e, "cannot record the DMARC result");
        }
        match &outcome.disposition {
            tern_mailauth::Disposition::Reject(line) | tern_mailauth::Disposition::Defer(line) => {
                tracing::info!(ip = %self.peer.ip, from = %env.sender, result = %line, "smtp message refused by checks");
                Err(line.clone())
            }
            _ => Ok(outcome),
        }
    }
}

impl<S> Session<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// AUTH (RFC 4954): PLAIN (RFC 4616, with an initial response or after
    /// "334 ") and LOGIN, only on submission and only over TLS.
    async fn auth(&mut self, mechanism: u64, initial: String) -> Step {
        if !self.shared.submission {
            return self.error("503 5.5.1 AUTH is not available on this port; use submission");
        }
        if self.peer.tls.is_none() {
            return self
                .error("538 5.7.11 Encryption required for requested authentication mechanism");
        }
        if self.authed.is_some() {
            return self.error("503 5.5.1 Already authenticated");
        }
        if self.txn.is_some() {
            return self.error("503 5.5.1 AUTH not allowed during a mail transaction");
        }
        if mechanism == smtp_proto::AUTH_PLAIN {
            if initial.is_empty() {
                reply(&mut self.out, "334 ");
                self.mode = Mode::AuthPlain;
                return Step::NeedMore;
            }
            return self.auth_response(Mode::AuthPlain, &initial).await;
        }
        if mechanism == smtp_proto::AUTH_LOGIN {
            if initial.is_empty() {
                reply(&mut self.out, "334 VXNlcm5hbWU6");
                self.mode = Mode::AuthLoginUser;
                return Step::NeedMore;
            }
            return self.auth_response(Mode::AuthLoginUser, &initial).await;
        }
        self.error("504 5.5.4 Unrecognized authentication type")
    }

    async fn auth_response(&mut self, mode: Mode, text: &str) -> Step {
        use base64::Engine;
        if text == "*" {
            return self.error("501 5.0.0 Authentication cancelled");
        }
        let raw = if text == "=" {
            Ok(Vec::new())
        } else {
            base64::engine::general_purpose::STANDARD.decode(text)
        };
        let Ok(raw) = raw else {
            return self.error("501 5.5.2 Cannot decode the response");
        };
        match mode {
            Mode::AuthPlain => {
                // authzid NUL authcid NUL passwd
                let mut parts = raw.split(|b| *b == 0);
                let (Some(authz), Some(user), Some(pass), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return self.error("501 5.5.2 Malformed PLAIN response");
                };
                let user = String::from_utf8_lossy(user).into_owned();
                let authz = String::from_utf8_lossy(authz).into_owned();
                if !authz.is_empty() && !authz.eq_ignore_ascii_case(&user) {
                    return self.login_failed(&user).await;
                }
                let pass = String::from_utf8_lossy(pass).into_owned();
                self.login(&user, &pass).await
            }
            Mode::AuthLoginUser => {
                self.login_user = String::from_utf8_lossy(&raw).into_owned();
                reply(&mut self.out, "334 UGFzc3dvcmQ6");
                self.mode = Mode::AuthLoginPass;
                Step::NeedMore
            }
            _ => {
                let user = std::mem::take(&mut self.login_user);
                let pass = String::from_utf8_lossy(&raw).into_owned();
                self.login(&user, &pass).await
            }
        }
    }

    /// Check a credential with the login throttle; every failure looks the
    /// same, whatever the cause (RFC 4954 6: 535 5.7.8).
    async fn login(&mut self, user: &str, pass: &str) -> Step {
        let sec = self.shared.security.clone();
        // Every spelling of one account is one name to the throttle.
        let key = match self.shared.store.login_key(user).await {
            Ok(k) => k,
            Err(_) => tern_common::address::login_key(user),
        };
        let user = key.as_str();
        if sec.throttle.check(self.peer.ip, user).is_err() {
            sec.audit(AuditEvent {
                kind: "login_locked",
                protocol: "submission",
                ip: Some(self.peer.ip),
                account: Some(user.to_string()),
                detail: "refused while locked".into(),
            });
            return self.login_failed(user).await;
        }
        match self.shared.store.authenticate(user, pass).await {
            Ok(Some(acc)) => {
                sec.throttle.success(self.peer.ip, user);
                if let Some(g) = self.guard.as_mut()
                    && let Err(level) = g.authenticated(&acc.name)
                {
                    sec.audit(AuditEvent {
                        kind: "limit",
                        protocol: "submission",
                        ip: Some(self.peer.ip),
                        account: Some(acc.name.clone()),
                        detail: format!("login refused: {} limit", level.name()),
                    });
                    let t = format!(
                        "421 4.7.0 {} Too many connections for this account",
                        self.hostname()
                    );
                    reply(&mut self.out, &t);
                    return Step::Close;
                }
                tracing::info!(ip = %self.peer.ip, user = %acc.name, "smtp submission login");
                self.authed = Some((acc.id, acc.name));
                reply(&mut self.out, "235 2.7.0 Authentication successful");
                Step::NeedMore
            }
            Ok(None) => self.login_failed(user).await,
            Err(e) => {
                tracing::warn!(error = %e, "authentication unavailable");
                reply(&mut self.out, "454 4.7.0 Temporary authentication failure");
                Step::NeedMore
            }
        }
    }

    async fn login_failed(&mut self, user: &str) -> Step {
        let sec = self.shared.security.clone();
        sec.audit(AuditEvent {
            kind: "login_failure",
            protocol: "submission",
            ip: Some(self.peer.ip),
            account: Some(user.to_string()),
            detail: "invalid credentials".into(),
        });
        let delay = sec.throttle.failure(self.peer.ip, user);
        let _ = self.flush().await;
        tokio::time::sleep(delay).await;
        self.error("535 5.7.8 Authentication credentials invalid")
    }

    /// MAIL FROM on submission: an address of the account (RFC 6409 8.1).
    async fn check_sender(&mut self, account: i64, name: &str, sender: &str) -> Option<Step> {
        if !self
            .shared
            .security
            .rates
            .messages_per_account
            .check(&name.to_string(), 1)
        {
            self.shared
                .security
                .metrics
                .inc("rate_refused_total{protocol=\"submission\",rate=\"messages\"}");
            return Some(self.error("451 4.7.0 Too many messages; try again later"));
        }
        if sender.is_empty() {
            return None;
        }
        let owned = match tern_common::Address::parse(sender) {
            Ok(a) => self
                .shared
                .store
                .may_send_as(account, &a)
                .await
                .unwrap_or(false),
            Err(_) => false,
        };
        if owned {
            None
        } else {
            Some(self.error(&format!(
                "550 5.7.1 Sender <{sender}> is not an address of {name}"
            )))
        }
    }

    /// Every mailbox of the one From field (and of Sender) must be the
    /// user's too; then the fix-ups and the DKIM signature. All of it
    /// changes the header only; a spooled body is signed as it is read.
    async fn prepare_submission(&mut self, account: i64, msg: &mut Message) -> Result<(), String> {
        let authors = crate::submit::identities(&msg.head)?;
        for a in &authors {
            let ok = match tern_common::Address::parse(a) {
                Ok(addr) => self
                    .shared
                    .store
                    .may_send_as(account, &addr)
                    .await
                    .unwrap_or(false),
                Err(_) => false,
            };
            if !ok {
                return Err(format!(
                    "550 5.7.1 {a} (From or Sender) is not an address of the authenticated user"
                ));
            }
        }
        msg.head = crate::submit::fix_up(&msg.head, &self.shared.config.hostname);
        let signing = |e: anyhow::Error| {
            tracing::error!(error = %e, "DKIM signing failed");
            "451 4.3.0 Temporary failure signing the message".to_string()
        };
        let store = &self.shared.store;
        let sigs = match &msg.body {
            Body::Memory(b) => {
                let whole = [msg.head.as_slice(), b].concat();
                tern_queue::dkim::signatures(store, &whole).await
            }
            // RFC 6376 3.7: the body hash is computed as the file is read.
            Body::File(f) => {
                let open = f.reader_after(msg.head.clone());
                tern_queue::dkim::signatures_streamed(store, &msg.head, open).await
            }
        }
        .map_err(signing)?;
        let mut head = sigs.into_bytes();
        head.extend_from_slice(&msg.head);
        msg.head = head;
        Ok(())
    }
}

/// RFC 3461 NOTIFY flags as the comma list the queue keeps.
fn notify_string(flags: u64) -> String {
    if flags & smtp_proto::RCPT_NOTIFY_NEVER != 0 {
        return "NEVER".into();
    }
    let mut v = Vec::new();
    if flags & smtp_proto::RCPT_NOTIFY_SUCCESS != 0 {
        v.push("SUCCESS");
    }
    if flags & smtp_proto::RCPT_NOTIFY_FAILURE != 0 {
        v.push("FAILURE");
    }
    if flags & smtp_proto::RCPT_NOTIFY_DELAY != 0 {
        v.push("DELAY");
    }
    v.join(",")
}
