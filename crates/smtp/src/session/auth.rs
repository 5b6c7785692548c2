//! AUTH and submission policy (RFC 4954, RFC 4616 PLAIN, LOGIN; RFC 6409):
//! the login through the gate, the sender an account may use, and the
//! identity checks and DKIM signature of what it submits. Rule: every
//! failed login gets the same answer, whatever the cause (RFC 4954 6).

use std::time::Duration;

use tern_common::quick_ack::QuickAck;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Mode, Session, Step, reply};
use crate::framing::take_line;
use crate::replies as R;
use crate::spool::{Body, Message};

impl<S> Session<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + QuickAck,
{
    /// One line answering an AUTH challenge (RFC 4954 4).
    pub(super) async fn auth_line(&mut self) -> Option<Step> {
        let line = match take_line(&mut self.inbuf, 4096) {
            Ok(Some(l)) => l,
            Ok(None) => return Some(Step::NeedMore),
            Err(e) => return Some(self.frame_error(e, "authentication")),
        };
        let mode = self.mode;
        self.mode = Mode::Command;
        let text = String::from_utf8_lossy(&line).trim().to_string();
        match self.auth_response(mode, &text).await {
            Step::NeedMore => None,
            other => Some(other),
        }
    }

    /// AUTH (RFC 4954): PLAIN (RFC 4616, with an initial response or after
    /// R::AUTH_CONTINUE) and LOGIN, only on submission and only over TLS.
    pub(super) async fn auth(&mut self, mechanism: u64, initial: String) -> Step {
        if !self.shared.submission {
            return self.error(R::AUTH_WRONG_PORT);
        }
        if self.peer.tls.is_none() {
            return self.error(R::ENCRYPTION_REQUIRED);
        }
        if self.authed.is_some() {
            return self.error(R::ALREADY_AUTHENTICATED);
        }
        if self.txn.is_some() {
            return self.error(R::AUTH_IN_TRANSACTION);
        }
        if mechanism == smtp_proto::AUTH_PLAIN {
            if initial.is_empty() {
                reply(&mut self.out, R::AUTH_CONTINUE);
                self.mode = Mode::AuthPlain;
                return Step::NeedMore;
            }
            return self.auth_response(Mode::AuthPlain, &initial).await;
        }
        if mechanism == smtp_proto::AUTH_LOGIN {
            if initial.is_empty() {
                reply(&mut self.out, R::AUTH_USERNAME);
                self.mode = Mode::AuthLoginUser;
                return Step::NeedMore;
            }
            return self.auth_response(Mode::AuthLoginUser, &initial).await;
        }
        self.error(R::UNKNOWN_MECHANISM)
    }

    pub(super) async fn auth_response(&mut self, mode: Mode, text: &str) -> Step {
        use base64::Engine;
        if text == "*" {
            return self.error(R::AUTH_CANCELLED);
        }
        let raw = if text == "=" {
            Ok(Vec::new())
        } else {
            base64::engine::general_purpose::STANDARD.decode(text)
        };
        let Ok(raw) = raw else {
            return self.error(R::AUTH_UNDECODABLE);
        };
        match mode {
            Mode::AuthPlain => {
                // authzid NUL authcid NUL passwd
                let mut parts = raw.split(|b| *b == 0);
                let (Some(authz), Some(user), Some(pass), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return self.error(R::AUTH_MALFORMED_PLAIN);
                };
                let user = String::from_utf8_lossy(user).into_owned();
                let authz = String::from_utf8_lossy(authz).into_owned();
                if !authz.is_empty() && !authz.eq_ignore_ascii_case(&user) {
                    return self.login_failed(&user).await;
                }
                let pass = String::from_utf8_lossy(pass).into_owned();
                self.login(&user, &pass).await
            }
            Mode::AuthLoginUser => {
                self.login_user = String::from_utf8_lossy(&raw).into_owned();
                reply(&mut self.out, R::AUTH_PASSWORD);
                self.mode = Mode::AuthLoginPass;
                Step::NeedMore
            }
            _ => {
                let user = std::mem::take(&mut self.login_user);
                let pass = String::from_utf8_lossy(&raw).into_owned();
                self.login(&user, &pass).await
            }
        }
    }

    /// Check a credential through the login gate (throttle, locks, the
    /// per-user limits and the audit log, as IMAP and POP3 do); every
    /// failure looks the same, whatever the cause (RFC 4954 6: 535 5.7.8).
    pub(super) async fn login(&mut self, user: &str, pass: &str) -> Step {
        // Every spelling of one account is one name to the throttle.
        let key = match self.shared.store.login_key(user).await {
            Ok(k) => k,
            Err(_) => tern_common::address::login_key(user),
        };
        let user = key.as_str();
        if !self.gate.check(user) {
            return self.login_failed(user).await;
        }
        match self.shared.store.authenticate(user, pass).await {
            Ok(Some(login)) => {
                let (acc, app_password) = (login.account, login.credential.app_password());
                // The gate moves the rate token from the IP to user+IP, so
                // one looping device does not lock out its NAT.
                if self.gate.success_with(&acc.name, app_password).is_err() {
                    let t = R::hosted(R::TOO_MANY_CONNECTIONS, self.hostname());
                    reply(&mut self.out, &t);
                    return Step::Close;
                }
                tracing::Span::current().record("user", acc.name.as_str());
                tracing::info!(user = %acc.name, "smtp submission login");
                self.authed = Some((acc.id, acc.name));
                reply(&mut self.out, R::AUTH_OK);
                Step::NeedMore
            }
            Ok(None) => self.login_failed(user).await,
            Err(e) => {
                tracing::warn!(error = %e, "smtp authentication unavailable");
                reply(&mut self.out, R::AUTH_UNAVAILABLE);
                Step::NeedMore
            }
        }
    }

    pub(super) async fn login_failed(&mut self, user: &str) -> Step {
        tracing::info!(user = %user, "smtp submission login failed");
        let delay = self.gate.failure(user, Duration::ZERO);
        let _ = self.flush().await;
        tokio::time::sleep(delay).await;
        self.error(R::AUTH_FAILED)
    }

    /// MAIL FROM on submission: an address of the account (RFC 6409 8.1).
    pub(super) async fn check_sender(
        &mut self,
        account: i64,
        name: &str,
        sender: &str,
    ) -> Option<Step> {
        if !self
            .shared
            .security
            .rates
            .messages_per_account
            .check(&name.to_string(), 1)
        {
            self.shared
                .security
                .metrics
                .count(tern_common::metrics::Metric::LimiterRefusals {
                    protocol: "submission",
                    layer: "rate_messages",
                });
            return Some(self.error(R::MESSAGES_PER_ACCOUNT));
        }
        if sender.is_empty() {
            return None;
        }
        let owned = match tern_common::Address::parse(sender) {
            Ok(a) => self
                .shared
                .store
                .may_send_as(account, &a)
                .await
                .unwrap_or(false),
            Err(_) => false,
        };
        if owned {
            None
        } else {
            Some(self.error(&R::not_your_sender(sender, name)))
        }
    }

    /// Every mailbox of the one From field (and of Sender) must be the
    /// user's too; then the fix-ups and the DKIM signature. All of it
    /// changes the header only; a spooled body is signed as it is read.
    pub(super) async fn prepare_submission(
        &mut self,
        account: i64,
        msg: &mut Message,
    ) -> Result<(), String> {
        let authors = crate::submit::identities(&msg.head)?;
        for a in &authors {
            let ok = match tern_common::Address::parse(a) {
                Ok(addr) => self
                    .shared
                    .store
                    .may_send_as(account, &addr)
                    .await
                    .unwrap_or(false),
                Err(_) => false,
            };
            if !ok {
                return Err(R::not_your_author(a));
            }
        }
        msg.head = crate::submit::fix_up(&msg.head, &self.shared.config.hostname);
        let signing = |e: anyhow::Error| {
            tracing::error!(error = %e, "DKIM signing failed");
            R::TEMP_FAILURE.to_string()
        };
        let store = &self.shared.store;
        let sigs = match &msg.body {
            Body::Memory(b) => {
                let whole = [msg.head.as_slice(), b].concat();
                tern_queue::dkim::signatures(store, &whole).await
            }
            // RFC 6376 3.7: the body hash is computed as the file is read.
            Body::File(f) => {
                let open = f.reader_after(msg.head.clone());
                tern_queue::dkim::signatures_streamed(store, &msg.head, open).await
            }
        }
        .map_err(signing)?;
        let mut head = sigs.into_bytes();
        head.extend_from_slice(&msg.head);
        msg.head = head;
        Ok(())
    }
}
