//! The delivery loop: claim due recipients, group them by message and
//! destination, deliver each group within the concurrency limits (one
//! attempt: route, connect, transact, RFC 5321 5), and hand every fate to
//! `outcome` — delivered, deferred with backoff, or failed with a DSN.
//! `plan` decides where and how securely to connect (DANE, MTA-STS,
//! STARTTLS). Rule: a destination that keeps failing to connect is paused
//! (the breaker), so one dead domain does not occupy every worker.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tern_common::Config;
use tern_common::time::{iso8601, now_secs};
use tern_store::{QueueMessage, QueueRcpt, Store};
use tokio::sync::{Notify, Semaphore};
use tracing::Instrument;

mod outcome;
mod plan;

use crate::client::{self, Envelope, Rcpt, Target, TxError};
use crate::dns::{Dns, Hop, RouteError};
use crate::dsn;
use crate::msgid;
use crate::tls::TlsPolicy;
use plan::Planned;

/// Pauses a destination after repeated connection failures.
#[derive(Default)]
struct Breaker {
    state: Mutex<HashMap<String, (u32, i64)>>,
}

impl Breaker {
    fn paused_until(&self, domain: &str, now: i64) -> Option<i64> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.get(domain).map(|(_, until)| *until).filter(|u| *u > now)
    }

    fn failure(&self, domain: &str, now: i64, threshold: u32, pause: i64) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let e = s.entry(domain.to_string()).or_insert((0, 0));
        e.0 += 1;
        if e.0 >= threshold {
            e.1 = now + pause;
            e.0 = 0;
            return true;
        }
        false
    }

    fn success(&self, domain: &str) {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(domain);
    }
}

/// Message data the delivery attempts may hold in memory together: 256
/// MiB. Each attempt holds its whole message (it is signed and sent from
/// memory), so without a bound `queue.workers` attempts of the largest
/// size would; past it an attempt waits for others to finish. A message
/// larger than the whole budget takes all of it.
const DATA_BUDGET_KIB: u32 = 256 * 1024;

pub(crate) struct Worker {
    pub config: Arc<Config>,
    pub store: Store,
    pub dns: Dns,
    pub wake: Arc<Notify>,
    pub owner: String,
    slots: Arc<Semaphore>,
    /// KiB of message data all attempts may hold at once (`DATA_BUDGET_KIB`).
    data_budget: Arc<Semaphore>,
    per_domain: Mutex<HashMap<String, Arc<Semaphore>>>,
    breaker: Breaker,
    sts: crate::mta_sts::Cache,
    /// Trust anchors for authenticated TLS (MTA-STS); `None` when they
    /// could not be loaded, and then enforced policies defer.
    verified: Option<Arc<rustls::ClientConfig>>,
}

/// What happened to one recipient in one attempt.
enum Fate {
    Delivered(String),
    Deferred(String),
    Failed {
        status: String,
        diagnostic: String,
    },
    /// Sent by `SOURCE <id>` to this host: delivered once the receiver
    /// releases the identifier (docs/source-get.md 4.3).
    Awaiting {
        id: String,
        host: String,
    },
}

impl Worker {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        dns: Dns,
        wake: Arc<Notify>,
        owner: String,
    ) -> Worker {
        let slots = Arc::new(Semaphore::new(config.queue.workers));
        let verified = match crate::tls::verified_config(config.queue.tls_ca_file.as_deref()) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::error!(error = %e, "queue: no trust anchors; MTA-STS enforced domains will be deferred");
                None
            }
        };
        Worker {
            config,
            store,
            dns,
            wake,
            owner,
            slots,
            data_budget: Arc::new(Semaphore::new(DATA_BUDGET_KIB as usize)),
            per_domain: Mutex::default(),
            breaker: Breaker::default(),
            sts: crate::mta_sts::Cache::default(),
            verified,
        }
    }

    fn domain_slots(&self, domain: &str) -> Arc<Semaphore> {
        let mut m = self.per_domain.lock().unwrap_or_else(|p| p.into_inner());
        m.retain(|_, s| {
            Arc::strong_count(s) > 1 || s.available_permits() < self.config.queue.per_domain
        });
        m.entry(domain.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.config.queue.per_domain)))
            .clone()
    }

    /// Run until the process ends.
    pub async fn run(self: Arc<Self>) {
        match self.store.queue_release_owner(&self.owner).await {
            Ok(n) if n > 0 => {
                tracing::info!(released = n, "queue: took back leases of the previous run")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "queue: cannot release old leases"),
        }
        let poll = Duration::from_secs(self.config.queue.poll_secs);
        loop {
            let free = self.slots.available_permits();
            let claimed = if free == 0 {
                Vec::new()
            } else {
                match self
                    .store
                    .queue_claim(
                        &self.owner,
                        (free * 8) as i64,
                        self.config.queue.lease_secs as i64,
                    )
                    .await
                {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "queue: claim failed");
                        Vec::new()
                    }
                }
            };
            if claimed.is_empty() {
                tokio::select! {
                    _ = self.wake.notified() => {},
                    _ = tokio::time::sleep(poll) => {},
                }
                continue;
            }
            let mut groups: BTreeMap<(i64, String), Vec<QueueRcpt>> = BTreeMap::new();
            for r in claimed {
                groups
                    .entry((r.message_id, r.domain.clone()))
                    .or_default()
                    .push(r);
            }
            for ((message_id, domain), rcpts) in groups {
                let Ok(slot) = self.slots.clone().acquire_owned().await else {
                    return;
                };
                let me = self.clone();
                tokio::spawn(async move {
                    let dslot = me.domain_slots(&domain);
                    let Ok(_d) = dslot.acquire_owned().await else {
                        return;
                    };
                    me.deliver_group(message_id, &domain, rcpts).await;
                    drop(slot);
                    me.wake.notify_one();
                });
            }
        }
    }

    /// One attempt for one message's recipients at one domain. Every log
    /// line of it carries the message's id (the span): the id the SMTP reply
    /// gave, read back from the message (`msgid`).
    async fn deliver_group(&self, id: i64, domain: &str, rcpts: Vec<QueueRcpt>) {
        if let Err(e) = self.try_deliver_group(id, domain, rcpts).await {
            tracing::warn!(row = id, error = %e, "queue: delivery attempt failed");
        }
    }

    async fn try_deliver_group(
        &self,
        id: i64,
        domain: &str,
        rcpts: Vec<QueueRcpt>,
    ) -> anyhow::Result<()> {
        let now = now_secs();
        let Some(msg) = self.store.queue_message(id).await? else {
            return Ok(());
        };
        if let Some(until) = self.breaker.paused_until(domain, now) {
            let why = format!(
                "deliveries to {domain} paused until {} after repeated connection failures",
                iso8601(until)
            );
            for r in &rcpts {
                self.store.queue_pause(r.id, until, &why).await?;
            }
            return Ok(());
        }
        let kib = (msg.size / 1024 + 1).min(DATA_BUDGET_KIB as u64) as u32;
        let Ok(_budget) = self.data_budget.clone().acquire_many_owned(kib).await else {
            return Ok(());
        };
        let data = self.store.queue_data(id).await?;
        let span = tracing::info_span!("queue", queue_id = %msgid::of(&data, id), %domain);
        async {
            let started = std::time::Instant::now();
            let fates = self.attempt(&msg, domain, &rcpts, &data).await;
            tern_common::metrics::Histogram::DeliveryDuration
                .observe(started.elapsed().as_secs_f64());
            self.record(&msg, &rcpts, fates, &data).await?;
            self.store.queue_purge_done().await?;
            Ok(())
        }
        .instrument(span)
        .await
    }

    /// The SOURCE identifier for this attempt, when tern may send by
    /// SOURCE (docs/source-get.md 4.1): `[source_get] send`, not the null
    /// sender, no smarthost, and a reverse-path domain tern hosts (its MX
    /// is tern, which answers the GET).
    async fn source_id(&self, msg: &QueueMessage) -> Option<String> {
        if !self.config.source_get.send || self.config.relay.is_some() {
            return None;
        }
        let domain = msg.sender.rsplit_once('@')?.1;
        match self.store.is_local_domain(domain).await {
            Ok(true) => Some(crate::source_get::new_id()),
            _ => None,
        }
    }

    /// One delivery attempt for a group; a fate per recipient.
    async fn attempt(
        &self,
        msg: &QueueMessage,
        domain: &str,
        rcpts: &[QueueRcpt],
        data: &[u8],
    ) -> Vec<Fate> {
        let all = |f: &dyn Fn() -> Fate| rcpts.iter().map(|_| f()).collect::<Vec<_>>();
        // Sent by SOURCE and never released: the sender side bounces
        // (docs/source-get.md 8).
        if rcpts
            .iter()
            .any(|r| r.state == tern_store::RcptState::Awaiting)
        {
            return rcpts
                .iter()
                .map(|r| {
                    if r.state == tern_store::RcptState::Awaiting
                        && let Some(reply) = r.last_error.strip_prefix(tern_store::SOURCE_REFUSED)
                    {
                        // Fetched and refused: the receiver's own reply.
                        Fate::Failed {
                            status: dsn::status_of(reply, true),
                            diagnostic: reply.to_string(),
                        }
                    } else if r.state == tern_store::RcptState::Awaiting {
                        Fate::Failed {
                            status: "4.4.7".into(),
                            diagnostic: format!(
                                "the receiving server took the message by SOURCE but did not fetch it within {}",
                                tern_common::time::span(self.config.source_get.retention_secs)
                            ),
                        }
                    } else {
                        Fate::Deferred("waiting for the other recipients".into())
                    }
                })
                .collect();
        }
        let (plan, port, auth) = match &self.config.relay {
            Some(relay) => {
                // An address literal needs no lookup (and must not wait on DNS).
                let literal: Option<std::net::IpAddr> =
                    relay.host.trim_matches(['[', ']']).parse().ok();
                let hops = match literal {
                    Some(ip) => Ok(vec![ip]),
                    None => self.dns.addresses(&relay.host).await,
                };
                let hop = match hops {
                    Ok(a) if !a.is_empty() => Hop {
                        host: relay.host.clone(),
                        addrs: a,
                    },
                    Ok(_) => match relay.host.parse() {
                        Ok(ip) => Hop {
                            host: relay.host.clone(),
                            addrs: vec![ip],
                        },
                        Err(_) => {
                            return all(&|| {
                                Fate::Deferred(format!("relay {} has no address", relay.host))
                            });
                        }
                    },
                    Err(RouteError::Permanent(_, e) | RouteError::Temporary(e)) => {
                        return all(&|| Fate::Deferred(e.clone()));
                    }
                };
                let policy = match relay.tls {
                    tern_common::config::RelayTls::None => TlsPolicy::Plain,
                    _ => TlsPolicy::Required,
                };
                let auth = relay.username.clone().zip(relay.password.clone());
                (vec![Planned::new(hop, policy)], relay.port, auth)
            }
            None => match self.dns.route(domain).await {
                Ok(h) => match self.mx_plan(msg, domain, h).await {
                    Ok(plan) => (plan, self.config.queue.remote_port, None),
                    Err(why) => return all(&|| Fate::Deferred(why.clone())),
                },
                Err(RouteError::Permanent(status, e)) => {
                    return all(&|| Fate::Failed {
                        status: status.into(),
                        diagnostic: e.clone(),
                    });
                }
                Err(RouteError::Temporary(e)) => return all(&|| Fate::Deferred(e.clone())),
            },
        };
        let env = Envelope {
            sender: msg.sender.clone(),
            rcpts: rcpts
                .iter()
                .map(|r| Rcpt {
                    address: r.rcpt.clone(),
                    notify: r.notify.clone(),
                    orcpt: r.orcpt.clone(),
                })
                .collect(),
            envid: msg.envid.clone(),
            ret: msg.ret.clone(),
            requiretls: msg.requiretls,
            source: self.source_id(msg).await,
        };
        let mut last = String::from("no host to try");
        let mut tls_unavailable = false;
        for p in &plan {
            let (hop, policy) = (&p.hop, p.policy);
            if let Some(why) = &p.skip {
                last = why.clone();
                continue;
            }
            for ip in &hop.addrs {
                let target = Target {
                    addr: SocketAddr::new(*ip, port),
                    host: hop.host.clone(),
                    ehlo_name: self.config.hostname.clone(),
                    policy,
                    auth: auth.clone(),
                    verified: self.verified.clone(),
                    tlsa: p.tlsa.clone(),
                };
                let result = client::transact(&target, &env, data).await;
                self.record_tls(domain, &hop.host, policy, &result).await;
                match result {
                    Err(TxError::TlsFailed(e)) => {
                        tracing::info!(host = %hop.host, %ip, error = %e, "queue: TLS failed");
                        last = e;
                    }
                    Err(TxError::TlsUnavailable(e)) => {
                        tracing::warn!(host = %hop.host, error = %e, "queue: TLS required, not sent in clear");
                        tls_unavailable = true;
                        last = e;
                    }
                    Err(TxError::Connect(e)) => {
                        tracing::info!(host = %hop.host, %ip, error = %e, "queue: host unreachable");
                        last = e;
                    }
                    Err(TxError::Temporary(e)) => {
                        self.breaker.success(domain);
                        return all(&|| Fate::Deferred(e.clone()));
                    }
                    Err(TxError::Permanent(e)) => {
                        self.breaker.success(domain);
                        let status = dsn::status_of(&format!("550 {e}"), true);
                        return all(&|| Fate::Failed {
                            status: status.clone(),
                            diagnostic: e.clone(),
                        });
                    }
                    Ok(out) => {
                        self.breaker.success(domain);
                        if out.tls.is_none() {
                            tracing::info!(host = %hop.host, "queue: delivered without TLS (not offered)");
                        }
                        return out
                            .rcpts
                            .into_iter()
                            .map(|r| match (r, &out.data) {
                                (Ok(_), Some(d)) if d.is_ok() && out.sourced => Fate::Awaiting {
                                    id: env.source.clone().unwrap_or_default(),
                                    host: hop.host.clone(),
                                },
                                (Ok(_), Some(d)) if d.is_ok() => {
                                    Fate::Delivered(format!("{} {d}", hop.host))
                                }
                                (Ok(_), Some(d)) if d.is_permanent() => Fate::Failed {
                                    status: dsn::status_of(&d.to_string(), true),
                                    diagnostic: d.to_string(),
                                },
                                (Ok(_), Some(d)) => Fate::Deferred(d.to_string()),
                                (Ok(_), None) => Fate::Deferred("no reply to the data".into()),
                                (Err(r), _) if r.is_permanent() => Fate::Failed {
                                    status: dsn::status_of(&r.to_string(), true),
                                    diagnostic: r.to_string(),
                                },
                                (Err(r), _) => Fate::Deferred(r.to_string()),
                            })
                            .collect();
                    }
                }
            }
        }
        // RFC 8689 5: a REQUIRETLS message that cannot get TLS is returned.
        if msg.requiretls && tls_unavailable {
            return all(&|| Fate::Failed {
                status: "5.7.30".into(),
                diagnostic: format!("REQUIRETLS: no TLS available to {domain}: {last}"),
            });
        }
        let now = now_secs();
        let pause = self.config.queue.breaker_pause_secs as i64;
        if self
            .breaker
            .failure(domain, now, self.config.queue.breaker_failures, pause)
        {
            tracing::warn!(%domain, pause_secs = pause, "queue: pausing deliveries after repeated connection failures");
            last = format!(
                "{last}; deliveries to {domain} paused until {} after {} connection failures",
                iso8601(now + pause),
                self.config.queue.breaker_failures
            );
        }
        all(&|| Fate::Deferred(last.clone()))
    }
}
