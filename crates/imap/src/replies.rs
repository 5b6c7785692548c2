//! Answers shared by the command groups.

use tern_store::StoreError;

/// The tagged answer to a store error, without the tag: the response code
/// a client acts on (RFC 5530), and no detail of an internal error.
pub(crate) fn store_no(e: &StoreError) -> String {
    match e {
        StoreError::NotFound(_) => "NO [NONEXISTENT] no such mailbox".into(),
        StoreError::Duplicate(_) => "NO [ALREADYEXISTS] mailbox already exists".into(),
        StoreError::Invalid(m) => format!("NO [CANNOT] {m}"),
        StoreError::OverQuota { .. } => "NO [OVERQUOTA] mailbox is over its quota".into(),
        e => {
            tracing::warn!(error = %e, "imap: store error");
            "NO [SERVERBUG] internal error; try again later".into()
        }
    }
}
