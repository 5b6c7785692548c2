//! The listener entry point: one `Service` per process for the
//! `managesieve` listeners.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tern_common::config::Config;
use tern_common::gate::Gate;
use tern_common::listener::{Conn, Handler};
use tern_store::Store;

use crate::options::Options;
use crate::session::run_gated;

/// The ManageSieve service over the store.
pub struct Service {
    store: Store,
    opts: Arc<Options>,
}

/// The session options a configuration asks for.
pub fn options_from(config: &Config) -> Options {
    Options {
        hostname: config.hostname.clone(),
        ..Options::default()
    }
}

impl Service {
    pub fn new(config: Arc<Config>, store: Store) -> Service {
        Service::with_options(store, options_from(&config))
    }

    pub fn with_options(store: Store, opts: Options) -> Service {
        Service {
            store,
            opts: Arc::new(opts),
        }
    }
}

impl Handler for Service {
    fn handle(&self, conn: Conn) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let store = self.store.clone();
        let opts = self.opts.clone();
        Box::pin(async move {
            let tls = conn.stream.is_tls();
            let gate = Gate::new(conn.security, conn.guard, conn.peer.ip(), "managesieve");
            run_gated(
                store,
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
