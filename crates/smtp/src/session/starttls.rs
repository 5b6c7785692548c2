//! STARTTLS (RFC 3207): the command and the upgrade of the stream. Rule:
//! whatever the client pipelined behind STARTTLS is thrown away and the
//! session starts over (RFC 3207 4.2).

use tern_common::quick_ack::QuickAck;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{Mode, Session, Step, reply};
use crate::replies as R;

impl<S> Session<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + QuickAck,
{
    pub(super) fn starttls(&mut self) -> Step {
        if self.peer.tls.is_some() {
            return self.error(R::TLS_ACTIVE);
        }
        if !self.peer.can_starttls {
            return self.error(R::NO_STARTTLS);
        }
        reply(&mut self.out, R::READY_FOR_TLS);
        Step::StartTls
    }

    pub(super) async fn start_tls(&mut self) -> bool {
        // RFC 3207 4.2: anything the client pipelined after STARTTLS is
        // discarded, and the session starts over.
        self.inbuf.clear();
        let Some(s) = self.stream.take() else {
            return false;
        };
        match self.upgrade.upgrade(s).await {
            Ok(s) => {
                self.peer.tls = self.upgrade.tls_info(&s);
                self.stream = Some(s);
                self.peer.can_starttls = false;
                self.helo = None;
                self.esmtp = false;
                self.txn = None;
                self.mode = Mode::Command;
                true
            }
            Err(e) => {
                tracing::info!(ip = %self.peer.ip, error = %e, "smtp STARTTLS handshake failed");
                false
            }
        }
    }
}
