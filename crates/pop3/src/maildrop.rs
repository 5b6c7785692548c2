//! What a POP3 session needs from the store, as a small trait: the session
//! is written against it so that it can be driven in memory by tests, and
//! `store_drop.rs` implements it for the real store.

use std::future::Future;

/// An authenticated account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: i64,
    pub name: String,
    /// The app password that logged in, by name; `None` for the account's
    /// own password.
    pub app_password: Option<String>,
}

/// One message of the maildrop as seen at login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub uid: u32,
    pub size: u64,
}

/// The maildrop: INBOX as it was when the session logged in (RFC 1939 4:
/// message numbers stay fixed for the whole session).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// `None` when the account has no INBOX yet: an empty maildrop.
    pub mailbox: Option<i64>,
    pub uidvalidity: u32,
    /// In ascending UID order.
    pub messages: Vec<Entry>,
}

#[derive(Debug, thiserror::Error)]
pub enum DropError {
    /// Worth retrying later: `-ERR [SYS/TEMP]`.
    #[error("{0}")]
    Temp(String),
    /// Will not get better by retrying: `-ERR [SYS/PERM]`.
    #[error("{0}")]
    Perm(String),
    /// The message was removed by someone else (an IMAP expunge) after login.
    #[error("message no longer exists")]
    Gone,
}

/// An opaque guard on a maildrop, released when dropped.
pub type Hold = Box<dyn Send + Sync>;

/// A message being sent, read a piece at a time: a session holds one
/// chunk, never a whole (possibly huge) message.
pub trait Body: Send {
    /// The next at most `max` bytes; `None` at the end.
    fn next_chunk(
        &mut self,
        max: usize,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, DropError>> + Send;
}

/// The store as a POP3 session sees it.
pub trait Maildrop: Clone + Send + Sync + 'static {
    type Body: Body;

    /// Check a credential. Unknown users and bad passwords both give
    /// `Ok(None)`, at the same cost.
    fn authenticate(
        &self,
        user: &str,
        password: &str,
    ) -> impl Future<Output = Result<Option<Principal>, DropError>> + Send;

    /// The name this login's throttles and limits are keyed on: the
    /// account's name for any spelling of any of its addresses, else the
    /// normalised name.
    fn login_key(&self, user: &str) -> impl Future<Output = String> + Send {
        let key = tern_common::address::login_key(user);
        async move { key }
    }

    /// The account's INBOX, now.
    fn snapshot(&self, account: i64) -> impl Future<Output = Result<Snapshot, DropError>> + Send;

    /// One message, opened for reading in chunks.
    fn open(
        &self,
        mailbox: i64,
        uid: u32,
    ) -> impl Future<Output = Result<Self::Body, DropError>> + Send;

    /// Hold the account's maildrop for every node sharing the store (RFC 1939
    /// 8); `Ok(None)` when another session holds it. Dropping the returned
    /// guard lets go.
    fn hold(&self, account: i64) -> impl Future<Output = Result<Option<Hold>, DropError>> + Send;

    /// Remove these messages in one atomic step; returns the UIDs removed.
    fn expunge(
        &self,
        mailbox: i64,
        uids: &[u32],
    ) -> impl Future<Output = Result<Vec<u32>, DropError>> + Send;
}
