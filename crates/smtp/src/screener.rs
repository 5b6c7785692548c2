//! The Screener and VIP senders at delivery (port 25 only; the state is
//! the store's `screener.rs`, the rules a user sets are `tern_manage`'s).
//!
//! For each recipient account, from the message's one From address and
//! whether it is proved (on port 25 `Outcome::author`: DMARC pass, or an
//! aligned SPF or DKIM pass for a domain without DMARC; in a submission
//! from a local user, the From the account may send as):
//!
//! - a VIP (proved) gets `$Important` (RFC 8457) and is never filed into
//!   Junk by the spam checks; neither is an approved sender (proved);
//! - held mail the spam checks call spam goes to Junk, not to `Screener`
//!   (the Screener shows only mail worth a decision);
//! - with the Screener on, mail passes when it is a bounce (null sender),
//!   a reply to a message the account sent (`In-Reply-To`/`References`),
//!   from a VIP, from an approved sender, from the account itself, or from
//!   another existing account of the same domain (`[screener]
//!   same_domain`; off, colleagues are screened like anyone) — the last
//!   four only when proved. A sender the account screened out goes to Junk, seen, with no
//!   notification. Anyone else waits in `Screener` (made again if the user
//!   deleted it), and Sieve does not run for it.

use std::collections::HashMap;

use crate::Shared;
use crate::transaction::Envelope;

/// The mailbox held mail waits in.
pub(crate) const SCREENER: &str = "Screener";

/// What the Screener and the VIP list decide for one account's copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screening {
    /// Delivered as usual.
    Open,
    /// From a sender the account approved (proved): delivered, and never
    /// filed in Junk by the spam checks (an approval wins over them).
    Approved,
    /// A VIP: `$Important`, no Junk filing by spam checks.
    Vip,
    /// Waits in `Screener`; Sieve does not run. `verified`: the From was
    /// proved, so moving the message decides about its sender
    /// (`tern_store::FROM_VERIFIED`).
    Hold { verified: bool },
    /// Screened out: Junk, `\Seen`; Sieve does not run.
    Out,
}

/// The one From address (lower case), or `None` when there is none, there
/// are several addresses, or several From fields.
fn author(head: &[u8]) -> Option<String> {
    match tern_mailauth::fields::single(head, "from") {
        Ok(Some(list)) if list.len() == 1 => Some(list[0].to_lowercase()),
        _ => None,
    }
}

/// The Message-IDs a reply names (`In-Reply-To` and `References`, every
/// instance, at most 100).
fn replied_ids(head: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["in-reply-to", "references"] {
        for v in tern_mailauth::fields::values(head, name) {
            let text = String::from_utf8_lossy(v);
            for part in text.split('<').skip(1) {
                if let Some((id, _)) = part.split_once('>')
                    && !id.is_empty()
                    && out.len() < 100
                {
                    out.push(format!("<{}>", id.trim()));
                }
            }
        }
    }
    out
}

/// The Screener's decision for each account (absent: `Open`).
pub(crate) async fn judge(
    shared: &Shared,
    env: &Envelope,
    head: &[u8],
    proved_domain: Option<&str>,
    accounts: &[(i64, String)],
    id: &str,
) -> HashMap<i64, Screening> {
    let mut out = HashMap::new();
    let from = author(head);
    let proved = match (&from, proved_domain) {
        (Some(f), Some(d)) => f
            .rsplit_once('@')
            .is_some_and(|(_, fd)| fd.eq_ignore_ascii_case(d)),
        _ => false,
    };
    let replies = replied_ids(head);
    let store = &shared.store;
    for (account, name) in accounts {
        let vip = match (&from, proved) {
            (Some(f), true) => store.vip_matches(*account, f).await.unwrap_or_else(|e| {
                tracing::warn!(queue_id = %id, error = %e, "screener: cannot read VIPs");
                false
            }),
            _ => false,
        };
        let on = match store.screener_enabled(*account).await {
            Ok(on) => on,
            Err(e) => {
                tracing::warn!(queue_id = %id, error = %e, "screener: cannot read the setting");
                false
            }
        };
        let s = if vip {
            Screening::Vip
        } else if !on {
            // The Screener is off, but an approval still outranks the
            // spam checks.
            let approved = match (&from, proved) {
                (Some(f), true) => store.screener_decision(*account, f).await.ok().flatten(),
                _ => None,
            };
            if approved == Some(true) {
                Screening::Approved
            } else {
                Screening::Open
            }
        } else {
            decide(
                shared,
                env,
                *account,
                name,
                from.as_deref(),
                proved,
                &replies,
            )
            .await
        };
        if s != Screening::Open {
            tracing::info!(queue_id = %id, account, from = from.as_deref().unwrap_or(""), proved, decision = ?s, "screener");
        }
        out.insert(*account, s);
    }
    out
}

async fn decide(
    shared: &Shared,
    env: &Envelope,
    account: i64,
    name: &str,
    from: Option<&str>,
    proved: bool,
    replies: &[String],
) -> Screening {
    let store = &shared.store;
    // RFC 5321 4.5.5: bounces have the null sender; they pass.
    if env.sender.is_empty() {
        return Screening::Open;
    }
    if !replies.is_empty() && store.sent_ids_any(account, replies).await.unwrap_or(false) {
        return Screening::Open;
    }
    let Some(from) = from else {
        return Screening::Hold { verified: false };
    };
    match store.screener_decision(account, from).await {
        // A screened-out address goes to Junk even when forged: nothing is
        // lost by that, and a spoof cannot reach INBOX through it.
        Ok(Some(false)) => return Screening::Out,
        Ok(Some(true)) if proved => return Screening::Approved,
        _ => {}
    }
    if proved && (from.eq_ignore_ascii_case(name) || colleague(shared, from, name).await) {
        return Screening::Open;
    }
    Screening::Hold { verified: proved }
}

/// Where held mail goes: `Screener`, made again when the user deleted or
/// renamed it (IMAP allows both, RFC 9051 6.3.5 and 6.3.6) — held mail must
/// not fail delivery, for this account or the others of the message. INBOX
/// when it cannot be made (logged): delivered beats held.
pub(crate) async fn held_mailbox(shared: &Shared, account: i64, id: &str) -> String {
    let store = &shared.store;
    match store.mailbox_get(account, SCREENER).await {
        Ok(Some(_)) => return SCREENER.into(),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(queue_id = %id, account, error = %e, "screener: cannot find the mailbox");
            return "INBOX".into();
        }
    }
    match store.mailbox_create(account, SCREENER, None).await {
        Ok(_) | Err(tern_store::StoreError::Duplicate(_)) => {
            tracing::info!(queue_id = %id, account, "screener: mailbox made again");
            SCREENER.into()
        }
        Err(e) => {
            tracing::warn!(queue_id = %id, account, error = %e, "screener: cannot make the mailbox");
            "INBOX".into()
        }
    }
}

/// With `[screener] same_domain`: is `from` another account of the
/// recipient `name`'s domain? A domain's address that is no account (an
/// alias, a forwarder, a made-up name) is a stranger like any.
async fn colleague(shared: &Shared, from: &str, name: &str) -> bool {
    let domain = |a: &str| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
    if !shared.config.screener.same_domain || domain(from) != domain(name) {
        return false;
    }
    let Ok(address) = tern_common::Address::parse(from) else {
        return false;
    };
    match shared.store.account_get(&address).await {
        Ok(a) => a.is_some(),
        Err(e) => {
            tracing::warn!(error = %e, "screener: cannot look up the sender's account");
            false
        }
    }
}

/// The From domain of a submission: proved, since submission accepts only
/// a From the account may send as (`session/auth.rs`).
pub(crate) fn submitted_author(head: &[u8]) -> Option<String> {
    author(head).and_then(|a| a.rsplit_once('@').map(|(_, d)| d.to_string()))
}

/// After a submission: its recipients are approved for the account
/// (unless screened out), and its Message-ID approves replies. Failures
/// are logged; the message was sent.
pub(crate) async fn remember_sent(shared: &Shared, account: i64, env: &Envelope, head: &[u8]) {
    let rcpts: Vec<String> = env
        .rcpts
        .iter()
        .map(|r| r.address.to_string().to_lowercase())
        .collect();
    if let Err(e) = shared
        .store
        .screener_approve_new(account, &rcpts, "sent")
        .await
    {
        tracing::warn!(error = %e, "screener: cannot record the recipients");
    }
    let ids: Vec<String> = tern_mailauth::fields::values(head, "message-id")
        .iter()
        .map(|v| String::from_utf8_lossy(v).trim().to_string())
        .filter(|v| v.starts_with('<') && v.len() <= 250)
        .collect();
    if !ids.is_empty()
        && let Err(e) = shared.store.sent_ids_add(account, &ids).await
    {
        tracing::warn!(error = %e, "screener: cannot record the Message-ID");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_author_is_one_address_in_one_field() {
        assert_eq!(
            author(b"From: Ann <Ann@Example.org>\r\n\r\n").as_deref(),
            Some("ann@example.org")
        );
        assert_eq!(
            author(b"From: a@x.example\r\nFrom: b@y.example\r\n\r\n"),
            None
        );
        assert_eq!(author(b"From: a@x.example, b@y.example\r\n\r\n"), None);
        assert_eq!(author(b"Subject: none\r\n\r\n"), None);
    }

    #[test]
    fn replies_name_every_id_of_both_fields() {
        let h = b"In-Reply-To: <a@x>\r\nReferences: <b@y>\r\n <c@z>\r\nReferences: <d@w>\r\n\r\n";
        assert_eq!(replied_ids(h), ["<a@x>", "<b@y>", "<c@z>", "<d@w>"]);
    }
}
