//! ENVELOPE, BODYSTRUCTURE and body sections (RFC 9051 7.5.2) from the
//! MIME tree `mime_tree::parse` builds. Offsets of a part count from
//! `raw_of` the message that holds it.
//!
//! The rule: every walker here takes trees from `mime_tree::parse` only,
//! which are at most `MAX_DEPTH` levels deep and `MAX_PARTS` parts wide;
//! the one recursive walker (`body_structure`) is bounded by that depth.

use mail_parser::{Address, HeaderName, HeaderValue, Message, MessagePart, MimeHeaders, PartType};

use crate::mime_tree::slice;
pub use crate::mime_tree::{MAX_DEPTH, parse, raw_of};
use crate::protocol::wire::{nstring, string};

fn raw_header_value<'a>(msg: &'a Message<'_>, name: HeaderName<'_>) -> Option<&'a [u8]> {
    let h = msg.parts.first()?.headers.iter().find(|h| h.name == name)?;
    let v = slice(raw_of(msg), h.offset_start, h.offset_end);
    Some(trim(v))
}

fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map(|e| e + 1)
        .unwrap_or(s);
    &v[s..e.max(s)]
}

/// Header values are unfolded in the envelope (RFC 9051 7.5.2).
fn unfold(v: &[u8]) -> Vec<u8> {
    v.iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect()
}

fn addresses(out: &mut Vec<u8>, v: Option<&HeaderValue<'_>>) {
    let mut items: Vec<Vec<u8>> = Vec::new();
    let addr = |out: &mut Vec<u8>, name: Option<&str>, email: Option<&str>| {
        let (mbox, host) = match email.and_then(|e| e.rsplit_once('@')) {
            Some((m, h)) => (Some(m), Some(h)),
            None => (email, None),
        };
        out.push(b'(');
        nstring(out, name.map(str::as_bytes));
        out.extend_from_slice(b" NIL ");
        nstring(out, mbox.map(str::as_bytes));
        out.push(b' ');
        nstring(out, host.map(str::as_bytes));
        out.push(b')');
    };
    match v {
        Some(HeaderValue::Address(Address::List(list))) => {
            for a in list {
                let mut o = Vec::new();
                addr(&mut o, a.name.as_deref(), a.address.as_deref());
                items.push(o);
            }
        }
        Some(HeaderValue::Address(Address::Group(groups))) => {
            for g in groups {
                let mut o = Vec::new();
                if let Some(n) = &g.name {
                    // RFC 9051 7.5.2: group start and end markers.
                    o.extend_from_slice(b"(NIL NIL ");
                    string(&mut o, n.as_bytes());
                    o.extend_from_slice(b" NIL)");
                }
                // RFC 5322 3.4: a group holds mailboxes, each with an
                // addr-spec; what the parser gives without one was a
                // comment (`group2: (foo) ;`), not a member.
                for a in g.addresses.iter().filter(|a| a.address.is_some()) {
                    addr(&mut o, a.name.as_deref(), a.address.as_deref());
                }
                if g.name.is_some() {
                    o.extend_from_slice(b"(NIL NIL NIL NIL)");
                }
                items.push(o);
            }
        }
        _ => {}
    }
    if items.is_empty() {
        out.extend_from_slice(b"NIL");
    } else {
        out.push(b'(');
        for i in items {
            out.extend_from_slice(&i);
        }
        out.push(b')');
    }
}

fn header<'a>(msg: &'a Message<'_>, name: HeaderName<'_>) -> Option<&'a HeaderValue<'a>> {
    msg.parts
        .first()?
        .headers
        .iter()
        .find(|h| h.name == name)
        .map(|h| &h.value)
}

pub fn envelope(out: &mut Vec<u8>, msg: &Message<'_>) {
    out.push(b'(');
    for (i, name) in [HeaderName::Date, HeaderName::Subject]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push(b' ');
        }
        nstring(out, raw_header_value(msg, name).map(unfold).as_deref());
    }
    let from = header(msg, HeaderName::From);
    for name in [
        HeaderName::From,
        HeaderName::Sender,
        HeaderName::ReplyTo,
        HeaderName::To,
        HeaderName::Cc,
        HeaderName::Bcc,
    ] {
        out.push(b' ');
        // RFC 9051 7.5.2: Sender and Reply-To default to From.
        let v = header(msg, name.clone()).or(match name {
            HeaderName::Sender | HeaderName::ReplyTo => from,
            _ => None,
        });
        addresses(out, v);
    }
    for name in [HeaderName::InReplyTo, HeaderName::MessageId] {
        out.push(b' ');
        nstring(out, raw_header_value(msg, name).map(unfold).as_deref());
    }
    out.push(b')');
}

fn params(out: &mut Vec<u8>, part: &MessagePart<'_>, with_charset_default: bool) {
    let attrs = part.content_type().and_then(|c| c.attributes());
    match attrs {
        Some(a) if !a.is_empty() => {
            out.push(b'(');
            for (i, at) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                string(out, at.name.as_bytes());
                out.push(b' ');
                string(out, at.value.as_bytes());
            }
            out.push(b')');
        }
        _ if with_charset_default => out.extend_from_slice(b"(\"charset\" \"us-ascii\")"),
        _ => out.extend_from_slice(b"NIL"),
    }
}

fn lines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

/// BODYSTRUCTURE (`ext` = true) or BODY of part `idx` of `msg`. Recursion
/// is bounded by `depth`, which is never above [`MAX_DEPTH`] + 1 on a tree
/// from [`parse`].
pub fn body_structure(out: &mut Vec<u8>, msg: &Message<'_>, idx: usize, ext: bool, depth: u32) {
    let Some(part) = msg.parts.get(idx) else {
        out.extend_from_slice(b"NIL");
        return;
    };
    let ct = part.content_type();
    if let PartType::Multipart(children) = &part.body {
        out.push(b'(');
        if depth > MAX_DEPTH || children.is_empty() {
            out.extend_from_slice(b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0)");
        }
        for &c in children {
            if depth <= MAX_DEPTH {
                body_structure(out, msg, c as usize, ext, depth + 1);
            }
        }
        out.push(b' ');
        let sub = ct.and_then(|c| c.subtype()).unwrap_or("mixed");
        string(out, sub.to_ascii_uppercase().as_bytes());
        if ext {
            out.push(b' ');
            params(out, part, false);
            out.extend_from_slice(b" NIL NIL NIL");
        }
        out.push(b')');
        return;
    }
    let raw = raw_of(msg);
    let body = slice(raw, part.offset_body, part.offset_end);
    let (ty, sub) = match ct {
        Some(c) => (
            c.ctype().to_ascii_uppercase(),
            c.subtype().unwrap_or("").to_ascii_uppercase(),
        ),
        None => ("TEXT".into(), "PLAIN".into()),
    };
    out.push(b'(');
    string(out, ty.as_bytes());
    out.push(b' ');
    string(out, sub.as_bytes());
    out.push(b' ');
    params(out, part, ty == "TEXT");
    out.push(b' ');
    nstring(out, part.content_id().map(str::as_bytes));
    out.push(b' ');
    nstring(out, part.content_description().map(str::as_bytes));
    out.push(b' ');
    let enc = part
        .content_transfer_encoding()
        .unwrap_or("7bit")
        .to_ascii_uppercase();
    string(out, enc.as_bytes());
    out.extend_from_slice(format!(" {}", body.len()).as_bytes());
    match &part.body {
        // Never deeper than the tree `parse` leaves (MAX_DEPTH + 1 levels).
        PartType::Message(sub)
            if depth <= MAX_DEPTH
                && ty == "MESSAGE"
                && (sub_is_rfc822(&sub_str(&sub_part_type(ct)))) =>
        {
            out.push(b' ');
            envelope(out, sub);
            out.push(b' ');
            body_structure(out, sub, 0, ext, depth + 1);
            out.extend_from_slice(format!(" {}", lines(body)).as_bytes());
        }
        _ if ty == "TEXT" => out.extend_from_slice(format!(" {}", lines(body)).as_bytes()),
        _ => {}
    }
    if ext {
        out.extend_from_slice(b" NIL ");
        match part.content_disposition() {
            Some(d) => {
                out.push(b'(');
                string(out, d.ctype().to_ascii_uppercase().as_bytes());
                out.push(b' ');
                match d.attributes() {
                    Some(a) if !a.is_empty() => {
                        out.push(b'(');
                        for (i, at) in a.iter().enumerate() {
                            if i > 0 {
                                out.push(b' ');
                            }
                            string(out, at.name.as_bytes());
                            out.push(b' ');
                            string(out, at.value.as_bytes());
                        }
                        out.push(b')');
                    }
                    _ => out.extend_from_slice(b"NIL"),
                }
                out.push(b')');
            }
            None => out.extend_from_slice(b"NIL"),
        }
        out.extend_from_slice(b" NIL NIL");
    }
    out.push(b')');
}

fn sub_part_type(ct: Option<&mail_parser::ContentType<'_>>) -> Option<String> {
    ct.and_then(|c| c.subtype()).map(str::to_ascii_lowercase)
}

fn sub_str(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

fn sub_is_rfc822(s: &str) -> bool {
    s == "rfc822" || s == "global"
}

/// The message a part path leads into, and the part index within it
/// (RFC 9051 6.4.5: part numbers; a message/rfc822 part's sub-parts are
/// those of the message it holds).
pub fn locate<'m, 'x>(msg: &'m Message<'x>, path: &[u32]) -> Option<(&'m Message<'x>, usize)> {
    let mut cur = msg;
    let mut idx = 0usize;
    for (n, &num) in path.iter().enumerate() {
        let part = cur.parts.get(idx)?;
        match &part.body {
            PartType::Multipart(children) => {
                idx = *children.get(num.checked_sub(1)? as usize)? as usize;
            }
            PartType::Message(sub) if n > 0 || idx != 0 => {
                // Entering an encapsulated message: its body part list.
                cur = sub;
                idx = 0;
                let p = cur.parts.first()?;
                match &p.body {
                    PartType::Multipart(children) => {
                        idx = *children.get(num.checked_sub(1)? as usize)? as usize;
                    }
                    _ if num == 1 => {}
                    _ => return None,
                }
            }
            _ if num == 1 => {}
            _ => return None,
        }
    }
    Some((cur, idx))
}

/// The header block of part `idx` of `msg`, its final blank line included.
pub fn part_header<'a>(msg: &'a Message<'_>, idx: usize) -> &'a [u8] {
    match msg.parts.get(idx) {
        Some(p) => slice(raw_of(msg), p.offset_header, p.offset_body),
        None => &[],
    }
}

pub fn part_body<'a>(msg: &'a Message<'_>, idx: usize) -> &'a [u8] {
    match msg.parts.get(idx) {
        Some(p) => slice(raw_of(msg), p.offset_body, p.offset_end),
        None => &[],
    }
}

/// The encapsulated message of a message/rfc822 part, if it is one.
pub fn inner<'m, 'x>(msg: &'m Message<'x>, idx: usize) -> Option<&'m Message<'x>> {
    match &msg.parts.get(idx)?.body {
        PartType::Message(m) if idx != 0 => Some(m),
        _ => None,
    }
}

/// HEADER.FIELDS / HEADER.FIELDS.NOT over a header block.
pub fn header_fields(block: &[u8], names: &[String], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut fields: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < block.len() {
        if block[i] == b'\n' {
            let next = block.get(i + 1).copied();
            if next != Some(b' ') && next != Some(b'\t') {
                fields.push(&block[start..=i]);
                start = i + 1;
            }
        }
        i += 1;
    }
    for f in fields {
        let Some(colon) = f.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = trim(&f[..colon]);
        let hit = names
            .iter()
            .any(|n| n.as_bytes().eq_ignore_ascii_case(name));
        if hit != not {
            out.extend_from_slice(f);
        }
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mime_tree::MAX_PARTS;

    const MSG: &[u8] = b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: hi\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@x>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n";

    #[test]
    fn structure_and_sections() {
        let m = parse(MSG).unwrap();
        let mut e = Vec::new();
        envelope(&mut e, &m);
        let e = String::from_utf8(e).unwrap();
        assert_eq!(
            e,
            "(\"Mon, 1 Jan 2024 00:00:00 +0000\" \"hi\" ((\"Alice\" NIL \"alice\" \"example.org\")) ((\"Alice\" NIL \"alice\" \"example.org\")) ((\"Alice\" NIL \"alice\" \"example.org\")) ((NIL NIL \"bob\" \"example.com\")) NIL NIL NIL \"<1@x>\")"
        );
        let mut b = Vec::new();
        body_structure(&mut b, &m, 0, false, 0);
        let b = String::from_utf8(b).unwrap();
        assert!(b.starts_with("((\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 5 0)(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" 4) \"MIXED\")"), "{b}");
        let (mm, i) = locate(&m, &[1]).unwrap();
        assert_eq!(part_body(mm, i), b"hello");
        let (mm, i) = locate(&m, &[2]).unwrap();
        assert_eq!(part_body(mm, i), b"AAAA");
        assert!(locate(&m, &[3]).is_none());
        let h = header_fields(part_header(&m, 0), &["subject".into()], false);
        assert_eq!(h, b"Subject: hi\r\n\r\n");
    }

    /// `Subject: nest`, then `levels` message/rfc822 containers, then a leaf.
    pub(crate) fn nested_rfc822(levels: usize) -> Vec<u8> {
        let mut m = b"Subject: nest\r\nMIME-Version: 1.0\r\n".to_vec();
        for _ in 0..levels {
            m.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        m.extend_from_slice(b"Subject: leaf\r\n\r\nleaf");
        m
    }

    /// `levels` multiparts, each holding the next.
    pub(crate) fn nested_multipart(levels: usize) -> Vec<u8> {
        let mut m = b"Subject: parts\r\nMIME-Version: 1.0\r\n".to_vec();
        for i in 0..levels {
            m.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n")
                    .as_bytes(),
            );
        }
        m.extend_from_slice(b"Content-Type: text/plain\r\n\r\nleaf\r\n");
        for i in (0..levels).rev() {
            m.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
        }
        m
    }

    /// Runs `f` on a thread with a tokio worker's stack (2 MiB), where an
    /// unbounded recursion over a deep tree would abort the process.
    fn on_worker_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap()
    }

    fn everything(raw: &[u8]) -> (String, String, Vec<u8>) {
        let m = parse(raw).unwrap();
        let mut e = Vec::new();
        envelope(&mut e, &m);
        let mut b = Vec::new();
        body_structure(&mut b, &m, 0, true, 0);
        let (mm, i) = locate(&m, &[1, 1, 1]).unwrap();
        let part = part_body(mm, i).to_vec();
        (
            String::from_utf8(e).unwrap(),
            String::from_utf8(b).unwrap(),
            part,
        )
    }

    /// The deepest container level the structure shows.
    fn nesting(structure: &str) -> usize {
        let (mut d, mut max) = (0usize, 0usize);
        for c in structure.bytes() {
            match c {
                b'(' => d += 1,
                b')' => d = d.saturating_sub(1),
                _ => {}
            }
            max = max.max(d);
        }
        max
    }

    #[test]
    fn message_rfc822_nesting_is_cut_at_the_depth_limit() {
        for levels in [11, 10_000, 20_000] {
            let raw = nested_rfc822(levels);
            let (e, b, part) = on_worker_stack(move || everything(&raw));
            assert!(e.contains("\"nest\""), "{levels}: {e}");
            // Ten message/rfc822 levels are shown, the eleventh is opaque.
            assert_eq!(b.matches("\"MESSAGE\" \"RFC822\"").count(), 10, "{levels}");
            assert_eq!(b.matches("\"APPLICATION\" \"OCTET-STREAM\"").count(), 1);
            assert!(!b.contains("\"leaf\""), "{levels}: {b}");
            // BODY[1.1.1] is the content of the third level.
            assert!(part.starts_with(b"Content-Type: message/rfc822\r\n\r\n"));
            assert!(part.ends_with(b"Subject: leaf\r\n\r\nleaf"));
        }
    }

    #[test]
    fn nesting_within_the_limit_is_shown_whole() {
        let raw = nested_rfc822(9);
        let (_, b, _) = on_worker_stack(move || everything(&raw));
        assert_eq!(b.matches("\"MESSAGE\" \"RFC822\"").count(), 9, "{b}");
        // The innermost envelope and the sizes are read from the right bytes.
        assert!(b.contains("\"leaf\""), "{b}");
        assert!(b.contains("\"7BIT\" 4 0"), "{b}");
        assert!(!b.contains("OCTET-STREAM"), "{b}");
    }

    #[test]
    fn multipart_nesting_is_cut_at_the_depth_limit() {
        for levels in [9, 10, 11, 10_000] {
            let raw = nested_multipart(levels);
            let b = on_worker_stack(move || {
                let m = parse(&raw).unwrap();
                let mut b = Vec::new();
                body_structure(&mut b, &m, 0, true, 0);
                String::from_utf8(b).unwrap()
            });
            // Ten containers deep is the limit; the eleventh is opaque.
            assert_eq!(b.contains("OCTET-STREAM"), levels > 10, "{levels}: {b}");
            assert!(nesting(&b) <= 2 * MAX_DEPTH as usize + 4, "{levels}: {b}");
        }
    }

    #[test]
    fn nesting_inside_encoded_messages_is_cut_too() {
        use base64::Engine;
        let inner = nested_rfc822(20_000);
        let enc = base64::engine::general_purpose::STANDARD.encode(&inner);
        let mut raw = b"Subject: outer\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
        for line in enc.as_bytes().chunks(76) {
            raw.extend_from_slice(line);
            raw.extend_from_slice(b"\r\n");
        }
        let b = on_worker_stack(move || {
            let m = parse(&raw).unwrap();
            let mut b = Vec::new();
            body_structure(&mut b, &m, 0, true, 0);
            String::from_utf8(b).unwrap()
        });
        assert!(b.matches("RFC822").count() <= MAX_DEPTH as usize, "{b}");
    }

    #[test]
    fn an_encoded_message_part_is_opaque_and_encodings_are_kept() {
        // RFC 2046 5.2.1 allows no base64 for message/rfc822; mail-parser
        // would decode and parse it recursively.
        let raw = b"Subject: mixed\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogaW5uZXINCg0KeA==\r\n--b--\r\n";
        let m = parse(raw).unwrap();
        let mut b = Vec::new();
        body_structure(&mut b, &m, 0, false, 0);
        let b = String::from_utf8(b).unwrap();
        assert_eq!(
            b,
            "((\"TEXT\" \"PLAIN\" (\"charset\" \"us-ascii\") NIL NIL \"BASE64\" 8 0)(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" 28) \"MIXED\")"
        );
        let (mm, i) = locate(&m, &[2]).unwrap();
        assert_eq!(part_body(mm, i), b"U3ViamVjdDogaW5uZXINCg0KeA==");
        let mut e = Vec::new();
        envelope(&mut e, &m);
        assert!(String::from_utf8(e).unwrap().contains("\"mixed\""));
    }

    #[test]
    fn the_number_of_parts_shown_is_bounded() {
        let many = |n: usize| {
            let mut m =
                b"Subject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
            for _ in 0..n {
                m.extend_from_slice(b"--b\r\n\r\nx\r\n");
            }
            m.extend_from_slice(b"--b--\r\n");
            m
        };
        let structure = |raw: &[u8]| {
            let m = parse(raw).unwrap();
            let mut b = Vec::new();
            body_structure(&mut b, &m, 0, true, 0);
            String::from_utf8(b).unwrap()
        };
        let within = structure(&many(MAX_PARTS - 1));
        assert_eq!(within.matches("\"TEXT\"").count(), MAX_PARTS - 1);
        // 100,000 tiny parts: one opaque part, not 7 MB of structure.
        let past = structure(&many(100_000));
        assert!(
            past.starts_with("(\"APPLICATION\" \"OCTET-STREAM\""),
            "{past}"
        );
        assert!(past.len() < 1_000, "{}", past.len());
    }

    #[test]
    fn an_encoded_part_without_a_type_is_text_outside_a_digest() {
        // No Content-Type: text/plain (RFC 2045 5.2), decoded as usual.
        let raw = b"Subject: q\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b--\r\n";
        let m = parse(raw).unwrap();
        let mut b = Vec::new();
        body_structure(&mut b, &m, 0, false, 0);
        let b = String::from_utf8(b).unwrap();
        assert!(b.starts_with("((\"TEXT\" \"PLAIN\""), "{b}");
        assert!(
            m.parts
                .iter()
                .any(|p| matches!(&p.body, PartType::Text(t) if t == "hello")),
            "decoded for SEARCH"
        );
        // In a digest the same part is a message: opaque.
        let raw = b"Subject: d\r\nContent-Type: multipart/digest; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogaQ0KDQp4\r\n--b--\r\n";
        let m = parse(raw).unwrap();
        let mut b = Vec::new();
        body_structure(&mut b, &m, 0, false, 0);
        let b = String::from_utf8(b).unwrap();
        assert!(b.starts_with("((\"APPLICATION\" \"OCTET-STREAM\""), "{b}");
    }
}
