//! Tarpitting on port 25: each invalid command or unknown recipient from an
//! IP makes the next such reply wait longer (0, base, 2·base, 4·base, …,
//! capped). An hour (configurable) of good behaviour forgets the count.
//! Memory is bounded: forgotten IPs are pruned, and a full table drops its
//! oldest entries.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tern_common::config::TarpitConfig;
use tern_common::limits::ip_group;

const MAX_TRACKED: usize = 100_000;

#[derive(Clone)]
pub struct Tarpit {
    cfg: TarpitConfig,
    state: Arc<Mutex<HashMap<IpAddr, (u32, Instant)>>>,
}

impl Tarpit {
    pub fn new(cfg: TarpitConfig) -> Tarpit {
        Tarpit {
            cfg,
            state: Arc::default(),
        }
    }

    /// Count a bad event from `ip`; returns the delay before its reply.
    pub fn bad(&self, ip: IpAddr) -> Duration {
        self.bad_at(ip, Instant::now())
    }

    pub fn bad_at(&self, ip: IpAddr, now: Instant) -> Duration {
        self.bad_with(ip, now, self.cfg.base_for(None))
    }

    /// `bad_at` with the first step's delay `base_ms` (a recipient
    /// domain's own setting, `TarpitConfig::base_for`); `None`: no tarpit,
    /// nothing counted.
    pub fn bad_with(&self, ip: IpAddr, now: Instant, base_ms: Option<u64>) -> Duration {
        let Some(base_ms) = base_ms else {
            return Duration::ZERO;
        };
        let reset = Duration::from_secs(self.cfg.reset_after_secs);
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.len() >= MAX_TRACKED {
            st.retain(|_, (_, last)| now.saturating_duration_since(*last) < reset);
            if st.len() >= MAX_TRACKED {
                let mut v: Vec<(IpAddr, Instant)> = st.iter().map(|(k, (_, t))| (*k, *t)).collect();
                v.sort_by_key(|(_, t)| *t);
                for (k, _) in v.into_iter().take(MAX_TRACKED / 2) {
                    st.remove(&k);
                }
            }
        }
        let e = st.entry(ip_group(ip)).or_insert((0, now));
        if now.saturating_duration_since(e.1) >= reset {
            e.0 = 0;
        }
        e.0 += 1;
        e.1 = now;
        let n = e.0;
        drop(st);
        if n <= 1 {
            return Duration::ZERO;
        }
        let ms = base_ms.saturating_mul(1u64 << (n - 2).min(30));
        Duration::from_millis(ms).min(Duration::from_secs(self.cfg.max_delay_secs))
    }

    pub fn tracked(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_may_turn_it_off_or_change_its_step() {
        let t = Tarpit::new(TarpitConfig {
            enabled: true,
            base_delay_ms: 1000,
            max_delay_secs: 30,
            reset_after_secs: 3600,
        });
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let now = Instant::now();
        for _ in 0..5 {
            assert_eq!(t.bad_with(ip, now, None), Duration::ZERO, "off");
        }
        assert_eq!(t.tracked(), 0, "nothing counted while off");
        assert_eq!(t.bad_with(ip, now, Some(10)), Duration::ZERO);
        assert_eq!(t.bad_with(ip, now, Some(10)), Duration::from_millis(10));
        assert_eq!(t.bad_with(ip, now, Some(10)), Duration::from_millis(20));
        assert_eq!(
            t.bad_at(ip, now),
            Duration::from_millis(4000),
            "the configured step"
        );
    }

    #[test]
    fn grows_caps_and_resets() {
        let t = Tarpit::new(TarpitConfig {
            enabled: true,
            base_delay_ms: 1000,
            max_delay_secs: 8,
            reset_after_secs: 3600,
        });
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let now = Instant::now();
        let d: Vec<u64> = (0..7).map(|_| t.bad_at(ip, now).as_secs()).collect();
        assert_eq!(d, vec![0, 1, 2, 4, 8, 8, 8]);
        assert_eq!(
            t.bad_at("192.0.2.8".parse().unwrap(), now),
            Duration::ZERO,
            "per IP"
        );
        assert_eq!(
            t.bad_at(ip, now + Duration::from_secs(3601)),
            Duration::ZERO,
            "an hour of good behaviour resets"
        );
    }

    #[test]
    fn disabled_is_free() {
        let t = Tarpit::new(TarpitConfig {
            enabled: false,
            ..TarpitConfig::default()
        });
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert!((0..10).all(|_| t.bad(ip).is_zero()));
        assert_eq!(t.tracked(), 0);
    }
}
