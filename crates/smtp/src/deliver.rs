//! Local delivery of an accepted message: trace headers, one copy per
//! account, durable before the reply, forwarding for aliases with remote
//! targets.

use std::collections::HashMap;
use std::sync::Arc;

use tern_common::Address;
use tern_common::time::{now_secs, rfc5322_date};
use tern_store::{MailboxSel, NewMessage, QueueNew, QueueRcptNew, StoreError, Target};

use crate::Shared;
use crate::replies as R;
use crate::screener::Screening;
use crate::spool::{Body, Message, SpoolFile};
use crate::transaction::srs_sender;
pub use crate::transaction::{Accepted, Envelope, SessionInfo};

/// RFC 5321 4.4 trace field, with the protocol names of RFC 3848/6531.
pub fn received(
    hostname: &str,
    s: &SessionInfo,
    env: &Envelope,
    id: &str,
    for_rcpt: Option<&str>,
) -> String {
    let proto = match (env.smtputf8, s.esmtp, s.tls.is_some(), s.authenticated) {
        (true, _, true, _) => "UTF8SMTPS",
        (true, _, false, _) => "UTF8SMTP",
        (false, true, true, true) => "ESMTPSA",
        (false, true, false, true) => "ESMTPA",
        (false, true, true, false) => "ESMTPS",
        (false, true, false, false) => "ESMTP",
        (false, false, true, _) => "SMTPS",
        (false, false, false, _) => "SMTP",
    };
    let helo: String = s
        .helo
        .chars()
        .filter(|c| !c.is_control() && *c != '(' && *c != ')')
        .take(255)
        .collect();
    let from = if s.hide_ip {
        helo
    } else {
        format!("{helo} ([{}])", s.ip)
    };
    let mut h = format!("Received: from {from}\r\n\tby {hostname} (tern) with {proto}");
    if let Some(t) = &s.tls {
        h.push_str(&format!(
            "\r\n\t(version={} cipher={})",
            t.version, t.cipher
        ));
    }
    h.push_str(&format!(" id {id}"));
    if let Some(r) = for_rcpt {
        h.push_str(&format!("\r\n\tfor <{r}>"));
    }
    h.push_str(&format!(";\r\n\t{}\r\n", rfc5322_date(now_secs())));
    h
}

/// Deliver to every account once and queue remote alias targets; the reply
/// goes out only after the store has fsynced and committed every copy.
/// Each copy is its own trace fields, the header and the body; a spooled
/// body goes from the spool file to each Maildir file without passing
/// through memory (`Store::deliver_spooled`) — unless a Sieve script
/// edited the message (editheader), when every copy is written from
/// memory. An account with an active Sieve script gets what its script
/// decides (`sieve.rs`); the others get the keep.
/// `verdict` is what the inbound checks found (port 25): a Junk disposition
/// files the keep in Junk, and forwarded copies get an ARC seal. `rspamd`
/// is what rspamd said (its `add header` files in Junk too); each account's
/// classifier probability (`spam.rs`) decides for that account's copy.
/// Each stored copy carries one `X-Spam-Status` combining both (`Spam`);
/// forwarded copies carry none of tern's: the next hop judges for itself.
pub async fn deliver(
    shared: &Shared,
    s: &SessionInfo,
    env: &Envelope,
    msg: Message,
    verdict: Option<&tern_mailauth::Outcome>,
    rspamd: Option<crate::spam::RspamdSaid>,
    id: &str,
) -> String {
    let junk_all = verdict
        .is_some_and(|v| matches!(v.disposition, tern_mailauth::Disposition::Junk))
        || rspamd.is_some_and(|r| r.junk);
    let host = &shared.config.hostname;
    let single = (env.rcpts.len() == 1).then(|| env.rcpts[0].address.to_string());
    let trace = received(host, s, env, id, single.as_deref());
    let mut seen = std::collections::HashSet::new();
    let mut remote: Vec<(Address, &Accepted)> = Vec::new();
    let mut targets: Vec<(&Accepted, &Target)> = Vec::new();
    for r in &env.rcpts {
        for t in &r.accounts {
            if seen.insert(t.account_id) {
                targets.push((r, t));
            }
        }
        for a in &r.remote {
            if !remote.iter().any(|(x, _)| x == a) {
                remote.push((a.clone(), r));
            }
        }
    }
    let named: Vec<(i64, String)> = targets
        .iter()
        .map(|(_, t)| (t.account_id, t.account.clone()))
        .collect();
    // Spam checks for mail from the internet only: a user's own
    // submissions are theirs (rspamd's word on one, when submissions are
    // checked, is shown but files nothing). The Screener of a local
    // recipient judges both: a colleague's mail is not waved through by
    // being local.
    let threshold = shared.config.spam.junk_threshold;
    let (spam, screened) = if s.authenticated {
        let author = crate::screener::submitted_author(&msg.head);
        let screened =
            crate::screener::judge(shared, env, &msg.head, author.as_deref(), &named, id).await;
        let mut spam = Spam::new(HashMap::new(), rspamd, false, threshold);
        spam.vips = trusted(&screened);
        (spam, screened)
    } else {
        let accounts: Vec<i64> = targets.iter().map(|(_, t)| t.account_id).collect();
        let results = verdict.map(|v| results(&v.header)).unwrap_or_default();
        let classified = crate::spam::classify(shared, &msg, &accounts, &results, id).await;
        let proved = verdict.and_then(|v| v.author.as_deref());
        let screened = crate::screener::judge(shared, env, &msg.head, proved, &named, id).await;
        let mut spam = Spam::new(classified, rspamd, junk_all, threshold);
        spam.vips = trusted(&screened);
        (spam, screened)
    };
    let decided = decide(shared, s, env, &msg, &trace, &targets, &spam, &screened, id).await;
    let mut decided = match decided {
        Ok(d) => d,
        Err(reply) => return reply,
    };
    let whole: &[u8] = decided.whole.as_ref().map_or(&[], |w| w.bytes.as_slice());
    let in_memory = decided.edited && matches!(msg.body, Body::File(_));
    let (copies, mut folders) = copies(
        shared, env, &decided, &msg, &trace, &spam, &screened, in_memory, id,
    )
    .await;
    let refused: Vec<&crate::sieve::Decided<'_>> = decided
        .accounts
        .iter()
        .filter(|d| d.outcome.reject.is_some())
        .collect();
    let rcpts: Vec<String> = env.rcpts.iter().map(|r| r.address.to_string()).collect();
    let tls = s.tls.as_ref().map(|t| t.version.as_str()).unwrap_or("none");
    let size = msg.len();
    // RFC 5429 2.1: refused by every recipient's script, with nothing
    // stored or forwarded: the refusal is the SMTP reply.
    let refusal = (!refused.is_empty()
        && refused.len() == decided.accounts.len()
        && copies.is_empty()
        && remote.is_empty())
    .then(|| {
        let reason = refused[0]
            .outcome
            .reject
            .as_ref()
            .map_or("", |r| r.reason.as_str());
        R::sieve_refused(&crate::sieve::one_line(reason))
    });
    let once = s.once.clone();
    let result = match &msg.body {
        _ if copies.is_empty() => Ok(Vec::new()),
        Body::Memory(_) => shared.store.deliver_once(copies, once).await,
        _ if in_memory => shared.store.deliver_once(copies, once).await,
        Body::File(f) => deliver_file(shared, copies, f, once).await,
    };
    let reply = match result {
        _ if refusal.is_some() => refusal.unwrap_or_default(),
        Ok(_) => {
            let sent = crate::sieve::carry_out(shared, env, &decided.accounts, whole, id).await;
            match sent {
                Err(e) => {
                    tracing::error!(queue_id = %id, error = %e, "smtp: a Sieve redirect failed");
                    R::TEMP_FAILURE.to_string()
                }
                Ok(()) => {
                    for d in &refused {
                        let reason = d.outcome.reject.as_ref().map_or("", |r| r.reason.as_str());
                        crate::sieve::bounce_refusal(
                            shared,
                            env,
                            d.rcpt,
                            reason,
                            head_of(whole, &msg.head),
                            id,
                        )
                        .await;
                    }
                    if !remote.is_empty() {
                        let read = decided.whole.take();
                        forward(shared, env, &trace, &msg, read, &remote, verdict, id).await
                    } else {
                        R::queued(id)
                    }
                }
            }
        }
        Err(StoreError::OverQuota { account }) => R::mailbox_full(&account),
        // A fetch repeated after a crash: stored the first time.
        Err(StoreError::AlreadyDelivered) => R::ALREADY_DELIVERED.to_string(),
        Err(e) => {
            tracing::error!(queue_id = %id, error = %e, "smtp delivery failed");
            R::TEMP_FAILURE.to_string()
        }
    };
    count_outcome(&reply);
    if !s.authenticated && reply.starts_with("250") {
        crate::reports::read(shared, env, &msg, id).await;
    }
    // RFC 8601: the verdict as the Authentication-Results field has it.
    let checks = verdict.map_or_else(|| "-".to_string(), |v| results(&v.header));
    if !remote.is_empty() {
        folders.push("queue".into());
    }
    for d in &decided.accounts {
        if d.outcome.reject.is_some() {
            folders.push("refused".into());
        } else if d.outcome.files.is_empty() {
            folders.push("discarded".into());
        }
        if !d.outcome.sends.is_empty() {
            folders.push("sent".into());
        }
    }
    folders.dedup();
    tracing::info!(
        queue_id = %id,
        from = %env.sender,
        rcpts = %rcpts.join(","),
        size,
        tls,
        ip = %s.ip,
        checks = %checks,
        folder = %folders.join(","),
        result = %reply,
        "smtp transaction"
    );
    reply
}

/// The copies to store: each account's decision (the keep, or what its
/// script filed), one per mailbox and version, with the folders they go
/// to for the log line. A copy is its own trace fields and the message —
/// the spooled body is added by the store, unless the copy is a version a
/// script made or everything is written from memory (`in_memory`).
#[allow(clippy::too_many_arguments)]
async fn copies(
    shared: &Shared,
    env: &Envelope,
    decided: &Decisions<'_>,
    msg: &Message,
    trace: &str,
    spam: &Spam,
    screened: &HashMap<i64, Screening>,
    in_memory: bool,
    id: &str,
) -> (Vec<NewMessage>, Vec<String>) {
    let whole: &[u8] = decided.whole.as_ref().map_or(&[], |w| w.bytes.as_slice());
    let mut copies: Vec<NewMessage> = Vec::new();
    let mut placed: Vec<(tern_store::AccountId, String, usize)> = Vec::new();
    let mut folders: Vec<String> = Vec::new();
    let keep_folder = |account| target_mailbox(shared, account, spam.junk(account));
    for d in &decided.accounts {
        if d.outcome.reject.is_some() {
            continue;
        }
        let screening = screened
            .get(&d.target.account_id)
            .copied()
            .unwrap_or(Screening::Open);
        let keep = match screening {
            Screening::Hold { .. } if !spam.junk(d.target.account_id) => {
                crate::screener::held_mailbox(shared, d.target.account_id, id).await
            }
            Screening::Out => target_mailbox(shared, d.target.account_id, true).await,
            _ => keep_folder(d.target.account_id).await,
        };
        for f in &d.outcome.files {
            let folder = crate::sieve::folder(shared, d.target.account_id, f, &keep, id).await;
            // One copy per mailbox and version (RFC 5228 4.1): `fileinto
            // "INBOX"; keep;`, or a mailbox that fell back to INBOX.
            let mut flags = crate::sieve::flags(&f.flags);
            match screening {
                // RFC 8457: the keyword clients show as important.
                Screening::Vip => flags.push("$Important".to_string()),
                // Screened out: no notification, nothing unread.
                Screening::Out => flags.push("\\Seen".to_string()),
                // Moving it out of Screener may decide about its sender.
                Screening::Hold { verified: true } => {
                    flags.push(tern_store::FROM_VERIFIED.to_string())
                }
                _ => {}
            }
            let key = (d.target.account_id, folder.clone(), f.message);
            if let Some(i) = placed.iter().position(|k| *k == key) {
                for flag in flags {
                    if !copies[i].flags.contains(&flag) {
                        copies[i].flags.push(flag);
                    }
                }
                continue;
            }
            placed.push(key);
            let mut bytes = format!(
                "Return-Path: <{}>\r\nDelivered-To: {}\r\n",
                env.sender, d.rcpt.address
            )
            .into_bytes();
            bytes.extend_from_slice(&spam.fields(d.target.account_id));
            if f.message != 0 || in_memory {
                bytes.extend_from_slice(d.outcome.message(f.message, whole));
            } else {
                bytes.extend_from_slice(trace.as_bytes());
                bytes.extend_from_slice(&msg.head);
                if let Body::Memory(b) = &msg.body {
                    bytes.extend_from_slice(b);
                }
            }
            if !folders.contains(&folder) {
                folders.push(folder.clone());
            }
            copies.push(NewMessage {
                account_id: d.target.account_id,
                mailbox: MailboxSel::Name(folder),
                bytes,
                flags,
                internal_date: now_secs(),
                internal_zone: 0,
                summary: None,
            });
        }
    }
    (copies, folders)
}

/// The accounts whose sender is a VIP or approved: their copies are never
/// filed in Junk or marked as spam.
fn trusted(screened: &HashMap<i64, Screening>) -> std::collections::HashSet<i64> {
    screened
        .iter()
        .filter(|(_, s)| matches!(s, Screening::Vip | Screening::Approved))
        .map(|(a, _)| *a)
        .collect()
}

/// The original's header section for a refusal notice: from the whole
/// message when Sieve read it, else the header as received.
fn head_of<'a>(whole: &'a [u8], head: &'a [u8]) -> &'a [u8] {
    if whole.is_empty() { head } else { whole }
}

/// The spam verdicts of one message: which accounts' copies go to Junk,
/// and the figure each account's copy carries (and Sieve's `spamtest`).
#[derive(Debug)]
struct Spam {
    /// The classifier's probability, per account it could judge for.
    classified: std::collections::HashMap<i64, f64>,
    rspamd: Option<crate::spam::RspamdSaid>,
    /// The checks or rspamd filed it in Junk for everyone.
    junk_all: bool,
    threshold: f64,
    /// Accounts whose sender is a VIP or approved: never filed in Junk by
    /// spam checks.
    vips: std::collections::HashSet<i64>,
}

impl Spam {
    fn new(
        classified: std::collections::HashMap<i64, f64>,
        rspamd: Option<crate::spam::RspamdSaid>,
        junk_all: bool,
        threshold: f64,
    ) -> Spam {
        Spam {
            classified,
            rspamd,
            junk_all,
            threshold,
            vips: Default::default(),
        }
    }

    fn junk(&self, account: i64) -> bool {
        // A VIP's mail is never filed in Junk by spam checks (a DMARC
        // `p=reject` still refuses it before this).
        !self.vips.contains(&account)
            && (self.junk_all
                || self
                    .classified
                    .get(&account)
                    .is_some_and(|p| *p >= self.threshold))
    }

    /// The account's figure for Sieve's `spamtest`: the higher of the
    /// classifier's and rspamd's score over its threshold (capped at 1);
    /// 0 for a sender the account trusts.
    fn probability(&self, account: i64) -> Option<f64> {
        let rspamd = self
            .rspamd
            .filter(|r| r.required > 0.0)
            .map(|r| (r.score / r.required).clamp(0.0, 1.0));
        let p = match (self.classified.get(&account).copied(), rspamd) {
            (Some(a), Some(b)) => a.max(b),
            (a, b) => a.or(b)?,
        };
        Some(if self.vips.contains(&account) { 0.0 } else { p })
    }

    /// The account's copy's one `X-Spam-Status` (and `X-Spam-Score`), from
    /// whichever filters judged it: rspamd's score when it was asked, with
    /// the classifier's probability beside it. `Yes` when either files the
    /// copy in Junk — except for a sender the account trusts, whose copy
    /// says `No` (`headers::trusted`).
    fn fields(&self, account: i64) -> Vec<u8> {
        let mut detail = Vec::new();
        let (mut score, mut spam) = (None, false);
        if let Some(r) = self.rspamd {
            score = Some(r.score);
            spam |= r.junk;
            detail.push(format!("required={:.2} rspamd", r.required));
        }
        if let Some(&p) = self.classified.get(&account) {
            spam |= p >= self.threshold;
            let t = self.threshold;
            detail.push(match score {
                Some(_) => format!("classifier={p:.2} required={t:.2} tern-classifier"),
                None => format!("required={t:.2} tern-classifier"),
            });
            score = score.or(Some(p));
        }
        let Some(score) = score else {
            return Vec::new();
        };
        let detail = detail.join("; ");
        if self.vips.contains(&account) {
            return tern_spam::headers::trusted(&format!("score={score:.2} {detail}"));
        }
        tern_spam::headers::fields(spam, score, &detail)
    }
}

/// What every account's script decided, and the whole message when any
/// script read it (held within the server's budget until delivery ends).
struct Decisions<'a> {
    accounts: Vec<crate::sieve::Decided<'a>>,
    /// Our trace field and the message, as the scripts read it.
    whole: Option<crate::spool::Whole>,
    /// Some script stored a version of its own (editheader).
    edited: bool,
}

/// Run the active script of every account that has one; the keep for the
/// others. An error reading the scripts or the message is the 451 to send.
#[allow(clippy::too_many_arguments)]
async fn decide<'a>(
    shared: &Shared,
    s: &SessionInfo,
    env: &Envelope,
    msg: &Message,
    trace: &str,
    targets: &[(&'a Accepted, &'a Target)],
    spam: &Spam,
    screened: &HashMap<i64, Screening>,
    id: &str,
) -> Result<Decisions<'a>, String> {
    let mut scripts = Vec::with_capacity(targets.len());
    for (_, t) in targets {
        // Held or screened-out mail is not the account's yet: no script
        // runs for it.
        if matches!(
            screened.get(&t.account_id),
            Some(Screening::Hold { .. } | Screening::Out)
        ) {
            scripts.push(None);
            continue;
        }
        match shared.store.sieve_active(t.account_id).await {
            Ok(sc) => scripts.push(sc),
            Err(e) => {
                tracing::error!(queue_id = %id, error = %e, "smtp cannot read Sieve scripts");
                return Err(R::TEMP_FAILURE.to_string());
            }
        }
    }
    let mut out = Decisions {
        accounts: Vec::with_capacity(targets.len()),
        whole: None,
        edited: false,
    };
    // Read once, within the server's budget for whole messages; the
    // scripts share it on the blocking pool, and it goes back into the
    // `Whole` (with its share of the budget) when they are done.
    let mut shared_bytes = None;
    if scripts.iter().any(Option::is_some) {
        let mut w = msg.whole(trace.as_bytes()).await.map_err(|e| {
            tracing::error!(queue_id = %id, error = %e, "smtp cannot read the message for Sieve");
            R::TEMP_FAILURE.to_string()
        })?;
        shared_bytes = Some(Arc::new(std::mem::take(&mut w.bytes)));
        out.whole = Some(w);
    }
    for ((r, t), script) in targets.iter().zip(scripts) {
        let mut outcome = match (script, &shared_bytes) {
            (Some(sc), Some(whole)) => {
                let p = spam.probability(t.account_id);
                crate::sieve::run(shared, s, env, r, t, sc, whole.clone(), p, id).await
            }
            _ => tern_filter::Outcome::keep(),
        };
        crate::sieve::vet(shared, s, &msg.head, r, t, &mut outcome, id).await;
        out.edited |= outcome.files.iter().any(|f| f.message != 0);
        out.accounts.push(crate::sieve::Decided {
            rcpt: r,
            target: t,
            outcome,
        });
    }
    if let (Some(w), Some(bytes)) = (out.whole.as_mut(), shared_bytes) {
        w.bytes = Arc::try_unwrap(bytes).unwrap_or_else(|b| b.as_ref().clone());
    }
    Ok(out)
}

/// `tern_messages_received_total` for a message accepted (2xx), else
/// `tern_messages_rejected_total` by reason for a permanent refusal.
fn count_outcome(reply: &str) {
    use tern_common::metrics::{Metric, count};
    if reply.starts_with('2') {
        count(Metric::MessagesReceived);
    } else if reply.starts_with("552") {
        count(Metric::MessagesRejected {
            reason: "over_quota",
        });
    } else if reply.starts_with('5') {
        count(Metric::MessagesRejected { reason: "delivery" });
    }
}

/// The copies of a message whose body is in a spool file: copied file to
/// file (SQLite) or through a large object (PostgreSQL), in pieces.
async fn deliver_file(
    shared: &Shared,
    copies: Vec<NewMessage>,
    f: &SpoolFile,
    once: Option<String>,
) -> Result<Vec<tern_store::Delivered>, StoreError> {
    let body = tern_store::SpooledBody {
        path: f.path().to_path_buf(),
        offset: f.offset,
        len: f.len,
    };
    shared.store.deliver_spooled_once(copies, &body, once).await
}

/// Aliases with remote targets: the message goes to the outbound queue.
#[allow(clippy::too_many_arguments)]
async fn forward(
    shared: &Shared,
    env: &Envelope,
    trace: &str,
    msg: &Message,
    read: Option<crate::spool::Whole>,
    remote: &[(Address, &Accepted)],
    verdict: Option<&tern_mailauth::Outcome>,
    id: &str,
) -> String {
    let Some(queue) = &shared.queue else {
        tracing::error!(queue_id = %id, "smtp cannot forward: no queue on this listener");
        return R::TEMP_FAILURE.to_string();
    };
    let alias_domain = remote
        .first()
        .map(|(_, r)| r.address.domain().to_string())
        .unwrap_or_default();
    let sender = match srs_sender(shared, &env.sender, &alias_domain).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(queue_id = %id, error = %e, "smtp cannot rewrite the sender (SRS)");
            return R::TEMP_FAILURE.to_string();
        }
    };
    // The queue keeps whole messages: read within the server's budget,
    // which is held until the queue has the message.
    let read = match read {
        Some(w) => Ok(w),
        None => msg.whole(trace.as_bytes()).await,
    };
    let mut whole = match read {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(queue_id = %id, error = %e, "smtp cannot read the spooled message to queue");
            return R::TEMP_FAILURE.to_string();
        }
    };
    let mut bytes = std::mem::take(&mut whole.bytes);
    // RFC 8617: seal what we verified, with the forwarding domain's key, so
    // the next hop can trust our verdict (SRS keeps its SPF check passing
    // for us; ARC carries the original's).
    if let (Some(checker), Some(outcome)) = (&shared.checker, verdict)
        && let Ok(keys) = shared.store.dkim_keys(Some(&alias_domain)).await
        && let Some(key) = tern_mailauth::seal_key(&keys)
    {
        match checker.arc_seal(&bytes, outcome, key).await {
            Ok(sealed) => bytes = sealed,
            Err(e) => {
                tracing::warn!(queue_id = %id, error = %e, "smtp ARC sealing failed; forwarding unsealed")
            }
        }
    }
    let q = QueueNew {
        sender,
        recipients: remote
            .iter()
            .map(|(a, r)| QueueRcptNew {
                rcpt: a.to_string(),
                orcpt: r.orcpt.clone(),
                notify: r.notify.clone(),
            })
            .collect(),
        envid: env.envid.clone(),
        ret: env.ret.clone(),
        requiretls: env.requiretls,
        data: bytes,
    };
    let queued = queue.enqueue(&q).await;
    drop(whole);
    match queued {
        Ok(row) => {
            tracing::debug!(queue_id = %id, row, "smtp message queued");
            R::queued(id)
        }
        Err(e) => {
            tracing::error!(queue_id = %id, error = %e, "smtp queueing failed");
            R::TEMP_FAILURE.to_string()
        }
    }
}

/// Junk when the checks say so and the account still has a Junk mailbox.
async fn target_mailbox(shared: &Shared, account: i64, junk: bool) -> String {
    if junk && matches!(shared.store.mailbox_get(account, "Junk").await, Ok(Some(_))) {
        return "Junk".into();
    }
    "INBOX".into()
}

/// The `method=result` pairs of an Authentication-Results field (RFC 8601
/// 2.2), in order: "spf=pass dkim=none dmarc=pass".
pub fn results(header: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for part in header.split(';').skip(1) {
        let word = part.split_whitespace().next().unwrap_or("");
        if let Some((method, result)) = word.split_once('=')
            && !method.is_empty()
            && method
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            out.push(format!("{method}={result}"));
        }
    }
    if out.is_empty() {
        "none".into()
    } else {
        out.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::{Spam, results};
    use crate::spam::RspamdSaid;

    fn both(vip: bool) -> Spam {
        let rspamd = RspamdSaid {
            junk: true,
            score: 8.0,
            required: 6.0,
        };
        let mut spam = Spam::new([(1, 0.25)].into(), Some(rspamd), true, 0.9);
        if vip {
            spam.vips.insert(1);
        }
        spam
    }

    #[test]
    fn two_filters_make_one_field() {
        let f = String::from_utf8(both(false).fields(1)).unwrap();
        assert_eq!(
            f,
            "X-Spam-Status: Yes, score=8.00 required=6.00 rspamd; classifier=0.25 required=0.90 tern-classifier\r\nX-Spam-Score: 8.00\r\n"
        );
        // spamtest: the more suspicious of the two.
        assert_eq!(both(false).probability(1), Some(1.0));
        // An account the classifier could not judge: rspamd's alone.
        let f = String::from_utf8(both(false).fields(2)).unwrap();
        assert!(
            f.starts_with("X-Spam-Status: Yes, score=8.00 required=6.00 rspamd\r\n"),
            "{f}"
        );
    }

    #[test]
    fn a_trusted_senders_copy_says_no() {
        let spam = both(true);
        assert!(!spam.junk(1));
        assert_eq!(
            spam.probability(1),
            Some(0.0),
            "spamtest: certainly not spam"
        );
        let f = String::from_utf8(spam.fields(1)).unwrap();
        assert!(
            f.starts_with("X-Spam-Status: No, trusted sender (score=8.00"),
            "{f}"
        );
        assert!(!f.contains("X-Spam-Score"), "{f}");
        assert!(!f.contains("Yes"), "{f}");
    }

    #[test]
    fn nothing_judged_means_no_field() {
        let spam = Spam::new(Default::default(), None, false, 0.9);
        assert!(spam.fields(1).is_empty());
        assert_eq!(spam.probability(1), None);
    }

    #[test]
    fn results_are_the_method_result_pairs_of_the_field() {
        let h = "Authentication-Results: mx.example;\r\n\tspf=pass smtp.mailfrom=a@b.example;\r\n\tdkim=fail (bad signature) header.d=b.example;\r\n\tdmarc=pass header.from=b.example\r\n";
        assert_eq!(results(h), "spf=pass dkim=fail dmarc=pass");
        // A field with no results at all (RFC 8601 2.2 "none").
        assert_eq!(
            results("Authentication-Results: mx.example; none\r\n"),
            "none"
        );
    }
}
