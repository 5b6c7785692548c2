//! What every tern crate shares: configuration, addresses, TLS and the
//! listener framework that protocol crates plug their sessions into.

pub mod address;
pub mod audit;
pub mod challenge;
pub mod config;
pub mod gate;
pub mod limits;
pub mod listener;
pub mod metrics;
pub mod password;
pub mod quick_ack;
pub mod rate;
pub mod sasl;
pub mod security;
pub mod throttle;
pub mod time;
pub mod tls;
pub mod xml;

pub use address::{Address, AddressError, normalize_domain};
pub use config::{Config, ListenerKind};
