//! Responses (RFC 5804 1.2, 4): `OK`, `NO` and `BYE`, each with an
//! optional response code in parentheses and a human-readable string;
//! strings are quoted, or sent as a literal when they hold a CR, an LF or
//! more than a quoted string may.

/// `s` as a ManageSieve string: quoted, or a literal `{n}` CRLF and its
/// octets.
pub(crate) fn string(s: &[u8]) -> Vec<u8> {
    let quotable = s.len() <= 1024 && !s.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0);
    let mut out = Vec::with_capacity(s.len() + 16);
    if quotable {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
        out.extend_from_slice(s);
    }
    out
}

/// One response line: `kind [(code)] "text"` CRLF.
pub(crate) fn response(kind: &str, code: Option<&str>, text: &str) -> Vec<u8> {
    let mut out = kind.as_bytes().to_vec();
    if let Some(c) = code {
        out.extend_from_slice(b" (");
        out.extend_from_slice(c.as_bytes());
        out.push(b')');
    }
    if !text.is_empty() {
        out.push(b' ');
        out.extend_from_slice(&string(text.as_bytes()));
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_or_literal() {
        assert_eq!(string(b"a \"b\" \\"), b"\"a \\\"b\\\" \\\\\"");
        assert_eq!(string(b"two\r\nlines"), b"{10}\r\ntwo\r\nlines");
        assert_eq!(
            response("NO", Some("QUOTA/MAXSIZE"), "too big"),
            b"NO (QUOTA/MAXSIZE) \"too big\"\r\n"
        );
        assert_eq!(response("OK", None, ""), b"OK\r\n");
    }
}
