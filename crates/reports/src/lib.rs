//! DMARC aggregate reports (RFC 7489 7.2) and TLS-RPT reports (RFC 8460):
//! made once a day from what delivery recorded (`dmarc_records`,
//! `tls_results`), sent through the queue or posted over HTTPS, at most
//! once per kind, day and domain across nodes and restarts; and the
//! reports other servers send to the domains tern hosts, read and kept.
//!
//! - `period.rs`: report days, when each is due, catching up.
//! - `dmarc.rs`: the aggregate and its RFC 7489 XML.
//! - `tlsrpt.rs`: the aggregate and its RFC 8460 JSON.
//! - `dest.rs`: where a report may go (RFC 7489 7.1 verification, size
//!   limits, `_smtp._tls`).
//! - `mail.rs`: the report mail; `post.rs`: the https POST.
//! - `run.rs`: planning, sending exactly once, the daily loop.
//! - `receive.rs`: incoming reports.

pub mod dest;
pub mod dmarc;
pub mod mail;
pub mod period;
pub mod post;
pub mod receive;
pub mod run;
pub mod tlsrpt;

pub use run::{DayRun, Planned, Reporter, Sent, spawn};
