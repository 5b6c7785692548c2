//! Framing: commands in as lines plus literals, each bounded; an oversized
//! synchronizing literal is refused before its bytes are read (RFC 9051
//! 7.5, RFC 7888 4). Replies out through one buffer.
//!
//! The rule: no input is held in memory unless it is bounded per
//! connection and in total. Before authentication lines and literals are
//! small (enough for LOGIN and AUTHENTICATE); after it, every literal's
//! bytes are taken from the budget shared by all sessions (`budget.rs`)
//! and given back when the command is done.

use std::time::Duration;

use crate::budget::{Budget, Share};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::protocol::deflate::Deflate;
use tern_common::quick_ack::QuickAck;

/// A byte stream a session runs over; `QuickAck` keeps a client's last
/// write of a literal from waiting on a delayed acknowledgement.
pub trait Wire: AsyncRead + AsyncWrite + Unpin + Send + QuickAck {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + QuickAck> Wire for T {}

/// What the framer read.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    /// A whole command, literals included, with its final CRLF.
    Command(Vec<u8>),
    /// A line longer than the limit; its bytes were discarded.
    TooLong(Option<String>),
    /// A synchronizing literal beyond the limit: refused, nothing read.
    LiteralRefused(Option<String>),
    /// A non-synchronizing literal beyond the limit: its bytes are on the
    /// way and cannot be refused, so the connection ends (RFC 7888 4).
    LiteralTooBig,
    /// LOGIN or AUTHENTICATE with a synchronizing literal before TLS:
    /// refused before the credential is read.
    CredentialRefused(Option<String>),
    /// The same with a non-synchronizing literal, whose bytes are already
    /// on their way: the connection ends.
    CredentialClose,
    /// A synchronizing literal for which the shared budget had no room in
    /// time: refused, nothing read (`NO [LIMIT]`).
    Busy(Option<String>),
    /// The same for a non-synchronizing literal: the connection ends.
    BusyClose,
    /// End of stream.
    Eof,
}

pub struct Io<S> {
    pub stream: S,
    rbuf: Vec<u8>,
    pub wbuf: Vec<u8>,
    max_line: usize,
    max_literal: usize,
    write_timeout: Duration,
    /// Refuse literals of LOGIN and AUTHENTICATE (before TLS).
    guard: bool,
    /// COMPRESS=DEFLATE, once the command succeeded.
    deflate: Option<Box<Deflate>>,
    /// Keep the buffers small: the session waits in IDLE (see `set_lean`).
    lean: bool,
    /// Logged in: the configured limits apply instead of the `PRE_AUTH_*`.
    authenticated: bool,
    /// The bytes all sessions' literals may hold; `None`: unbounded.
    budget: Option<Budget>,
    /// This command's share of the budget, given back at the next read.
    held: Option<Share>,
    /// How long a literal waits for room in the budget.
    budget_wait: Duration,
    /// Cancelled when the server shuts down; a session waiting in IDLE
    /// watches it (the command loop watches its own copy).
    shutdown: tokio_util::sync::CancellationToken,
}

/// The longest literal before authentication: LOGIN's and AUTHENTICATE's
/// arguments fit, an 8 KiB SASL response included (RFC 7888 4 lets a
/// server refuse larger ones).
pub const PRE_AUTH_LITERAL: usize = 8 * 1024;
/// The longest command line before authentication (RFC 9051 4 asks for at
/// least 8192 octets).
pub const PRE_AUTH_LINE: usize = 8 * 1024;
/// How long a literal waits for room in the shared budget.
const BUDGET_WAIT: Duration = Duration::from_secs(5);

/// Room made in the read buffer for one read; in lean mode, enough for
/// `DONE`. Waiting for a new command, the buffer holds only `WAIT_ROOM`
/// (most commands fit; the rest of a longer one follows at once).
const READ_ROOM: usize = 8192;
const LEAN_READ_ROOM: usize = 64;
const WAIT_ROOM: usize = 512;
/// Buffers grown beyond this (a large literal or FETCH) are given back
/// once they are empty.
const KEEP_CAPACITY: usize = 64 * 1024;

/// The tag at the start of a command line, for error replies.
pub fn tag_of(line: &[u8]) -> Option<String> {
    let end = line
        .iter()
        .position(|&b| b == b' ' || b == b'\r' || b == b'\n')
        .unwrap_or(line.len());
    let t = &line[..end];
    let ok = !t.is_empty()
        && t.len() <= 64
        && t.iter().all(|&b| {
            b.is_ascii_graphic()
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b'+')
        });
    ok.then(|| String::from_utf8_lossy(t).into_owned())
}

/// Is this LOGIN or AUTHENTICATE (whose literals are credentials)?
fn carries_credentials(cmd: &[u8]) -> bool {
    let mut words = cmd.split(|&b| b == b' ');
    let _tag = words.next();
    words.next().is_some_and(|w| {
        w.eq_ignore_ascii_case(b"LOGIN") || w.eq_ignore_ascii_case(b"AUTHENTICATE")
    })
}

/// `{N}` / `{N+}` (and `~{N}`) at the end of a line (without CRLF).
fn literal_suffix(line: &[u8]) -> Option<(u64, bool)> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let mut num = &body[open + 1..];
    let nonsync = num.last() == Some(&b'+');
    if nonsync {
        num = &num[..num.len() - 1];
    }
    if num.is_empty() || num.len() > 10 || !num.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = std::str::from_utf8(num).ok()?.parse().ok()?;
    Some((n, nonsync))
}

impl<S: AsyncRead + AsyncWrite + Unpin + QuickAck> Io<S> {
    pub fn new(stream: S, max_line: usize, max_literal: usize) -> Io<S> {
        Io {
            stream,
            // Allocated on first use, not per connection up front.
            rbuf: Vec::new(),
            wbuf: Vec::new(),
            max_line: max_line.max(1024),
            max_literal,
            write_timeout: Duration::from_secs(60),
            guard: false,
            deflate: None,
            lean: false,
            authenticated: false,
            budget: None,
            held: None,
            budget_wait: BUDGET_WAIT,
            shutdown: tokio_util::sync::CancellationToken::new(),
        }
    }

    /// Literals after authentication take their bytes from `budget`.
    pub fn with_budget(mut self, budget: Budget) -> Io<S> {
        self.budget = Some(budget);
        self
    }

    /// The server's shutdown signal, for waits inside a command (IDLE).
    pub fn with_shutdown(mut self, shutdown: tokio_util::sync::CancellationToken) -> Io<S> {
        self.shutdown = shutdown;
        self
    }

    pub(crate) fn shutdown_signal(&self) -> tokio_util::sync::CancellationToken {
        self.shutdown.clone()
    }

    /// Logged in or not: which limits apply to lines and literals.
    pub fn set_authenticated(&mut self, on: bool) {
        self.authenticated = on;
    }

    fn line_limit(&self) -> usize {
        if self.authenticated {
            self.max_line
        } else {
            self.max_line.min(PRE_AUTH_LINE)
        }
    }

    fn literal_limit(&self) -> usize {
        if self.authenticated {
            self.max_literal
        } else {
            self.max_literal.min(PRE_AUTH_LITERAL)
        }
    }

    /// Room for `n` more literal bytes in the shared budget, waiting a
    /// little for other sessions to finish; `false` when there is none.
    async fn reserve(&mut self, n: usize) -> bool {
        let Some(budget) = &self.budget else {
            return true;
        };
        let Some(p) = budget.take(n, self.budget_wait).await else {
            return false;
        };
        match &mut self.held {
            Some(h) => h.merge(p),
            None => self.held = Some(p),
        }
        true
    }

    /// Lean mode, for a session that may wait a long time for little input
    /// (IDLE, RFC 2177): the write buffer is freed after each flush and the
    /// read buffer keeps only a few bytes of room, so that a thousand idle
    /// connections cost little memory.
    pub fn set_lean(&mut self, on: bool) {
        self.lean = on;
        if on {
            if self.wbuf.is_empty() {
                self.wbuf = Vec::new();
            }
            if self.rbuf.len() < LEAN_READ_ROOM {
                self.rbuf.shrink_to(LEAN_READ_ROOM);
            }
        }
    }

    /// Start COMPRESS=DEFLATE (RFC 4978 3): called after the tagged OK has
    /// been flushed uncompressed; input already buffered was sent after
    /// the command, so it is compressed.
    pub fn start_deflate(&mut self) {
        let already = std::mem::take(&mut self.rbuf);
        self.deflate = Some(Box::new(Deflate::new(already)));
    }

    pub fn is_compressed(&self) -> bool {
        self.deflate.is_some()
    }

    /// Swap the stream (after STARTTLS). Buffered input is dropped: any
    /// command pipelined after STARTTLS is plaintext injection (RFC 9051 6.2.1).
    pub fn into_parts(self) -> (S, Vec<u8>) {
        (self.stream, self.rbuf)
    }

    pub fn set_guard(&mut self, on: bool) {
        self.guard = on;
    }

    pub fn push(&mut self, b: &[u8]) {
        self.wbuf.extend_from_slice(b);
    }

    pub fn push_str(&mut self, s: &str) {
        self.wbuf.extend_from_slice(s.as_bytes());
    }

    pub async fn flush(&mut self) -> std::io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        let compressed;
        let bytes = match &mut self.deflate {
            Some(d) => {
                let mut out = Vec::new();
                d.compress(&self.wbuf, &mut out)?;
                compressed = out;
                &compressed
            }
            None => &self.wbuf,
        };
        let stream = &mut self.stream;
        let fut = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        tokio::time::timeout(self.write_timeout, fut)
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out"))??;
        self.wbuf.clear();
        if self.lean || self.wbuf.capacity() > KEEP_CAPACITY {
            self.wbuf = Vec::new();
        }
        Ok(())
    }

    /// Read more input, straight into the spare room of the buffer (a
    /// buffer in the future itself would be part of every connection's
    /// memory for as long as it waits).
    async fn fill(&mut self) -> std::io::Result<usize> {
        let room = match (self.lean, self.rbuf.is_empty()) {
            (true, _) => LEAN_READ_ROOM,
            (false, true) => WAIT_ROOM,
            (false, false) => READ_ROOM,
        };
        if self.rbuf.is_empty() && self.rbuf.capacity() > room {
            self.rbuf = Vec::new();
        }
        let Some(d) = &mut self.deflate else {
            self.rbuf.reserve(room);
            return self.stream.read_buf(&mut self.rbuf).await;
        };
        loop {
            if d.has_pending() {
                let n = d.inflate(&mut self.rbuf)?;
                if n > 0 {
                    return Ok(n);
                }
            }
            let mut chunk = Vec::with_capacity(room);
            let n = self.stream.read_buf(&mut chunk).await?;
            if n == 0 {
                return Ok(0);
            }
            d.feed(&chunk);
        }
    }

    /// One line with its CRLF; `Ok(None)` at end of stream, `Err(tag)`
    /// when it was too long (discarded; the tag it started with, if any).
    pub async fn read_line(&mut self) -> std::io::Result<Result<Option<Vec<u8>>, Option<String>>> {
        self.read_line_in(false).await
    }

    /// `read_line`; `in_command` when the line goes on a command after a
    /// literal, whose client may be waiting to send it (`quick_ack`).
    async fn read_line_in(
        &mut self,
        in_command: bool,
    ) -> std::io::Result<Result<Option<Vec<u8>>, Option<String>>> {
        let mut discarding: Option<Option<String>> = None;
        let max_line = self.line_limit();
        loop {
            if let Some(lf) = self.rbuf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.rbuf.drain(..=lf).collect();
                if let Some(tag) = discarding {
                    return Ok(Err(tag));
                }
                if line.len() > max_line {
                    return Ok(Err(tag_of(&line)));
                }
                return Ok(Ok(Some(line)));
            }
            if self.rbuf.len() > max_line {
                if discarding.is_none() {
                    discarding = Some(tag_of(&self.rbuf));
                }
                self.rbuf.clear();
            }
            if in_command {
                self.stream.quick_ack();
            }
            if self.fill().await? == 0 {
                return Ok(Ok(None));
            }
        }
    }

    /// Exactly `n` bytes, moved to `out` as they arrive (the read buffer
    /// does not grow to the literal's size).
    async fn read_exact_into(&mut self, n: usize, out: &mut Vec<u8>) -> std::io::Result<bool> {
        out.reserve_exact(n);
        let mut need = n;
        loop {
            let take = need.min(self.rbuf.len());
            out.extend(self.rbuf.drain(..take));
            need -= take;
            if need == 0 {
                return Ok(true);
            }
            // More of the literal to come: acknowledge what came, or the
            // client's last record may wait for the delayed ACK (see
            // `tern_common::quick_ack`).
            self.stream.quick_ack();
            if self.fill().await? == 0 {
                return Ok(false);
            }
        }
    }

    /// The next command with its literals.
    pub async fn read_command(&mut self) -> std::io::Result<Input> {
        // The last command is done: its literals' memory goes back.
        self.held = None;
        let mut cmd: Vec<u8> = Vec::new();
        let mut literal_total = 0usize;
        let (max_line, max_literal) = (self.line_limit(), self.literal_limit());
        loop {
            let line = match self.read_line_in(!cmd.is_empty()).await? {
                Ok(Some(l)) => l,
                Ok(None) => return Ok(Input::Eof),
                Err(tag) if cmd.is_empty() => return Ok(Input::TooLong(tag)),
                Err(_) => return Ok(Input::TooLong(tag_of(&cmd))),
            };
            cmd.extend_from_slice(&line);
            if cmd.len() - literal_total > max_line {
                return Ok(Input::TooLong(tag_of(&cmd)));
            }
            let bare = line.strip_suffix(b"\r\n").unwrap_or(&line);
            let Some((n, nonsync)) = literal_suffix(bare) else {
                return Ok(Input::Command(cmd));
            };
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if self.guard && carries_credentials(&cmd) {
                if nonsync {
                    return Ok(Input::CredentialClose);
                }
                return Ok(Input::CredentialRefused(tag_of(&cmd)));
            }
            if literal_total.saturating_add(n) > max_literal {
                if nonsync {
                    return Ok(Input::LiteralTooBig);
                }
                return Ok(Input::LiteralRefused(tag_of(&cmd)));
            }
            if self.authenticated && !self.reserve(n).await {
                if nonsync {
                    return Ok(Input::BusyClose);
                }
                return Ok(Input::Busy(tag_of(&cmd)));
            }
            if !nonsync {
                self.push(b"+ Ready for literal data\r\n");
                self.flush().await?;
            }
            literal_total += n;
            if !self.read_exact_into(n, &mut cmd).await? {
                return Ok(Input::Eof);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        assert_eq!(literal_suffix(b"a APPEND x {12}"), Some((12, false)));
        assert_eq!(literal_suffix(b"a APPEND x {12+}"), Some((12, true)));
        assert_eq!(literal_suffix(b"a APPEND x ~{3}"), Some((3, false)));
        assert_eq!(literal_suffix(b"a LOGIN \"{1}\""), None);
        assert_eq!(literal_suffix(b"a X {}"), None);
        assert_eq!(tag_of(b"a1 NOOP\r\n").as_deref(), Some("a1"));
        assert_eq!(tag_of(b"+ NOOP\r\n"), None);
    }

    #[tokio::test]
    async fn literals_and_limits() {
        let (mut client, server) = tokio::io::duplex(4096);
        let mut io = Io::new(server, 1024, 10);
        client
            .write_all(b"a LOGIN {3}\r\nbob {2+}\r\npw\r\nb APPEND x {11}\r\nc APPEND x {99+}\r\n")
            .await
            .unwrap();
        let Input::Command(c) = io.read_command().await.unwrap() else {
            panic!()
        };
        assert_eq!(c, b"a LOGIN {3}\r\nbob {2+}\r\npw\r\n");
        assert_eq!(
            io.read_command().await.unwrap(),
            Input::LiteralRefused(Some("b".into()))
        );
        assert_eq!(io.read_command().await.unwrap(), Input::LiteralTooBig);
        let mut got = [0u8; 26];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"+ Ready for literal data\r\n");
    }

    /// A stream that counts the session's asks for prompt
    /// acknowledgements (`QuickAck`).
    struct Acking {
        inner: tokio::io::DuplexStream,
        acks: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl QuickAck for Acking {
        fn quick_ack(&self) {
            self.acks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    impl AsyncRead for Acking {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Acking {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
        }

        fn poll_flush(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::pin::Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    /// Waits (bounded) until the reader has asked for more than `than`
    /// prompt acknowledgements.
    async fn asked(acks: &std::sync::atomic::AtomicUsize, than: usize) -> usize {
        for _ in 0..2000 {
            let n = acks.load(std::sync::atomic::Ordering::SeqCst);
            if n > than {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        acks.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// While a literal is still arriving, and while the rest of its
    /// command line is, the socket acknowledges at once; command lines
    /// alone are left to the kernel's delayed acknowledgements, which ride
    /// on the replies (see `tern_common::quick_ack`).
    #[tokio::test]
    async fn a_literal_still_arriving_is_acknowledged_at_once() {
        use std::sync::atomic::Ordering::SeqCst;
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let acks = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut io = Io::new(
            Acking {
                inner: server,
                acks: acks.clone(),
            },
            1024,
            1 << 20,
        );
        io.set_authenticated(true);
        client
            .write_all(b"a NOOP\r\nb SELECT INBOX\r\n")
            .await
            .unwrap();
        for _ in 0..2 {
            assert!(matches!(io.read_command().await, Ok(Input::Command(_))));
        }
        assert_eq!(acks.load(SeqCst), 0, "no literal, nothing asked");
        // As imaplib sends it: the line, the literal (here in two writes),
        // then the CRLF that ends the command on its own.
        client
            .write_all(b"c APPEND INBOX {20000+}\r\n")
            .await
            .unwrap();
        client.write_all(&[b'x'; 12_000]).await.unwrap();
        let reader = tokio::spawn(async move { io.read_command().await });
        let first = asked(&acks, 0).await;
        assert!(first > 0, "the literal's rest is awaited with prompt ACKs");
        client.write_all(&[b'x'; 8_000]).await.unwrap();
        assert!(
            asked(&acks, first).await > first,
            "so is the end of its command line"
        );
        client.write_all(b"\r\n").await.unwrap();
        let Ok(Input::Command(c)) = reader.await.unwrap() else {
            panic!("the command")
        };
        assert_eq!(c.len(), b"c APPEND INBOX {20000+}\r\n".len() + 20_000 + 2);
    }

    #[tokio::test]
    async fn lean_mode_keeps_buffers_small() {
        let (mut client, server) = tokio::io::duplex(4096);
        let mut io = Io::new(server, 1024, 100);
        io.push(b"* OK ready\r\n");
        io.flush().await.unwrap();
        io.set_lean(true);
        io.push(b"+ idling\r\n");
        io.flush().await.unwrap();
        assert_eq!(io.wbuf.capacity(), 0, "no write buffer while idling");
        client.write_all(b"DONE\r\n").await.unwrap();
        let line = io.read_line().await.unwrap();
        assert_eq!(line, Ok(Some(b"DONE\r\n".to_vec())));
        assert!(
            io.rbuf.capacity() <= 2 * LEAN_READ_ROOM,
            "{}",
            io.rbuf.capacity()
        );
        io.set_lean(false);
        client.write_all(b"a NOOP\r\n").await.unwrap();
        assert_eq!(
            io.read_command().await.unwrap(),
            Input::Command(b"a NOOP\r\n".to_vec())
        );
    }

    /// Reads what the server wrote so far, without waiting for more.
    async fn written(client: &mut tokio::io::DuplexStream) -> Vec<u8> {
        let mut out = vec![0u8; 4096];
        match tokio::time::timeout(Duration::from_millis(50), client.read(&mut out)).await {
            Ok(Ok(n)) => out[..n].to_vec(),
            _ => Vec::new(),
        }
    }

    #[tokio::test]
    async fn literals_before_login_are_small() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut io = Io::new(server, 64 * 1024, 64 << 20);
        // 64 MiB announced before login: refused without a continuation.
        client.write_all(b"a ID {67108864}\r\n").await.unwrap();
        assert_eq!(
            io.read_command().await.unwrap(),
            Input::LiteralRefused(Some("a".into()))
        );
        assert_eq!(written(&mut client).await, b"");
        // What LOGIN needs is read.
        let user = "u".repeat(PRE_AUTH_LITERAL);
        client
            .write_all(format!("b LOGIN {{{}+}}\r\n{user} pw\r\n", user.len()).as_bytes())
            .await
            .unwrap();
        assert!(matches!(
            io.read_command().await.unwrap(),
            Input::Command(_)
        ));
        // A non-synchronizing one is on its way: the connection ends.
        client.write_all(b"c ID {60000000+}\r\n").await.unwrap();
        assert_eq!(io.read_command().await.unwrap(), Input::LiteralTooBig);
    }

    #[tokio::test]
    async fn lines_before_login_are_small() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut io = Io::new(server, 64 * 1024, 64 << 20);
        let long = format!("a LOGIN {} pw\r\n", "u".repeat(PRE_AUTH_LINE));
        client.write_all(long.as_bytes()).await.unwrap();
        assert_eq!(
            io.read_command().await.unwrap(),
            Input::TooLong(Some("a".into()))
        );
        // After login the configured limit applies.
        io.set_authenticated(true);
        client.write_all(long.as_bytes()).await.unwrap();
        assert!(matches!(
            io.read_command().await.unwrap(),
            Input::Command(_)
        ));
    }

    #[tokio::test]
    async fn literals_after_login_share_one_budget() {
        let budget = Budget::new(100);
        let (mut c1, s1) = tokio::io::duplex(1 << 16);
        let (mut c2, s2) = tokio::io::duplex(1 << 16);
        let mut one = Io::new(s1, 1024, 1000).with_budget(budget.clone());
        let mut two = Io::new(s2, 1024, 1000).with_budget(budget.clone());
        for io in [&mut one, &mut two] {
            io.set_authenticated(true);
            io.budget_wait = Duration::from_millis(20);
        }
        c1.write_all(b"a APPEND x {60+}\r\n").await.unwrap();
        c1.write_all(&[b'x'; 60]).await.unwrap();
        c1.write_all(b"\r\n").await.unwrap();
        assert!(matches!(
            one.read_command().await.unwrap(),
            Input::Command(_)
        ));
        assert_eq!(budget.available(), 40);
        // The other session's literal does not fit while the first is held.
        c2.write_all(b"b APPEND x {60}\r\n").await.unwrap();
        assert_eq!(
            two.read_command().await.unwrap(),
            Input::Busy(Some("b".into()))
        );
        assert_eq!(written(&mut c2).await, b"", "no continuation");
        c2.write_all(b"c APPEND x {60+}\r\n").await.unwrap();
        assert_eq!(two.read_command().await.unwrap(), Input::BusyClose);
        // The first command done (the next read begins), the bytes are back.
        c1.write_all(b"d NOOP\r\n").await.unwrap();
        assert!(matches!(
            one.read_command().await.unwrap(),
            Input::Command(_)
        ));
        assert_eq!(budget.available(), 100);
    }
}
