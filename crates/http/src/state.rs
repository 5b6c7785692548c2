//! What every request handler shares: the configuration, the store, the
//! abuse-protection handles, the bound listeners (autoconfig and health
//! report the real ports), the metrics registry and the served certificate.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tern_common::challenge::Challenges;
use tern_common::config::{Config, ListenerKind};
use tern_common::security::Security;
use tern_common::tls::CertSlot;
use tern_store::Store;

/// One bound listener, as `tern serve` reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listening {
    pub kind: ListenerKind,
    pub addr: SocketAddr,
}

/// The state itself; reached through `AppState`'s `Deref`.
pub struct Shared {
    pub config: Arc<Config>,
    pub store: Store,
    /// Limits, the login throttle and the audit log (the API's logins go
    /// through `tern_common::gate::Gate` with it).
    pub security: Security,
    pub listeners: Vec<Listening>,
    /// `None` when no recorder is installed (tests): `/metrics` is 503.
    pub metrics: Option<PrometheusHandle>,
    /// The certificate the TLS listeners serve now (`None`: no TLS).
    pub cert: Option<Arc<CertSlot>>,
    /// This node's open ACME challenges (`None`: no `[acme]`); http-01
    /// answers come from here, else from the store.
    pub challenges: Option<Arc<Challenges>>,
}

/// Cheap to clone: one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }

    /// The first bound listener of `kind`.
    pub fn listener(&self, kind: ListenerKind) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|l| l.kind == kind)
            .map(|l| l.addr)
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
