//! Counters for every limit and decision, named in the Prometheus text
//! style (`name{label="v"}`) so the metrics endpoint can expose them as is.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Every counter tern keeps, by name; labels are the values that vary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric<'a> {
    /// Connections admitted, per protocol family.
    Connections { protocol: &'a str },
    /// Connections refused by a concurrency limit, and at which level.
    LimitRefused { protocol: &'a str, level: &'a str },
    /// Events refused by a rate limit (`connections`, `messages`,
    /// `recipients`).
    RateRefused { protocol: &'a str, rate: &'a str },
    /// Security events, per audit kind.
    AuditEvents { kind: &'a str },
    /// Logins locked out, per level (`ip` or `account`).
    AuthLocked { level: &'a str },
    /// Failed logins.
    AuthFailures,
    /// Replies delayed by the SMTP tarpit.
    SmtpTarpitDelays,
}

impl Metric<'_> {
    /// The counter's name, without labels.
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Connections { .. } => "connections_total",
            Metric::LimitRefused { .. } => "limit_refused_total",
            Metric::RateRefused { .. } => "rate_refused_total",
            Metric::AuditEvents { .. } => "audit_events_total",
            Metric::AuthLocked { .. } => "auth_locked_total",
            Metric::AuthFailures => "auth_failures_total",
            Metric::SmtpTarpitDelays => "smtp_tarpit_delays_total",
        }
    }

    /// The name with its labels, as `Metrics` keys the counter.
    pub fn key(&self) -> String {
        let labels = match self {
            Metric::Connections { protocol } => format!("protocol=\"{protocol}\""),
            Metric::LimitRefused { protocol, level } => {
                format!("protocol=\"{protocol}\",level=\"{level}\"")
            }
            Metric::RateRefused { protocol, rate } => {
                format!("protocol=\"{protocol}\",rate=\"{rate}\"")
            }
            Metric::AuditEvents { kind } => format!("kind=\"{kind}\""),
            Metric::AuthLocked { level } => format!("level=\"{level}\""),
            Metric::AuthFailures | Metric::SmtpTarpitDelays => return self.name().to_string(),
        };
        format!("{}{{{labels}}}", self.name())
    }
}

#[derive(Clone, Default)]
pub struct Metrics {
    counters: Arc<Mutex<BTreeMap<String, Arc<AtomicU64>>>>,
}

impl Metrics {
    fn counter(&self, name: &str) -> Arc<AtomicU64> {
        let mut m = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(name.to_string()).or_default().clone()
    }

    /// Count one `metric`.
    pub fn count(&self, metric: Metric<'_>) {
        self.inc(&metric.key());
    }

    pub fn inc(&self, name: &str) {
        self.add(name, 1);
    }

    pub fn add(&self, name: &str, n: u64) {
        self.counter(name).fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self, name: &str) -> u64 {
        let m = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        m.get(name).map(|c| c.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Every counter, in name order.
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        let m = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        m.iter()
            .map(|(k, v)| (k.clone(), v.load(Ordering::Relaxed)))
            .collect()
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (k, v) in self.snapshot() {
            out.push_str(&format!("tern_{k} {v}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let m = Metrics::default();
        m.inc("a{x=\"1\"}");
        m.add("a{x=\"1\"}", 2);
        assert_eq!(m.get("a{x=\"1\"}"), 3);
        assert_eq!(m.render(), "tern_a{x=\"1\"} 3\n");
    }

    /// The typed names key the counters exactly as the names written out.
    #[test]
    fn typed_names_keep_their_spelling() {
        for (metric, key) in [
            (
                Metric::LimitRefused {
                    protocol: "pop3",
                    level: "ip",
                },
                "limit_refused_total{protocol=\"pop3\",level=\"ip\"}",
            ),
            (
                Metric::Connections { protocol: "pop3" },
                "connections_total{protocol=\"pop3\"}",
            ),
            (
                Metric::RateRefused {
                    protocol: "smtp",
                    rate: "messages",
                },
                "rate_refused_total{protocol=\"smtp\",rate=\"messages\"}",
            ),
            (Metric::AuthFailures, "auth_failures_total"),
            (
                Metric::AuthLocked { level: "ip" },
                "auth_locked_total{level=\"ip\"}",
            ),
        ] {
            assert_eq!(metric.key(), key);
        }
        let m = Metrics::default();
        m.count(Metric::SmtpTarpitDelays);
        assert_eq!(m.get("smtp_tarpit_delays_total"), 1);
    }
}
