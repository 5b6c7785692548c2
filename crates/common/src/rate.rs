//! Token buckets keyed by IP, account or anything hashable, with bounded
//! memory. A bucket that has refilled completely is indistinguishable from a
//! new one, so it is dropped; when the map still exceeds its bound, the
//! buckets touched longest ago go first. A churn of any number of distinct
//! keys therefore never holds more than `max_keys` entries.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// `capacity` events at once, refilled at `capacity` per `per`.
pub struct RateLimiter<K> {
    capacity: f64,
    refill_per_sec: f64,
    max_keys: usize,
    buckets: Arc<Mutex<HashMap<K, Bucket>>>,
}

impl<K> Clone for RateLimiter<K> {
    fn clone(&self) -> Self {
        RateLimiter {
            capacity: self.capacity,
            refill_per_sec: self.refill_per_sec,
            max_keys: self.max_keys,
            buckets: self.buckets.clone(),
        }
    }
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `rate` events per `per`; 0 disables the limit.
    pub fn new(rate: u32, per: Duration, max_keys: usize) -> RateLimiter<K> {
        let capacity = rate as f64;
        let refill_per_sec = if per.is_zero() {
            0.0
        } else {
            capacity / per.as_secs_f64()
        };
        RateLimiter {
            capacity,
            refill_per_sec,
            max_keys: max_keys.max(16),
            buckets: Arc::default(),
        }
    }

    /// Take `n` tokens for `key`; false when the key is over its rate.
    pub fn check(&self, key: &K, n: u32) -> bool {
        self.check_at(key, n, Instant::now())
    }

    pub fn check_at(&self, key: &K, n: u32, now: Instant) -> bool {
        if self.capacity <= 0.0 {
            return true;
        }
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.max_keys && !map.contains_key(key) {
            self.evict(&mut map, now);
        }
        let b = map.entry(key.clone()).or_insert(Bucket {
            tokens: self.capacity,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.refill_per_sec).min(self.capacity);
        b.last = now;
        if b.tokens >= n as f64 {
            b.tokens -= n as f64;
            true
        } else {
            false
        }
    }

    fn evict(&self, map: &mut HashMap<K, Bucket>, now: Instant) {
        let full = |b: &Bucket| {
            b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * self.refill_per_sec
                >= self.capacity
        };
        map.retain(|_, b| !full(b));
        if map.len() >= self.max_keys {
            // Still full of keys in debt: drop the least recently used half.
            let mut ages: Vec<(K, Instant)> =
                map.iter().map(|(k, b)| (k.clone(), b.last)).collect();
            ages.sort_by_key(|(_, t)| *t);
            for (k, _) in ages.into_iter().take(self.max_keys / 2) {
                map.remove(&k);
            }
        }
    }

    /// Give back `n` tokens taken from `key` (never above the capacity).
    pub fn refund(&self, key: &K, n: u32) {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = map.get_mut(key) {
            b.tokens = (b.tokens + n as f64).min(self.capacity);
        }
    }

    /// Drop every bucket that has refilled (call periodically).
    pub fn prune(&self) {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let cap = self.capacity;
        let r = self.refill_per_sec;
        map.retain(|_, b| b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * r < cap);
    }

    pub fn len(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_burst_then_refills() {
        let r: RateLimiter<u32> = RateLimiter::new(3, Duration::from_secs(60), 100);
        let t = Instant::now();
        assert!(r.check_at(&1, 1, t) && r.check_at(&1, 1, t) && r.check_at(&1, 1, t));
        assert!(!r.check_at(&1, 1, t));
        assert!(r.check_at(&2, 1, t), "keys are independent");
        assert!(
            r.check_at(&1, 1, t + Duration::from_secs(20)),
            "one token back after 20 s"
        );
    }

    #[test]
    fn memory_stays_bounded_under_churn() {
        let r: RateLimiter<u32> = RateLimiter::new(5, Duration::from_secs(60), 1000);
        let t = Instant::now();
        for k in 0..100_000u32 {
            r.check_at(&k, 5, t);
            assert!(r.len() <= 1000);
        }
        assert!(r.len() <= 1000);
        std::thread::sleep(Duration::from_millis(1));
    }

    #[test]
    fn zero_means_unlimited() {
        let r: RateLimiter<u32> = RateLimiter::new(0, Duration::from_secs(60), 10);
        assert!((0..1000).all(|_| r.check(&1, 1)));
        assert!(r.is_empty());
    }
}
