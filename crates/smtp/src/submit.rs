//! What submission does to a message from an authenticated user before it
//! goes anywhere: the author must be the user (RFC 6409 8.1 lets the server
//! enforce it), `Date` and `Message-ID` are added when missing (RFC 6409
//! 8.2, 8.3), and `Bcc` is removed so blind recipients stay blind.

use tern_common::time::{now_secs, rfc5322_date};
use tern_mailauth::fields::name_is;

use crate::replies as R;

/// The end of the header section (index of the blank line's CRLF start).
fn header_end(msg: &[u8]) -> usize {
    if msg.starts_with(b"\r\n") {
        return 0;
    }
    msg.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2)
        .unwrap_or(msg.len())
}

/// Header lines as (name as written, whole field including folded lines
/// and CRLF); a line without a colon is kept too, named by all of it.
fn fields(header: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut out: Vec<(&[u8], &[u8])> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < header.len() {
        let line_end = header[i..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| i + p + 2)
            .unwrap_or(header.len());
        let continues = header
            .get(line_end)
            .is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continues {
            let field = &header[start..line_end];
            let name = field.split(|b| *b == b':').next().unwrap_or_default();
            out.push((name, field));
            start = line_end;
        }
        i = line_end;
    }
    out
}

/// Every address a submitted message claims as its author or sender: the
/// mailboxes of its one `From` field and of its `Sender` field, if any.
/// RFC 5322 3.6 allows exactly one `From` and at most one `Sender`, and
/// `Sender` is one mailbox (3.6.2). Fields are read from the raw header in
/// every spelling (`tern_mailauth::fields`), so a second `From` cannot
/// hide behind the one a parser keeps. `Err` is the whole reply line.
pub fn identities(msg: &[u8]) -> Result<Vec<String>, String> {
    use tern_mailauth::fields::{FieldError, single};
    let refuse = |name: &str, e: FieldError| match e {
        FieldError::Repeated(n) => R::repeated_field(n, name),
        FieldError::NotMailboxes => R::not_mailboxes(name),
    };
    let mut all = match single(msg, "from") {
        Ok(Some(from)) => from,
        Ok(None) => return Err(R::NO_FROM.into()),
        Err(e) => return Err(refuse("From", e)),
    };
    match single(msg, "sender") {
        Ok(None) => {}
        Ok(Some(sender)) if sender.len() == 1 => all.extend(sender),
        Ok(Some(_)) => return Err(refuse("Sender", FieldError::NotMailboxes)),
        Err(e) => return Err(refuse("Sender", e)),
    }
    Ok(all)
}

/// Add Date and Message-ID when missing; drop Bcc.
pub fn fix_up(msg: &[u8], hostname: &str) -> Vec<u8> {
    let end = header_end(msg);
    let (header, body) = msg.split_at(end);
    let fs = fields(header);
    let mut out = Vec::with_capacity(msg.len() + 128);
    // Names compared the way identity checks compare them, so that no
    // spelling of `Bcc` survives (tern_mailauth::fields::name_is).
    let has = |name: &str| fs.iter().any(|(n, _)| name_is(n, name));
    if !has("date") {
        out.extend_from_slice(format!("Date: {}\r\n", rfc5322_date(now_secs())).as_bytes());
    }
    if !has("message-id") {
        out.extend_from_slice(
            format!(
                "Message-ID: <{:032x}@{hostname}>\r\n",
                rand::random::<u128>()
            )
            .as_bytes(),
        );
    }
    for (name, field) in &fs {
        if !name_is(name, "bcc") {
            out.extend_from_slice(field);
        }
    }
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_up_and_strips_bcc() {
        let m = b"From: a@example.org\r\nBcc: secret@example.org,\r\n other@example.org\r\nSubject: x\r\n\r\nbody\r\nBcc: in the body stays\r\n";
        let out = String::from_utf8(fix_up(m, "mx.example.org")).unwrap();
        assert!(out.starts_with("Date: "), "{out}");
        assert!(out.contains("Message-ID: <") && out.contains("@mx.example.org>\r\n"));
        assert!(
            !out.contains("secret@") && !out.contains("other@example.org"),
            "{out}"
        );
        assert!(out.ends_with("Subject: x\r\n\r\nbody\r\nBcc: in the body stays\r\n"));
        // Every spelling of Bcc goes.
        let odd = fix_up(
            b"BCC : a@x.example\r\nbcc\x0b: b@x.example\r\nX: y\r\n\r\nb\r\n",
            "h",
        );
        assert!(
            !String::from_utf8_lossy(&odd).contains("x.example"),
            "{}",
            String::from_utf8_lossy(&odd)
        );
        let kept = fix_up(
            b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <x@y>\r\n\r\nb\r\n",
            "h",
        );
        assert_eq!(
            kept,
            b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <x@y>\r\n\r\nb\r\n"
        );
    }

    #[test]
    fn identities_of_a_message() {
        assert_eq!(
            identities(b"From: Alice <alice@example.org>\r\n\r\nx"),
            Ok(vec!["alice@example.org".to_string()])
        );
        assert_eq!(
            identities(b"From: a@x.example, b@y.example\r\nSender: a@x.example\r\n\r\nx")
                .map(|v| v.len()),
            Ok(3),
            "every mailbox of From and Sender is checked"
        );
        assert!(identities(b"Subject: none\r\n\r\nx").is_err());
    }

    #[test]
    fn duplicate_or_malformed_identity_fields_are_refused() {
        for bad in [
            // The spoof: a second From after the one a parser would keep.
            &b"From: bob@x.example\r\nFrom: alice@x.example\r\n\r\nx"[..],
            // Other spellings of the same field name.
            b"FROM: bob@x.example\r\nfrom: alice@x.example\r\n\r\nx",
            b"From : bob@x.example\r\nFrom: alice@x.example\r\n\r\nx",
            b"From: alice@x.example\r\nFrom\t: bob@x.example\r\n\r\nx",
            // A value that is not a mailbox list.
            b"From: <bob@x.example\r\n\r\nx",
            b"From: undisclosed:;\r\n\r\nx",
            // Two Sender fields, or a Sender with two mailboxes.
            b"From: a@x.example\r\nSender: a@x.example\r\nsender: b@x.example\r\n\r\nx",
            b"From: a@x.example\r\nSender: a@x.example, b@x.example\r\n\r\nx",
        ] {
            let r = identities(bad);
            assert!(
                r.as_ref().is_err_and(|t| t.starts_with("550 5.")),
                "{:?} gave {r:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
