//! What `imap-codec` does not parse, taken off a command before it does:
//! UNAUTHENTICATE (RFC 8437), SEARCH `RETURN (…)` (RFC 4731, RFC 9051
//! 6.4.4), the saved result `$` (RFC 5182), the LIST-EXTENDED selection and
//! return options and multiple patterns (RFC 5258, RFC 5819), and CREATE's
//! `USE (…)` (RFC 6154). What remains is plain IMAP4rev1 grammar, which
//! `imap-codec` parses.
//!
//! The scan knows quoted strings and literals, so nothing inside them is
//! ever taken for syntax.

/// `$` is replaced by this sequence number; a command that used `$`
/// resolves it to the saved result (see `Selected::resolve`).
pub const SAVED: u32 = u32::MAX;

/// RFC 4731 3.1 return options.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SearchReturn {
    pub min: bool,
    pub max: bool,
    pub all: bool,
    pub count: bool,
    pub save: bool,
}

/// RFC 5258 selection and return options.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ListExt {
    pub subscribed: bool,
    pub remote: bool,
    pub recursive: bool,
    pub special_use: bool,
    pub ret_subscribed: bool,
    pub ret_children: bool,
    pub ret_special_use: bool,
    /// RFC 5819: STATUS items, as written by the client.
    pub ret_status: Option<Vec<u8>>,
    /// The patterns after the first (RFC 5258 3: `("a" "b")`).
    pub patterns: Vec<Vec<u8>>,
}

/// What the pre-parser took off, beside the rest of the command.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Extras {
    /// SEARCH had `RETURN (…)`.
    pub search_return: Option<SearchReturn>,
    /// The command used `$`.
    pub saved: bool,
    /// LIST with any RFC 5258 syntax (an empty `ListExt` for plain LIST).
    pub list: Option<ListExt>,
    /// CREATE's `USE (…)` attributes.
    pub create_use: Option<Vec<String>>,
    /// STATUS asked for APPENDLIMIT (RFC 7889 4).
    pub status_appendlimit: bool,
    /// ... and for nothing else: UIDNEXT stood in for imap-codec.
    pub status_placeholder: bool,
    /// APPEND's message came as `UTF8 (~{n}…)` (RFC 6855 4).
    pub append_utf8: bool,
}

/// A STATUS item list without APPENDLIMIT, which imap-codec does not know,
/// and whether it was there.
pub fn strip_appendlimit(items: &[u8]) -> (Vec<u8>, bool) {
    let text = String::from_utf8_lossy(items);
    let inner = text.trim().trim_start_matches('(').trim_end_matches(')');
    let words: Vec<&str> = inner.split_ascii_whitespace().collect();
    let kept: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !w.eq_ignore_ascii_case("APPENDLIMIT"))
        .collect();
    let found = kept.len() != words.len();
    (format!("({})", kept.join(" ")).into_bytes(), found)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Pre {
    Unauthenticate(String),
    /// The command for `imap-codec`, with what was taken off it.
    Codec(Vec<u8>, Extras),
    /// Malformed extension syntax: BAD with this text.
    Bad(Option<String>, &'static str),
}

/// The value of an astring token as the scan cut it: an atom as it is,
/// a quoted string unescaped, a literal without its head.
pub fn astring(raw: &[u8]) -> Option<Vec<u8>> {
    match raw.first()? {
        b'"' => {
            let inner = raw.get(1..raw.len().checked_sub(1)?)?;
            let mut out = Vec::with_capacity(inner.len());
            let mut esc = false;
            for &c in inner {
                if esc || c != b'\\' {
                    out.push(c);
                    esc = false;
                } else {
                    esc = true;
                }
            }
            Some(out)
        }
        b'{' | b'~' => {
            let (len, head) = literal_len(raw)?;
            raw.get(head..head.checked_add(len)?).map(<[u8]>::to_vec)
        }
        _ => Some(raw.to_vec()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Atom,
    Quoted,
    Literal,
    Open,
    Close,
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

/// Top-level tokens of a command (parentheses are tokens; their contents
/// follow). `None` when a quoted string or literal is unterminated.
fn tokens(b: &[u8]) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = b.len();
    while i < n {
        match b[i] {
            b' ' | b'\r' | b'\n' => i += 1,
            b'(' | b')' => {
                let kind = if b[i] == b'(' {
                    Kind::Open
                } else {
                    Kind::Close
                };
                out.push(Tok {
                    kind,
                    start: i,
                    end: i + 1,
                });
                i += 1;
            }
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    match b.get(i)? {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                i += 1;
                out.push(Tok {
                    kind: Kind::Quoted,
                    start,
                    end: i,
                });
            }
            b'{' | b'~' if literal_len(&b[i..]).is_some() => {
                let (len, head) = literal_len(&b[i..])?;
                let start = i;
                i = i.checked_add(head)?.checked_add(len)?;
                if i > n {
                    return None;
                }
                out.push(Tok {
                    kind: Kind::Literal,
                    start,
                    end: i,
                });
            }
            _ => {
                let start = i;
                let mut depth = 0usize;
                // BODY[HEADER.FIELDS (A B)] is one atom-like token; in any
                // other atom (a mailbox name, a LIST pattern) `[` and `]`
                // are plain characters (RFC 3501 9: ATOM-CHAR and
                // list-char), and a line end always ends the token.
                let section = fetch_att(&b[start..]);
                while i < n {
                    let c = b[i];
                    if section && c == b'[' {
                        depth += 1;
                    } else if section && c == b']' {
                        depth = depth.saturating_sub(1);
                    } else if matches!(c, b'\r' | b'\n')
                        || (depth == 0 && matches!(c, b' ' | b'(' | b')'))
                    {
                        break;
                    }
                    i += 1;
                }
                out.push(Tok {
                    kind: Kind::Atom,
                    start,
                    end: i,
                });
            }
        }
    }
    Some(out)
}

/// Whether an atom starts as a FETCH item with a section (`BODY[`,
/// `BODY.PEEK[`, `BINARY[`, `BINARY.PEEK[`, `BINARY.SIZE[`), whose
/// brackets may hold spaces and parentheses.
fn fetch_att(b: &[u8]) -> bool {
    let upper = |p: &[u8]| b.len() >= p.len() && b[..p.len()].eq_ignore_ascii_case(p);
    upper(b"BODY[") || upper(b"BODY.PEEK[") || upper(b"BINARY")
}

/// `{N}\r\n`, `{N+}\r\n`, `~{N}\r\n`: the literal's length and the length
/// of its head.
fn literal_len(b: &[u8]) -> Option<(usize, usize)> {
    let skip = usize::from(b.first() == Some(&b'~'));
    let rest = b.get(skip..)?;
    if rest.first() != Some(&b'{') {
        return None;
    }
    let close = rest.iter().position(|&c| c == b'}')?;
    let mut num = &rest[1..close];
    if num.last() == Some(&b'+') || num.last() == Some(&b'-') {
        num = &num[..num.len() - 1];
    }
    if num.is_empty() || num.len() > 10 || !num.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if rest.get(close + 1..close + 3) != Some(b"\r\n") {
        return None;
    }
    let len: usize = std::str::from_utf8(num).ok()?.parse().ok()?;
    Some((len, skip + close + 3))
}

fn word(b: &[u8], t: &Tok) -> String {
    String::from_utf8_lossy(&b[t.start..t.end]).to_ascii_uppercase()
}

/// Search keys followed by arguments that are not search keys (RFC 9051 9).
fn key_args(key: &str) -> usize {
    match key {
        "BCC" | "BODY" | "CC" | "FROM" | "SUBJECT" | "TEXT" | "TO" | "KEYWORD" | "UNKEYWORD"
        | "LARGER" | "SMALLER" | "BEFORE" | "ON" | "SINCE" | "SENTBEFORE" | "SENTON"
        | "SENTSINCE" | "CHARSET" | "OLDER" | "YOUNGER" => 1,
        "HEADER" => 2,
        _ => 0,
    }
}

/// Rebuild `b` with the token ranges in `cut` removed and `$` tokens at
/// `dollars` replaced.
fn splice(b: &[u8], cut: &[(usize, usize)], dollars: &[usize]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + dollars.len() * 10);
    let mut edits: Vec<(usize, usize, &[u8])> =
        cut.iter().map(|&(s, e)| (s, e, &b""[..])).collect();
    let saved = SAVED.to_string();
    for &d in dollars {
        edits.push((d, d + 1, saved.as_bytes()));
    }
    edits.sort_by_key(|e| e.0);
    let mut pos = 0;
    for (s, e, with) in edits {
        if s < pos {
            continue;
        }
        out.extend_from_slice(&b[pos..s]);
        out.extend_from_slice(with);
        pos = e;
    }
    out.extend_from_slice(&b[pos..]);
    out
}

fn is_dollar(b: &[u8], t: &Tok) -> bool {
    t.kind == Kind::Atom && &b[t.start..t.end] == b"$"
}

/// The extent of a parenthesized list starting at token `i` (an Open):
/// the index of its matching Close.
fn close_of(toks: &[Tok], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, t) in toks.iter().enumerate().skip(i) {
        match t.kind {
            Kind::Open => depth += 1,
            Kind::Close => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

pub fn preparse(b: &[u8]) -> Pre {
    let tag = crate::protocol::io::tag_of(b);
    let Some(toks) = tokens(b) else {
        return Pre::Codec(b.to_vec(), Extras::default());
    };
    if toks.len() < 2 || toks[1].kind != Kind::Atom {
        return Pre::Codec(b.to_vec(), Extras::default());
    }
    let mut cmd_at = 1;
    let mut cmd = word(b, &toks[1]);
    if cmd == "UID" && toks.len() > 2 {
        cmd_at = 2;
        cmd = word(b, &toks[2]);
    }
    match cmd.as_str() {
        "UNAUTHENTICATE" if toks.len() == 2 => match tag {
            Some(t) => Pre::Unauthenticate(t),
            None => Pre::Codec(b.to_vec(), Extras::default()),
        },
        // RFC 5182 2.3: `$` in the criteria of SORT and THREAD too.
        "SEARCH" | "SORT" | "THREAD" => search(b, &toks, cmd_at, tag),
        "FETCH" | "STORE" | "COPY" | "MOVE" | "EXPUNGE" => {
            let mut ex = Extras::default();
            let dollars: Vec<usize> = match toks.get(cmd_at + 1) {
                Some(t) if is_dollar(b, t) => vec![t.start],
                _ => vec![],
            };
            if dollars.is_empty() {
                return Pre::Codec(b.to_vec(), ex);
            }
            ex.saved = true;
            Pre::Codec(splice(b, &[], &dollars), ex)
        }
        "LIST" if cmd_at == 1 => list(b, &toks, tag),
        "CREATE" if cmd_at == 1 => create(b, &toks, tag),
        "STATUS" if cmd_at == 1 => status(b, &toks),
        "APPEND" if cmd_at == 1 => append_utf8(b, &toks),
        _ => Pre::Codec(b.to_vec(), Extras::default()),
    }
}

fn search(b: &[u8], toks: &[Tok], cmd_at: usize, tag: Option<String>) -> Pre {
    let mut ex = Extras::default();
    let mut cut = Vec::new();
    let mut i = cmd_at + 1;
    if toks.get(i).is_some_and(|t| word(b, t) == "RETURN") {
        if toks.get(i + 1).is_none_or(|t| t.kind != Kind::Open) {
            return Pre::Bad(tag, "RETURN needs a list of options");
        }
        let Some(close) = close_of(toks, i + 1) else {
            return Pre::Bad(tag, "unbalanced parentheses");
        };
        let mut r = SearchReturn::default();
        for t in &toks[i + 2..close] {
            match word(b, t).as_str() {
                "MIN" => r.min = true,
                "MAX" => r.max = true,
                "ALL" => r.all = true,
                "COUNT" => r.count = true,
                "SAVE" => r.save = true,
                _ => return Pre::Bad(tag, "unknown SEARCH return option"),
            }
        }
        // RFC 4731 3.1: RETURN () means RETURN (ALL).
        if r == SearchReturn::default() {
            r.all = true;
        }
        ex.search_return = Some(r);
        // Cut from the RETURN keyword up to just before the next token.
        let end = toks
            .get(close + 1)
            .map(|t| t.start)
            .unwrap_or(toks[close].end);
        cut.push((toks[i].start, end));
        i = close + 1;
    }
    let mut dollars = Vec::new();
    let mut skip = 0usize;
    while let Some(t) = toks.get(i) {
        i += 1;
        if skip > 0 {
            // MODSEQ [entry-name entry-type] number (RFC 7162 3.1.5).
            skip -= 1;
            continue;
        }
        if is_dollar(b, t) {
            dollars.push(t.start);
            continue;
        }
        if t.kind == Kind::Atom {
            let w = word(b, t);
            skip = key_args(&w);
            if w == "MODSEQ" {
                skip = if toks.get(i).is_some_and(|n| n.kind == Kind::Quoted) {
                    3
                } else {
                    1
                };
            }
        }
    }
    ex.saved = !dollars.is_empty();
    if cut.is_empty() && dollars.is_empty() {
        return Pre::Codec(b.to_vec(), ex);
    }
    Pre::Codec(splice(b, &cut, &dollars), ex)
}

/// RFC 5258 3: `LIST [(selection)] reference (pattern / (patterns)) [RETURN (options)]`.
/// imap-codec gets `tag LIST reference first-pattern`.
fn list(b: &[u8], toks: &[Tok], tag: Option<String>) -> Pre {
    let mut ex = ListExt::default();
    let mut i = 2;
    if toks.get(i).is_some_and(|t| t.kind == Kind::Open) {
        let Some(close) = close_of(toks, i) else {
            return Pre::Bad(tag, "unbalanced parentheses");
        };
        for t in &toks[i + 1..close] {
            match word(b, t).as_str() {
                "SUBSCRIBED" => ex.subscribed = true,
                "REMOTE" => ex.remote = true,
                "RECURSIVEMATCH" => ex.recursive = true,
                "SPECIAL-USE" => ex.special_use = true,
                _ => return Pre::Bad(tag, "unknown LIST selection option"),
            }
        }
        // RFC 5258 3.1: RECURSIVEMATCH needs another selection option.
        if ex.recursive && !ex.subscribed && !ex.special_use {
            return Pre::Bad(tag, "RECURSIVEMATCH alone is not allowed");
        }
        i = close + 1;
    }
    let Some(reference) = toks
        .get(i)
        .filter(|t| !matches!(t.kind, Kind::Open | Kind::Close))
    else {
        return Pre::Codec(b.to_vec(), Extras::default());
    };
    i += 1;
    let first = match toks.get(i) {
        Some(t) if t.kind == Kind::Open => {
            let Some(close) = close_of(toks, i) else {
                return Pre::Bad(tag, "unbalanced parentheses");
            };
            let pats = &toks[i + 1..close];
            if pats.is_empty()
                || pats
                    .iter()
                    .any(|p| matches!(p.kind, Kind::Open | Kind::Close))
            {
                return Pre::Bad(tag, "invalid pattern list");
            }
            for p in &pats[1..] {
                ex.patterns.push(b[p.start..p.end].to_vec());
            }
            i = close + 1;
            pats[0]
        }
        Some(t) if t.kind != Kind::Close => {
            i += 1;
            *t
        }
        _ => return Pre::Codec(b.to_vec(), Extras::default()),
    };
    if let Some(t) = toks.get(i) {
        if word(b, t) != "RETURN" || toks.get(i + 1).is_none_or(|t| t.kind != Kind::Open) {
            return Pre::Bad(tag, "expected RETURN (options)");
        }
        let Some(close) = close_of(toks, i + 1) else {
            return Pre::Bad(tag, "unbalanced parentheses");
        };
        let mut j = i + 2;
        while j < close {
            match word(b, &toks[j]).as_str() {
                "SUBSCRIBED" => ex.ret_subscribed = true,
                "CHILDREN" => ex.ret_children = true,
                "SPECIAL-USE" => ex.ret_special_use = true,
                "STATUS" => {
                    let Some(c) = toks
                        .get(j + 1)
                        .filter(|t| t.kind == Kind::Open)
                        .and_then(|_| close_of(toks, j + 1))
                    else {
                        return Pre::Bad(tag, "STATUS needs a list of items");
                    };
                    ex.ret_status = Some(b[toks[j + 1].start..toks[c].end].to_vec());
                    j = c;
                }
                _ => return Pre::Bad(tag, "unknown LIST return option"),
            }
            j += 1;
        }
        if toks.get(close + 1).is_some() {
            return Pre::Bad(tag, "unexpected data after RETURN");
        }
    }
    let mut out = b[..toks[1].end].to_vec();
    out.push(b' ');
    out.extend_from_slice(&b[reference.start..reference.end]);
    out.push(b' ');
    out.extend_from_slice(&b[first.start..first.end]);
    out.extend_from_slice(b"\r\n");
    let extras = Extras {
        list: Some(ex),
        ..Extras::default()
    };
    Pre::Codec(out, extras)
}

/// RFC 6855 4: `APPEND name [flags] [date] UTF8 (literal8)`; imap-codec
/// gets the literal8 in the place of the message.
fn append_utf8(b: &[u8], toks: &[Tok]) -> Pre {
    let n = toks.len();
    let utf8_form = n >= 7
        && toks[n - 1].kind == Kind::Close
        && toks[n - 2].kind == Kind::Literal
        && toks[n - 3].kind == Kind::Open
        && toks[n - 4].kind == Kind::Atom
        && word(b, &toks[n - 4]) == "UTF8";
    if !utf8_form {
        return Pre::Codec(b.to_vec(), Extras::default());
    }
    let mut out = b[..toks[n - 4].start].to_vec();
    out.extend_from_slice(&b[toks[n - 2].start..toks[n - 2].end]);
    out.extend_from_slice(b"\r\n");
    let extras = Extras {
        append_utf8: true,
        ..Extras::default()
    };
    Pre::Codec(out, extras)
}

/// `STATUS name (… APPENDLIMIT …)`: the item taken off (RFC 7889 4).
fn status(b: &[u8], toks: &[Tok]) -> Pre {
    let plain = || Pre::Codec(b.to_vec(), Extras::default());
    let Some(open) = toks.get(3).filter(|t| t.kind == Kind::Open) else {
        return plain();
    };
    let Some(close) = close_of(toks, 3) else {
        return plain();
    };
    if toks.len() != close + 1 {
        return plain();
    }
    let (mut items, found) = strip_appendlimit(&b[open.start..toks[close].end]);
    if !found {
        return plain();
    }
    let placeholder = items == b"()";
    if placeholder {
        items = b"(UIDNEXT)".to_vec();
    }
    let mut out = b[..toks[2].end].to_vec();
    out.push(b' ');
    out.extend_from_slice(&items);
    out.extend_from_slice(b"\r\n");
    let extras = Extras {
        status_appendlimit: true,
        status_placeholder: placeholder,
        ..Extras::default()
    };
    Pre::Codec(out, extras)
}

/// RFC 6154 3: `CREATE name (USE (\Drafts …))`.
fn create(b: &[u8], toks: &[Tok], tag: Option<String>) -> Pre {
    if toks.len() <= 3 {
        return Pre::Codec(b.to_vec(), Extras::default());
    }
    let ok = toks[3].kind == Kind::Open
        && toks.get(4).is_some_and(|t| word(b, t) == "USE")
        && toks.get(5).is_some_and(|t| t.kind == Kind::Open);
    if !ok {
        return Pre::Bad(tag, "unknown CREATE parameter");
    }
    let (Some(inner), Some(outer)) = (close_of(toks, 5), close_of(toks, 3)) else {
        return Pre::Bad(tag, "unbalanced parentheses");
    };
    if outer != inner + 1 || toks.get(outer + 1).is_some() {
        return Pre::Bad(tag, "invalid CREATE parameters");
    }
    let uses: Vec<String> = toks[6..inner]
        .iter()
        .map(|t| String::from_utf8_lossy(&b[t.start..t.end]).into_owned())
        .collect();
    let mut out = b[..toks[2].end].to_vec();
    out.extend_from_slice(b"\r\n");
    let extras = Extras {
        create_use: Some(uses),
        ..Extras::default()
    };
    Pre::Codec(out, extras)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(s: &str) -> (String, Extras) {
        match preparse(s.as_bytes()) {
            Pre::Codec(b, e) => (String::from_utf8(b).unwrap(), e),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn brackets_group_only_inside_fetch_sections() {
        // RFC 3501 9: `[` and `]` are list-mailbox characters.
        let (b, _) = codec("a LIST \"\" x[%\r\n");
        assert_eq!(b, "a LIST \"\" x[%\r\n");
        let (b, _) = codec("a LIST \"\" x[1]*%[]\r\n");
        assert_eq!(b, "a LIST \"\" x[1]*%[]\r\n");
        // A section's brackets still hold spaces and parentheses.
        let toks = tokens(b"a FETCH 1 (BODY.PEEK[HEADER.FIELDS (A B)] FLAGS)\r\n").unwrap();
        assert_eq!(toks.len(), 7, "{toks:?}");
    }

    #[test]
    fn unauthenticate() {
        assert_eq!(
            preparse(b"a1 UNAUTHENTICATE\r\n"),
            Pre::Unauthenticate("a1".into())
        );
    }

    #[test]
    fn search_return_and_saved() {
        let (b, e) = codec("a UID SEARCH RETURN (MIN COUNT SAVE) UNSEEN $\r\n");
        assert_eq!(b, "a UID SEARCH UNSEEN 4294967295\r\n");
        let r = e.search_return.unwrap();
        assert!(r.min && r.count && r.save && !r.all && !r.max);
        assert!(e.saved);
        let (b, e) = codec("a SEARCH RETURN () SUBJECT $ UID $\r\n");
        assert_eq!(b, "a SEARCH SUBJECT $ UID 4294967295\r\n");
        assert!(e.search_return.unwrap().all);
        let (b, e) = codec("a SEARCH HEADER X-A $ \"$\" {1}\r\n$\r\n");
        assert_eq!(b, "a SEARCH HEADER X-A $ \"$\" {1}\r\n$\r\n");
        assert!(!e.saved);
        assert!(matches!(
            preparse(b"a SEARCH RETURN (BOGUS) ALL\r\n"),
            Pre::Bad(Some(_), _)
        ));
        let (b, e) = codec("a UID FETCH $ (FLAGS)\r\n");
        assert_eq!(b, "a UID FETCH 4294967295 (FLAGS)\r\n");
        assert!(e.saved);
        let (b, e) = codec("a UID SORT (REVERSE SUBJECT) UTF-8 UID $\r\n");
        assert_eq!(b, "a UID SORT (REVERSE SUBJECT) UTF-8 UID 4294967295\r\n");
        assert!(e.saved && e.search_return.is_none());
        let (b, _) = codec("a STORE 1 +FLAGS ($)\r\n");
        assert_eq!(b, "a STORE 1 +FLAGS ($)\r\n");
    }

    #[test]
    fn list_extended() {
        let (b, e) = codec(
            "a LIST (SUBSCRIBED) \"\" (\"INBOX\" \"Sent\" %) RETURN (CHILDREN STATUS (MESSAGES SIZE))\r\n",
        );
        assert_eq!(b, "a LIST \"\" \"INBOX\"\r\n");
        let l = e.list.unwrap();
        assert!(l.subscribed && l.ret_children);
        assert_eq!(l.patterns, vec![b"\"Sent\"".to_vec(), b"%".to_vec()]);
        assert_eq!(l.ret_status.as_deref(), Some(&b"(MESSAGES SIZE)"[..]));
        let (b, e) = codec("a LIST \"\" * RETURN (SPECIAL-USE)\r\n");
        assert_eq!(b, "a LIST \"\" *\r\n");
        assert!(e.list.unwrap().ret_special_use);
        let (b, e) = codec("a LIST \"\" *\r\n");
        assert_eq!(b, "a LIST \"\" *\r\n");
        assert_eq!(e.list, Some(ListExt::default()));
        assert!(matches!(
            preparse(b"a LIST (RECURSIVEMATCH) \"\" *\r\n"),
            Pre::Bad(..)
        ));
    }

    #[test]
    fn astrings() {
        assert_eq!(astring(b"\"a\\\"b\"").unwrap(), b"a\"b");
        assert_eq!(astring(b"{3}\r\nabc").unwrap(), b"abc");
        assert_eq!(astring(b"Sent").unwrap(), b"Sent");
        assert_eq!(astring(b"{9}\r\nabc"), None);
    }

    #[test]
    fn append_utf8_form() {
        let (b, e) = codec("a APPEND INBOX (\\Seen) UTF8 (~{3+}\r\nabc)\r\n");
        assert_eq!(b, "a APPEND INBOX (\\Seen) ~{3+}\r\nabc\r\n");
        assert!(e.append_utf8);
        let (b, e) = codec("a APPEND INBOX {3+}\r\nabc\r\n");
        assert_eq!(b, "a APPEND INBOX {3+}\r\nabc\r\n");
        assert!(!e.append_utf8);
    }

    #[test]
    fn status_appendlimit() {
        let (b, e) = codec("a STATUS INBOX (MESSAGES APPENDLIMIT)\r\n");
        assert_eq!(b, "a STATUS INBOX (MESSAGES)\r\n");
        assert!(e.status_appendlimit);
        let (b, e) = codec("a STATUS INBOX (MESSAGES)\r\n");
        assert_eq!(b, "a STATUS INBOX (MESSAGES)\r\n");
        assert!(!e.status_appendlimit);
        let (b, e) = codec("a STATUS INBOX (appendlimit)\r\n");
        assert_eq!(b, "a STATUS INBOX (UIDNEXT)\r\n");
        assert!(e.status_placeholder);
    }

    #[test]
    fn create_use() {
        let (b, e) = codec("a CREATE Drafts2 (USE (\\Drafts))\r\n");
        assert_eq!(b, "a CREATE Drafts2\r\n");
        assert_eq!(e.create_use, Some(vec!["\\Drafts".to_string()]));
    }
}
