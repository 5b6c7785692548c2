//! Decisions by moving mail out of the `Screener` mailbox: into `\Junk` or
//! `\Trash`, the sender is screened out (later mail to Junk, seen);
//! anywhere else, approved (later mail to INBOX). The message itself stays
//! where it was moved. The sender is the message's one From address (every
//! From field read: several, or several addresses, decide nothing), and
//! only when delivery proved it (`tern_store::FROM_VERIFIED`; the caller
//! passes only those messages): a forged From decides nothing, so a spoof
//! cannot get the real sender screened out (or approved).
//!
//! Recorded before the command's reply, so the next message from the
//! sender already follows the decision; at most `MAX_DECIDED` messages of
//! one move are read (their senders are the decisions a person makes).

use tern_store::{Mailbox, Store};

/// Messages of one move whose senders are decided.
const MAX_DECIDED: usize = 200;

/// The one From address of a message, lower case.
fn author(raw: &[u8]) -> Option<String> {
    match tern_mailauth::fields::single(raw, "from") {
        Ok(Some(list)) if list.len() == 1 => Some(list[0].to_lowercase()),
        _ => None,
    }
}

pub(crate) async fn decide_moved(store: &Store, account: i64, target: &Mailbox, uids: &[u32]) {
    let approve = !target
        .special_use
        .as_deref()
        .is_some_and(|u| u.eq_ignore_ascii_case("\\Junk") || u.eq_ignore_ascii_case("\\Trash"));
    for &uid in uids.iter().take(MAX_DECIDED) {
        let raw = match store.message_bytes(target.id, uid).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(account, uid, error = %e, "screener: cannot read a moved message");
                continue;
            }
        };
        let Some(from) = author(&raw) else { continue };
        match store
            .screener_decide(account, &from, approve, "moved")
            .await
        {
            Ok(()) => {
                tracing::info!(account, sender = %from, approve, "screener: decided by a move")
            }
            Err(e) => tracing::warn!(account, error = %e, "screener: cannot record a decision"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_author_or_none() {
        assert_eq!(
            author(b"From: A <A@X.example>\r\n\r\nbody").as_deref(),
            Some("a@x.example")
        );
        assert_eq!(
            author(b"From: a@x.example\r\nfrom: b@y.example\r\n\r\n"),
            None
        );
    }
}
