//! The selected state (RFC 9051 6.4): the session's view of its mailbox,
//! kept in step with the store, and the commands that change messages.

use std::collections::HashMap;
use std::sync::Arc;

use imap_codec::imap_types::command::{CommandBody, StoreModifier};
use imap_codec::imap_types::flag::{StoreResponse, StoreType};
use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};
use tern_store::{FlagOp, Mailbox, MessageMeta, Store};

use crate::io::Io;
use crate::keywords::Keywords;
use crate::mailboxes::{name_of, raw_name};
use crate::preparse::SAVED;
use crate::recent::Recent;
use crate::session::{Flow, Session, Wire};
use crate::wire;

/// How STORE changes flags.
pub(crate) struct StoreHow {
    pub op: FlagOp,
    pub silent: bool,
    /// RFC 7162 3.1.3 UNCHANGEDSINCE.
    pub unchanged_since: Option<u64>,
}

pub(crate) struct Selected {
    pub mailbox: Mailbox,
    pub read_only: bool,
    /// What the client knows: message sequence number = index + 1. Shared
    /// with other sessions that know the same state of the mailbox (see
    /// `Store::messages_shared`); changed copy-on-write.
    pub msgs: Arc<Vec<MessageMeta>>,
    /// A change event arrived since the last sync.
    pub dirty: bool,
    /// The saved search result, as UIDs (RFC 5182 2.1).
    pub saved: Vec<u32>,
    /// The command being executed wrote `$` (see `preparse::SAVED`).
    pub use_saved: bool,
    /// MODSEQ goes with every FETCH of flags (RFC 7162 3.1.4.1).
    pub condstore: bool,
    /// Expunges are reported as VANISHED (RFC 7162 3.2.10).
    pub qresync: bool,
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
            saved: Vec::new(),
            use_saved: false,
            condstore: false,
            qresync: false,
        }
    }

    /// Tell the client what changed in the store since its view: expunges
    /// (only when allowed), flag changes, new messages.
    pub async fn sync<S: Wire>(
        &mut self,
        store: &Store,
        io: &mut Io<S>,
        expunges: bool,
    ) -> tern_store::Result<()> {
        let fresh = store.messages_shared(self.mailbox.id).await?;
        self.dirty = false;
        if Arc::ptr_eq(&fresh, &self.msgs) {
            return Ok(());
        }
        let (gone, changed) = diff(&self.msgs, &fresh, self.condstore);
        if !gone.is_empty() && expunges && self.qresync {
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
            let modseq = if self.condstore {
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
                // RFC 3501 2.3.2: what arrives while the mailbox is
                // selected is recent here, unless another session took it.
                self.recent.add(store.recent_claim(self.mailbox.id).await?);
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

impl Session {
    pub(crate) async fn selected_command<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        body: CommandBody<'_>,
    ) -> Flow {
        if self.selected.is_none() {
            return self.bad(io, tag, "no mailbox selected");
        }
        match body {
            CommandBody::Check => {
                self.sync(io, true).await;
                io.push_str(&format!("{tag} OK CHECK completed\r\n"));
            }
            CommandBody::Close => {
                if let Some(sel) = self.selected.take()
                    && !sel.read_only
                    && let Err(e) = self.store.expunge_deleted(sel.mailbox.id, None).await
                {
                    tracing::warn!(error = %e, "imap: CLOSE expunge failed");
                }
                io.push_str(&format!("{tag} OK CLOSE completed\r\n"));
            }
            CommandBody::Unselect => {
                self.selected = None;
                io.push_str(&format!("{tag} OK UNSELECT completed\r\n"));
            }
            CommandBody::Expunge => return self.expunge(io, tag, None).await,
            CommandBody::ExpungeUid { sequence_set } => {
                return self.expunge(io, tag, Some(sequence_set)).await;
            }
            CommandBody::Store {
                sequence_set,
                kind,
                response,
                flags,
                uid,
                modifiers,
            } => {
                let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
                let mut unchanged_since = None;
                for m in modifiers {
                    let StoreModifier::UnchangedSince(v) = m;
                    unchanged_since = Some(v);
                    self.condstore_used(io);
                }
                let op = match kind {
                    StoreType::Add => FlagOp::Add,
                    StoreType::Remove => FlagOp::Remove,
                    StoreType::Replace => FlagOp::Replace,
                };
                let silent = response == StoreResponse::Silent;
                let how = StoreHow {
                    op,
                    silent,
                    unchanged_since,
                };
                return self
                    .store_cmd(io, tag, &sequence_set, uid, &flags, how)
                    .await;
            }
            CommandBody::Copy {
                sequence_set,
                mailbox,
                uid,
            } => {
                let Some(n) = name_of(&mailbox, self.utf8_names()) else {
                    return self.bad_name(io, tag, raw_name(&mailbox));
                };
                return self.copy(io, tag, &sequence_set, uid, &n, false).await;
            }
            CommandBody::Move {
                sequence_set,
                mailbox,
                uid,
            } => {
                let Some(n) = name_of(&mailbox, self.utf8_names()) else {
                    return self.bad_name(io, tag, raw_name(&mailbox));
                };
                return self.copy(io, tag, &sequence_set, uid, &n, true).await;
            }
            CommandBody::Fetch {
                sequence_set,
                macro_or_item_names,
                uid,
                modifiers,
            } => {
                return self
                    .fetch(io, tag, &sequence_set, uid, macro_or_item_names, modifiers)
                    .await;
            }
            CommandBody::Search {
                charset,
                criteria,
                uid,
            } => return self.search(io, tag, charset, criteria, uid).await,
            CommandBody::Sort {
                sort_criteria,
                charset,
                search_criteria,
                uid,
            } => {
                return self
                    .sort(io, tag, sort_criteria, charset, search_criteria, uid)
                    .await;
            }
            CommandBody::Thread {
                algorithm,
                charset,
                search_criteria,
                uid,
            } => {
                return self
                    .thread(io, tag, algorithm, charset, search_criteria, uid)
                    .await;
            }
            // Run by the session loop itself (see `Flow::Idle`).
            CommandBody::Idle => return Flow::Idle(tag.to_string()),
            _ => return self.bad(io, tag, "command not supported"),
        }
        Flow::Continue
    }

    /// Resolve a set against the selected mailbox, answering BAD itself.
    pub(crate) fn resolve<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        set: &SequenceSet,
        uid: bool,
    ) -> Option<Vec<usize>> {
        let r = self.selected.as_ref().map(|s| s.resolve(set, uid));
        match r {
            Some(Ok(v)) => Some(v),
            _ => {
                self.bad(io, tag, "invalid message sequence number");
                None
            }
        }
    }

    async fn expunge<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        set: Option<SequenceSet>,
    ) -> Flow {
        let uids: Option<Vec<u32>> = match &set {
            Some(set) => {
                let Some(idx) = self.resolve(io, tag, set, true) else {
                    return Flow::Continue;
                };
                let sel = self.selected.as_ref();
                Some(
                    idx.iter()
                        .filter_map(|&i| sel.map(|s| s.msgs[i].uid))
                        .collect(),
                )
            }
            None => None,
        };
        let Some(sel) = &self.selected else {
            return Flow::Continue;
        };
        if sel.read_only {
            io.push_str(&format!("{tag} NO [READ-ONLY] mailbox is read-only\r\n"));
            return Flow::Continue;
        }
        let id = sel.mailbox.id;
        if let Err(e) = self.store.expunge_deleted(id, uids.as_deref()).await {
            tracing::warn!(error = %e, "imap: expunge failed");
            io.push_str(&format!("{tag} NO [SERVERBUG] expunge failed\r\n"));
            return Flow::Continue;
        }
        if let Some(sel) = &mut self.selected {
            sel.dirty = true;
        }
        self.sync(io, true).await;
        io.push_str(&format!("{tag} OK EXPUNGE completed\r\n"));
        Flow::Continue
    }

    #[allow(clippy::too_many_arguments)]
    async fn store_cmd<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        set: &SequenceSet,
        uid: bool,
        flags: &[String],
        how: StoreHow,
    ) -> Flow {
        let Some(idx) = self.resolve(io, tag, set, uid) else {
            return Flow::Continue;
        };
        let Some(sel) = &mut self.selected else {
            return Flow::Continue;
        };
        if sel.read_only {
            io.push_str(&format!("{tag} NO [READ-ONLY] mailbox is read-only\r\n"));
            return Flow::Continue;
        }
        if flags.iter().any(|f| f.eq_ignore_ascii_case("\\Recent")) {
            return self.bad(io, tag, "\\Recent cannot be stored");
        }
        // Keywords are the client's to invent (RFC 9051 2.3.2): bounded
        // per message, as every FETCH FLAGS and every sync carries them.
        let wanted: std::collections::HashSet<String> =
            flags.iter().map(|f| f.to_ascii_lowercase()).collect();
        let too_many = match how.op {
            FlagOp::Remove => false,
            _ if wanted.len() > MAX_FLAGS => true,
            FlagOp::Replace => false,
            FlagOp::Add => idx.iter().any(|&i| {
                let have = &sel.msgs[i].flags;
                let known = have
                    .iter()
                    .filter(|h| wanted.contains(&h.to_ascii_lowercase()))
                    .count();
                have.len() + wanted.len() - known > MAX_FLAGS
            }),
        };
        if too_many {
            io.push_str(&format!("{tag} NO [LIMIT] too many flags on a message\r\n"));
            return Flow::Continue;
        }
        let uids: Vec<u32> = idx.iter().map(|&i| sel.msgs[i].uid).collect();
        let (changed, failed) = match self
            .store
            .store_flags(sel.mailbox.id, &uids, how.op, flags, how.unchanged_since)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "imap: store failed");
                io.push_str(&format!("{tag} NO [SERVERBUG] STORE failed\r\n"));
                return Flow::Continue;
            }
        };
        // RFC 3501 7.2.6: a new keyword is named before the FETCH that
        // shows it.
        if sel.keywords.learn(changed.iter().map(|(_, m)| m)) {
            io.push_str(&sel.keywords.lines(sel.read_only));
        }
        let changed: HashMap<u32, MessageMeta> = changed.into_iter().collect();
        let failed: std::collections::HashSet<u32> = failed.into_iter().collect();
        let mut modified = Vec::new();
        for &i in &idx {
            let m = &mut Arc::make_mut(&mut sel.msgs)[i];
            if failed.contains(&m.uid) {
                modified.push(if uid { m.uid } else { i as u32 + 1 });
                continue;
            }
            let was_changed = match changed.get(&m.uid) {
                Some(c) => {
                    m.flags = c.flags.clone();
                    m.modseq = c.modseq;
                    true
                }
                None => false,
            };
            // RFC 7162 3.1.3: with CONDSTORE, .SILENT still reports the new
            // MODSEQ of messages whose MODSEQ moved.
            let report = !how.silent || (sel.condstore && was_changed);
            if report {
                let u = if uid {
                    format!(" UID {}", m.uid)
                } else {
                    String::new()
                };
                let flags = if how.silent {
                    String::new()
                } else {
                    format!(" FLAGS {}", sel.recent.flags(m))
                };
                let modseq = if sel.condstore {
                    format!(" MODSEQ ({})", m.modseq)
                } else {
                    String::new()
                };
                let body = format!("{flags}{u}{modseq}");
                io.push_str(&format!("* {} FETCH ({})\r\n", i + 1, body.trim_start()));
            }
        }
        // RFC 3501 7.4.1: EXPUNGE may be sent during UID STORE, never
        // during STORE.
        self.sync(io, uid).await;
        if modified.is_empty() {
            io.push_str(&format!("{tag} OK STORE completed\r\n"));
        } else {
            // RFC 7162 3.1.3: what UNCHANGEDSINCE kept from changing.
            io.push_str(&format!(
                "{tag} OK [MODIFIED {}] conditional STORE failed for some messages\r\n",
                wire::sequence_set(&modified)
            ));
        }
        Flow::Continue
    }

    async fn copy<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        set: &SequenceSet,
        uid: bool,
        dest: &str,
        mv: bool,
    ) -> Flow {
        let Some(idx) = self.resolve(io, tag, set, uid) else {
            return Flow::Continue;
        };
        let Some(account) = self.account_id() else {
            return Flow::Continue;
        };
        let target = match self.store.mailbox_get(account, dest).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                io.push_str(&format!("{tag} NO [TRYCREATE] no such mailbox\r\n"));
                return Flow::Continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "imap: copy target lookup failed");
                io.push_str(&format!("{tag} NO [SERVERBUG] COPY failed\r\n"));
                return Flow::Continue;
            }
        };
        let Some(sel) = &self.selected else {
            return Flow::Continue;
        };
        if mv && sel.read_only {
            io.push_str(&format!("{tag} NO [READ-ONLY] mailbox is read-only\r\n"));
            return Flow::Continue;
        }
        let uids: Vec<u32> = idx.iter().map(|&i| sel.msgs[i].uid).collect();
        let id = sel.mailbox.id;
        let r = if mv {
            self.store.move_messages(id, &uids, target.id).await
        } else {
            self.store.copy_messages(id, &uids, target.id).await
        };
        let pairs = match r {
            Ok(p) => p,
            Err(tern_store::StoreError::OverQuota { .. }) => {
                io.push_str(&format!(
                    "{tag} NO [OVERQUOTA] mailbox is over its quota\r\n"
                ));
                return Flow::Continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "imap: copy failed");
                io.push_str(&format!("{tag} NO [SERVERBUG] COPY failed\r\n"));
                return Flow::Continue;
            }
        };
        // RFC 4315 3: COPYUID uidvalidity source-uids dest-uids.
        let code = if pairs.is_empty() {
            String::new()
        } else {
            let src: Vec<String> = pairs.iter().map(|p| p.0.to_string()).collect();
            let dst: Vec<String> = pairs.iter().map(|p| p.1.to_string()).collect();
            format!(
                "[COPYUID {} {} {}] ",
                target.uidvalidity,
                src.join(","),
                dst.join(",")
            )
        };
        if mv {
            // RFC 6851 4.3: COPYUID in an untagged OK before the expunges.
            if !code.is_empty() {
                io.push_str(&format!("* OK {code}moved\r\n"));
            }
            if let Some(sel) = &mut self.selected {
                sel.dirty = true;
            }
            self.sync(io, true).await;
            io.push_str(&format!("{tag} OK MOVE completed\r\n"));
        } else {
            self.sync(io, !uid).await;
            io.push_str(&format!("{tag} OK {code}COPY completed\r\n"));
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imap_codec::imap_types::sequence::SequenceSet;

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
