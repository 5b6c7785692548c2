//! The listener framework: one accept loop per configured listener, one task
//! per connection, implicit TLS or a STARTTLS upgrade on demand, panics caught
//! per connection, and a graceful shutdown (stop accepting, let sessions end
//! up to a deadline, then close what is left).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::io::AsyncWriteExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::audit::AuditKind;
use crate::config::{ListenerConfig, ListenerKind};
use crate::limits::{ConnGuard, Family, Level};
use crate::metrics::Metric;
use crate::security::{AuditEvent, Security};

/// A connection's byte stream, before or after TLS.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl Stream {
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }

    /// The ALPN protocol the TLS handshake chose (RFC 7301), if any.
    pub fn alpn(&self) -> Option<&[u8]> {
        let Stream::Tls(s) = self else { return None };
        s.get_ref().1.alpn_protocol()
    }

    /// The negotiated protocol version and cipher suite, for trace headers.
    pub fn tls_info(&self) -> Option<TlsInfo> {
        let Stream::Tls(s) = self else { return None };
        let conn = s.get_ref().1;
        Some(TlsInfo {
            version: conn
                .protocol_version()
                .and_then(|v| v.as_str())
                .unwrap_or("TLS")
                .replace('_', "."),
            cipher: conn
                .negotiated_cipher_suite()
                .and_then(|c| c.suite().as_str())
                .unwrap_or("unknown")
                .to_string(),
        })
    }
}

/// What a TLS session negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    pub version: String,
    pub cipher: String,
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Turns a plain stream into a TLS one (implicit TLS and STARTTLS).
#[derive(Clone)]
pub struct Tls {
    config: Arc<rustls::ServerConfig>,
    /// For a ClientHello offering `acme-tls/1` (RFC 8737), while ACME
    /// validates by tls-alpn-01 on this listener.
    challenge: Option<crate::challenge::ChallengeTls>,
    handshake_timeout: Duration,
}

impl Tls {
    pub fn new(config: Arc<rustls::ServerConfig>) -> Tls {
        Tls {
            config,
            challenge: None,
            handshake_timeout: Duration::from_secs(30),
        }
    }

    /// Also answer tls-alpn-01 validation handshakes.
    pub fn with_challenge(mut self, challenge: crate::challenge::ChallengeTls) -> Tls {
        self.challenge = Some(challenge);
        self
    }

    /// Run the server handshake. A stream that is already TLS is an error:
    /// STARTTLS twice is refused by the protocols before they get here.
    pub async fn upgrade(&self, stream: Stream) -> io::Result<Stream> {
        let Stream::Plain(tcp) = stream else {
            return Err(io::Error::other("TLS is already active"));
        };
        let handshake = async {
            // The ClientHello first, to choose the configuration: the
            // challenge one only for a hello that offers acme-tls/1.
            let start =
                tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp)
                    .await?;
            let acme = {
                let hello = start.client_hello();
                crate::challenge::offers_acme_alpn(&hello)
                    .then(|| hello.server_name().map(str::to_string))
            };
            let config = match (&self.challenge, acme) {
                (Some(c), Some(sni)) => c.config_for(sni.as_deref()).await,
                _ => self.config.clone(),
            };
            start.into_stream(config).await
        };
        let tls = tokio::time::timeout(self.handshake_timeout, handshake)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        let stream = Stream::Tls(Box::new(tls));
        if let Some(info) = stream.tls_info() {
            crate::metrics::count(Metric::TlsHandshakes {
                version: &info.version,
            });
        }
        Ok(stream)
    }
}

/// The STARTTLS/STLS handshake as the line protocols' sessions see it
/// (SMTP, IMAP, POP3): generic over the stream, so that in-memory tests can
/// stand in for TLS.
pub trait Upgrade<S>: Send + Sync {
    fn upgrade(&self, stream: S) -> Pin<Box<dyn Future<Output = io::Result<S>> + Send + '_>>;

    /// What the upgraded stream negotiated (SMTP writes it into Received,
    /// RFC 5321 4.4); `None` when the stream cannot tell.
    fn tls_info(&self, _stream: &S) -> Option<TlsInfo> {
        None
    }
}

impl Upgrade<Stream> for Tls {
    fn upgrade(
        &self,
        stream: Stream,
    ) -> Pin<Box<dyn Future<Output = io::Result<Stream>> + Send + '_>> {
        Box::pin(Tls::upgrade(self, stream))
    }

    fn tls_info(&self, stream: &Stream) -> Option<TlsInfo> {
        stream.tls_info()
    }
}

/// One accepted connection, handed to a protocol's session.
pub struct Conn {
    pub stream: Stream,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub kind: ListenerKind,
    /// For STARTTLS (and already used for implicit TLS).
    pub tls: Tls,
    /// Cancelled when the server shuts down: finish the current exchange,
    /// say goodbye in the protocol's words, and return.
    pub shutdown: CancellationToken,
    /// This connection's place in the connection limits; call
    /// `guard.authenticated(user)` once the user is known.
    pub guard: ConnGuard,
    /// Limits, rates, login throttling, counters and the audit log.
    pub security: Security,
}

/// The protocol's own temporary refusal, sent before closing a connection
/// that is over a limit (RFC 5321 4.3.2 421, RFC 9051 7.1.5 BYE with
/// UNAVAILABLE, RFC 2449 8.1.2 SYS/TEMP, HTTP 503). Implicit-TLS ports get
/// no words: answering would cost the TLS handshake the limit exists to avoid.
pub fn refusal(kind: ListenerKind, hostname: &str) -> Option<String> {
    match kind {
        ListenerKind::Smtp | ListenerKind::Submission => {
            Some(format!("421 4.7.0 {hostname} Too many connections, try again later\r\n"))
        }
        ListenerKind::Imap => Some("* BYE [UNAVAILABLE] Too many connections, try again later\r\n".into()),
        ListenerKind::Pop3 => Some("-ERR [SYS/TEMP] Too many connections, try again later\r\n".into()),
        ListenerKind::Http => Some(
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 60\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .into(),
        ),
        ListenerKind::Managesieve => Some("BYE (TRYLATER) \"Too many connections\"\r\n".into()),
        ListenerKind::Submissions
        | ListenerKind::Imaps
        | ListenerKind::Pop3s
        | ListenerKind::Https
        | ListenerKind::Managesieves => None,
    }
}

/// A protocol's session entry point.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, conn: Conn) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
}

/// The running listeners and their connection tasks.
pub struct Server {
    shutdown: CancellationToken,
    tasks: TaskTracker,
    security: Security,
    hostname: String,
}

/// A bound socket, ready to serve.
pub struct Bound {
    pub config: ListenerConfig,
    pub listener: TcpListener,
}

impl Bound {
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// Bind every listener before serving any, so a port conflict stops start-up
/// instead of leaving a half-started server.
pub async fn bind_all(listeners: &[ListenerConfig]) -> anyhow::Result<Vec<Bound>> {
    let mut out = Vec::with_capacity(listeners.len());
    for l in listeners {
        let addr = SocketAddr::new(l.addr, l.port);
        let listener = bind(addr)
            .map_err(|e| anyhow::anyhow!("cannot listen for {} on {addr}: {e}", l.kind))?;
        out.push(Bound {
            config: l.clone(),
            listener,
        });
    }
    Ok(out)
}

/// Bind one listening socket. `::` is dual-stack whatever the system's
/// default (`net.ipv6.bindv6only`): one socket takes IPv6 and IPv4
/// (as v4-mapped addresses), so `addr = "::"` means every address.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        socket.set_only_v6(false)?;
    }
    // A restart must not wait for the old sockets' TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// Connection rate per IP, then the connection limits (per IP, global).
fn admit(
    security: &Security,
    kind: ListenerKind,
    ip: std::net::IpAddr,
) -> Result<ConnGuard, Level> {
    if !security
        .rates
        .connections_per_ip
        .check(&crate::limits::ip_group(ip), 1)
    {
        security.metrics.count(Metric::LimiterRefusals {
            protocol: Family::of(kind).name(),
            layer: "rate_connections",
        });
        return Err(Level::Ip);
    }
    let mut guard = security.limiter.admit(Family::of(kind), ip)?;
    guard.charged_to_ip(crate::limits::ConnRate {
        per_ip: security.rates.connections_per_ip.clone(),
        per_user_ip: security.rates.connections_per_user_ip.clone(),
    });
    Ok(guard)
}

impl Server {
    /// A server with default limits (tests).
    pub fn new(_max_connections: usize) -> Server {
        Server::with_security(Security::permissive_for_tests(), "localhost")
    }

    pub fn with_security(security: Security, hostname: &str) -> Server {
        Server {
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            security,
            hostname: hostname.to_string(),
        }
    }

    pub fn security(&self) -> &Security {
        &self.security
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Start the accept loop of one bound listener.
    pub fn serve(&self, bound: Bound, tls: Tls, handler: Arc<dyn Handler>) {
        let shutdown = self.shutdown.clone();
        let tasks = self.tasks.clone();
        let security = self.security.clone();
        let hostname = self.hostname.clone();
        let kind = bound.config.kind;
        self.tasks.spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    a = bound.listener.accept() => a,
                };
                let (tcp, peer) = match accepted {
                    // On a dual-stack socket an IPv4 client is ::ffff:a.b.c.d:
                    // every limit, log and check sees it as the IPv4 address
                    // it is (else all IPv4 would share one IPv6 /64).
                    Ok((tcp, peer)) => (tcp, SocketAddr::new(peer.ip().to_canonical(), peer.port())),
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(listener = %kind, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let guard = match admit(&security, kind, peer.ip()) {
                    Ok(g) => g,
                    Err(level) => {
                        // Refuse without spawning: a cheap write, then close.
                        if let Some(words) = refusal(kind, &hostname) {
                            let mut tcp = tcp;
                            let _ = tokio::time::timeout(Duration::from_secs(1), tcp.write_all(words.as_bytes())).await;
                        }
                        security.audit(AuditEvent {
                            kind: AuditKind::Limit,
                            protocol: Family::of(kind).name(),
                            ip: Some(peer.ip()),
                            account: None,
                            detail: format!("connection refused: {} limit", level.name()),
                        });
                        continue;
                    }
                };
                let _ = tcp.set_nodelay(true);
                let local = tcp.local_addr().unwrap_or_else(|_| SocketAddr::new(bound.config.addr, 0));
                let handler = handler.clone();
                let tls = tls.clone();
                let shutdown = shutdown.clone();
                let security = security.clone();
                tasks.spawn(async move {
                    let run = async move {
                        let stream = if kind.implicit_tls() {
                            // Boxed: the handshake's state (a few KiB) is
                            // freed once it is done, instead of staying in
                            // the task of every connection for its life.
                            match Box::pin(tls.upgrade(Stream::Plain(tcp))).await {
                                // RFC 8737 4: a validation handshake carries
                                // no data; it is over once the CA saw the
                                // certificate.
                                Ok(mut s) if s.alpn() == Some(crate::challenge::ACME_TLS_ALPN) => {
                                    tracing::info!(listener = %kind, %peer, "acme tls-alpn-01 validation handshake answered");
                                    let _ = tokio::time::timeout(Duration::from_secs(5), s.shutdown()).await;
                                    return;
                                }
                                Ok(s) => s,
                                Err(e) => {
                                    tracing::info!(listener = %kind, %peer, error = %e, "TLS handshake failed");
                                    return;
                                }
                            }
                        } else {
                            Stream::Plain(tcp)
                        };
                        let conn = Conn { stream, peer, local, kind, tls, shutdown, guard, security };
                        handler.handle(conn).await;
                    };
                    if let Err(panic) = AssertUnwindSafe(run).catch_unwind().await {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".into());
                        tracing::error!(listener = %kind, %peer, panic = %what, "session panicked; connection closed");
                    }
                });
            }
        });
    }

    /// Stop accepting, give sessions `grace` to finish, then return (the
    /// runtime drops whatever is left when the process exits).
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.shutdown.cancel();
        self.tasks.close();
        tokio::time::timeout(grace, self.tasks.wait()).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    struct Echo;
    impl Handler for Echo {
        fn handle(&self, mut conn: Conn) -> Pin<Box<dyn Future<Output = ()> + Send>> {
            Box::pin(async move {
                let mut b = [0u8; 1];
                if conn.stream.read_exact(&mut b).await.is_err() {
                    return;
                }
                if b[0] == b'!' {
                    panic!("boom");
                }
                let _ = conn.stream.write_all(&b).await;
            })
        }
    }

    #[tokio::test]
    async fn a_panicking_session_does_not_stop_the_server() {
        let cfg = ListenerConfig {
            kind: ListenerKind::Smtp,
            addr: IpAddr::from([127, 0, 0, 1]),
            port: 0,
        };
        let bound = bind_all(&[cfg]).await.unwrap();
        let addr = bound[0].local_addr().unwrap();
        let d = tempfile::tempdir().unwrap();
        let (c, k) = crate::tls::self_signed(d.path(), "localhost").unwrap();
        let tls = Tls::new(crate::tls::load_server_config(&c, &k).unwrap());
        let server = Server::new(100);
        for b in bound {
            server.serve(b, tls.clone(), Arc::new(Echo));
        }
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"!").await.unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(
            s.read(&mut buf).await.unwrap(),
            0,
            "panicking session is closed"
        );
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"x").await.unwrap();
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"x");
        assert!(server.shutdown(Duration::from_secs(2)).await);
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "no longer accepting"
        );
    }

    /// Writes the peer address it was given, then closes.
    struct Peer;
    impl Handler for Peer {
        fn handle(&self, mut conn: Conn) -> Pin<Box<dyn Future<Output = ()> + Send>> {
            Box::pin(async move {
                let _ = conn
                    .stream
                    .write_all(conn.peer.ip().to_string().as_bytes())
                    .await;
            })
        }
    }

    /// `addr = "::"` is one dual-stack socket: IPv6 and IPv4 clients both
    /// reach it, and an IPv4 client is seen as its IPv4 address (not
    /// ::ffff:127.0.0.1), so limits and logs treat it as IPv4.
    #[tokio::test]
    async fn the_unspecified_ipv6_address_takes_ipv4_too() {
        let cfg = ListenerConfig {
            kind: ListenerKind::Smtp,
            addr: "::".parse().unwrap(),
            port: 0,
        };
        let bound = bind_all(&[cfg]).await.unwrap();
        let port = bound[0].local_addr().unwrap().port();
        let d = tempfile::tempdir().unwrap();
        let (c, k) = crate::tls::self_signed(d.path(), "localhost").unwrap();
        let tls = Tls::new(crate::tls::load_server_config(&c, &k).unwrap());
        let server = Server::new(100);
        for b in bound {
            server.serve(b, tls.clone(), Arc::new(Peer));
        }
        for (dial, seen) in [("127.0.0.1", "127.0.0.1"), ("::1", "::1")] {
            let ip: IpAddr = dial.parse().unwrap();
            let mut s = TcpStream::connect((ip, port)).await.unwrap();
            let mut got = String::new();
            s.read_to_string(&mut got).await.unwrap();
            assert_eq!(got, seen);
        }
        assert!(server.shutdown(Duration::from_secs(2)).await);
    }
}
