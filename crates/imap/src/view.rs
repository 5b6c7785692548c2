//! The selected mailbox as this session knows it (RFC 9051 6.4): the
//! messages and their numbers, the saved search result, \Recent and the
//! keywords named so far, kept in step with the store by `sync`.

use std::sync::Arc;

use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};
use tern_store::{Mailbox, MessageMeta, Store};

use crate::enabled::Enabled;
use crate::keywords::Keywords;
use crate::protocol::io::{Io, Wire};
use crate::protocol::preparse::SAVED;
use crate::protocol::wire;
use crate::recent::Recent;

pub(crate) struct Selected {
    pub mailbox: Mailbox,
    pub read_only: bool,
    /// What the client knows: message sequence number = index + 1. Shared
    /// with other sessions that know the same state of the mailbox (see
    /// `Store::messages_shared`); changed copy-on-write.
    pub msgs: Arc<Vec<MessageMeta>>,
    /// A change event arrived since the last sync.
    pub dirty: bool,
    /// The mailbox's HIGHESTMODSEQ a change event reported, for the next
    /// sync: a shared list at least that new needs no database read
    /// (`Store::messages_shared_since`).
    pub reached: Option<u64>,
    /// The saved search result, as UIDs (RFC 5182 2.1).
    pub saved: Vec<u32>,
    /// The command being executed wrote `$` (see `preparse::SAVED`).
    pub use_saved: bool,
    /// The messages that are \Recent in this session (RFC 3501 2.3.2).
    pub recent: Recent,
    /// The keywords FLAGS has named to the client (set by SELECT, which
    /// sends the first FLAGS).
    pub keywords: Keywords,
}

/// The most flags (system flags and keywords) one message may carry.
pub const MAX_FLAGS: usize = 256;

impl Selected {
    pub fn new(mailbox: Mailbox, msgs: Arc<Vec<MessageMeta>>, read_only: bool) -> Selected {
        Selected {
            keywords: Keywords::default(),
            recent: Recent::default(),
            mailbox,
            read_only,
            msgs,
            dirty: false,
            reached: None,
            saved: Vec::new(),
            use_saved: false,
        }
    }

    /// Tell the client what changed in the store since its view: expunges
    /// (only when allowed; as VANISHED under QRESYNC, RFC 7162 3.2.10),
    /// flag changes (with MODSEQ under CONDSTORE, RFC 7162 3.1.4.1), new
    /// messages.
    pub async fn sync<S: Wire>(
        &mut self,
        store: &Store,
        io: &mut Io<S>,
        expunges: bool,
        enabled: Enabled,
    ) -> tern_store::Result<()> {
        let fresh = match self.reached.take() {
            Some(m) => store.messages_shared_since(self.mailbox.id, m).await?,
            None => store.messages_shared(self.mailbox.id).await?,
        };
        self.dirty = false;
        if Arc::ptr_eq(&fresh, &self.msgs) {
            return Ok(());
        }
        let (gone, changed) = diff(&self.msgs, &fresh, enabled.condstore);
        if !gone.is_empty() && expunges && enabled.qresync {
            // RFC 7162 3.2.10: VANISHED instead of EXPUNGE.
            let uids: Vec<u32> = gone.iter().map(|&i| self.msgs[i].uid).collect();
            io.push_str(&format!("* VANISHED {}\r\n", wire::sequence_set(&uids)));
        } else if !gone.is_empty() && expunges {
            // Highest first, so that each number is valid when sent.
            for &i in gone.iter().rev() {
                io.push_str(&format!("* {} EXPUNGE\r\n", i + 1));
            }
        } else if !gone.is_empty() {
            self.dirty = true; // expunges still to report
        }
        let last = self.msgs.last().map(|m| m.uid).unwrap_or(0);
        let added = fresh.len() - fresh.partition_point(|m| m.uid <= last);
        // RFC 3501 7.2.6: a keyword another session stored or appended is
        // named in FLAGS before a FETCH shows it.
        let touched = changed.iter().map(|&(_, f)| &fresh[f]);
        if self
            .keywords
            .learn(touched.chain(&fresh[fresh.len() - added..]))
        {
            io.push_str(&self.keywords.lines(self.read_only));
        }
        // Flag changes are numbered as the client will know the messages
        // after the expunges just sent.
        let reported = if expunges { gone.len() } else { 0 };
        for &(i, f) in &changed {
            let seq = i + 1 - gone.partition_point(|&g| g < i).min(reported);
            let m = &fresh[f];
            let modseq = if enabled.condstore {
                format!(" MODSEQ ({})", m.modseq)
            } else {
                String::new()
            };
            io.push_str(&format!(
                "* {seq} FETCH (UID {} FLAGS {}{modseq})\r\n",
                m.uid,
                self.recent.flags(m)
            ));
        }
        if added > 0 {
            let known = self.msgs.len() - reported;
            io.push_str(&format!("* {} EXISTS\r\n", known + added));
            if self.recent.claims {
                // The client hears of the new mail now: claiming it as
                // recent may wait for a durable write (the first session
                // to ask) or for that session (all the others).
                let _ = io.flush().await;
                // RFC 3501 2.3.2: what arrives while the mailbox is
                // selected is recent here, unless another session took it.
                let seen_next = fresh.last().map_or(0, |m| m.uid.saturating_add(1));
                self.recent
                    .add(store.recent_claim_seen(self.mailbox.id, seen_next).await?);
                let n = self.recent.count(&fresh);
                io.push_str(&format!("* {n} RECENT\r\n"));
            }
        }
        if self.dirty {
            // Expunges still to report: the view keeps those messages, in
            // its own copy, with the others as the store has them now.
            let mut own = Vec::with_capacity(self.msgs.len() + added);
            let mut next = fresh.iter().peekable();
            for m in self.msgs.iter() {
                while next.next_if(|f| f.uid < m.uid).is_some() {}
                match next.next_if(|f| f.uid == m.uid) {
                    Some(f) => own.push(f.clone()),
                    None => own.push(m.clone()),
                }
            }
            own.extend(next.cloned());
            self.msgs = Arc::new(own);
        } else {
            // The view is now the store's state: share its list.
            self.msgs = fresh;
        }
        Ok(())
    }

    /// Indexes into `msgs` named by a sequence set, ascending, without
    /// duplicates. Message numbers beyond the mailbox are an error
    /// (RFC 9051 9, seq-number); UIDs that do not exist are ignored.
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Result<Vec<usize>, ()> {
        let n = self.msgs.len();
        if self.use_saved
            && let [Sequence::Single(SeqOrUid::Value(v))] = set.0.as_ref()
            && v.get() == SAVED
        {
            // RFC 5182 2.1: `$` is the saved result; messages expunged
            // since are simply not in it any more.
            return Ok((0..n)
                .filter(|&i| self.saved.binary_search(&self.msgs[i].uid).is_ok())
                .collect());
        }
        let max_uid = self.msgs.last().map(|m| m.uid).unwrap_or(0);
        let val = |v: SeqOrUid| match v {
            SeqOrUid::Value(v) => v.get(),
            SeqOrUid::Asterisk if uid => max_uid,
            SeqOrUid::Asterisk => n as u32,
        };
        // The ranges sorted and merged first: a set can repeat `1:*` as
        // often as a command line allows, and marking each range would
        // cost ranges × messages.
        let mut ranges: Vec<(u32, u32)> = Vec::with_capacity(set.0.as_ref().len());
        for seq in set.0.as_ref() {
            let (a, b) = match seq {
                Sequence::Single(x) => (*x, *x),
                Sequence::Range(x, y) => (*x, *y),
            };
            let (x, y) = (val(a), val(b));
            let (lo, hi) = (x.min(y), x.max(y));
            if !uid && (hi as usize > n || lo == 0) {
                return Err(());
            }
            ranges.push((lo, hi));
        }
        ranges.sort_unstable();
        let mut out = Vec::new();
        let mut from = 0usize;
        for (lo, hi) in ranges {
            // Messages are ascending by UID, so a range is a slice.
            let (start, end) = if uid {
                (
                    self.msgs.partition_point(|m| m.uid < lo),
                    self.msgs.partition_point(|m| m.uid <= hi),
                )
            } else {
                (lo as usize - 1, hi as usize)
            };
            for i in start.max(from)..end {
                out.push(i);
            }
            from = from.max(end);
        }
        Ok(out)
    }
}

/// How `new` differs from `old` (both ascending by UID): the indexes into
/// `old` of the messages no longer there, and (index into `old`, index into
/// `new`) of those whose flags — or, with CONDSTORE, MODSEQ — changed.
fn diff(
    old: &[MessageMeta],
    new: &[MessageMeta],
    condstore: bool,
) -> (Vec<usize>, Vec<(usize, usize)>) {
    let (mut gone, mut changed) = (Vec::new(), Vec::new());
    let mut j = 0;
    for (i, m) in old.iter().enumerate() {
        while j < new.len() && new[j].uid < m.uid {
            j += 1;
        }
        match new.get(j) {
            Some(f) if f.uid == m.uid => {
                if f.flags != m.flags || (condstore && f.modseq != m.modseq) {
                    changed.push((i, j));
                }
            }
            _ => gone.push(i),
        }
    }
    (gone, changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selected(uids: &[u32]) -> Selected {
        let msgs = uids
            .iter()
            .map(|&uid| MessageMeta {
                uid,
                size: 1,
                internal_date: 0,
                internal_zone: 0,
                flags: Vec::new(),
                modseq: 1,
            })
            .collect();
        let mailbox = Mailbox {
            id: 1,
            account_id: 1,
            name: "INBOX".into(),
            special_use: None,
            uidvalidity: 1,
            uidnext: 100,
            highestmodseq: 1,
            recent_uid: 100,
        };
        Selected::new(mailbox, Arc::new(msgs), false)
    }

    fn set(s: &str) -> SequenceSet {
        SequenceSet::try_from(s).unwrap()
    }

    #[test]
    fn sets_resolve_ascending_without_duplicates() {
        let sel = selected(&[2, 3, 5, 8, 13]);
        type Want = Result<Vec<usize>, ()>;
        let cases: [(&str, bool, Want); 7] = [
            ("1:*", false, Ok(vec![0, 1, 2, 3, 4])),
            ("4,2,3:2,*", false, Ok(vec![1, 2, 3, 4])),
            // Beyond the mailbox: an error for numbers...
            ("6", false, Err(())),
            // ...and nothing for UIDs.
            ("100:200", true, Ok(vec![])),
            ("3:8", true, Ok(vec![1, 2, 3])),
            ("13:2,5", true, Ok(vec![0, 1, 2, 3, 4])),
            ("*:9", true, Ok(vec![4])),
        ];
        for (s, uid, want) in cases {
            assert_eq!(sel.resolve(&set(s), uid), want, "{s} uid={uid}");
        }
    }

    #[test]
    fn a_set_of_many_ranges_over_many_messages_resolves() {
        // 20,000 × `1:*` over 100,000 messages: every range marked one by
        // one would be 2·10⁹ steps.
        let uids: Vec<u32> = (1..=100_000).collect();
        let sel = selected(&uids);
        let s = vec!["1:*"; 20_000].join(",");
        assert_eq!(sel.resolve(&set(&s), true).map(|v| v.len()), Ok(100_000));
        assert_eq!(sel.resolve(&set(&s), false).map(|v| v.len()), Ok(100_000));
    }
}
