//! The SORT and THREAD commands (RFC 5256): SEARCH criteria select the
//! messages, the cached summaries give their keys, `order` does the rest.

use imap_codec::imap_types::core::{Charset, Vec1};
use imap_codec::imap_types::extensions::sort::{SortCriterion, SortKey};
use imap_codec::imap_types::extensions::thread::ThreadingAlgorithm;
use imap_codec::imap_types::search::SearchKey;

use crate::budget::{BUSY, ReadError, read_message};
use crate::mime;
use crate::order::{self, Info, Key};
use crate::protocol::io::Io;
use crate::protocol::io::Wire;
use crate::references;
use crate::session::{Flow, Session};

/// RFC 5256 3: UTF-8 and US-ASCII are the charsets every server knows;
/// any other is answered `NO [BADCHARSET]` (true when it was).
fn refuse_charset<S: Wire>(io: &mut Io<S>, tag: &str, charset: &Charset<'_>) -> bool {
    let c = charset.as_ref().to_ascii_uppercase();
    if c == "UTF-8" || c == "US-ASCII" {
        return false;
    }
    io.push_str(&format!(
        "{tag} NO [BADCHARSET (UTF-8 US-ASCII)] charset not supported\r\n"
    ));
    true
}

impl Session {
    /// The sort keys of the messages at these indexes of the selected
    /// mailbox, numbered by UID or sequence number; summaries not yet in
    /// the index are computed and kept.
    /// `None` when the memory budget had no room for a message in time.
    async fn infos(&self, idx: &[usize], uid: bool) -> Option<Vec<Info>> {
        let Some(sel) = self.state.selected() else {
            return Some(Vec::new());
        };
        let mailbox = sel.mailbox.id;
        let mut cached = std::collections::HashMap::new();
        let mut out = Vec::with_capacity(idx.len());
        for (n, &i) in idx.iter().enumerate() {
            // Loaded a batch at a time, not the whole mailbox's at once.
            if n % crate::summary::BATCH == 0 {
                let end = (n + crate::summary::BATCH).min(idx.len());
                let uids: Vec<u32> = idx[n..end].iter().map(|&i| sel.msgs[i].uid).collect();
                cached = self.opts.summaries.get(&self.store, mailbox, &uids).await;
            }
            let m = &sel.msgs[i];
            let summary = match cached.remove(&m.uid) {
                Some(s) => s,
                None => {
                    // Parsing is CPU work: let other sessions run between
                    // messages.
                    tokio::task::yield_now().await;
                    let (raw, _share) =
                        match read_message(&self.store, &self.opts.budget, mailbox, m).await {
                            Ok(read) => read,
                            // Expunged meanwhile: not part of the answer.
                            Err(ReadError::Gone | ReadError::Store(_)) => continue,
                            Err(ReadError::Busy) => return None,
                        };
                    self.opts
                        .summaries
                        .compute(&self.store, mailbox, m.uid, mime::parse(&raw).as_ref())
                        .await
                }
            };
            let id = if uid { m.uid } else { i as u32 + 1 };
            out.push(summary.info_for(id, m.internal_date, m.size));
        }
        Some(out)
    }

    pub(crate) async fn sort<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        criteria: Vec1<SortCriterion>,
        charset: Charset<'_>,
        search: Vec1<SearchKey<'_>>,
        uid: bool,
    ) -> Flow {
        if refuse_charset(io, tag, &charset) {
            return Flow::Continue;
        }
        let mut keys = Vec::new();
        for c in criteria.as_ref() {
            let key = match c.key {
                SortKey::Arrival => Key::Arrival,
                SortKey::Cc => Key::Cc,
                SortKey::Date => Key::Date,
                SortKey::From => Key::From,
                SortKey::Size => Key::Size,
                SortKey::Subject => Key::Subject,
                SortKey::To => Key::To,
                // SORT=DISPLAY (RFC 5957) is not advertised.
                SortKey::DisplayFrom | SortKey::DisplayTo => {
                    return self.bad(io, tag, "SORT=DISPLAY is not supported");
                }
            };
            keys.push((key, c.reverse));
        }
        let key = SearchKey::And(search);
        if crate::search::refuse_costly(io, tag, &key) {
            return Flow::Continue;
        }
        let Some(hits) = self.matching(&key).await else {
            io.push_str(&format!("{tag} {BUSY}\r\n"));
            return Flow::Continue;
        };
        let Some(infos) = self.infos(&hits, uid).await else {
            io.push_str(&format!("{tag} {BUSY}\r\n"));
            return Flow::Continue;
        };
        // Sorting a large mailbox is CPU work: off the async workers.
        let sorted = tokio::task::spawn_blocking(move || {
            let mut infos = infos;
            order::sort(&mut infos, &keys);
            infos
        })
        .await;
        let Ok(infos) = sorted else {
            io.push_str(&format!("{tag} NO [SERVERBUG] sort failed\r\n"));
            return Flow::Continue;
        };
        let mut line = String::from("* SORT");
        for i in &infos {
            line.push_str(&format!(" {}", i.id));
        }
        line.push_str("\r\n");
        io.push_str(&line);
        self.sync(io, false).await;
        io.push_str(&format!("{tag} OK SORT completed\r\n"));
        Flow::Continue
    }

    pub(crate) async fn thread<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        algorithm: ThreadingAlgorithm<'_>,
        charset: Charset<'_>,
        search: Vec1<SearchKey<'_>>,
        uid: bool,
    ) -> Flow {
        if refuse_charset(io, tag, &charset) {
            return Flow::Continue;
        }
        let threader: fn(&[Info]) -> Vec<order::Thread> = match algorithm {
            ThreadingAlgorithm::OrderedSubject => order::ordered_subject,
            ThreadingAlgorithm::References => references::references,
            ThreadingAlgorithm::Other(_) => {
                return self.bad(io, tag, "unknown threading algorithm");
            }
        };
        let key = SearchKey::And(search);
        if crate::search::refuse_costly(io, tag, &key) {
            return Flow::Continue;
        }
        let Some(hits) = self.matching(&key).await else {
            io.push_str(&format!("{tag} {BUSY}\r\n"));
            return Flow::Continue;
        };
        let Some(infos) = self.infos(&hits, uid).await else {
            io.push_str(&format!("{tag} {BUSY}\r\n"));
            return Flow::Continue;
        };
        // Threading a large mailbox is CPU work: off the async workers.
        let rendered = tokio::task::spawn_blocking(move || order::render(&threader(&infos))).await;
        let Ok(rendered) = rendered else {
            io.push_str(&format!("{tag} NO [SERVERBUG] thread failed\r\n"));
            return Flow::Continue;
        };
        io.push_str(&format!("* THREAD {rendered}\r\n"));
        self.sync(io, false).await;
        io.push_str(&format!("{tag} OK THREAD completed\r\n"));
        Flow::Continue
    }
}
