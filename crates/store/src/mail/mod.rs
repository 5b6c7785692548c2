//! The mail index: mailboxes, messages, flags, MODSEQ and the expunge log,
//! one file per responsibility. What a message's row holds and how flags are
//! spelled (`meta.rs`) is pure and known by every other file here; the
//! change events a writer sends are in `change.rs`. The files below use
//! `meta` and `change` and never each other, except the copy, which is a
//! delivery (`copy.rs` → `deliver.rs`): no circle.

mod change;
mod copy;
mod deliver;
mod expunge;
mod flags;
mod mailbox;
mod meta;
mod read;

pub use crate::delivered::Delivered;
pub use deliver::{MailboxSel, NewMessage};
pub use mailbox::{Mailbox, SPECIAL_MAILBOXES, canonical_mailbox_name};
pub(crate) use meta::join_flags;
pub use meta::{FlagOp, MessageMeta};
