//! What a message's index row says (`MessageMeta`) and the canonical
//! spelling of flags (RFC 9051 2.3.2): pure, no database.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    pub uid: u32,
    pub size: u64,
    /// Seconds since the epoch.
    pub internal_date: i64,
    /// The zone the INTERNALDATE was given in, minutes east of UTC.
    pub internal_zone: i32,
    /// System flags (`\Seen` …) and keywords, sorted.
    pub flags: Vec<String>,
    pub modseq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Add,
    Remove,
    Replace,
}

/// Canonical flag list: system flags in their RFC 9051 spelling, duplicates
/// (case-insensitive) removed, sorted.
pub fn normalize_flags(flags: &[String]) -> Vec<String> {
    const SYSTEM: [&str; 5] = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"];
    let mut out: Vec<String> = Vec::new();
    for f in flags {
        let f = SYSTEM
            .iter()
            .find(|s| s.eq_ignore_ascii_case(f))
            .map(|s| s.to_string())
            .unwrap_or_else(|| f.clone());
        if !f.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(&f)) {
            out.push(f);
        }
    }
    out.sort();
    out
}

pub(crate) fn join_flags(flags: &[String]) -> String {
    normalize_flags(flags).join(" ")
}

/// uid, size, internal_date, flags, modseq, internal_zone.
pub(super) type MetaRow = (i64, i64, i64, String, i64, i64);

pub(super) fn meta_of_row((uid, size, internal_date, flags, modseq, zone): MetaRow) -> MessageMeta {
    MessageMeta {
        uid: uid as u32,
        size: size as u64,
        internal_date,
        internal_zone: zone as i32,
        flags: split_flags(&flags),
        modseq: modseq as u64,
    }
}

pub(super) fn split_flags(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_canonical() {
        let f = normalize_flags(&[
            "\\seen".into(),
            "$Junk".into(),
            "\\SEEN".into(),
            "\\flagged".into(),
        ]);
        assert_eq!(f, vec!["$Junk", "\\Flagged", "\\Seen"]);
    }
}
