//! The `Authentication-Results` header field (RFC 8601): removing forged
//! ones that claim our authserv-id, and adding ours.

/// The authserv-id of an `Authentication-Results` field value (RFC 8601
/// 2.2: the first item, a token or quoted-string, after optional CFWS).
pub fn authserv_id_of(value: &[u8]) -> Option<String> {
    let mut rest = skip_cfws(value);
    if let Some(r) = rest.strip_prefix(b"\"") {
        let end = r.iter().position(|&c| c == b'"')?;
        return Some(String::from_utf8_lossy(&r[..end]).into_owned());
    }
    let end = rest
        .iter()
        .position(|&c| c == b';' || c == b'(' || c.is_ascii_whitespace())
        .unwrap_or(rest.len());
    rest = &rest[..end];
    if rest.is_empty() {
        return None;
    }
    Some(String::from_utf8_lossy(rest).into_owned())
}

/// Skip folding white space and (nested) comments.
fn skip_cfws(mut s: &[u8]) -> &[u8] {
    loop {
        while let Some((c, r)) = s.split_first() {
            if c.is_ascii_whitespace() {
                s = r;
            } else {
                break;
            }
        }
        if s.first() != Some(&b'(') {
            return s;
        }
        let mut depth = 0usize;
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'\\' => i += 1,
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        s = s.get(i + 1..).unwrap_or_default();
    }
}

/// The message with every `Authentication-Results` field that claims
/// `authserv_id` removed (RFC 8601 5: a receiver MUST NOT let a verdict
/// that looks like its own through) and `header` (a complete field,
/// CRLF-terminated) prepended. Other fields keep their bytes and order.
pub fn apply(message: &[u8], authserv_id: &str, header: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + header.len());
    out.extend_from_slice(header.as_bytes());
    let mut pos = 0;
    // Walk the header section field by field; a field is its first line
    // plus the continuation lines that start with SP or HTAB.
    while pos < message.len() {
        let line_end = next_line(message, pos);
        let line = &message[pos..line_end];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let mut end = line_end;
        while end < message.len() && matches!(message[end], b' ' | b'\t') {
            end = next_line(message, end);
        }
        let field = &message[pos..end];
        if !claims(field, authserv_id) {
            out.extend_from_slice(field);
        }
        pos = end;
    }
    out.extend_from_slice(&message[pos..]);
    out
}

fn next_line(message: &[u8], from: usize) -> usize {
    message[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(message.len(), |i| from + i + 1)
}

fn claims(field: &[u8], authserv_id: &str) -> bool {
    let Some(colon) = field.iter().position(|&c| c == b':') else {
        return false;
    };
    // Every spelling a reader might accept (crate::fields::name_is): a
    // forged verdict must not survive behind an odd octet in its name.
    if !crate::fields::name_is(&field[..colon], "Authentication-Results") {
        return false;
    }
    authserv_id_of(&field[colon + 1..]).is_some_and(|id| {
        id.trim_end_matches('.')
            .eq_ignore_ascii_case(authserv_id.trim_end_matches('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authserv_id() {
        assert_eq!(
            authserv_id_of(b" mx.example.org; spf=pass").as_deref(),
            Some("mx.example.org")
        );
        assert_eq!(
            authserv_id_of(b" (c (nested)) \"mx.example.org\" 1; none").as_deref(),
            Some("mx.example.org")
        );
        assert_eq!(
            authserv_id_of(b"\r\n\tmx.example.org(x);none").as_deref(),
            Some("mx.example.org")
        );
        assert_eq!(authserv_id_of(b"  "), None);
    }

    #[test]
    fn forged_results_are_removed() {
        let msg = b"Received: from x\r\n\
Authentication-Results: MX.Example.org;\r\n\tdkim=pass header.d=bank.example\r\n\
Authentication-Results: other.example; spf=fail\r\n\
authentication-results: (forged) mx.example.org; dmarc=pass\r\n\
Authentication-Results\x0b : mx.example.org; dkim=pass\r\n\
Subject: hi\r\n\
\r\n\
Authentication-Results: mx.example.org; body line\r\n";
        let out = apply(
            msg,
            "mx.example.org",
            "Authentication-Results: mx.example.org; none\r\n",
        );
        let s = String::from_utf8(out).unwrap();
        assert_eq!(
            s,
            "Authentication-Results: mx.example.org; none\r\n\
Received: from x\r\n\
Authentication-Results: other.example; spf=fail\r\n\
Subject: hi\r\n\
\r\n\
Authentication-Results: mx.example.org; body line\r\n"
        );
    }

    #[test]
    fn message_without_body() {
        let out = apply(b"Subject: x\r\n", "h", "A: b\r\n");
        assert_eq!(out, b"A: b\r\nSubject: x\r\n");
    }
}
