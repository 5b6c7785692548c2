//! Spam filtering, knowing no store and no session: the tokens a message
//! is judged by (`tokens.rs`), the Bayesian arithmetic (`bayes.rs`), an
//! rspamd client (`rspamd.rs`), and the header fields a sender may not
//! set (`headers.rs`). SMTP asks for a verdict at the end of data; IMAP
//! moves into and out of Junk train the account's model (and rspamd); the
//! store keeps the counts (`tern_store`'s `spam.rs`).

pub mod bayes;
pub mod headers;
pub mod rspamd;
pub mod tokens;

pub use bayes::{Counts, Totals, ready, score};
pub use rspamd::{Action, Rspamd, Verdict};
pub use tokens::tokens;
