//! The listener entry point, shared by `imap` (STARTTLS) and `imaps`
//! (implicit TLS).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tern_common::config::Config;
use tern_common::listener::{Conn, Handler};
use tern_store::Store;

use crate::gate::Gate;
use crate::session::{Options, run};
use crate::summary::SummaryCache;

pub struct Service {
    store: Store,
    opts: Arc<Options>,
}

impl Service {
    pub fn new(config: Arc<Config>, store: Store) -> Service {
        let c = &config.imap;
        Service {
            store: store.clone(),
            opts: Arc::new(Options {
                hostname: config.hostname.clone(),
                max_line: c.max_line_length,
                max_literal: c.max_literal_size,
                idle_timeout: Duration::from_secs(c.idle_timeout_secs),
                login_timeout: Options::default().login_timeout,
                auth_failure_delay: Duration::from_millis(c.auth_failure_delay_ms),
                max_auth_failures: c.max_auth_failures,
                max_errors: c.max_errors,
                summaries: Arc::new(SummaryCache::new(c.summary_cache_mib << 20)),
                budget: crate::budget::Budget::new(c.memory_budget_mib.saturating_mul(1 << 20)),
                trainer: crate::spam::Trainer::new(&config, store.clone()),
            }),
        }
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
            let gate = Gate::new(conn.security, conn.guard, conn.peer.ip(), "imap");
            run(
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
