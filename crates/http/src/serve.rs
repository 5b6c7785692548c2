//! One HTTP connection, served by hyper on the stream the listener
//! framework accepted (TLS already done on `https`, ALPN `h2` choosing
//! HTTP/2, RFC 9113 3.2). tern keeps the time-outs in its own hands:
//!
//! - the header section of a request must arrive within
//!   `header_timeout_secs` (hyper's header read timer): a client dripping
//!   header bytes (slowloris) is closed;
//! - one request, its body included, gets `request_timeout_secs`
//!   (`router.rs` answers 408);
//! - a connection with no request in flight and no byte moving for
//!   `idle_timeout_secs` is closed (the watch below);
//! - at shutdown, connections finish the request in flight and close.
//!
//! Header sections are bounded (64 headers, 16 KiB on HTTP/1.1 and on
//! HTTP/2) before any handler runs.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tower::ServiceExt;

use tern_common::listener::{Conn, Handler};

use crate::client::ConnInfo;
use crate::state::AppState;

/// HTTP/1.1 header section bound: hyper's read buffer (its minimum is
/// 8 KiB) and the number of header fields.
const MAX_HEADER_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;
/// HTTP/2: concurrent streams per connection (RFC 9113 5.1.2).
const MAX_STREAMS: u32 = 32;

/// The `http` and `https` listeners' handler.
pub struct Service {
    state: AppState,
    plain: Router,
    secure: Router,
}

impl Service {
    pub fn new(state: AppState) -> Service {
        Service {
            plain: crate::router::router(state.clone(), false),
            secure: crate::router::router(state.clone(), true),
            state,
        }
    }
}

impl Handler for Service {
    fn handle(&self, conn: Conn) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let router = if conn.stream.is_tls() {
            self.secure.clone()
        } else {
            self.plain.clone()
        };
        let state = self.state.clone();
        Box::pin(serve(state, router, conn))
    }
}

/// Time of the last byte moved, in milliseconds since `start`.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let now = self.start.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// Counts a request as in flight until dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(a: &Arc<Activity>) -> InFlight {
        a.in_flight.fetch_add(1, Ordering::Relaxed);
        a.touch();
        InFlight(a.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

async fn serve(state: AppState, router: Router, conn: Conn) {
    let Conn {
        stream,
        peer,
        shutdown,
        guard,
        ..
    } = conn;
    let cfg = &state.config.http;
    let secure = stream.is_tls();
    let h2 = stream.alpn() == Some(b"h2");
    let activity = Arc::new(Activity {
        start: Instant::now(),
        last_ms: AtomicU64::new(0),
        in_flight: AtomicUsize::new(0),
    });
    let info = ConnInfo { peer, secure };
    let act = activity.clone();
    let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        let flight = InFlight::new(&act);
        req.extensions_mut().insert(info);
        canonical_path(&mut req);
        let router = router.clone();
        async move {
            let res = router.oneshot(req.map(Body::new)).await;
            drop(flight);
            res
        }
    });

    let builder = builder(&state.config.http, h2);
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let connection = builder.serve_connection(io, svc);
    tokio::pin!(connection);

    let idle = Duration::from_secs(cfg.idle_timeout_secs);
    let drain = Duration::from_secs(cfg.request_timeout_secs);
    let mut closing: Option<tokio::time::Instant> = None;
    loop {
        // Wake when the connection would have been idle for `idle` (or the
        // drain ends), not on a fixed tick: many quiet connections cost no
        // wake-ups.
        let wait = match closing {
            Some(c) => c.saturating_duration_since(tokio::time::Instant::now()),
            None => idle.saturating_sub(activity.idle_for()),
        };
        let check = tokio::time::sleep(wait.max(Duration::from_millis(100)));
        tokio::select! {
            r = connection.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%peer, error = %e, "http connection ended");
                }
                break;
            }
            _ = shutdown.cancelled(), if closing.is_none() => {
                connection.as_mut().graceful_shutdown();
                closing = Some(tokio::time::Instant::now() + drain);
            }
            _ = check => {
                if closing.is_some_and(|c| tokio::time::Instant::now() >= c) {
                    break;
                }
                if activity.in_flight.load(Ordering::Relaxed) == 0 && activity.idle_for() >= idle {
                    tracing::debug!(%peer, "http connection idle; closed");
                    break;
                }
            }
        }
    }
    drop(guard);
}

/// hyper's connection builder with tern's bounds and header time-out. ALPN
/// decides on TLS (RFC 9113 3.2); plain HTTP is HTTP/1.1 only.
fn builder(cfg: &tern_common::config::HttpConfig, h2: bool) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(cfg.header_timeout_secs))
        .max_buf_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_STREAMS)
        .max_header_list_size(MAX_HEADER_BYTES as u32);
    if h2 {
        builder.http2_only()
    } else {
        builder.http1_only()
    }
}

/// Paths that clients spell in any case (Outlook's Autodiscover) are
/// routed under their canonical spelling.
fn canonical_path(req: &mut Request<Incoming>) {
    const AUTODISCOVER: &str = "/autodiscover/autodiscover.xml";
    let uri = req.uri();
    if uri.path() != AUTODISCOVER && uri.path().eq_ignore_ascii_case(AUTODISCOVER) {
        let pq = match uri.query() {
            Some(q) => format!("{AUTODISCOVER}?{q}"),
            None => AUTODISCOVER.to_string(),
        };
        let mut parts = uri.clone().into_parts();
        if let Ok(p) = pq.parse() {
            parts.path_and_query = Some(p);
            if let Ok(u) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = u;
            }
        }
    }
}

/// The connection's stream, noting when bytes move.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
