//! What FETCH ENVELOPE / BODY / BODYSTRUCTURE, SORT and THREAD need of a
//! message, computed once from its bytes with `mail-parser` and kept in
//! the store's index (`Store::message_summary_set`), so that these items
//! do not re-read and re-parse the message on every FETCH.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use mail_parser::Message;
use tern_store::{MailboxId, Store};

use crate::mime;
use crate::order::Info;

/// Bumped whenever the encoding or what is computed changes; an older
/// summary is then computed again (3: sizes and envelopes inside a
/// message/rfc822 part are read from the right bytes; 4: at most
/// `mime_tree::MAX_PARTS` parts; 5: the last `order::MAX_REFERENCES`
/// references; 6: a comment in a group is not an envelope address, and a
/// group's name is its first address for SORT).
const VERSION: u8 = 6;

/// How many messages' summaries a command loads from the index at once
/// (FETCH, SEARCH, SORT, THREAD): a whole large mailbox's would be held
/// in memory together.
pub(crate) const BATCH: usize = 256;

/// `Info::sent` of a message without a valid Date header.
const NO_DATE: i64 = i64::MIN;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The ENVELOPE value, `(...)`.
    pub envelope: Vec<u8>,
    /// The BODY value (non-extensible BODYSTRUCTURE).
    pub body: Vec<u8>,
    /// The BODYSTRUCTURE value.
    pub bodystructure: Vec<u8>,
    /// SORT and THREAD keys; `id`, `arrival` and `size` are the index's.
    pub info: Info,
    /// The message's header block, its final blank line included: what
    /// BODY[HEADER…] and the header SEARCH keys read.
    pub header: Vec<u8>,
}

impl Summary {
    /// From a parsed message; `None` (bytes that do not parse) gives the
    /// empty envelope and a text/plain body.
    pub fn of(msg: Option<&Message<'_>>) -> Summary {
        let Some(msg) = msg else {
            return Summary {
                envelope: b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)".to_vec(),
                body: b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0)".to_vec(),
                bodystructure: b"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)"
                    .to_vec(),
                info: Info::default(),
                header: Vec::new(),
            };
        };
        let mut envelope = Vec::new();
        mime::envelope(&mut envelope, msg);
        let mut body = Vec::new();
        mime::body_structure(&mut body, msg, 0, false, 0);
        let mut bodystructure = Vec::new();
        mime::body_structure(&mut bodystructure, msg, 0, true, 0);
        // No valid Date: NO_DATE, replaced by the INTERNALDATE in
        // `info_for` (RFC 5256 2.2).
        let info = Info {
            arrival: 0,
            ..Info::of(0, NO_DATE, 0, msg)
        };
        Summary {
            envelope,
            body,
            bodystructure,
            info,
            header: mime::part_header(msg, 0).to_vec(),
        }
    }

    /// The SORT/THREAD keys of the message with this number (sequence or
    /// UID), INTERNALDATE and size.
    pub fn info_for(&self, id: u32, arrival: i64, size: u64) -> Info {
        let mut info = self.info.clone();
        info.id = id;
        info.arrival = arrival;
        info.size = size;
        if info.sent == NO_DATE {
            info.sent = arrival;
        }
        info
    }

    pub fn encode(&self) -> Vec<u8> {
        let i = &self.info;
        let mut out = vec![VERSION];
        for field in [&self.envelope[..], &self.body, &self.bodystructure] {
            put(&mut out, field);
        }
        out.extend_from_slice(&i.sent.to_be_bytes());
        out.push(u8::from(i.is_reply));
        for s in [&i.subject, &i.from, &i.to, &i.cc] {
            put(&mut out, s.as_bytes());
        }
        put(&mut out, i.message_id.as_deref().unwrap_or("").as_bytes());
        put(&mut out, i.references.join("\n").as_bytes());
        put(&mut out, &self.header);
        out
    }

    /// `None` for another version or damaged bytes: compute it again.
    pub fn decode(b: &[u8]) -> Option<Summary> {
        let mut r = Reader(b);
        if r.byte()? != VERSION {
            return None;
        }
        let envelope = r.field()?.to_vec();
        let body = r.field()?.to_vec();
        let bodystructure = r.field()?.to_vec();
        let sent = i64::from_be_bytes(r.take(8)?.try_into().ok()?);
        let is_reply = r.byte()? != 0;
        let mut text = || String::from_utf8(r.field()?.to_vec()).ok();
        let (subject, from, to, cc) = (text()?, text()?, text()?, text()?);
        let message_id = Some(text()?).filter(|m| !m.is_empty());
        let refs = text()?;
        let header = r.field()?.to_vec();
        let references = refs
            .split('\n')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if !r.0.is_empty() {
            return None;
        }
        Some(Summary {
            envelope,
            body,
            bodystructure,
            info: Info {
                sent,
                is_reply,
                subject,
                from,
                to,
                cc,
                message_id,
                references,
                ..Info::default()
            },
            header,
        })
    }
}

/// The summary of a message being delivered, encoded for the index
/// (`tern_store::Summarizer`); `None` when too big to keep, so the first
/// FETCH computes it under the memory budget instead.
pub fn for_delivery(bytes: &[u8]) -> Option<Vec<u8>> {
    let s = Summary::of(mime::parse(bytes).as_ref());
    s.worth_keeping().then(|| s.encode())
}

/// The summaries of recently read messages, shared by every session of the
/// process and bounded in bytes; behind it the store's index, and behind
/// that the message itself. A summary never changes (messages are
/// immutable, UIDs and mailbox ids are never reused), so nothing is ever
/// invalidated: entries only age out, oldest first.
pub struct SummaryCache {
    budget: usize,
    inner: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    map: HashMap<(MailboxId, u32), Arc<Summary>>,
    order: VecDeque<(MailboxId, u32)>,
    bytes: usize,
}

impl std::fmt::Debug for SummaryCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SummaryCache({} bytes)", self.budget)
    }
}

impl SummaryCache {
    pub fn new(budget_bytes: usize) -> SummaryCache {
        SummaryCache {
            budget: budget_bytes,
            inner: Mutex::new(Held::default()),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn keep(&self, mailbox: MailboxId, uid: u32, s: &Arc<Summary>) {
        let cost = s.cost();
        if cost > self.budget {
            return;
        }
        let mut h = self.held();
        if h.map.insert((mailbox, uid), s.clone()).is_none() {
            h.order.push_back((mailbox, uid));
            h.bytes += cost;
        }
        while h.bytes > self.budget {
            let Some(key) = h.order.pop_front() else {
                break;
            };
            if let Some(old) = h.map.remove(&key) {
                h.bytes -= old.cost();
            }
        }
    }

    /// The summaries of those of `uids` held in memory or kept in the
    /// index; a message without one is left out (see [`Self::compute`]).
    pub(crate) async fn get(
        &self,
        store: &Store,
        mailbox: MailboxId,
        uids: &[u32],
    ) -> HashMap<u32, Arc<Summary>> {
        let mut out = HashMap::with_capacity(uids.len());
        let mut missing = Vec::new();
        {
            let h = self.held();
            for &u in uids {
                match h.map.get(&(mailbox, u)) {
                    Some(s) => {
                        out.insert(u, s.clone());
                    }
                    None => missing.push(u),
                }
            }
        }
        if missing.is_empty() {
            return out;
        }
        match store.message_summaries(mailbox, &missing).await {
            Ok(rows) => {
                for (u, b) in rows {
                    if let Some(s) = Summary::decode(&b) {
                        let s = Arc::new(s);
                        self.keep(mailbox, u, &s);
                        out.insert(u, s);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "imap: reading message summaries failed"),
        }
        out
    }

    /// Compute a message's summary from its parsed bytes and keep it, in
    /// memory and in the index (best effort: without it, the next reader
    /// computes it again).
    pub(crate) async fn compute(
        &self,
        store: &Store,
        mailbox: MailboxId,
        uid: u32,
        msg: Option<&Message<'_>>,
    ) -> Arc<Summary> {
        let s = Arc::new(Summary::of(msg));
        if !s.worth_keeping() {
            return s;
        }
        if let Err(e) = store.message_summary_set(mailbox, uid, &s.encode()).await {
            tracing::warn!(error = %e, "imap: keeping a message summary failed");
        }
        self.keep(mailbox, uid, &s);
        s
    }
}

/// The largest summary kept (in the index and in memory). A larger one
/// (a huge header, parts with huge parameters) is computed from the
/// message each time, under the memory budget of the message's bytes;
/// kept, a batch of them would be loaded at once outside any budget.
pub(crate) const MAX_KEPT: usize = 1 << 20;

impl Summary {
    /// Small enough to keep (see [`MAX_KEPT`]).
    pub(crate) fn worth_keeping(&self) -> bool {
        self.cost() <= MAX_KEPT
    }

    /// Roughly the bytes it holds, for the cache's budget.
    fn cost(&self) -> usize {
        let i = &self.info;
        let refs: usize = i.references.iter().map(|r| r.len() + 24).sum();
        160 + self.envelope.len()
            + self.body.len()
            + self.bodystructure.len()
            + self.header.len()
            + i.subject.len()
            + i.from.len()
            + i.to.len()
            + i.cc.len()
            + i.message_id.as_ref().map_or(0, |m| m.len())
            + refs
    }
}

fn put(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u32).to_be_bytes());
    out.extend_from_slice(field);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn field(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_be_bytes(self.take(4)?.try_into().ok()?) as usize;
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &[u8] = b"From: Ann <ann@example.org>\r\nTo: bob@example.net\r\n\
Subject: Re: plans\r\nDate: Tue, 1 Jul 2025 10:00:00 +0000\r\nMessage-ID: <b@x>\r\n\
References: <a@x>\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: image/png\r\n\
Content-Transfer-Encoding: base64\r\n\r\niVBORw0K\r\n--b--\r\n";

    #[test]
    fn summaries_round_trip_and_match_direct_computation() {
        let msg = mime::parse(RAW).unwrap();
        let s = Summary::of(Some(&msg));
        let mut env = Vec::new();
        mime::envelope(&mut env, &msg);
        let mut bs = Vec::new();
        mime::body_structure(&mut bs, &msg, 0, true, 0);
        assert_eq!(
            (s.envelope.as_slice(), s.bodystructure.as_slice()),
            (&env[..], &bs[..])
        );
        assert!(
            s.body.starts_with(b"((\"TEXT\" \"PLAIN\""),
            "{}",
            String::from_utf8_lossy(&s.body)
        );
        assert_eq!(s.info.subject, "PLANS");
        assert_eq!(s.info.references, ["a@x"]);
        assert!(s.header.starts_with(b"From: Ann") && s.header.ends_with(b"\r\n\r\n"));
        assert_eq!(s.info_for(3, 7, 9).sent, 1_751_364_000);
        let undated = Summary::of(Some(&mime::parse(b"Subject: x\r\n\r\n").unwrap()));
        let i = undated.info_for(3, 7, 9);
        assert_eq!((i.id, i.arrival, i.size, i.sent), (3, 7, 9, 7));
        assert_eq!(Summary::decode(&s.encode()), Some(s));
    }

    #[test]
    fn the_cache_stays_within_its_budget_oldest_out_first() {
        let s = Arc::new(Summary::of(mime::parse(RAW).as_ref()));
        let cache = SummaryCache::new(s.cost() * 2);
        for uid in 1..=3 {
            cache.keep(7, uid, &s);
        }
        cache.keep(7, 3, &s); // again: no double count
        let h = cache.held();
        let mut held: Vec<u32> = h.map.keys().map(|k| k.1).collect();
        held.sort();
        assert_eq!(held, [2, 3]);
        assert_eq!(h.bytes, s.cost() * 2);
        drop(h);
        let none = SummaryCache::new(0);
        none.keep(7, 1, &s);
        assert!(none.held().map.is_empty(), "a zero budget keeps nothing");
    }

    #[test]
    fn unparsable_and_damaged() {
        let s = Summary::of(None);
        assert_eq!(Summary::decode(&s.encode()), Some(s.clone()));
        let mut e = s.encode();
        e[0] = VERSION + 1;
        assert_eq!(Summary::decode(&e), None);
        let e = s.encode();
        assert_eq!(Summary::decode(&e[..e.len() - 1]), None);
        assert_eq!(Summary::decode(&[]), None);
        let mut e = s.encode();
        e.push(0);
        assert_eq!(Summary::decode(&e), None);
    }

    #[test]
    fn a_huge_summary_is_not_kept() {
        // A 2 MiB Subject: its header block and envelope would be kept
        // and loaded 256 at a time.
        let raw = format!("Subject: {}\r\n\r\nx", "s".repeat(2 << 20));
        let s = Summary::of(mime::parse(raw.as_bytes()).as_ref());
        assert!(!s.worth_keeping());
        assert!(Summary::of(mime::parse(RAW).as_ref()).worth_keeping());
    }
}
