//! SORT and THREAD (RFC 5256): what each message contributes (sent date,
//! base subject, first addresses, message ids), the sort order, and the
//! ORDEREDSUBJECT threading algorithm (REFERENCES is in `references.rs`).
//! Pure functions over [`Info`]; the session supplies the messages and
//! writes the replies.

use std::cmp::Ordering;

use mail_parser::{Address, HeaderValue, Message};

/// The references of a message that REFERENCES links, the last ones (the
/// nearest ancestors). A References field can list thousands.
pub const MAX_REFERENCES: usize = 256;

/// What SORT and THREAD need of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    /// Message sequence number or UID: whatever the reply lists.
    pub id: u32,
    /// INTERNALDATE, seconds since the epoch.
    pub arrival: i64,
    /// The Date header in UTC; the INTERNALDATE when absent or invalid
    /// (RFC 5256 2.2).
    pub sent: i64,
    pub size: u64,
    /// The base subject (RFC 5256 2.1), upper-cased for comparison.
    pub subject: String,
    /// Whether the subject was a reply or forward (`Re:`, `Fwd:`, …).
    pub is_reply: bool,
    /// addr-mailbox of the first From, To and Cc address, upper-cased.
    pub from: String,
    pub to: String,
    pub cc: String,
    pub message_id: Option<String>,
    /// References, or else the first In-Reply-To id (RFC 5256 3 step 1).
    pub references: Vec<String>,
}

impl Info {
    pub fn of(id: u32, arrival: i64, size: u64, msg: &Message<'_>) -> Info {
        let (subject, is_reply) = base_subject(msg.subject().unwrap_or(""));
        let sent = msg
            .date()
            .filter(|d| d.is_valid())
            .map_or(arrival, |d| d.to_timestamp());
        let mut references = ids(msg.references());
        if references.is_empty() {
            references = ids(msg.in_reply_to()).into_iter().take(1).collect();
        }
        // Only the last ones are linked; a References field can list
        // thousands, kept in every summary.
        let skip = references.len().saturating_sub(MAX_REFERENCES);
        references.drain(..skip);
        Info {
            id,
            arrival,
            sent,
            size,
            subject,
            is_reply,
            from: first_mailbox(msg.from()),
            to: first_mailbox(msg.to()),
            cc: first_mailbox(msg.cc()),
            message_id: msg.message_id().map(str::to_string),
            references,
        }
    }
}

fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// RFC 5256 3: the addr-mailbox (local part) of the first address,
/// compared with i;ascii-casemap. The first address is the first one
/// ENVELOPE shows (`mime::envelope`): for a group, its start marker,
/// whose addr-mailbox is the group's name (RFC 3501 7.4.2), so `Cc:
/// user2: blah@domain1.org;` sorts as `USER2`, as Dovecot does (RFC
/// 5256 leaves groups unsaid).
fn first_mailbox(a: Option<&Address<'_>>) -> String {
    let email = match a {
        Some(Address::Group(groups)) => groups.iter().find_map(|g| match &g.name {
            Some(name) => Some(name.as_ref()),
            None => g.addresses.iter().find_map(|a| a.address.as_deref()),
        }),
        Some(a) => a.first().map(|a| a.address.as_deref().unwrap_or("")),
        None => None,
    };
    let email = email.unwrap_or("");
    let local = email.rsplit_once('@').map_or(email, |(l, _)| l);
    local.to_ascii_uppercase()
}

/// The base subject (RFC 5256 2.1) and whether the original was a reply
/// or forward.
pub fn base_subject(subject: &str) -> (String, bool) {
    // Step 1: every run of white space becomes one space.
    let mut s = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut is_reply = false;
    loop {
        // Step 2: subj-trailer, "(fwd)" and white space at the end.
        loop {
            let t = s.trim_end();
            if t.len() >= 5 && t[t.len() - 5..].eq_ignore_ascii_case("(fwd)") {
                s = t[..t.len() - 5].to_string();
                is_reply = true;
            } else {
                s = t.to_string();
                break;
            }
        }
        // Steps 3 and 4: subj-leader and subj-blob, until nothing changes.
        loop {
            let before = s.len();
            let (rest, reply) = strip_leader(&s);
            is_reply |= reply;
            s = rest.to_string();
            if let Some(rest) = strip_blob(&s)
                && !rest.is_empty()
            {
                s = rest.to_string();
            }
            if s.len() == before {
                break;
            }
        }
        // Step 5: "[fwd:" subject "]" is the subject forwarded.
        let lower = s.to_ascii_lowercase();
        if lower.starts_with("[fwd:") && s.ends_with(']') {
            s = s[5..s.len() - 1].trim().to_string();
            is_reply = true;
            continue;
        }
        break;
    }
    (s.to_uppercase(), is_reply)
}

/// subj-blob = "[" *BLOBCHAR "]" *WSP, BLOBCHAR excluding "[" and "]".
fn strip_blob(s: &str) -> Option<&str> {
    let rest = s.strip_prefix('[')?;
    let end = rest.find(']')?;
    if rest[..end].contains('[') {
        return None;
    }
    Some(rest[end + 1..].trim_start())
}

/// subj-leader = (*subj-blob subj-refwd) / WSP, where
/// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
fn strip_leader(s: &str) -> (&str, bool) {
    let trimmed = s.trim_start();
    if trimmed.len() != s.len() {
        return (trimmed, false);
    }
    let mut t = s;
    while let Some(rest) = strip_blob(t) {
        t = rest;
    }
    let lower = t.to_ascii_lowercase();
    let word = ["fwd", "fw", "re"]
        .into_iter()
        .find(|w| lower.starts_with(w));
    let Some(word) = word else {
        return (s, false);
    };
    let mut r = t[word.len()..].trim_start();
    if let Some(after) = strip_blob(r) {
        r = after;
    }
    match r.strip_prefix(':') {
        Some(after) => (after, true),
        None => (s, false),
    }
}

/// A SORT criterion (RFC 5256 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Arrival,
    Cc,
    Date,
    From,
    Size,
    Subject,
    To,
}

/// The messages in the order of `keys`, each with its REVERSE flag; ties
/// by the message number (RFC 5256 3: "the order of the messages in the
/// mailbox").
pub fn sort(messages: &mut [Info], keys: &[(Key, bool)]) {
    messages.sort_by(|a, b| {
        for (key, reverse) in keys {
            let o = compare(a, b, *key);
            let o = if *reverse { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.id.cmp(&b.id)
    });
}

fn compare(a: &Info, b: &Info, key: Key) -> Ordering {
    match key {
        Key::Arrival => a.arrival.cmp(&b.arrival),
        Key::Cc => a.cc.cmp(&b.cc),
        Key::Date => a.sent.cmp(&b.sent),
        Key::From => a.from.cmp(&b.from),
        Key::Size => a.size.cmp(&b.size),
        Key::Subject => a.subject.cmp(&b.subject),
        Key::To => a.to.cmp(&b.to),
    }
}

/// A thread: a message (`None` for a placeholder of a message not in the
/// mailbox, kept only where it joins several threads) and its replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub id: Option<u32>,
    pub children: Vec<Thread>,
}

/// The THREAD reply data, e.g. `(2)(3 6 (4 23)(44 7 96))` (RFC 5256 4).
pub fn render(threads: &[Thread]) -> String {
    let mut out = String::new();
    for t in threads {
        out.push('(');
        write_chain(&mut out, t);
        out.push(')');
    }
    out
}

fn write_chain(out: &mut String, t: &Thread) {
    let mut node = t;
    let mut first = true;
    loop {
        if let Some(id) = node.id {
            if !first {
                out.push(' ');
            }
            out.push_str(&id.to_string());
            first = false;
        }
        match node.children.as_slice() {
            [] => return,
            [only] if node.id.is_some() => node = only,
            children => {
                if !first {
                    out.push(' ');
                }
                for c in children {
                    out.push('(');
                    write_chain(out, c);
                    out.push(')');
                }
                return;
            }
        }
    }
}

/// THREAD=ORDEREDSUBJECT (RFC 5256 4): messages grouped by base subject,
/// in sent-date order; the first of each group is the root and every
/// other one its child; threads ordered by their root's sent date.
pub fn ordered_subject(messages: &[Info]) -> Vec<Thread> {
    let mut sorted: Vec<&Info> = messages.iter().collect();
    sorted.sort_by(|a, b| {
        a.subject
            .cmp(&b.subject)
            .then(a.sent.cmp(&b.sent))
            .then(a.id.cmp(&b.id))
    });
    let mut threads: Vec<(i64, u32, Thread)> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let root = sorted[i];
        let mut j = i + 1;
        let mut children = Vec::new();
        while j < sorted.len() && sorted[j].subject == root.subject {
            children.push(Thread {
                id: Some(sorted[j].id),
                children: Vec::new(),
            });
            j += 1;
        }
        threads.push((
            root.sent,
            root.id,
            Thread {
                id: Some(root.id),
                children,
            },
        ));
        i = j;
    }
    threads.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    threads.into_iter().map(|(_, _, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u32, sent: i64, subject: &str, mid: &str, refs: &[&str]) -> Info {
        let (subject, is_reply) = base_subject(subject);
        Info {
            id,
            arrival: sent,
            sent,
            subject,
            is_reply,
            message_id: (!mid.is_empty()).then(|| mid.to_string()),
            references: refs.iter().map(|r| r.to_string()).collect(),
            ..Info::default()
        }
    }

    fn threads(msgs: &[Info], f: fn(&[Info]) -> Vec<Thread>) -> String {
        render(&f(msgs))
    }

    #[test]
    fn info_of_a_message() {
        let raw = b"From: \"Ann\" <ann@example.org>\r\nTo: bob@example.net, carl@example.net\r\n\
Subject: Re: [team] Plans\r\nDate: Tue, 1 Jul 2025 10:00:00 +0200\r\n\
Message-ID: <m2@example.org>\r\nIn-Reply-To: <m1@example.org>\r\n\r\nbody\r\n";
        let msg = crate::mime::parse(raw).unwrap();
        let i = Info::of(7, 99, 123, &msg);
        assert_eq!((i.id, i.arrival, i.size), (7, 99, 123));
        assert_eq!(i.sent, 1_751_356_800);
        assert_eq!((i.subject.as_str(), i.is_reply), ("PLANS", true));
        assert_eq!(
            (i.from.as_str(), i.to.as_str(), i.cc.as_str()),
            ("ANN", "BOB", "")
        );
        assert_eq!(i.message_id.as_deref(), Some("m2@example.org"));
        assert_eq!(i.references, ["m1@example.org"]);
        // No Date: the INTERNALDATE stands in.
        let msg = crate::mime::parse(b"Subject: x\r\n\r\n").unwrap();
        assert_eq!(Info::of(1, 42, 0, &msg).sent, 42);
    }

    #[test]
    fn base_subjects() {
        for (s, want, reply) in [
            ("Hello", "HELLO", false),
            ("Re: Hello", "HELLO", true),
            ("RE:  re: Hello", "HELLO", true),
            ("Fwd: Hello", "HELLO", true),
            ("fw: Hello", "HELLO", true),
            ("Re[2]: Hello", "HELLO", true),
            ("[list] Re: Hello", "HELLO", true),
            ("[list] Hello", "HELLO", false),
            ("Hello (fwd)", "HELLO", true),
            ("[Fwd: Re: Hello]", "HELLO", true),
            ("  Hello   world  ", "HELLO WORLD", false),
            ("[only a blob]", "[ONLY A BLOB]", false),
            ("Reply to this", "REPLY TO THIS", false),
            ("", "", false),
        ] {
            assert_eq!(base_subject(s), (want.to_string(), reply), "{s:?}");
        }
    }

    #[test]
    fn sort_keys_and_reverse() {
        let mut m = vec![
            Info {
                id: 1,
                size: 30,
                from: "B".into(),
                sent: 5,
                ..Info::default()
            },
            Info {
                id: 2,
                size: 10,
                from: "A".into(),
                sent: 5,
                ..Info::default()
            },
            Info {
                id: 3,
                size: 20,
                from: "B".into(),
                sent: 1,
                ..Info::default()
            },
        ];
        sort(&mut m, &[(Key::Size, false)]);
        assert_eq!(m.iter().map(|i| i.id).collect::<Vec<_>>(), [2, 3, 1]);
        sort(&mut m, &[(Key::From, false), (Key::Date, true)]);
        assert_eq!(m.iter().map(|i| i.id).collect::<Vec<_>>(), [2, 1, 3]);
        // Ties fall back to the message number.
        sort(&mut m, &[(Key::Date, false)]);
        assert_eq!(m.iter().map(|i| i.id).collect::<Vec<_>>(), [3, 1, 2]);
    }

    #[test]
    fn ordered_subject_threads() {
        let m = [
            info(1, 10, "Apples", "", &[]),
            info(2, 20, "Re: Apples", "", &[]),
            info(3, 5, "Bananas", "", &[]),
            info(4, 30, "Re: apples", "", &[]),
        ];
        assert_eq!(threads(&m, ordered_subject), "(3)(1 (2)(4))");
    }
}
