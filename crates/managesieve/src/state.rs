//! What a ManageSieve session is made of: its state (not authenticated, a
//! SASL exchange under way, authenticated as one account; RFC 5804 1.4),
//! the step a handler asks of the loop, and how responses are written. The
//! command handlers (`auth.rs`, `scripts.rs`) and the loop (`session.rs`)
//! build on this module; it knows none of them. Only the loop closes or
//! upgrades the stream: a handler returns a `Flow`.

use std::sync::Arc;
use std::time::Instant;

use tern_common::gate::Gate;
use tern_store::{AccountId, Store};

use crate::options::Options;
use crate::reply::response;

/// What the loop does after a command.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    StartTls,
    Close,
}

/// A SASL exchange waiting for the client's next response (RFC 5804 2.1).
pub(crate) enum Sasl {
    Plain,
    LoginUser,
    LoginPassword(String),
}

pub(crate) struct User {
    pub id: AccountId,
    pub name: String,
}

pub(crate) enum State {
    Anonymous,
    Sasl(Sasl),
    Authenticated(User),
}

pub(crate) struct Session {
    pub store: Store,
    pub opts: Arc<Options>,
    pub peer: String,
    pub tls: bool,
    pub state: State,
    /// When the connection began (the login time-out runs from here).
    pub started: Instant,
    pub auth_failures: u32,
    pub errors: u32,
    pub gate: Gate,
    /// Responses not yet written.
    pub out: Vec<u8>,
}

impl Session {
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    pub(crate) fn ok(&mut self, text: &str) -> Flow {
        self.out.extend_from_slice(&response("OK", None, text));
        Flow::Continue
    }

    /// A refusal that is not the client's mistake (`NO` with a code).
    pub(crate) fn no(&mut self, code: Option<&str>, text: &str) -> Flow {
        self.out.extend_from_slice(&response("NO", code, text));
        Flow::Continue
    }

    /// A bad command: counted, and too many end the session.
    pub(crate) fn error(&mut self, text: &str) -> Flow {
        self.errors += 1;
        if self.errors >= self.opts.max_errors {
            self.out
                .extend_from_slice(&response("BYE", None, "too many errors; closing"));
            return Flow::Close;
        }
        self.no(None, text)
    }

    pub(crate) fn account(&self) -> Option<AccountId> {
        match &self.state {
            State::Authenticated(u) => Some(u.id),
            _ => None,
        }
    }
}
