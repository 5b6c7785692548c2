//! `[submission]`: what mail submission (RFC 6409, ports 587 and 465) adds
//! to a message.

use serde::Deserialize;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSubmission {
    hide_client_ip: Option<bool>,
}

/// Mail submission (587/465).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmissionConfig {
    /// Leave the client's IP address out of the Received header.
    pub hide_client_ip: bool,
}

impl SubmissionConfig {
    /// Every value is valid: nothing to check.
    pub(super) fn from_raw(raw: &RawSubmission) -> SubmissionConfig {
        SubmissionConfig {
            hide_client_ip: raw.hide_client_ip.unwrap_or(false),
        }
    }
}
