//! Inbound SMTP (the MX on port 25): sessions, the relay rules, tarpitting
//! and greylisting, and durable local delivery.

pub mod address;
pub mod deliver;
pub mod framing;
pub mod numbers;
pub mod session;
pub mod spool;
pub mod submit;
pub mod tarpit;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tern_common::Config;
use tern_common::listener::{Conn, Handler, Stream, Tls};
use tern_common::security::Security;
use tern_queue::Queue;
use tern_store::Store;

pub use session::{NoTls, Peer, Session, Upgrade};
pub use tarpit::Tarpit;

/// What every session of the service shares.
pub struct Shared {
    pub config: Arc<Config>,
    pub store: Store,
    /// Where mail for aliases with remote targets goes.
    pub queue: Option<Queue>,
    pub tarpit: Tarpit,
    pub security: Security,
    /// Submission (587/465): AUTH over TLS, any destination for the user.
    pub submission: bool,
    /// SPF, DKIM, DMARC, ARC and iprev for mail from the internet (port 25).
    pub checker: Option<tern_mailauth::Checker>,
}

/// The session handler of the `smtp` (MX), `submission` and `submissions` listeners.
pub struct Service {
    config: Arc<Config>,
    store: Store,
    queue: Option<Queue>,
    tarpit: Tarpit,
    submission: bool,
    checker: Option<tern_mailauth::Checker>,
}

impl Service {
    /// The MX on port 25, checking every message it accepts.
    pub fn new(config: Arc<Config>, store: Store, queue: Option<Queue>) -> anyhow::Result<Service> {
        // Spool files a crash left behind (the MX starts once per process).
        spool::sweep(&store.spool_dir(), std::time::SystemTime::now());
        let tarpit = Tarpit::new(config.tarpit.clone());
        let checker = Some(tern_mailauth::Checker::new(&config)?);
        Ok(Service {
            config,
            store,
            queue,
            tarpit,
            submission: false,
            checker,
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
        Service {
            tarpit: Tarpit::new(off),
            config,
            store,
            queue: Some(queue),
            submission: true,
            checker: None,
        }
    }
}

struct StartTls(Tls);

impl Upgrade<Stream> for StartTls {
    fn upgrade(&self, stream: Stream) -> session::Handshake<'_, Stream> {
        Box::pin(async move {
            let s = self.0.upgrade(stream).await?;
            let info = s.tls_info();
            Ok((s, info))
        })
    }
}

impl Handler for Service {
    fn handle(&self, conn: Conn) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let shared = Arc::new(Shared {
            config: self.config.clone(),
            store: self.store.clone(),
            queue: self.queue.clone(),
            tarpit: self.tarpit.clone(),
            security: conn.security.clone(),
            submission: self.submission,
            checker: self.checker.clone(),
        });
        Box::pin(async move {
            let peer = Peer {
                ip: conn.peer.ip(),
                tls: conn.stream.tls_info(),
                can_starttls: !conn.stream.is_tls(),
            };
            let upgrade = StartTls(conn.tls);
            Session::with_guard(
                shared,
                conn.stream,
                &upgrade,
                peer,
                conn.shutdown,
                Some(conn.guard),
            )
            .run()
            .await;
        })
    }
}
