//! Who is asking, and whether a form may change anything.
//!
//! The session cookie is 256 random bits (`tern_manage::session_open`);
//! the store keeps its SHA-256 only, so a copy of the store signs nobody
//! in, and any node finds the session. It is sent `Secure; HttpOnly;
//! SameSite=Strict; Path=/`. A session is either half-done (right
//! password, second factor owed: it opens no page) or signed in.
//!
//! Every form that changes something is a POST carrying the session's
//! CSRF token, and every POST passes `same_origin`: a browser's
//! `Sec-Fetch-Site` must say `same-origin`, and an `Origin` must be this
//! host. Either failing is 403 before anything is read or changed. The
//! pages are sent with `Referrer-Policy: same-origin` so that browsers
//! name our origin on our own forms.

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tern_common::gate::Gate;
use tern_manage::Lifetimes;
use tern_store::{Account, Stage, WebSession};

use crate::error::PageError;
use crate::view::Chrome;
use crate::{AdminState, ClientIp};

pub const COOKIE: &str = "tern_session";

/// The cookie's value in a request, if any.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    for v in headers.get_all(header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for pair in v.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=')
                && k == COOKIE
            {
                return Some(val.to_string());
            }
        }
    }
    None
}

/// `Set-Cookie` for a new session (RFC 6265 4.1): gone when the browser
/// closes, never sent cross-site, never readable by scripts.
pub fn set_cookie(value: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("tern_session=; Path=/"))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("tern_session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict")
}

pub fn lifetimes(state: &AdminState) -> Lifetimes {
    Lifetimes {
        idle: state.config.admin.idle_secs as i64,
        max: state.config.admin.max_secs as i64,
    }
}

pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<ClientIp>().map(|c| c.0)
}

/// The fixed wait before a refusal when the throttle asks for none.
pub const FAILURE_DELAY: Duration = Duration::from_millis(500);
/// The longest wait before answering: the throttle's delays grow, a
/// request's time does not.
pub const MAX_DELAY: Duration = Duration::from_secs(5);

/// The login gate for one request: throttling and audit as "web".
pub fn gate(state: &AdminState, ip: Option<IpAddr>) -> Gate {
    match ip {
        Some(ip) => Gate::per_request(state.security.clone(), ip, "web"),
        None => Gate::open("web"),
    }
}

/// The authority the client asked for (`Host`, or HTTP/2's
/// `:authority`), lower case.
fn authority(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .map(|a| a.to_ascii_lowercase())
}

/// May this unsafe request have come from our own pages? (Fetch Metadata
/// `Sec-Fetch-Site`, and RFC 6454 `Origin` against the requested host.)
pub fn same_origin(parts: &Parts) -> bool {
    if parts.method == Method::GET || parts.method == Method::HEAD {
        return true;
    }
    let fetched = parts.headers.get("sec-fetch-site");
    if let Some(site) = fetched {
        let ok = matches!(site.to_str(), Ok("same-origin") | Ok("none"));
        if !ok {
            return false;
        }
    }
    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        // A browser whose referrer policy is `no-referrer` sends `null`
        // even from our own page (Fetch, "serializing a request origin");
        // its `Sec-Fetch-Site`, which no page can set, then decides.
        if origin == "null" {
            return fetched.is_some();
        }
        let host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        return match (host, authority(parts)) {
            (Some(h), Some(a)) => h.eq_ignore_ascii_case(&a),
            _ => false,
        };
    }
    true
}

/// Constant-time comparison of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A request from a signed-in user (the second factor done, if the
/// account has one). Without one: to the login page.
pub struct Signed {
    pub account: Account,
    pub session: WebSession,
    pub cookie: String,
    pub ip: Option<IpAddr>,
}

impl Signed {
    pub fn csrf(&self) -> &str {
        &self.session.csrf
    }

    /// The frame of a page for this user: the navigation their role
    /// opens, and the token its forms carry.
    pub fn chrome(&self, title: &str, section: &'static str) -> Chrome {
        Chrome {
            title: title.to_string(),
            user: self.account.name.clone(),
            admin: self.account.admin,
            csrf: self.csrf().to_string(),
            section,
            ..Chrome::default()
        }
    }
}

/// Where to send someone who is not signed in: the login page, back to
/// this page afterwards (a path of ours only).
fn to_login(parts: &Parts) -> PageError {
    let path = parts.uri.path();
    let next = if parts.method == Method::GET
        && (path.starts_with("/admin") || path.starts_with("/account"))
    {
        path
    } else {
        "/account"
    };
    PageError::Login(next.to_string())
}

impl FromRequestParts<AdminState> for Signed {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Self, PageError> {
        let Some(c) = cookie(&parts.headers) else {
            return Err(to_login(parts));
        };
        match state.manager.session_find(&c, lifetimes(state)).await? {
            Some((session, account)) if session.stage == Stage::Full => Ok(Signed {
                account,
                session,
                cookie: c,
                ip: client_ip(parts),
            }),
            _ => Err(to_login(parts)),
        }
    }
}

/// A signed-in administrator; anyone else gets 403.
pub struct Admin(pub Signed);

impl FromRequestParts<AdminState> for Admin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Self, PageError> {
        let s = Signed::from_request_parts(parts, state).await?;
        if !s.account.admin {
            return Err(PageError::Forbidden(
                "this account is not an administrator".into(),
            ));
        }
        Ok(Admin(s))
    }
}

#[derive(Deserialize)]
struct Token {
    #[serde(default)]
    csrf: String,
}

/// A form posted by a signed-in user from our own page: origin checked,
/// CSRF token checked, then the fields as `T`.
pub struct Posted<T> {
    pub who: Signed,
    pub form: T,
}

/// `Posted`, for administrators only.
pub struct AdminPosted<T> {
    pub who: Signed,
    pub form: T,
}

async fn posted<T: DeserializeOwned>(
    req: Request,
    state: &AdminState,
    admin: bool,
) -> Result<(Signed, T), PageError> {
    let (mut parts, body) = req.into_parts();
    if !same_origin(&parts) {
        return Err(PageError::Forbidden(
            "this form was not sent from this site's own page".into(),
        ));
    }
    let who = if admin {
        Admin::from_request_parts(&mut parts, state).await?.0
    } else {
        Signed::from_request_parts(&mut parts, state).await?
    };
    let req = Request::from_parts(parts, body);
    let bytes = axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|_| PageError::Bad("the form could not be read".into()))?;
    let t: Token = serde_urlencoded::from_bytes(&bytes).unwrap_or(Token {
        csrf: String::new(),
    });
    if !same_token(&t.csrf, who.csrf()) {
        return Err(PageError::Forbidden(
            "this form has expired or did not come from this site: reload the page".into(),
        ));
    }
    let form = serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| PageError::Bad(format!("the form is not complete: {e}")))?;
    Ok((who, form))
}

impl<T: DeserializeOwned + Send> FromRequest<AdminState> for Posted<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AdminState) -> Result<Self, PageError> {
        let (who, form) = posted(req, state, false).await?;
        Ok(Posted { who, form })
    }
}

impl<T: DeserializeOwned + Send> FromRequest<AdminState> for AdminPosted<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AdminState) -> Result<Self, PageError> {
        let (who, form) = posted(req, state, true).await?;
        Ok(AdminPosted { who, form })
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Request;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, rng_seed: proptest::test_runner::RngSeed::Fixed(21), ..ProptestConfig::default() })]

        /// Hostile header values: no panic, and an `Origin` that is not
        /// exactly this host is refused.
        #[test]
        fn hostile_origins_and_cookies_are_read_safely(
            origin in proptest::collection::vec(any::<u8>(), 0..64),
            site in "\\PC{0,20}",
            cookie_header in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut b = Request::builder().method("POST").uri("/admin").header("host", "mail.example.org");
            if let Ok(v) = HeaderValue::from_bytes(&origin) {
                b = b.header("origin", v);
            }
            if let Ok(v) = HeaderValue::from_str(&site) {
                b = b.header("sec-fetch-site", v);
            }
            if let Ok(v) = HeaderValue::from_bytes(&cookie_header) {
                b = b.header("cookie", v);
            }
            let p = b.body(()).unwrap().into_parts().0;
            let ok = same_origin(&p);
            let o = p.headers.get(header::ORIGIN).map(|v| v.as_bytes().to_vec());
            if let Some(o) = o
                && o != b"null"
                && o != b"https://mail.example.org"
                && o != b"http://mail.example.org"
                && !o.eq_ignore_ascii_case(b"https://mail.example.org")
                && !o.eq_ignore_ascii_case(b"http://mail.example.org")
            {
                prop_assert!(!ok, "{:?}", String::from_utf8_lossy(&o));
            }
            let _ = cookie(&p.headers);
        }
    }

    fn parts(method: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = Request::builder().method(method).uri("/admin/users");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn a_post_from_another_origin_or_site_is_refused() {
        let host = ("host", "mail.example.org:8443");
        assert!(same_origin(&parts("POST", &[host])), "no browser headers");
        assert!(same_origin(&parts(
            "POST",
            &[
                host,
                ("origin", "https://mail.example.org:8443"),
                ("sec-fetch-site", "same-origin")
            ]
        )));
        assert!(!same_origin(&parts(
            "POST",
            &[host, ("origin", "https://evil.example")]
        )));
        assert!(!same_origin(&parts("POST", &[host, ("origin", "null")])));
        assert!(same_origin(&parts(
            "POST",
            &[host, ("origin", "null"), ("sec-fetch-site", "same-origin")]
        )));
        assert!(!same_origin(&parts(
            "POST",
            &[host, ("origin", "null"), ("sec-fetch-site", "cross-site")]
        )));
        assert!(!same_origin(&parts(
            "POST",
            &[host, ("sec-fetch-site", "cross-site")]
        )));
        assert!(!same_origin(&parts(
            "POST",
            &[host, ("sec-fetch-site", "same-site")]
        )));
        assert!(same_origin(&parts(
            "GET",
            &[host, ("sec-fetch-site", "cross-site")]
        )));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let p = parts("GET", &[("cookie", "a=b; tern_session=abc; c=d")]);
        assert_eq!(cookie(&p.headers).as_deref(), Some("abc"));
        assert_eq!(cookie(&parts("GET", &[]).headers), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abcd", "abcd"));
        assert!(!same_token("abcd", "abce"));
        assert!(!same_token("", "abcd"));
    }
}
