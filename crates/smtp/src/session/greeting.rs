//! The greeting phase: EHLO/HELO and the extensions offered (RFC 5321
//! 4.1.1.1, RFC 1869), which depend on TLS and on the port. Rule: AUTH is
//! offered only on submission and only over TLS (RFC 4954 4, RFC 8314).

use tern_common::quick_ack::QuickAck;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Session, Step, reply};
use crate::replies as R;

impl<S> Session<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + QuickAck,
{
    pub(super) fn ehlo(&mut self, host: String, esmtp: bool) -> Step {
        if host.trim().is_empty() {
            return self.error(R::EHLO_SYNTAX);
        }
        self.helo = Some(host.clone());
        self.esmtp = esmtp;
        self.txn = None;
        let me = self.hostname().to_string();
        if !esmtp {
            reply(&mut self.out, &R::helo(&me));
            return Step::NeedMore;
        }
        let mut ext = vec![
            format!("{me} Hello {host} [{}]", self.peer.ip),
            "PIPELINING".to_string(),
            format!("SIZE {}", self.shared.config.smtp.max_message_size),
            "8BITMIME".into(),
            "SMTPUTF8".into(),
            "ENHANCEDSTATUSCODES".into(),
            "CHUNKING".into(),
            "DSN".into(),
        ];
        if self.peer.can_starttls && self.peer.tls.is_none() {
            ext.push("STARTTLS".into());
        }
        // RFC 4954 4 / RFC 8314: passwords only ever over TLS.
        if self.shared.submission && self.peer.tls.is_some() && self.authed.is_none() {
            ext.push("AUTH PLAIN LOGIN".into());
        }
        // docs/source-get.md 2: port 25, when tern fetches.
        if !self.shared.submission && self.shared.config.source_get.receive {
            ext.push("SOURCE".into());
        }
        // RFC 8689 4.1: only over TLS.
        if self.peer.tls.is_some() {
            ext.push("REQUIRETLS".into());
        }
        let n = ext.len();
        for (i, e) in ext.iter().enumerate() {
            let sep = if i + 1 == n { ' ' } else { '-' };
            reply(&mut self.out, &format!("250{sep}{e}"));
        }
        Step::NeedMore
    }
}
