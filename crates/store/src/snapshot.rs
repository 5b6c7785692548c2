//! Shared snapshots of a mailbox's message list. Every IMAP session keeps
//! the list of the messages it knows (sequence number → UID, flags); many
//! sessions on one mailbox in the same state — one person's devices, a
//! shared mailbox, a thousand clients in IDLE — share one copy instead of
//! holding one each. A snapshot is keyed by the mailbox's HIGHESTMODSEQ,
//! which every append, flag change and expunge raises, and lives as long
//! as some session holds it.
//!
//! A newer snapshot is made from the newest one still held: the rows
//! whose MODSEQ is above it and the expunge log since it, merged in —
//! a session catching up after another one's STORE reads the few rows
//! that changed, not the whole mailbox.
//!
//! When one delivery wakes many sessions of a mailbox at once (IDLE), the
//! change event tells each the HIGHESTMODSEQ it reached: a snapshot at
//! least that new answers without asking the database, and only one of
//! them reads the new rows while the others wait for its list
//! (`messages_shared_since`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::{MailboxId, MessageMeta, Result, Store, StoreError};

/// A list nobody holds is still kept this long after its last use, so that
/// the next SELECT of a mailbox — a client reconnecting, a phone polling —
/// catches up from it instead of reading every row again.
const KEEP_FOR: Duration = Duration::from_secs(120);
/// At most this many messages' worth of such lists (≈ 80 bytes each).
const KEEP_MESSAGES: usize = 200_000;

struct Entry {
    /// The mailbox's HIGHESTMODSEQ the list is at least as new as.
    modseq: u64,
    list: Weak<Vec<MessageMeta>>,
    /// Held by the cache itself, until `KEEP_FOR` after `used`.
    kept: Option<Arc<Vec<MessageMeta>>>,
    used: Instant,
    /// Every UID below this one is known to be claimed as \Recent by some
    /// session (`Store::recent_claim_seen`); it only grows.
    claimed: u32,
}

#[derive(Default)]
pub(crate) struct Snapshots {
    map: Mutex<HashMap<MailboxId, Entry>>,
    /// One reader at a time per mailbox, for the sessions woken together.
    turns: Mutex<HashMap<MailboxId, Weak<tokio::sync::Mutex<()>>>>,
}

impl Snapshots {
    /// The newest list held for `mailbox` and the HIGHESTMODSEQ it is
    /// (at least) as new as.
    fn newest(&self, mailbox: MailboxId) -> Option<(u64, Arc<Vec<MessageMeta>>)> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.get_mut(&mailbox)?;
        e.used = Instant::now();
        Some((e.modseq, e.list.upgrade()?))
    }

    /// The UID below which every message of `mailbox` is known here to
    /// have been claimed as \Recent.
    pub(crate) fn recent_known(&self, mailbox: MailboxId) -> u32 {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&mailbox).map_or(0, |e| e.claimed)
    }

    /// Every UID of `mailbox` below `upto` has been claimed.
    pub(crate) fn recent_note(&self, mailbox: MailboxId, upto: u32) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = map.get_mut(&mailbox) {
            e.claimed = e.claimed.max(upto);
        }
    }

    /// The turn of `mailbox`'s readers (shared while someone holds it).
    pub(crate) fn turn(&self, mailbox: MailboxId) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = turns.get(&mailbox).and_then(Weak::upgrade) {
            return t;
        }
        let t = Arc::new(tokio::sync::Mutex::new(()));
        turns.retain(|_, w| w.strong_count() > 0);
        turns.insert(mailbox, Arc::downgrade(&t));
        t
    }

    /// The newest list held, if it is at least as new as `modseq`.
    fn at_least(&self, mailbox: MailboxId, modseq: u64) -> Option<Arc<Vec<MessageMeta>>> {
        self.newest(mailbox)
            .and_then(|(m, list)| (m >= modseq).then_some(list))
    }

    fn keep(&self, mailbox: MailboxId, modseq: u64, list: &Arc<Vec<MessageMeta>>) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let newer_held = map
            .get(&mailbox)
            .is_some_and(|e| e.modseq > modseq && e.list.strong_count() > 0);
        if !newer_held {
            let e = Entry {
                modseq,
                list: Arc::downgrade(list),
                kept: Some(list.clone()),
                used: Instant::now(),
                claimed: map.get(&mailbox).map_or(0, |e| e.claimed),
            };
            map.insert(mailbox, e);
        }
        trim(&mut map);
    }
}

/// Let go of kept lists past `KEEP_FOR` or beyond `KEEP_MESSAGES` (least
/// recently used first), and forget the mailboxes nobody holds any more.
fn trim(map: &mut HashMap<MailboxId, Entry>) {
    let now = Instant::now();
    for e in map.values_mut() {
        if now.duration_since(e.used) > KEEP_FOR {
            e.kept = None;
        }
    }
    let mut total: usize = map
        .values()
        .filter_map(|e| e.kept.as_ref())
        .map(|l| l.len())
        .sum();
    while total > KEEP_MESSAGES {
        let Some(oldest) = map
            .values_mut()
            .filter(|e| e.kept.is_some())
            .min_by_key(|e| e.used)
        else {
            break;
        };
        total -= oldest.kept.take().map_or(0, |l| l.len());
    }
    map.retain(|_, e| e.list.strong_count() > 0);
}

impl Store {
    /// Every message of a mailbox, by ascending UID, shared with whoever
    /// asked at the same HIGHESTMODSEQ. The list is at least as new as
    /// that HIGHESTMODSEQ.
    pub async fn messages_shared(&self, mailbox: MailboxId) -> Result<Arc<Vec<MessageMeta>>> {
        let modseq: i64 = sqlx::query_scalar("SELECT highestmodseq FROM mailboxes WHERE id = $1")
            .bind(mailbox)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("mailbox #{mailbox}")))?;
        self.messages_shared_since(mailbox, modseq as u64).await
    }

    /// `messages_shared` for a caller that knows the mailbox's
    /// HIGHESTMODSEQ reached `modseq` (a change event said so, after the
    /// change committed): a list held at least that new is answered
    /// without the database; otherwise one caller per mailbox reads the
    /// rows that changed while the others wait for its list.
    pub async fn messages_shared_since(
        &self,
        mailbox: MailboxId,
        modseq: u64,
    ) -> Result<Arc<Vec<MessageMeta>>> {
        let snaps = &self.inner.snapshots;
        if let Some(list) = snaps.at_least(mailbox, modseq) {
            return Ok(list);
        }
        let turn = snaps.turn(mailbox);
        let _turn = turn.lock().await;
        let list = match snaps.newest(mailbox) {
            Some((m, list)) if m >= modseq => return Ok(list),
            Some((m, base)) => {
                // Every change up to `modseq` has committed (each takes
                // the mailbox row's lock), so the rows above `m` read now
                // hold them all; changes past `modseq` may come too, which
                // is why a list is "at least as new". Rows first, then the
                // expunge log: a message expunged in between is then in
                // both and the log wins.
                let changed = self.messages_changed_since(mailbox, m).await?;
                let gone = self.expunged_since(mailbox, m).await?;
                Arc::new(merge(&base, changed, &gone))
            }
            None => Arc::new(self.messages(mailbox).await?),
        };
        snaps.keep(mailbox, modseq, &list);
        Ok(list)
    }
}

/// `base` with the rows of `changed` put in (replacing those with the same
/// UID) and the UIDs of `gone` taken out; all three ascend by UID.
fn merge(base: &[MessageMeta], changed: Vec<MessageMeta>, gone: &[u32]) -> Vec<MessageMeta> {
    let is_gone = |uid: u32| gone.binary_search(&uid).is_ok();
    let mut out = Vec::with_capacity(base.len() + changed.len());
    let mut old = base.iter().peekable();
    for new in changed {
        while let Some(m) = old.next_if(|m| m.uid <= new.uid) {
            if m.uid < new.uid && !is_gone(m.uid) {
                out.push(m.clone());
            }
        }
        if !is_gone(new.uid) {
            out.push(new);
        }
    }
    out.extend(old.filter(|m| !is_gone(m.uid)).cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(uid: u32, flag: &str, modseq: u64) -> MessageMeta {
        MessageMeta {
            uid,
            size: 10,
            internal_date: 0,
            internal_zone: 0,
            flags: vec![flag.to_string()],
            modseq,
        }
    }

    #[test]
    fn kept_lists_are_bounded_least_recently_used_first() {
        let big = |n: usize| Arc::new(vec![meta(1, "a", 1); n]);
        let (old, new) = (big(KEEP_MESSAGES / 2 + 1), big(KEEP_MESSAGES / 2 + 1));
        let now = Instant::now();
        let entry = |l: &Arc<Vec<MessageMeta>>, used| Entry {
            modseq: 1,
            list: Arc::downgrade(l),
            kept: Some(l.clone()),
            used,
            claimed: 0,
        };
        let mut map = HashMap::new();
        map.insert(1, entry(&old, now - Duration::from_secs(5)));
        map.insert(2, entry(&new, now));
        let stale = big(1);
        map.insert(3, entry(&stale, now - KEEP_FOR - Duration::from_secs(1)));
        drop((old, new, stale));
        trim(&mut map);
        let mut left: Vec<_> = map.keys().copied().collect();
        left.sort();
        assert_eq!(left, [2], "the older big list and the stale one are let go");
    }

    #[test]
    fn merge_puts_in_changes_and_takes_out_expunges() {
        let base = vec![
            meta(1, "a", 1),
            meta(3, "a", 1),
            meta(5, "a", 1),
            meta(7, "a", 1),
        ];
        // 3 changed, 5 expunged, 8 and 9 new, 9 also expunged already.
        let changed = vec![meta(3, "b", 4), meta(8, "a", 5), meta(9, "a", 6)];
        let out = merge(&base, changed, &[5, 9]);
        let got: Vec<(u32, &str, u64)> = out
            .iter()
            .map(|m| (m.uid, m.flags[0].as_str(), m.modseq))
            .collect();
        assert_eq!(got, [(1, "a", 1), (3, "b", 4), (7, "a", 1), (8, "a", 5)]);
        assert_eq!(merge(&base, Vec::new(), &[]), base);
        assert!(merge(&[], Vec::new(), &[1]).is_empty());
        let only_new = merge(&[], vec![meta(2, "x", 2)], &[]);
        assert_eq!(only_new, [meta(2, "x", 2)]);
    }
}
