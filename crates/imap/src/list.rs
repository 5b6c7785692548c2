//! LIST and LSUB (RFC 9051 6.3.9) with the LIST-EXTENDED selection and
//! return options (RFC 5258), LIST-STATUS (RFC 5819) and SPECIAL-USE
//! (RFC 6154); mailbox names as the session speaks them.

use std::collections::{BTreeMap, BTreeSet};

use imap_codec::CommandCodec;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::status::StatusDataItemName;
use tern_store::Mailbox;

use crate::pattern::{MAX_PATTERN, Pattern, inbox_cased};
use crate::protocol::io::Io;
use crate::protocol::io::Wire;
use crate::protocol::preparse::{ListExt, strip_appendlimit};
use crate::replies::store_no;
use crate::session::Session;

/// STATUS items written by the client in `RETURN (STATUS (…))`, parsed by
/// imap-codec as the items of a STATUS command; and whether APPENDLIMIT
/// (which imap-codec does not know) was among them.
pub(crate) fn status_items(list: &[u8]) -> Option<(Vec<StatusDataItemName>, bool)> {
    let (list, appendlimit) = strip_appendlimit(list);
    if appendlimit && list == b"()" {
        return Some((Vec::new(), true));
    }
    let mut cmd = b"x STATUS INBOX ".to_vec();
    cmd.extend_from_slice(&list);
    cmd.extend_from_slice(b"\r\n");
    match CommandCodec::default().decode(&cmd) {
        Ok((&[], c)) => match c.body {
            CommandBody::Status { item_names, .. } => {
                Some((item_names.iter().cloned().collect(), appendlimit))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The names below `prefix` (`name/`), read from the sorted map's range
/// instead of scanning every name for every name.
fn descendants<'m, V>(
    names: &'m BTreeMap<String, V>,
    prefix: &'m str,
) -> impl Iterator<Item = (&'m String, &'m V)> {
    names
        .range::<str, _>((
            std::ops::Bound::Included(prefix),
            std::ops::Bound::Unbounded,
        ))
        .take_while(move |(k, _)| k.starts_with(prefix))
}

/// The superiors of a name, outermost first: `a`, `a/b` for `a/b/c`.
fn superiors(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices('/').map(move |(i, _)| &name[..i])
}

struct Entry<'a> {
    mailbox: Option<&'a Mailbox>,
    /// Subscribed descendants matched by RECURSIVEMATCH (CHILDINFO).
    childinfo: bool,
}

impl Session {
    /// LIST (or LSUB) of the names matching any of `patterns`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn list<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        reference: &str,
        patterns: &[String],
        lsub: bool,
        ext: &ListExt,
    ) {
        let verb = if lsub { "LSUB" } else { "LIST" };
        let status = match &ext.ret_status {
            Some(l) => match status_items(l) {
                Some(items) => Some(items),
                None => {
                    self.bad(io, tag, "invalid STATUS items");
                    return;
                }
            },
            None => None,
        };
        // Matching is linear in the pattern (`pattern.rs`); a pattern no
        // client writes is refused before any work.
        let size: usize = patterns.iter().map(|p| p.len() + reference.len()).sum();
        if size > MAX_PATTERN {
            io.push_str(&format!("{tag} NO [LIMIT] {verb} pattern too long\r\n"));
            return;
        }
        if patterns.len() == 1 && patterns[0].is_empty() && !lsub {
            // RFC 9051 6.3.9: the delimiter and root.
            io.push(b"* LIST (\\Noselect) \"/\" \"\"\r\n");
            io.push_str(&format!("{tag} OK LIST completed\r\n"));
            return;
        }
        let all = match self.store.mailbox_list(account).await {
            Ok(a) => a,
            Err(e) => {
                io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                return;
            }
        };
        let full: Vec<String> = patterns
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| {
                if reference.is_empty() || p.starts_with('/') {
                    p.clone()
                } else {
                    format!("{reference}/{p}")
                }
            })
            .collect();
        // Each pattern as written and with a leading INBOX in the case the
        // store spells it, for the names under INBOX (RFC 9051 5.1).
        let compiled: Vec<(Pattern, Pattern)> = full
            .iter()
            .map(|p| (Pattern::new(p), Pattern::new(&inbox_cased(p, "INBOX"))))
            .collect();
        let list_match = |name: &str| {
            compiled.iter().any(|(plain, inbox)| {
                if name.starts_with("INBOX") {
                    inbox.matches(name)
                } else {
                    plain.matches(name)
                }
            })
        };
        // Subscriptions are names, apart from the mailboxes (RFC 3501 6.3.6).
        let subs: BTreeSet<String> = if lsub || ext.subscribed || ext.ret_subscribed {
            match self.store.subscriptions(account).await {
                Ok(s) => s.into_iter().collect(),
                Err(e) => {
                    io.push_str(&format!("{tag} {}\r\n", store_no(&e)));
                    return;
                }
            }
        } else {
            BTreeSet::new()
        };
        // Every name, with the superiors that only exist as such.
        let mut names: BTreeMap<String, Option<&Mailbox>> = BTreeMap::new();
        for mb in &all {
            for s in superiors(&mb.name) {
                names.entry(s.to_string()).or_insert(None);
            }
            names.insert(mb.name.clone(), Some(mb));
        }
        // LSUB and LIST (SUBSCRIBED) also show subscribed names that exist
        // no more, and their superiors (RFC 5258 3.1: \NonExistent).
        let mut nonexistent: BTreeSet<String> = BTreeSet::new();
        if lsub || ext.subscribed {
            for s in &subs {
                for n in superiors(s).chain([s.as_str()]) {
                    if !names.contains_key(n) {
                        names.insert(n.to_string(), None);
                        nonexistent.insert(n.to_string());
                    }
                }
            }
        }
        let subscribed = |name: &str| subs.contains(name);
        let special = |m: Option<&Mailbox>| m.is_some_and(|m| m.special_use.is_some());
        let mut out: BTreeMap<&str, Entry<'_>> = BTreeMap::new();
        for (name, mb) in &names {
            if !list_match(name) {
                continue;
            }
            let mb = *mb;
            let selected_by_opts = (!(lsub || ext.subscribed) || subscribed(name))
                && (!ext.special_use || special(mb));
            if selected_by_opts {
                out.insert(
                    name,
                    Entry {
                        mailbox: mb,
                        childinfo: false,
                    },
                );
                continue;
            }
            // RFC 5258 3.5 (RECURSIVEMATCH) and RFC 3501 6.3.9 (LSUB with
            // `%`): a name whose descendants are selected.
            let prefix = format!("{name}/");
            let below = descendants(&names, &prefix).any(|(n, m)| {
                (!(lsub || ext.subscribed) || subscribed(n)) && (!ext.special_use || special(*m))
            });
            if below && ext.recursive {
                out.insert(
                    name,
                    Entry {
                        mailbox: mb,
                        childinfo: ext.subscribed,
                    },
                );
            } else if below && lsub && full.iter().any(|p| p.ends_with('%')) {
                out.insert(
                    name,
                    Entry {
                        mailbox: None,
                        childinfo: false,
                    },
                );
            }
        }
        for (name, e) in out {
            let prefix = format!("{name}/");
            let children = descendants(&names, &prefix).any(|(n, _)| !nonexistent.contains(n));
            let mut attrs: Vec<&str> = Vec::new();
            if !lsub && nonexistent.contains(name) {
                // RFC 5258 3: \NonExistent implies \Noselect.
                attrs.push("\\NonExistent");
            } else if e.mailbox.is_none() {
                attrs.push("\\Noselect");
            }
            // A name that does not exist has no children to tell of (as
            // Dovecot answers: `(\NonExistent \Subscribed)`).
            if !lsub && !nonexistent.contains(name) {
                attrs.push(if children {
                    "\\HasChildren"
                } else {
                    "\\HasNoChildren"
                });
            }
            if !lsub {
                if let Some(su) = e.mailbox.and_then(|m| m.special_use.as_deref()) {
                    attrs.push(su);
                }
                // RFC 5258 3.4: SUBSCRIBED selection implies the return option.
                if (ext.subscribed || ext.ret_subscribed) && subscribed(name) {
                    attrs.push("\\Subscribed");
                }
            }
            let mut line = format!("* {verb} ({}) \"/\" ", attrs.join(" ")).into_bytes();
            line.extend_from_slice(&self.name_out(name));
            if e.childinfo {
                line.extend_from_slice(b" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
            }
            line.extend_from_slice(b"\r\n");
            io.push(&line);
            // RFC 5819 2: STATUS right after the LIST of a selectable mailbox.
            if let (Some((items, appendlimit)), Some(mb)) = (&status, e.mailbox)
                && let Ok(l) = self.status_line(mb, items, *appendlimit).await
            {
                io.push(&l);
            }
        }
        io.push_str(&format!("{tag} OK {verb} completed\r\n"));
    }
}
