//! Certificates from an ACME CA (RFC 8555) for every TLS listener, kept
//! in the store and renewed in the background.
//!
//! Every node runs `Acme::run`: every few seconds it serves what the store
//! holds for the configured names (a certificate another node obtained
//! reaches this node's listeners the same way), and when the certificate
//! is missing, due (`renew_before_days`, else two thirds of its lifetime)
//! or asked for (`tern cert renew`), the one node holding the store lease
//! `acme` orders (`order.rs`). A failure keeps the current certificate,
//! is logged, kept in the store (`tern cert status`, `/health/detailed`),
//! raises `tern_acme_renewal_failing`, and is retried with a doubling
//! backoff.
//!
//! The rule: the store is the only source of a served ACME certificate;
//! a node never serves one it did not first write there.

mod order;
pub mod schedule;

use std::sync::Arc;
use std::time::Duration;

use tern_common::challenge::Challenges;
use tern_common::config::{AcmeConfig, Config, ListenerKind};
use tern_common::metrics::{Gauge, Metric};
use tern_common::time::now_secs;
use tern_common::tls::CertSlot;
use tern_store::{AcmeCert, AcmeIssued, Store};
use tokio_util::sync::CancellationToken;

/// Finds a tls-alpn-01 challenge another node opened, in the store.
pub struct StoreLookup(pub Store);

impl tern_common::challenge::Lookup for StoreLookup {
    fn alpn_digest(
        &self,
        name: &str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<Vec<u8>>> + Send + '_>> {
        let key = order::alpn_key(name);
        Box::pin(async move {
            let hex = self.0.acme_answer_get(&key).await.ok()??;
            unhex(&hex)
        })
    }
}

/// A SHA-256 digest from its hex form; `None` for anything else.
fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// How often each node looks at the store.
const POLL: Duration = Duration::from_secs(3);
/// The lease only one node at a time orders under; renewed while held
/// (every third of its time-to-live), so a node that dies mid-order holds
/// it up to a minute, after which any node resumes the order.
const LEASE: &str = "acme";
const LEASE_TTL: Duration = Duration::from_secs(60);

/// The background certificate service of one node.
pub struct Acme {
    config: Arc<Config>,
    acme: AcmeConfig,
    store: Store,
    slot: Arc<CertSlot>,
    challenges: Arc<Challenges>,
    /// The (names, issued time) served now.
    served: Option<(String, i64)>,
    /// The last stored certificate that did not load.
    refused: Option<(String, i64)>,
    /// The CA's renewal window for the certificate served (RFC 9773):
    /// which certificate (its expiry), the moment picked in the window,
    /// and when to ask again.
    ari: Option<Ari>,
}

#[derive(Debug, Clone, Copy)]
struct Ari {
    not_after: i64,
    pick: Option<i64>,
    ask_at: i64,
}

impl Acme {
    /// `None` without an `[acme]` section.
    pub fn new(
        config: Arc<Config>,
        store: Store,
        slot: Arc<CertSlot>,
        challenges: Arc<Challenges>,
    ) -> Option<Acme> {
        let acme = config.acme.clone()?;
        Some(Acme {
            config,
            acme,
            store,
            slot,
            challenges,
            served: None,
            refused: None,
            ari: None,
        })
    }

    /// Serve what the store holds now (before the listeners accept), then
    /// keep at it in the background until `shutdown`.
    pub async fn start(mut self, shutdown: CancellationToken) {
        if let Err(e) = self.serve_stored().await {
            tracing::warn!(error = %format!("{e:#}"), "acme: reading the store failed");
        }
        if self.served.is_none() {
            tracing::warn!(
                "acme: no certificate yet; serving a temporary self-signed one until the CA issues one"
            );
        }
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.tick().await {
                    tracing::warn!(error = %format!("{e:#}"), "acme: check failed");
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
        });
    }

    /// The names to cover: the configured ones, else the hostname,
    /// `mta-sts.<domain>` for each domain publishing MTA-STS (RFC 8461
    /// 3.3) and `autoconfig.<domain>` for each domain while `https` serves
    /// autoconfiguration. Sorted: the store's key.
    async fn names(&self) -> anyhow::Result<Vec<String>> {
        let mut names = if self.acme.names.is_empty() {
            let mut n = vec![self.config.hostname.to_ascii_lowercase()];
            let https = self
                .config
                .listeners
                .iter()
                .any(|l| l.kind == ListenerKind::Https);
            for (domain, mta_sts) in self.store.domains_with_mta_sts().await? {
                if mta_sts {
                    n.push(format!("mta-sts.{domain}"));
                }
                if https {
                    n.push(format!("autoconfig.{domain}"));
                }
            }
            n
        } else {
            self.acme.names.clone()
        };
        names.sort();
        names.dedup();
        Ok(names)
    }

    async fn tick(&mut self) -> anyhow::Result<()> {
        let names = self.names().await?;
        let key = names.join(" ");
        let row = self.store.acme_cert_get(&key).await?;
        if let Some(r) = &row {
            self.serve(r);
        }
        let now = now_secs();
        let ari = self.ari_due(row.as_ref(), now).await;
        if !ari && !schedule::due(row.as_ref(), now, self.acme.renew_before_days) {
            return Ok(());
        }
        let Some(lease) = self.store.lease_try(LEASE, LEASE_TTL).await? else {
            return Ok(());
        };
        let row = self.store.acme_cert_get(&key).await?;
        let replaces = row
            .as_ref()
            .filter(|_| ari)
            .and_then(|r| r.cert_pem.clone());
        if ari && row.as_ref().is_some_and(|r| now_secs() >= r.next_attempt)
            || schedule::due(row.as_ref(), now_secs(), self.acme.renew_before_days)
        {
            self.attempt(&key, &names, row.as_ref(), replaces.as_deref())
                .await?;
        }
        lease.release().await;
        Ok(())
    }

    /// Whether the CA's renewal window (RFC 9773) says to renew the
    /// stored certificate now. Asked once per certificate and then as
    /// often as the CA's Retry-After allows; a CA without renewal
    /// information, or an error, leaves the schedule to `schedule::due`.
    async fn ari_due(&mut self, row: Option<&AcmeCert>, now: i64) -> bool {
        let Some((pem, not_after)) = row.and_then(|r| Some((r.cert_pem.as_deref()?, r.not_after?)))
        else {
            return false;
        };
        let known = self.ari.filter(|a| a.not_after == not_after);
        if let Some(a) = known
            && now < a.ask_at
        {
            return a.pick.is_some_and(|p| now >= p);
        }
        let ctx = order::Ctx {
            store: &self.store,
            acme: &self.acme,
            challenges: &self.challenges,
        };
        let (pick, ask_at) = match order::renewal_window(&ctx, pem).await {
            Ok(Some(w)) => {
                let pick = schedule::ari_pick(w.start, w.end, rand::random::<f64>());
                tracing::info!(
                    window_start = %tern_common::time::iso8601(w.start),
                    window_end = %tern_common::time::iso8601(w.end),
                    renew_at = %tern_common::time::iso8601(pick),
                    "acme: the CA's renewal window"
                );
                (Some(pick), now + schedule::ari_ask_again(w.ask_again))
            }
            // No ARI at this CA: ask again in a day (it may start to).
            Ok(None) => (None, now + 86_400),
            Err(e) => {
                tracing::debug!(error = %format!("{e:#}"), "acme: no renewal window");
                (None, now + 3_600)
            }
        };
        self.ari = Some(Ari {
            not_after,
            pick,
            ask_at,
        });
        pick.is_some_and(|p| now >= p)
    }

    async fn attempt(
        &mut self,
        key: &str,
        names: &[String],
        row: Option<&AcmeCert>,
        replaces: Option<&str>,
    ) -> anyhow::Result<()> {
        let ctx = order::Ctx {
            store: &self.store,
            acme: &self.acme,
            challenges: &self.challenges,
        };
        tracing::info!(names = %key, "acme: ordering a certificate");
        match order::obtain(&ctx, key, names, replaces).await {
            Ok(got) => {
                let info = schedule::leaf_info(&got.cert_pem)?;
                // Checked before it is stored: a chain that does not load
                // must never reach the other nodes.
                tern_common::tls::certified_from_pem(&got.cert_pem, &got.key_pem)?;
                let issued = AcmeIssued {
                    cert_pem: &got.cert_pem,
                    key_pem: &got.key_pem,
                    issuer: &info.issuer,
                    not_before: info.not_before,
                    not_after: info.not_after,
                };
                self.store.acme_cert_issued(key, &issued).await?;
                tern_common::metrics::count(Metric::AcmeOrders { result: "issued" });
                tracing::info!(
                    names = %key,
                    issuer = %info.issuer,
                    not_after = %tern_common::time::iso8601(info.not_after),
                    "acme: certificate issued"
                );
                if let Some(r) = self.store.acme_cert_get(key).await? {
                    self.serve(&r);
                }
            }
            Err(e) => {
                let failures = row.map_or(0, |r| r.failures);
                let wait = schedule::backoff_secs(failures);
                // RFC 8555 6.6: a rate limit is not lifted by asking again soon.
                let wait = if order::rate_limited(&e) {
                    wait.max(schedule::RATE_LIMIT_BACKOFF)
                } else {
                    wait
                };
                let next = now_secs() + wait;
                let error = format!("{e:#}");
                self.store.acme_cert_failed(key, &error, next).await?;
                tern_common::metrics::count(Metric::AcmeOrders { result: "failed" });
                Gauge::AcmeRenewalFailing.set(1.0);
                tracing::error!(
                    names = %key,
                    error = %error,
                    retry_at = %tern_common::time::iso8601(next),
                    "acme: obtaining a certificate failed; the current one stays"
                );
            }
        }
        Ok(())
    }

    /// At start: the newest certificate the store has (for any names), so
    /// a node that restarts serves at once.
    async fn serve_stored(&mut self) -> anyhow::Result<()> {
        let names = self.names().await?.join(" ");
        let rows = self.store.acme_cert_list().await?;
        let best = rows
            .iter()
            .find(|r| r.names == names && r.cert_pem.is_some())
            .or_else(|| rows.iter().find(|r| r.cert_pem.is_some()));
        if let Some(r) = best {
            self.serve(r);
        }
        Ok(())
    }

    /// Put the row's certificate in the slot unless it is served already.
    fn serve(&mut self, row: &AcmeCert) {
        Gauge::AcmeRenewalFailing.set(if row.last_error.is_some() { 1.0 } else { 0.0 });
        let (Some(cert), Some(key), Some(issued)) = (&row.cert_pem, &row.key_pem, row.issued)
        else {
            return;
        };
        let this = Some((row.names.clone(), issued));
        if self.served == this || self.refused == this {
            return;
        }
        match tern_common::tls::certified_from_pem(cert, key) {
            Ok(ck) => {
                let names = row.names.split(' ').map(str::to_string).collect();
                self.slot.set_issued(names, ck);
                self.served = Some((row.names.clone(), issued));
                if let Some(t) = row.not_after {
                    Gauge::AcmeCertExpiry.set(t as f64);
                }
                tracing::info!(names = %row.names, "acme: serving the stored certificate");
            }
            Err(e) => {
                // Said once per certificate, not at every look.
                self.refused = this;
                tracing::error!(names = %row.names, error = %e, "acme: the stored certificate does not load")
            }
        }
    }
}
