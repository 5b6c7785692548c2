//! What submission does to a message from an authenticated user before it
//! goes anywhere: the author must be the user (RFC 6409 8.1 lets the server
//! enforce it), `Date` and `Message-ID` are added when missing (RFC 6409
//! 8.2, 8.3), and `Bcc` is removed so blind recipients stay blind.

use tern_common::time::{now_secs, rfc5322_date};

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

/// Header fields as (name, whole field including folded lines and CRLF).
fn fields(header: &[u8]) -> Vec<(String, &[u8])> {
    let mut out: Vec<(String, &[u8])> = Vec::new();
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
            out.push((
                String::from_utf8_lossy(name).trim().to_ascii_lowercase(),
                field,
            ));
            start = line_end;
        }
        i = line_end;
    }
    out
}

/// The addresses in the From header(s); empty when there is none.
pub fn authors(msg: &[u8]) -> Vec<String> {
    let Some(parsed) = mail_parser::MessageParser::new().parse_headers(msg) else {
        return Vec::new();
    };
    let Some(from) = parsed.from() else {
        return Vec::new();
    };
    from.iter()
        .filter_map(|a| a.address().map(str::to_string))
        .collect()
}

/// Add Date and Message-ID when missing; drop Bcc.
pub fn fix_up(msg: &[u8], hostname: &str) -> Vec<u8> {
    let end = header_end(msg);
    let (header, body) = msg.split_at(end);
    let fs = fields(header);
    let mut out = Vec::with_capacity(msg.len() + 128);
    if !fs.iter().any(|(n, _)| n == "date") {
        out.extend_from_slice(format!("Date: {}\r\n", rfc5322_date(now_secs())).as_bytes());
    }
    if !fs.iter().any(|(n, _)| n == "message-id") {
        out.extend_from_slice(
            format!(
                "Message-ID: <{:032x}@{hostname}>\r\n",
                rand::random::<u128>()
            )
            .as_bytes(),
        );
    }
    for (name, field) in &fs {
        if name != "bcc" {
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
    fn authors_of_a_message() {
        assert_eq!(
            authors(b"From: Alice <alice@example.org>\r\n\r\nx"),
            vec!["alice@example.org"]
        );
        assert_eq!(authors(b"From: a@x.example, b@y.example\r\n\r\nx").len(), 2);
        assert!(authors(b"Subject: none\r\n\r\nx").is_empty());
    }
}
