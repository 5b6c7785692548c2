//! The login gate (throttling and per-user limits) is shared by every
//! protocol; see `tern_common::gate`.

pub use tern_common::gate::Gate;
