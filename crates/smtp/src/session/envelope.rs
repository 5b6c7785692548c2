//! The envelope: MAIL FROM and RCPT TO (RFC 5321 4.1.1.2, 4.1.1.3) with
//! SIZE (RFC 1870), DSN parameters (RFC 3461), SMTPUTF8 (RFC 6531) and
//! REQUIRETLS (RFC 8689); the relay rules, rates and greylisting. Rule:
//! check the command sequence, then policy, then the store.

use std::net::IpAddr;

use tern_common::quick_ack::QuickAck;
use tern_common::security::{AuditEvent, AuditKind};
use tern_store::Resolution;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Mode, Session, Step, Txn, reply};
use crate::address::{self, Rcpt};
use crate::deliver::{Accepted, Envelope};
use crate::framing::ChunkState;
use crate::numbers::Size;
use crate::replies as R;
use crate::spool::Spool;

impl<S> Session<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + QuickAck,
{
    /// `size` is SIZE= as the client wrote it (the parsed `from.size`
    /// saturates).
    pub(super) async fn mail(
        &mut self,
        from: smtp_proto::MailFrom<String>,
        size: Option<Size>,
    ) -> Step {
        if self.helo.is_none() {
            return self.error(R::HELO_FIRST);
        }
        if self.txn.is_some() {
            return self.error(R::NESTED_MAIL);
        }
        if self.mode != Mode::Command {
            return self.error(R::BAD_SEQUENCE);
        }
        if self.shared.submission && self.authed.is_none() {
            return self.error(R::AUTH_REQUIRED);
        }
        let max = self.shared.config.smtp.max_message_size;
        let over = match size {
            Some(Size::Octets(n)) => n > max,
            Some(Size::TooBig) => true,
            Some(Size::Malformed) | None => false,
        };
        if over {
            return self.error(&R::message_too_big(max));
        }
        if from.flags & smtp_proto::MAIL_BODY_BINARYMIME != 0 {
            return self.error(R::NO_BINARYMIME);
        }
        let smtputf8 = from.flags & smtp_proto::MAIL_SMTPUTF8 != 0;
        let requiretls = from.flags & smtp_proto::MAIL_REQUIRETLS != 0;
        if requiretls && self.peer.tls.is_none() {
            return self.error(R::REQUIRETLS_NEEDS_TLS);
        }
        if !smtputf8 && !from.address.is_ascii() {
            return self.error(R::NON_ASCII);
        }
        let Some(sender) = address::sender(&from.address) else {
            return self.bad(R::BAD_SENDER).await;
        };
        if let Some((account, name)) = self.authed.clone()
            && let Some(step) = self.check_sender(account, &name, &sender).await
        {
            return step;
        }
        // Inbound mail is limited per IP; users are limited per account
        // (check_sender), whatever address they submit from.
        if self.authed.is_none()
            && !self
                .shared
                .security
                .rates
                .messages_per_ip
                .check(&tern_common::limits::ip_group(self.peer.ip), 1)
        {
            self.shared
                .security
                .metrics
                .count(tern_common::metrics::Metric::LimiterRefusals {
                    protocol: "smtp",
                    layer: "rate_messages",
                });
            return self.error(R::MESSAGES_PER_IP);
        }
        let ret = if from.flags & smtp_proto::MAIL_RET_FULL != 0 {
            Some("FULL".to_string())
        } else if from.flags & smtp_proto::MAIL_RET_HDRS != 0 {
            Some("HDRS".to_string())
        } else {
            None
        };
        self.txn = Some(Txn {
            env: Envelope {
                sender,
                smtputf8,
                eightbit: from.flags & smtp_proto::MAIL_BODY_8BITMIME != 0,
                requiretls,
                ret,
                envid: from.env_id.clone(),
                rcpts: Vec::new(),
            },
            data: Spool::new(self.shared.store.spool_dir()),
            too_big: false,
            used_bdat: false,
            chunk: ChunkState::default(),
            deadline: None,
        });
        reply(&mut self.out, R::SENDER_OK);
        Step::NeedMore
    }

    pub(super) async fn rcpt(&mut self, to: smtp_proto::RcptTo<String>) -> Step {
        let Some(t) = self.txn.as_ref() else {
            return self.error(R::MAIL_BEFORE_RCPT);
        };
        if t.env.rcpts.len() >= self.shared.config.smtp.max_recipients {
            // RFC 5321 4.5.3.1.8: the client sends the rest later.
            refused(&to.address, R::TOO_MANY_RECIPIENTS);
            reply(&mut self.out, R::TOO_MANY_RECIPIENTS);
            return Step::NeedMore;
        }
        if !t.env.smtputf8 && !to.address.is_ascii() {
            refused(&to.address, R::NON_ASCII);
            return self.error(R::NON_ASCII);
        }
        let notify = notify_string(to.flags);
        let is_ours = |d: &str| {
            let store = self.shared.store.clone();
            let d = d.to_string();
            async move { store.is_local_domain(&d).await }
        };
        // A bounce to an address tern wrote with SRS goes on to the
        // sender it stands for.
        let (addr, accounts, remote) = match self.srs_rcpt(&to.address).await {
            Some(Ok(orig)) => (orig.clone(), Vec::new(), vec![orig]),
            Some(Err(r)) => {
                refused(&to.address, r);
                return if r.starts_with('4') {
                    self.error(r)
                } else {
                    self.bad(r).await
                };
            }
            None => {
                let addr = match address::classify(&to.address) {
                    Rcpt::Mailbox(a) => a,
                    Rcpt::Undeliverable { domain } => {
                        return match is_ours(&domain).await {
                            Ok(true) => {
                                refused(&to.address, R::NO_SUCH_USER);
                                self.bad_recipient(R::NO_SUCH_USER, &domain).await
                            }
                            Ok(false) => self.relay_denied(&to.address).await,
                            Err(e) => {
                                tracing::warn!(error = %e, "smtp local domain lookup failed");
                                refused(&to.address, R::TEMP_FAILURE);
                                self.error(R::TEMP_FAILURE)
                            }
                        };
                    }
                    Rcpt::Literal => return self.relay_denied(&to.address).await,
                    Rcpt::Invalid => {
                        refused(&to.address, R::BAD_RECIPIENT_SYNTAX);
                        return self.bad(R::BAD_RECIPIENT_SYNTAX).await;
                    }
                };
                let (accounts, remote) = match self.shared.store.resolve(&addr).await {
                    Ok(Resolution::Local { accounts, remote }) => (accounts, remote),
                    Ok(Resolution::UnknownUser) => {
                        refused(&to.address, R::NO_SUCH_USER);
                        let domain = addr.domain().to_string();
                        return self.bad_recipient(R::NO_SUCH_USER, &domain).await;
                    }
                    Ok(Resolution::NotLocal) if self.authed.is_some() => {
                        (Vec::new(), vec![addr.clone()])
                    }
                    Ok(Resolution::NotLocal) => return self.relay_denied(&to.address).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "smtp recipient lookup failed");
                        refused(&to.address, R::TEMP_FAILURE);
                        return self.error(R::TEMP_FAILURE);
                    }
                };
                (addr, accounts, remote)
            }
        };
        if let Some((_, name)) = &self.authed {
            // Contain a compromised account: recipients per hour.
            if !self
                .shared
                .security
                .rates
                .recipients_per_account
                .check(name, 1)
            {
                self.shared
                    .security
                    .metrics
                    .count(tern_common::metrics::Metric::LimiterRefusals {
                        protocol: "submission",
                        layer: "rate_recipients",
                    });
                refused(&to.address, R::RECIPIENTS_PER_HOUR);
                reply(&mut self.out, R::RECIPIENTS_PER_HOUR);
                return Step::NeedMore;
            }
        } else if let Some(step) = self.greylist(&addr, &accounts).await {
            return step;
        }
        if let Some(t) = self.txn.as_mut() {
            t.env.rcpts.push(Accepted {
                address: addr,
                orcpt: to.orcpt.clone(),
                notify,
                accounts,
                remote,
            });
        }
        reply(&mut self.out, R::RECIPIENT_OK);
        Step::NeedMore
    }

    /// `None` unless `path` is an SRS address of a domain here (RFC 5321
    /// 4.5.5 bounces to a forwarded message's rewritten sender); else the
    /// original sender it reverses to, or the refusal: forged, expired or
    /// malformed is a 550, a store that cannot answer a 451.
    async fn srs_rcpt(&self, path: &str) -> Option<Result<tern_common::Address, &'static str>> {
        let (local, domain) = path.trim().rsplit_once('@')?;
        if !tern_store::is_srs(local) {
            return None;
        }
        let domain = tern_common::normalize_domain(domain).ok()?;
        match self.shared.store.is_local_domain(&domain).await {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "smtp local domain lookup failed");
                return Some(Err(R::TEMP_FAILURE));
            }
        }
        let srs = match self.shared.store.srs().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "smtp cannot read the SRS secrets");
                return Some(Err(R::TEMP_FAILURE));
            }
        };
        match srs.reverse(local, tern_common::time::now_secs()) {
            Ok(orig) => Some(tern_common::Address::parse(&orig).map_err(|_| R::BAD_SRS)),
            Err(e) => {
                tracing::info!(rcpt = %path, reason = %e, "smtp SRS bounce refused");
                Some(Err(R::BAD_SRS))
            }
        }
    }

    pub(super) async fn relay_denied(&mut self, rcpt: &str) -> Step {
        refused(rcpt, R::RELAY_DENIED);
        self.shared.security.audit(AuditEvent {
            kind: AuditKind::RelayAttempt,
            protocol: "smtp",
            ip: Some(self.peer.ip),
            account: None,
            detail: format!("RCPT TO:<{rcpt}> refused"),
        });
        self.bad(R::RELAY_DENIED).await
    }

    /// A VIP sender of every recipient account is not kept waiting — by
    /// the envelope sender (the From is not known yet), and only when SPF
    /// passes for it (RFC 7208 2.4): anyone can write a VIP's address in
    /// MAIL FROM. What the From proves is checked at the end of data like
    /// any mail's.
    async fn vip_proved(&self, accounts: &[tern_store::Target]) -> bool {
        let sender = self
            .txn
            .as_ref()
            .map(|t| t.env.sender.to_lowercase())
            .unwrap_or_default();
        if sender.is_empty() || accounts.is_empty() {
            return false;
        }
        for t in accounts {
            let vip = self.shared.store.vip_matches(t.account_id, &sender).await;
            if !vip.unwrap_or(false) {
                return false;
            }
        }
        let Some(checker) = &self.shared.checker else {
            return false;
        };
        let helo = self.helo.clone().unwrap_or_default();
        checker
            .spf_mail_from_passes(self.peer.ip, &helo, &sender)
            .await
    }

    /// Greylisting for the recipient's domain, when it asked for it (its
    /// own setting in the store, else `[greylist] domains`).
    pub(super) async fn greylist(
        &mut self,
        rcpt: &tern_common::Address,
        accounts: &[tern_store::Target],
    ) -> Option<Step> {
        if self.shared.config.checks.is_trusted(self.peer.ip) {
            return None;
        }
        if self.vip_proved(accounts).await {
            return None;
        }
        let own = match self.shared.store.domain_policy(rcpt.domain()).await {
            Ok(p) => p.and_then(|p| p.greylist_secs),
            Err(e) => {
                tracing::warn!(error = %e, "smtp domain policy lookup failed");
                None
            }
        };
        let g = &self.shared.config.greylist;
        let delay = g.delay_for(rcpt.domain(), own)?;
        let net = match self.peer.ip {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                IpAddr::from([o[0], o[1], o[2], 0])
            }
            v6 => tern_common::limits::ip_group(v6),
        };
        let sender = self
            .txn
            .as_ref()
            .map(|t| t.env.sender.clone())
            .unwrap_or_default();
        let policy = tern_store::GreylistPolicy {
            delay: delay.min(i64::MAX as u64) as i64,
            retry_window: g.retry_window_secs as i64,
            pass_ttl: (g.pass_ttl_days * 86400) as i64,
        };
        let now = tern_common::time::now_secs();
        match self
            .shared
            .store
            .greylist_check(net, &sender, &rcpt.to_string(), now, policy)
            .await
        {
            Ok(tern_store::Greylist::Pass) => None,
            Ok(tern_store::Greylist::Defer) => {
                self.shared.security.audit(AuditEvent {
                    kind: AuditKind::Greylist,
                    protocol: "smtp",
                    ip: Some(self.peer.ip),
                    account: None,
                    detail: format!("deferred <{sender}> -> <{rcpt}>"),
                });
                refused(&rcpt.to_string(), R::GREYLISTED);
                reply(&mut self.out, R::GREYLISTED);
                Some(Step::NeedMore)
            }
            Err(e) => {
                tracing::warn!(error = %e, "greylist check failed; accepting");
                None
            }
        }
    }
}

/// Every refused recipient is logged with the reply that refused it, the
/// line an admin searches for when mail "never arrived".
fn refused(rcpt: &str, reply: &str) {
    tracing::info!(rcpt = %rcpt, reason = %reply, "smtp recipient refused");
}

/// RFC 3461 NOTIFY flags as the comma list the queue keeps.
fn notify_string(flags: u64) -> String {
    if flags & smtp_proto::RCPT_NOTIFY_NEVER != 0 {
        return "NEVER".into();
    }
    let mut v = Vec::new();
    if flags & smtp_proto::RCPT_NOTIFY_SUCCESS != 0 {
        v.push("SUCCESS");
    }
    if flags & smtp_proto::RCPT_NOTIFY_FAILURE != 0 {
        v.push("FAILURE");
    }
    if flags & smtp_proto::RCPT_NOTIFY_DELAY != 0 {
        v.push("DELAY");
    }
    v.join(",")
}
