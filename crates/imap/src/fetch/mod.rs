//! FETCH (RFC 9051 6.4.5, 7.5.2), in steps: the item list (macros, UID,
//! CONDSTORE's MODSEQ), CHANGEDSINCE and VANISHED (RFC 7162 3.1.4,
//! 3.2.6), the implicit \Seen, then each message read within the memory
//! budget — its summary from the cache when it has one — and rendered by
//! `render`.

mod render;
mod sections;

use std::collections::HashMap;
use std::sync::Arc;

use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::command::FetchModifier;
use imap_codec::imap_types::fetch::{Macro, MacroOrMessageDataItemNames, MessageDataItemName};
use imap_codec::imap_types::sequence::SequenceSet;
use tern_store::FlagOp;

use crate::binary::BinaryError;
use crate::budget::{BUSY, ReadError, read_message};
use crate::mime;
use crate::protocol::io::{Io, Wire};
use crate::session::{Flow, Session};
use render::Read;
use sections::{is_summary, needs_bytes, needs_parse, sets_seen};

/// RFC 7162 3.1.4 CHANGEDSINCE and 3.2.6 VANISHED.
#[derive(Default)]
struct Modifiers {
    changed_since: Option<u64>,
    vanished: bool,
}

impl Modifiers {
    fn of(modifiers: &[FetchModifier]) -> Modifiers {
        let mut out = Modifiers::default();
        for m in modifiers {
            match m {
                FetchModifier::ChangedSince(v) => out.changed_since = Some(v.get()),
                FetchModifier::Vanished => out.vanished = true,
            }
        }
        out
    }
}

/// The items a macro stands for (RFC 9051 6.4.5); `None` for one this
/// server does not know.
fn expand(items: MacroOrMessageDataItemNames<'_>) -> Option<Vec<MessageDataItemName<'_>>> {
    match items {
        MacroOrMessageDataItemNames::Macro(m @ (Macro::All | Macro::Fast | Macro::Full)) => {
            Some(m.expand().into_iter().map(|i| i.into_static()).collect())
        }
        MacroOrMessageDataItemNames::Macro(_) => None,
        MacroOrMessageDataItemNames::MessageDataItemNames(v) => Some(v),
    }
}

fn refused<S: Wire>(io: &mut Io<S>, tag: &str, e: BinaryError) -> Flow {
    match e {
        BinaryError::UnknownCte(cte) => io.push_str(&format!(
            "{tag} NO [UNKNOWN-CTE] cannot decode content-transfer-encoding {cte}\r\n"
        )),
        BinaryError::Undecodable => io.push_str(&format!(
            "{tag} NO [PARSE] the part's encoded content is damaged\r\n"
        )),
    }
    Flow::Continue
}

impl Session {
    pub(crate) async fn fetch<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        set: &SequenceSet,
        uid: bool,
        items: MacroOrMessageDataItemNames<'_>,
        modifiers: Vec<FetchModifier>,
    ) -> Flow {
        let Some(mut items) = expand(items) else {
            return self.bad(io, tag, "unknown FETCH macro");
        };
        // RFC 9051 6.4.9: UID FETCH always reports the UID.
        if uid && !items.contains(&MessageDataItemName::Uid) {
            items.insert(0, MessageDataItemName::Uid);
        }
        let mods = Modifiers::of(&modifiers);
        if mods.vanished && !(uid && self.enabled().qresync && mods.changed_since.is_some()) {
            return self.bad(
                io,
                tag,
                "VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE",
            );
        }
        self.condstore_items(io, &mut items, &mods);
        // Other sessions' flag changes first, so that the FLAGS sent are
        // current. RFC 3501 7.4.1: EXPUNGE may be sent during UID FETCH,
        // never during FETCH.
        self.sync(io, uid).await;
        let Some(mut idx) = self.resolve(io, tag, set, uid) else {
            return Flow::Continue;
        };
        if let Some(since) = mods.changed_since {
            if mods.vanished {
                self.vanished_earlier(io, Some(set), since).await;
            }
            if let Some(sel) = self.state.selected() {
                idx.retain(|&i| sel.msgs[i].modseq > since);
            }
        }
        // Implicit \Seen first, so that the FLAGS sent reflect it.
        let seen_now = if sets_seen(&items) {
            self.mark_seen(&idx).await
        } else {
            Vec::new()
        };
        if let Err(flow) = self.respond(io, tag, &items, &idx, &seen_now).await {
            return flow;
        }
        self.sync(io, uid).await;
        io.push_str(&format!("{tag} OK FETCH completed\r\n"));
        Flow::Continue
    }

    /// CHANGEDSINCE and MODSEQ turn CONDSTORE on (RFC 7162 3.1); with it
    /// on, MODSEQ goes with FLAGS and with CHANGEDSINCE (3.1.4.1).
    fn condstore_items<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        items: &mut Vec<MessageDataItemName<'_>>,
        mods: &Modifiers,
    ) {
        let modseq = items.contains(&MessageDataItemName::ModSeq);
        if mods.changed_since.is_some() || modseq {
            self.condstore_used(io);
        }
        if self.enabled().condstore
            && !modseq
            && (mods.changed_since.is_some() || items.contains(&MessageDataItemName::Flags))
        {
            items.push(MessageDataItemName::ModSeq);
        }
    }

    /// Set \Seen on the unseen messages among `idx` (not in a read-only
    /// mailbox), updating the view; the UIDs that changed.
    async fn mark_seen(&mut self, idx: &[usize]) -> Vec<u32> {
        let Some(sel) = self.state.selected_mut() else {
            return Vec::new();
        };
        if sel.read_only {
            return Vec::new();
        }
        let unseen: Vec<u32> = idx
            .iter()
            .map(|&i| &sel.msgs[i])
            .filter(|m| !m.flags.iter().any(|f| f == "\\Seen"))
            .map(|m| m.uid)
            .collect();
        if unseen.is_empty() {
            return Vec::new();
        }
        let seen = ["\\Seen".to_string()];
        let changed = match self
            .store
            .store_flags(sel.mailbox.id, &unseen, FlagOp::Add, &seen, None)
            .await
        {
            Ok((changed, _)) => changed,
            Err(e) => {
                tracing::warn!(error = %e, "imap: setting \\Seen failed");
                return Vec::new();
            }
        };
        let mut seen_now = Vec::with_capacity(changed.len());
        let msgs = Arc::make_mut(&mut sel.msgs);
        for (u, meta) in changed {
            // Both ascending by UID.
            if let Ok(at) = msgs.binary_search_by_key(&u, |m| m.uid) {
                msgs[at].flags = meta.flags;
                msgs[at].modseq = meta.modseq;
            }
            seen_now.push(u);
        }
        seen_now
    }

    /// The untagged FETCH responses, a batch of summaries at a time (a
    /// FETCH 1:* of a large mailbox would otherwise hold every message's
    /// summary at once); `Err` with the flow once a tagged answer ended
    /// the command early.
    async fn respond<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        items: &[MessageDataItemName<'_>],
        idx: &[usize],
        seen_now: &[u32],
    ) -> Result<(), Flow> {
        let Some(sel) = self.state.selected() else {
            return Ok(());
        };
        let mailbox = sel.mailbox.id;
        let wants_summary = items.iter().any(is_summary);
        for batch in idx.chunks(crate::summary::BATCH) {
            let mut summaries = if wants_summary {
                let uids: Vec<u32> = batch.iter().map(|&i| sel.msgs[i].uid).collect();
                self.opts.summaries.get(&self.store, mailbox, &uids).await
            } else {
                HashMap::new()
            };
            for &i in batch {
                let m = &sel.msgs[i];
                let cached = summaries.remove(&m.uid);
                let need_raw = needs_bytes(items) || (wants_summary && cached.is_none());
                // The share of the memory budget is held until the reply is
                // flushed (or is small): the end of this iteration.
                let (raw, _share) = if need_raw {
                    match read_message(&self.store, &self.opts.budget, mailbox, m).await {
                        Ok((b, share)) => (b, Some(share)),
                        // Expunged by another session meanwhile: skip it
                        // (RFC 9051 7.5.1 allows omitting such messages).
                        Err(ReadError::Gone) => continue,
                        Err(ReadError::Busy) => {
                            io.push_str(&format!("{tag} {BUSY}\r\n"));
                            return Err(Flow::Continue);
                        }
                        Err(ReadError::Store(e)) => {
                            tracing::warn!(error = %e, "imap: reading a message failed");
                            io.push_str(&format!("{tag} NO [SERVERBUG] cannot read message\r\n"));
                            return Err(Flow::Continue);
                        }
                    }
                } else {
                    (Vec::new(), None)
                };
                // The MIME tree only for what needs it: BODY[] and RFC822 are
                // the bytes as stored.
                let parsed =
                    if need_raw && (needs_parse(items) || (wants_summary && cached.is_none())) {
                        mime::parse(&raw)
                    } else {
                        None
                    };
                let summary = match cached {
                    Some(s) => Some(s),
                    None if wants_summary => Some(
                        self.opts
                            .summaries
                            .compute(&self.store, mailbox, m.uid, parsed.as_ref())
                            .await,
                    ),
                    None => None,
                };
                let read = Read {
                    meta: m,
                    raw: &raw,
                    parsed: parsed.as_ref(),
                    summary: summary.as_deref(),
                    recent: &sel.recent,
                };
                let seen = seen_now.contains(&m.uid);
                match render::response(i, items, &read, seen) {
                    Ok(out) => io.push(&out),
                    Err(e) => return Err(refused(io, tag, e)),
                }
                if io.wbuf.len() > 256 * 1024 && io.flush().await.is_err() {
                    return Err(Flow::Close);
                }
            }
        }
        Ok(())
    }
}
