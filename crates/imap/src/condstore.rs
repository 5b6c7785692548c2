//! CONDSTORE and QRESYNC (RFC 7162): what the client missed since a
//! MODSEQ it knows, from the store's MODSEQs and expunge log.

use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};

use crate::protocol::io::Io;
use crate::protocol::io::Wire;
use crate::protocol::wire;
use crate::session::Session;

/// A UID set as sorted, merged ranges: membership in `log(ranges)` steps
/// (testing every range of the set for every expunged UID costs
/// ranges × UIDs). `*` stands for any UID above (RFC 7162 3.2.6 applies
/// the set to UIDs that no longer exist).
pub(crate) struct UidSet(Vec<(u32, u32)>);

impl UidSet {
    pub(crate) fn new(set: &SequenceSet) -> UidSet {
        let v = |x: &SeqOrUid| match x {
            SeqOrUid::Value(v) => v.get(),
            SeqOrUid::Asterisk => u32::MAX,
        };
        let mut ranges: Vec<(u32, u32)> = set
            .0
            .as_ref()
            .iter()
            .map(|s| match s {
                Sequence::Single(x) => (v(x), v(x)),
                Sequence::Range(a, b) => (v(a).min(v(b)), v(a).max(v(b))),
            })
            .collect();
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        UidSet(merged)
    }

    pub(crate) fn contains(&self, uid: u32) -> bool {
        let i = self.0.partition_point(|&(lo, _)| lo <= uid);
        i > 0 && uid <= self.0[i - 1].1
    }
}

impl Session {
    /// `* VANISHED (EARLIER) …`: UIDs in `set` expunged after `since`.
    pub(crate) async fn vanished_earlier<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        set: Option<&SequenceSet>,
        since: u64,
    ) {
        let Some(sel) = self.state.selected() else {
            return;
        };
        let gone = match self.store.expunged_since(sel.mailbox.id, since).await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(error = %e, "imap: reading the expunge log failed");
                return;
            }
        };
        let set = set.map(UidSet::new);
        let mut gone: Vec<u32> = gone
            .into_iter()
            .filter(|u| set.as_ref().is_none_or(|s| s.contains(*u)))
            .collect();
        gone.sort_unstable();
        gone.dedup();
        if !gone.is_empty() {
            io.push_str(&format!(
                "* VANISHED (EARLIER) {}\r\n",
                wire::sequence_set(&gone)
            ));
        }
    }

    /// RFC 7162 3.2.5: after SELECT (QRESYNC (uidvalidity modseq
    /// [known-uids])), what changed since: VANISHED (EARLIER), then the
    /// flags of every message changed since.
    pub(crate) async fn qresync_select<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        uidvalidity: u32,
        since: u64,
        known: Option<&SequenceSet>,
    ) {
        let Some(sel) = self.state.selected() else {
            return;
        };
        if sel.mailbox.uidvalidity != uidvalidity {
            // Everything the client knows is void; it starts over.
            return;
        }
        self.vanished_earlier(io, known, since).await;
        let Some(sel) = self.state.selected() else {
            return;
        };
        for (i, m) in sel.msgs.iter().enumerate() {
            if m.modseq > since {
                io.push_str(&format!(
                    "* {} FETCH (UID {} FLAGS {} MODSEQ ({}))\r\n",
                    i + 1,
                    m.uid,
                    sel.recent.flags(m),
                    m.modseq
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets() {
        let set = UidSet::new(&SequenceSet::try_from("10:*,7,3:1,2").unwrap());
        for (uid, want) in [(1, true), (2, true), (3, true), (7, true), (99, true)] {
            assert_eq!(set.contains(uid), want, "{uid}");
        }
        for uid in [4, 5, 6, 8, 9] {
            assert!(!set.contains(uid), "{uid}");
        }
        // Adjacent and overlapping ranges merge.
        let set = UidSet::new(&SequenceSet::try_from("1:3,4:6,5:9").unwrap());
        assert_eq!(set.0, vec![(1, 9)]);
    }
}
