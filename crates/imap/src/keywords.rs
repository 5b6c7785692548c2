//! The keywords a selected mailbox's FLAGS and PERMANENTFLAGS name (RFC
//! 3501 7.2.6, 7.1): every keyword its messages carry. When a STORE or an
//! APPEND (of this session or another) adds one not yet named, the
//! session sends both again, so that a client never sees a keyword its
//! FLAGS did not define.
//!
//! The rule: the set is learnt from the messages that changed, never by
//! walking the whole mailbox on each command (only SELECT does that), and
//! it is bounded by [`MAX_NAMED`].

use std::collections::BTreeMap;

use tern_store::MessageMeta;

/// The most keywords FLAGS names. Keywords are the client's to invent
/// (256 per message, `selected::MAX_FLAGS`), so a mailbox can hold
/// millions; tern departs from RFC 3501 7.2.6 past this many and names
/// only the first, as a FLAGS line of every keyword would be megabytes.
pub const MAX_NAMED: usize = 1000;

const SYSTEM: &str = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

/// The keywords named so far, by their lower-case form (keywords compare
/// case-insensitively, RFC 3501 2.3.2), each in its first spelling.
#[derive(Debug, Default, Clone)]
pub struct Keywords(BTreeMap<String, String>);

impl Keywords {
    /// The keywords of every message (at SELECT).
    pub fn of(msgs: &[MessageMeta]) -> Keywords {
        let mut k = Keywords::default();
        k.learn(msgs.iter());
        k
    }

    /// Takes in the keywords of `msgs`; true when one was not named yet.
    pub fn learn<'a>(&mut self, msgs: impl Iterator<Item = &'a MessageMeta>) -> bool {
        let mut new = false;
        for f in msgs.flat_map(|m| m.flags.iter()) {
            if f.starts_with('\\') || self.0.len() >= MAX_NAMED {
                continue;
            }
            if let std::collections::btree_map::Entry::Vacant(e) =
                self.0.entry(f.to_ascii_lowercase())
            {
                e.insert(f.clone());
                new = true;
            }
        }
        new
    }

    /// The untagged FLAGS and PERMANENTFLAGS lines (RFC 3501 7.2.6, 7.1):
    /// the system flags and every keyword named; `\*` when new keywords
    /// may be stored.
    pub fn lines(&self, read_only: bool) -> String {
        let mut flags = String::from(SYSTEM);
        for k in self.0.values() {
            flags.push(' ');
            flags.push_str(k);
        }
        let permanent = if read_only {
            "* OK [PERMANENTFLAGS ()] read-only\r\n".to_string()
        } else {
            format!("* OK [PERMANENTFLAGS ({flags} \\*)] flags permitted\r\n")
        };
        format!("* FLAGS ({flags})\r\n{permanent}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(flags: &[&str]) -> MessageMeta {
        MessageMeta {
            uid: 1,
            size: 1,
            internal_date: 0,
            internal_zone: 0,
            flags: flags.iter().map(|f| f.to_string()).collect(),
            modseq: 1,
        }
    }

    #[test]
    fn keywords_are_named_once_in_any_case() {
        let mut k = Keywords::of(&[meta(&["\\Seen", "Work"])]);
        assert!(!k.learn([meta(&["work"]), meta(&["\\Flagged"])].iter()));
        assert!(k.learn([meta(&["NIL"])].iter()));
        assert_eq!(
            k.lines(false),
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft NIL Work)\r\n\
             * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft NIL Work \\*)] flags permitted\r\n"
        );
        assert!(
            k.lines(true)
                .ends_with("* OK [PERMANENTFLAGS ()] read-only\r\n")
        );
    }

    #[test]
    fn the_keywords_named_are_bounded() {
        let many: Vec<MessageMeta> = (0..MAX_NAMED + 10)
            .map(|i| meta(&[&format!("k{i}")]))
            .collect();
        let k = Keywords::of(&many);
        assert_eq!(k.0.len(), MAX_NAMED);
    }
}
