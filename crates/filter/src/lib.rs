//! Sieve (RFC 5228) for tern, on sieve-rs 0.7.3: the one compiler with
//! tern's limits (`compile.rs`, with `require.rs` refusing extensions tern
//! does not offer), and running an account's active script against a
//! message at delivery (`run.rs`) into an `Outcome` (`outcome.rs`) that the
//! delivery code carries out. This crate knows no store and no network:
//! the `Host` trait answers what a script asks about the account.

mod autoreply;
mod compile;
mod outcome;
mod require;
mod run;

pub use autoreply::may_auto_reply;
pub use compile::{
    MAX_SCRIPT_SIZE, ScriptError, check_script, check_script_blocking, sieve_extensions,
};
pub use outcome::{FileInto, Outcome, Reject, Remember, RunError, Send, SendKind};
pub use run::{Delivery, Filter, Host, Settings};

/// Whether `name` may name a global script file (`<name>.sieve` in the
/// configured folder): no path separators, no leading dot, no control
/// characters, at most 128 characters.
pub fn valid_global_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 128
        && !name.starts_with('.')
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
}
