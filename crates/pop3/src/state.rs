//! What a POP3 session is made of: its state (AUTHORIZATION, an AUTH PLAIN
//! exchange, TRANSACTION with its snapshot; RFC 1939 3), the step a handler
//! asks of the loop, and how a reply is written. The command handlers
//! (`auth.rs`, `transaction.rs`) and the loop (`session.rs`) all build on
//! this module; it knows none of them. Only the loop closes or upgrades the
//! stream: a handler returns a `Flow`.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::gate::Gate;
use crate::lines::LineIo;
use crate::lock::{LockGuard, Locks};
use crate::maildrop::{Maildrop, Principal, Snapshot};
use crate::options::Options;

/// What the driver does after a command.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    StartTls,
    Close,
}

pub(crate) enum State {
    Authorization {
        user: Option<String>,
    },
    /// AUTH PLAIN sent "+ " and waits for the client's response line.
    SaslPlain,
    Transaction(Box<Txn>),
}

pub(crate) struct Txn {
    pub principal: Principal,
    pub snapshot: Snapshot,
    pub deleted: Vec<bool>,
    pub _lock: LockGuard,
    pub _hold: crate::maildrop::Hold,
}

pub(crate) struct Session<M> {
    pub drop: M,
    pub locks: Locks,
    pub opts: Arc<Options>,
    pub peer: String,
    pub tls: bool,
    pub state: State,
    pub auth_failures: u32,
    pub errors: u32,
    pub gate: Gate,
}

impl<M: Maildrop> Session<M> {
    /// Count a bad command; too many end the session.
    pub(crate) fn error<S>(&mut self, io: &mut LineIo<S>, reply: &str) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.errors += 1;
        if self.errors >= self.opts.max_errors {
            io.push(b"-ERR too many errors; closing\r\n");
            return Flow::Close;
        }
        reply_line(io, reply);
        Flow::Continue
    }
}

/// Write one reply line.
pub(crate) fn reply_line<S>(io: &mut LineIo<S>, reply: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    io.push(reply.as_bytes());
    io.push(b"\r\n");
}
