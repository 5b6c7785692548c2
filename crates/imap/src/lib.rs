//! The IMAP server: IMAP4rev1 (RFC 3501) with the extensions listed in
//! `session::capabilities`, over the store's mailboxes. Commands are parsed
//! by `imap-codec`; framing, literals and limits are ours (`protocol/`).

mod append;
mod auth;
mod binary;
mod budget;
mod client_names;
mod condstore;
mod enabled;
mod fetch;
mod gate;
mod idle;
mod keywords;
mod list;
mod mailboxes;
mod mime;
/// The safe MIME tree lives in `tern-mime`, shared with the spam filter.
use tern_mime as mime_tree;
mod names;
mod pattern;
mod protocol;
mod quota;
mod recent;
mod replies;
mod select;

mod order;
mod references;
mod screener;
mod search;
mod selected;
mod service;
mod session;
mod snooze;
mod sort;
pub mod spam;
mod state;
mod summary;
mod view;

#[cfg(test)]
mod fuzz;

pub use gate::Gate;
pub use names::{MAX_MAILBOXES, canonical as names_canonical, check as check_mailbox_name};
pub use protocol::mutf7::{decode as mutf7_decode, encode as mutf7_encode};
pub use service::Service;
pub use session::{Options, Upgrade, run};
pub use summary::{SummaryCache, for_delivery as summary_for_delivery};
