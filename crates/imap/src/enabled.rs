//! What a client turned on for the rest of its login.

/// What the client turned on for the rest of its login (RFC 5161 ENABLE,
/// and CONDSTORE by use). The one place these live: the selected
/// mailbox's view reads them from here.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Enabled {
    /// ENABLE IMAP4rev2 was given (RFC 9051 6.3.1).
    pub rev2: bool,
    /// CONDSTORE is on: enabled, or a command used it (RFC 7162 3.1).
    pub condstore: bool,
    /// ENABLE QRESYNC was given (RFC 7162 3.2.3).
    pub qresync: bool,
    /// ENABLE UTF8=ACCEPT was given (RFC 6855 3).
    pub utf8: bool,
}

impl Enabled {
    /// Mailbox names are UTF-8 under IMAP4rev2 and UTF8=ACCEPT.
    pub fn utf8_names(&self) -> bool {
        self.rev2 || self.utf8
    }
}
