//! The methods on resources and collections: OPTIONS, GET/HEAD, PUT,
//! DELETE, MKCOL (extended, RFC 5689) and MKCALENDAR (RFC 4791 5.3.1),
//! MOVE and COPY within the caller's homes (RFC 4918 9.8, 9.9). Writes
//! take RFC 9110 conditions (`If-Match`, `If-None-Match: *`: 412 when they
//! fail); ETags are strong, made from the bytes stored.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tern_store::{
    Account, DavCollection, DavCondition, DavKind, DavProps, DavPut, MAX_DAV_RESOURCE, StoreError,
};

use crate::data::{self, Refused};
use crate::path::{self, Target};
use crate::response::{condition, status, store_error};
use crate::xml::{self, CALDAV, CARDDAV, DAV};
use crate::{DavState, Request};

/// What a method works with.
pub(crate) struct Ctx<'a> {
    pub state: &'a DavState,
    pub account: &'a Account,
    pub target: Target,
}

/// The components a new calendar takes when the client names none.
pub const DEFAULT_COMPONENTS: [&str; 3] = ["VEVENT", "VTODO", "VJOURNAL"];

impl Ctx<'_> {
    /// A default calendar and address book from the first request on
    /// (RFC 4791 and RFC 6352 leave it to the server; clients expect one).
    pub async fn ensure_defaults(&self) -> Result<(), StoreError> {
        let store = &self.state.store;
        let id = self.account.id;
        for (kind, name, comps) in [
            (DavKind::Calendar, "Calendar", &DEFAULT_COMPONENTS[..2]),
            (DavKind::AddressBook, "Contacts", &[][..]),
        ] {
            if store.dav_collections(id, kind).await?.is_empty() {
                match store
                    .dav_collection_create(id, kind, "default", Some(name), comps)
                    .await
                {
                    Ok(_) | Err(StoreError::Duplicate(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// The collection a collection or resource target is in.
    pub async fn collection(&self) -> Result<Option<DavCollection>, StoreError> {
        let (kind, name) = match &self.target {
            Target::Collection(k, _, c) | Target::Resource(k, _, c, _) => (*k, c),
            _ => return Ok(None),
        };
        self.state
            .store
            .dav_collection_get(self.account.id, kind, name)
            .await
    }
}

pub const ALLOW: &str =
    "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, MKCALENDAR, COPY, MOVE, REPORT";

/// OPTIONS (RFC 4918 10.1: the compliance classes; RFC 4791 5.1, RFC 6352
/// 6.1, RFC 5689 3, RFC 6578 — whose support is shown in
/// supported-report-set, not here).
pub fn options() -> Response {
    (
        StatusCode::OK,
        [
            (
                header::HeaderName::from_static("dav"),
                "1, 3, calendar-access, addressbook, extended-mkcol",
            ),
            (header::ALLOW, ALLOW),
            (header::CONTENT_LENGTH, "0"),
        ],
    )
        .into_response()
}

fn content_type(kind: DavKind) -> &'static str {
    match kind {
        DavKind::Calendar => "text/calendar; charset=utf-8",
        DavKind::AddressBook => "text/vcard; charset=utf-8",
    }
}

/// GET and HEAD of a member: the bytes as stored, its ETag and date.
pub async fn get(ctx: &Ctx<'_>, head: bool) -> Response {
    let Target::Resource(kind, _, _, name) = &ctx.target else {
        // A collection has no body of its own.
        return status(StatusCode::METHOD_NOT_ALLOWED);
    };
    let coll = match ctx.collection().await {
        Ok(Some(c)) => c,
        Ok(None) => return status(StatusCode::NOT_FOUND),
        Err(e) => return store_error(e),
    };
    match ctx.state.store.dav_resource_content(coll.id, name).await {
        Ok(Some((r, bytes))) => {
            let headers = [
                (header::CONTENT_TYPE, content_type(*kind).to_string()),
                (header::ETAG, r.etag.clone()),
                (header::LAST_MODIFIED, crate::props::http_date(r.updated)),
            ];
            if head {
                (
                    StatusCode::OK,
                    headers,
                    [(header::CONTENT_LENGTH, bytes.len().to_string())],
                )
                    .into_response()
            } else {
                (StatusCode::OK, headers, bytes).into_response()
            }
        }
        Ok(None) => status(StatusCode::NOT_FOUND),
        Err(e) => store_error(e),
    }
}

/// The write condition of a request (RFC 9110 13.1.1, 13.1.2).
fn write_condition(headers: &HeaderMap) -> DavCondition {
    if let Some(m) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        let m = m.trim();
        if m != "*" {
            return DavCondition::IfMatch(m.to_string());
        }
    }
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "*")
    {
        return DavCondition::IfNoneMatch;
    }
    DavCondition::Any
}

/// PUT of a member: checked (RFC 4791 5.3.2.1, RFC 6352 6.3.2.1), stored
/// byte for byte; 201 when new, 204 when replaced, with the ETag.
pub async fn put(ctx: &Ctx<'_>, req: &Request) -> Response {
    let Target::Resource(kind, _, _, name) = &ctx.target else {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    };
    let coll = match ctx.collection().await {
        Ok(Some(c)) => c,
        // RFC 4918 9.7.1: no intermediate collections are made.
        Ok(None) => return status(StatusCode::CONFLICT),
        Err(e) => return store_error(e),
    };
    let (ns, valid) = match kind {
        DavKind::Calendar => (CALDAV, "valid-calendar-data"),
        DavKind::AddressBook => (CARDDAV, "valid-address-data"),
    };
    if req.body.len() > MAX_DAV_RESOURCE {
        return condition(StatusCode::FORBIDDEN, ns, "max-resource-size", "");
    }
    let (body, comps, k) = (req.body.clone(), coll.components.clone(), *kind);
    let indexed = data::off_thread(move || match k {
        DavKind::Calendar => data::calendar(&body, &comps),
        DavKind::AddressBook => data::vcard(&body),
    })
    .await;
    let indexed = match indexed {
        None => return status(StatusCode::SERVICE_UNAVAILABLE),
        Some(Ok(i)) => i,
        Some(Err(Refused::Invalid(why))) => {
            tracing::debug!(why, "dav: PUT refused");
            return condition(StatusCode::FORBIDDEN, ns, valid, "");
        }
        Some(Err(Refused::Component(_))) => {
            return condition(
                StatusCode::FORBIDDEN,
                CALDAV,
                "supported-calendar-component",
                "",
            );
        }
    };
    let put = DavPut {
        name,
        uid: &indexed.uid,
        component: indexed.component.as_deref(),
        first_start: indexed.first_start,
        last_end: indexed.last_end,
        content: &req.body,
    };
    match ctx
        .state
        .store
        .dav_resource_put(coll.id, &put, &write_condition(&req.headers))
        .await
    {
        Ok((r, created)) => (
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::NO_CONTENT
            },
            [(header::ETAG, r.etag)],
        )
            .into_response(),
        Err(StoreError::DavUidConflict(other)) => {
            let href = path::resource(*kind, &ctx.account.name, &coll.name, &other);
            condition(
                StatusCode::FORBIDDEN,
                ns,
                "no-uid-conflict",
                &format!("<d:href>{}</d:href>", xml::escape(&href)),
            )
        }
        Err(e) => store_error(e),
    }
}

/// DELETE of a member (with its conditions) or of a whole collection.
pub async fn delete(ctx: &Ctx<'_>, req: &Request) -> Response {
    let coll = match ctx.collection().await {
        Ok(Some(c)) => c,
        Ok(None) => return status(StatusCode::NOT_FOUND),
        Err(e) => return store_error(e),
    };
    let done = match &ctx.target {
        Target::Resource(_, _, _, name) => {
            ctx.state
                .store
                .dav_resource_delete(coll.id, name, &write_condition(&req.headers))
                .await
        }
        Target::Collection(..) => ctx.state.store.dav_collection_delete(coll.id).await,
        _ => return status(StatusCode::METHOD_NOT_ALLOWED),
    };
    match done {
        Ok(()) => status(StatusCode::NO_CONTENT),
        Err(e) => store_error(e),
    }
}

/// What MKCALENDAR and extended MKCOL may set on the new collection.
struct NewCollection {
    kind: Option<DavKind>,
    props: DavProps,
    components: Option<Vec<String>>,
}

fn new_collection(body: &[u8]) -> Result<NewCollection, Response> {
    let mut out = NewCollection {
        kind: None,
        props: DavProps::default(),
        components: None,
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(out);
    }
    let text = std::str::from_utf8(body).map_err(|_| status(StatusCode::BAD_REQUEST))?;
    let root = xml::parse(text).map_err(|_| status(StatusCode::BAD_REQUEST))?;
    for set in root.all(DAV, "set") {
        for prop in set.all(DAV, "prop") {
            for p in &prop.children {
                let Some(n) = &p.name else { continue };
                let value = Some(Some(p.value().to_string()));
                match (n.ns.as_str(), n.local.as_str()) {
                    (DAV, "resourcetype") => {
                        if p.child(CALDAV, "calendar").is_some() {
                            out.kind = Some(DavKind::Calendar);
                        } else if p.child(CARDDAV, "addressbook").is_some() {
                            out.kind = Some(DavKind::AddressBook);
                        }
                    }
                    (DAV, "displayname") => out.props.display_name = value,
                    (CALDAV, "calendar-description") | (CARDDAV, "addressbook-description") => {
                        out.props.description = value
                    }
                    (crate::xml::ICAL, "calendar-color") => out.props.color = value,
                    (CALDAV, "calendar-timezone") => out.props.timezone = value,
                    (CALDAV, "supported-calendar-component-set") => {
                        out.components = Some(
                            p.all(CALDAV, "comp")
                                .filter_map(|c| c.attr("name"))
                                .map(|c| c.to_ascii_uppercase())
                                .collect(),
                        );
                    }
                    // RFC 5689 3.3: a property that cannot be set fails
                    // the request.
                    _ => return Err(status(StatusCode::FORBIDDEN)),
                }
            }
        }
    }
    Ok(out)
}

/// MKCALENDAR (RFC 4791 5.3.1) and MKCOL (RFC 4918 9.3, extended by RFC
/// 5689): a collection in the caller's home of its kind.
pub async fn mkcol(ctx: &Ctx<'_>, req: &Request) -> Response {
    let Target::Collection(kind, _, name) = &ctx.target else {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    };
    let mk = match new_collection(&req.body) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let wanted = if req.method.as_str() == "MKCALENDAR" {
        Some(DavKind::Calendar)
    } else {
        mk.kind
    };
    if wanted.is_some_and(|w| w != *kind) {
        // A calendar in the address book home, or the reverse.
        return condition(StatusCode::FORBIDDEN, DAV, "valid-resourcetype", "");
    }
    let components: Vec<String> = match (kind, mk.components) {
        (DavKind::Calendar, Some(c)) => {
            if c.is_empty() || !c.iter().all(|x| DEFAULT_COMPONENTS.contains(&x.as_str())) {
                return condition(
                    StatusCode::FORBIDDEN,
                    CALDAV,
                    "supported-calendar-component",
                    "",
                );
            }
            c
        }
        (DavKind::Calendar, None) => DEFAULT_COMPONENTS.iter().map(|c| c.to_string()).collect(),
        (DavKind::AddressBook, _) => Vec::new(),
    };
    let comps: Vec<&str> = components.iter().map(String::as_str).collect();
    let store = &ctx.state.store;
    let created = match store
        .dav_collection_create(ctx.account.id, *kind, name, None, &comps)
        .await
    {
        Ok(c) => c,
        Err(StoreError::Duplicate(_)) => {
            // RFC 4918 9.3.1: 405 when the resource exists.
            return status(StatusCode::METHOD_NOT_ALLOWED);
        }
        Err(e) => return store_error(e),
    };
    if mk.props != DavProps::default()
        && let Err(e) = store.dav_collection_update(created.id, &mk.props).await
    {
        return store_error(e);
    }
    status(StatusCode::CREATED)
}

/// MOVE and COPY of a member to another name in the caller's collections
/// of the same kind (`Destination`, `Overwrite`, RFC 4918 10.3, 10.6).
pub async fn transfer(ctx: &Ctx<'_>, req: &Request, copy: bool) -> Response {
    let Target::Resource(kind, _, _, name) = &ctx.target else {
        return status(StatusCode::FORBIDDEN);
    };
    let dest = req
        .headers
        .get("destination")
        .and_then(|v| v.to_str().ok())
        .and_then(Target::parse);
    let Some(Target::Resource(dkind, duser, dcoll, dname)) = dest else {
        return status(StatusCode::BAD_GATEWAY);
    };
    if dkind != *kind || !crate::auth::same_account(&duser, ctx.account) {
        return status(StatusCode::FORBIDDEN);
    }
    let overwrite = !req
        .headers
        .get("overwrite")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("F"));
    let store = &ctx.state.store;
    let from = match ctx.collection().await {
        Ok(Some(c)) => c,
        Ok(None) => return status(StatusCode::NOT_FOUND),
        Err(e) => return store_error(e),
    };
    let to = match store
        .dav_collection_get(ctx.account.id, dkind, &dcoll)
        .await
    {
        Ok(Some(c)) => c,
        Ok(None) => return status(StatusCode::CONFLICT),
        Err(e) => return store_error(e),
    };
    match store
        .dav_resource_transfer(from.id, name, to.id, &dname, copy, overwrite)
        .await
    {
        Ok(true) => status(StatusCode::CREATED),
        Ok(false) => status(StatusCode::NO_CONTENT),
        Err(StoreError::DavUidConflict(other)) => {
            let ns = match kind {
                DavKind::Calendar => CALDAV,
                DavKind::AddressBook => CARDDAV,
            };
            let href = path::resource(*kind, &ctx.account.name, &to.name, &other);
            condition(
                StatusCode::FORBIDDEN,
                ns,
                "no-uid-conflict",
                &format!("<d:href>{}</d:href>", xml::escape(&href)),
            )
        }
        Err(e) => store_error(e),
    }
}
