//! PROPFIND (RFC 4918 9.1: Depth 0 or 1; `infinity` is refused with the
//! `propfind-finite-depth` precondition) and PROPPATCH (9.2: all or
//! nothing — a property that cannot be set fails the others with 424).

use axum::http::StatusCode;
use axum::response::Response;
use tern_store::{DavKind, DavProps};

use crate::Request;
use crate::methods::Ctx;
use crate::path::{self, Target};
use crate::props::{self, Subject};
use crate::response::{condition, multistatus, status, status_line, store_error};
use crate::xml::{self, CALDAV, CARDDAV, DAV, ICAL, Name, element};

/// What a PROPFIND asks for.
enum Asked {
    All,
    Names,
    Props(Vec<Name>),
}

fn asked(body: &[u8]) -> Result<Asked, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Asked::All);
    }
    let text = std::str::from_utf8(body).map_err(|_| status(StatusCode::BAD_REQUEST))?;
    let root = xml::parse(text).map_err(|_| status(StatusCode::BAD_REQUEST))?;
    if !root.is(DAV, "propfind") {
        return Err(status(StatusCode::BAD_REQUEST));
    }
    if root.child(DAV, "propname").is_some() {
        return Ok(Asked::Names);
    }
    if let Some(p) = root.child(DAV, "prop") {
        return Ok(Asked::Props(p.names()));
    }
    Ok(Asked::All)
}

/// One response for `subject` at `href`.
fn respond(ctx: &Ctx<'_>, href: &str, subject: &Subject<'_>, asked: &Asked) -> String {
    match asked {
        Asked::All => {
            let names = props::allprop(subject);
            let (found, _) = props::lookup(ctx.account, subject, &names, None);
            props::response(href, &found, &[])
        }
        Asked::Names => {
            let names = props::allprop(subject);
            let found: Vec<(Name, String)> =
                names.into_iter().map(|n| (n, String::new())).collect();
            props::response(href, &found, &[])
        }
        Asked::Props(names) => {
            let (found, missing) = props::lookup(ctx.account, subject, names, None);
            props::response(href, &found, &missing)
        }
    }
}

pub async fn propfind(ctx: &Ctx<'_>, req: &Request) -> Response {
    let depth = req
        .headers
        .get("depth")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("infinity");
    let deep = match depth {
        "0" => false,
        "1" => true,
        _ => return condition(StatusCode::FORBIDDEN, DAV, "propfind-finite-depth", ""),
    };
    let asked = match asked(&req.body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let store = &ctx.state.store;
    let user = ctx.account.name.as_str();
    let mut out = Vec::new();
    match &ctx.target {
        Target::Root => {
            out.push(respond(ctx, path::ROOT, &Subject::Root, &asked));
            if deep {
                out.push(respond(
                    ctx,
                    &path::principal(user),
                    &Subject::Principal,
                    &asked,
                ));
            }
        }
        Target::Principal(_) => {
            out.push(respond(
                ctx,
                &path::principal(user),
                &Subject::Principal,
                &asked,
            ));
        }
        Target::Home(kind, _) => {
            out.push(respond(
                ctx,
                &path::home(*kind, user),
                &Subject::Home,
                &asked,
            ));
            if deep {
                let colls = match store.dav_collections(ctx.account.id, *kind).await {
                    Ok(c) => c,
                    Err(e) => return store_error(e),
                };
                for c in &colls {
                    out.push(respond(
                        ctx,
                        &path::collection(*kind, user, &c.name),
                        &Subject::Collection(c),
                        &asked,
                    ));
                }
            }
        }
        Target::Collection(kind, _, _) => {
            let coll = match ctx.collection().await {
                Ok(Some(c)) => c,
                Ok(None) => return status(StatusCode::NOT_FOUND),
                Err(e) => return store_error(e),
            };
            out.push(respond(
                ctx,
                &path::collection(*kind, user, &coll.name),
                &Subject::Collection(&coll),
                &asked,
            ));
            if deep {
                let members = match store.dav_resources(coll.id).await {
                    Ok(m) => m,
                    Err(e) => return store_error(e),
                };
                for r in &members {
                    out.push(respond(
                        ctx,
                        &path::resource(*kind, user, &coll.name, &r.name),
                        &Subject::Resource(&coll, r),
                        &asked,
                    ));
                }
            }
        }
        Target::Resource(kind, _, _, name) => {
            let coll = match ctx.collection().await {
                Ok(Some(c)) => c,
                Ok(None) => return status(StatusCode::NOT_FOUND),
                Err(e) => return store_error(e),
            };
            let r = match store.dav_resource(coll.id, name).await {
                Ok(Some(r)) => r,
                Ok(None) => return status(StatusCode::NOT_FOUND),
                Err(e) => return store_error(e),
            };
            out.push(respond(
                ctx,
                &path::resource(*kind, user, &coll.name, &r.name),
                &Subject::Resource(&coll, &r),
                &asked,
            ));
        }
    }
    multistatus(&out, "")
}

/// The collection property a PROPPATCH may set or remove, as the change.
fn change(kind: DavKind, name: &Name, value: Option<String>, p: &mut DavProps) -> bool {
    match (name.ns.as_str(), name.local.as_str()) {
        (DAV, "displayname") => p.display_name = Some(value),
        (CALDAV, "calendar-description") if kind == DavKind::Calendar => {
            p.description = Some(value)
        }
        (CARDDAV, "addressbook-description") if kind == DavKind::AddressBook => {
            p.description = Some(value)
        }
        (ICAL, "calendar-color") if kind == DavKind::Calendar => p.color = Some(value),
        (CALDAV, "calendar-timezone") if kind == DavKind::Calendar => p.timezone = Some(value),
        _ => return false,
    }
    true
}

pub async fn proppatch(ctx: &Ctx<'_>, req: &Request) -> Response {
    let Target::Collection(kind, _, _) = &ctx.target else {
        return status(StatusCode::FORBIDDEN);
    };
    let coll = match ctx.collection().await {
        Ok(Some(c)) => c,
        Ok(None) => return status(StatusCode::NOT_FOUND),
        Err(e) => return store_error(e),
    };
    let Ok(text) = std::str::from_utf8(&req.body) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let Ok(root) = xml::parse(text) else {
        return status(StatusCode::BAD_REQUEST);
    };
    if !root.is(DAV, "propertyupdate") {
        return status(StatusCode::BAD_REQUEST);
    }
    let mut props = DavProps::default();
    let mut ok: Vec<Name> = Vec::new();
    let mut refused: Vec<Name> = Vec::new();
    // In document order (RFC 4918 14.19).
    for op in &root.children {
        let set = op.is(DAV, "set");
        if !set && !op.is(DAV, "remove") {
            continue;
        }
        for prop in op.all(DAV, "prop") {
            for p in &prop.children {
                let Some(n) = &p.name else { continue };
                let value = set.then(|| p.value().to_string()).filter(|v| !v.is_empty());
                if change(*kind, n, value, &mut props) {
                    ok.push(n.clone());
                } else {
                    refused.push(n.clone());
                }
            }
        }
    }
    let propstat = |names: &[Name], code: StatusCode| {
        let inner: String = names.iter().map(|n| element(n, "")).collect();
        format!(
            "<d:propstat><d:prop>{inner}</d:prop><d:status>{}</d:status></d:propstat>",
            status_line(code)
        )
    };
    let href = path::collection(*kind, &ctx.account.name, &coll.name);
    let body = if refused.is_empty() {
        if let Err(e) = ctx.state.store.dav_collection_update(coll.id, &props).await {
            return store_error(e);
        }
        propstat(&ok, StatusCode::OK)
    } else {
        format!(
            "{}{}",
            propstat(&refused, StatusCode::FORBIDDEN),
            if ok.is_empty() {
                String::new()
            } else {
                propstat(&ok, StatusCode::FAILED_DEPENDENCY)
            }
        )
    };
    multistatus(
        &[format!(
            "<d:response><d:href>{}</d:href>{body}</d:response>",
            xml::escape(&href)
        )],
        "",
    )
}
