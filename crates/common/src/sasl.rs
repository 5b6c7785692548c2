//! SASL responses as POP3 AUTH (RFC 5034), IMAP AUTHENTICATE (RFC 9051
//! 6.2.2) and ManageSieve AUTHENTICATE (RFC 5804 2.1) carry them: base64,
//! `=` for an empty response; PLAIN (RFC 4616) and the text of LOGIN.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A decoded PLAIN response: who logs in, with what password.
#[derive(Debug, PartialEq, Eq)]
pub struct Plain {
    pub authcid: String,
    pub password: String,
}

/// Decode `[authzid] NUL authcid NUL passwd`. An authorization identity other
/// than the authentication identity is refused: nobody logs in as someone else.
pub fn decode_plain(b64: impl AsRef<[u8]>) -> Option<Plain> {
    let raw = decode(b64.as_ref())?;
    let mut parts = raw.split(|&b| b == 0);
    let authzid = parts.next()?;
    let authcid = parts.next()?;
    let password = parts.next()?;
    if parts.next().is_some() || authcid.is_empty() {
        return None;
    }
    let authzid = std::str::from_utf8(authzid).ok()?;
    let authcid = std::str::from_utf8(authcid).ok()?;
    if !authzid.is_empty() && authzid != authcid {
        return None;
    }
    Some(Plain {
        authcid: authcid.to_string(),
        password: std::str::from_utf8(password).ok()?.to_string(),
    })
}

/// A base64 response; `=` is an empty one (RFC 5034 4, RFC 9051 6.2.2).
fn decode(b64: &[u8]) -> Option<Vec<u8>> {
    if b64 == b"=" {
        return Some(Vec::new());
    }
    STANDARD.decode(b64).ok()
}

/// A LOGIN step's text (user name or password): base64 of UTF-8.
pub fn decode_text(b64: impl AsRef<[u8]>) -> Option<String> {
    String::from_utf8(decode(b64.as_ref())?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &[u8]) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn plain_responses() {
        let p = decode_plain(enc(b"\0alice@example.org\0s3cret pw")).unwrap();
        assert_eq!(p.authcid, "alice@example.org");
        assert_eq!(p.password, "s3cret pw");
        assert!(decode_plain(enc(b"alice\0alice\0pw")).is_some());
        assert!(decode_plain(enc(b"bob\0alice\0pw")).is_none());
        assert!(decode_plain(enc(b"\0\0pw")).is_none());
        assert!(decode_plain(enc(b"alice\0pw")).is_none());
        assert!(decode_plain(enc(b"\0a\0b\0c")).is_none());
        assert!(decode_plain("=").is_none());
        assert!(decode_plain("not base64!").is_none());
        assert_eq!(
            decode_text(enc("jo@example.org".as_bytes())).as_deref(),
            Some("jo@example.org")
        );
        assert_eq!(decode_text("=").as_deref(), Some(""));
    }
}
