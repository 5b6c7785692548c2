//! `tern queue list|show|retry|remove`, through the management layer.

use tern_common::Config;
use tern_common::time::iso8601;
use tern_manage::{PageRequest, Scope};

use crate::Failure;
use crate::admin::{fail, manager};
use crate::cli::QueueCmd;

pub async fn run(config: &Config, cmd: QueueCmd) -> Result<(), Failure> {
    let m = manager(config).await?;
    match cmd {
        QueueCmd::List => {
            let all = m
                .queue_list(&Scope::Admin, &PageRequest::all())
                .await
                .map_err(fail)?;
            for q in all.items {
                let pending: Vec<&str> = q
                    .recipients
                    .iter()
                    .filter(|r| r.state == "pending")
                    .map(|r| r.rcpt.as_str())
                    .collect();
                let sender = if q.sender.is_empty() { "<>" } else { &q.sender };
                println!(
                    "{}\t{}\t{} octets\tfrom {sender}\tto {}",
                    q.id,
                    iso8601(q.created),
                    q.size,
                    pending.join(" ")
                );
            }
        }
        QueueCmd::Show { id } => {
            let q = m.queue_get(&Scope::Admin, id).await.map_err(fail)?;
            println!("id: {}", q.id);
            println!("queued: {}", iso8601(q.created));
            println!("from: <{}>", q.sender);
            println!("size: {} octets", q.size);
            if let Some(e) = &q.envid {
                println!("envid: {e}");
            }
            if let Some(r) = &q.ret {
                println!("ret: {r}");
            }
            if q.requiretls {
                println!("requiretls: yes");
            }
            for r in &q.recipients {
                println!(
                    "rcpt: {}\tstate: {}\tattempts: {}\tnext: {}\tlast: {}",
                    r.rcpt,
                    capitalised(&r.state),
                    r.attempts,
                    iso8601(r.next_attempt),
                    if r.last_error.is_empty() {
                        "-"
                    } else {
                        &r.last_error
                    }
                );
            }
        }
        QueueCmd::Retry { id, all } => {
            let id = if all { None } else { id };
            let n = m.queue_retry(&Scope::Admin, id).await.map_err(fail)?;
            println!(
                "{n} recipient(s) due now; a running tern picks them up within queue.poll_secs"
            );
        }
        QueueCmd::Remove { id } => {
            m.queue_remove(&Scope::Admin, id).await.map_err(fail)?;
            println!("queued message {id} removed");
        }
    }
    Ok(())
}

/// `pending` → `Pending`, as `tern queue show` has always written states.
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
