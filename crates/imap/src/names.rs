//! The limits on mailbox names and on the number of mailboxes, checked by
//! CREATE and RENAME before anything is written (RFC 9051 6.3.4, 6.3.6),
//! so that a refused command leaves no mailbox behind.
//!
//! The rule: a name refused here is refused whole, with `NO [LIMIT]` for
//! a size and `NO [CANNOT]` for a character (RFC 5530 3).

/// The longest mailbox name, in bytes (the store refuses longer ones).
pub const MAX_NAME: usize = 512;

/// The longest level of a name (the part between two `/`), in bytes: what
/// most file systems allow for one file name.
pub const MAX_LEVEL: usize = 255;

/// The most levels a name may have (`a/b/c` has three).
pub const MAX_LEVELS: usize = 16;

/// The most mailboxes one account may have.
pub const MAX_MAILBOXES: usize = 10_000;

/// Why a name is refused: the reply's text after the tag.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Limit(&'static str),
    Cannot(&'static str),
}

impl Refusal {
    /// What is wrong, in words.
    pub fn why(&self) -> &'static str {
        match self {
            Refusal::Limit(why) | Refusal::Cannot(why) => why,
        }
    }

    pub fn reply(&self) -> String {
        match self {
            Refusal::Limit(why) => format!("NO [LIMIT] {why}"),
            Refusal::Cannot(why) => format!("NO [CANNOT] {why}"),
        }
    }
}

/// INBOX in any case is INBOX, as a name and as the first level of one
/// (RFC 9051 5.1), as the store spells it.
pub fn canonical(name: &str) -> String {
    if name.eq_ignore_ascii_case("INBOX") {
        return "INBOX".into();
    }
    match name.get(..6) {
        Some(head) if head.eq_ignore_ascii_case("INBOX/") => format!("INBOX/{}", &name[6..]),
        _ => name.to_string(),
    }
}

/// Checks a name a mailbox is about to get.
pub fn check(name: &str) -> Result<(), Refusal> {
    if name.len() > MAX_NAME {
        return Err(Refusal::Limit("mailbox name too long"));
    }
    let levels = name.split('/');
    if levels.clone().count() > MAX_LEVELS {
        return Err(Refusal::Limit("mailbox name has too many levels"));
    }
    if levels.clone().any(|l| l.len() > MAX_LEVEL) {
        return Err(Refusal::Limit("mailbox name level too long"));
    }
    if name.is_empty() || levels.clone().any(str::is_empty) {
        return Err(Refusal::Cannot("empty mailbox name level"));
    }
    if name.chars().any(|c| c.is_control() || invisible(c)) {
        return Err(Refusal::Cannot(
            "control or invisible character in mailbox name",
        ));
    }
    Ok(())
}

/// Unicode's default-ignorable code points (UCD
/// DerivedCoreProperties.txt, Default_Ignorable_Code_Point): characters
/// that display as nothing, so two names that differ only by them look
/// the same to the user.
fn invisible(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// The names CREATE of `name` adds to `existing` (its missing superiors,
/// then itself), or why it may not. `existing` is every name the account
/// has.
pub fn plan_create(
    existing: &std::collections::HashSet<&str>,
    name: &str,
) -> Result<Vec<String>, Refusal> {
    check(name)?;
    let levels: Vec<&str> = name.split('/').collect();
    // RFC 9051 6.3.4: the missing superiors are created too.
    let new: Vec<String> = (1..=levels.len())
        .map(|i| levels[..i].join("/"))
        .filter(|n| !existing.contains(n.as_str()))
        .collect();
    if existing.len() + new.len() > MAX_MAILBOXES {
        return Err(Refusal::Limit("too many mailboxes"));
    }
    Ok(new)
}

/// Checks RENAME of `from` to `to`: every name the subtree gets.
pub fn check_rename<'a>(
    existing: impl IntoIterator<Item = &'a str>,
    from: &str,
    to: &str,
) -> Result<(), Refusal> {
    check(to)?;
    let prefix = format!("{from}/");
    for n in existing {
        if let Some(rest) = n.strip_prefix(&prefix) {
            check(&format!("{to}/{rest}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_within_the_limits_pass() {
        assert_eq!(check("Archive/2024/März"), Ok(()));
        assert_eq!(check(&"a".repeat(MAX_LEVEL)), Ok(()));
        assert_eq!(check(&vec!["a"; MAX_LEVELS].join("/")), Ok(()));
    }

    #[test]
    fn names_past_the_limits_are_refused() {
        let cases = [
            // The 300-character name of the report.
            ("a".repeat(300), "NO [LIMIT]"),
            // 130 levels.
            (vec!["a"; 130].join("/"), "NO [LIMIT]"),
            (vec!["a"; MAX_LEVELS + 1].join("/"), "NO [LIMIT]"),
            ("x/".repeat(300) + "x", "NO [LIMIT]"),
            // A zero-width space looks like nothing.
            ("al\u{200b}ice".into(), "NO [CANNOT]"),
            // Right-to-left override reorders what the user sees.
            ("a\u{202e}b".into(), "NO [CANNOT]"),
            ("a\u{feff}".into(), "NO [CANNOT]"),
            ("a\tb".into(), "NO [CANNOT]"),
            ("a//b".into(), "NO [CANNOT]"),
            ("".into(), "NO [CANNOT]"),
        ];
        for (name, want) in cases {
            let got = check(&name).map_err(|r| r.reply());
            assert!(
                got.as_ref().is_err_and(|r| r.starts_with(want)),
                "{name:?}: {got:?}"
            );
        }
    }

    #[test]
    fn create_adds_the_missing_superiors_or_nothing() {
        let existing: HashSet<&str> = ["INBOX", "a"].into_iter().collect();
        assert_eq!(
            plan_create(&existing, "a/b/c"),
            Ok(vec!["a/b".to_string(), "a/b/c".to_string()])
        );
        let deep = vec!["a"; 130].join("/");
        assert!(plan_create(&existing, &deep).is_err());
    }

    #[test]
    fn the_mailbox_count_is_bounded() {
        let names: Vec<String> = (0..MAX_MAILBOXES - 1).map(|i| format!("m{i}")).collect();
        let existing: HashSet<&str> = names.iter().map(String::as_str).collect();
        assert!(plan_create(&existing, "one").is_ok());
        assert_eq!(
            plan_create(&existing, "two/levels"),
            Err(Refusal::Limit("too many mailboxes"))
        );
    }

    #[test]
    fn rename_checks_every_name_of_the_subtree() {
        let existing = ["a", "a/b", "a/b/c"];
        assert_eq!(check_rename(existing, "a", "z"), Ok(()));
        let deep = vec!["x"; MAX_LEVELS - 1].join("/");
        assert_eq!(
            check_rename(existing, "a", &deep),
            Err(Refusal::Limit("mailbox name has too many levels"))
        );
    }
}
