//! The authenticated state (RFC 9051 6.3): mailbox commands, and the
//! dispatch of the selected state's.

use imap_codec::imap_types::command::{CommandBody, SelectParameter};
use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox as ImapMailbox};
use imap_codec::imap_types::status::StatusDataItemName;
use tern_store::{MailboxSel, NewMessage, StoreError};

use crate::io::Io;
use crate::keywords::Keywords;
use crate::mime;
use crate::mutf7;
use crate::names;
use crate::preparse::astring;
use crate::recent::Recent;
use crate::selected::Selected;
use crate::session::{Flow, Session, Wire};
use crate::summary::Summary;
use crate::wire;

/// A mailbox name from the client: UTF-8 under IMAP4rev2 and UTF8=ACCEPT
/// (RFC 9051 5.1, RFC 6855 3), modified UTF-7 otherwise (RFC 3501 5.1.3).
pub(crate) fn name_of(m: &ImapMailbox<'_>, utf8: bool) -> Option<String> {
    match m {
        ImapMailbox::Inbox => Some("INBOX".into()),
        ImapMailbox::Other(o) => {
            let s = decode_name(o.as_ref(), utf8)?;
            Some(s.trim_end_matches('/').to_string())
        }
    }
}

fn decode_name(b: &[u8], utf8: bool) -> Option<String> {
    let s = std::str::from_utf8(b).ok()?;
    if utf8 {
        Some(s.to_string())
    } else {
        mutf7::decode(s)
    }
}

/// The bytes of a mailbox name as the client sent it.
pub(crate) fn raw_name<'a>(m: &'a ImapMailbox<'_>) -> &'a [u8] {
    match m {
        ImapMailbox::Inbox => b"INBOX",
        ImapMailbox::Other(o) => o.as_ref(),
    }
}

fn raw_pattern<'a>(m: &'a ListMailbox<'_>) -> &'a [u8] {
    match m {
        ListMailbox::Token(t) => t.as_ref(),
        ListMailbox::String(s) => s.as_ref(),
    }
}

fn list_pattern(m: &ListMailbox<'_>, utf8: bool) -> Option<String> {
    decode_name(raw_pattern(m), utf8)
}

/// The special uses CREATE can give (RFC 6154 2; `\All` and `\Flagged`
/// would be virtual mailboxes, which this server does not have).
const CREATABLE_USES: [&str; 5] = ["\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"];

pub(crate) fn store_no(e: &StoreError) -> String {
    match e {
        StoreError::NotFound(_) => "NO [NONEXISTENT] no such mailbox".into(),
        StoreError::Duplicate(_) => "NO [ALREADYEXISTS] mailbox already exists".into(),
        StoreError::Invalid(m) => format!("NO [CANNOT] {m}"),
        StoreError::OverQuota { .. } => "NO [OVERQUOTA] mailbox is over its quota".into(),
        e => {
            tracing::warn!(error = %e, "imap: store error");
            "NO [SERVERBUG] internal error; try again later".into()
        }
    }
}

impl Session {
    pub(crate) async fn authenticated<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        body: CommandBody<'_>,
    ) -> Flow {
        macro_rules! name {
            ($m:expr) => {
                match name_of(&$m, self.utf8_names()) {
                    Some(n) => n,
                    None => return self.bad_name(io, tag, raw_name(&$m)),
                }
            };
        }
        match body {
            CommandBody::Enable { capabilities } => {
                // RFC 5161 3.1: ENABLED names what this command enabled;
                // what is unknown or already on is left out.
                let mut line = String::from("* ENABLED");
                for c in capabilities.as_ref() {
                    let c = c.to_string().to_ascii_uppercase();
                    if c == "IMAP4REV2" && !self.rev2 {
                        self.rev2 = true;
                        line.push_str(" IMAP4rev2");
                    } else if c == "CONDSTORE" && !self.condstore {
                        self.condstore_used(io);
                        line.push_str(" CONDSTORE");
                    } else if c == "UTF8=ACCEPT" && !self.utf8 {
                        self.utf8 = true;
                        line.push_str(" UTF8=ACCEPT");
                    } else if c == "QRESYNC" && !self.qresync {
                        // RFC 7162 3.2.3: QRESYNC implies CONDSTORE.
                        self.qresync = true;
                        self.condstore_used(io);
                        if let Some(sel) = &mut self.selected {
                            sel.qresync = true;
                        }
                        line.push_str(" QRESYNC");
                    }
                }
                io.push_str(&format!("{line}\r\n{tag} OK ENABLE completed\r\n"));
            }
            CommandBody::Namespace => {
                io.push(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
                io.push_str(&format!("{tag} OK NAMESPACE completed\r\n"));
            }
            CommandBody::Select {
                mailbox,
                parameters,
            } => {
                let n = name!(mailbox);
                return self.select(io, tag, account, &n, false, parameters).await;
            }
            CommandBody::Examine {
                mailbox,
                parameters,
            } => {
                let n = name!(mailbox);
                return self.select(io, tag, account, &n, true, parameters).await;
            }
            CommandBody::Create { mailbox } => {
                let n = name!(mailbox);
                let special_use = match self.ext.create_use.take() {
                    None => None,
                    Some(uses) => match uses.as_slice() {
                        [] => None,
                        [u] => match CREATABLE_USES.iter().find(|c| c.eq_ignore_ascii_case(u)) {
                            Some(c) => Some(*c),
                            None => {
                                io.push_str(&format!(
                                    "{tag} NO [USEATTR] special use not supported\r\n"
                                ));
                                return Flow::Continue;
                            }
                        },
                        // RFC 6154 3: one special use per mailbox here.
                        _ => {
                            io.push_str(&format!(
                                "{tag} NO [USEATTR] one special use per mailbox\r\n"
                            ));
                            return Flow::Continue;
                        }
                    },
                };
                return self.create(io, tag, account, &n, special_use).await;
            }
            CommandBody::Delete { mailbox } => {
                let n = name!(mailbox);
                match self.store.mailbox_delete(account, &n).await {
                    Ok(()) => io.push_str(&format!("{tag} OK DELETE completed\r\n")),
                    Err(e) => io.push_str(&format!("{tag} {}\r\n", store_no(&e))),
                }
            }
            CommandBody::Rename { from, to } => {
                let (f, t) = (name!(from), name!(to));
                let all = match self.store.mailbox_list(account).await {
                    Ok(all) => all,
                    Err(e) => {
                        io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                        return Flow::Continue;
                    }
                };
                let (f, t) = (names::canonical(&f), names::canonical(&t));
                let mut checked = names::check_rename(all.iter().map(|m| m.name.as_str()), &f, &t);
                // Renaming INBOX moves its messages to a new mailbox.
                if checked.is_ok() && f == "INBOX" && all.len() >= names::MAX_MAILBOXES {
                    checked = Err(names::Refusal::Limit("too many mailboxes"));
                }
                if let Err(r) = checked {
                    io.push_str(&format!("{tag} {}\r\n", r.reply()));
                    return Flow::Continue;
                }
                match self.store.mailbox_rename(account, &f, &t).await {
                    Ok(()) => io.push_str(&format!("{tag} OK RENAME completed\r\n")),
                    Err(e) => io.push_str(&format!("{tag} {}\r\n", store_no(&e))),
                }
            }
            CommandBody::Subscribe { mailbox } => {
                let n = name!(mailbox);
                return self.subscribe(io, tag, account, &n).await;
            }
            CommandBody::Unsubscribe { mailbox } => {
                let n = name!(mailbox);
                match self.store.subscription_set(account, &n, false).await {
                    Ok(()) => io.push_str(&format!("{tag} OK UNSUBSCRIBE completed\r\n")),
                    Err(e) => io.push_str(&format!("{tag} {}\r\n", store_no(&e))),
                }
            }
            CommandBody::List {
                reference,
                mailbox_wildcard,
            } => {
                let r = name!(reference);
                let ext = self.ext.list.take().unwrap_or_default();
                let utf8 = self.utf8_names();
                let Some(p) = list_pattern(&mailbox_wildcard, utf8) else {
                    return self.bad_name(io, tag, raw_pattern(&mailbox_wildcard));
                };
                let mut patterns = vec![p];
                for raw in &ext.patterns {
                    match astring(raw) {
                        Some(b) => match decode_name(&b, utf8) {
                            Some(p) => patterns.push(p),
                            None => return self.bad_name(io, tag, &b),
                        },
                        None => return self.bad(io, tag, "invalid pattern"),
                    }
                }
                self.list(io, tag, account, &r, &patterns, false, &ext)
                    .await;
            }
            CommandBody::Lsub {
                reference,
                mailbox_wildcard,
            } => {
                let r = name!(reference);
                let Some(p) = list_pattern(&mailbox_wildcard, self.utf8_names()) else {
                    return self.bad_name(io, tag, raw_pattern(&mailbox_wildcard));
                };
                self.list(io, tag, account, &r, &[p], true, &Default::default())
                    .await;
            }
            CommandBody::GetQuotaRoot { mailbox } => {
                return self.get_quota_root(io, tag, account, &mailbox).await;
            }
            CommandBody::GetQuota { root } => {
                return self.get_quota(io, tag, account, &root).await;
            }
            CommandBody::SetQuota { .. } => return self.set_quota(io, tag),
            CommandBody::Status {
                mailbox,
                item_names,
            } => {
                let n = name!(mailbox);
                if item_names.contains(&StatusDataItemName::HighestModSeq) {
                    self.condstore_used(io);
                }
                let items: &[StatusDataItemName] = if self.ext.status_placeholder {
                    &[]
                } else {
                    &item_names
                };
                self.status(io, tag, account, &n, items).await;
            }
            CommandBody::Append {
                mailbox,
                flags,
                date,
                message,
            } => {
                let n = name!(mailbox);
                // RFC 6855 4: the UTF8 form is for UTF8=ACCEPT sessions.
                if self.ext.append_utf8 && !self.utf8 {
                    return self.bad(io, tag, "UTF8 APPEND needs ENABLE UTF8=ACCEPT");
                }
                let bytes = match message {
                    imap_codec::imap_types::extensions::binary::LiteralOrLiteral8::Literal(l) => {
                        l.data().to_vec()
                    }
                    imap_codec::imap_types::extensions::binary::LiteralOrLiteral8::Literal8(l) => {
                        l.data.to_vec()
                    }
                };
                let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
                // The date-time's own zone is kept: FETCH INTERNALDATE shows
                // it and BEFORE/ON/SINCE compare in it (RFC 3501 6.4.4).
                let date = date
                    .map(|d| {
                        let d = d.as_ref();
                        (d.timestamp(), d.offset().local_minus_utc() / 60)
                    })
                    .unwrap_or_else(|| (tern_common::time::now_secs() as i64, 0));
                self.append(io, tag, account, &n, bytes, flags, date).await;
            }
            body => return self.selected_command(io, tag, body).await,
        }
        Flow::Continue
    }

    async fn select<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        name: &str,
        read_only: bool,
        parameters: Vec<SelectParameter>,
    ) -> Flow {
        let mut qresync = None;
        for p in parameters {
            match p {
                // RFC 7162 3.1.8: SELECT (CONDSTORE) enables CONDSTORE.
                SelectParameter::CondStore => self.use_condstore(),
                SelectParameter::QResync {
                    uid_validity,
                    mod_sequence_value,
                    known_uids,
                    ..
                } => {
                    // RFC 7162 3.2.5: only after ENABLE QRESYNC.
                    if !self.qresync {
                        return self.bad(io, tag, "QRESYNC is not enabled");
                    }
                    qresync = Some((uid_validity.get(), mod_sequence_value.get(), known_uids));
                }
            }
        }
        // RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected, and
        // (7.1, RFC 7162 3.2.11) the closing of the previous one is
        // announced with CLOSED.
        if self.selected.take().is_some() && (self.rev2 || self.qresync) {
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
        if let Some(rx) = &mut self.events {
            *rx = rx.resubscribe();
        }
        let msgs = match self.store.messages_shared(mb.id).await {
            Ok(m) => m,
            Err(e) => {
                io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                return Flow::Continue;
            }
        };
        let mut recent = Recent::default();
        if !self.rev2 {
            // RFC 3501 6.3.2: SELECT takes the recent messages, EXAMINE
            // only looks at them.
            recent.claims = !read_only;
            if read_only {
                recent.add(mb.recent_uid..mb.uidnext);
            } else {
                match self.store.recent_claim(mb.id).await {
                    Ok(r) => recent.add(r),
                    Err(e) => {
                        io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                        return Flow::Continue;
                    }
                }
            }
        }
        // RFC 3501 7.2.6: FLAGS names the keywords in use too.
        let keywords = Keywords::of(&msgs);
        io.push_str(&keywords.lines(read_only));
        io.push_str(&format!("* {} EXISTS\r\n", msgs.len()));
        if self.rev2 {
            // RFC 9051 6.3.2: LIST instead of RECENT and UNSEEN.
            let mut l = b"* LIST () \"/\" ".to_vec();
            l.extend_from_slice(&self.name_out(&mb.name));
            l.extend_from_slice(b"\r\n");
            io.push(&l);
        } else {
            io.push_str(&format!("* {} RECENT\r\n", recent.count(&msgs)));
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
        if self.condstore {
            // RFC 7162 3.1.2.1; a mod-sequence is at least 1.
            io.push_str(&format!(
                "* OK [HIGHESTMODSEQ {}] highest\r\n",
                mb.highestmodseq.max(1)
            ));
        }
        let code = if read_only { "READ-ONLY" } else { "READ-WRITE" };
        let verb = if read_only { "EXAMINE" } else { "SELECT" };
        let mut sel = Selected::new(mb, msgs, read_only);
        sel.keywords = keywords;
        sel.recent = recent;
        sel.condstore = self.condstore;
        sel.qresync = self.qresync;
        self.selected = Some(sel);
        if let Some((uidvalidity, since, known)) = qresync {
            self.qresync_select(io, uidvalidity, since, known.as_ref())
                .await;
        }
        io.push_str(&format!("{tag} OK [{code}] {verb} completed\r\n"));
        Flow::Continue
    }

    async fn status<S: Wire>(
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

    /// Mailbox names are UTF-8 under IMAP4rev2 and UTF8=ACCEPT.
    pub(crate) fn utf8_names(&self) -> bool {
        self.rev2 || self.utf8
    }

    /// A mailbox name as this session writes it.
    pub(crate) fn name_out(&self, name: &str) -> Vec<u8> {
        let mut out = Vec::new();
        if self.utf8_names() {
            wire::utf8_string(&mut out, name.as_bytes());
        } else {
            wire::string(&mut out, mutf7::encode(name).as_bytes());
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    async fn append<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        name: &str,
        bytes: Vec<u8>,
        flags: Vec<String>,
        (date, zone): (i64, i32),
    ) {
        if flags.len() > crate::selected::MAX_FLAGS {
            io.push_str(&format!("{tag} NO [LIMIT] too many flags on a message\r\n"));
            return;
        }
        let mb = match self.store.mailbox_get(account, name).await {
            Ok(Some(mb)) => mb,
            Ok(None) => {
                // RFC 9051 6.3.12: TRYCREATE tells the client to CREATE first.
                io.push_str(&format!("{tag} NO [TRYCREATE] no such mailbox\r\n"));
                return;
            }
            Err(e) => {
                io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                return;
            }
        };
        // The summary now, from the bytes in hand, rather than at the first
        // FETCH — a mailbox being migrated in is read right after.
        let summary = std::sync::Arc::new(Summary::of(mime::parse(&bytes).as_ref()));
        let msg = NewMessage {
            account_id: account,
            mailbox: MailboxSel::Id(mb.id),
            bytes,
            flags,
            internal_date: date,
            internal_zone: zone,
            summary: summary.worth_keeping().then(|| summary.encode()),
        };
        match self.store.deliver(vec![msg]).await {
            Ok(d) => {
                if let Some(d) = d.first()
                    && summary.worth_keeping()
                {
                    self.opts.summaries.keep(mb.id, d.uid, &summary);
                }
                self.sync(io, true).await;
                // RFC 4315 3: APPENDUID.
                match d.first() {
                    Some(d) => io.push_str(&format!(
                        "{tag} OK [APPENDUID {} {}] APPEND completed\r\n",
                        d.uidvalidity, d.uid
                    )),
                    None => io.push_str(&format!("{tag} OK APPEND completed\r\n")),
                }
            }
            Err(e) => io.push_str(&format!("{tag} {}\r\n", store_no(&e))),
        }
    }
}

impl Session {
    /// SUBSCRIBE (RFC 3501 6.3.6): any valid name, existing or not (a
    /// subscription outlives its mailbox), at most `names::MAX_MAILBOXES`.
    async fn subscribe<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        name: &str,
    ) -> Flow {
        let subs = match self.store.subscriptions(account).await {
            Ok(s) => s,
            Err(e) => {
                io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                return Flow::Continue;
            }
        };
        if subs.len() >= names::MAX_MAILBOXES && !subs.iter().any(|s| s == name) {
            io.push_str(&format!("{tag} NO [LIMIT] too many subscriptions\r\n"));
            return Flow::Continue;
        }
        match self.store.subscription_set(account, name, true).await {
            Ok(()) => io.push_str(&format!("{tag} OK SUBSCRIBE completed\r\n")),
            Err(e) => io.push_str(&format!("{tag} {}\r\n", store_no(&e))),
        }
        Flow::Continue
    }

    /// CREATE (RFC 9051 6.3.4): the name and the account's mailbox count
    /// are checked first, then the missing superiors and the mailbox are
    /// created; a refused name creates nothing.
    async fn create<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        name: &str,
        special_use: Option<&str>,
    ) -> Flow {
        let name = names::canonical(name);
        let all = match self.store.mailbox_list(account).await {
            Ok(all) => all,
            Err(e) => {
                io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                return Flow::Continue;
            }
        };
        let existing: std::collections::HashSet<&str> =
            all.iter().map(|m| m.name.as_str()).collect();
        if existing.contains(name.as_str()) {
            io.push_str(&format!(
                "{tag} NO [ALREADYEXISTS] mailbox already exists\r\n"
            ));
            return Flow::Continue;
        }
        let new = match names::plan_create(&existing, &name) {
            Ok(new) => new,
            Err(r) => {
                io.push_str(&format!("{tag} {}\r\n", r.reply()));
                return Flow::Continue;
            }
        };
        for parent in new.iter().filter(|n| **n != name) {
            if let Err(e) = self.store.mailbox_create(account, parent, None).await
                && !matches!(e, StoreError::Duplicate(_))
            {
                io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                return Flow::Continue;
            }
        }
        match self.store.mailbox_create(account, &name, special_use).await {
            Ok(_) => io.push_str(&format!("{tag} OK CREATE completed\r\n")),
            Err(e) => io.push_str(&format!("{tag} {}\r\n", store_no(&e))),
        }
        Flow::Continue
    }
}
