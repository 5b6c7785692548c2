//! Inbound message authentication for mail arriving on port 25: SPF
//! (RFC 7208) for the HELO and MAIL FROM identities, DKIM (RFC 6376, RFC
//! 8463) for every signature, DMARC (RFC 7489, the Organizational Domain
//! from the public suffix list), ARC (RFC 8617) verification and sealing,
//! and iprev (RFC 8601 3) — recorded in one `Authentication-Results`
//! header (RFC 8601) and turned into a disposition by the `[checks]` policy.
//!
//! The cryptography and the record grammars are `mail-auth`'s; this crate
//! decides what to ask, writes the header and applies tern's policy.
//!
//! How the SMTP pipeline uses it, at the end of DATA on port 25:
//!
//! ```ignore
//! let checker = tern_mailauth::Checker::new(&config)?; // once, shared
//! // Authenticated submission does not call this; trusted networks get
//! // "none" and Accept.
//! let outcome = checker.check(ip, helo, mail_from, &message).await;
//! match &outcome.disposition {
//!     Disposition::Reject(reply) | Disposition::Defer(reply) => return reply, // whole line
//!     Disposition::Junk => { /* deliver to the recipients' Junk mailbox */ }
//!     Disposition::Accept => { /* deliver to INBOX */ }
//! }
//! if let Some(r) = &outcome.report {
//!     store.dmarc_record_insert(r).await?;
//! }
//! let message = tern_mailauth::apply(&message, checker.authserv_id(), &outcome.header);
//! // For an alias with a remote target in domain D (tern's own domain):
//! let keys = store.dkim_keys(Some(D)).await?;
//! if let Some(key) = tern_mailauth::seal_key(&keys) {
//!     let forwarded = checker.arc_seal(&message, &outcome, key).await?;
//! }
//! ```

mod arc;
mod body;
mod checks;
mod dmarc;
mod dns;
pub mod fields;
mod policy;
pub mod probe;
mod report;
mod results;
mod spf;

pub use arc::{SEALED_HEADERS, seal_key};
pub use checks::{Checker, MAX_DKIM_SIGNATURES, Outcome};
pub use dmarc::{Published, organizational_domain_of, published};
pub use dns::authenticator;
pub use policy::Disposition;
pub use results::{apply, authserv_id_of};
pub use tern_store::DmarcRecord;
