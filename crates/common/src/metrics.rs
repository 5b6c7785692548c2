//! Every number tern exports, by name: counters (`Metric`), gauges
//! (`Gauge`) and histograms (`Histogram`), typed so that no call site spells
//! a metric name. Values go to the `metrics` facade; `tern serve` installs
//! the Prometheus recorder that `/metrics` renders (tern-http). Without a
//! recorder (the CLI, unit tests) the facade drops them.
//!
//! `Metrics` also keeps its own counts, so that a test can read what one
//! limiter or throttle counted without a global recorder.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Every counter tern keeps; labels are the values that vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric<'a> {
    /// Connections admitted, per protocol family.
    Connections { protocol: &'a str },
    /// Connections or events refused by the limiter: a concurrency level
    /// (`ip`, `global`, `user`, `user_ip`) or a rate (`rate_connections`,
    /// `rate_messages`, `rate_recipients`).
    LimiterRefusals { protocol: &'a str, layer: &'a str },
    /// Security events, per audit kind.
    AuditEvents { kind: &'a str },
    /// Logins locked out, per level (`ip` or `account`).
    AuthLocked { level: &'a str },
    /// Login attempts through the gate: `success`, `failure`, `locked`.
    AuthAttempts { protocol: &'a str, result: &'a str },
    /// Replies delayed by the SMTP tarpit.
    SmtpTarpitDelays,
    /// Messages accepted by SMTP (inbound or submission) and committed.
    MessagesReceived,
    /// Messages refused at the end of data, per reason.
    MessagesRejected { reason: &'a str },
    /// Recipients delivered by the outbound queue.
    MessagesSent,
    /// Recipients the outbound queue gave up on (a DSN follows).
    MessagesBounced,
    /// Deliveries refused because a mailbox was over its quota.
    QuotaExceeded,
    /// TLS handshakes completed by the server, per protocol version.
    TlsHandshakes { version: &'a str },
    /// ACME orders finished, per result (`issued`, `failed`).
    AcmeOrders { result: &'a str },
    /// Spam verdicts, per source (`rspamd`, `classifier`) and verdict
    /// (`reject`, `defer`, `junk`, `ham`, `unsure`).
    SpamVerdicts { source: &'a str, verdict: &'a str },
    /// rspamd could not be asked (down, slow, a bad answer).
    RspamdFailures,
}

/// The counters' names and help texts, for the exposition's `# HELP`.
pub const COUNTERS: &[(&str, &str)] = &[
    (
        "tern_connections_total",
        "Connections admitted, per protocol family.",
    ),
    (
        "tern_limiter_refusals_total",
        "Connections or events refused by a connection limit or a rate, per layer.",
    ),
    (
        "tern_audit_events_total",
        "Security events, per audit kind.",
    ),
    ("tern_auth_locked_total", "Logins locked out, per level."),
    (
        "tern_auth_attempts_total",
        "Login attempts through the login gate, per protocol and result.",
    ),
    (
        "tern_smtp_tarpit_delays_total",
        "Replies delayed by the SMTP tarpit.",
    ),
    (
        "tern_messages_received_total",
        "Messages accepted by SMTP and committed to the store.",
    ),
    (
        "tern_messages_rejected_total",
        "Messages refused at the end of data, per reason.",
    ),
    (
        "tern_messages_sent_total",
        "Recipients delivered by the outbound queue.",
    ),
    (
        "tern_messages_bounced_total",
        "Recipients the outbound queue gave up on.",
    ),
    (
        "tern_quota_exceeded_total",
        "Deliveries refused because a mailbox was over its quota.",
    ),
    (
        "tern_tls_handshakes_total",
        "TLS handshakes completed by the server, per protocol version.",
    ),
    (
        "tern_acme_orders_total",
        "ACME certificate orders finished, per result (issued, failed).",
    ),
    (
        "tern_spam_verdicts_total",
        "Spam verdicts, per source (rspamd, classifier) and verdict.",
    ),
    (
        "tern_spam_rspamd_failures_total",
        "Messages rspamd could not be asked about.",
    ),
];

impl Metric<'_> {
    /// The exported name, without labels.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Connections { .. } => "tern_connections_total",
            Metric::LimiterRefusals { .. } => "tern_limiter_refusals_total",
            Metric::AuditEvents { .. } => "tern_audit_events_total",
            Metric::AuthLocked { .. } => "tern_auth_locked_total",
            Metric::AuthAttempts { .. } => "tern_auth_attempts_total",
            Metric::SmtpTarpitDelays => "tern_smtp_tarpit_delays_total",
            Metric::MessagesReceived => "tern_messages_received_total",
            Metric::MessagesRejected { .. } => "tern_messages_rejected_total",
            Metric::MessagesSent => "tern_messages_sent_total",
            Metric::MessagesBounced => "tern_messages_bounced_total",
            Metric::QuotaExceeded => "tern_quota_exceeded_total",
            Metric::TlsHandshakes { .. } => "tern_tls_handshakes_total",
            Metric::AcmeOrders { .. } => "tern_acme_orders_total",
            Metric::SpamVerdicts { .. } => "tern_spam_verdicts_total",
            Metric::RspamdFailures => "tern_spam_rspamd_failures_total",
        }
    }

    /// The labels, in the order they are written.
    pub fn labels(&self) -> Vec<(&'static str, String)> {
        let l = |k: &'static str, v: &str| (k, v.to_string());
        match *self {
            Metric::Connections { protocol } => vec![l("protocol", protocol)],
            Metric::LimiterRefusals { protocol, layer } => {
                vec![l("protocol", protocol), l("layer", layer)]
            }
            Metric::AuditEvents { kind } => vec![l("kind", kind)],
            Metric::AuthLocked { level } => vec![l("level", level)],
            Metric::AuthAttempts { protocol, result } => {
                vec![l("protocol", protocol), l("result", result)]
            }
            Metric::MessagesRejected { reason } => vec![l("reason", reason)],
            Metric::TlsHandshakes { version } => vec![l("version", version)],
            Metric::AcmeOrders { result } => vec![l("result", result)],
            Metric::SpamVerdicts { source, verdict } => {
                vec![l("source", source), l("verdict", verdict)]
            }
            Metric::SmtpTarpitDelays
            | Metric::RspamdFailures
            | Metric::MessagesReceived
            | Metric::MessagesSent
            | Metric::MessagesBounced
            | Metric::QuotaExceeded => Vec::new(),
        }
    }

    /// The name with its labels, as the exposition writes it.
    pub fn key(&self) -> String {
        let labels = self.labels();
        if labels.is_empty() {
            return self.name().to_string();
        }
        let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        format!("{}{{{}}}", self.name(), inner.join(","))
    }
}

/// Count one event in the facade (the exported registry).
pub fn count(metric: Metric<'_>) {
    add(metric, 1);
}

/// Count `n` events in the facade.
pub fn add(metric: Metric<'_>, n: u64) {
    if let Some(t) = tally::slot(&metric) {
        t.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
    metrics::counter!(metric.name(), facade_labels(&metric.labels())).increment(n);
}

/// The messages counted since the last `take`, for the day's counts the
/// web admin's dashboard shows (the store's `daily_tally`, summed over
/// nodes). The counters above are since start; these are handed to the
/// store every few seconds by `tern serve` and start again from zero.
pub mod tally {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::Metric;

    static RECEIVED: AtomicU64 = AtomicU64::new(0);
    static SENT: AtomicU64 = AtomicU64::new(0);
    static BOUNCED: AtomicU64 = AtomicU64::new(0);

    /// The kinds, by the name the store keeps.
    pub const KINDS: [&str; 3] = ["received", "sent", "bounced"];

    pub(super) fn slot(m: &Metric<'_>) -> Option<&'static AtomicU64> {
        match m {
            Metric::MessagesReceived => Some(&RECEIVED),
            Metric::MessagesSent => Some(&SENT),
            Metric::MessagesBounced => Some(&BOUNCED),
            _ => None,
        }
    }

    fn by_name(kind: &str) -> Option<&'static AtomicU64> {
        match kind {
            "received" => Some(&RECEIVED),
            "sent" => Some(&SENT),
            "bounced" => Some(&BOUNCED),
            _ => None,
        }
    }

    /// What was counted since the last call, by kind; the counts restart.
    pub fn take() -> Vec<(&'static str, u64)> {
        KINDS
            .iter()
            .filter_map(|k| {
                let n = by_name(k)?.swap(0, Ordering::Relaxed);
                (n > 0).then_some((*k, n))
            })
            .collect()
    }

    /// Give back counts the store could not take (tried again next time).
    pub fn give_back(kind: &str, n: u64) {
        if let Some(t) = by_name(kind) {
            t.fetch_add(n, Ordering::Relaxed);
        }
    }
}

fn facade_labels(labels: &[(&'static str, String)]) -> Vec<metrics::Label> {
    labels
        .iter()
        .map(|(k, v)| metrics::Label::new(*k, v.clone()))
        .collect()
}

/// Values that go up and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gauge<'a> {
    /// Recipients waiting in the outbound queue.
    QueueDepth,
    /// Age in seconds of the oldest message waiting in the queue.
    QueueOldestSeconds,
    /// Connections open now, per protocol family.
    ActiveConnections { protocol: &'a str },
    /// 1 while the last attempt to obtain or renew the ACME certificate
    /// failed (the current certificate is still served), else 0.
    AcmeRenewalFailing,
    /// Unix time the served ACME certificate expires.
    AcmeCertExpiry,
}

/// The gauges' names and help texts.
pub const GAUGES: &[(&str, &str)] = &[
    (
        "tern_queue_depth",
        "Recipients waiting in the outbound queue.",
    ),
    (
        "tern_queue_oldest_seconds",
        "Age in seconds of the oldest message waiting in the outbound queue.",
    ),
    (
        "tern_active_connections",
        "Connections open now, per protocol family.",
    ),
    (
        "tern_acme_renewal_failing",
        "1 while the last attempt to obtain or renew the ACME certificate failed, else 0.",
    ),
    (
        "tern_acme_certificate_expiry_seconds",
        "Unix time at which the served ACME certificate expires.",
    ),
];

impl Gauge<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            Gauge::QueueDepth => "tern_queue_depth",
            Gauge::QueueOldestSeconds => "tern_queue_oldest_seconds",
            Gauge::ActiveConnections { .. } => "tern_active_connections",
            Gauge::AcmeRenewalFailing => "tern_acme_renewal_failing",
            Gauge::AcmeCertExpiry => "tern_acme_certificate_expiry_seconds",
        }
    }

    fn labels(&self) -> Vec<(&'static str, String)> {
        match *self {
            Gauge::ActiveConnections { protocol } => vec![("protocol", protocol.to_string())],
            Gauge::QueueDepth
            | Gauge::QueueOldestSeconds
            | Gauge::AcmeRenewalFailing
            | Gauge::AcmeCertExpiry => Vec::new(),
        }
    }

    pub fn set(&self, v: f64) {
        metrics::gauge!(self.name(), facade_labels(&self.labels())).set(v);
    }

    pub fn increment(&self) {
        metrics::gauge!(self.name(), facade_labels(&self.labels())).increment(1.0);
    }

    pub fn decrement(&self) {
        metrics::gauge!(self.name(), facade_labels(&self.labels())).decrement(1.0);
    }
}

/// Distributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Histogram {
    /// Seconds one outbound delivery attempt took (connect to last reply).
    DeliveryDuration,
    /// Seconds the spam classifier took for one message (tokens once, and
    /// every recipient account's model).
    SpamClassifyDuration,
}

/// The histograms' names, help texts and bucket bounds.
pub const HISTOGRAMS: &[(&str, &str, &[f64])] = &[
    (
        "tern_delivery_duration_seconds",
        "Seconds one outbound delivery attempt took, from connecting to the last reply.",
        &[
            0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
        ],
    ),
    (
        "tern_spam_classify_duration_seconds",
        "Seconds the spam classifier took for one message, every recipient included.",
        &[
            0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.005, 0.01, 0.05, 0.25,
        ],
    ),
];

impl Histogram {
    pub fn name(&self) -> &'static str {
        match self {
            Histogram::DeliveryDuration => "tern_delivery_duration_seconds",
            Histogram::SpamClassifyDuration => "tern_spam_classify_duration_seconds",
        }
    }

    pub fn observe(&self, v: f64) {
        metrics::histogram!(self.name()).record(v);
    }
}

/// A handle that counts in the facade and keeps its own counts (tests read
/// them with `get`).
#[derive(Clone, Default)]
pub struct Metrics {
    counters: Arc<Mutex<BTreeMap<String, Arc<AtomicU64>>>>,
}

impl Metrics {
    fn counter(&self, key: &str) -> Arc<AtomicU64> {
        let mut m = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(key.to_string()).or_default().clone()
    }

    /// Count one `metric`.
    pub fn count(&self, metric: Metric<'_>) {
        self.counter(&metric.key()).fetch_add(1, Ordering::Relaxed);
        count(metric);
    }

    /// What this handle counted under `key` (`Metric::key`).
    pub fn get(&self, key: &str) -> u64 {
        let m = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        m.get(key).map(|c| c.load(Ordering::Relaxed)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed names key the counters exactly as the exposition writes
    /// them.
    #[test]
    fn typed_names_keep_their_spelling() {
        for (metric, key) in [
            (
                Metric::LimiterRefusals {
                    protocol: "pop3",
                    layer: "ip",
                },
                "tern_limiter_refusals_total{protocol=\"pop3\",layer=\"ip\"}",
            ),
            (
                Metric::Connections { protocol: "pop3" },
                "tern_connections_total{protocol=\"pop3\"}",
            ),
            (
                Metric::AuthAttempts {
                    protocol: "imap",
                    result: "failure",
                },
                "tern_auth_attempts_total{protocol=\"imap\",result=\"failure\"}",
            ),
            (Metric::MessagesSent, "tern_messages_sent_total"),
            (
                Metric::AuthLocked { level: "ip" },
                "tern_auth_locked_total{level=\"ip\"}",
            ),
        ] {
            assert_eq!(metric.key(), key);
        }
        let m = Metrics::default();
        m.count(Metric::SmtpTarpitDelays);
        assert_eq!(m.get("tern_smtp_tarpit_delays_total"), 1);
    }

    /// Every counter the enum can name has a help text, and every name ends
    /// in `_total` (the Prometheus convention promtool checks).
    #[test]
    fn every_counter_is_described() {
        let all = [
            Metric::Connections { protocol: "" },
            Metric::LimiterRefusals {
                protocol: "",
                layer: "",
            },
            Metric::AuditEvents { kind: "" },
            Metric::AuthLocked { level: "" },
            Metric::AuthAttempts {
                protocol: "",
                result: "",
            },
            Metric::SmtpTarpitDelays,
            Metric::MessagesReceived,
            Metric::MessagesRejected { reason: "" },
            Metric::MessagesSent,
            Metric::MessagesBounced,
            Metric::QuotaExceeded,
            Metric::TlsHandshakes { version: "" },
            Metric::AcmeOrders { result: "" },
            Metric::SpamVerdicts {
                source: "",
                verdict: "",
            },
            Metric::RspamdFailures,
        ];
        for m in all {
            assert!(m.name().ends_with("_total"), "{}", m.name());
            assert!(COUNTERS.iter().any(|(n, _)| *n == m.name()), "{}", m.name());
        }
        assert_eq!(all.len(), COUNTERS.len());
        for g in [
            Gauge::QueueDepth,
            Gauge::QueueOldestSeconds,
            Gauge::ActiveConnections { protocol: "" },
            Gauge::AcmeRenewalFailing,
            Gauge::AcmeCertExpiry,
        ] {
            assert!(GAUGES.iter().any(|(n, _)| *n == g.name()), "{}", g.name());
        }
    }
}
