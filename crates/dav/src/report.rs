//! REPORT: `sync-collection` (RFC 6578, with `DAV:limit`: 507 for the
//! request-URI when the answer is cut short), `calendar-multiget` and
//! `addressbook-multiget` (RFC 4791 7.9, RFC 6352 8.7), `calendar-query`
//! (RFC 4791 7.8: component, property and time-range filters; recurring
//! events expanded) and `addressbook-query` (RFC 6352 8.6: property
//! filters with text-match, `i;unicode-casemap` and `i;octet`) and
//! `free-busy-query` (RFC 4791 7.10).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tern_store::{DavCollection, DavKind, DavResource};

use crate::methods::Ctx;
use crate::path::{self, Target};
use crate::props::{self, Subject};
use crate::response::{condition, multistatus, status, store_error};
use crate::xml::{self, CALDAV, CARDDAV, DAV, Name, Node, escape};
use crate::{Request, data};

/// Members a query answers at most (a client pages with sync-collection).
const MAX_RESULTS: usize = 5_000;

pub async fn report(ctx: &Ctx<'_>, req: &Request) -> Response {
    let Ok(text) = std::str::from_utf8(&req.body) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let root = match xml::parse(text) {
        Ok(r) => r,
        Err(_) => return status(StatusCode::BAD_REQUEST),
    };
    if !matches!(ctx.target, Target::Collection(..)) {
        // RFC 3253 3.6: no report is offered on a principal, a home or a
        // member (expand-property and the principal searches are not).
        return condition(StatusCode::FORBIDDEN, DAV, "supported-report", "");
    }
    let coll = match ctx.collection().await {
        Ok(Some(c)) => c,
        Ok(None) => return status(StatusCode::NOT_FOUND),
        Err(e) => return store_error(e),
    };
    let names = root.child(DAV, "prop").map(Node::names).unwrap_or_default();
    let kind = coll.kind;
    match root
        .name
        .as_ref()
        .map(|n| (n.ns.as_str(), n.local.as_str()))
    {
        Some((DAV, "sync-collection")) => sync_collection(ctx, &coll, &root, &names).await,
        Some((CALDAV, "calendar-multiget")) if kind == DavKind::Calendar => {
            multiget(ctx, &coll, &root, &names).await
        }
        Some((CARDDAV, "addressbook-multiget")) if kind == DavKind::AddressBook => {
            multiget(ctx, &coll, &root, &names).await
        }
        Some((CALDAV, "calendar-query")) if kind == DavKind::Calendar => {
            query(ctx, &coll, &root, &names).await
        }
        Some((CARDDAV, "addressbook-query")) if kind == DavKind::AddressBook => {
            query(ctx, &coll, &root, &names).await
        }
        Some((CALDAV, "free-busy-query")) if kind == DavKind::Calendar => {
            free_busy(ctx, &coll, &root).await
        }
        _ => condition(StatusCode::FORBIDDEN, DAV, "supported-report", ""),
    }
}

/// Whether the asked properties need the members' content.
fn wants_data(names: &[Name]) -> bool {
    names
        .iter()
        .any(|n| n.is(CALDAV, "calendar-data") || n.is(CARDDAV, "address-data"))
}

/// A member's `<d:response>` with the asked properties.
async fn member(
    ctx: &Ctx<'_>,
    coll: &DavCollection,
    r: &DavResource,
    names: &[Name],
    content: Option<&[u8]>,
) -> Result<String, Response> {
    let href = path::resource(coll.kind, &ctx.account.name, &coll.name, &r.name);
    let loaded;
    let data = match content {
        Some(c) => Some(c),
        None if wants_data(names) => {
            loaded = ctx
                .state
                .store
                .dav_resource_content(coll.id, &r.name)
                .await
                .map_err(store_error)?;
            loaded.as_ref().map(|(_, b)| b.as_slice())
        }
        None => None,
    };
    let (found, missing) = props::lookup(ctx.account, &Subject::Resource(coll, r), names, data);
    Ok(props::response(&href, &found, &missing))
}

async fn sync_collection(
    ctx: &Ctx<'_>,
    coll: &DavCollection,
    root: &Node,
    names: &[Name],
) -> Response {
    let token = root.child(DAV, "sync-token").map(Node::value).unwrap_or("");
    let since = if token.is_empty() {
        0
    } else {
        match props::parse_sync_token(coll, token) {
            Some(s) if s <= coll.sync => s,
            _ => return condition(StatusCode::FORBIDDEN, DAV, "valid-sync-token", ""),
        }
    };
    // RFC 6578 3.3: only sync-level 1 is needed on a collection of
    // non-collections; infinite depth is the same here.
    let limit = root
        .child(DAV, "limit")
        .and_then(|l| l.child(DAV, "nresults"))
        .and_then(|n| n.value().parse::<usize>().ok());
    let store = &ctx.state.store;
    let changes = match store.dav_changes(coll.id, since, limit).await {
        Ok(c) => c,
        Err(e) => return store_error(e),
    };
    let mut out = Vec::new();
    for ch in &changes.changes {
        let href = path::resource(coll.kind, &ctx.account.name, &coll.name, &ch.name);
        if ch.deleted {
            out.push(props::status_response(&href, StatusCode::NOT_FOUND));
            continue;
        }
        match store.dav_resource(coll.id, &ch.name).await {
            Ok(Some(r)) => match member(ctx, coll, &r, names, None).await {
                Ok(s) => out.push(s),
                Err(resp) => return resp,
            },
            // Gone since the change was read: a deletion.
            Ok(None) => out.push(props::status_response(&href, StatusCode::NOT_FOUND)),
            Err(e) => return store_error(e),
        }
    }
    if changes.truncated {
        // RFC 6578 3.6: the request-URI with 507, and a token to go on.
        let href = path::collection(coll.kind, &ctx.account.name, &coll.name);
        out.push(format!(
            "<d:response><d:href>{}</d:href><d:status>{}</d:status><d:error><d:number-of-matches-within-limits/></d:error></d:response>",
            escape(&href),
            crate::response::status_line(StatusCode::INSUFFICIENT_STORAGE)
        ));
    }
    multistatus(
        &out,
        &format!(
            "<d:sync-token>{}</d:sync-token>",
            escape(&props::sync_token(coll, changes.token))
        ),
    )
}

async fn multiget(ctx: &Ctx<'_>, coll: &DavCollection, root: &Node, names: &[Name]) -> Response {
    let mut out = Vec::new();
    for h in root.all(DAV, "href").take(MAX_RESULTS) {
        let href = h.value();
        let r = match Target::parse(href) {
            Some(Target::Resource(k, u, c, n))
                if k == coll.kind
                    && c == coll.name
                    && crate::auth::same_account(&u, ctx.account) =>
            {
                match ctx.state.store.dav_resource(coll.id, &n).await {
                    Ok(r) => r,
                    Err(e) => return store_error(e),
                }
            }
            _ => None,
        };
        match r {
            Some(r) => match member(ctx, coll, &r, names, None).await {
                Ok(s) => out.push(s),
                Err(resp) => return resp,
            },
            None => out.push(props::status_response(href, StatusCode::NOT_FOUND)),
        }
    }
    multistatus(&out, "")
}

/// An iCalendar UTC date-time (`20060104T000000Z`) as seconds.
fn utc(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (h, mi, se) = (n(9..11)?, n(11..13)?, n(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = tern_common::time::days_from_civil(y, mo as u32, d as u32);
    Some(days * 86_400 + h * 3_600 + mi * 60 + se)
}

/// A text-match (RFC 4790 collations: `i;unicode-casemap` by default,
/// `i;octet`, `i;ascii-casemap`).
fn text_match(m: &Node, values: &[String]) -> bool {
    let needle = m.text.as_str();
    let collation = m.attr("collation").unwrap_or("i;unicode-casemap");
    let fold = |s: &str| match collation {
        "i;octet" => s.to_string(),
        "i;ascii-casemap" => s.to_ascii_lowercase(),
        _ => s.to_lowercase(),
    };
    let needle = fold(needle);
    let how = m.attr("match-type").unwrap_or("contains");
    let any = values.iter().any(|v| {
        let v = fold(v);
        match how {
            "equals" => v == needle,
            "starts-with" => v.starts_with(&needle),
            "ends-with" => v.ends_with(&needle),
            _ => v.contains(&needle),
        }
    });
    let negate = m.attr("negate-condition").is_some_and(|v| v == "yes");
    any != negate
}

/// A prop-filter on a member's content (RFC 4791 9.7.2, RFC 6352 10.5).
fn prop_filter(f: &Node, ns: &str, content: &[u8]) -> bool {
    let Some(name) = f.attr("name") else {
        return false;
    };
    let values = data::property_values(content, name);
    if f.child(ns, "is-not-defined").is_some() {
        return values.is_empty();
    }
    if values.is_empty() {
        return false;
    }
    let mut matches: Vec<bool> = f
        .all(ns, "text-match")
        .map(|m| text_match(m, &values))
        .collect();
    for pf in f.all(ns, "param-filter") {
        let Some(param) = pf.attr("name") else {
            continue;
        };
        let pv = data::param_values(content, name, param);
        matches.push(if pf.child(ns, "is-not-defined").is_some() {
            pv.is_empty()
        } else {
            !pv.is_empty()
                && pf
                    .child(ns, "text-match")
                    .is_none_or(|m| text_match(m, &pv))
        });
    }
    if matches.is_empty() {
        return true;
    }
    // RFC 4791 9.7.2: a CalDAV prop-filter's tests all hold; RFC 6352
    // 10.5: CardDAV's `test` says, `anyof` by default.
    let all = match f.attr("test") {
        Some(t) => t == "allof",
        None => ns == CALDAV,
    };
    if all {
        matches.iter().all(|x| *x)
    } else {
        matches.iter().any(|x| *x)
    }
}

/// A calendar-query's inner comp-filter (the one inside VCALENDAR).
struct CalFilter<'a> {
    component: Option<String>,
    range: Option<(Option<i64>, Option<i64>)>,
    props: Vec<&'a Node>,
}

fn cal_filter(root: &Node) -> Result<CalFilter<'_>, Response> {
    let mut out = CalFilter {
        component: None,
        range: None,
        props: Vec::new(),
    };
    let Some(top) = root
        .child(CALDAV, "filter")
        .and_then(|f| f.child(CALDAV, "comp-filter"))
    else {
        return Ok(out);
    };
    if !top
        .attr("name")
        .is_some_and(|n| n.eq_ignore_ascii_case("VCALENDAR"))
    {
        return Err(condition(StatusCode::FORBIDDEN, CALDAV, "valid-filter", ""));
    }
    if let Some(inner) = top.child(CALDAV, "comp-filter") {
        out.component = inner.attr("name").map(str::to_ascii_uppercase);
        if let Some(tr) = inner.child(CALDAV, "time-range") {
            let start = tr.attr("start").map(utc);
            let end = tr.attr("end").map(utc);
            if matches!(start, Some(None)) || matches!(end, Some(None)) {
                return Err(condition(StatusCode::FORBIDDEN, CALDAV, "valid-filter", ""));
            }
            out.range = Some((start.flatten(), end.flatten()));
        }
        out.props = inner.all(CALDAV, "prop-filter").collect();
    }
    Ok(out)
}

async fn query(ctx: &Ctx<'_>, coll: &DavCollection, root: &Node, names: &[Name]) -> Response {
    let store = &ctx.state.store;
    let calendar = coll.kind == DavKind::Calendar;
    let cal = if calendar {
        match cal_filter(root) {
            Ok(f) => Some(f),
            Err(r) => return r,
        }
    } else {
        None
    };
    let candidates = match cal.as_ref().and_then(|f| f.range) {
        Some((start, end)) => store.dav_in_range(coll.id, start, end).await,
        None => store.dav_resources(coll.id).await,
    };
    let candidates = match candidates {
        Ok(c) => c,
        Err(e) => return store_error(e),
    };
    let card_filter = (!calendar).then(|| root.child(CARDDAV, "filter")).flatten();
    let limit = root
        .child(CARDDAV, "limit")
        .and_then(|l| l.child(CARDDAV, "nresults"))
        .and_then(|n| n.value().parse::<usize>().ok())
        .unwrap_or(MAX_RESULTS)
        .min(MAX_RESULTS);
    let mut out = Vec::new();
    let mut truncated = false;
    for r in &candidates {
        if let Some(f) = &cal
            && let Some(c) = &f.component
            && r.component.as_deref() != Some(c.as_str())
        {
            continue;
        }
        let needs_content = cal
            .as_ref()
            .is_some_and(|f| f.range.is_some() || !f.props.is_empty())
            || card_filter.is_some()
            || wants_data(names);
        let content = if needs_content {
            match store.dav_resource_content(coll.id, &r.name).await {
                Ok(Some((_, b))) => Some(b),
                Ok(None) => continue,
                Err(e) => return store_error(e),
            }
        } else {
            None
        };
        // Expanding recurrences is CPU: on the blocking pool.
        let (content, in_range) = match (
            cal.as_ref().and_then(|f| f.range),
            cal.as_ref().and_then(|f| f.component.clone()),
            content,
        ) {
            (Some((s, e)), Some(c), Some(b)) => {
                match data::off_thread(move || {
                    let hit = data::overlaps(&b, &c, s, e);
                    (b, hit)
                })
                .await
                {
                    Some((b, hit)) => (Some(b), hit),
                    None => return status(StatusCode::SERVICE_UNAVAILABLE),
                }
            }
            (_, _, content) => (content, true),
        };
        let bytes = content.as_deref().unwrap_or(&[]);
        let keep = match (&cal, card_filter) {
            (Some(f), _) => in_range && f.props.iter().all(|p| prop_filter(p, CALDAV, bytes)),
            (None, Some(filter)) => {
                let results: Vec<bool> = filter
                    .all(CARDDAV, "prop-filter")
                    .map(|p| prop_filter(p, CARDDAV, bytes))
                    .collect();
                results.is_empty()
                    || if filter.attr("test") == Some("allof") {
                        results.iter().all(|x| *x)
                    } else {
                        results.iter().any(|x| *x)
                    }
            }
            (None, None) => true,
        };
        if !keep {
            continue;
        }
        if out.len() >= limit {
            truncated = true;
            break;
        }
        match member(ctx, coll, r, names, content.as_deref()).await {
            Ok(s) => out.push(s),
            Err(resp) => return resp,
        }
    }
    if truncated {
        let href = path::collection(coll.kind, &ctx.account.name, &coll.name);
        out.push(props::status_response(
            &href,
            StatusCode::INSUFFICIENT_STORAGE,
        ));
    }
    multistatus(&out, "")
}

/// Seconds as an iCalendar UTC date-time.
fn utc_text(secs: i64) -> String {
    let c = tern_common::time::civil(secs);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// RFC 4791 7.10: the busy time of the calendar in the range, as one
/// VFREEBUSY (periods merged, in order).
async fn free_busy(ctx: &Ctx<'_>, coll: &DavCollection, root: &Node) -> Response {
    let range = root.child(CALDAV, "time-range");
    let start = range.and_then(|r| r.attr("start")).and_then(utc);
    let end = range.and_then(|r| r.attr("end")).and_then(utc);
    let (Some(start), Some(end)) = (start, end) else {
        return condition(StatusCode::FORBIDDEN, CALDAV, "valid-filter", "");
    };
    if end <= start {
        return condition(StatusCode::FORBIDDEN, CALDAV, "valid-filter", "");
    }
    let store = &ctx.state.store;
    let candidates = match store.dav_in_range(coll.id, Some(start), Some(end)).await {
        Ok(c) => c,
        Err(e) => return store_error(e),
    };
    let mut periods = Vec::new();
    for r in candidates
        .iter()
        .filter(|r| r.component.as_deref() == Some("VEVENT"))
        .take(MAX_RESULTS)
    {
        match store.dav_resource_content(coll.id, &r.name).await {
            Ok(Some((_, b))) => match data::off_thread(move || data::busy(&b, start, end)).await {
                Some(p) => periods.extend(p),
                None => return status(StatusCode::SERVICE_UNAVAILABLE),
            },
            Ok(None) => {}
            Err(e) => return store_error(e),
        }
    }
    periods.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (s, e) in periods {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let mut body = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tern//CalDAV//EN\r\nBEGIN:VFREEBUSY\r\n\
         DTSTAMP:{}\r\nDTSTART:{}\r\nDTEND:{}\r\n",
        utc_text(tern_common::time::now_secs()),
        utc_text(start),
        utc_text(end)
    );
    for (s, e) in merged {
        body.push_str(&format!(
            "FREEBUSY;FBTYPE=BUSY:{}/{}\r\n",
            utc_text(s),
            utc_text(e)
        ));
    }
    body.push_str("END:VFREEBUSY\r\nEND:VCALENDAR\r\n");
    (
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/calendar; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times() {
        assert_eq!(utc("19700101T000000Z"), Some(0));
        assert_eq!(utc("20240301T100000Z"), Some(1_709_287_200));
        assert_eq!(utc("20240301T100000"), None);
        assert_eq!(utc("2024-03-01"), None);
        assert_eq!(utc_text(1_709_287_200), "20240301T100000Z");
    }
}
