//! \Recent (RFC 3501 2.3.2): a message is recent in the one session that
//! first selects its mailbox after it arrived, and only there. The store
//! keeps the first unclaimed UID per mailbox (`Store::recent_claim`); a
//! session keeps the UID ranges it claimed.
//!
//! The rule: only IMAP4rev1 sessions that SELECT claim; EXAMINE shows what
//! is recent without taking it (RFC 3501 6.3.2), and IMAP4rev2 sessions
//! have no \Recent at all (RFC 9051 2.3.2 removed it).

use std::ops::Range;

use tern_store::MessageMeta;

use crate::protocol::wire;

/// The most ranges a session keeps: one per claim that another session's
/// claim interrupted; past it the oldest are forgotten (those messages
/// are no longer shown as recent).
const MAX_RANGES: usize = 1024;

/// The UIDs that are recent in this session.
#[derive(Debug, Default, Clone)]
pub struct Recent {
    ranges: Vec<Range<u32>>,
    /// New messages that arrive while the mailbox is selected are claimed
    /// too (SELECT in IMAP4rev1).
    pub claims: bool,
}

impl Recent {
    /// Takes in a claimed range (ascending after the ones before).
    pub fn add(&mut self, r: Range<u32>) {
        if r.is_empty() {
            return;
        }
        match self.ranges.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => self.ranges.push(r),
        }
        if self.ranges.len() > MAX_RANGES {
            self.ranges.remove(0);
        }
    }

    pub fn is(&self, uid: u32) -> bool {
        let i = self.ranges.partition_point(|r| r.end <= uid);
        self.ranges.get(i).is_some_and(|r| r.contains(&uid))
    }

    /// How many of `msgs` are recent (the `* n RECENT` of RFC 3501 7.3.2).
    pub fn count(&self, msgs: &[MessageMeta]) -> usize {
        if self.ranges.is_empty() {
            return 0;
        }
        msgs.iter().filter(|m| self.is(m.uid)).count()
    }

    /// A message's FLAGS, `\Recent` included when it is recent here.
    pub fn flags(&self, m: &MessageMeta) -> String {
        if !self.is(m.uid) {
            return wire::flag_list(&m.flags);
        }
        let mut all = Vec::with_capacity(m.flags.len() + 1);
        all.push("\\Recent".to_string());
        all.extend(m.flags.iter().cloned());
        wire::flag_list(&all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_ranges_merge_and_answer_membership() {
        let mut r = Recent::default();
        r.add(3..5);
        r.add(5..7);
        r.add(7..7);
        r.add(9..10);
        assert_eq!(r.ranges, vec![3..7, 9..10]);
        let recent: Vec<u32> = (0..12).filter(|&u| r.is(u)).collect();
        assert_eq!(recent, vec![3, 4, 5, 6, 9]);
    }

    #[test]
    fn the_ranges_kept_are_bounded() {
        let mut r = Recent::default();
        for i in 0..(MAX_RANGES as u32 + 5) {
            r.add(i * 2..i * 2 + 1);
        }
        assert_eq!(r.ranges.len(), MAX_RANGES);
        assert!(!r.is(0), "the oldest are forgotten");
    }
}
