//! Inbound message authentication for mail arriving on port 25: SPF
//! (RFC 7208) for the HELO and MAIL FROM identities, DKIM (RFC 6376, RFC
//! 8463) for every signature, DMARC (RFC 7489, with the DNS tree walk of
//! RFC 9989 for policy discovery), ARC (RFC 8617) verification and sealing,
//! and iprev (RFC 8601 3) — recorded in one `Authentication-Results`
//! header (RFC 8601) and turned into a disposition by the `[checks]` policy.
//!
//! The cryptography and the record grammars are `mail-auth`'s; this crate
//! decides what to ask, writes the header and applies tern's policy.
//!
//! ```ignore
//! let checker = tern_mailauth::Checker::new(&config)?;
//! let outcome = checker.check(ip, helo, mail_from, &message).await;
//! let message = tern_mailauth::apply(&message, checker.authserv_id(), &outcome.header);
//! ```

mod arc;
mod checks;
mod dns;
mod policy;
mod report;
mod results;
mod spf;

pub use checks::{Checker, Outcome};
pub use dns::authenticator;
pub use policy::Disposition;
pub use results::{apply, authserv_id_of};
pub use tern_store::DmarcRecord;
