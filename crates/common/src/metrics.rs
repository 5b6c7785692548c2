//! Counters for every limit and decision, named in the Prometheus text
//! style (`name{label="v"}`) so the metrics endpoint can expose them as is.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Metrics {
    counters: Arc<Mutex<BTreeMap<String, Arc<AtomicU64>>>>,
}

impl Metrics {
    fn counter(&self, name: &str) -> Arc<AtomicU64> {
        let mut m = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(name.to_string()).or_default().clone()
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
}
