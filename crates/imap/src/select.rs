//! SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3), with CONDSTORE and QRESYNC
//! (RFC 7162 3.1.8, 3.2.5); STATUS (RFC 9051 6.3.11).

use imap_codec::imap_types::command::SelectParameter;
use imap_codec::imap_types::sequence::SequenceSet;
use imap_codec::imap_types::status::StatusDataItemName;
use tern_store::{Mailbox, MessageMeta};

use crate::enabled::Enabled;
use crate::keywords::Keywords;
use crate::protocol::io::{Io, Wire};
use crate::recent::Recent;
use crate::replies::store_no;
use crate::session::{Flow, Session};
use crate::view::Selected;

/// SELECT's QRESYNC parameter: (uidvalidity, mod-sequence, known UIDs).
type QresyncParam = (u32, u64, Option<SequenceSet>);

impl Session {
    pub(crate) async fn select<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        name: &str,
        read_only: bool,
        parameters: Vec<SelectParameter>,
    ) -> Flow {
        let qresync = match self.select_parameters(io, tag, parameters) {
            Ok(q) => q,
            Err(flow) => return flow,
        };
        let enabled = self.enabled();
        // RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected, and
        // (7.1, RFC 7162 3.2.11) the closing of the previous one is
        // announced with CLOSED.
        if self.state.unselect().is_some() && (enabled.rev2 || enabled.qresync) {
            io.push(b"* OK [CLOSED] previous mailbox closed\r\n");
        }
        let mb = match self.store.mailbox_get(account, name).await {
            Ok(Some(mb)) => mb,
            Ok(None) => {
                io.push_str(&format!("{tag} NO [NONEXISTENT] no such mailbox\r\n"));
                return Flow::Continue;
            }
            Err(e) => {
                io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                return Flow::Continue;
            }
        };
        // Events from before the snapshot are stale; drop them before it is
        // read, so that a change committed meanwhile is not lost.
        if let Some(rx) = self.state.login_mut().and_then(|l| l.events.as_mut()) {
            *rx = rx.resubscribe();
        }
        let msgs = match self.store.messages_shared(mb.id).await {
            Ok(m) => m,
            Err(e) => {
                io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                return Flow::Continue;
            }
        };
        let recent = match self.recent_of(&mb, read_only, enabled).await {
            Ok(r) => r,
            Err(e) => {
                io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                return Flow::Continue;
            }
        };
        // RFC 3501 7.2.6: FLAGS names the keywords in use too.
        let keywords = Keywords::of(&msgs);
        io.push_str(&keywords.lines(read_only));
        self.announce(io, &mb, &msgs, &recent, enabled);
        let code = if read_only { "READ-ONLY" } else { "READ-WRITE" };
        let verb = if read_only { "EXAMINE" } else { "SELECT" };
        let mut sel = Selected::new(mb, msgs, read_only);
        sel.keywords = keywords;
        sel.recent = recent;
        self.state.select(sel);
        if let Some((uidvalidity, since, known)) = qresync {
            self.qresync_select(io, uidvalidity, since, known.as_ref())
                .await;
        }
        io.push_str(&format!("{tag} OK [{code}] {verb} completed\r\n"));
        Flow::Continue
    }

    /// SELECT's parameters: CONDSTORE turns CONDSTORE on (RFC 7162
    /// 3.1.8); QRESYNC is only valid after ENABLE QRESYNC (3.2.5).
    fn select_parameters<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        parameters: Vec<SelectParameter>,
    ) -> Result<Option<QresyncParam>, Flow> {
        let mut qresync = None;
        for p in parameters {
            match p {
                SelectParameter::CondStore => self.use_condstore(),
                SelectParameter::QResync {
                    uid_validity,
                    mod_sequence_value,
                    known_uids,
                    ..
                } => {
                    if !self.enabled().qresync {
                        return Err(self.bad(io, tag, "QRESYNC is not enabled"));
                    }
                    qresync = Some((uid_validity.get(), mod_sequence_value.get(), known_uids));
                }
            }
        }
        Ok(qresync)
    }

    /// The messages \Recent in this session. RFC 3501 6.3.2: SELECT takes
    /// the recent messages, EXAMINE only looks at them; IMAP4rev2 has no
    /// \Recent (RFC 9051 E.1).
    async fn recent_of(
        &self,
        mb: &Mailbox,
        read_only: bool,
        enabled: Enabled,
    ) -> tern_store::Result<Recent> {
        let mut recent = Recent::default();
        if enabled.rev2 {
            return Ok(recent);
        }
        recent.claims = !read_only;
        if read_only {
            recent.add(mb.recent_uid..mb.uidnext);
        } else {
            recent.add(self.store.recent_claim(mb.id).await?);
        }
        Ok(recent)
    }

    /// The untagged answers of SELECT after FLAGS.
    fn announce<S: Wire>(
        &self,
        io: &mut Io<S>,
        mb: &Mailbox,
        msgs: &[MessageMeta],
        recent: &Recent,
        enabled: Enabled,
    ) {
        io.push_str(&format!("* {} EXISTS\r\n", msgs.len()));
        if enabled.rev2 {
            // RFC 9051 6.3.2: LIST instead of RECENT and UNSEEN.
            let mut l = b"* LIST () \"/\" ".to_vec();
            l.extend_from_slice(&self.name_out(&mb.name));
            l.extend_from_slice(b"\r\n");
            io.push(&l);
        } else {
            io.push_str(&format!("* {} RECENT\r\n", recent.count(msgs)));
            if let Some(i) = msgs
                .iter()
                .position(|m| !m.flags.iter().any(|f| f == "\\Seen"))
            {
                io.push_str(&format!("* OK [UNSEEN {}] first unseen\r\n", i + 1));
            }
        }
        io.push_str(&format!(
            "* OK [UIDVALIDITY {}] UIDs valid\r\n* OK [UIDNEXT {}] predicted next UID\r\n",
            mb.uidvalidity, mb.uidnext
        ));
        if enabled.condstore {
            // RFC 7162 3.1.2.1; a mod-sequence is at least 1.
            io.push_str(&format!(
                "* OK [HIGHESTMODSEQ {}] highest\r\n",
                mb.highestmodseq.max(1)
            ));
        }
    }

    pub(crate) async fn status<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        name: &str,
        items: &[StatusDataItemName],
    ) {
        let mb = match self.store.mailbox_get(account, name).await {
            Ok(Some(mb)) => mb,
            Ok(None) => {
                io.push_str(&format!("{tag} NO [NONEXISTENT] no such mailbox\r\n"));
                return;
            }
            Err(e) => {
                io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                return;
            }
        };
        let appendlimit = self.ext.status_appendlimit;
        match self.status_line(&mb, items, appendlimit).await {
            Ok(l) => io.push(&l),
            Err(e) => {
                io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                return;
            }
        }
        io.push_str(&format!("{tag} OK STATUS completed\r\n"));
    }

    /// `* STATUS name (items)` for one mailbox.
    pub(crate) async fn status_line(
        &self,
        mb: &tern_store::Mailbox,
        items: &[StatusDataItemName],
        appendlimit: bool,
    ) -> tern_store::Result<Vec<u8>> {
        let msgs = self.store.messages(mb.id).await?;
        let has = |m: &tern_store::MessageMeta, f: &str| m.flags.iter().any(|x| x == f);
        let mut out = Vec::new();
        for item in items {
            let v = match item {
                StatusDataItemName::Messages => format!("MESSAGES {}", msgs.len()),
                // RFC 3501 6.3.10: what no session has taken as recent.
                StatusDataItemName::Recent => format!(
                    "RECENT {}",
                    msgs.iter().filter(|m| m.uid >= mb.recent_uid).count()
                ),
                StatusDataItemName::UidNext => format!("UIDNEXT {}", mb.uidnext),
                StatusDataItemName::UidValidity => format!("UIDVALIDITY {}", mb.uidvalidity),
                StatusDataItemName::Unseen => format!(
                    "UNSEEN {}",
                    msgs.iter().filter(|m| !has(m, "\\Seen")).count()
                ),
                StatusDataItemName::Deleted => format!(
                    "DELETED {}",
                    msgs.iter().filter(|m| has(m, "\\Deleted")).count()
                ),
                // RFC 8438: the mailbox size in octets.
                StatusDataItemName::Size => {
                    format!("SIZE {}", msgs.iter().map(|m| m.size).sum::<u64>())
                }
                StatusDataItemName::HighestModSeq => format!("HIGHESTMODSEQ {}", mb.highestmodseq),
                // RFC 9208 4.4: what EXPUNGE would give back, in octets.
                StatusDataItemName::DeletedStorage => format!(
                    "DELETED-STORAGE {}",
                    msgs.iter()
                        .filter(|m| has(m, "\\Deleted"))
                        .map(|m| m.size)
                        .sum::<u64>()
                ),
            };
            out.push(v);
        }
        if appendlimit {
            // RFC 7889 4: the same limit for every mailbox.
            out.push(format!("APPENDLIMIT {}", self.opts.max_literal));
        }
        let mut line = b"* STATUS ".to_vec();
        line.extend_from_slice(&self.name_out(&mb.name));
        line.extend_from_slice(format!(" ({})\r\n", out.join(" ")).as_bytes());
        Ok(line)
    }
}
