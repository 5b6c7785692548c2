//! Making and sending a day's reports. A report is planned (aggregated,
//! written, compressed, its destinations checked), then sent: its mail
//! enters the queue in the same store transaction that records it as sent
//! (`Store::report_send`), so a second node or a second run finds the row
//! and sends nothing; https destinations are posted afterwards and retried
//! from the row until they answer or the report is a day old.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use mail_auth::MessageAuthenticator;
use tern_common::Config;
use tern_common::time::now_secs;
use tern_queue::dns::Dns;
use tern_store::{KIND_DMARC, KIND_TLSRPT, QueueNew, QueueRcptNew, ReportSent, Store};

use crate::dest::Destinations;
use crate::period::{self, DAY};

/// One report, ready to go.
#[derive(Debug, Clone)]
pub struct Planned {
    /// `dmarc` or `tlsrpt`.
    pub kind: &'static str,
    pub day: i64,
    /// The policy domain (DMARC) or recipient domain (TLS-RPT).
    pub domain: String,
    pub report_id: String,
    /// Messages (DMARC) or sessions (TLS-RPT) the report covers.
    pub count: u64,
    /// The XML or JSON as written.
    pub payload: Vec<u8>,
    /// The payload gzip-compressed: what is attached or posted.
    pub gz: Vec<u8>,
    pub dest: Destinations,
}

/// What sending one planned report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Mail queued and/or posts started.
    Sent,
    /// Another run or node sent it already.
    Already,
    /// Every destination was refused.
    Skipped,
}

/// A day's run for one kind.
#[derive(Debug, Default)]
pub struct DayRun {
    pub planned: Vec<Planned>,
    pub sent: Vec<(String, Sent)>,
    /// Temporary failures: the day is tried again.
    pub errors: Vec<String>,
}

pub struct Reporter {
    config: Arc<Config>,
    store: Store,
    auth: MessageAuthenticator,
    dns: Dns,
    tls: Arc<rustls::ClientConfig>,
}

impl Reporter {
    pub fn new(config: Arc<Config>, store: Store) -> anyhow::Result<Reporter> {
        let auth = tern_mailauth::authenticator(&config.dns)?;
        let dns = Dns::new(&config.dns)?;
        let tls = tern_queue::tls::verified_config(config.queue.tls_ca_file.as_deref())
            .map_err(anyhow::Error::msg)?;
        Ok(Reporter {
            config,
            store,
            auth,
            dns,
            tls,
        })
    }

    fn from(&self) -> &str {
        self.config.reports.from.as_deref().unwrap_or("")
    }

    fn report_id(&self, kind: &str, day: i64, domain: &str) -> String {
        format!(
            "{kind}.{}.{domain}@{}",
            period::date(day),
            self.config.hostname
        )
    }

    /// The DMARC aggregate reports for `day`, one per policy domain with
    /// evaluations and an `rua`.
    pub async fn plan_dmarc(&self, day: i64) -> Result<(Vec<Planned>, Vec<String>), String> {
        let records = self
            .store
            .dmarc_records_list(day, day + DAY, None)
            .await
            .map_err(|e| e.to_string())?;
        let mut errors = Vec::new();
        // Each From domain's record once; the records grouped by the
        // domain the policy was found at.
        let mut policies: HashMap<String, Option<tern_mailauth::Published>> = HashMap::new();
        let mut groups: BTreeMap<
            String,
            (tern_mailauth::Published, Vec<&tern_store::DmarcRecord>),
        > = BTreeMap::new();
        for r in &records {
            let from = r.header_from.to_ascii_lowercase();
            if from.is_empty() {
                continue;
            }
            if !policies.contains_key(&from) {
                let found = match tern_mailauth::published(&self.auth, &from).await {
                    Ok(p) => p,
                    Err(e) => {
                        errors.push(format!("DMARC record of {from}: {e}"));
                        None
                    }
                };
                policies.insert(from.clone(), found);
            }
            let Some(Some(p)) = policies.get(&from) else {
                continue;
            };
            if p.record.rua.is_empty() {
                continue;
            }
            groups
                .entry(p.domain.clone())
                .or_insert_with(|| (p.clone(), Vec::new()))
                .1
                .push(r);
        }
        let mut out = Vec::new();
        let from = self.from().to_string();
        for (domain, (policy, recs)) in groups {
            let report_id = self.report_id(KIND_DMARC, day, &domain);
            let header = crate::dmarc::Header {
                org_name: &self.config.reports.org_name,
                email: &from,
                contact: self.config.reports.contact.as_deref(),
                report_id: &report_id,
                begin: day,
                end: day + DAY - 1,
            };
            let report = crate::dmarc::report(&header, &policy, &recs);
            let xml = crate::dmarc::xml(&report, policy.pct);
            let gz = crate::mail::gzip(xml.as_bytes()).map_err(|e| e.to_string())?;
            // The mail's size: the attachment in base64 and the rest.
            let size = gz.len() * 4 / 3 + 4096;
            let dest = crate::dest::dmarc(&self.dns, &domain, &policy.record.rua, size).await;
            out.push(Planned {
                kind: KIND_DMARC,
                day,
                domain,
                report_id,
                count: recs.len() as u64,
                payload: xml.into_bytes(),
                gz,
                dest,
            });
        }
        Ok((out, errors))
    }

    /// The TLS-RPT reports for `day`, one per recipient domain with
    /// outcomes that publishes `_smtp._tls`.
    pub async fn plan_tlsrpt(&self, day: i64) -> Result<(Vec<Planned>, Vec<String>), String> {
        let results = self
            .store
            .tls_results(day)
            .await
            .map_err(|e| e.to_string())?;
        let mut by_domain: BTreeMap<String, Vec<&tern_store::TlsResult>> = BTreeMap::new();
        for r in results.iter().filter(|r| r.at < day + DAY) {
            by_domain
                .entry(r.domain.to_ascii_lowercase())
                .or_default()
                .push(r);
        }
        let mut out = Vec::new();
        let mut errors = Vec::new();
        let contact = self
            .config
            .reports
            .contact
            .clone()
            .unwrap_or_else(|| format!("mailto:{}", self.from()));
        for (domain, rs) in by_domain {
            let dest = match crate::dest::tlsrpt(&self.dns, &domain).await {
                Ok(d) => d,
                Err(e) => {
                    errors.push(format!("TLS-RPT record of {domain}: {e}"));
                    continue;
                }
            };
            if dest.is_empty() && dest.refused.is_empty() {
                continue;
            }
            let report_id = self.report_id(KIND_TLSRPT, day, &domain);
            let header = crate::tlsrpt::Header {
                org_name: &self.config.reports.org_name,
                contact: &contact,
                report_id: &report_id,
                begin: day,
                end: day + DAY,
            };
            let Some(report) = crate::tlsrpt::report(&header, &domain, &rs) else {
                continue;
            };
            let count = report
                .policies
                .iter()
                .map(|p| u64::from(p.summary.total_success) + u64::from(p.summary.total_failure))
                .sum();
            let json = crate::tlsrpt::json(&report);
            let gz = crate::mail::gzip(json.as_bytes()).map_err(|e| e.to_string())?;
            out.push(Planned {
                kind: KIND_TLSRPT,
                day,
                domain,
                report_id,
                count,
                payload: json.into_bytes(),
                gz,
                dest,
            });
        }
        Ok((out, errors))
    }

    /// Send one planned report: at most once per kind, day and domain,
    /// whichever node or run gets there first.
    pub async fn send(&self, p: &Planned) -> Result<Sent, String> {
        let from = self.from().to_string();
        let mut row = ReportSent {
            kind: p.kind.to_string(),
            period: p.day,
            domain: p.domain.clone(),
            report_id: p.report_id.clone(),
            destinations: p.dest.joined(),
            state: "queued".into(),
            detail: refusals(&p.dest),
            attempts: 0,
            at: 0,
        };
        if p.dest.is_empty() {
            row.state = "skipped".into();
            let taken = self
                .store
                .report_send(&row, None, None)
                .await
                .map_err(|e| e.to_string())?;
            return Ok(if taken { Sent::Skipped } else { Sent::Already });
        }
        let mail = if p.dest.mail.is_empty() {
            None
        } else {
            let env = crate::mail::Envelope {
                from: &from,
                to: &p.dest.mail,
                submitter: &self.config.hostname,
                domain: &p.domain,
                report_id: &p.report_id,
                begin: p.day,
                end: p.day + DAY,
                date: now_secs(),
            };
            let bytes = if p.kind == KIND_DMARC {
                crate::mail::dmarc(&env, &p.gz)
            } else {
                crate::mail::tlsrpt(&env, &p.gz)
            }
            .map_err(|e| e.to_string())?;
            let signed = tern_queue::dkim::sign(&self.store, bytes)
                .await
                .map_err(|e| e.to_string())?;
            Some(QueueNew {
                sender: from.clone(),
                recipients: p
                    .dest
                    .mail
                    .iter()
                    .map(|m| QueueRcptNew {
                        rcpt: m.clone(),
                        orcpt: None,
                        notify: "NEVER".into(),
                    })
                    .collect(),
                envid: None,
                ret: Some("HDRS".into()),
                requiretls: false,
                data: signed,
            })
        };
        let posting = !p.dest.https.is_empty();
        if posting {
            row.state = "posting".into();
        }
        let taken = self
            .store
            .report_send(&row, mail.as_ref(), posting.then_some(p.gz.as_slice()))
            .await
            .map_err(|e| e.to_string())?;
        if !taken {
            return Ok(Sent::Already);
        }
        tracing::info!(
            kind = p.kind,
            day = %period::date(p.day),
            domain = %p.domain,
            to = %row.destinations,
            count = p.count,
            "reports: report sent"
        );
        if posting {
            self.post_pending().await;
        }
        Ok(Sent::Sent)
    }

    /// Post the reports whose https destinations have not answered yet;
    /// give up a day after the report was due.
    pub async fn post_pending(&self) {
        let pending = match self.store.reports_posting().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "reports: cannot read the reports to post");
                return;
            }
        };
        for (row, gz) in pending {
            let mut failures = Vec::new();
            for url in row
                .destinations
                .split(',')
                .filter(|u| u.starts_with("https://"))
            {
                if let Err(e) = crate::post::post(&self.dns, &self.tls, url, gz.clone()).await {
                    failures.push(e);
                }
            }
            let too_old = now_secs() > row.period + 3 * DAY;
            let (state, detail) = match (failures.is_empty(), too_old) {
                (true, _) => ("sent", row.detail.clone()),
                (false, true) => ("failed", failures.join("; ")),
                (false, false) => ("posting", failures.join("; ")),
            };
            if !failures.is_empty() {
                tracing::warn!(domain = %row.domain, error = %detail, "reports: TLS report post failed");
            }
            if let Err(e) = self
                .store
                .report_posted(&row.kind, row.period, &row.domain, state, &detail)
                .await
            {
                tracing::warn!(error = %e, "reports: cannot record a post");
            }
        }
    }

    /// Plan `kind`'s reports for `day` and, unless `dry_run`, send them.
    pub async fn run_day(&self, kind: &str, day: i64, dry_run: bool) -> DayRun {
        let planned = if kind == KIND_DMARC {
            self.plan_dmarc(day).await
        } else {
            self.plan_tlsrpt(day).await
        };
        let mut run = DayRun::default();
        match planned {
            Ok((planned, errors)) => {
                run.planned = planned;
                run.errors = errors;
            }
            Err(e) => {
                run.errors.push(e);
                return run;
            }
        }
        if dry_run {
            return run;
        }
        for p in &run.planned {
            match self.send(p).await {
                Ok(s) => run.sent.push((p.domain.clone(), s)),
                Err(e) => run.errors.push(format!("{}: {e}", p.domain)),
            }
        }
        run
    }

    /// The kinds this server sends.
    pub fn kinds(&self) -> Vec<&'static str> {
        let r = &self.config.reports;
        let mut k = Vec::new();
        if r.dmarc {
            k.push(KIND_DMARC);
        }
        if r.tlsrpt {
            k.push(KIND_TLSRPT);
        }
        k
    }

    /// One pass of the daily loop at `now`: every due day of every kind
    /// sent and marked done (a day with temporary failures stays due until
    /// it is two days late), pending posts retried, old data dropped.
    pub async fn tick(&self, now: i64) {
        for kind in self.kinds() {
            let last = match self.store.report_last_day(kind).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "reports: cannot read the report state");
                    return;
                }
            };
            for day in period::due_days(last, now, self.config.reports.hour) {
                let run = self.run_day(kind, day, false).await;
                for e in &run.errors {
                    tracing::warn!(kind, day = %period::date(day), error = %e, "reports: a report could not be made");
                }
                let late = now >= day + 3 * DAY;
                if !run.errors.is_empty() && !late {
                    break;
                }
                if let Err(e) = self.store.report_day_done(kind, day).await {
                    tracing::warn!(error = %e, "reports: cannot record a finished day");
                    break;
                }
            }
        }
        self.post_pending().await;
        let before = period::day_start(now) - period::KEEP_DAYS * DAY;
        match self.store.report_data_prune(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "reports: old DMARC and TLS outcomes dropped"),
            Err(e) => tracing::warn!(error = %e, "reports: cannot drop old outcomes"),
        }
    }
}

fn refusals(d: &Destinations) -> String {
    d.refused
        .iter()
        .map(|r| format!("{}: {}", r.uri, r.why))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether round `round` (the first is 1) of the minute loop runs: every
/// one while some kind of report is sent; with none, only the first and
/// then one an hour — the pruning of old outcomes, and any report left to
/// post from when sending was on — so an idle server does not write its
/// store every minute for the lease.
fn due_round(sending: bool, round: u64) -> bool {
    sending || round % 60 == 1
}

/// The daily loop of `tern serve`: once a minute, one node at a time
/// (under the store lease `reports`).
pub fn spawn(config: Arc<Config>, store: Store) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let reporter = Reporter::new(config, store.clone())?;
    Ok(tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut round: u64 = 0;
        loop {
            every.tick().await;
            round += 1;
            if !due_round(!reporter.kinds().is_empty(), round) {
                continue;
            }
            match store
                .lease_try("reports", std::time::Duration::from_secs(600))
                .await
            {
                Ok(Some(lease)) => {
                    reporter.tick(now_secs()).await;
                    lease.release().await;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "reports: cannot take the lease"),
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::due_round;

    #[test]
    fn with_reports_off_the_loop_runs_at_start_and_then_hourly() {
        let runs: Vec<u64> = (1..=180).filter(|&r| due_round(false, r)).collect();
        assert_eq!(runs, [1, 61, 121]);
        assert!(
            (1..=180).all(|r| due_round(true, r)),
            "every minute when sending"
        );
    }
}
