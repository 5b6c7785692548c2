//! `tern reports send-now [--dry-run] [--day D] [--kind K] [--save DIR]`:
//! the day's DMARC and TLS reports made and sent now (each kind, day and
//! domain at most once, whoever sends it: `tern_reports::Reporter`);
//! `tern reports list [--sent]` and `tern reports show ID`: what other
//! servers sent to us, and what tern sent.

use std::sync::Arc;

use tern_common::Config;
use tern_manage::{ReportQuery, Scope};
use tern_reports::{Reporter, Sent, period};
use tern_store::{KIND_DMARC, KIND_TLSRPT};

use crate::admin::{fail, manager};
use crate::cli::{ReportsCmd, format_time};
use crate::{Failure, open_store, usage};

pub async fn run(config: &Config, cmd: ReportsCmd) -> Result<(), Failure> {
    match cmd {
        ReportsCmd::SendNow {
            dry_run,
            day,
            kind,
            save,
        } => send_now(config, dry_run, day.as_deref(), kind.as_deref(), save).await,
        ReportsCmd::List {
            domain,
            kind,
            limit,
            sent,
            json,
        } => {
            let m = manager(config).await?;
            if sent {
                let since = tern_common::time::now_secs() - 30 * period::DAY;
                let rows = m.reports_sent(&Scope::Admin, since).await.map_err(fail)?;
                if json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&rows).unwrap_or_default()
                    );
                    return Ok(());
                }
                for r in rows {
                    println!(
                        "{}  {:<6}  {:<28}  {:<8}  {}{}",
                        period::date(r.period),
                        r.kind,
                        r.domain,
                        r.state,
                        r.destinations,
                        if r.detail.is_empty() {
                            String::new()
                        } else {
                            format!("  ({})", r.detail)
                        }
                    );
                }
                return Ok(());
            }
            let q = ReportQuery {
                domain,
                kind,
                before: 0,
                limit,
            };
            let rows = m.reports_received(&Scope::Admin, &q).await.map_err(fail)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).unwrap_or_default()
                );
                return Ok(());
            }
            for r in rows {
                println!(
                    "{:>6}  {:<6}  {:<24}  {}  {}..{}  {} messages, {} passed, {} failed",
                    r.id,
                    r.kind,
                    r.domain,
                    r.org_name,
                    period::date(period::day_start(r.begin)),
                    period::date(period::day_start(r.end)),
                    r.messages,
                    r.passed,
                    r.failed
                );
            }
            Ok(())
        }
        ReportsCmd::Show { id, json } => {
            let m = manager(config).await?;
            let r = m.report_received(&Scope::Admin, id).await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
                return Ok(());
            }
            println!("report {} ({})", r.id, r.kind);
            println!("domain:    {}", r.domain);
            println!("from:      {}", r.org_name);
            println!("report id: {}", r.report_id);
            println!(
                "period:    {} to {}",
                format_time(r.begin),
                format_time(r.end)
            );
            println!("received:  {}", format_time(r.received));
            println!(
                "figures:   {} {}, {} passed, {} failed",
                r.messages,
                if r.kind == KIND_DMARC {
                    "messages"
                } else {
                    "sessions"
                },
                r.passed,
                r.failed
            );
            if let Some(serde_json::Value::Array(rows)) = &r.rows {
                for row in rows {
                    println!("  {row}");
                }
            }
            Ok(())
        }
    }
}

async fn send_now(
    config: &Config,
    dry_run: bool,
    day: Option<&str>,
    kind: Option<&str>,
    save: Option<std::path::PathBuf>,
) -> Result<(), Failure> {
    let day = match day {
        Some(d) => period::parse_date(d)
            .ok_or_else(|| usage(format!("--day {d}: a date as YYYY-MM-DD")))?,
        None => period::day_start(tern_common::time::now_secs()) - period::DAY,
    };
    let kinds: Vec<&str> = match kind {
        Some(k) if k == KIND_DMARC || k == KIND_TLSRPT => vec![if k == KIND_DMARC {
            KIND_DMARC
        } else {
            KIND_TLSRPT
        }],
        Some(k) => return Err(usage(format!("--kind {k}: dmarc or tlsrpt"))),
        None => {
            let r = &config.reports;
            let mut k = Vec::new();
            if r.dmarc {
                k.push(KIND_DMARC);
            }
            if r.tlsrpt {
                k.push(KIND_TLSRPT);
            }
            k
        }
    };
    if kinds.is_empty() {
        return Err(usage(
            "no reports are turned on: set [reports] dmarc or tlsrpt, or pass --kind",
        ));
    }
    if !dry_run && config.reports.from.is_none() {
        return Err(usage(
            "[reports] from is not set: the address reports come from",
        ));
    }
    if let Some(dir) = &save {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Runtime(format!("{}: {e}", dir.display())))?;
    }
    let store = open_store(config).await?;
    let reporter = Reporter::new(Arc::new(config.clone()), store)
        .map_err(|e| Failure::Runtime(format!("{e:#}")))?;
    let mut failed = false;
    for kind in kinds {
        let run = reporter.run_day(kind, day, dry_run).await;
        if run.planned.is_empty() && run.errors.is_empty() {
            println!("{kind} {}: nothing to report", period::date(day));
        }
        for p in &run.planned {
            let outcome = run
                .sent
                .iter()
                .find(|(d, _)| *d == p.domain)
                .map(|(_, s)| match s {
                    Sent::Sent => "sent",
                    Sent::Already => "already sent",
                    Sent::Skipped => "not sent: no destination allowed",
                })
                .unwrap_or(if dry_run { "would send" } else { "not sent" });
            println!(
                "{kind} {} {}: {} {}, {} octets gzip, {outcome} to {}",
                period::date(day),
                p.domain,
                p.count,
                if kind == KIND_DMARC {
                    "messages"
                } else {
                    "sessions"
                },
                p.gz.len(),
                if p.dest.is_empty() {
                    "nobody".to_string()
                } else {
                    p.dest.joined()
                }
            );
            for r in &p.dest.refused {
                println!("  refused {}: {}", r.uri, r.why);
            }
            if let Some(dir) = &save {
                let ext = if kind == KIND_DMARC { "xml" } else { "json" };
                // The file is named by kind and position, never by the
                // domain a DNS answer gave.
                let n = run
                    .planned
                    .iter()
                    .position(|x| x.domain == p.domain)
                    .unwrap_or(0);
                let path = dir.join(format!("{kind}-{}-{n}.{ext}", period::date(day)));
                std::fs::write(&path, &p.payload)
                    .map_err(|e| Failure::Runtime(format!("{}: {e}", path.display())))?;
                println!("  saved {}", path.display());
            }
        }
        for e in &run.errors {
            failed = true;
            eprintln!("{kind} {}: {e}", period::date(day));
        }
    }
    if failed {
        return Err(Failure::Runtime(
            "some reports could not be made; run again later".into(),
        ));
    }
    Ok(())
}
