//! SOURCE/GET on port 25 (docs/source-get.md). As the receiver: SOURCE
//! takes a transaction's envelope and an identifier instead of the data,
//! stores them durably, and answers 250 — the fetch worker (`fetch.rs`)
//! does the rest. As the sender's MX: GET serves a message the queue sent
//! by SOURCE, RELEASE marks its recipients delivered, REFUSE has them
//! bounced with the receiver's reply. The identifier is
//! the capability: an unknown one is a bad command (tarpit, throttling).
//! And every message from the internet says in Authentication-Results
//! whether it came by GET (`source-get=pass`) or not (`none`), with
//! `[source_get] unidentified` deciding what the latter gets.

use tern_common::quick_ack::QuickAck;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Session, Step, reply};
use crate::deliver::Envelope;

const SOURCE_OK: &str = "250 2.0.0 Ok: accepted for fetching";
const SOURCE_REUSED: &str = "550 5.1.0 That identifier was used before";
const BAD_ID: &str = "501 5.5.4 An identifier is 32 letters and digits";
const NO_SUCH_ID: &str = "550 5.1.0 No message by that identifier (unknown, released or expired)";
const GET_FOLLOWS: &str = "354 2.0.0 Message follows";
const GET_DONE: &str = "250 2.0.0 Ok";
const RELEASED: &str = "250 2.0.0 Ok: released";
const NOT_NOW: &str = "451 4.3.0 Temporary failure, try again later";
const NO_TXN: &str = "503 5.5.1 SOURCE needs a transaction with a recipient";
const IN_TXN: &str = "503 5.5.1 Not inside a mail transaction";
const REFUSED_OK: &str = "250 2.0.0 Ok: the sender will be told";
const BAD_REFUSAL: &str = "501 5.5.4 REFUSE <id> <5yz reply>";
const UNIDENTIFIED: &str =
    "550 5.7.1 Mail here must come by SOURCE/GET from the sender domain's own MX";

impl<S> Session<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + QuickAck,
{
    /// SOURCE, GET and RELEASE, which the command parser does not know;
    /// `None` when the line is none of them. Port 25 only.
    pub(super) async fn source_get_command(&mut self, line: &[u8]) -> Option<Step> {
        if self.shared.submission {
            return None;
        }
        let text = std::str::from_utf8(line).ok()?;
        let (verb, arg) = text.split_once(' ').unwrap_or((text, ""));
        let arg = arg.trim();
        match verb.to_ascii_uppercase().as_str() {
            "SOURCE" if self.shared.config.source_get.receive => Some(self.source(arg).await),
            "GET" => Some(self.get(arg).await),
            "RELEASE" => Some(self.release(arg).await),
            "REFUSE" => Some(self.refuse(arg).await),
            _ => None,
        }
    }

    async fn source(&mut self, id: &str) -> Step {
        if !tern_queue::source_get::is_id(id) {
            return self.bad(BAD_ID).await;
        }
        let Some(t) = self.txn.as_ref() else {
            return self.error(NO_TXN);
        };
        if t.env.rcpts.is_empty() || t.used_bdat || t.env.sender.is_empty() {
            return self.error(NO_TXN);
        }
        let rcpts: Vec<String> = t.env.rcpts.iter().map(|r| r.address.to_string()).collect();
        let sender = t.env.sender.clone();
        let helo = self.helo.clone().unwrap_or_default();
        let r = self
            .shared
            .store
            .source_in_add(
                id,
                &sender,
                &rcpts,
                &helo,
                &self.peer.ip.to_string(),
                self.peer.tls.is_some(),
            )
            .await;
        self.txn = None;
        self.junk = 0;
        match r {
            Ok(true) => {
                tracing::info!(from = %sender, rcpts = %rcpts.join(","), "smtp: taken by SOURCE, to fetch");
                crate::fetch::WAKE.notify_one();
                reply(&mut self.out, SOURCE_OK);
                Step::NeedMore
            }
            Ok(false) => self.error(SOURCE_REUSED),
            Err(e) => {
                tracing::error!(error = %e, "smtp: cannot keep a SOURCE envelope");
                self.error(NOT_NOW)
            }
        }
    }

    async fn get(&mut self, id: &str) -> Step {
        if self.txn.is_some() {
            return self.error(IN_TXN);
        }
        if !tern_queue::source_get::is_id(id) {
            return self.bad(BAD_ID).await;
        }
        let message = match self.shared.store.source_message(id).await {
            Ok(Some(m)) => m,
            Ok(None) => {
                tracing::info!("smtp: GET for an unknown identifier");
                return self.bad(NO_SUCH_ID).await;
            }
            Err(e) => {
                tracing::error!(error = %e, "smtp: GET failed");
                return self.error(NOT_NOW);
            }
        };
        let data = match self.shared.store.queue_data(message).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "smtp: GET cannot read the message");
                return self.error(NOT_NOW);
            }
        };
        tracing::info!(
            queue_message = message,
            size = data.len(),
            "smtp: message fetched by GET"
        );
        reply(&mut self.out, GET_FOLLOWS);
        // RFC 5321 4.5.2 transparency; the terminating line is included.
        self.out
            .extend_from_slice(&tern_queue::client::dot_stuff(&data));
        reply(&mut self.out, GET_DONE);
        self.junk = 0;
        Step::NeedMore
    }

    async fn release(&mut self, id: &str) -> Step {
        if !tern_queue::source_get::is_id(id) {
            return self.bad(BAD_ID).await;
        }
        let how = format!("fetched by GET from [{}] and released", self.peer.ip);
        match self.shared.store.source_release(id, &how).await {
            Ok(0) => self.bad(NO_SUCH_ID).await,
            Ok(n) => {
                tracing::info!(rcpts = n, "smtp: released after GET: delivered");
                tern_common::metrics::add(tern_common::metrics::Metric::MessagesSent, n);
                reply(&mut self.out, RELEASED);
                Step::NeedMore
            }
            Err(e) => {
                tracing::error!(error = %e, "smtp: RELEASE failed");
                self.error(NOT_NOW)
            }
        }
    }

    /// `REFUSE <id> <reply>`: the receiver fetched the message and its
    /// checks refused it; the queue bounces the recipients with that reply.
    async fn refuse(&mut self, arg: &str) -> Step {
        let (id, text) = arg.split_once(' ').unwrap_or((arg, ""));
        if !tern_queue::source_get::is_id(id) {
            return self.bad(BAD_ID).await;
        }
        let text = text.trim();
        let well_formed = text.len() >= 3
            && text.as_bytes()[0] == b'5'
            && text.as_bytes()[..3].iter().all(u8::is_ascii_digit);
        if !well_formed {
            return self.error(BAD_REFUSAL);
        }
        let text: String = text.chars().filter(|c| !c.is_control()).take(400).collect();
        match self.shared.store.source_refuse(id, &text).await {
            Ok(0) => self.bad(NO_SUCH_ID).await,
            Ok(n) => {
                tracing::info!(rcpts = n, reply = %text, "smtp: refused by the receiver after GET");
                if let Some(q) = &self.shared.queue {
                    q.wake();
                }
                reply(&mut self.out, REFUSED_OK);
                Step::NeedMore
            }
            Err(e) => {
                tracing::error!(error = %e, "smtp: REFUSE failed");
                self.error(NOT_NOW)
            }
        }
    }

    /// Port 25 with `[source_get] receive`: add `source-get=pass` (fetched
    /// by GET) or `none` to the Authentication-Results field, and apply
    /// `unidentified` to the latter; `Err` is the refusal.
    pub(super) fn source_get_result(
        &self,
        env: &Envelope,
        outcome: &mut tern_mailauth::Outcome,
    ) -> Result<(), String> {
        let clause = match &self.fetched {
            Some((domain, _)) => format!("source-get=pass smtp.mailfrom={domain}"),
            None if self.shared.config.source_get.receive => {
                use tern_common::config::Unidentified;
                match self.shared.config.source_get.unidentified {
                    Unidentified::Accept => {}
                    Unidentified::Junk => {
                        if matches!(outcome.disposition, tern_mailauth::Disposition::Accept) {
                            outcome.disposition = tern_mailauth::Disposition::Junk;
                        }
                    }
                    Unidentified::Reject => {
                        tracing::info!(from = %env.sender, "smtp: refused, not by SOURCE/GET");
                        return Err(UNIDENTIFIED.to_string());
                    }
                }
                "source-get=none".to_string()
            }
            None => return Ok(()),
        };
        let header = outcome.header.trim_end_matches("\r\n");
        outcome.header = format!("{header};\r\n\t{clause}\r\n");
        Ok(())
    }
}
