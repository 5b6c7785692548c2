//! Where a request points. Every URL tern serves under `/dav` is built
//! from an account name and collection and member names, each one path
//! segment percent-encoded (RFC 3986 2.1): `@`, `+`, spaces and non-ASCII
//! characters never reach an href as they are, and a `/` in a name cannot
//! split it.
//!
//! ```text
//! /dav/                                 the root
//! /dav/principals/<user>/               a principal (RFC 3744 5.1)
//! /dav/calendars/<user>/                a calendar home (RFC 4791 6.2.1)
//! /dav/calendars/<user>/<cal>/          a calendar
//! /dav/calendars/<user>/<cal>/<name>    an event, todo or journal
//! /dav/addressbooks/<user>/…            the same for CardDAV (RFC 6352)
//! ```

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use tern_store::DavKind;

/// Where DAV is mounted.
pub const ROOT: &str = "/dav/";

/// Left as they are in a segment: RFC 3986 unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Root,
    Principal(String),
    Home(DavKind, String),
    Collection(DavKind, String, String),
    Resource(DavKind, String, String, String),
}

fn kind_segment(kind: DavKind) -> &'static str {
    match kind {
        DavKind::Calendar => "calendars",
        DavKind::AddressBook => "addressbooks",
    }
}

/// One segment, encoded.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

fn decode(s: &str) -> Option<String> {
    let d = percent_decode_str(s).decode_utf8().ok()?.into_owned();
    (!d.is_empty() && !d.contains('/')).then_some(d)
}

impl Target {
    /// The target of a request path (or of an href a client sent: a full
    /// URL is reduced to its path). `None`: nothing tern serves.
    pub fn parse(path: &str) -> Option<Target> {
        let path = match path.find("://") {
            Some(i) => {
                let rest = &path[i + 3..];
                &rest[rest.find('/')?..]
            }
            None => path,
        };
        let path = path.split(['?', '#']).next().unwrap_or("");
        let rest = path.strip_prefix("/dav")?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let kind = |s: &str| match s {
            "calendars" => Some(DavKind::Calendar),
            "addressbooks" => Some(DavKind::AddressBook),
            _ => None,
        };
        Some(match segs.as_slice() {
            [] => Target::Root,
            ["principals", user] => Target::Principal(decode(user)?),
            [k, user] => Target::Home(kind(k)?, decode(user)?),
            [k, user, coll] => Target::Collection(kind(k)?, decode(user)?, decode(coll)?),
            [k, user, coll, name] => {
                Target::Resource(kind(k)?, decode(user)?, decode(coll)?, decode(name)?)
            }
            _ => return None,
        })
    }

    /// The account the target belongs to.
    pub fn user(&self) -> Option<&str> {
        match self {
            Target::Root => None,
            Target::Principal(u)
            | Target::Home(_, u)
            | Target::Collection(_, u, _)
            | Target::Resource(_, u, _, _) => Some(u),
        }
    }

    #[cfg(test)]
    pub fn href(&self) -> String {
        match self {
            Target::Root => ROOT.to_string(),
            Target::Principal(u) => principal(u),
            Target::Home(k, u) => home(*k, u),
            Target::Collection(k, u, c) => collection(*k, u, c),
            Target::Resource(k, u, c, n) => resource(*k, u, c, n),
        }
    }
}

pub fn principal(user: &str) -> String {
    format!("{ROOT}principals/{}/", encode(user))
}

pub fn home(kind: DavKind, user: &str) -> String {
    format!("{ROOT}{}/{}/", kind_segment(kind), encode(user))
}

pub fn collection(kind: DavKind, user: &str, coll: &str) -> String {
    format!("{}{}/", home(kind, user), encode(coll))
}

pub fn resource(kind: DavKind, user: &str, coll: &str, name: &str) -> String {
    format!("{}{}", collection(kind, user, coll), encode(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_hrefs() {
        let user = "jo+dav@exämple.org";
        let t = Target::Resource(
            DavKind::Calendar,
            user.into(),
            "Work stuff".into(),
            "ev 1@x.ics".into(),
        );
        let href = t.href();
        assert_eq!(
            href,
            "/dav/calendars/jo%2Bdav%40ex%C3%A4mple.org/Work%20stuff/ev%201%40x.ics"
        );
        assert_eq!(Target::parse(&href), Some(t.clone()));
        assert_eq!(
            Target::parse(&format!("https://mail.example.org:8443{href}")),
            Some(t)
        );
        assert_eq!(Target::parse("/dav"), Some(Target::Root));
        assert_eq!(
            Target::parse("/dav/principals/a%40b.example/"),
            Some(Target::Principal("a@b.example".into()))
        );
        // A `/` hidden in a segment does not make another level.
        assert_eq!(Target::parse("/dav/calendars/a%40b/x%2Fy/"), None);
        assert_eq!(Target::parse("/dav/mail/a/"), None);
        assert_eq!(Target::parse("/davx/"), None);
        assert_eq!(Target::parse("/dav/calendars/a/b/c/d"), None);
    }
}
