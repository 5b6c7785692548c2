//! Fields a sender must not set: tern's spam results. Incoming mail has
//! every instance of them removed before tern adds its own (as forged
//! Authentication-Results are), so `X-Spam-Status: No` from a spammer
//! means nothing to a client or a Sieve script.

/// The fields tern writes with spam results (compared without case).
pub const FIELDS: [&str; 4] = [
    "x-spam-status",
    "x-spam-score",
    "x-spam-flag",
    "x-spam-result",
];

/// The header section without any instance of `FIELDS` (continuation
/// lines go with their field). Other fields are untouched, byte for byte.
pub fn strip(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len());
    let mut dropping = false;
    for line in head.split_inclusive(|&b| b == b'\n') {
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            dropping = line
                .iter()
                .position(|&b| b == b':')
                .map(|i| {
                    let name = String::from_utf8_lossy(&line[..i]);
                    let name = name.trim();
                    FIELDS.iter().any(|f| name.eq_ignore_ascii_case(f))
                })
                .unwrap_or(false);
        }
        if !dropping {
            out.extend_from_slice(line);
        }
    }
    out
}

/// Text for a field body: no control characters (no CR or LF that
/// would end the field), and bounded.
fn clean(detail: &str) -> String {
    detail
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

/// `X-Spam-Status` and `X-Spam-Score` fields for a result (RFC 5322
/// field syntax, CRLF-terminated): one of each per copy, whatever number
/// of filters judged it (`detail` names them).
pub fn fields(spam: bool, score: f64, detail: &str) -> Vec<u8> {
    format!(
        "X-Spam-Status: {}, score={score:.2} {}\r\nX-Spam-Score: {score:.2}\r\n",
        if spam { "Yes" } else { "No" },
        clean(detail)
    )
    .into_bytes()
}

/// The `X-Spam-Status` of a copy whose sender the account trusts (a VIP,
/// an approved sender): `No` whatever the filters said, their figures only
/// in a comment, and no `X-Spam-Score` a client's or a script's rule
/// could file it by.
pub fn trusted(detail: &str) -> Vec<u8> {
    format!(
        "X-Spam-Status: No, trusted sender ({})\r\n",
        clean(detail).replace(['(', ')'], "")
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instance_and_its_continuations_go() {
        let head = b"Received: a\r\nX-Spam-Status: No,\r\n score=-100\r\nSubject: hi\r\nx-SPAM-score: -5\r\nX-Spam-Flag : NO\r\nX-Spammy: keep\r\n\r\n";
        let out = strip(head);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "Received: a\r\nSubject: hi\r\nX-Spammy: keep\r\n\r\n"
        );
    }

    #[test]
    fn fields_carry_no_control_characters() {
        let f = String::from_utf8(fields(true, 7.5, "rspamd\r\nBcc: x")).unwrap();
        assert_eq!(f.matches("\r\n").count(), 2, "{f}");
        assert!(f.starts_with("X-Spam-Status: Yes, score=7.50 rspamdBcc: x\r\n"));
    }
}
