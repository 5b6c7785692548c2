//! SMTP in: the MX on port 25 and submission on 587/465 (RFC 5321, RFC
//! 6409). Sessions (`session` and its phases), every reply (`replies`), the
//! relay rules, tarpitting and greylisting, and durable local delivery.
//! Rule: `250` only after the store has committed (RFC 5321 6.1).

pub mod address;
pub mod deliver;
pub mod fetch;
pub mod framing;
pub mod numbers;
pub mod replies;
mod reports;
mod screener;
pub mod session;
mod sieve;
mod spam;
pub mod spool;
pub mod submit;
pub mod tarpit;
mod transaction;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tern_common::Config;
use tern_common::gate::Gate;
use tern_common::listener::{Conn, Handler};
use tern_common::security::Security;
use tern_queue::Queue;
use tern_store::Store;

pub use session::{NoTls, Peer, Session, Upgrade};
pub use sieve::filter as sieve_filter;
pub use tarpit::Tarpit;

/// What every session of the service shares.
pub struct Shared {
    pub config: Arc<Config>,
    pub store: Store,
    /// Where mail for remote addresses goes (submission, and aliases with
    /// remote targets).
    pub queue: Option<Queue>,
    pub tarpit: Tarpit,
    pub security: Security,
    /// Submission (587/465): AUTH over TLS, any destination for the user.
    pub submission: bool,
    /// SPF, DKIM, DMARC, ARC and iprev for mail from the internet (port 25).
    pub checker: Option<tern_mailauth::Checker>,
    /// Sieve with the `[sieve]` settings (`sieve.rs`).
    pub filter: Arc<tern_filter::Filter>,
    /// rspamd, when `[spam] rspamd_url` is set (`spam.rs`).
    pub rspamd: Option<tern_spam::Rspamd>,
}

/// The session handler of the `smtp` (MX), `submission` and `submissions`
/// listeners: what every session shares, less the server's `Security`,
/// which each connection brings (`Conn::security`).
pub struct Service {
    shared: Box<dyn Fn(Security) -> Shared + Send + Sync>,
}

impl Service {
    /// The MX on port 25, checking every message it accepts.
    pub fn new(config: Arc<Config>, store: Store, queue: Option<Queue>) -> anyhow::Result<Service> {
        // Spool files a crash left behind (the MX starts once per process).
        spool::sweep(&store.spool_dir(), std::time::SystemTime::now());
        let tarpit = Tarpit::new(config.tarpit.clone());
        let checker = tern_mailauth::Checker::new(&config)?;
        let filter = sieve::filter(&config);
        let rspamd = spam::rspamd(&config);
        Ok(Service {
            shared: Box::new(move |security| Shared {
                config: config.clone(),
                store: store.clone(),
                queue: queue.clone(),
                tarpit: tarpit.clone(),
                security,
                submission: false,
                checker: Some(checker.clone()),
                filter: filter.clone(),
                rspamd: rspamd.clone(),
            }),
        })
    }

    /// Submission on 587 (STARTTLS) or 465 (implicit TLS). Tarpitting is
    /// for strangers on port 25; users here are throttled by login, and
    /// their mail is signed, not checked.
    pub fn submission(config: Arc<Config>, store: Store, queue: Queue) -> Service {
        let off = tern_common::config::TarpitConfig {
            enabled: false,
            ..config.tarpit.clone()
        };
        let tarpit = Tarpit::new(off);
        let filter = sieve::filter(&config);
        // A compromised account's spam, when asked for.
        let rspamd = if config.spam.check_submissions {
            spam::rspamd(&config)
        } else {
            None
        };
        Service {
            shared: Box::new(move |security| Shared {
                config: config.clone(),
                store: store.clone(),
                queue: Some(queue.clone()),
                tarpit: tarpit.clone(),
                security,
                submission: true,
                checker: None,
                filter: filter.clone(),
                rspamd: rspamd.clone(),
            }),
        }
    }
}

impl Handler for Service {
    fn handle(&self, conn: Conn) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let shared = Arc::new((self.shared)(conn.security.clone()));
        Box::pin(async move {
            let peer = Peer {
                ip: conn.peer.ip(),
                tls: conn.stream.tls_info(),
                can_starttls: !conn.stream.is_tls(),
            };
            let upgrade = conn.tls;
            let gate = Gate::new(conn.security, conn.guard, peer.ip, "submission");
            Session::with_gate(shared, conn.stream, &upgrade, peer, conn.shutdown, gate)
                .run()
                .await;
        })
    }
}
