//! The selected state (RFC 9051 6.4): the session's view of its mailbox,
//! kept in step with the store, and the commands that change messages.

use std::collections::HashMap;
use std::sync::Arc;

use imap_codec::imap_types::command::{CommandBody, StoreModifier};
use imap_codec::imap_types::flag::{StoreResponse, StoreType};
use imap_codec::imap_types::sequence::SequenceSet;
use tern_store::{FlagOp, MessageMeta};

use crate::client_names::{name_of, raw_name};
use crate::protocol::io::Io;
use crate::protocol::io::Wire;
use crate::protocol::wire;
use crate::session::{Flow, Session};
use crate::view::MAX_FLAGS;

/// How STORE changes flags.
pub(crate) struct StoreHow {
    pub op: FlagOp,
    pub silent: bool,
    /// RFC 7162 3.1.3 UNCHANGEDSINCE.
    pub unchanged_since: Option<u64>,
}

impl Session {
    pub(crate) async fn selected_command<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        body: CommandBody<'_>,
    ) -> Flow {
        if self.state.selected().is_none() {
            return self.bad(io, tag, "no mailbox selected");
        }
        match body {
            CommandBody::Check => {
                self.sync(io, true).await;
                io.push_str(&format!("{tag} OK CHECK completed\r\n"));
            }
            CommandBody::Close => {
                if let Some(sel) = self.state.unselect()
                    && !sel.read_only
                    && let Err(e) = self.store.expunge_deleted(sel.mailbox.id, None).await
                {
                    tracing::warn!(error = %e, "imap: CLOSE expunge failed");
                }
                io.push_str(&format!("{tag} OK CLOSE completed\r\n"));
            }
            CommandBody::Unselect => {
                self.state.unselect();
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
        let r = self.state.selected().map(|s| s.resolve(set, uid));
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
                let sel = self.state.selected();
                Some(
                    idx.iter()
                        .filter_map(|&i| sel.map(|s| s.msgs[i].uid))
                        .collect(),
                )
            }
            None => None,
        };
        let Some(sel) = self.state.selected() else {
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
        if let Some(sel) = self.state.selected_mut() {
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
        let condstore = self.enabled().condstore;
        let Some(sel) = self.state.selected_mut() else {
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
        // Flagging or answering a message outside Junk says it is wanted:
        // ham for the spam filter (`spam.rs`).
        let marks = flags
            .iter()
            .any(|f| f.eq_ignore_ascii_case("\\Flagged") || f.eq_ignore_ascii_case("\\Answered"));
        let in_junk = sel
            .mailbox
            .special_use
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case("\\Junk"));
        if marks
            && !in_junk
            && how.op != FlagOp::Remove
            && let Some(t) = &self.opts.trainer
        {
            let uids: Vec<u32> = changed.iter().map(|(u, _)| *u).collect();
            t.learn(sel.mailbox.account_id, sel.mailbox.id, uids, false);
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
            let report = !how.silent || (condstore && was_changed);
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
                let modseq = if condstore {
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
        let Some(sel) = self.state.selected() else {
            return Flow::Continue;
        };
        if mv && sel.read_only {
            io.push_str(&format!("{tag} NO [READ-ONLY] mailbox is read-only\r\n"));
            return Flow::Continue;
        }
        let uids: Vec<u32> = idx.iter().map(|&i| sel.msgs[i].uid).collect();
        // Held messages whose From delivery proved (`screener.rs`).
        let verified: Vec<u32> = idx
            .iter()
            .map(|&i| &sel.msgs[i])
            .filter(|m| {
                m.flags
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(tern_store::FROM_VERIFIED))
            })
            .map(|m| m.uid)
            .collect();
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
        // Out of the Screener: a decision about each sender (`screener.rs`).
        let from_screener = self
            .state
            .selected()
            .is_some_and(|s| s.mailbox.name.eq_ignore_ascii_case("Screener"));
        if from_screener && !target.name.eq_ignore_ascii_case("Screener") {
            let dest: Vec<u32> = pairs
                .iter()
                .filter(|p| verified.contains(&p.0))
                .map(|p| p.1)
                .collect();
            crate::screener::decide_moved(&self.store, account, &target, &dest).await;
        }
        // Into one of the Snoozed mailboxes: back at its time; out of
        // them: not snoozed any more (`snooze.rs`).
        if let Some(source) = self.state.selected().map(|s| s.mailbox.clone()) {
            crate::snooze::after_copy(&self.store, account, &source, &target, &pairs, mv).await;
        }
        // Into Junk: spam; out of it: ham (`spam.rs`).
        if let Some(t) = &self.opts.trainer
            && let Some(spam) = crate::spam::lesson(
                self.state
                    .selected()
                    .and_then(|s| s.mailbox.special_use.as_deref()),
                target.special_use.as_deref(),
            )
        {
            t.learn(
                account,
                target.id,
                pairs.iter().map(|p| p.1).collect(),
                spam,
            );
        }
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
            if let Some(sel) = self.state.selected_mut() {
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
