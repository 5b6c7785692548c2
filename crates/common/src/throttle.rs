//! Login throttling for every protocol that authenticates. Failures are
//! counted per client network and per login name (whether or not the account
//! exists, so nothing here tells the two apart). Each failure is answered
//! after a growing delay; too many failures lock — but an account lock only
//! binds networks that have been failing, so an attacker cannot lock the
//! owner out from a clean address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::address::login_key;
pub use crate::config::AuthThrottleConfig;
use crate::limits::ip_group;
use crate::metrics::{Metric, Metrics};

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

#[derive(Default)]
struct State {
    ips: HashMap<IpAddr, Record>,
    names: HashMap<String, Record>,
    /// (name, network) pairs that have failed: who an account lock binds.
    pairs: HashMap<(String, IpAddr), Instant>,
}

/// Why a login attempt is refused before its password is even checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locked {
    Ip,
    Account,
}

#[derive(Clone)]
pub struct AuthThrottle {
    cfg: Arc<AuthThrottleConfig>,
    state: Arc<Mutex<State>>,
    metrics: Metrics,
}

impl AuthThrottle {
    pub fn new(cfg: AuthThrottleConfig, metrics: Metrics) -> AuthThrottle {
        AuthThrottle {
            cfg: Arc::new(cfg),
            state: Arc::default(),
            metrics,
        }
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.cfg.window_secs)
    }

    fn fresh(&self, r: &Record, now: Instant) -> bool {
        now.saturating_duration_since(r.last) < self.window()
            || r.locked_until.is_some_and(|u| u > now)
    }

    /// May `user` try to log in from `ip` now?
    pub fn check(&self, ip: IpAddr, user: &str) -> Result<(), Locked> {
        self.check_at(ip, user, Instant::now())
    }

    pub fn check_at(&self, ip: IpAddr, user: &str, now: Instant) -> Result<(), Locked> {
        let net = ip_group(ip);
        let name = login_key(user);
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st
            .ips
            .get(&net)
            .and_then(|r| r.locked_until)
            .is_some_and(|u| u > now)
        {
            self.metrics.count(Metric::AuthLocked { level: "ip" });
            return Err(Locked::Ip);
        }
        let account_locked = st
            .names
            .get(&name)
            .and_then(|r| r.locked_until)
            .is_some_and(|u| u > now);
        let this_net_failed = st
            .pairs
            .get(&(name, net))
            .is_some_and(|t| now.saturating_duration_since(*t) < self.window());
        if account_locked && this_net_failed {
            self.metrics.count(Metric::AuthLocked { level: "account" });
            return Err(Locked::Account);
        }
        Ok(())
    }

    /// Record a failed attempt; returns how long to wait before answering.
    pub fn failure(&self, ip: IpAddr, user: &str) -> Duration {
        self.failure_at(ip, user, Instant::now())
    }

    pub fn failure_at(&self, ip: IpAddr, user: &str, now: Instant) -> Duration {
        let net = ip_group(ip);
        let name = login_key(user);
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.ips.len() + st.names.len() + st.pairs.len() >= self.cfg.max_keys {
            self.prune_locked(&mut st, now);
        }
        let lock = Duration::from_secs(self.cfg.lock_secs);
        let bump = |r: &mut Record, threshold: u32, fresh: bool| {
            if !fresh {
                r.failures = 0;
                r.locked_until = None;
            }
            r.failures += 1;
            r.last = now;
            if threshold > 0 && r.failures >= threshold {
                r.locked_until = Some(now + lock);
            }
        };
        let empty = Record {
            failures: 0,
            last: now,
            locked_until: None,
        };
        let ip_rec = *st.ips.get(&net).unwrap_or(&empty);
        let fresh = self.fresh(&ip_rec, now);
        let r = st.ips.entry(net).or_insert(empty);
        bump(r, self.cfg.ip_lock_after, fresh);
        let ip_failures = r.failures;
        let name_rec = *st.names.get(&name).unwrap_or(&empty);
        let fresh = self.fresh(&name_rec, now);
        let r = st.names.entry(name.clone()).or_insert(empty);
        bump(r, self.cfg.account_lock_after, fresh);
        st.pairs.insert((name, net), now);
        let exp = ip_failures.saturating_sub(1).min(20);
        let delay = Duration::from_millis(self.cfg.base_delay_ms.saturating_mul(1u64 << exp));
        delay.min(Duration::from_secs(self.cfg.max_delay_secs))
    }

    /// A successful login clears the network's record and the pair.
    pub fn success(&self, ip: IpAddr, user: &str) {
        let net = ip_group(ip);
        let name = login_key(user);
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.ips.remove(&net);
        st.pairs.remove(&(name, net));
    }

    fn prune_locked(&self, st: &mut State, now: Instant) {
        let w = self.window();
        st.ips.retain(|_, r| {
            now.saturating_duration_since(r.last) < w || r.locked_until.is_some_and(|u| u > now)
        });
        st.names.retain(|_, r| {
            now.saturating_duration_since(r.last) < w || r.locked_until.is_some_and(|u| u > now)
        });
        st.pairs
            .retain(|_, t| now.saturating_duration_since(*t) < w);
        // Still over the bound: forget the oldest half of the pairs and names.
        if st.ips.len() + st.names.len() + st.pairs.len() >= self.cfg.max_keys {
            let half = self.cfg.max_keys / 6;
            let mut p: Vec<_> = st.pairs.iter().map(|(k, t)| (k.clone(), *t)).collect();
            p.sort_by_key(|(_, t)| *t);
            for (k, _) in p.into_iter().take(half.max(1)) {
                st.pairs.remove(&k);
            }
            let mut n: Vec<_> = st.names.iter().map(|(k, r)| (k.clone(), r.last)).collect();
            n.sort_by_key(|(_, t)| *t);
            for (k, _) in n.into_iter().take(half.max(1)) {
                st.names.remove(&k);
            }
            let mut i: Vec<_> = st.ips.iter().map(|(k, r)| (*k, r.last)).collect();
            i.sort_by_key(|(_, t)| *t);
            for (k, _) in i.into_iter().take(half.max(1)) {
                st.ips.remove(&k);
            }
        }
    }

    /// Periodic clean-up of forgotten records.
    pub fn prune(&self) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.prune_locked(&mut st, Instant::now());
    }

    pub fn tracked(&self) -> usize {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.ips.len() + st.names.len() + st.pairs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(lock_ip: u32, lock_acct: u32) -> AuthThrottle {
        AuthThrottle::new(
            AuthThrottleConfig {
                base_delay_ms: 100,
                max_delay_secs: 1,
                ip_lock_after: lock_ip,
                account_lock_after: lock_acct,
                lock_secs: 60,
                window_secs: 3600,
                max_keys: 1000,
            },
            Metrics::default(),
        )
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn delays_grow_and_are_capped() {
        let th = t(0, 0);
        let now = Instant::now();
        let d: Vec<u64> = (0..6)
            .map(|_| th.failure_at(ip("10.0.0.1"), "a", now).as_millis() as u64)
            .collect();
        assert_eq!(d, vec![100, 200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn account_lock_spares_clean_networks() {
        let th = t(0, 3);
        let now = Instant::now();
        for _ in 0..3 {
            th.failure_at(ip("10.0.0.66"), "alice@x.org", now);
        }
        assert_eq!(
            th.check_at(ip("10.0.0.66"), "alice@x.org", now),
            Err(Locked::Account)
        );
        assert_eq!(
            th.check_at(ip("10.0.0.7"), "ALICE@x.org", now),
            Ok(()),
            "the owner elsewhere"
        );
        assert_eq!(th.check_at(ip("10.0.0.66"), "bob@x.org", now), Ok(()));
        let later = now + Duration::from_secs(61);
        assert_eq!(
            th.check_at(ip("10.0.0.66"), "alice@x.org", later),
            Ok(()),
            "locks expire"
        );
    }

    /// A lock holds for every spelling of the locked name (leading space,
    /// upper case, full-width domain), and a success in another spelling
    /// does not lift it.
    #[test]
    fn a_lock_holds_for_every_spelling() {
        let th = t(0, 3);
        let now = Instant::now();
        for _ in 0..3 {
            th.failure_at(ip("10.0.0.9"), "alice@example.test", now);
        }
        for other in [
            " alice@example.test",
            "ALICE@example.test",
            "alice@\u{ff45}\u{ff58}\u{ff41}\u{ff4d}\u{ff50}\u{ff4c}\u{ff45}.test",
        ] {
            assert_eq!(
                th.check_at(ip("10.0.0.9"), other, now),
                Err(Locked::Account),
                "{other:?}"
            );
        }
    }

    #[test]
    fn unknown_and_known_names_are_treated_alike() {
        let th = t(0, 2);
        let now = Instant::now();
        let a: Vec<_> = (0..2)
            .map(|_| th.failure_at(ip("10.0.0.1"), "exists@x.org", now))
            .collect();
        let b: Vec<_> = (0..2)
            .map(|_| th.failure_at(ip("10.0.0.2"), "nobody@x.org", now))
            .collect();
        assert_eq!(a, b);
        assert_eq!(
            th.check_at(ip("10.0.0.1"), "exists@x.org", now),
            Err(Locked::Account)
        );
        assert_eq!(
            th.check_at(ip("10.0.0.2"), "nobody@x.org", now),
            Err(Locked::Account)
        );
    }

    #[test]
    fn ip_lock_and_success_reset() {
        let th = t(3, 0);
        let now = Instant::now();
        th.failure_at(ip("10.0.0.1"), "a", now);
        th.failure_at(ip("10.0.0.1"), "b", now);
        th.success(ip("10.0.0.1"), "a");
        th.failure_at(ip("10.0.0.1"), "c", now);
        assert_eq!(
            th.check_at(ip("10.0.0.1"), "d", now),
            Ok(()),
            "success reset the count"
        );
        th.failure_at(ip("10.0.0.1"), "c", now);
        th.failure_at(ip("10.0.0.1"), "c", now);
        assert_eq!(th.check_at(ip("10.0.0.1"), "anyone", now), Err(Locked::Ip));
    }

    #[test]
    fn memory_is_bounded() {
        let th = t(0, 0);
        let now = Instant::now();
        for i in 0..20_000u32 {
            let a = IpAddr::from(i.to_be_bytes());
            th.failure_at(a, &format!("u{i}"), now);
            assert!(th.tracked() <= 1000 + 3, "{}", th.tracked());
        }
    }
}
