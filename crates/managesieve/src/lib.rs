//! The ManageSieve server (RFC 5804): an account's Sieve scripts, managed
//! from mail clients (Thunderbird's sieve add-on, Roundcube, KMail,
//! sieve-connect) on port 4190. STARTTLS first; AUTHENTICATE PLAIN or
//! LOGIN only after TLS, through the shared login gate; scripts are
//! compiled on upload by the management layer's compiler (`tern_manage`)
//! and kept in the store.
//!
//! Hostile input is the normal case: the framing (`framing.rs`) bounds
//! every line, quoted string and literal, far below the script limit until
//! the client has logged in, and a session that does not log in in time,
//! or goes idle, is closed.

mod auth;
mod framing;
mod options;
mod reply;
mod scripts;
mod service;
mod session;
mod state;

pub use framing::{Arg, Frame, Framer};
pub use options::Options;
pub use service::{Service, options_from};
pub use session::{Upgrade, run, run_gated};
