//! The authenticated state (RFC 9051 6.3): the dispatch of its commands
//! (and of the selected state's, which go on to `selected.rs`), and the
//! commands that manage mailboxes. SELECT/STATUS are in `select.rs`,
//! APPEND in `append.rs`, LIST in `list.rs`.

use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::core::Vec1;
use imap_codec::imap_types::extensions::enable::CapabilityEnable;
use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox as ImapMailbox};
use imap_codec::imap_types::status::StatusDataItemName;
use tern_store::StoreError;

use crate::append::{internal_date, message_bytes};
use crate::client_names::{decode_name, list_pattern, raw_pattern};
use crate::names;
use crate::protocol::io::{Io, Wire};
use crate::protocol::preparse::astring;
use crate::replies::store_no;
use crate::session::{Flow, Session};

/// The special uses CREATE can give (RFC 6154 2; `\All` and `\Flagged`
/// would be virtual mailboxes, which this server does not have).
const CREATABLE_USES: [&str; 5] = ["\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"];

impl Session {
    pub(crate) async fn authenticated_command<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        body: CommandBody<'_>,
    ) -> Flow {
        match body {
            CommandBody::Enable { capabilities } => self.enable(io, tag, &capabilities),
            CommandBody::Namespace => {
                io.push(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
                io.push_str(&format!("{tag} OK NAMESPACE completed\r\n"));
                Flow::Continue
            }
            CommandBody::Select {
                mailbox,
                parameters,
            } => match self.mailbox_name(io, tag, &mailbox) {
                Ok(n) => self.select(io, tag, account, &n, false, parameters).await,
                Err(flow) => flow,
            },
            CommandBody::Examine {
                mailbox,
                parameters,
            } => match self.mailbox_name(io, tag, &mailbox) {
                Ok(n) => self.select(io, tag, account, &n, true, parameters).await,
                Err(flow) => flow,
            },
            CommandBody::Create { mailbox } => {
                let n = match self.mailbox_name(io, tag, &mailbox) {
                    Ok(n) => n,
                    Err(flow) => return flow,
                };
                match self.create_use(io, tag) {
                    Ok(special_use) => self.create(io, tag, account, &n, special_use).await,
                    Err(flow) => flow,
                }
            }
            CommandBody::Delete { mailbox } => match self.mailbox_name(io, tag, &mailbox) {
                Ok(n) => {
                    match self.store.mailbox_delete(account, &n).await {
                        Ok(()) => io.push_str(&format!("{tag} OK DELETE completed\r\n")),
                        Err(e) => io.push_str(&format!("{tag} {}\r\n", store_no(&e))),
                    }
                    Flow::Continue
                }
                Err(flow) => flow,
            },
            CommandBody::Rename { from, to } => {
                let (f, t) = match (
                    self.mailbox_name(io, tag, &from),
                    self.mailbox_name(io, tag, &to),
                ) {
                    (Ok(f), Ok(t)) => (f, t),
                    (Err(flow), _) | (_, Err(flow)) => return flow,
                };
                self.rename(io, tag, account, &f, &t).await
            }
            CommandBody::Subscribe { mailbox } => match self.mailbox_name(io, tag, &mailbox) {
                Ok(n) => self.subscribe(io, tag, account, &n).await,
                Err(flow) => flow,
            },
            CommandBody::Unsubscribe { mailbox } => match self.mailbox_name(io, tag, &mailbox) {
                Ok(n) => {
                    match self.store.subscription_set(account, &n, false).await {
                        Ok(()) => io.push_str(&format!("{tag} OK UNSUBSCRIBE completed\r\n")),
                        Err(e) => io.push_str(&format!("{tag} {}\r\n", store_no(&e))),
                    }
                    Flow::Continue
                }
                Err(flow) => flow,
            },
            CommandBody::List {
                reference,
                mailbox_wildcard,
            } => {
                self.list_cmd(io, tag, account, &reference, &mailbox_wildcard)
                    .await
            }
            CommandBody::Lsub {
                reference,
                mailbox_wildcard,
            } => {
                let r = match self.mailbox_name(io, tag, &reference) {
                    Ok(r) => r,
                    Err(flow) => return flow,
                };
                let Some(p) = list_pattern(&mailbox_wildcard, self.utf8_names()) else {
                    return self.bad_name(io, tag, raw_pattern(&mailbox_wildcard));
                };
                self.list(io, tag, account, &r, &[p], true, &Default::default())
                    .await;
                Flow::Continue
            }
            CommandBody::GetQuotaRoot { mailbox } => {
                self.get_quota_root(io, tag, account, &mailbox).await
            }
            CommandBody::GetQuota { root } => self.get_quota(io, tag, account, &root).await,
            CommandBody::SetQuota { .. } => self.set_quota(io, tag),
            CommandBody::Status {
                mailbox,
                item_names,
            } => {
                let n = match self.mailbox_name(io, tag, &mailbox) {
                    Ok(n) => n,
                    Err(flow) => return flow,
                };
                if item_names.contains(&StatusDataItemName::HighestModSeq) {
                    self.condstore_used(io);
                }
                let items: &[StatusDataItemName] = if self.ext.status_placeholder {
                    &[]
                } else {
                    &item_names
                };
                self.status(io, tag, account, &n, items).await;
                Flow::Continue
            }
            CommandBody::Append {
                mailbox,
                flags,
                date,
                message,
            } => {
                let n = match self.mailbox_name(io, tag, &mailbox) {
                    Ok(n) => n,
                    Err(flow) => return flow,
                };
                // RFC 6855 4: the UTF8 form is for UTF8=ACCEPT sessions.
                if self.ext.append_utf8 && !self.enabled().utf8 {
                    return self.bad(io, tag, "UTF8 APPEND needs ENABLE UTF8=ACCEPT");
                }
                let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
                let (bytes, date) = (message_bytes(message), internal_date(date));
                self.append(io, tag, account, &n, bytes, flags, date).await;
                Flow::Continue
            }
            body => self.selected_command(io, tag, body).await,
        }
    }

    /// ENABLE (RFC 5161 3.1): ENABLED names what this command enabled;
    /// what is unknown or already on is left out.
    fn enable<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        capabilities: &Vec1<CapabilityEnable<'_>>,
    ) -> Flow {
        let mut line = String::from("* ENABLED");
        for c in capabilities.as_ref() {
            let c = c.to_string().to_ascii_uppercase();
            let was = self.enabled();
            let Some(login) = self.state.login_mut() else {
                break;
            };
            if c == "IMAP4REV2" && !was.rev2 {
                login.enabled.rev2 = true;
                line.push_str(" IMAP4rev2");
            } else if c == "CONDSTORE" && !was.condstore {
                self.condstore_used(io);
                line.push_str(" CONDSTORE");
            } else if c == "UTF8=ACCEPT" && !was.utf8 {
                login.enabled.utf8 = true;
                line.push_str(" UTF8=ACCEPT");
            } else if c == "QRESYNC" && !was.qresync {
                // RFC 7162 3.2.3: QRESYNC implies CONDSTORE.
                login.enabled.qresync = true;
                self.condstore_used(io);
                line.push_str(" QRESYNC");
            }
        }
        io.push_str(&format!("{line}\r\n{tag} OK ENABLE completed\r\n"));
        Flow::Continue
    }

    /// CREATE's `USE (…)` (RFC 6154 3): one creatable special use at most.
    fn create_use<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
    ) -> Result<Option<&'static str>, Flow> {
        let Some(uses) = self.ext.create_use.take() else {
            return Ok(None);
        };
        match uses.as_slice() {
            [] => Ok(None),
            [u] => match CREATABLE_USES.iter().find(|c| c.eq_ignore_ascii_case(u)) {
                Some(c) => Ok(Some(*c)),
                None => {
                    io.push_str(&format!("{tag} NO [USEATTR] special use not supported\r\n"));
                    Err(Flow::Continue)
                }
            },
            // RFC 6154 3: one special use per mailbox here.
            _ => {
                io.push_str(&format!(
                    "{tag} NO [USEATTR] one special use per mailbox\r\n"
                ));
                Err(Flow::Continue)
            }
        }
    }

    /// LIST (RFC 9051 6.3.9), with the LIST-EXTENDED patterns the
    /// pre-parser took off (RFC 5258 3).
    async fn list_cmd<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        reference: &ImapMailbox<'_>,
        wildcard: &ListMailbox<'_>,
    ) -> Flow {
        let r = match self.mailbox_name(io, tag, reference) {
            Ok(r) => r,
            Err(flow) => return flow,
        };
        let ext = self.ext.list.take().unwrap_or_default();
        let utf8 = self.utf8_names();
        let Some(p) = list_pattern(wildcard, utf8) else {
            return self.bad_name(io, tag, raw_pattern(wildcard));
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
        Flow::Continue
    }

    /// RENAME (RFC 9051 6.3.6): every name of the moved subtree is checked
    /// first; renaming INBOX moves its messages to a new mailbox.
    async fn rename<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        from: &str,
        to: &str,
    ) -> Flow {
        let all = match self.store.mailbox_list(account).await {
            Ok(all) => all,
            Err(e) => {
                io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                return Flow::Continue;
            }
        };
        let (f, t) = (names::canonical(from), names::canonical(to));
        let mut checked = names::check_rename(all.iter().map(|m| m.name.as_str()), &f, &t);
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
        Flow::Continue
    }
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
