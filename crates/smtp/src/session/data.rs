//! The message: DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030), the size and
//! time bounds, the inbound checks on port 25 and delivery. Rule: `250` is
//! sent only after the store has committed every copy (RFC 5321 6.1).

use std::time::{Duration, Instant};

use tern_common::quick_ack::QuickAck;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::Instrument;

use super::{MESSAGE_TIMEOUTS, Mode, Session, Step, Txn, reply};
use crate::deliver::{self, Envelope};
use crate::framing::{FrameError, check_chunk, take_line};
use crate::replies as R;
use crate::spool::{Body, HEADER_LIMIT, Message};

impl<S> Session<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + QuickAck,
{
    /// One line of DATA: the end of the message, or content with its
    /// transparency dot removed.
    pub(super) async fn data_line(&mut self) -> Option<Step> {
        let max = self.shared.config.smtp.max_line_length;
        // RFC 5321 4.5.3.1.6: the limit does not count the dot added for
        // transparency, so a stuffed line may be one longer.
        let line = match take_line(&mut self.inbuf, max + 1) {
            Ok(Some(l)) => l,
            Ok(None) => return Some(Step::NeedMore),
            Err(e) => return Some(self.frame_error(e, "message")),
        };
        if line.len() > max && line.first() != Some(&b'.') {
            return Some(self.frame_error(FrameError::TooLong, "message"));
        }
        if line == b"." {
            self.mode = Mode::Command;
            self.finish().await;
            return None;
        }
        // RFC 5321 4.5.2: remove one leading dot.
        let content = line.strip_prefix(b".").unwrap_or(&line);
        self.append(content, true).await;
        None
    }

    /// The octets of a BDAT chunk as they arrive (RFC 3030 2); a refused
    /// chunk is read and dropped (`discard`).
    pub(super) async fn bdat_octets(
        &mut self,
        remaining: usize,
        last: bool,
        discard: bool,
    ) -> Option<Step> {
        if remaining > 0 && self.inbuf.is_empty() {
            return Some(Step::NeedMore);
        }
        let n = remaining.min(self.inbuf.len());
        let chunk: Vec<u8> = self.inbuf.drain(..n).collect();
        let max = self.shared.config.smtp.max_line_length;
        if !discard && let Some(t) = self.txn.as_mut() {
            if let Err(e) = check_chunk(&chunk, &mut t.chunk, max) {
                return Some(self.frame_error(e, "message"));
            }
            self.append(&chunk, false).await;
        }
        let remaining = remaining - n;
        if remaining > 0 {
            self.mode = Mode::Bdat {
                remaining,
                last,
                discard,
            };
            return Some(Step::NeedMore);
        }
        self.mode = Mode::Command;
        if discard {
            return None;
        }
        if !last {
            let got = self.txn.as_ref().map_or(0, |t| t.data.len());
            reply(&mut self.out, &R::octets_received(got));
            return None;
        }
        if self.txn.as_ref().is_some_and(|t| t.chunk.cr) {
            return Some(self.frame_error(FrameError::BareLineEnding, "message"));
        }
        self.finish().await;
        None
    }

    pub(super) fn data(&mut self) -> Step {
        match self.txn.as_ref() {
            None => self.error(R::MAIL_BEFORE_DATA),
            Some(t) if t.used_bdat => self.error(R::DATA_AFTER_BDAT),
            // RFC 2920 3.1: no valid recipient answers DATA with 554.
            Some(t) if t.env.rcpts.is_empty() => self.error(R::NO_VALID_RECIPIENTS),
            Some(_) => {
                self.start_message_clock();
                reply(&mut self.out, R::START_DATA);
                self.mode = Mode::Data;
                Step::NeedMore
            }
        }
    }

    pub(super) fn bdat(&mut self, size: usize, last: bool) -> Step {
        let refuse = match self.txn.as_ref() {
            None => Some(R::MAIL_BEFORE_BDAT),
            Some(t) if t.env.rcpts.is_empty() => Some(R::NO_VALID_RECIPIENTS),
            Some(_) => None,
        };
        if let Some(text) = refuse {
            // The chunk is on its way regardless: read and drop it.
            self.mode = Mode::Bdat {
                remaining: size,
                last,
                discard: true,
            };
            return self.error(text);
        }
        self.start_message_clock();
        if let Some(t) = self.txn.as_mut() {
            t.used_bdat = true;
        }
        self.mode = Mode::Bdat {
            remaining: size,
            last,
            discard: false,
        };
        Step::NeedMore
    }

    /// The message's whole-transfer deadline starts with DATA or the first BDAT.
    pub(super) fn start_message_clock(&mut self) {
        let per_read = Duration::from_secs(self.shared.config.smtp.data_timeout_secs);
        if let Some(t) = self.txn.as_mut()
            && t.deadline.is_none()
        {
            t.deadline = Some(Instant::now() + per_read * MESSAGE_TIMEOUTS);
        }
    }

    pub(super) async fn append(&mut self, content: &[u8], crlf: bool) {
        let max = self.shared.config.smtp.max_message_size;
        let Some(t) = self.txn.as_mut() else { return };
        if t.too_big {
            return;
        }
        let add = content.len() as u64 + if crlf { 2 } else { 0 };
        if t.data.len() + add > max {
            // Keep reading to the end, then refuse (RFC 5321 4.5.3.1.10).
            t.too_big = true;
            t.data.discard();
            return;
        }
        t.data.append(content).await;
        if crlf {
            t.data.append(b"\r\n").await;
        }
    }

    /// The end of the message: deliver, then answer. The message gets its
    /// id here, and every log line about it carries that id (the span), the
    /// same one the reply, the queue and each delivery attempt show.
    pub(super) async fn finish(&mut self) {
        let Some(t) = self.txn.take() else { return };
        self.junk = 0;
        let id = tern_queue::msgid::new();
        let span = tracing::info_span!("message", queue_id = %id);
        self.finish_message(t, &id).instrument(span).await;
    }

    async fn finish_message(&mut self, t: Txn, id: &str) {
        if t.too_big {
            let max = self.shared.config.smtp.max_message_size;
            let text = R::message_too_big(max);
            tracing::info!(ip = %self.peer.ip, from = %t.env.sender, rcpts = t.env.rcpts.len(), result = %text, "smtp message refused");
            reply(&mut self.out, &text);
            return;
        }
        let mut msg = match t.data.finish().await {
            Ok(Some(m)) => m,
            Ok(None) => {
                let text = R::header_too_big(HEADER_LIMIT);
                rejected("header_too_big");
                tracing::info!(ip = %self.peer.ip, from = %t.env.sender, result = %text, "smtp message refused");
                reply(&mut self.out, &text);
                return;
            }
            Err(e) => {
                tracing::error!(ip = %self.peer.ip, error = %e, "smtp spooling failed");
                reply(&mut self.out, R::TEMP_FAILURE);
                return;
            }
        };
        let mut verdict = None;
        if self.authed.is_none()
            && let Some(checker) = self.shared.checker.clone()
        {
            match self.check_inbound(&checker, &t.env, &msg).await {
                Ok(mut outcome) => {
                    if let Err(line) = self.source_get_result(&t.env, &mut outcome) {
                        rejected("source_get");
                        reply(&mut self.out, &line);
                        return;
                    }
                    msg.head =
                        tern_mailauth::apply(&msg.head, checker.authserv_id(), &outcome.header);
                    verdict = Some(outcome);
                }
                Err(line) => {
                    if line.starts_with('5') {
                        rejected("checks");
                    }
                    reply(&mut self.out, &line);
                    return;
                }
            }
        }
        if self.authed.is_none() {
            // After DKIM has read them: the spam fields a sender wrote go,
            // every instance (`tern_spam::headers`).
            msg.head = tern_spam::headers::strip(&msg.head);
        }
        if let Some((account, _)) = self.authed.clone()
            && let Err(text) = self.prepare_submission(account, &mut msg).await
        {
            if text.starts_with('5') {
                rejected("submission_policy");
            }
            reply(&mut self.out, &text);
            return;
        }
        let helo = self.helo.clone().unwrap_or_default();
        let user = self.authed.as_ref().map(|(_, name)| name.clone());
        let from = crate::spam::Sender {
            ip: self.peer.ip,
            helo: &helo,
            user: user.as_deref(),
        };
        let rspamd = match crate::spam::ask_rspamd(&self.shared, &from, &t.env, &msg, id).await {
            Ok(r) => r,
            Err(line) => {
                if line.starts_with('5') {
                    rejected("spam");
                }
                tracing::info!(from = %t.env.sender, result = %line, "smtp message refused by the spam filter");
                reply(&mut self.out, &line);
                return;
            }
        };
        let session = deliver::SessionInfo {
            helo: self.helo.clone().unwrap_or_default(),
            esmtp: self.esmtp,
            ip: self.peer.ip,
            tls: self.peer.tls.clone(),
            authenticated: self.authed.is_some(),
            hide_ip: self.authed.is_some() && self.shared.config.submission.hide_client_ip,
            once: self
                .fetched
                .as_ref()
                .map(|(_, id)| format!("source-get:{id}")),
        };
        let started = Instant::now();
        // A submission's header, for the Screener: its recipients and its
        // Message-ID are the account's correspondents afterwards.
        let sent = self
            .authed
            .as_ref()
            .map(|(account, _)| (*account, msg.head.clone()));
        let r = deliver::deliver(
            &self.shared,
            &session,
            &t.env,
            msg,
            verdict.as_ref(),
            rspamd,
            id,
        )
        .await;
        if let Some((account, head)) = sent
            && r.starts_with('2')
        {
            crate::screener::remember_sent(&self.shared, account, &t.env, &head).await;
        }
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "smtp delivery"
        );
        reply(&mut self.out, &r);
    }

    /// Port 25: SPF, DKIM, DMARC, ARC, iprev, then the policy decides;
    /// `Err` is the refusal line. A spooled body is read in pieces for the
    /// DKIM and ARC body hashes (and not at all without a signature).
    pub(super) async fn check_inbound(
        &self,
        checker: &tern_mailauth::Checker,
        env: &Envelope,
        msg: &Message,
    ) -> Result<tern_mailauth::Outcome, String> {
        let helo = self.helo.clone().unwrap_or_default();
        let ip = self.peer.ip;
        let outcome = match &msg.body {
            Body::Memory(b) => {
                let whole = [msg.head.as_slice(), b].concat();
                checker.check(ip, &helo, &env.sender, &whole).await
            }
            Body::File(f) => {
                checker
                    .check_streamed(ip, &helo, &env.sender, &msg.head, f.body_reader())
                    .await
            }
        };
        if let Some(r) = &outcome.report
            && let Err(e) = self.shared.store.dmarc_record_insert(r).await
        {
            tracing::warn!(error = %e, "cannot record the DMARC result");
        }
        match &outcome.disposition {
            tern_mailauth::Disposition::Reject(line) | tern_mailauth::Disposition::Defer(line) => {
                tracing::info!(from = %env.sender, checks = %deliver::results(&outcome.header), result = %line, "smtp message refused by checks");
                Err(line.clone())
            }
            _ => Ok(outcome),
        }
    }
}

/// One message refused for good at the end of data.
fn rejected(reason: &'static str) {
    tern_common::metrics::count(tern_common::metrics::Metric::MessagesRejected { reason });
}
