//! What every session shares for abuse protection: the connection limiter,
//! rate limits, login throttling, counters and the audit log.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub use crate::audit::AuditKind;
pub use crate::config::RateConfig;
use crate::limits::{ConnLimiter, LimitsConfig};
use crate::metrics::{Metric, Metrics};
use crate::rate::RateLimiter;
use crate::throttle::{AuthThrottle, AuthThrottleConfig};

/// A security event worth keeping: login failures and locks, limit hits,
/// relay attempts, greylisting decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// What happened; stored and logged by its `name()`.
    pub kind: AuditKind,
    pub protocol: &'static str,
    pub ip: Option<IpAddr>,
    pub account: Option<String>,
    pub detail: String,
}

/// Where audit events go besides the log (the store implements this).
pub trait AuditSink: Send + Sync + 'static {
    fn record(&self, event: AuditEvent);
}

/// Keeps events only in the log (tests, CLI).
pub struct LogOnly;

impl AuditSink for LogOnly {
    fn record(&self, _event: AuditEvent) {}
}

/// The rate limiters, one per kind of event.
#[derive(Clone)]
pub struct Rates {
    pub connections_per_ip: RateLimiter<IpAddr>,
    /// Where an authenticated connection's rate token goes (the same rate
    /// as per IP): see `ConnGuard::authenticated`.
    pub connections_per_user_ip: RateLimiter<(String, IpAddr)>,
    pub messages_per_ip: RateLimiter<IpAddr>,
    pub messages_per_account: RateLimiter<String>,
    pub recipients_per_account: RateLimiter<String>,
}

impl Rates {
    pub fn new(c: &RateConfig) -> Rates {
        let m = Duration::from_secs(60);
        Rates {
            connections_per_ip: RateLimiter::new(c.connections_per_minute_per_ip, m, c.max_tracked),
            connections_per_user_ip: RateLimiter::new(
                c.connections_per_minute_per_ip,
                m,
                c.max_tracked,
            ),
            messages_per_ip: RateLimiter::new(c.messages_per_minute_per_ip, m, c.max_tracked),
            messages_per_account: RateLimiter::new(
                c.messages_per_minute_per_account,
                m,
                c.max_tracked,
            ),
            recipients_per_account: RateLimiter::new(
                c.recipients_per_hour_per_account,
                Duration::from_secs(3600),
                c.max_tracked,
            ),
        }
    }
}

/// The server's limits, rates, login throttle, metrics and audit sink,
/// shared by every connection: a clone is one reference, not a copy (each
/// connection and each session holds one).
#[derive(Clone)]
pub struct Security(Arc<SecurityParts>);

pub struct SecurityParts {
    pub limiter: ConnLimiter,
    pub rates: Rates,
    pub throttle: AuthThrottle,
    pub metrics: Metrics,
    audit: Arc<dyn AuditSink>,
}

impl std::ops::Deref for Security {
    type Target = SecurityParts;

    fn deref(&self) -> &SecurityParts {
        &self.0
    }
}

impl Security {
    pub fn new(
        limits: LimitsConfig,
        rate: &RateConfig,
        throttle: AuthThrottleConfig,
        audit: Arc<dyn AuditSink>,
    ) -> Security {
        let metrics = Metrics::default();
        Security(Arc::new(SecurityParts {
            limiter: ConnLimiter::new(limits, metrics.clone()),
            rates: Rates::new(rate),
            throttle: AuthThrottle::new(throttle, metrics.clone()),
            metrics,
            audit,
        }))
    }

    /// Defaults everywhere, events to the log only.
    pub fn permissive_for_tests() -> Security {
        Security::new(
            LimitsConfig::default(),
            &RateConfig::default(),
            AuthThrottleConfig::default(),
            Arc::new(LogOnly),
        )
    }

    /// Record a security event in the log, the counters and the audit sink.
    pub fn audit(&self, event: AuditEvent) {
        let ip = event
            .ip
            .map_or_else(|| "-".to_string(), |ip| ip.to_string());
        let account = event.account.as_deref().unwrap_or("-");
        if event.kind.is_routine() {
            tracing::info!(
                target: "audit",
                kind = event.kind.name(),
                protocol = event.protocol,
                ip = %ip,
                account,
                detail = %event.detail,
                "security event"
            );
        } else {
            tracing::warn!(
                target: "audit",
                kind = event.kind.name(),
                protocol = event.protocol,
                ip = %ip,
                account,
                detail = %event.detail,
                "security event"
            );
        }
        self.metrics.count(Metric::AuditEvents {
            kind: event.kind.name(),
        });
        self.audit.record(event);
    }

    /// Periodic upkeep: forget idle rate buckets and stale login records.
    pub fn prune(&self) {
        self.rates.connections_per_ip.prune();
        self.rates.connections_per_user_ip.prune();
        self.rates.messages_per_ip.prune();
        self.rates.messages_per_account.prune();
        self.rates.recipients_per_account.prune();
        self.throttle.prune();
    }
}
