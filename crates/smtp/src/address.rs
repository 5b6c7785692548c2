//! Envelope addresses and the relay rules. Only the domain after the last
//! `@` of a source-route-stripped path decides where mail goes; nothing in
//! a local part (`%`, `!`, a quoted `@`) ever routes mail anywhere.

use tern_common::Address;

/// An envelope recipient, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rcpt {
    /// A syntactically valid mailbox (canonical form).
    Mailbox(Address),
    /// The domain part is ours-or-not but the local part is not one we
    /// could ever deliver to (quoted, routing characters): `domain` decides
    /// between "no such user" and "no relaying".
    Undeliverable { domain: String },
    /// An address literal (`user@[192.0.2.1]`): never ours.
    Literal,
    /// Not an address at all.
    Invalid,
}

/// RFC 5321 4.1.1.3 / C: `@a,@b:user@d` → `user@d`. The route is ignored.
pub fn strip_source_route(path: &str) -> &str {
    if path.starts_with('@')
        && let Some(i) = path.find(':')
    {
        return &path[i + 1..];
    }
    path
}

/// Classify a recipient path as given in RCPT TO.
pub fn classify(path: &str) -> Rcpt {
    let p = strip_source_route(path.trim());
    let Some((local, domain)) = p.rsplit_once('@') else {
        return Rcpt::Invalid;
    };
    if domain.starts_with('[') {
        return Rcpt::Literal;
    }
    // A trailing dot is not a domain we host (and never one we relay to).
    if domain.is_empty() || domain.ends_with('.') || local.is_empty() {
        return Rcpt::Invalid;
    }
    let routing = local.contains(['%', '!', '@', '"', '\\']);
    if routing {
        return match tern_common::normalize_domain(domain) {
            Ok(d) => Rcpt::Undeliverable { domain: d },
            Err(_) => Rcpt::Invalid,
        };
    }
    match Address::parse(p) {
        Ok(a) => Rcpt::Mailbox(a),
        Err(_) => match tern_common::normalize_domain(domain) {
            Ok(d) => Rcpt::Undeliverable { domain: d },
            Err(_) => Rcpt::Invalid,
        },
    }
}

/// The reverse path: empty for the null sender, else a plausible address
/// (kept as the client wrote it, apart from the source route).
pub fn sender(path: &str) -> Option<String> {
    let p = strip_source_route(path.trim());
    if p.is_empty() {
        return Some(String::new());
    }
    match p.rsplit_once('@') {
        Some((l, d)) if !l.is_empty() && !d.is_empty() && !p.contains(char::is_whitespace) => {
            Some(p.to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_routes_are_stripped() {
        assert_eq!(
            strip_source_route("@relay.example,@b.example:user@example.org"),
            "user@example.org"
        );
        assert_eq!(strip_source_route("user@example.org"), "user@example.org");
    }

    #[test]
    fn routing_local_parts_never_route() {
        assert_eq!(
            classify("user%evil.example@example.org"),
            Rcpt::Undeliverable {
                domain: "example.org".into()
            }
        );
        assert_eq!(
            classify("evil.example!user@example.org"),
            Rcpt::Undeliverable {
                domain: "example.org".into()
            }
        );
        assert_eq!(
            classify("\"user@evil.example\"@example.org"),
            Rcpt::Undeliverable {
                domain: "example.org".into()
            }
        );
        assert_eq!(classify("user@[127.0.0.1]"), Rcpt::Literal);
        assert_eq!(classify("user@example.org."), Rcpt::Invalid);
        assert_eq!(classify("evil.example!user"), Rcpt::Invalid);
        assert!(
            matches!(classify("User@Example.ORG"), Rcpt::Mailbox(a) if a.to_string() == "user@example.org")
        );
    }

    #[test]
    fn senders() {
        assert_eq!(sender("").unwrap(), "");
        assert_eq!(sender("a@b.example").unwrap(), "a@b.example");
        assert!(sender("nobody").is_none());
    }
}
