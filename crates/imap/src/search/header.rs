//! Header keys of SEARCH (FROM, TO, CC, BCC, SUBJECT, HEADER; RFC 9051
//! 6.4.4): a field matches as written or as read (RFC 2047 words
//! decoded, quoting and comments taken away, addresses as `name
//! <address>`). The fields as written settle most messages without
//! parsing (`decodes_as_written`); the parsed message decides the rest.

use super::{Ctx, contains};
use crate::mime;

impl Ctx<'_> {
    /// Does a field `name` contain `value`, as written or as read (RFC 2047
    /// words decoded, quoting and comments taken away, addresses as `name
    /// <address>`)? From the header block as written when that settles
    /// it: a hit there, or fields that read as they are written and a
    /// value that could only match the reading's own punctuation
    /// (`decodes_as_written`). Otherwise the parsed message decides, as
    /// `header_parsed` does for every message.
    pub(super) fn header(&self, name: &str, value: &[u8]) -> bool {
        let Some(block) = self.raw.filter(|_| self.header_only) else {
            return self.header_parsed(name, value);
        };
        let fields = mime::header_fields(block, &[name.to_string()], false);
        if fields.len() <= 2 {
            return false;
        }
        if contains(&fields, value) {
            return true;
        }
        if decodes_as_written(&fields) && !value.iter().any(|b| READING_PUNCTUATION.contains(b)) {
            return false;
        }
        self.header_parsed(name, value)
    }

    pub(super) fn header_parsed(&self, name: &str, value: &[u8]) -> bool {
        let Some(p) = self.parsed() else { return false };
        let block = mime::part_header(p, 0);
        let fields = mime::header_fields(block, &[name.to_string()], false);
        if fields.len() <= 2 {
            return false;
        }
        // Match against the values (after the colons).
        let decoded: Vec<u8> = p
            .parts
            .first()
            .map(|part| {
                part.headers
                    .iter()
                    .filter(|h| h.name.as_str().eq_ignore_ascii_case(name))
                    .flat_map(|h| header_text(&h.value).into_bytes())
                    .collect()
            })
            .unwrap_or_default();
        contains(&fields, value) || contains(&decoded, value)
    }
}

/// What the reading of a field (`header_text`) may put between the words
/// it takes from the field: a value with any of these may match the
/// reading and not the field as written.
const READING_PUNCTUATION: &[u8] = b"<>,;: \t\"";

/// Do these raw fields (`mime::header_fields`) read as written, so that a
/// value without `READING_PUNCTUATION` found in the reading is found in
/// them too? Not when the reading may decode or join what is written: an
/// encoded word, quoting, a comment, folding, tabs, runs of spaces, a
/// space beside `.` or `@` (a phrase or address a parser may close up),
/// control bytes or bytes beyond ASCII.
fn decodes_as_written(fields: &[u8]) -> bool {
    let at = |i: usize| fields.get(i).copied();
    for (i, &b) in fields.iter().enumerate() {
        let plain = match b {
            b'\r' => at(i + 1) == Some(b'\n'),
            b'\n' => !matches!(at(i + 1), Some(b' ' | b'\t')),
            b'=' => at(i + 1) != Some(b'?'),
            b' ' => {
                let beside = |c: Option<u8>| matches!(c, Some(b' ' | b'.' | b'@'));
                !beside(at(i + 1)) && !beside(i.checked_sub(1).and_then(at))
            }
            b'"' | b'\\' | b'(' | b')' => false,
            _ => (0x21..0x7f).contains(&b),
        };
        if !plain {
            return false;
        }
    }
    true
}

fn header_text(v: &mail_parser::HeaderValue<'_>) -> String {
    use mail_parser::{Address, HeaderValue};
    match v {
        HeaderValue::Text(t) => t.to_string(),
        HeaderValue::TextList(l) => l.join(" "),
        HeaderValue::Address(Address::List(l)) => l
            .iter()
            .map(|a| {
                format!(
                    "{} <{}>",
                    a.name.as_deref().unwrap_or(""),
                    a.address.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        HeaderValue::Address(Address::Group(g)) => g
            .iter()
            .flat_map(|g| g.addresses.iter())
            .map(|a| {
                format!(
                    "{} <{}>",
                    a.name.as_deref().unwrap_or(""),
                    a.address.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Sets;
    use super::*;
    use tern_store::MessageMeta;

    /// A header key's answer from a header block, with the fields as
    /// written consulted first (`header`) and with the parsed message
    /// alone (`header_parsed`).
    /// Also: whether the first answer came without parsing.
    fn both_ways(block: &[u8], name: &str, needle: &[u8]) -> (bool, bool, bool) {
        let sets = Sets::new();
        let meta = MessageMeta {
            uid: 1,
            size: block.len() as u64,
            internal_date: 0,
            internal_zone: 0,
            flags: Vec::new(),
            modseq: 1,
        };
        let (fast, slow) = (std::cell::OnceCell::new(), std::cell::OnceCell::new());
        let ctx = |parsed| Ctx {
            sets: &sets,
            idx: 0,
            meta: &meta,
            raw: Some(block),
            header_only: true,
            parsed,
            recent: false,
        };
        let first = ctx(&fast).header(name, needle);
        (
            first,
            ctx(&slow).header_parsed(name, needle),
            fast.get().is_none(),
        )
    }

    #[test]
    fn header_keys_answer_as_the_parsed_message_does() {
        let cases: &[(&[u8], &str, &[u8], bool)] = &[
            (
                b"From: Sender 4 <s4@example.net>\r\n\r\n",
                "From",
                b"S4@EXAMPLE",
                true,
            ),
            (
                b"From: Sender 4 <s4@example.net>\r\n\r\n",
                "From",
                b"s5@",
                false,
            ),
            (b"From: s4@example.net\r\n\r\n", "From", b"<s4@", true),
            (
                b"From: =?utf-8?q?J=C3=B6rg?= <j@x.example>\r\n\r\n",
                "From",
                "jörg".as_bytes(),
                true,
            ),
            (
                b"From: \"Smith, J\" <j@x.example>\r\n\r\n",
                "From",
                b"Smith, J <j",
                true,
            ),
            (
                b"Subject: a\r\n long line\r\n\r\n",
                "Subject",
                b"a long",
                true,
            ),
            (b"Subject: hi\r\n\r\n", "From", b"hi", false),
        ];
        for (block, name, needle, want) in cases {
            let (fast, slow, _) = both_ways(block, name, needle);
            assert_eq!(
                (fast, slow),
                (*want, *want),
                "{:?} {name} {:?}",
                String::from_utf8_lossy(block),
                String::from_utf8_lossy(needle)
            );
        }
    }

    /// Header blocks and values built from the pieces that reading a
    /// field changes (encoded words, quotes, comments, folding, groups,
    /// runs of spaces, phrases with dots): the fields as written never
    /// give another answer than the parsed message.
    #[test]
    fn reading_fields_as_written_agrees_with_parsing_them() {
        // Seeded: the same inputs on every run.
        let mut rng = crate::fuzz::Rng(0x9e37_79b9_7f4a_7c15);
        let mut next = move || rng.next();
        // Fields mostly of pieces read as written, with at most one that
        // reading changes; values from both and from what readings give.
        let plain: &[&[u8]] = &[
            b"ann",
            b"Bo",
            b"x.example",
            b"@",
            b".",
            b" ",
            b"<",
            b">",
            b",",
            b":",
            b";",
            b"a@x.example",
            b"<a@x.example>",
            b"=",
        ];
        let special: &[&[u8]] = &[
            b"  ",
            b"\"",
            b"\\",
            b"(c)",
            b"=?utf-8?q?B=C3=B6?=",
            b"=?us-ascii?b?Qm8=?=",
            b"\r\n ",
            b"\t",
            "é".as_bytes(),
            b" . ",
            b" @ ",
            b"ann .Bo",
            b"\"ann\\\"Bo\"",
        ];
        let read: &[&[u8]] = &[
            b"Bo",
            "Bö".as_bytes(),
            b"annBo",
            b"ann.Bo",
            b"ann@",
            b"a@x",
            b"c",
            b"nB",
        ];
        let names = [
            "From",
            "To",
            "Cc",
            "Subject",
            "X-Tag",
            "Message-ID",
            "Keywords",
        ];
        let (mut differ, mut unparsed_misses) = (0, 0);
        for _ in 0..20_000 {
            let pick = |from: &[&'static [u8]], r: u64| from[(r % from.len() as u64) as usize];
            let mut block = Vec::new();
            for _ in 0..1 + next() % 2 {
                block.extend_from_slice(names[(next() % names.len() as u64) as usize].as_bytes());
                block.extend_from_slice(b": ");
                let n = next() % 6;
                let odd = (next() % 2 == 0).then(|| next() % (n + 1));
                for k in 0..=n {
                    if odd == Some(k) {
                        block.extend_from_slice(pick(special, next()));
                    }
                    if k < n {
                        block.extend_from_slice(pick(plain, next()));
                    }
                }
                block.extend_from_slice(b"\r\n");
            }
            block.extend_from_slice(b"\r\n");
            let mut needle = Vec::new();
            for _ in 0..1 + next() % 2 {
                let from = if next() % 2 == 0 { read } else { plain };
                needle.extend_from_slice(pick(from, next()));
            }
            let name = names[(next() % names.len() as u64) as usize];
            let (fast, slow, unparsed) = both_ways(&block, name, &needle);
            if unparsed && !fast {
                unparsed_misses += 1;
            }
            if fast != slow {
                differ += 1;
                eprintln!(
                    "{name} {:?} in {:?}: fields {fast}, parsed {slow}",
                    String::from_utf8_lossy(&needle),
                    String::from_utf8_lossy(&block)
                );
            }
        }
        assert_eq!(differ, 0);
        // The shortcut was taken often enough for this to test it.
        assert!(unparsed_misses > 1_000, "{unparsed_misses}");
    }
}
