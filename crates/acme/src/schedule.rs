//! When to order: a missing certificate at once, a present one at its
//! renewal time (`renew_before_days` before expiry, else at two thirds of
//! its lifetime, never before a third of it), or at once when an operator forced it (`tern cert renew
//! --force`, kept until it succeeds); never before the backoff of a
//! failure has run out, which `tern cert renew` waives. Pure functions of
//! the row and the time, so every rule is tested without a CA.

use tern_store::AcmeCert;

/// The first retry after a failure; doubled per failure up to `MAX_BACKOFF`.
const FIRST_BACKOFF: i64 = 60;
const MAX_BACKOFF: i64 = 6 * 3600;
/// The least wait after the CA said its rate limit was reached.
pub const RATE_LIMIT_BACKOFF: i64 = 3600;

/// Whether to order now.
pub fn due(row: Option<&AcmeCert>, now: i64, renew_before_days: Option<u64>) -> bool {
    let Some(row) = row else {
        return true;
    };
    if now < row.next_attempt {
        return false;
    }
    if row.renew_requested == 2 {
        return true;
    }
    match row.renew_at(renew_before_days) {
        Some(t) => now >= t,
        None => true,
    }
}

/// RFC 9773 4.2: the moment to renew within the CA's suggested window, a
/// uniformly random point of it (`r` in [0, 1)), so that clients spread
/// out; a window that has started is due at once for whoever picks a
/// point in the past.
pub fn ari_pick(start: i64, end: i64, r: f64) -> i64 {
    if end <= start {
        return start;
    }
    let span = (end - start) as f64;
    start + (span * r.clamp(0.0, 1.0)) as i64
}

/// How long to wait before asking the CA for its window again (RFC 9773
/// 4.3.2: its Retry-After, within a minute and a day).
pub fn ari_ask_again(hint: std::time::Duration) -> i64 {
    (hint.as_secs() as i64).clamp(60, 86_400)
}

/// Seconds to wait after `failures` earlier failures (this one not
/// counted): 60, 120, 240, … up to six hours.
pub fn backoff_secs(failures: i64) -> i64 {
    let shift = failures.clamp(0, 20) as u32;
    FIRST_BACKOFF.saturating_mul(1i64 << shift).min(MAX_BACKOFF)
}

/// What `tern cert status` and the store show of a leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafInfo {
    pub issuer: String,
    pub not_before: i64,
    pub not_after: i64,
}

/// Read the first certificate of a PEM chain.
pub fn leaf_info(chain_pem: &str) -> anyhow::Result<LeafInfo> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let leaf = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .next()
        .ok_or_else(|| anyhow::anyhow!("the chain holds no certificate"))?
        .map_err(|e| anyhow::anyhow!("the chain is not PEM: {e:?}"))?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| anyhow::anyhow!("the leaf certificate does not parse: {e}"))?;
    Ok(LeafInfo {
        issuer: cert.issuer().to_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ari_moment_lies_within_the_window() {
        assert_eq!(ari_pick(100, 200, 0.0), 100);
        assert_eq!(ari_pick(100, 200, 0.5), 150);
        assert!(ari_pick(100, 200, 0.999_999) < 200);
        assert_eq!(ari_pick(100, 50, 0.7), 100, "an empty window is its start");
        assert_eq!(ari_ask_again(std::time::Duration::from_secs(1)), 60);
        assert_eq!(
            ari_ask_again(std::time::Duration::from_secs(21_600)),
            21_600
        );
        assert_eq!(
            ari_ask_again(std::time::Duration::from_secs(1 << 40)),
            86_400
        );
    }

    fn issued(nb: i64, na: i64) -> AcmeCert {
        AcmeCert {
            names: "mx.example".into(),
            cert_pem: Some("C".into()),
            not_before: Some(nb),
            not_after: Some(na),
            ..AcmeCert::default()
        }
    }

    #[test]
    fn a_missing_certificate_is_due_at_once_but_waits_out_a_backoff() {
        assert!(due(None, 0, None));
        let failed = AcmeCert {
            next_attempt: 100,
            failures: 1,
            ..AcmeCert::default()
        };
        assert!(!due(Some(&failed), 99, None));
        assert!(due(Some(&failed), 100, None));
    }

    #[test]
    fn renewal_is_at_two_thirds_of_the_lifetime_or_days_before_expiry() {
        let c = issued(0, 90 * 86_400);
        assert!(!due(Some(&c), 60 * 86_400 - 1, None));
        assert!(due(Some(&c), 60 * 86_400, None));
        assert!(!due(Some(&c), 59 * 86_400, Some(30)));
        assert!(due(Some(&c), 60 * 86_400, Some(30)));
    }

    #[test]
    fn a_window_longer_than_the_lifetime_waits_a_third_of_it() {
        let c = issued(0, 90 * 86_400);
        assert!(!due(Some(&c), 30 * 86_400 - 1, Some(365)));
        assert!(due(Some(&c), 30 * 86_400, Some(365)));
    }

    #[test]
    fn a_forced_request_is_due_before_its_time_but_after_a_backoff() {
        let mut c = issued(0, 90 * 86_400);
        c.renew_requested = 2;
        assert!(due(Some(&c), 10, None));
        c.next_attempt = 1000;
        assert!(
            !due(Some(&c), 10, None),
            "a failed forced renewal backs off"
        );
        c.next_attempt = 0;
        c.renew_requested = 1;
        assert!(
            !due(Some(&c), 10, None),
            "a plain request waits for the due time"
        );
    }

    #[test]
    fn the_backoff_doubles_up_to_six_hours() {
        assert_eq!(backoff_secs(0), 60);
        assert_eq!(backoff_secs(1), 120);
        assert_eq!(backoff_secs(50), 6 * 3600);
        assert_eq!(backoff_secs(-3), 60);
    }
}
