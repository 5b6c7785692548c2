//! tern's HTTP service (RFC 9110 semantics, HTTP/1.1 RFC 9112, HTTP/2 RFC
//! 9113 by ALPN on `https`): health, Prometheus metrics, mail client
//! autoconfiguration (Thunderbird, Outlook Autodiscover, Apple profiles)
//! and the MTA-STS policy (RFC 8461 3.2) of every hosted domain.
//!
//! The listener framework (`tern_common::listener`) accepts, admits and
//! runs TLS; `serve.rs` speaks HTTP on the stream with hyper under tern's
//! own time-outs; `router.rs` decides what each listener kind serves. The
//! one rule: plain `http` serves nothing that needs a secret or changes
//! state — health, metrics to allowed clients, autoconfig, ACME http-01
//! answers, and redirects.
//! The JSON API (`/api/v1`) plugs in at `api::routes`, on `https` only.

mod acme;
pub mod api;
mod autoconfig;
pub mod client;
mod health;
pub mod metrics;
mod mta_sts;
mod router;
mod serve;
mod state;

pub use router::router;
pub use serve::Service;
pub use state::{AppState, Listening, Shared};
