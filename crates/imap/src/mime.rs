//! ENVELOPE, BODYSTRUCTURE and body sections (RFC 9051 7.5.2) from
//! `mail-parser`'s MIME tree. Offsets of a part are relative to the raw
//! bytes of the message that contains it.

use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};

use crate::wire::{nstring, string};

pub fn parse(raw: &[u8]) -> Option<Message<'_>> {
    MessageParser::default().parse(raw)
}

fn raw_of<'a>(msg: &'a Message<'_>) -> &'a [u8] {
    msg.raw_message()
}

fn slice(raw: &[u8], a: u32, b: u32) -> &[u8] {
    let (a, b) = (a as usize, b as usize);
    raw.get(a.min(raw.len())..b.min(raw.len())).unwrap_or(&[])
}

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
                for a in &g.addresses {
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

/// BODYSTRUCTURE (`ext` = true) or BODY of part `idx` of `msg`.
pub fn body_structure(out: &mut Vec<u8>, msg: &Message<'_>, idx: usize, ext: bool, depth: u32) {
    let Some(part) = msg.parts.get(idx) else {
        out.extend_from_slice(b"NIL");
        return;
    };
    let ct = part.content_type();
    if let PartType::Multipart(children) = &part.body {
        out.push(b'(');
        if depth > 10 || children.is_empty() {
            out.extend_from_slice(b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0)");
        }
        for &c in children {
            if depth <= 10 {
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
        PartType::Message(sub)
            if ty == "MESSAGE" && (sub_is_rfc822(&sub_str(&sub_part_type(ct)))) =>
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
}
