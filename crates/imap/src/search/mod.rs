//! SEARCH (RFC 9051 6.4.4; IMAP4rev1 untagged SEARCH response).

use imap_codec::imap_types::core::{Charset, Vec1};
use imap_codec::imap_types::search::SearchKey;
use tern_store::MessageMeta;

use crate::budget::{BUSY, ReadError, read_message};
use crate::mime;
use crate::protocol::io::Io;
use crate::protocol::io::Wire;
use crate::protocol::preparse::SearchReturn;
use crate::protocol::wire;
use crate::session::{Flow, Session};
use crate::view::Selected;

mod header;

/// Whether any key in the tree (through AND, OR and NOT) satisfies `leaf`.
fn any_key(k: &SearchKey<'_>, leaf: &dyn Fn(&SearchKey<'_>) -> bool) -> bool {
    use SearchKey::*;
    match k {
        And(v) => v.as_ref().iter().any(|k| any_key(k, leaf)),
        Not(k) => any_key(k, leaf),
        Or(a, b) => any_key(a, leaf) || any_key(b, leaf),
        k => leaf(k),
    }
}

/// Does the search read the message (its header or more)?
fn needs_bytes(k: &SearchKey<'_>) -> bool {
    use SearchKey::*;
    any_key(k, &|k| {
        matches!(
            k,
            Bcc(_)
                | Body(_)
                | Cc(_)
                | From(_)
                | Header(..)
                | Subject(_)
                | Text(_)
                | To(_)
                | SentBefore(_)
                | SentOn(_)
                | SentSince(_)
        )
    })
}

/// The most keys one search may have that read a message's text (header
/// or body): each reads every message once, so a command line of them
/// multiplies the work of the whole mailbox.
pub(crate) const MAX_TEXT_KEYS: usize = 64;

/// The longest string a search key may hold: the substring search keeps
/// a table of one word per byte of it, and no client searches for more.
pub(crate) const MAX_SEARCH_STRING: usize = 64 * 1024;

/// How many keys of the tree read text, and the longest string among them.
fn text_keys(k: &SearchKey<'_>) -> (usize, usize) {
    use SearchKey::*;
    let add = |(a, b): (usize, usize), (c, d): (usize, usize)| (a + c, b.max(d));
    match k {
        And(v) => v.as_ref().iter().map(text_keys).fold((0, 0), add),
        Not(k) => text_keys(k),
        Or(a, b) => add(text_keys(a), text_keys(b)),
        Bcc(s) | Body(s) | Cc(s) | From(s) | Subject(s) | Text(s) | To(s) => (1, s.as_ref().len()),
        Header(n, s) => (1, n.as_ref().len().max(s.as_ref().len())),
        _ => (0, 0),
    }
}

/// Refuses with `NO [LIMIT]` a search with more than [`MAX_TEXT_KEYS`]
/// text keys or a string longer than [`MAX_SEARCH_STRING`]; true when it
/// did.
pub(crate) fn refuse_costly<S: Wire>(io: &mut Io<S>, tag: &str, k: &SearchKey<'_>) -> bool {
    let (keys, longest) = text_keys(k);
    let why = if keys > MAX_TEXT_KEYS {
        "too many text search keys"
    } else if longest > MAX_SEARCH_STRING {
        "search string too long"
    } else {
        return false;
    };
    io.push_str(&format!("{tag} NO [LIMIT] {why}\r\n"));
    true
}

/// Does the search look past the header (BODY, TEXT)? Header keys are
/// answered from the cached header block instead of the message.
fn needs_body(k: &SearchKey<'_>) -> bool {
    any_key(k, &|k| matches!(k, SearchKey::Body(_) | SearchKey::Text(_)))
}

/// Does the search use MODSEQ (RFC 7162 3.1.5)?
fn uses_modseq(k: &SearchKey<'_>) -> bool {
    any_key(k, &|k| matches!(k, SearchKey::ModSequence { .. }))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    // RFC 9051 6.4.4: case-insensitive; beyond ASCII by Unicode lowercase
    // when both sides are UTF-8 (SEARCH CHARSET UTF-8).
    if !needle.is_ascii()
        && let (Ok(h), Ok(n)) = (std::str::from_utf8(hay), std::str::from_utf8(needle))
    {
        return h.to_lowercase().contains(&n.to_lowercase());
    }
    contains_ascii_ci(hay, needle)
}

/// ASCII case-insensitive substring search in `len(hay) + len(needle)`
/// steps (Knuth-Morris-Pratt), without copying the message: comparing at
/// every offset costs `len(hay) × len(needle)`, minutes of CPU for a
/// long needle of `a`s over a message of `a`s.
fn contains_ascii_ci(hay: &[u8], needle: &[u8]) -> bool {
    let m = needle.len();
    if m == 0 {
        return true;
    }
    if m > hay.len() {
        return false;
    }
    let needle = needle.to_ascii_lowercase();
    // fail[i]: the longest proper border of needle[..=i].
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
    let mut k = 0;
    for &b in hay {
        let b = b.to_ascii_lowercase();
        while k > 0 && b != needle[k] {
            k = fail[k - 1];
        }
        if b == needle[k] {
            k += 1;
            if k == m {
                return true;
            }
        }
    }
    false
}

fn day(secs: i64) -> i64 {
    secs.div_euclid(86_400)
}

/// The day of a message's INTERNALDATE as written in its own zone.
fn local_day(m: &tern_store::MessageMeta) -> i64 {
    day(m.internal_date + i64::from(m.internal_zone) * 60)
}

/// A SEARCH date as a day number. chrono is only how imap-codec hands the
/// date over; the calendar is `tern_common::time`'s.
fn date_day(d: &chrono::NaiveDate) -> i64 {
    use chrono::Datelike;
    tern_common::time::days_from_civil(i64::from(d.year()), d.month(), d.day())
}

/// The sequence sets of a search resolved once, before the messages are
/// read (resolving one per message costs messages² for a set like
/// `1:*`): by the set's address in the key tree, whether each message is
/// in it; `None` for an invalid set.
type Sets = std::collections::HashMap<usize, Option<Vec<bool>>>;

fn resolve_sets(sel: &Selected, k: &SearchKey<'_>, out: &mut Sets) {
    use SearchKey::*;
    match k {
        And(v) => v.as_ref().iter().for_each(|k| resolve_sets(sel, k, out)),
        Not(k) => resolve_sets(sel, k, out),
        Or(a, b) => {
            resolve_sets(sel, a, out);
            resolve_sets(sel, b, out);
        }
        SequenceSet(s) | Uid(s) => {
            let member = sel.resolve(s, matches!(k, Uid(_))).ok().map(|idx| {
                let mut m = vec![false; sel.msgs.len()];
                for i in idx {
                    m[i] = true;
                }
                m
            });
            out.insert(s as *const _ as usize, member);
        }
        _ => {}
    }
}

struct Ctx<'a> {
    sets: &'a Sets,
    idx: usize,
    meta: &'a MessageMeta,
    raw: Option<&'a [u8]>,
    /// `raw` is the message's header block alone (its summary's), not the
    /// whole message.
    header_only: bool,
    /// `raw` parsed, once a key needs it: most header keys are answered
    /// from the fields as written (`header`), without parsing.
    parsed: &'a std::cell::OnceCell<Option<mail_parser::Message<'a>>>,
    /// \Recent in this session (RFC 3501 2.3.2).
    recent: bool,
}

impl<'a> Ctx<'a> {
    fn flag(&self, f: &str) -> bool {
        self.meta.flags.iter().any(|x| x.eq_ignore_ascii_case(f))
    }

    fn parsed(&self) -> Option<&mail_parser::Message<'a>> {
        self.parsed
            .get_or_init(|| self.raw.and_then(mime::parse))
            .as_ref()
    }

    /// The day of the Date field as written, in its own time zone: RFC
    /// 3501 6.4.4 has SENT* keys disregard time and time zone (a message
    /// of `Sun, 25 Mar 2007 00:00:00 +0200` was sent on 25-Mar-2007,
    /// though that instant is the 24th in UTC).
    fn sent_day(&self) -> Option<i64> {
        let d = self.parsed()?.date()?;
        // mail-parser does not check the date: 30 February is no day.
        let (month, mday) = (u32::from(d.month), u32::from(d.day));
        if !(1..=12).contains(&month) {
            return None;
        }
        let n = tern_common::time::days_from_civil(d.year.into(), month, mday);
        let back = tern_common::time::civil(n.saturating_mul(86_400));
        (back.month == month && back.day == mday).then_some(n)
    }

    fn eval(&self, k: &SearchKey<'_>) -> bool {
        use SearchKey::*;
        let m = self.meta;
        match k {
            And(v) => v.as_ref().iter().all(|k| self.eval(k)),
            SequenceSet(s) | Uid(s) => self
                .sets
                .get(&(s as *const _ as usize))
                .and_then(Option::as_ref)
                .is_some_and(|m| m.get(self.idx).copied().unwrap_or(false)),
            All => true,
            Answered => self.flag("\\Answered"),
            Unanswered => !self.flag("\\Answered"),
            Deleted => self.flag("\\Deleted"),
            Undeleted => !self.flag("\\Deleted"),
            Draft => self.flag("\\Draft"),
            Undraft => !self.flag("\\Draft"),
            Flagged => self.flag("\\Flagged"),
            Unflagged => !self.flag("\\Flagged"),
            Seen => self.flag("\\Seen"),
            Unseen => !self.flag("\\Seen"),
            Keyword(a) => self.flag(a.inner()),
            Unkeyword(a) => !self.flag(a.inner()),
            // RFC 3501 6.4.4: NEW is RECENT UNSEEN, OLD is NOT RECENT.
            Recent => self.recent,
            New => self.recent && !self.flag("\\Seen"),
            Old => !self.recent,
            Larger(n) => m.size > *n as u64,
            Smaller(n) => m.size < *n as u64,
            // RFC 3501 6.4.4: the INTERNALDATE's date in its own zone.
            Before(d) => local_day(m) < date_day(d.as_ref()),
            On(d) => local_day(m) == date_day(d.as_ref()),
            Since(d) => local_day(m) >= date_day(d.as_ref()),
            SentBefore(d) => self.sent_day().is_some_and(|s| s < date_day(d.as_ref())),
            SentOn(d) => self.sent_day().is_some_and(|s| s == date_day(d.as_ref())),
            SentSince(d) => self.sent_day().is_some_and(|s| s >= date_day(d.as_ref())),
            Not(k) => !self.eval(k),
            Or(a, b) => self.eval(a) || self.eval(b),
            From(s) => self.header("From", s.as_ref()),
            To(s) => self.header("To", s.as_ref()),
            Cc(s) => self.header("Cc", s.as_ref()),
            Bcc(s) => self.header("Bcc", s.as_ref()),
            Subject(s) => self.header("Subject", s.as_ref()),
            Header(name, v) => {
                let n = String::from_utf8_lossy(name.as_ref()).into_owned();
                self.header(&n, v.as_ref())
            }
            Body(s) => self.body_contains(s.as_ref()),
            Text(s) => {
                self.raw.is_some_and(|r| contains(r, s.as_ref())) || self.body_contains(s.as_ref())
            }
            ModSequence { modseq, .. } => m.modseq >= *modseq,
        }
    }

    fn body_contains(&self, s: &[u8]) -> bool {
        let Some(p) = self.parsed() else { return false };
        let raw_hit = {
            let raw = mime::raw_of(p);
            let start = p.parts.first().map(|x| x.offset_body as usize).unwrap_or(0);
            contains(raw.get(start.min(raw.len())..).unwrap_or(&[]), s)
        };
        raw_hit
            || p.parts.iter().any(|part| match &part.body {
                mail_parser::PartType::Text(t) | mail_parser::PartType::Html(t) => {
                    contains(t.as_bytes(), s)
                }
                _ => false,
            })
    }
}

/// How many messages SEARCH reads and matches between two yields.
const YIELD_EVERY: usize = 16;

impl Session {
    /// The indexes into the selected mailbox of the messages that match;
    /// `None` when the memory budget had no room for a message in time.
    pub(crate) async fn matching(&self, key: &SearchKey<'_>) -> Option<Vec<usize>> {
        let Some(sel) = self.state.selected() else {
            return Some(Vec::new());
        };
        let bytes = needs_bytes(key);
        let mut sets = Sets::new();
        resolve_sets(sel, key, &mut sets);
        // Header keys only: one query for the cached header blocks instead
        // of reading every message; a message without one gets it now.
        let header_only = bytes && !needs_body(key);
        // Loaded a batch at a time, not the whole mailbox's at once.
        let mut headers = std::collections::HashMap::new();
        let mut hits = Vec::new();
        for (i, m) in sel.msgs.iter().enumerate() {
            if header_only && i % crate::summary::BATCH == 0 {
                let end = (i + crate::summary::BATCH).min(sel.msgs.len());
                let uids: Vec<u32> = sel.msgs[i..end].iter().map(|m| m.uid).collect();
                headers = self
                    .opts
                    .summaries
                    .get(&self.store, sel.mailbox.id, &uids)
                    .await;
            }
            // Reading and matching is CPU work: let other sessions run
            // between small groups of messages (each yield is a trip
            // through the scheduler; one per message cost more than the
            // matching of a header block).
            if bytes && i % YIELD_EVERY == YIELD_EVERY - 1 {
                tokio::task::yield_now().await;
            }
            let mut summary = headers.remove(&m.uid);
            // This message's share of the memory budget, if it is read.
            let mut _share = None;
            let raw: Option<std::borrow::Cow<'_, [u8]>> = if let Some(s) = &summary {
                Some(std::borrow::Cow::Borrowed(&s.header[..]))
            } else if bytes {
                let b = match read_message(&self.store, &self.opts.budget, sel.mailbox.id, m).await
                {
                    Ok((b, share)) => {
                        _share = Some(share);
                        b
                    }
                    Err(ReadError::Busy) => return None,
                    Err(ReadError::Gone | ReadError::Store(_)) => continue,
                };
                if header_only {
                    let s = self
                        .opts
                        .summaries
                        .compute(&self.store, sel.mailbox.id, m.uid, mime::parse(&b).as_ref())
                        .await;
                    summary = Some(s);
                    summary
                        .as_ref()
                        .map(|s| std::borrow::Cow::Borrowed(&s.header[..]))
                } else {
                    Some(std::borrow::Cow::Owned(b))
                }
            } else {
                None
            };
            let parsed = std::cell::OnceCell::new();
            let ctx = Ctx {
                sets: &sets,
                idx: i,
                meta: m,
                raw: raw.as_deref(),
                header_only,
                parsed: &parsed,
                recent: sel.recent.is(m.uid),
            };
            if ctx.eval(key) {
                hits.push(i);
            }
        }
        Some(hits)
    }

    pub(crate) async fn search<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        charset: Option<Charset<'_>>,
        criteria: Vec1<SearchKey<'_>>,
        uid: bool,
    ) -> Flow {
        if let Some(c) = charset {
            let c = c.as_ref().to_ascii_uppercase();
            if c != "UTF-8" && c != "US-ASCII" {
                // RFC 5182 2.1: a failed SEARCH empties the saved result.
                if self.ext.search_return.as_ref().is_some_and(|r| r.save)
                    && let Some(sel) = self.state.selected_mut()
                {
                    sel.saved.clear();
                }
                io.push_str(&format!(
                    "{tag} NO [BADCHARSET (UTF-8 US-ASCII)] charset not supported\r\n"
                ));
                return Flow::Continue;
            }
        }
        // Search what is current (RFC 3501 7.4.1: EXPUNGE only during
        // UID SEARCH).
        self.sync(io, uid).await;
        let Some(sel) = self.state.selected() else {
            return Flow::Continue;
        };
        let key = SearchKey::And(criteria);
        if refuse_costly(io, tag, &key) {
            // RFC 5182 2.1: a failed SEARCH empties the saved result.
            if self.ext.search_return.as_ref().is_some_and(|r| r.save)
                && let Some(sel) = self.state.selected_mut()
            {
                sel.saved.clear();
            }
            return Flow::Continue;
        }
        let Some(hits) = self.matching(&key).await else {
            io.push_str(&format!("{tag} {BUSY}\r\n"));
            return Flow::Continue;
        };
        // RFC 7162 3.1.5: with MODSEQ, the highest MODSEQ of the matches.
        let modseq = uses_modseq(&key)
            .then(|| hits.iter().map(|&i| sel.msgs[i].modseq).max())
            .flatten();
        // RFC 7162 3.1.5 with RFC 4731: when ESEARCH returns only MIN
        // and/or MAX, the MODSEQ is that of the messages returned.
        let ends_modseq = modseq.map(|_| {
            let at = |i: Option<&usize>| i.map(|&i| sel.msgs[i].modseq);
            (at(hits.first()), at(hits.last()))
        });
        let hits: Vec<(usize, u32)> = hits.into_iter().map(|i| (i, sel.msgs[i].uid)).collect();
        if uses_modseq(&key) {
            self.condstore_used(io);
        }
        let ret = match self.ext.search_return.take() {
            Some(r) => Some(r),
            // RFC 9051 6.4.4: under IMAP4rev2 a plain SEARCH is RETURN (ALL).
            None if self.enabled().rev2 => Some(SearchReturn {
                all: true,
                ..SearchReturn::default()
            }),
            None => None,
        };
        let Some(ret) = ret else {
            let mut line = String::from("* SEARCH");
            for (i, u) in &hits {
                line.push_str(&format!(" {}", if uid { *u } else { *i as u32 + 1 }));
            }
            if let Some(m) = modseq {
                line.push_str(&format!(" (MODSEQ {m})"));
            }
            line.push_str("\r\n");
            io.push_str(&line);
            self.sync(io, uid).await;
            io.push_str(&format!("{tag} OK SEARCH completed\r\n"));
            return Flow::Continue;
        };
        if ret.save
            && let Some(sel) = self.state.selected_mut()
        {
            // RFC 5182 2.4: with MIN and/or MAX alone only those are saved.
            let mut saved: Vec<u32> = if ret.all || ret.count || !(ret.min || ret.max) {
                hits.iter().map(|h| h.1).collect()
            } else {
                let mut v = Vec::new();
                if ret.min {
                    v.extend(hits.first().map(|h| h.1));
                }
                if ret.max {
                    v.extend(hits.last().map(|h| h.1));
                }
                v
            };
            saved.sort_unstable();
            saved.dedup();
            sel.saved = saved;
        }
        let nums: Vec<u32> = hits
            .iter()
            .map(|(i, u)| if uid { *u } else { *i as u32 + 1 })
            .collect();
        // RFC 4731 3.1 / RFC 5182 2.1: SAVE alone produces no ESEARCH.
        if ret.min || ret.max || ret.all || ret.count {
            let mut line = String::from("* ESEARCH (TAG ");
            let mut q = Vec::new();
            wire::string(&mut q, tag.as_bytes());
            line.push_str(&String::from_utf8_lossy(&q));
            line.push(')');
            if uid {
                line.push_str(" UID");
            }
            if ret.min
                && let Some(m) = nums.first()
            {
                line.push_str(&format!(" MIN {m}"));
            }
            if ret.max
                && let Some(m) = nums.last()
            {
                line.push_str(&format!(" MAX {m}"));
            }
            if ret.count {
                line.push_str(&format!(" COUNT {}", nums.len()));
            }
            if ret.all && !nums.is_empty() {
                line.push_str(&format!(" ALL {}", wire::sequence_set(&nums)));
            }
            let modseq = match ends_modseq {
                Some((first, last)) if !(ret.all || ret.count) => {
                    let min = if ret.min { first } else { None };
                    let max = if ret.max { last } else { None };
                    min.max(max)
                }
                _ => modseq,
            };
            if let Some(m) = modseq {
                line.push_str(&format!(" MODSEQ {m}"));
            }
            line.push_str("\r\n");
            io.push_str(&line);
        }
        self.sync(io, uid).await;
        io.push_str(&format!("{tag} OK SEARCH completed\r\n"));
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_search_agrees_with_comparing_at_every_offset() {
        let naive = |h: &[u8], n: &[u8]| {
            let (h, n) = (h.to_ascii_lowercase(), n.to_ascii_lowercase());
            n.is_empty() || h.windows(n.len()).any(|w| w == n.as_slice())
        };
        // Seeded: the same inputs on every run.
        let mut rng = crate::fuzz::Rng(0x2545_f491_4f6c_dd1d);
        let mut next = move || rng.next();
        let alphabet = b"aAbB";
        for _ in 0..20_000 {
            let h: Vec<u8> = (0..next() % 12)
                .map(|_| alphabet[(next() % 4) as usize])
                .collect();
            let n: Vec<u8> = (0..next() % 5)
                .map(|_| alphabet[(next() % 4) as usize])
                .collect();
            assert_eq!(contains(&h, &n), naive(&h, &n), "{h:?} {n:?}");
        }
    }

    #[test]
    fn pathological_substrings_answer() {
        // Comparing at every offset: 4 MB × 64 KB steps.
        let hay = vec![b'a'; 4 << 20];
        let mut needle = vec![b'a'; 64 << 10];
        needle.push(b'b');
        assert!(!contains(&hay, &needle));
        needle.pop();
        assert!(contains(&hay, &needle));
    }
}
