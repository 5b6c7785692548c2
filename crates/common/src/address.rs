//! Mail addresses and domain names in one canonical form.
//!
//! Domains are stored as lower-case A-labels (IDNA, UTS #46), without a
//! trailing dot. Local parts are compared case-insensitively (tern treats
//! `Alice@` and `alice@` as one mailbox, as every mainstream server does) and
//! stored lower-cased; UTF-8 local parts (RFC 6531) are kept as UTF-8.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use unicode_security::GeneralSecurityProfile;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("empty domain")]
    EmptyDomain,
    #[error("invalid domain `{0}`")]
    InvalidDomain(String),
    #[error("`{0}` is not an address of the form local@domain")]
    NotAnAddress(String),
    #[error("invalid local part in `{0}`")]
    InvalidLocalPart(String),
    #[error("`{0}`: {1}")]
    RefusedLocalPart(String, &'static str),
}

/// Canonical form of a domain: IDNA to ASCII, lower case, no trailing dot.
pub fn normalize_domain(input: &str) -> Result<String, AddressError> {
    let d = input.trim();
    if d.is_empty() {
        return Err(AddressError::EmptyDomain);
    }
    if d.ends_with('.') || d.starts_with('.') || d.contains("..") {
        return Err(AddressError::InvalidDomain(d.to_string()));
    }
    // UTS #46 would silently drop invisible characters (`example\u{200b}.org`
    // is `example.org` to it): a name that hides characters is refused
    // instead, as in local parts.
    if d.chars()
        .any(|c| c.is_control() || c.is_whitespace() || invisible(c))
    {
        return Err(AddressError::InvalidDomain(d.to_string()));
    }
    let ascii = idna::domain_to_ascii(d).map_err(|_| AddressError::InvalidDomain(d.to_string()))?;
    if ascii.is_empty() || ascii.len() > 253 {
        return Err(AddressError::InvalidDomain(d.to_string()));
    }
    for label in ascii.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(AddressError::InvalidDomain(d.to_string()));
        }
    }
    Ok(ascii)
}

/// A mailbox address `local@domain` in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    local: String,
    domain: String,
}

impl Address {
    /// Parse `local@domain`. The local part must be a dot-atom (RFC 5322
    /// 3.4.1), possibly UTF-8 (RFC 6531); quoted local parts are refused for
    /// accounts and aliases, which keeps every stored address unambiguous.
    ///
    /// The local part is put in Unicode NFC (RFC 6532 3.1 points at RFC
    /// 5198's normalised form) before it is compared or stored, so one
    /// mailbox has one spelling; invisible characters (controls, white
    /// space, default-ignorable code points such as U+200B) are refused.
    pub fn parse(input: &str) -> Result<Address, AddressError> {
        let s = input.trim();
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or_else(|| AddressError::NotAnAddress(s.to_string()))?;
        let local: String = local.nfc().collect();
        if local.is_empty() || local.len() > 64 {
            return Err(AddressError::InvalidLocalPart(s.to_string()));
        }
        if !is_dot_atom(&local) {
            return Err(AddressError::InvalidLocalPart(s.to_string()));
        }
        let domain = normalize_domain(domain)?;
        Ok(Address {
            local: local.to_lowercase(),
            domain,
        })
    }

    /// The stricter rule for an address tern creates (account, extra
    /// address, alias): besides `parse`, no `/` or `\` (a local part is
    /// never a path, and other systems treat these specially), and every
    /// non-ASCII character must be allowed in identifiers by UTS #39 3.1
    /// (General Security Profile), which refuses compatibility forms such
    /// as full-width letters, obsolete scripts and symbols.
    pub fn check_new(&self) -> Result<(), AddressError> {
        let refused = |why| Err(AddressError::RefusedLocalPart(self.to_string(), why));
        if self.local.contains(['/', '\\']) {
            return refused("a local part may not contain / or \\");
        }
        if !self
            .local
            .chars()
            .all(|c| c.is_ascii() || GeneralSecurityProfile::identifier_allowed(c))
        {
            return refused("the local part has a character not allowed in names (UTS #39)");
        }
        Ok(())
    }

    /// Whether the local part is written in one script (UTS #39 5.1;
    /// `Common` characters such as digits and dots go with any): `аlice`,
    /// a Cyrillic а before Latin letters, is not — the shape of a spoof.
    pub fn single_script_local(&self) -> bool {
        use unicode_security::MixedScript;
        self.local.as_str().is_single_script()
    }

    /// The UTS #39 4 skeleton of the local part: two local parts that look
    /// alike (Cyrillic а and Latin a, `rn` and `m`) have the same skeleton.
    pub fn local_skeleton(&self) -> String {
        unicode_security::skeleton(&self.local)
            .collect::<String>()
            .to_lowercase()
    }

    pub fn from_parts(local: &str, domain: &str) -> Result<Address, AddressError> {
        Address::parse(&format!("{local}@{domain}"))
    }

    pub fn local(&self) -> &str {
        &self.local
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The local part without a `+tag` (plus-addressing), if it has one.
    pub fn without_tag(&self) -> Option<Address> {
        let (base, _) = self.local.split_once('+')?;
        if base.is_empty() {
            return None;
        }
        Some(Address {
            local: base.to_string(),
            domain: self.domain.clone(),
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// The one form of a login name that every throttle, lock and limit is
/// keyed on: the canonical address when the name is one (trimmed, NFC,
/// lower-cased local part, IDNA A-label domain — so ` alice@ｅｘａｍｐｌｅ.test`
/// and `Alice@example.test` are one name), else the trimmed, NFKC,
/// lower-cased string cut to 320 bytes (RFC 5321 4.5.3.1 bounds an
/// address's parts; a longer name is no account, and the key stays small).
pub fn login_key(user: &str) -> String {
    if let Ok(a) = Address::parse(user) {
        return a.to_string();
    }
    // NFKC folds full-width and other compatibility forms (`ａ＠ｂ.ｃｏ` is
    // `a@b.co`), which may make an address of it after all.
    let folded: String = user.nfkc().collect::<String>().to_lowercase();
    let folded: String = folded.nfkc().collect();
    if let Ok(a) = Address::parse(&folded) {
        return a.to_string();
    }
    let mut key = folded.trim().to_string();
    if key.len() > 320 {
        let mut end = 320;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key.truncate(end);
        key.truncate(key.trim_end().len());
    }
    key
}

/// RFC 5322 3.2.3 atext, extended to UTF-8 by RFC 6532 3.2. Characters a
/// reader cannot see are not atext here: controls, white space and the
/// default-ignorable code points (`invisible`).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control() && !c.is_whitespace() && !invisible(c))
}

/// Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt) and
/// the bidirectional controls: characters that render as nothing, so two
/// addresses that differ only by them look identical.
pub fn invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5
        | 0x180B..=0x180F | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F
        | 0x3164 | 0xFE00..=0xFE0F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

fn is_dot_atom(s: &str) -> bool {
    !s.starts_with('.')
        && !s.ends_with('.')
        && !s.contains("..")
        && s.chars().all(|c| c == '.' || is_atext(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_canonical() {
        assert_eq!(normalize_domain("Example.ORG").unwrap(), "example.org");
        assert_eq!(
            normalize_domain("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert!(normalize_domain("example.org.").is_err());
        assert!(normalize_domain("ex ample.org").is_err());
        assert!(normalize_domain("-x.org").is_err());
        assert!(normalize_domain("").is_err());
        assert!(normalize_domain("exa\u{200b}mple.org").is_err());
        assert!(normalize_domain("example.org\u{ad}").is_err());
    }

    #[test]
    fn addresses_are_case_insensitive() {
        let a = Address::parse("Alice@Example.Org").unwrap();
        assert_eq!(a.to_string(), "alice@example.org");
        assert_eq!(
            Address::parse("alice@bücher.example").unwrap().domain(),
            "xn--bcher-kva.example"
        );
        assert!(Address::parse("alice").is_err());
        assert!(Address::parse("a..b@example.org").is_err());
        assert!(Address::parse("\"a@b\"@example.org").is_err());
        assert_eq!(Address::parse("ünï@example.org").unwrap().local(), "ünï");
    }

    #[test]
    fn invisible_characters_are_not_part_of_an_address() {
        // Zero-width space, soft hyphen, BOM, a bidi override, NBSP.
        for bad in [
            "al\u{200b}ice",
            "al\u{ad}ice",
            "\u{feff}alice",
            "al\u{202e}ice",
            "al\u{a0}ice",
        ] {
            assert!(
                Address::parse(&format!("{bad}@example.org")).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn local_parts_are_nfc() {
        // "é" as e + combining acute is the same mailbox as the precomposed é.
        let a = Address::parse("re\u{301}mi@example.org").unwrap();
        assert_eq!(a, Address::parse("r\u{e9}mi@example.org").unwrap());
    }

    #[test]
    fn new_addresses_are_never_paths_or_odd_characters() {
        for bad in ["a/b", "/elsewhere/evil", "a//b", "a\\b", "ｆｕｌｌ"] {
            let ok = Address::parse(&format!("{bad}@example.org")).map(|a| a.check_new());
            assert!(!matches!(ok, Ok(Ok(()))), "{bad:?} accepted");
        }
        for good in ["alice", "first.last", "bob+tag", "ünï", "пётр", "李"] {
            let a = Address::parse(&format!("{good}@example.org")).unwrap();
            assert!(a.check_new().is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn look_alikes_share_a_skeleton() {
        let skel = |s: &str| Address::parse(s).unwrap().local_skeleton();
        // Cyrillic а (U+0430) for Latin a.
        assert_eq!(skel("\u{430}lice@example.org"), skel("alice@example.org"));
        assert_eq!(skel("rnary@example.org"), skel("mary@example.org"));
        assert_ne!(skel("alice@example.org"), skel("alicia@example.org"));
    }

    #[test]
    fn every_spelling_of_a_login_is_one_key() {
        let k = login_key("alice@example.test");
        assert_eq!(login_key(" alice@example.test"), k);
        assert_eq!(login_key("ALICE@Example.Test\t"), k);
        assert_eq!(
            login_key("alice@\u{ff45}\u{ff58}\u{ff41}\u{ff4d}\u{ff50}\u{ff4c}\u{ff45}.test"),
            k
        );
        // Not an address: still trimmed, NFKC and lower case, and bounded.
        assert_eq!(login_key(" ＢＯＢ "), "bob");
        assert!(login_key(&"x".repeat(100_000)).len() <= 320);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// A key is its own key: normalising twice changes nothing, so a
        /// name normalised at one door matches the same name at another.
        #[test]
        fn login_keys_are_idempotent(s in "\\PC{0,40}") {
            let k = login_key(&s);
            proptest::prop_assert_eq!(login_key(&k), k.clone());
            proptest::prop_assert!(k.len() <= 320);
        }

        /// A parsed address prints to a string that parses to itself.
        #[test]
        fn addresses_round_trip(local in "[a-zA-Z0-9.+_-]{1,20}|\\PL{1,10}", domain in "[a-z]{1,10}\\.[a-z]{2,5}") {
            if let Ok(a) = Address::parse(&format!("{local}@{domain}")) {
                let again = Address::parse(&a.to_string()).expect("reparse");
                proptest::prop_assert_eq!(again, a);
            }
        }

        /// No address fit to create contains a path separator or an
        /// invisible character, whatever was typed.
        #[test]
        fn new_addresses_hold_no_separator(local in "\\PC{1,30}") {
            if let Ok(a) = Address::parse(&format!("{local}@example.org")) && a.check_new().is_ok() {
                proptest::prop_assert!(!a.local().contains(['/', '\\']));
                proptest::prop_assert!(!a.local().chars().any(|c| invisible(c) || c.is_control() || c.is_whitespace()));
            }
        }
    }

    #[test]
    fn plus_tag() {
        let a = Address::parse("bob+lists@example.org").unwrap();
        assert_eq!(a.without_tag().unwrap().to_string(), "bob@example.org");
        assert!(
            Address::parse("+x@example.org")
                .unwrap()
                .without_tag()
                .is_none()
        );
    }
}
