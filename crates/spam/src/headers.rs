//! Fields a sender must not set: spam results, tern's and those of the
//! filters clients and scripts commonly read (SpamAssassin's, rspamd's).
//! Incoming mail has every instance of them removed before tern adds its
//! own (as forged Authentication-Results are), so `X-Spam-Status: No` or
//! `X-Rspamd-Action: no action` from a spammer means nothing to a client
//! or a Sieve script.

/// Spam result fields (compared without case): tern's, SpamAssassin's
/// and rspamd's milter's.
pub const FIELDS: [&str; 7] = [
    "x-spam-status",
    "x-spam-score",
    "x-spam-flag",
    "x-spam-result",
    "x-spam-level",
    "x-spamd-result",
    "x-spamd-bar",
];

/// Field name prefixes that are all spam results: every `X-Rspamd-…`
/// (`X-Rspamd-Action`, `X-Rspamd-Score`, `X-Rspamd-Server`, …).
pub const PREFIXES: [&str; 1] = ["x-rspamd-"];

/// Whether a field of this name is a spam result a sender may not set.
fn forbidden(name: &str) -> bool {
    FIELDS.iter().any(|f| name.eq_ignore_ascii_case(f))
        || PREFIXES.iter().any(|p| {
            name.len() >= p.len()
                && name.is_char_boundary(p.len())
                && name[..p.len()].eq_ignore_ascii_case(p)
        })
}

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
                .map(|i| forbidden(String::from_utf8_lossy(&line[..i]).trim()))
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
    fn other_filters_results_go_too() {
        let head = concat!(
            "Received: a\r\n",
            // SpamAssassin's bar of stars.
            "X-Spam-Level: \r\n",
            // rspamd's milter: its result, bar and every X-Rspamd- field.
            "X-Spamd-Result: default: False [-9.00 / 15.00];\r\n\tR_SPF_ALLOW(-0.20)[+ip4:1.2.3.4]\r\n",
            "X-Spamd-Bar: /\r\n",
            "X-Rspamd-Action: no action\r\n",
            "x-rspamd-score: -9.00\r\n",
            "X-Rspamd-Server: mx.spam.example\r\n",
            // Names that only begin alike are someone else's.
            "X-Rspamdx: keep\r\n",
            "X-Spam-Levels: keep\r\n",
            "Subject: hi\r\n\r\n"
        );
        assert_eq!(
            String::from_utf8_lossy(&strip(head.as_bytes())),
            "Received: a\r\nX-Rspamdx: keep\r\nX-Spam-Levels: keep\r\nSubject: hi\r\n\r\n"
        );
    }

    #[test]
    fn fields_carry_no_control_characters() {
        let f = String::from_utf8(fields(true, 7.5, "rspamd\r\nBcc: x")).unwrap();
        assert_eq!(f.matches("\r\n").count(), 2, "{f}");
        assert!(f.starts_with("X-Spam-Status: Yes, score=7.50 rspamdBcc: x\r\n"));
    }
}
