//! Sending a report to the sender of a queued message: delivered straight
//! into a local mailbox when the sender is ours, queued with the null
//! sender (so it can never bounce back) otherwise.

use tern_common::Address;
use tern_common::time::now_secs;
use tern_store::{MailboxSel, NewMessage, QueueNew, QueueRcptNew, Resolution, Store};
use tokio::sync::Notify;

pub async fn send_report(
    store: &Store,
    wake: &Notify,
    to: &str,
    report: Vec<u8>,
) -> anyhow::Result<()> {
    let addr = Address::parse(to)?;
    let remote = match store.resolve(&addr).await? {
        Resolution::Local { accounts, remote } => {
            let copies: Vec<NewMessage> = accounts
                .iter()
                .map(|t| {
                    let mut bytes =
                        format!("Return-Path: <>\r\nDelivered-To: {}\r\n", t.account).into_bytes();
                    bytes.extend_from_slice(&report);
                    NewMessage {
                        account_id: t.account_id,
                        mailbox: MailboxSel::Name("INBOX".into()),
                        bytes,
                        flags: Vec::new(),
                        internal_date: now_secs(),
                        internal_zone: 0,
                        summary: None,
                    }
                })
                .collect();
            if !copies.is_empty() {
                store.deliver(copies).await?;
            }
            remote
                .into_iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
        }
        Resolution::NotLocal => vec![addr.to_string()],
        Resolution::UnknownUser => {
            tracing::info!(sender = %addr, "queue: report for an unknown local sender dropped");
            Vec::new()
        }
    };
    if !remote.is_empty() {
        let q = QueueNew {
            sender: String::new(),
            recipients: remote
                .into_iter()
                .map(|r| QueueRcptNew {
                    rcpt: r,
                    orcpt: None,
                    notify: "NEVER".into(),
                })
                .collect(),
            data: report,
            ..Default::default()
        };
        store.queue_insert(&q).await?;
        wake.notify_one();
    }
    Ok(())
}
