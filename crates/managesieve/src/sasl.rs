//! SASL PLAIN (RFC 4616) as carried by AUTHENTICATE (RFC 5804 2.1).

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
pub fn decode_plain(b64: &str) -> Option<Plain> {
    // An empty response decodes to nothing, which is refused below.
    let raw = if b64 == "=" {
        Vec::new()
    } else {
        STANDARD.decode(b64.as_bytes()).ok()?
    };
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

/// A SASL LOGIN response (a user name or a password): base64 of UTF-8.
pub fn decode_text(b64: &str) -> Option<String> {
    let raw = STANDARD.decode(b64.as_bytes()).ok()?;
    String::from_utf8(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &[u8]) -> String {
        STANDARD.encode(s)
    }

    #[test]
    fn plain_responses() {
        let p = decode_plain(&enc(b"\0alice@example.org\0s3cret pw")).unwrap();
        assert_eq!(p.authcid, "alice@example.org");
        assert_eq!(p.password, "s3cret pw");
        assert!(decode_plain(&enc(b"alice\0alice\0pw")).is_some());
        assert!(decode_plain(&enc(b"bob\0alice\0pw")).is_none());
        assert!(decode_plain(&enc(b"\0\0pw")).is_none());
        assert!(decode_plain(&enc(b"alice\0pw")).is_none());
        assert!(decode_plain(&enc(b"\0a\0b\0c")).is_none());
        assert!(decode_plain("=").is_none());
        assert!(decode_plain("not base64!").is_none());
    }
}
