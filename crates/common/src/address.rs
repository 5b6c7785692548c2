//! Mail addresses and domain names in one canonical form.
//!
//! Domains are stored as lower-case A-labels (IDNA, UTS #46), without a
//! trailing dot. Local parts are compared case-insensitively (tern treats
//! `Alice@` and `alice@` as one mailbox, as every mainstream server does) and
//! stored lower-cased; UTF-8 local parts (RFC 6531) are kept as UTF-8.

use std::fmt;

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
    pub fn parse(input: &str) -> Result<Address, AddressError> {
        let s = input.trim();
        let (local, domain) = s
            .rsplit_once('@')
            .ok_or_else(|| AddressError::NotAnAddress(s.to_string()))?;
        if local.is_empty() || local.len() > 64 {
            return Err(AddressError::InvalidLocalPart(s.to_string()));
        }
        if !is_dot_atom(local) {
            return Err(AddressError::InvalidLocalPart(s.to_string()));
        }
        let domain = normalize_domain(domain)?;
        Ok(Address {
            local: local.to_lowercase(),
            domain,
        })
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

/// RFC 5322 3.2.3 atext, extended to UTF-8 by RFC 6532 3.2.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "!#$%&'*+-/=?^_`{|}~".contains(c)
        || (!c.is_ascii() && !c.is_control())
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
