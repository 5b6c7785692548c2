//! The listener entry point: one `Pop3` per process, shared by the `pop3`
//! (STLS) and `pop3s` (implicit TLS) listeners so that the maildrop lock
//! covers both.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tern_common::config::Config;
use tern_common::listener::{Conn, Handler};

use crate::gate::Gate;
use crate::lock::Locks;
use crate::maildrop::Maildrop;
use crate::options::Options;
use crate::session::run_gated;

/// The POP3 service over any maildrop (`Service` is the one over the store).
pub struct Pop3<M> {
    drop: M,
    locks: Locks,
    opts: Arc<Options>,
}

impl<M: Maildrop> Pop3<M> {
    /// A service with locks of its own.
    pub fn with_maildrop(drop: M, opts: Options) -> Pop3<M> {
        Pop3::with_locks(drop, opts, Locks::default())
    }

    pub fn with_locks(drop: M, opts: Options, locks: Locks) -> Pop3<M> {
        Pop3 {
            drop,
            locks,
            opts: Arc::new(opts),
        }
    }
}

/// The session options a configuration asks for.
pub fn options_from(config: &Config) -> Options {
    Options {
        hostname: config.hostname.clone(),
        max_line_length: config.pop3.max_line_length,
        idle_timeout: Duration::from_secs(config.pop3.idle_timeout_secs),
        ..Options::default()
    }
}

impl<M: Maildrop> Handler for Pop3<M> {
    fn handle(&self, conn: Conn) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let drop = self.drop.clone();
        let locks = self.locks.clone();
        let opts = self.opts.clone();
        Box::pin(async move {
            let tls = conn.stream.is_tls();
            let gate = Gate::new(conn.security, conn.guard, conn.peer.ip(), "pop3");
            run_gated(
                drop,
                locks,
                opts,
                conn.stream,
                tls,
                &conn.tls,
                conn.shutdown,
                conn.peer.to_string(),
                gate,
            )
            .await;
        })
    }
}
