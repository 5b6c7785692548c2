//! Where and how to deliver a domain's mail: DANE where the MX hosts
//! publish usable TLSA records (RFC 7672), else MTA-STS (RFC 8461), else
//! opportunistic or required STARTTLS (RFC 3207, RFC 8689); and what TLS did
//! with each host, kept for TLS reporting (RFC 8460 4.3). Rule: a host that
//! DANE covers is never subject to MTA-STS (RFC 8461 2), and a host whose
//! DANE lookup failed is not tried at all.

use tern_common::time::now_secs;
use tern_store::QueueMessage;

use super::Worker;
use crate::client::{self, TxError};
use crate::dane::Tlsa;
use crate::dns::{DaneHost, Hop};
use crate::tls::TlsPolicy;

/// One host to try and how to secure the connection to it.
pub(super) struct Planned {
    pub(super) hop: Hop,
    pub(super) policy: TlsPolicy,
    /// Usable TLSA records, for `TlsPolicy::Dane`.
    pub(super) tlsa: Vec<Tlsa>,
    /// DANE decides this host's TLS (MTA-STS does not apply).
    pub(super) dane: bool,
    /// Why this host must not be tried at all.
    pub(super) skip: Option<String>,
}

impl Planned {
    pub(super) fn new(hop: Hop, policy: TlsPolicy) -> Planned {
        Planned {
            hop,
            policy,
            tlsa: Vec::new(),
            dane: false,
            skip: None,
        }
    }
}

impl Worker {
    /// Where and how to deliver `domain`'s mail over its MX hosts: DANE
    /// where the hosts publish usable TLSA records (RFC 7672), else MTA-STS
    /// (RFC 8461), else opportunistic or required STARTTLS. `Err` defers.
    pub(super) async fn mx_plan(
        &self,
        msg: &QueueMessage,
        domain: &str,
        hops: Vec<Hop>,
    ) -> Result<Vec<Planned>, String> {
        let required = msg.requiretls || self.config.queue.require_tls.iter().any(|d| d == domain);
        let base = if required {
            TlsPolicy::Required
        } else {
            TlsPolicy::Opportunistic
        };
        let dane = match self.dns.dane(domain, &hops).await {
            Ok(d) => d,
            Err(e) => {
                self.record_outcome(domain, "", "tlsa", "dnssec-invalid", &e)
                    .await;
                return Err(e);
            }
        };
        let mut plan = Vec::with_capacity(hops.len());
        for (hop, d) in hops.into_iter().zip(dane) {
            plan.push(match d {
                DaneHost::Tlsa(tlsa) => Planned {
                    dane: true,
                    tlsa,
                    ..Planned::new(hop, TlsPolicy::Dane)
                },
                // RFC 7672 2.2: TLSA records that cannot be used still
                // forbid plain text.
                DaneHost::Unusable => Planned {
                    dane: true,
                    ..Planned::new(hop, TlsPolicy::Required)
                },
                DaneHost::Failed(why) => {
                    tracing::warn!(%domain, host = %hop.host, error = %why, "queue: DANE lookup failed; not delivering to this host");
                    self.record_outcome(domain, &hop.host, "tlsa", "dnssec-invalid", &why)
                        .await;
                    Planned {
                        dane: true,
                        skip: Some(why),
                        ..Planned::new(hop, TlsPolicy::Dane)
                    }
                }
                DaneHost::None => Planned::new(hop, base),
            });
        }
        // RFC 8461 2: hosts that DANE covers are not subject to MTA-STS.
        if plan.iter().all(|p| p.dane) {
            return Ok(plan);
        }
        let Some(verified) = &self.verified else {
            return Ok(plan);
        };
        let Some(sts) = self
            .sts
            .policy(&self.dns, domain, self.config.queue.mta_sts_port, verified)
            .await
        else {
            return Ok(plan);
        };
        match sts.mode {
            crate::mta_sts::Mode::Enforce => {
                // RFC 8461 4.1/4.2: only listed MX, only with a valid
                // certificate.
                plan.retain(|p| {
                    p.dane
                        || sts
                            .mx
                            .iter()
                            .any(|m| crate::mta_sts::mx_matches(m, &p.hop.host))
                });
                if plan.is_empty() {
                    return Err(format!("no MX of {domain} matches its MTA-STS policy"));
                }
                for p in plan.iter_mut().filter(|p| !p.dane) {
                    p.policy = TlsPolicy::Verified;
                }
            }
            crate::mta_sts::Mode::Testing => {
                tracing::info!(%domain, "queue: MTA-STS policy in testing mode; delivering as usual");
            }
            crate::mta_sts::Mode::None => {}
        }
        Ok(plan)
    }

    /// Keep what TLS did for this host, for TLS reporting.
    pub(super) async fn record_tls(
        &self,
        domain: &str,
        mx: &str,
        policy: TlsPolicy,
        result: &Result<client::Outcome, TxError>,
    ) {
        let (outcome, detail) = match (result, policy) {
            (Ok(o), _) => match &o.tls {
                Some(t) => ("tls", t.clone()),
                None => ("plaintext", String::new()),
            },
            // RFC 8460 4.3.1: no TLSA record matched the certificate.
            (Err(TxError::TlsFailed(e)), TlsPolicy::Dane) => ("tlsa-invalid", e.clone()),
            (Err(TxError::TlsFailed(e)), _) => ("validation-failure", e.clone()),
            (Err(TxError::TlsUnavailable(e)), _) => ("starttls-not-supported", e.clone()),
            (Err(_), _) => return,
        };
        let policy = match (policy, &self.config.relay) {
            (_, Some(_)) => "relay",
            (TlsPolicy::Dane, None) => "tlsa",
            (TlsPolicy::Verified, None) => "sts",
            (TlsPolicy::Required, None) => "require-tls",
            _ => "none",
        };
        self.record_outcome(domain, mx, policy, outcome, &detail)
            .await;
    }

    pub(super) async fn record_outcome(
        &self,
        domain: &str,
        mx: &str,
        policy: &str,
        outcome: &str,
        detail: &str,
    ) {
        let r = tern_store::TlsResult {
            at: now_secs(),
            domain: domain.to_string(),
            mx: mx.to_string(),
            policy: policy.to_string(),
            outcome: outcome.to_string(),
            detail: detail.to_string(),
        };
        if let Err(e) = self.store.tls_result_insert(&r).await {
            tracing::warn!(error = %e, "queue: cannot record the TLS outcome");
        }
    }
}
