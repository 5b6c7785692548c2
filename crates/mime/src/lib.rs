//! The MIME tree of a message, from `mail-parser`, cut to what the
//! walkers in `mime.rs` may safely read: at most [`MAX_DEPTH`] levels of
//! nesting and [`MAX_PARTS`] parts, past which a container is one opaque
//! part (RFC 2046 5.2.1 also makes an encoded message/rfc822 part opaque).
//!
//! The rule: every tree comes from [`parse`], and nothing here recurses
//! on the message's depth, including `Drop` (mail-parser builds a
//! message/rfc822 chain of any depth; dropping or walking it recursively
//! overflows the stack).

use std::borrow::Cow;

use mail_parser::{
    ContentType, Header, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders,
    PartType,
};

/// The deepest MIME nesting tern looks into: a part inside more than this
/// many multipart or message/rfc822 containers is not represented; its
/// nearest container inside the limit becomes one opaque part.
pub const MAX_DEPTH: u32 = 10;

/// The most parts a message's tree shows; the container that would take
/// it past this becomes one opaque part. BODYSTRUCTURE costs about 70
/// bytes per part, so a message of tiny parts would otherwise make a
/// structure seven times its own size.
pub const MAX_PARTS: usize = 1_000;

/// The message's MIME tree, at most [`MAX_DEPTH`] levels deep. The bytes
/// are untouched (BODY[] is still exact); only the tree is cut.
///
/// mail-parser builds nesting iteratively except inside a base64 or
/// quoted-printable message/rfc822 part, which it decodes and parses
/// recursively, then copies recursively (`into_owned`): a deep chain
/// inside one such part overflows the stack before any limit can apply.
/// So the first parse leaves Content-Transfer-Encoding alone (nothing is
/// decoded, nothing recursed into); a message without an encoded
/// message/rfc822 part is then parsed with decoding, a message with one
/// keeps the first tree with those parts opaque (RFC 2046 5.2.1 allows
/// only 7bit, 8bit and binary for message/rfc822).
pub fn parse(raw: &[u8]) -> Option<Message<'_>> {
    let mut plain = plain_parser().parse(raw)?;
    let found = scan(&plain);
    if !found.encoded_message {
        if found.encodings {
            dismantle(vec![plain]);
            plain = MessageParser::default().parse(raw)?;
        }
        bound(&mut plain);
        return Some(plain);
    }
    bound(&mut plain);
    restore_encodings(&mut plain);
    Some(plain)
}

/// mail-parser's default reading of each field (its `parse_headers`),
/// except that Content-Transfer-Encoding is skipped.
fn plain_parser() -> &'static MessageParser {
    static PARSER: std::sync::OnceLock<MessageParser> = std::sync::OnceLock::new();
    PARSER.get_or_init(|| {
        use HeaderName::*;
        let mut p = MessageParser::new();
        for h in [Subject, Comments, ContentDescription, ContentLocation] {
            p = p.header_text(h);
        }
        for h in [
            From,
            To,
            Cc,
            Bcc,
            ReplyTo,
            Sender,
            ResentTo,
            ResentFrom,
            ResentBcc,
            ResentCc,
            ResentSender,
            ListArchive,
            ListHelp,
            ListId,
            ListOwner,
            ListPost,
            ListSubscribe,
            ListUnsubscribe,
        ] {
            p = p.header_address(h);
        }
        for h in [Date, ResentDate] {
            p = p.header_date(h);
        }
        for h in [
            MessageId,
            References,
            InReplyTo,
            ReturnPath,
            ContentId,
            ResentMessageId,
        ] {
            p = p.header_id(h);
        }
        for h in [Keywords, ContentLanguage] {
            p = p.header_comma_separated(h);
        }
        for h in [ContentType, ContentDisposition] {
            p = p.header_content_type(h);
        }
        p.header_received(Received)
            .ignore_header(ContentTransferEncoding)
    })
}

/// What the first parse saw.
struct Found {
    /// A part has a Content-Transfer-Encoding field.
    encodings: bool,
    /// A message/rfc822 part has an encoding mail-parser would decode.
    encoded_message: bool,
}

/// Reads every part of the whole tree (explicit stack, no depth limit:
/// this is the pass that decides whether the recursive one is safe).
fn scan(msg: &Message<'_>) -> Found {
    let mut found = Found {
        encodings: false,
        encoded_message: false,
    };
    let mut stack = vec![msg];
    while let Some(m) = stack.pop() {
        let digest = has_digest(m);
        for part in &m.parts {
            let block = slice(raw_of(m), part.offset_header, part.offset_body);
            let has_cte = contains_ignore_case(block, b"content-transfer-encoding");
            found.encodings |= has_cte;
            if has_cte
                && may_be_message(part, digest)
                && encoding_of(block).is_some_and(|e| e != "7bit")
            {
                found.encoded_message = true;
            }
            if let PartType::Message(inner) = &part.body {
                stack.push(inner);
            }
        }
    }
    found
}

/// Has `m` a multipart/digest, in whose parts a part without a type is a
/// message? Asked of the whole message rather than of each part's parent,
/// so that no way mail-parser may place a part is missed.
fn has_digest(m: &Message<'_>) -> bool {
    m.parts.iter().any(|p| {
        p.content_type().is_some_and(|c| {
            c.ctype().eq_ignore_ascii_case("multipart")
                && c.subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("digest"))
        })
    })
}

/// Would mail-parser read this part as a message? Yes for
/// message/rfc822 and message/global, and for a part without a type in a
/// multipart/digest (RFC 2046 5.1.5; `digest`: the message has one). The
/// body is no guide: an encoded
/// message that fails to parse as one is text in the first tree.
fn may_be_message(part: &MessagePart<'_>, in_digest: bool) -> bool {
    match part.content_type() {
        None => in_digest,
        Some(ct) => {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct.subtype().is_some_and(|s| {
                    s.eq_ignore_ascii_case("rfc822") || s.eq_ignore_ascii_case("global")
                })
        }
    }
}

/// The Content-Transfer-Encoding of a header block, as mail-parser reads
/// it (lower case; 8bit and binary read as 7bit: nothing to decode).
fn encoding_of(block: &[u8]) -> Option<String> {
    let h = MessageParser::default().parse_headers(block)?;
    let cte = h
        .parts
        .first()?
        .content_transfer_encoding()?
        .to_ascii_lowercase();
    Some(match cte.as_str() {
        "base64" | "quoted-printable" => cte,
        _ => "7bit".into(),
    })
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// In a tree parsed without Content-Transfer-Encoding: gives every part
/// its field back (BODYSTRUCTURE shows it, BINARY decodes by it), and
/// makes each encoded message/rfc822 part opaque.
fn restore_encodings(msg: &mut Message<'_>) {
    let mut cut = Vec::new();
    let mut stack = vec![msg];
    while let Some(m) = stack.pop() {
        let delimiters = delimiters(m);
        let digest = has_digest(m);
        let raw = &m.raw_message;
        for (i, part) in m.parts.iter_mut().enumerate() {
            let block = slice(raw, part.offset_header, part.offset_body);
            if !contains_ignore_case(block, b"content-transfer-encoding") {
                if let PartType::Message(inner) = &mut part.body {
                    stack.push(inner);
                }
                continue;
            }
            let field = MessageParser::default()
                .parse_headers(block)
                .and_then(|h| h.parts.into_iter().next())
                .and_then(|p| {
                    p.headers
                        .into_iter()
                        .find(|h| h.name == HeaderName::ContentTransferEncoding)
                });
            let encoded =
                may_be_message(part, digest) && encoding_of(block).is_some_and(|e| e != "7bit");
            if let Some(f) = field {
                part.headers.push(Header {
                    name: f.name.into_owned(),
                    value: f.value.into_owned(),
                    offset_field: 0,
                    offset_start: 0,
                    offset_end: 0,
                });
            }
            if encoded {
                // Read as a message, its end ran on past its delimiter.
                if let Some(end) = delimiters
                    .get(&i)
                    .and_then(|d| delimited_end(raw, part.offset_body, d))
                {
                    part.offset_end = end;
                }
                if let PartType::Message(inner) = opaque(part, raw) {
                    cut.push(inner);
                }
            } else if let PartType::Message(inner) = &mut part.body {
                stack.push(inner);
            }
        }
    }
    dismantle(cut);
}

/// Turns every container whose content would sit deeper than
/// [`MAX_DEPTH`], or would take the message past [`MAX_PARTS`] parts,
/// into an opaque `application/octet-stream` leaf holding its raw
/// content, with an explicit stack. The subtrees cut off are taken apart
/// iteratively, as their `Drop` would recurse once per level.
fn bound(msg: &mut Message<'_>) {
    let mut cut = Vec::new();
    let mut shown = 1usize;
    let mut stack = vec![(msg, 0u32)];
    while let Some((m, base)) = stack.pop() {
        // mail-parser lists a container before its children, so one pass
        // in order knows each part's depth, or that it is not reachable
        // (below a container made opaque, or listed twice).
        let mut depths: Vec<Option<u32>> = vec![None; m.parts.len()];
        if let Some(first) = depths.first_mut() {
            *first = Some(base);
        }
        let raw = &m.raw_message;
        for (i, part) in m.parts.iter_mut().enumerate() {
            let Some(d) = depths[i] else {
                // Not shown: nothing below it is kept either.
                if matches!(part.body, PartType::Message(_))
                    && let PartType::Message(inner) =
                        std::mem::replace(&mut part.body, PartType::Binary(Cow::Borrowed(&[])))
                {
                    cut.push(inner);
                }
                continue;
            };
            let below = match &part.body {
                PartType::Multipart(children) => children.len(),
                PartType::Message(_) => 1,
                _ => continue,
            };
            if d >= MAX_DEPTH || shown.saturating_add(below) > MAX_PARTS {
                if let PartType::Message(inner) = opaque(part, raw) {
                    cut.push(inner);
                }
                continue;
            }
            shown += below;
            match &mut part.body {
                PartType::Multipart(children) => {
                    // A child index that does not point forward, or at a
                    // part already placed, is dropped: no walker can loop.
                    children.retain(|&c| {
                        let c = c as usize;
                        let fresh = c > i && depths.get(c).is_some_and(Option::is_none);
                        if fresh {
                            depths[c] = Some(d + 1);
                        }
                        fresh
                    });
                }
                PartType::Message(inner) => stack.push((inner, d + 1)),
                _ => {}
            }
        }
    }
    dismantle(cut);
}

/// Makes `part` an opaque leaf over its raw content; returns its old body.
fn opaque<'x>(part: &mut MessagePart<'x>, raw: &Cow<'x, [u8]>) -> PartType<'x> {
    let content = match raw {
        Cow::Borrowed(r) => Cow::Borrowed(slice(r, part.offset_body, part.offset_end)),
        Cow::Owned(r) => Cow::Owned(slice(r, part.offset_body, part.offset_end).to_vec()),
    };
    let octets = HeaderValue::ContentType(ContentType {
        c_type: "application".into(),
        c_subtype: Some("octet-stream".into()),
        attributes: None,
    });
    match part
        .headers
        .iter_mut()
        .find(|h| h.name == HeaderName::ContentType)
    {
        Some(h) => h.value = octets,
        None => part.headers.push(Header {
            name: HeaderName::ContentType,
            value: octets,
            offset_field: 0,
            offset_start: 0,
            offset_end: 0,
        }),
    }
    std::mem::replace(&mut part.body, PartType::Binary(content))
}

/// For each child of a multipart of `m`, the delimiter that ends it:
/// CRLF `--` boundary (RFC 2046 5.1.1).
fn delimiters(m: &Message<'_>) -> std::collections::HashMap<usize, Vec<u8>> {
    let mut out = std::collections::HashMap::new();
    for part in &m.parts {
        if let PartType::Multipart(children) = &part.body
            && let Some(b) = part.content_type().and_then(|c| c.attribute("boundary"))
        {
            for &c in children {
                out.insert(c as usize, format!("\n--{b}").into_bytes());
            }
        }
    }
    out
}

/// Where a part's content ends: before the CR LF of its delimiter.
fn delimited_end(raw: &[u8], from: u32, delimiter: &[u8]) -> Option<u32> {
    let from = (from as usize).min(raw.len());
    let mut end = from + find(&raw[from..], delimiter)?;
    if end > from && raw[end - 1] == b'\r' {
        end -= 1;
    }
    u32::try_from(end).ok()
}

/// The first place `needle` occurs in `hay`, in `len(hay) + len(needle)`
/// steps (Knuth-Morris-Pratt: a boundary is the sender's to choose).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let m = needle.len();
    if m == 0 || m > hay.len() {
        return (m == 0).then_some(0);
    }
    let mut fail = vec![0usize; m];
    let mut k = 0;
    for i in 1..m {
        while k > 0 && needle[i] != needle[k] {
            k = fail[k - 1];
        }
        if needle[i] == needle[k] {
            k += 1;
        }
        fail[i] = k;
    }
    k = 0;
    for (i, &b) in hay.iter().enumerate() {
        while k > 0 && b != needle[k] {
            k = fail[k - 1];
        }
        if b == needle[k] {
            k += 1;
            if k == m {
                return Some(i + 1 - m);
            }
        }
    }
    None
}

/// Drops message trees one level at a time.
fn dismantle(mut stack: Vec<Message<'_>>) {
    while let Some(mut m) = stack.pop() {
        for p in m.parts.drain(..) {
            if let PartType::Message(inner) = p.body {
                stack.push(inner);
            }
        }
    }
}

/// The bytes a message's offsets count from. Not `Message::raw_message()`,
/// which is the message's own span: a message/rfc822 part parsed in place
/// shares the enclosing message's bytes, and its offsets count from their
/// start (BODY[1.1], sizes and envelopes inside such a part were read from
/// the wrong bytes).
pub fn raw_of<'a>(msg: &'a Message<'_>) -> &'a [u8] {
    &msg.raw_message
}

/// The bytes from `a` to `b`, clamped to `raw`.
pub fn slice(raw: &[u8], a: u32, b: u32) -> &[u8] {
    let (a, b) = (a as usize, b as usize);
    raw.get(a.min(raw.len())..b.min(raw.len())).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_is_a_plain_substring_search() {
        let cases: [(&[u8], &[u8], Option<usize>); 6] = [
            (b"abcabd", b"abd", Some(3)),
            (b"aaaab", b"aab", Some(2)),
            (b"abc", b"", Some(0)),
            (b"ab", b"abc", None),
            (b"xx\n--b", b"\n--b", Some(2)),
            // Case counts: boundaries are case-sensitive.
            (b"\n--B", b"\n--b", None),
        ];
        for (hay, needle, want) in cases {
            assert_eq!(find(hay, needle), want, "{hay:?} {needle:?}");
        }
    }
}
