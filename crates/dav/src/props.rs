//! Properties: what each kind of thing tern serves says about itself
//! (RFC 4918 15, RFC 4791 5.2 and 6.2, RFC 6352 6.2 and 7.1, RFC 3744 5.1
//! for principals, RFC 4331 quotas, RFC 6578 `sync-token`), and the
//! `<d:response>` that carries them.

use tern_store::{Account, DavCollection, DavKind, DavResource, MAX_DAV_RESOURCE};

use crate::path;
use crate::response::status_line;
use crate::xml::{CALDAV, CARDDAV, CS, DAV, ICAL, Name, element, escape};
use axum::http::StatusCode;

/// What a property is asked of.
pub enum Subject<'a> {
    Root,
    Principal,
    Home,
    Collection(&'a DavCollection),
    Resource(&'a DavCollection, &'a DavResource),
}

/// The sync token of a collection state (RFC 6578 3.2: a URI), naming
/// the collection, so that a token of a deleted collection is not taken
/// by a new one of the same name.
pub fn sync_token(coll: &DavCollection, sync: i64) -> String {
    format!("data:,tern-sync-{}-{sync}", coll.id)
}

/// The sync value a client's token stands for, if it is this collection's.
pub fn parse_sync_token(coll: &DavCollection, token: &str) -> Option<i64> {
    let (id, sync) = token
        .trim()
        .strip_prefix("data:,tern-sync-")?
        .split_once('-')?;
    (id.parse::<i64>().ok()? == coll.id)
        .then(|| sync.parse().ok())
        .flatten()
}

fn href(h: &str) -> String {
    format!("<d:href>{}</d:href>", escape(h))
}

/// RFC 9110 5.6.7 IMF-fixdate.
pub fn http_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let c = tern_common::time::civil(secs);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[c.weekday as usize],
        c.day,
        tern_common::time::MONTHS[c.month as usize - 1],
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// The properties `allprop` returns for a subject (RFC 4918 9.1: the live
/// properties a client reads most; the expensive ones only when named).
pub fn allprop(subject: &Subject<'_>) -> Vec<Name> {
    let mut names = vec![
        Name::new(DAV, "resourcetype"),
        Name::new(DAV, "displayname"),
        Name::new(DAV, "current-user-principal"),
    ];
    match subject {
        Subject::Collection(_) => {
            for (ns, l) in [
                (DAV, "sync-token"),
                (CS, "getctag"),
                (DAV, "getetag"),
                (DAV, "owner"),
                (DAV, "supported-report-set"),
            ] {
                names.push(Name::new(ns, l));
            }
        }
        Subject::Resource(..) => {
            for l in [
                "getetag",
                "getcontenttype",
                "getcontentlength",
                "getlastmodified",
            ] {
                names.push(Name::new(DAV, l));
            }
        }
        Subject::Principal => names.push(Name::new(DAV, "principal-URL")),
        _ => {}
    }
    names
}

/// The value of property `name` of `subject` (inner XML), or `None` when
/// the subject has no such property. `data` is the resource's content when
/// it was read (`calendar-data`, `address-data`).
pub fn value(
    account: &Account,
    subject: &Subject<'_>,
    name: &Name,
    data: Option<&[u8]>,
) -> Option<String> {
    let user = account.name.as_str();
    let principal = path::principal(user);
    let ns = name.ns.as_str();
    let local = name.local.as_str();
    match (ns, local, subject) {
        (DAV, "resourcetype", s) => Some(match s {
            Subject::Root | Subject::Home => "<d:collection/>".into(),
            Subject::Principal => "<d:collection/><d:principal/>".into(),
            Subject::Collection(c) => match c.kind {
                DavKind::Calendar => "<d:collection/><c:calendar/>".into(),
                DavKind::AddressBook => "<d:collection/><card:addressbook/>".into(),
            },
            Subject::Resource(..) => String::new(),
        }),
        (DAV, "displayname", Subject::Collection(c)) => {
            Some(escape(c.display_name.as_deref().unwrap_or(&c.name)))
        }
        (DAV, "displayname", Subject::Principal) => Some(escape(user)),
        (DAV, "current-user-principal", _) => Some(href(&principal)),
        (DAV, "principal-URL", Subject::Principal) => Some(href(&principal)),
        (DAV, "owner", Subject::Collection(_) | Subject::Home) => Some(href(&principal)),
        (CALDAV, "calendar-home-set", Subject::Principal | Subject::Root) => {
            Some(href(&path::home(DavKind::Calendar, user)))
        }
        (CARDDAV, "addressbook-home-set", Subject::Principal | Subject::Root) => {
            Some(href(&path::home(DavKind::AddressBook, user)))
        }
        (CALDAV, "calendar-user-address-set", Subject::Principal) => Some(
            account
                .addresses
                .iter()
                .map(|a| href(&format!("mailto:{a}")))
                .collect(),
        ),
        (DAV, "current-user-privilege-set", _) => Some(
            [
                "read",
                "write",
                "write-properties",
                "write-content",
                "bind",
                "unbind",
            ]
            .iter()
            .map(|p| format!("<d:privilege><d:{p}/></d:privilege>"))
            .collect(),
        ),
        (DAV, "supported-report-set", Subject::Collection(c)) => {
            let mut reports = vec![(DAV, "sync-collection")];
            match c.kind {
                DavKind::Calendar => {
                    reports.push((CALDAV, "calendar-multiget"));
                    reports.push((CALDAV, "calendar-query"));
                    reports.push((CALDAV, "free-busy-query"));
                }
                DavKind::AddressBook => {
                    reports.push((CARDDAV, "addressbook-multiget"));
                    reports.push((CARDDAV, "addressbook-query"));
                }
            }
            Some(
                reports
                    .iter()
                    .map(|(ns, l)| {
                        format!(
                            "<d:supported-report><d:report>{}</d:report></d:supported-report>",
                            element(&Name::new(ns, l), "")
                        )
                    })
                    .collect(),
            )
        }
        (DAV, "sync-token", Subject::Collection(c)) => Some(escape(&sync_token(c, c.sync))),
        (CS, "getctag", Subject::Collection(c)) => Some(c.sync.to_string()),
        (DAV, "getetag", Subject::Collection(c)) => Some(escape(&format!("\"{}\"", c.sync))),
        (DAV, "getetag", Subject::Resource(_, r)) => Some(escape(&r.etag)),
        (DAV, "getcontenttype", Subject::Resource(c, _)) => Some(
            match c.kind {
                DavKind::Calendar => "text/calendar; charset=utf-8",
                DavKind::AddressBook => "text/vcard; charset=utf-8",
            }
            .into(),
        ),
        (DAV, "getcontentlength", Subject::Resource(_, r)) => Some(r.size.to_string()),
        (DAV, "getlastmodified", Subject::Resource(_, r)) => Some(http_date(r.updated)),
        (DAV, "quota-used-bytes", Subject::Collection(_) | Subject::Home) => {
            Some(account.used.to_string())
        }
        (DAV, "quota-available-bytes", Subject::Collection(_) | Subject::Home)
            if account.quota > 0 =>
        {
            Some(account.quota.saturating_sub(account.used).to_string())
        }
        (CALDAV, "calendar-description", Subject::Collection(c)) if c.kind == DavKind::Calendar => {
            c.description.as_deref().map(escape)
        }
        (CARDDAV, "addressbook-description", Subject::Collection(c))
            if c.kind == DavKind::AddressBook =>
        {
            c.description.as_deref().map(escape)
        }
        (ICAL, "calendar-color", Subject::Collection(c)) if c.kind == DavKind::Calendar => {
            c.color.as_deref().map(escape)
        }
        (CALDAV, "calendar-timezone", Subject::Collection(c)) if c.kind == DavKind::Calendar => {
            c.timezone.as_deref().map(escape)
        }
        (CALDAV, "supported-calendar-component-set", Subject::Collection(c))
            if c.kind == DavKind::Calendar =>
        {
            Some(
                c.components
                    .iter()
                    .map(|n| format!("<c:comp name=\"{}\"/>", escape(n)))
                    .collect(),
            )
        }
        (CALDAV, "supported-calendar-data", Subject::Collection(c))
            if c.kind == DavKind::Calendar =>
        {
            Some("<c:calendar-data content-type=\"text/calendar\" version=\"2.0\"/>".into())
        }
        (CARDDAV, "supported-address-data", Subject::Collection(c))
            if c.kind == DavKind::AddressBook =>
        {
            Some(
                "<card:address-data-type content-type=\"text/vcard\" version=\"3.0\"/>\
                 <card:address-data-type content-type=\"text/vcard\" version=\"4.0\"/>"
                    .into(),
            )
        }
        (CALDAV, "max-resource-size", Subject::Collection(c)) if c.kind == DavKind::Calendar => {
            Some(MAX_DAV_RESOURCE.to_string())
        }
        (CARDDAV, "max-resource-size", Subject::Collection(c))
            if c.kind == DavKind::AddressBook =>
        {
            Some(MAX_DAV_RESOURCE.to_string())
        }
        (CALDAV, "calendar-data", Subject::Resource(c, _)) if c.kind == DavKind::Calendar => {
            data.map(|d| escape(&String::from_utf8_lossy(d)))
        }
        (CARDDAV, "address-data", Subject::Resource(c, _)) if c.kind == DavKind::AddressBook => {
            data.map(|d| escape(&String::from_utf8_lossy(d)))
        }
        _ => None,
    }
}

/// One `<d:response>`: the properties found (200) and those not (404).
pub fn response(href_: &str, found: &[(Name, String)], missing: &[Name]) -> String {
    let mut out = format!("<d:response>{}", href(href_));
    if !found.is_empty() {
        let props: String = found.iter().map(|(n, v)| element(n, v)).collect();
        out.push_str(&format!(
            "<d:propstat><d:prop>{props}</d:prop><d:status>{}</d:status></d:propstat>",
            status_line(StatusCode::OK)
        ));
    }
    if !missing.is_empty() {
        let props: String = missing.iter().map(|n| element(n, "")).collect();
        out.push_str(&format!(
            "<d:propstat><d:prop>{props}</d:prop><d:status>{}</d:status></d:propstat>",
            status_line(StatusCode::NOT_FOUND)
        ));
    }
    out.push_str("</d:response>");
    out
}

/// A `<d:response>` with one status for the href (a deleted member, say).
pub fn status_response(href_: &str, code: StatusCode) -> String {
    format!(
        "<d:response>{}<d:status>{}</d:status></d:response>",
        href(href_),
        status_line(code)
    )
}

/// The properties of `subject` that `names` asks for: (found, missing).
pub fn lookup(
    account: &Account,
    subject: &Subject<'_>,
    names: &[Name],
    data: Option<&[u8]>,
) -> (Vec<(Name, String)>, Vec<Name>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for n in names {
        match value(account, subject, n, data) {
            Some(v) => found.push((n.clone(), v)),
            None => missing.push(n.clone()),
        }
    }
    (found, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_tokens() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        let coll = |id| DavCollection {
            id,
            account_id: 1,
            kind: DavKind::Calendar,
            name: "c".into(),
            display_name: None,
            description: None,
            color: None,
            timezone: None,
            components: Vec::new(),
            sync: 42,
            created: 0,
        };
        assert_eq!(
            parse_sync_token(&coll(7), &sync_token(&coll(7), 42)),
            Some(42)
        );
        assert_eq!(parse_sync_token(&coll(8), &sync_token(&coll(7), 42)), None);
        assert_eq!(parse_sync_token(&coll(7), "http://other/1"), None);
    }
}
