//! `tern queue list|show|retry|remove`.

use tern_common::Config;
use tern_common::time::iso8601;

use crate::cli::QueueCmd;
use crate::open_store;
use crate::{Failure, usage};

fn err(e: tern_store::StoreError) -> Failure {
    match e {
        tern_store::StoreError::Other(e) => Failure::Runtime(format!("{e:#}")),
        e => usage(e.to_string()),
    }
}

pub async fn run(config: &Config, cmd: QueueCmd) -> Result<(), Failure> {
    let store = open_store(config).await?;
    match cmd {
        QueueCmd::List => {
            for m in store.queue_list().await.map_err(err)? {
                let pending: Vec<&str> = m
                    .recipients
                    .iter()
                    .filter(|r| r.state == tern_store::RcptState::Pending)
                    .map(|r| r.rcpt.as_str())
                    .collect();
                let sender = if m.sender.is_empty() { "<>" } else { &m.sender };
                println!(
                    "{}\t{}\t{} octets\tfrom {sender}\tto {}",
                    m.id,
                    iso8601(m.created),
                    m.size,
                    pending.join(" ")
                );
            }
        }
        QueueCmd::Show { id } => {
            let m = store
                .queue_message(id)
                .await
                .map_err(err)?
                .ok_or_else(|| usage(format!("queued message {id} not found")))?;
            println!("id: {}", m.id);
            println!("queued: {}", iso8601(m.created));
            println!("from: <{}>", m.sender);
            println!("size: {} octets", m.size);
            if let Some(e) = &m.envid {
                println!("envid: {e}");
            }
            if let Some(r) = &m.ret {
                println!("ret: {r}");
            }
            if m.requiretls {
                println!("requiretls: yes");
            }
            for r in &m.recipients {
                println!(
                    "rcpt: {}\tstate: {:?}\tattempts: {}\tnext: {}\tlast: {}",
                    r.rcpt,
                    r.state,
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
            let n = store
                .queue_retry_now(if all { None } else { id })
                .await
                .map_err(err)?;
            if n == 0 && !all {
                return Err(usage(format!(
                    "queued message {} has no pending recipient",
                    id.unwrap_or(0)
                )));
            }
            println!(
                "{n} recipient(s) due now; a running tern picks them up within queue.poll_secs"
            );
        }
        QueueCmd::Remove { id } => {
            store.queue_remove(id).await.map_err(err)?;
            println!("queued message {id} removed");
        }
    }
    Ok(())
}
