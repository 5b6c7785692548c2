//! Hierarchical connection limits: per user+IP, per user, per IP (IPv6
//! grouped by /64) and global, each per protocol family. A connection is
//! admitted by IP when it is accepted — before TLS or any other expensive
//! work — and checked again by user once it authenticates. Counters live
//! only while connections do, so memory is bounded by open connections.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::address::login_key;
pub use crate::config::{Family, FamilyLimits, LimitsConfig};
use crate::metrics::{Gauge, Metric, Metrics};
use crate::rate::RateLimiter;

/// The network a client address counts against: the address itself for
/// IPv4, its /64 for IPv6 (one customer's allocation).
pub fn ip_group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// Which level refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    UserIp,
    User,
    Ip,
    Global,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::UserIp => "user_ip",
            Level::User => "user",
            Level::Ip => "ip",
            Level::Global => "global",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Global,
    Ip(Family, IpAddr),
    User(Family, String),
    UserIp(Family, String, IpAddr),
}

#[derive(Default)]
struct Counts {
    map: HashMap<Key, u32>,
}

impl Counts {
    fn get(&self, k: &Key) -> u32 {
        self.map.get(k).copied().unwrap_or(0)
    }

    fn inc(&mut self, k: Key) {
        *self.map.entry(k).or_insert(0) += 1;
    }

    fn dec(&mut self, k: &Key) {
        if let Some(v) = self.map.get_mut(k) {
            *v -= 1;
            if *v == 0 {
                self.map.remove(k);
            }
        }
    }
}

/// The shared connection limiter.
#[derive(Clone)]
pub struct ConnLimiter {
    config: Arc<LimitsConfig>,
    counts: Arc<Mutex<Counts>>,
    metrics: Metrics,
}

impl ConnLimiter {
    pub fn new(config: LimitsConfig, metrics: Metrics) -> ConnLimiter {
        ConnLimiter {
            config: Arc::new(config),
            counts: Arc::default(),
            metrics,
        }
    }

    fn family(&self, f: Family) -> FamilyLimits {
        self.config
            .families
            .get(&f)
            .copied()
            .unwrap_or(FamilyLimits {
                per_ip: 0,
                per_user: 0,
                per_user_ip: 0,
            })
    }

    fn refuse(&self, f: Family, level: Level) -> Level {
        self.metrics.count(Metric::LimiterRefusals {
            protocol: f.name(),
            layer: level.name(),
        });
        level
    }

    /// Admit a new connection from `ip` (checked: per IP, then global).
    pub fn admit(&self, family: Family, ip: IpAddr) -> Result<ConnGuard, Level> {
        let lim = self.family(family);
        let ipk = Key::Ip(family, ip_group(ip));
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if lim.per_ip > 0 && c.get(&ipk) >= lim.per_ip {
            return Err(self.refuse(family, Level::Ip));
        }
        if self.config.global > 0 && c.get(&Key::Global) >= self.config.global {
            return Err(self.refuse(family, Level::Global));
        }
        c.inc(ipk.clone());
        c.inc(Key::Global);
        drop(c);
        self.metrics.count(Metric::Connections {
            protocol: family.name(),
        });
        Gauge::ActiveConnections {
            protocol: family.name(),
        }
        .increment();
        Ok(ConnGuard {
            limiter: self.clone(),
            family,
            ip: ip_group(ip),
            keys: vec![ipk, Key::Global],
            rate: None,
        })
    }

    /// Open connections on this node, every kind (the admin dashboard).
    pub fn open_total(&self) -> u32 {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&Key::Global)
    }

    /// Open connections counted for `ip` in `family` (for tests and metrics).
    pub fn open_for_ip(&self, family: Family, ip: IpAddr) -> u32 {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&Key::Ip(family, ip_group(ip)))
    }

    /// How many counters are held (bounded by open connections).
    pub fn tracked(&self) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .len()
    }
}

/// Held for the life of a connection; releases its counts when dropped.
pub struct ConnGuard {
    limiter: ConnLimiter,
    family: Family,
    ip: IpAddr,
    keys: Vec<Key>,
    /// The connection-rate token this connection took from its IP, while
    /// it has not moved to its user+IP (see `charged_to_ip`).
    rate: Option<ConnRate>,
}

/// The connection-rate buckets a guard moves its token between.
pub struct ConnRate {
    pub per_ip: RateLimiter<IpAddr>,
    pub per_user_ip: RateLimiter<(String, IpAddr)>,
}

impl ConnGuard {
    /// The connection authenticated as `user`: check per user+IP, then per
    /// user. On refusal the caller answers with the protocol's temporary
    /// failure and closes.
    pub fn authenticated(&mut self, user: &str) -> Result<(), Level> {
        let lim = self.limiter.family(self.family);
        let user = login_key(user);
        // The connection proved who it is: its rate token goes back to the
        // IP, shared by everyone behind one NAT, and is charged to this
        // user+IP instead. A device looping logins then uses up its own
        // budget, not its neighbours' (who would otherwise be refused at
        // connect by a rate they never used).
        if let Some(rate) = self.rate.take() {
            rate.per_ip.refund(&self.ip, 1);
            if !rate.per_user_ip.check(&(user.clone(), self.ip), 1) {
                return Err(self.limiter.refuse(self.family, Level::UserIp));
            }
        }
        let uik = Key::UserIp(self.family, user.clone(), self.ip);
        let uk = Key::User(self.family, user);
        let mut c = self
            .limiter
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if self.keys.contains(&uk) {
            return Ok(());
        }
        if lim.per_user_ip > 0 && c.get(&uik) >= lim.per_user_ip {
            drop(c);
            return Err(self.limiter.refuse(self.family, Level::UserIp));
        }
        if lim.per_user > 0 && c.get(&uk) >= lim.per_user {
            drop(c);
            return Err(self.limiter.refuse(self.family, Level::User));
        }
        c.inc(uik.clone());
        c.inc(uk.clone());
        self.keys.push(uik);
        self.keys.push(uk);
        Ok(())
    }

    /// The connection left the authenticated state (IMAP UNAUTHENTICATE,
    /// RFC 8437): it no longer counts against its user.
    pub fn signed_out(&mut self) {
        let mut c = self
            .limiter
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        self.keys.retain(|k| {
            let user = matches!(k, Key::User(..) | Key::UserIp(..));
            if user {
                c.dec(k);
            }
            !user
        });
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// This connection took a token from its IP's connection rate; a login
    /// moves it to the user+IP's bucket (`authenticated`).
    pub fn charged_to_ip(&mut self, rate: ConnRate) {
        self.rate = Some(rate);
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut c = self
            .limiter
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for k in &self.keys {
            c.dec(k);
        }
        drop(c);
        Gauge::ActiveConnections {
            protocol: self.family.name(),
        }
        .decrement();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_ip: u32, per_user: u32, per_user_ip: u32, global: u32) -> ConnLimiter {
        let mut cfg = LimitsConfig {
            global,
            families: HashMap::new(),
        };
        cfg.families.insert(
            Family::Imap,
            FamilyLimits {
                per_ip,
                per_user,
                per_user_ip,
            },
        );
        ConnLimiter::new(cfg, Metrics::default())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn rate(per_minute: u32) -> ConnRate {
        let m = std::time::Duration::from_secs(60);
        ConnRate {
            per_ip: RateLimiter::new(per_minute, m, 1000),
            per_user_ip: RateLimiter::new(per_minute, m, 1000),
        }
    }

    /// One device behind a NAT looping logins as A spends A's budget at
    /// that address, not the address's: B behind the same NAT still gets
    /// in. Connections that never log in stay charged to the IP.
    #[test]
    fn a_looping_login_does_not_drain_its_neighbours_rate() {
        let l = limiter(0, 0, 0, 0);
        let r = rate(10);
        let nat = ip("10.0.0.1");
        let connect = |l: &ConnLimiter| {
            if !r.per_ip.check(&ip_group(nat), 1) {
                return None;
            }
            let mut g = l.admit(Family::Imap, nat).unwrap();
            g.charged_to_ip(ConnRate {
                per_ip: r.per_ip.clone(),
                per_user_ip: r.per_user_ip.clone(),
            });
            Some(g)
        };
        let mut refused = 0;
        for _ in 0..100 {
            let mut g = connect(&l).expect("the IP's budget is never drained by A");
            if g.authenticated("a@x.org").is_err() {
                refused += 1;
            }
        }
        assert_eq!(refused, 90, "A is held to its own rate at this address");
        let mut b = connect(&l).expect("B connects");
        assert!(b.authenticated("b@x.org").is_ok(), "B logs in");
        // Anonymous connections are the IP's to pay for.
        let held: Vec<_> = (0..10)
            .map(|_| connect(&l).expect("within the rate"))
            .collect();
        assert!(connect(&l).is_none(), "the IP's own rate still binds");
        drop(held);
    }

    #[test]
    fn per_ip_and_release() {
        let l = limiter(2, 0, 0, 0);
        let a = l.admit(Family::Imap, ip("10.0.0.1")).unwrap();
        let _b = l.admit(Family::Imap, ip("10.0.0.1")).unwrap();
        assert_eq!(l.admit(Family::Imap, ip("10.0.0.1")).err(), Some(Level::Ip));
        assert!(
            l.admit(Family::Imap, ip("10.0.0.2")).is_ok(),
            "other IPs unaffected"
        );
        drop(a);
        assert!(
            l.admit(Family::Imap, ip("10.0.0.1")).is_ok(),
            "back under the limit"
        );
    }

    #[test]
    fn ipv6_counts_per_64() {
        let l = limiter(1, 0, 0, 0);
        let _a = l.admit(Family::Imap, ip("2001:db8:1:2::1")).unwrap();
        assert!(l.admit(Family::Imap, ip("2001:db8:1:2::99")).is_err());
        assert!(l.admit(Family::Imap, ip("2001:db8:1:3::1")).is_ok());
    }

    #[test]
    fn user_ip_limit_spares_other_devices_and_users() {
        let l = limiter(0, 3, 2, 0);
        let mut g = Vec::new();
        for _ in 0..2 {
            let mut c = l.admit(Family::Imap, ip("10.0.0.2")).unwrap();
            c.authenticated("a@x.org").unwrap();
            g.push(c);
        }
        let mut c = l.admit(Family::Imap, ip("10.0.0.2")).unwrap();
        assert_eq!(c.authenticated("A@x.org"), Err(Level::UserIp));
        let mut other_user = l.admit(Family::Imap, ip("10.0.0.2")).unwrap();
        assert!(other_user.authenticated("b@x.org").is_ok());
        let mut desktop = l.admit(Family::Imap, ip("10.0.0.3")).unwrap();
        assert!(desktop.authenticated("a@x.org").is_ok());
        let mut fourth = l.admit(Family::Imap, ip("10.0.0.4")).unwrap();
        assert_eq!(fourth.authenticated("a@x.org"), Err(Level::User));
    }

    #[test]
    fn signing_out_frees_the_user_slot() {
        let l = limiter(0, 1, 0, 0);
        let mut a = l.admit(Family::Imap, ip("10.0.0.2")).unwrap();
        a.authenticated("a@x.org").unwrap();
        let mut b = l.admit(Family::Imap, ip("10.0.0.3")).unwrap();
        assert_eq!(b.authenticated("a@x.org"), Err(Level::User));
        a.signed_out();
        assert!(b.authenticated("a@x.org").is_ok());
        // The same connection may sign in again, as another user.
        assert!(a.authenticated("c@x.org").is_ok());
    }

    #[test]
    fn refusals_move_the_counters() {
        let metrics = Metrics::default();
        let mut cfg = LimitsConfig {
            global: 0,
            families: HashMap::new(),
        };
        cfg.families.insert(
            Family::Pop3,
            FamilyLimits {
                per_ip: 1,
                per_user: 0,
                per_user_ip: 1,
            },
        );
        let l = ConnLimiter::new(cfg, metrics.clone());
        let mut a = l.admit(Family::Pop3, ip("10.0.0.1")).unwrap();
        a.authenticated("u").unwrap();
        assert!(l.admit(Family::Pop3, ip("10.0.0.1")).is_err());
        let mut b = l.admit(Family::Pop3, ip("10.0.0.2")).unwrap();
        let mut c = l.admit(Family::Pop3, ip("10.0.0.9")).unwrap();
        c.authenticated("u").unwrap();
        drop(c);
        assert!(b.authenticated("u").is_ok(), "user+IP is per IP");
        assert_eq!(
            metrics.get("tern_limiter_refusals_total{protocol=\"pop3\",layer=\"ip\"}"),
            1
        );
        assert_eq!(metrics.get("tern_connections_total{protocol=\"pop3\"}"), 3);
        let mut d = l.admit(Family::Pop3, ip("10.0.0.3")).unwrap();
        let mut e = l.admit(Family::Pop3, ip("10.0.0.4")).unwrap();
        d.authenticated("v").unwrap();
        drop(d);
        let _ = e.authenticated("v");
        let mut f = l.admit(Family::Pop3, ip("10.0.0.4")).err();
        assert_eq!(f.take(), Some(Level::Ip));
        assert_eq!(
            metrics.get("tern_limiter_refusals_total{protocol=\"pop3\",layer=\"ip\"}"),
            2
        );
    }

    #[test]
    fn global_and_counters_are_freed() {
        let l = limiter(0, 0, 0, 2);
        let a = l.admit(Family::Imap, ip("10.0.0.1")).unwrap();
        let b = l.admit(Family::Imap, ip("10.0.0.2")).unwrap();
        assert_eq!(
            l.admit(Family::Imap, ip("10.0.0.3")).err(),
            Some(Level::Global)
        );
        drop((a, b));
        assert_eq!(l.tracked(), 0);
    }
}
