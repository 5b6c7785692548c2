//! The POP3 server (RFC 1939) with CAPA and response codes (RFC 2449), STLS
//! (RFC 2595) and AUTH PLAIN (RFC 5034). The maildrop is the account's
//! INBOX, as a snapshot taken at login; deletions are expunges in the shared
//! store, so IMAP sessions see them.

mod auth;
mod gate;
mod lines;
mod lock;
pub mod maildrop;
pub mod memory;
mod options;
mod service;
mod session;
mod state;
mod store_drop;
mod stuff;
mod transaction;

pub use gate::Gate;
pub use lock::Locks;
pub use maildrop::{DropError, Entry, Maildrop, Principal, Snapshot};
pub use options::Options;
pub use service::{Pop3, options_from};
pub use session::{Upgrade, run, run_gated};
pub use store_drop::{Service, StoreDrop};
