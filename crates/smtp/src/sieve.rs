//! Sieve at delivery (RFC 5228): the account's active script runs on the
//! blocking pool against the message as it will be stored, answering its
//! questions from the store (`StoreHost`); what it decided is carried out
//! here — mailboxes resolved (`:create`, `:specialuse`), flags checked,
//! redirects sent through the queue with SRS (or straight into a local
//! account), vacation replies and notifications sent from the null sender,
//! refusals bounced when the protocol cannot carry them, and the ids of
//! `duplicate` and vacation recorded once the message is stored.
//!
//! Nothing a script does can lose a message: a failure keeps it (the log
//! and the audit log say which script failed, where and why), a mailbox
//! that cannot be used gets INBOX, a redirect that cannot be sent keeps.

use std::net::IpAddr;
use std::sync::Arc;

use tern_common::Address;
use tern_common::security::{AuditEvent, AuditKind};
use tern_common::time::now_secs;
use tern_filter::{Delivery, FileInto, Host, Outcome, Send, SendKind};
use tern_store::{
    AccountId, Mailbox, MailboxSel, NewMessage, QueueNew, QueueRcptNew, Resolution, Store,
    StoreError, Target,
};

use crate::Shared;
use crate::transaction::{Accepted, Envelope, SessionInfo, srs_sender};

/// The filter with the server's `[sieve]` settings.
pub fn filter(config: &tern_common::Config) -> Arc<tern_filter::Filter> {
    Arc::new(tern_filter::Filter::new(tern_filter::Settings {
        hostname: config.hostname.clone(),
        max_instructions: config.sieve.max_instructions,
        max_redirects: config.sieve.max_redirects,
        max_hops: config.sieve.max_hops,
        global_dir: config.sieve.global_dir.clone(),
    }))
}

/// What the running script learns about the account, from the store. It
/// runs on the blocking pool, so the store is asked with `block_on`.
struct StoreHost {
    handle: tokio::runtime::Handle,
    store: Store,
    account: AccountId,
    mailboxes: Vec<Mailbox>,
    now: i64,
}

impl Host for StoreHost {
    fn mailbox_exists(&mut self, name: &str) -> bool {
        match tern_store::canonical_mailbox_name(name) {
            Ok(n) => self.mailboxes.iter().any(|m| m.name == n),
            Err(_) => false,
        }
    }

    fn special_use_exists(&mut self, special_use: &str) -> bool {
        self.mailboxes.iter().any(|m| {
            m.special_use
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(special_use))
        })
    }

    fn seen(&mut self, id: &str) -> bool {
        let seen = self
            .handle
            .block_on(self.store.sieve_seen(self.account, id, self.now));
        seen.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "sieve: cannot read duplicate ids; taking as new");
            false
        })
    }

    fn personal_script(&mut self, name: &str) -> Option<String> {
        let got = self
            .handle
            .block_on(self.store.sieve_get(self.account, name));
        got.ok().flatten().map(|s| s.content)
    }
}

/// One account's script decision, with whom it is for.
pub(crate) struct Decided<'a> {
    pub rcpt: &'a Accepted,
    pub target: &'a Target,
    pub outcome: Outcome,
}

/// Run `script` (name, text) of `target` on `message` (our trace field
/// first, as stored). Failures are logged and audited here.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run(
    shared: &Shared,
    s: &SessionInfo,
    env: &Envelope,
    rcpt: &Accepted,
    target: &Target,
    script: tern_store::SieveScript,
    message: Arc<Vec<u8>>,
    spam: Option<f64>,
    id: &str,
) -> Outcome {
    let mailboxes = match shared.store.mailbox_list(target.account_id).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(queue_id = %id, error = %e, "sieve: cannot list mailboxes");
            Vec::new()
        }
    };
    let mut host = StoreHost {
        handle: tokio::runtime::Handle::current(),
        store: shared.store.clone(),
        account: target.account_id,
        mailboxes,
        now: now_secs(),
    };
    let filter = shared.filter.clone();
    let sender = env.sender.clone();
    let recipient = rcpt.address.to_string();
    let orcpt = rcpt.orcpt.clone();
    let notify = (!rcpt.notify.is_empty()).then(|| rcpt.notify.clone());
    let ret = env.ret.clone();
    let envid = env.envid.clone();
    let user = target.account.clone();
    let ip = s.ip.to_string();
    let helo = s.helo.clone();
    let name = script.name.clone();
    let ran = tokio::task::spawn_blocking(move || {
        let d = Delivery {
            message: &message,
            sender: &sender,
            recipient: &recipient,
            orcpt: orcpt.as_deref(),
            notify: notify.as_deref(),
            ret: ret.as_deref(),
            envid: envid.as_deref(),
            user: &user,
            remote_ip: &ip,
            remote_host: &helo,
            spam,
        };
        filter.run(&script.name, &script.content, &d, &mut host)
    })
    .await;
    let outcome = ran.unwrap_or_else(|_| {
        Outcome::fallback(tern_filter::RunError::new(
            &name,
            None,
            "the interpreter failed",
        ))
    });
    if let Some(e) = &outcome.error {
        failed(shared, s.ip, &target.account, id, &e.to_string());
    }
    outcome
}

/// A script failure or an action that could not be carried out: one log
/// line and one audit record naming the account and the script.
fn failed(shared: &Shared, ip: IpAddr, account: &str, id: &str, detail: &str) {
    tracing::warn!(queue_id = %id, account, detail, "sieve: kept in INBOX");
    shared.security.audit(AuditEvent {
        kind: AuditKind::SieveFailure,
        protocol: "smtp",
        ip: Some(ip),
        account: Some(account.to_string()),
        detail: detail.to_string(),
    });
}

/// The mailbox a copy goes to: `keep` for the keep; the special-use
/// mailbox, else the named one, made with `:create`; INBOX (with a log
/// line) when the name is not usable or does not exist.
pub(crate) async fn folder(
    shared: &Shared,
    account: AccountId,
    f: &FileInto,
    keep: &str,
    id: &str,
) -> String {
    let Some(name) = &f.mailbox else {
        return keep.to_string();
    };
    let mailboxes = shared.store.mailbox_list(account).await.unwrap_or_default();
    if let Some(u) = &f.special_use
        && let Some(m) = mailboxes.iter().find(|m| {
            m.special_use
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(u))
        })
    {
        return m.name.clone();
    }
    let name = match tern_store::canonical_mailbox_name(name) {
        Ok(n) => n,
        Err(e) => {
            tracing::info!(queue_id = %id, error = %e, "sieve: fileinto a mailbox name that is not valid; INBOX");
            return "INBOX".into();
        }
    };
    if mailboxes.iter().any(|m| m.name == name) {
        return name;
    }
    if !f.create {
        // RFC 5228 4.1 leaves it open; RFC 5490 3.2 makes :create the way.
        tracing::info!(queue_id = %id, mailbox = %name, "sieve: fileinto a mailbox that does not exist (no :create); INBOX");
        return "INBOX".into();
    }
    match shared.store.mailbox_create(account, &name, None).await {
        Ok(_) | Err(StoreError::Duplicate(_)) => name,
        Err(e) => {
            tracing::warn!(queue_id = %id, mailbox = %name, error = %e, "sieve: cannot create the mailbox; INBOX");
            "INBOX".into()
        }
    }
}

/// The flags of a copy that IMAP can carry (RFC 5232 3, RFC 9051 9
/// `flag`): system flags by their spelling, keywords as atoms; the rest
/// dropped. At most 64.
pub(crate) fn flags(asked: &[String]) -> Vec<String> {
    const SYSTEM: [&str; 5] = ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"];
    let mut out: Vec<String> = Vec::new();
    for f in asked.iter().flat_map(|f| f.split_whitespace()) {
        let flag = if let Some(s) = SYSTEM.iter().find(|s| s.eq_ignore_ascii_case(f)) {
            s.to_string()
        } else if !f.is_empty()
            && f.len() <= 128
            && f.bytes().all(|b| {
                b.is_ascii_graphic()
                    && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
            })
        {
            f.to_string()
        } else {
            continue;
        };
        if out.len() < 64 && !out.iter().any(|o| o.eq_ignore_ascii_case(&flag)) {
            out.push(flag);
        }
    }
    out
}

/// Whether the message (as received, before our fields) says it was
/// delivered to `address` here before: a redirect from it now would loop.
pub(crate) fn delivered_before(head: &[u8], address: &str) -> bool {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n").peekable();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("Delivered-To") {
            continue;
        }
        let mut value = value.to_string();
        while lines
            .peek()
            .is_some_and(|l| l.starts_with(' ') || l.starts_with('\t'))
        {
            value.push_str(lines.next().unwrap_or(""));
        }
        let v = value.trim().trim_start_matches('<').trim_end_matches('>');
        if v.eq_ignore_ascii_case(address) {
            return true;
        }
    }
    false
}

/// Redirects that cannot be carried out, taken out before anything is
/// stored, so that the keep they cancelled comes back (a message is never
/// lost to a redirect): one that would loop (the message was delivered to
/// this address here before), one past the account's sending rate, one to
/// an address that is not valid or not known here. Each is logged and
/// audited.
pub(crate) async fn vet(
    shared: &Shared,
    s: &SessionInfo,
    head: &[u8],
    rcpt: &Accepted,
    target: &Target,
    outcome: &mut Outcome,
    id: &str,
) {
    let mut refused = Vec::new();
    let looped = delivered_before(head, &rcpt.address.to_string())
        || delivered_before(head, &target.account);
    for (i, send) in outcome.sends.iter().enumerate() {
        if send.kind != SendKind::Redirect {
            continue;
        }
        let why = if looped {
            Some("redirect refused: the message was delivered here before (loop)".to_string())
        } else if !shared
            .security
            .rates
            .recipients_per_account
            .check(&target.account, send.to.len().max(1) as u32)
        {
            Some("redirect refused: the account's sending rate is exhausted".to_string())
        } else {
            let mut why = None;
            for to in &send.to {
                match Address::parse(to) {
                    Err(e) => why = Some(format!("redirect to {to:?} refused: {e}")),
                    Ok(a) => {
                        if matches!(shared.store.resolve(&a).await, Ok(Resolution::UnknownUser)) {
                            why = Some(format!("redirect to {a} refused: no such address here"));
                        }
                    }
                }
            }
            why
        };
        if let Some(why) = why {
            failed(shared, s.ip, &target.account, id, &why);
            refused.push(i);
        }
    }
    if refused.is_empty() {
        return;
    }
    for i in refused.into_iter().rev() {
        outcome.sends.remove(i);
    }
    if outcome.files.is_empty() && outcome.reject.is_none() {
        outcome.files = Outcome::keep().files;
    }
}

/// Carry out the sends of every account's decision once the message is
/// stored: redirects first (an error there is the caller's 451: a
/// redirected message may exist nowhere else), then replies and
/// notifications (their failure is logged), then the ids to remember.
pub(crate) async fn carry_out(
    shared: &Shared,
    env: &Envelope,
    decided: &[Decided<'_>],
    whole: &[u8],
    id: &str,
) -> Result<(), String> {
    for d in decided {
        let mut vacation_sent = false;
        for send in &d.outcome.sends {
            let bytes = d.outcome.message(send.message, whole).to_vec();
            match send.kind {
                SendKind::Redirect => {
                    for to in &send.to {
                        redirect(shared, env, d, send, to, &bytes, id).await?;
                    }
                }
                SendKind::Vacation | SendKind::Notify => {
                    let Some(queue) = &shared.queue else {
                        continue;
                    };
                    for to in &send.to {
                        match queue.send_auto(to, bytes.clone()).await {
                            Ok(()) => {
                                vacation_sent |= send.kind == SendKind::Vacation;
                                tracing::info!(queue_id = %id, account = %d.target.account, to = %to, kind = ?send.kind, "sieve: sent");
                            }
                            Err(e) => {
                                tracing::warn!(queue_id = %id, to = %to, error = %e, "sieve: reply or notification not sent")
                            }
                        }
                    }
                }
            }
        }
        let now = now_secs();
        for r in &d.outcome.remember {
            if r.vacation && !vacation_sent {
                continue;
            }
            if let Err(e) = shared
                .store
                .sieve_remember(d.target.account_id, &r.id, r.expiry_secs, r.refresh, now)
                .await
            {
                tracing::warn!(queue_id = %id, error = %e, "sieve: cannot record a duplicate id");
            }
        }
    }
    Ok(())
}

/// RFC 5228 4.2: the message to `to`, the envelope sender kept — rewritten
/// with SRS when it leaves for another domain — into a local account's
/// INBOX (its own script does not run: no redirect chains inside one
/// server) or through the queue.
async fn redirect(
    shared: &Shared,
    env: &Envelope,
    d: &Decided<'_>,
    send: &Send,
    to: &str,
    bytes: &[u8],
    id: &str,
) -> Result<(), String> {
    let addr = Address::parse(to).map_err(|e| format!("redirect to {to:?}: {e}"))?;
    let resolution = shared
        .store
        .resolve(&addr)
        .await
        .map_err(|e| format!("redirect to {addr}: {e}"))?;
    let remote: Vec<String> = match resolution {
        Resolution::Local { accounts, remote } => {
            let copies: Vec<NewMessage> = accounts
                .iter()
                .map(|t| {
                    let mut b = format!(
                        "Return-Path: <{}>\r\nDelivered-To: {}\r\n",
                        env.sender, addr
                    )
                    .into_bytes();
                    b.extend_from_slice(bytes);
                    NewMessage {
                        account_id: t.account_id,
                        mailbox: MailboxSel::Name("INBOX".into()),
                        bytes: b,
                        flags: Vec::new(),
                        internal_date: now_secs(),
                        internal_zone: 0,
                        summary: None,
                    }
                })
                .collect();
            if !copies.is_empty() {
                shared
                    .store
                    .deliver(copies)
                    .await
                    .map_err(|e| format!("redirect to {addr}: {e}"))?;
            }
            remote.iter().map(|a| a.to_string()).collect()
        }
        Resolution::UnknownUser => {
            tracing::warn!(queue_id = %id, to = %addr, "sieve: redirect to an unknown local address dropped; the message was kept");
            return Ok(());
        }
        Resolution::NotLocal => vec![addr.to_string()],
    };
    if remote.is_empty() {
        return Ok(());
    }
    let Some(queue) = &shared.queue else {
        return Err("no queue on this listener".into());
    };
    let sender = srs_sender(
        shared,
        &env.sender,
        d.target.account.rsplit('@').next().unwrap_or(""),
    )
    .await
    .map_err(|e| format!("SRS: {e}"))?;
    let q = QueueNew {
        sender,
        recipients: remote
            .into_iter()
            .map(|rcpt| QueueRcptNew {
                rcpt,
                orcpt: None,
                notify: send.notify.clone().unwrap_or_default(),
            })
            .collect(),
        envid: env.envid.clone(),
        ret: send.ret.clone().or_else(|| env.ret.clone()),
        requiretls: env.requiretls,
        data: bytes.to_vec(),
    };
    queue
        .enqueue(&q)
        .await
        .map_err(|e| format!("redirect to {addr}: {e}"))?;
    tracing::info!(queue_id = %id, account = %d.target.account, to = %addr, "sieve: redirected");
    Ok(())
}

/// RFC 5429 2.1: a refusal the SMTP reply cannot carry (other recipients
/// took the message) is a delivery status notification to the sender —
/// never to the null sender.
pub(crate) async fn bounce_refusal(
    shared: &Shared,
    env: &Envelope,
    rcpt: &Accepted,
    reason: &str,
    original: &[u8],
    id: &str,
) {
    let Some(queue) = &shared.queue else {
        return;
    };
    if env.sender.is_empty() {
        return;
    }
    let now = now_secs();
    let status = [tern_queue::dsn::RcptStatus {
        rcpt: rcpt.address.to_string(),
        orcpt: rcpt.orcpt.clone(),
        status: "5.7.1".into(),
        remote_mta: None,
        diagnostic: format!("rejected by the recipient's filter: {}", one_line(reason)),
    }];
    let report = tern_queue::dsn::build(&tern_queue::dsn::Report {
        hostname: &shared.config.hostname,
        sender: &env.sender,
        envid: env.envid.as_deref(),
        ret: env.ret.as_deref(),
        arrival: now,
        now,
        action: tern_queue::dsn::Action::Failed,
        rcpts: &status,
        original,
    });
    if let Err(e) = queue.send_auto(&env.sender, report).await {
        tracing::warn!(queue_id = %id, error = %e, "sieve: refusal notice not sent");
    }
}

/// A reason as one line of printable ASCII, at most 200 characters (an
/// SMTP reply line, RFC 5321 4.5.3.1.5).
pub(crate) fn one_line(reason: &str) -> String {
    let line: String = reason
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(200)
        .collect();
    if line.is_empty() {
        "rejected by the recipient's filter".into()
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_what_imap_can_carry() {
        let asked = vec![
            "\\seen \\Flagged".to_string(),
            "$Label1".into(),
            "bad(flag".into(),
            "\\Recent".into(),
            "\\SEEN".into(),
        ];
        assert_eq!(flags(&asked), ["\\Seen", "\\Flagged", "$Label1"]);
    }

    #[test]
    fn a_delivered_to_field_names_a_loop() {
        let head = b"Received: x\r\nDelivered-To:\r\n <bob@example.org>\r\nSubject: y\r\n";
        assert!(delivered_before(head, "BOB@example.org"));
        assert!(!delivered_before(head, "alice@example.org"));
    }

    #[test]
    fn a_reason_is_one_printable_line() {
        assert_eq!(one_line("no\r\nthanks \u{7}é"), "no thanks ??");
        assert_eq!(one_line("\r\n"), "rejected by the recipient's filter");
    }
}
