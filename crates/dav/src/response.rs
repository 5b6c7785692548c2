//! Responses: plain statuses, `207 Multi-Status` bodies, and errors that
//! name the precondition that failed (RFC 4918 16, RFC 4791 5.3.2.1).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tern_store::StoreError;

use crate::xml::{NAMESPACES, Name, element};

pub fn status(code: StatusCode) -> Response {
    (code, [(header::CONTENT_LENGTH, "0")]).into_response()
}

fn xml(code: StatusCode, body: String) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{body}"),
    )
        .into_response()
}

/// `207 Multi-Status` with these `<d:response>` elements.
pub fn multistatus(responses: &[String], extra: &str) -> Response {
    xml(
        StatusCode::MULTI_STATUS,
        format!(
            "<d:multistatus {NAMESPACES}>{}{extra}</d:multistatus>",
            responses.concat()
        ),
    )
}

/// An error naming the precondition (or postcondition) that failed, with
/// its content (an href, say).
pub fn condition(code: StatusCode, ns: &str, local: &str, inner: &str) -> Response {
    xml(
        code,
        format!(
            "<d:error {NAMESPACES}>{}</d:error>",
            element(&Name::new(ns, local), inner)
        ),
    )
}

/// `HTTP/1.1 <code> <reason>` as a `<d:status>` says it.
pub fn status_line(code: StatusCode) -> String {
    format!(
        "HTTP/1.1 {} {}",
        code.as_u16(),
        code.canonical_reason().unwrap_or("")
    )
}

/// What a store error is on the wire.
pub fn store_error(e: StoreError) -> Response {
    match e {
        StoreError::NotFound(_) => status(StatusCode::NOT_FOUND),
        StoreError::Duplicate(_) => status(StatusCode::METHOD_NOT_ALLOWED),
        StoreError::DavPreconditionFailed => status(StatusCode::PRECONDITION_FAILED),
        StoreError::OverQuota { .. } => condition(
            StatusCode::INSUFFICIENT_STORAGE,
            crate::xml::DAV,
            "quota-not-exceeded",
            "",
        ),
        StoreError::Invalid(m) => (StatusCode::BAD_REQUEST, format!("{m}\n")).into_response(),
        e => {
            tracing::error!(error = %e, "dav: store error");
            status(StatusCode::SERVICE_UNAVAILABLE)
        }
    }
}
