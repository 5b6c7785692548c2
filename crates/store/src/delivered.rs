//! What a delivery reports for each message once its index row is
//! committed: where it went and its UID and MODSEQ (RFC 9051 2.3.1.1,
//! RFC 7162 3.1.1). Shared by the mail index (`mail/deliver.rs`) and the group
//! commit (`commit.rs`), which builds it; it depends on neither.

use crate::{AccountId, MailboxId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub account_id: AccountId,
    pub mailbox_id: MailboxId,
    pub uidvalidity: u32,
    pub uid: u32,
    pub modseq: u64,
}
