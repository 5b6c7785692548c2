//! Header fields read from the raw header section, for decisions about who
//! a message is from. RFC 5322 3.6 allows exactly one `From` and at most one
//! `Sender`; a parser that keeps the last (or first) of several lets a
//! second field decide what a reader sees while the check looked at the
//! other. So identity checks count fields here, in every spelling a reader
//! might accept: names compared case-insensitively (RFC 5322 1.2.2) after
//! removing white space before the colon (obs-optional, RFC 5322 4.5.3),
//! folding (RFC 5322 2.2.3) and any octet a name may not hold.
//!
//! The rule: an identity decision never trusts "the" From of a parser; it
//! takes [`single`] and refuses when there is more than one.

/// The one refusal of a message with `n` `name` fields where RFC 5322
/// 3.6 allows one: the same words on port 25 (DMARC has no single author,
/// RFC 7489 6.6.1) and on submission. 5.6.0: the message's content, not a
/// policy, is at fault (RFC 3463 3.7).
pub fn repeated_reply(n: usize, name: &str) -> String {
    format!("550 5.6.0 The message has {n} {name} fields; RFC 5322 3.6 allows one")
}

/// The header section: everything before the first empty line (RFC 5322
/// 2.1), or the whole message when there is none.
pub fn header_section(msg: &[u8]) -> &[u8] {
    if msg.starts_with(b"\r\n") {
        return &[];
    }
    match msg.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(p) => &msg[..p + 2],
        None => msg,
    }
}

/// One header field: its name as written (white space before the colon
/// removed) and its value, folding kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_wsp(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s
        && (is_wsp(*first) || *first == b'\r' || *first == b'\n')
    {
        s = rest;
    }
    while let [rest @ .., last] = s
        && (is_wsp(*last) || *last == b'\r' || *last == b'\n')
    {
        s = rest;
    }
    s
}

/// Every field of a header section, in order. A line that is neither a
/// field nor a continuation (no colon) is skipped: it names nothing.
pub fn fields(header: &[u8]) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < header.len() {
        let end = header[i..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(header.len(), |p| i + p + 2);
        // RFC 5322 2.2.3: a line starting with WSP continues the field.
        let continues = header.get(end).is_some_and(|b| is_wsp(*b));
        if !continues {
            let whole = &header[start..end];
            if let Some(colon) = whole.iter().position(|b| *b == b':') {
                let name = trim_wsp(&whole[..colon]);
                if !name.is_empty() {
                    out.push(Field {
                        name,
                        value: &whole[colon + 1..],
                    });
                }
            }
            start = end;
        }
        i = end;
    }
    out
}

/// Whether a field name as written means `name`: compared without case,
/// and without any octet a name may not hold (RFC 5322 3.6.8: printable
/// US-ASCII but the colon), so `From\x0b` or `Fr om` count as `From` for a
/// reader lenient enough to take them so. Counting too many only refuses a
/// malformed message; counting too few would let a second author through.
pub fn name_is(written: &[u8], name: &str) -> bool {
    let mut kept = written.iter().filter(|b| (33..=126).contains(*b));
    let mut want = name.as_bytes().iter();
    loop {
        match (kept.next(), want.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {}
            _ => return false,
        }
    }
}

/// The values of every field called `name` (see [`name_is`]).
pub fn values<'a>(msg: &'a [u8], name: &str) -> Vec<&'a [u8]> {
    fields(header_section(msg))
        .into_iter()
        .filter(|f| name_is(f.name, name))
        .map(|f| f.value)
        .collect()
}

/// How many fields called `name` the message has.
pub fn count(msg: &[u8], name: &str) -> usize {
    values(msg, name).len()
}

/// Why a field cannot be taken as an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    /// More than one field of the name (RFC 5322 3.6: at most one).
    Repeated(usize),
    /// The value is not a list of mailboxes.
    NotMailboxes,
}

/// The addr-specs of the only field called `name`: `Ok(None)` when there
/// is none, an error when there are several or the value does not parse.
pub fn single(msg: &[u8], name: &str) -> Result<Option<Vec<String>>, FieldError> {
    let vs = values(msg, name);
    match vs.as_slice() {
        [] => Ok(None),
        [v] => mailboxes(v).map(Some).ok_or(FieldError::NotMailboxes),
        many => Err(FieldError::Repeated(many.len())),
    }
}

/// The addr-specs of a mailbox-list (RFC 5322 3.4), or `None` when the
/// value is not one: an unbalanced quote, comment or angle bracket, a
/// group, a bare word that is not an address, or no mailbox at all. Empty
/// list elements are allowed (obs-mbox-list, RFC 5322 4.4). Strict on
/// purpose: a value readers could take two ways is refused, not guessed.
pub fn mailboxes(value: &[u8]) -> Option<Vec<String>> {
    let text = String::from_utf8_lossy(value);
    let mut out = Vec::new();
    let mut outside = String::new();
    let mut angle: Option<String> = None;
    let mut in_angle = false;
    let mut after_angle = false;
    let mut quoted = false;
    let mut comment = 0usize;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            escaped = false;
            if comment == 0 {
                push(&mut outside, &mut angle, in_angle, c);
            }
            continue;
        }
        if comment > 0 {
            match c {
                '\\' => escaped = true,
                '(' => comment += 1,
                ')' => comment -= 1,
                _ => {}
            }
            continue;
        }
        if quoted {
            match c {
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            push(&mut outside, &mut angle, in_angle, c);
            continue;
        }
        match c {
            '(' => comment = 1,
            '"' if !after_angle => {
                quoted = true;
                push(&mut outside, &mut angle, in_angle, c);
            }
            '<' if in_angle || after_angle => return None,
            '<' => {
                in_angle = true;
                angle = Some(String::new());
            }
            '>' if !in_angle => return None,
            '>' => {
                in_angle = false;
                after_angle = true;
            }
            ',' if !in_angle => {
                take(&mut out, &mut outside, &mut angle)?;
                after_angle = false;
            }
            // A group (display-name ":" [group-list] ";") names no
            // mailbox; an obs-route (RFC 5322 4.4) is refused with it.
            ':' | ';' => return None,
            ')' => return None,
            _ if after_angle && !c.is_whitespace() => return None,
            _ => push(&mut outside, &mut angle, in_angle, c),
        }
    }
    if quoted || comment > 0 || in_angle || escaped {
        return None;
    }
    take(&mut out, &mut outside, &mut angle)?;
    (!out.is_empty()).then_some(out)
}

fn push(outside: &mut String, angle: &mut Option<String>, in_angle: bool, c: char) {
    match angle {
        Some(a) if in_angle => a.push(c),
        _ => outside.push(c),
    }
}

/// End one list element: its addr-spec is the angle-addr's, or the whole
/// element when it has no angle brackets.
fn take(out: &mut Vec<String>, outside: &mut String, angle: &mut Option<String>) -> Option<()> {
    let display = std::mem::take(outside);
    let addr = match angle.take() {
        Some(a) => a.trim().to_string(),
        None => {
            let d = display.trim();
            if d.is_empty() {
                return Some(());
            }
            if d.chars().any(char::is_whitespace) {
                return None;
            }
            d.to_string()
        }
    };
    let (local, domain) = addr.rsplit_once('@')?;
    // A plain addr-spec: no white space and no delimiter a reader could
    // split on differently (a quoted local part is refused with them; no
    // tern address has one).
    let odd = |c: char| c.is_whitespace() || "<>,;:()\"\\[]".contains(c);
    if local.is_empty() || domain.is_empty() || addr.chars().any(odd) {
        return None;
    }
    out.push(addr);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_field_name_counts() {
        // Case, white space before the colon (obs-optional) and folding.
        let m = b"From: a@x.example\r\nFROM: b@x.example\r\nfrom\t : c@x.example\r\nSubject: s\r\n\r\nFrom: body@x.example\r\n";
        assert_eq!(count(m, "from"), 3);
        assert_eq!(count(m, "From"), 3, "names compare without case");
        assert_eq!(count(m, "sender"), 0);
        // Octets no field name may hold are ignored, not a way to hide one.
        let odd = b"From: a@x.example\r\nFrom\x0b: b@x.example\r\nFr om: c@x.example\r\n\r\n";
        assert_eq!(count(odd, "from"), 3);
        assert_eq!(count(b"Fromm: a\r\nFro: b\r\n\r\n", "from"), 0);
        let folded = b"Subject: a\r\n b\r\nFrom: x@y.example\r\n\r\n";
        assert_eq!(values(folded, "subject"), vec![&b" a\r\n b\r\n"[..]]);
    }

    #[test]
    fn the_header_ends_at_the_first_empty_line() {
        assert_eq!(header_section(b"A: b\r\n\r\nC: d\r\n"), b"A: b\r\n");
        assert_eq!(header_section(b"\r\nFrom: x@y\r\n"), b"");
        assert_eq!(header_section(b"A: b\r\n"), b"A: b\r\n", "no body");
    }

    #[test]
    fn single_refuses_repeated_fields() {
        assert_eq!(
            single(b"From: a@x.example\r\n\r\n", "from"),
            Ok(Some(vec!["a@x.example".to_string()]))
        );
        assert_eq!(single(b"Subject: s\r\n\r\n", "from"), Ok(None));
        assert_eq!(
            single(b"From: b@x.example\r\nFrom: a@x.example\r\n\r\n", "from"),
            Err(FieldError::Repeated(2))
        );
        assert_eq!(
            single(b"From: <b@x.example\r\n\r\n", "from"),
            Err(FieldError::NotMailboxes)
        );
    }

    /// Seeded mutations of real From values: never a panic, and whatever
    /// is taken as an address is one addr-spec (an `@`, no white space, no
    /// delimiter a reader could split on differently).
    #[test]
    fn mutated_values_parse_to_plain_addresses_or_nothing() {
        const SEEDS: &[&str] = &[
            "\"Bob, B.\" (work) <b@x.example>, c@y.example",
            "=?utf-8?q?B=C3=B6b?= <b@x.example>",
            "a@x.example, ,b@x.example",
            "Alice <alice@example.org>",
        ];
        const SPECIAL: &[u8] = b"<>\"(),:;@\\ \t.";
        let mut x: u64 = 0x5eed_f1e1_d500_0005;
        let mut next = |n: usize| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            usize::try_from(x.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64).unwrap_or(0)
        };
        for _ in 0..20_000 {
            let mut v = SEEDS[next(SEEDS.len())].as_bytes().to_vec();
            for _ in 0..=next(3) {
                let at = next(v.len() + 1);
                match next(3) {
                    0 => v.insert(at, SPECIAL[next(SPECIAL.len())]),
                    1 if at < v.len() => {
                        v.remove(at);
                    }
                    _ => v.truncate(at),
                }
            }
            if let Some(addrs) = mailboxes(&v) {
                for a in addrs {
                    assert!(
                        a.contains('@')
                            && !a
                                .chars()
                                .any(|c| c.is_whitespace() || "<>,;:()".contains(c)),
                        "{:?} gave {a:?}",
                        String::from_utf8_lossy(&v)
                    );
                }
            }
        }
    }

    #[test]
    fn mailbox_lists() {
        let ok = |v: &str| mailboxes(v.as_bytes());
        assert_eq!(ok("a@x.example"), Some(vec!["a@x.example".into()]));
        assert_eq!(
            ok(" \"Bob, B.\" (work) <b@x.example>, c@y.example"),
            Some(vec!["b@x.example".into(), "c@y.example".into()]),
            "commas inside quotes and comments do not split"
        );
        assert_eq!(ok("=?utf-8?q?B=C3=B6b?= <b@x.example>").unwrap().len(), 1);
        // obs-mbox-list: empty elements.
        assert_eq!(ok("a@x.example, ,b@x.example").unwrap().len(), 2);
        for bad in [
            "<b@x.example",             // unterminated angle
            "b@x.example>",             // stray closing angle
            "\"Bob <b@x.example>",      // unterminated quote
            "(c <b@x.example>",         // unterminated comment
            "Bob b@x.example",          // a phrase with no angle brackets
            "<a@x> <b@x.example>",      // two angle-addrs in one element
            "<a@x.example> tail",       // text after the angle-addr
            "team: a@x.example;",       // a group
            "bob",                      // no address
            "",                         // nothing
            "<>",                       // empty angle-addr
            "<@r.example:a@x.example>", // an obs-route
            "<a@x,y.example>",          // a delimiter inside the angle-addr
            "<\"a b\"@x.example>",      // a quoted local part
        ] {
            assert_eq!(ok(bad), None, "{bad:?}");
        }
    }
}
