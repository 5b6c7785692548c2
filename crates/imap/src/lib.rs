//! The IMAP server: IMAP4rev1 (RFC 3501) with the extensions listed in
//! `session::capabilities`, over the store's mailboxes. Commands are parsed
//! by `imap-codec`; framing, literals and limits are ours (`io.rs`).

mod auth;
mod binary;
mod budget;
mod condstore;
mod deflate;
mod fetch;
mod gate;
mod idle;
mod io;
mod keywords;
mod list;
mod mailboxes;
mod mime;
mod mime_tree;
mod mutf7;
mod names;
mod pattern;
mod preparse;
mod quota;
mod recent;

mod order;
mod references;
mod search;
mod selected;
mod service;
mod session;
mod sort;
mod summary;
mod wire;

#[cfg(test)]
mod fuzz;

pub use gate::Gate;
pub use service::Service;
pub use session::{Options, Upgrade, run};
pub use summary::SummaryCache;
