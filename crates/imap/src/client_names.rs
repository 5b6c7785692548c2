//! Mailbox names as a client writes them: UTF-8 under IMAP4rev2 and
//! UTF8=ACCEPT, modified UTF-7 otherwise, and back.

use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox as ImapMailbox};

use crate::protocol::{mutf7, wire};

/// A mailbox name from the client: UTF-8 under IMAP4rev2 and UTF8=ACCEPT
/// (RFC 9051 5.1, RFC 6855 3), modified UTF-7 otherwise (RFC 3501 5.1.3).
pub(crate) fn name_of(m: &ImapMailbox<'_>, utf8: bool) -> Option<String> {
    match m {
        ImapMailbox::Inbox => Some("INBOX".into()),
        ImapMailbox::Other(o) => {
            let s = decode_name(o.as_ref(), utf8)?;
            Some(s.trim_end_matches('/').to_string())
        }
    }
}

pub(crate) fn decode_name(b: &[u8], utf8: bool) -> Option<String> {
    let s = std::str::from_utf8(b).ok()?;
    if utf8 {
        Some(s.to_string())
    } else {
        mutf7::decode(s)
    }
}

/// The bytes of a mailbox name as the client sent it.
pub(crate) fn raw_name<'a>(m: &'a ImapMailbox<'_>) -> &'a [u8] {
    match m {
        ImapMailbox::Inbox => b"INBOX",
        ImapMailbox::Other(o) => o.as_ref(),
    }
}

pub(crate) fn raw_pattern<'a>(m: &'a ListMailbox<'_>) -> &'a [u8] {
    match m {
        ListMailbox::Token(t) => t.as_ref(),
        ListMailbox::String(s) => s.as_ref(),
    }
}

pub(crate) fn list_pattern(m: &ListMailbox<'_>, utf8: bool) -> Option<String> {
    decode_name(raw_pattern(m), utf8)
}

/// A mailbox name as a session with (`utf8`) or without UTF-8 names
/// writes it.
pub(crate) fn name_out(name: &str, utf8: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if utf8 {
        wire::utf8_string(&mut out, name.as_bytes());
    } else {
        wire::string(&mut out, mutf7::encode(name).as_bytes());
    }
    out
}
