//! What a page answers when it cannot do what was asked: a page saying
//! so, with the status that fits, or the login page.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::view::Chrome;

#[derive(Debug)]
pub enum PageError {
    /// Not signed in: to the login page, then back to this path.
    Login(String),
    Forbidden(String),
    NotFound(String),
    Bad(String),
    /// Locked out by the login throttle.
    TooMany,
    Failed(String),
}

impl From<tern_manage::Error> for PageError {
    fn from(e: tern_manage::Error) -> PageError {
        use tern_manage::Code;
        match e.code {
            Code::NotFound => PageError::NotFound(e.message),
            Code::Forbidden => PageError::Forbidden(e.message),
            Code::Invalid | Code::Conflict => PageError::Bad(e.message),
            _ => PageError::Failed(e.message),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    message: String,
}

/// `next` percent-encoded for a query string.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            PageError::Login(next) => {
                return Redirect::to(&format!("/account/login?next={}", encode(&next)))
                    .into_response();
            }
            PageError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
            PageError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            PageError::Bad(m) => (StatusCode::BAD_REQUEST, "Not done", m),
            PageError::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                "Too many failed attempts from here: wait a while and try again.".to_string(),
            ),
            PageError::Failed(m) => {
                tracing::warn!(error = %m, "admin page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something failed",
                    "The server could not do that now; the log says why.".to_string(),
                )
            }
        };
        let mut r = (
            status,
            ErrorPage {
                c: Chrome::public(title),
                message,
            },
        )
            .into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
        }
        r
    }
}
