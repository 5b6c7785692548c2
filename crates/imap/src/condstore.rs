//! CONDSTORE and QRESYNC (RFC 7162): what the client missed since a
//! MODSEQ it knows, from the store's MODSEQs and expunge log.

use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};

use crate::io::Io;
use crate::session::{Session, Wire};
use crate::wire;

/// Is `uid` in a UID set? `*` stands for any UID above (RFC 7162 3.2.6
/// applies the set to UIDs that no longer exist).
pub(crate) fn uid_in(set: &SequenceSet, uid: u32) -> bool {
    let v = |x: &SeqOrUid| match x {
        SeqOrUid::Value(v) => v.get(),
        SeqOrUid::Asterisk => u32::MAX,
    };
    set.0.as_ref().iter().any(|s| match s {
        Sequence::Single(x) => v(x) == uid,
        Sequence::Range(a, b) => {
            let (a, b) = (v(a), v(b));
            a.min(b) <= uid && uid <= a.max(b)
        }
    })
}

impl Session {
    /// `* VANISHED (EARLIER) …`: UIDs in `set` expunged after `since`.
    pub(crate) async fn vanished_earlier<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        set: Option<&SequenceSet>,
        since: u64,
    ) {
        let Some(sel) = &self.selected else { return };
        let gone = match self.store.expunged_since(sel.mailbox.id, since).await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(error = %e, "imap: reading the expunge log failed");
                return;
            }
        };
        let mut gone: Vec<u32> = gone
            .into_iter()
            .filter(|u| set.is_none_or(|s| uid_in(s, *u)))
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
        let Some(sel) = &self.selected else { return };
        if sel.mailbox.uidvalidity != uidvalidity {
            // Everything the client knows is void; it starts over.
            return;
        }
        self.vanished_earlier(io, known, since).await;
        let Some(sel) = &self.selected else { return };
        for (i, m) in sel.msgs.iter().enumerate() {
            if m.modseq > since {
                io.push_str(&format!(
                    "* {} FETCH (UID {} FLAGS {} MODSEQ ({}))\r\n",
                    i + 1,
                    m.uid,
                    wire::flag_list(&m.flags),
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
        let set = SequenceSet::try_from("1:3,7,10:*").unwrap();
        assert!(uid_in(&set, 2) && uid_in(&set, 7) && uid_in(&set, 99));
        assert!(!uid_in(&set, 4) && !uid_in(&set, 9));
    }
}
