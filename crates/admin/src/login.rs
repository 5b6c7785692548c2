//! Signing in: the password (the account's own — app passwords are for
//! mail programs), then the TOTP code or a recovery code when the account
//! has a second factor, then a new session (the half-done one is thrown
//! away, so its cookie never becomes a signed-in one). Every failure goes
//! through the login gate: the same growing delays and locks as IMAP, and
//! an audit record; a wrong code counts like a wrong password.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tern_store::{Credential, Stage};

use crate::AdminState;
use crate::error::PageError;
use crate::session::{
    FAILURE_DELAY, MAX_DELAY, Posted, clear_cookie, client_ip, cookie, gate, lifetimes,
    same_origin, same_token, set_cookie,
};
use crate::view::Chrome;

#[derive(Deserialize, Default)]
pub struct Next {
    #[serde(default)]
    next: String,
}

/// Where to go after signing in: one of our own pages, never elsewhere.
fn safe_next(next: &str, admin: bool) -> String {
    let ours = (next.starts_with("/admin") || next.starts_with("/account"))
        && !next.contains("//")
        && !next.contains('\\')
        && next.bytes().all(|b| b.is_ascii_graphic());
    if ours && !next.starts_with("/account/login") {
        next.to_string()
    } else if admin {
        "/admin".into()
    } else {
        "/account".into()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    next: String,
    user: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "code.html")]
struct CodePage {
    c: Chrome,
    next: String,
    csrf: String,
}

pub async fn form(
    State(state): State<AdminState>,
    parts: Parts,
    Query(q): Query<Next>,
) -> Response {
    // Signed in already: straight on.
    if let Some(c) = cookie(&parts.headers)
        && let Ok(Some((s, acc))) = state.manager.session_find(&c, lifetimes(&state)).await
        && s.stage == Stage::Full
    {
        return Redirect::to(&safe_next(&q.next, acc.admin)).into_response();
    }
    LoginPage {
        c: Chrome::public("Sign in"),
        next: q.next,
        user: String::new(),
    }
    .into_response()
}

#[derive(Deserialize)]
pub struct Credentials {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

fn with_cookie(mut r: Response, value: &str) -> Response {
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(value));
    r
}

pub async fn password(
    State(state): State<AdminState>,
    parts: Parts,
    Form(f): Form<Credentials>,
) -> Result<Response, PageError> {
    if !same_origin(&parts) {
        return Err(PageError::Forbidden(
            "this form was not sent from this site's own page".into(),
        ));
    }
    let ip = client_ip(&parts);
    let mut gate = gate(&state, ip);
    let user = f.user.trim().to_string();
    if user.is_empty() || user.len() > 320 || f.password.len() > 1024 {
        return Ok(refused(&f.next, &user, "Enter your address and password."));
    }
    if !gate.check(&user) {
        return Err(PageError::TooMany);
    }
    let login = state
        .manager
        .store()
        .authenticate(&user, &f.password)
        .await
        .map_err(|e| PageError::Failed(e.to_string()))?;
    let account = match login {
        Some(l) if l.credential == Credential::Password => l.account,
        _ => {
            let wait = gate.failure(&user, FAILURE_DELAY).min(MAX_DELAY);
            tokio::time::sleep(wait).await;
            return Ok(refused(&f.next, &user, "Invalid address or password."));
        }
    };
    let ip_text = ip.map(|i| i.to_string()).unwrap_or_default();
    let two_factor = state.manager.second_factor(&account).await?.enabled;
    if two_factor {
        let half = state
            .manager
            .session_open(&account, Stage::Password, &ip_text)
            .await?;
        let to = format!(
            "/account/login/code?next={}",
            serde_urlencoded::to_string([("n", safe_next(&f.next, account.admin))])
                .unwrap_or_default()
                .trim_start_matches("n=")
        );
        return Ok(with_cookie(Redirect::to(&to).into_response(), &half.cookie));
    }
    // No per-user connection count for the web: a refusal here cannot be
    // a limit (see Gate::per_request).
    let _ = gate.success(&account.name);
    let s = state
        .manager
        .session_open(&account, Stage::Full, &ip_text)
        .await?;
    Ok(with_cookie(
        Redirect::to(&safe_next(&f.next, account.admin)).into_response(),
        &s.cookie,
    ))
}

fn refused(next: &str, user: &str, message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        LoginPage {
            c: Chrome::public("Sign in").error(message),
            next: next.to_string(),
            user: user.to_string(),
        },
    )
        .into_response()
}

/// The half-done session of this request, with its account.
async fn half_session(
    state: &AdminState,
    parts: &Parts,
) -> Result<Option<(String, tern_store::WebSession, tern_store::Account)>, PageError> {
    let Some(c) = cookie(&parts.headers) else {
        return Ok(None);
    };
    Ok(
        match state.manager.session_find(&c, lifetimes(state)).await? {
            Some((s, a)) if s.stage == Stage::Password => Some((c, s, a)),
            _ => None,
        },
    )
}

pub async fn code_form(
    State(state): State<AdminState>,
    parts: Parts,
    Query(q): Query<Next>,
) -> Result<Response, PageError> {
    let Some((_, s, _)) = half_session(&state, &parts).await? else {
        return Ok(Redirect::to("/account/login").into_response());
    };
    Ok(CodePage {
        c: Chrome::public("Second step"),
        next: q.next,
        csrf: s.csrf,
    }
    .into_response())
}

#[derive(Deserialize)]
pub struct Code {
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    csrf: String,
}

pub async fn code(
    State(state): State<AdminState>,
    parts: Parts,
    Form(f): Form<Code>,
) -> Result<Response, PageError> {
    if !same_origin(&parts) {
        return Err(PageError::Forbidden(
            "this form was not sent from this site's own page".into(),
        ));
    }
    let Some((cookie, s, account)) = half_session(&state, &parts).await? else {
        return Ok(Redirect::to("/account/login").into_response());
    };
    if !same_token(&f.csrf, &s.csrf) {
        return Err(PageError::Forbidden(
            "this form has expired: sign in again".into(),
        ));
    }
    let ip = client_ip(&parts);
    let mut gate = gate(&state, ip);
    if !gate.check(&account.name) {
        return Err(PageError::TooMany);
    }
    if f.code.len() > 64 || !state.manager.second_factor_check(&account, &f.code).await? {
        let wait = gate
            .second_factor_failure(&account.name, FAILURE_DELAY)
            .min(MAX_DELAY);
        tokio::time::sleep(wait).await;
        return Ok((
            StatusCode::UNAUTHORIZED,
            CodePage {
                c: Chrome::public("Second step")
                    .error("That code is not right (or was used already)."),
                next: f.next,
                csrf: s.csrf,
            },
        )
            .into_response());
    }
    let _ = gate.success(&account.name);
    state.manager.session_end(&cookie).await?;
    let ip_text = ip.map(|i| i.to_string()).unwrap_or_default();
    let full = state
        .manager
        .session_open(&account, Stage::Full, &ip_text)
        .await?;
    Ok(with_cookie(
        Redirect::to(&safe_next(&f.next, account.admin)).into_response(),
        &full.cookie,
    ))
}

#[derive(Deserialize)]
pub struct Nothing {}

fn signed_out() -> Response {
    let mut r = Redirect::to("/account/login").into_response();
    r.headers_mut().insert(header::SET_COOKIE, clear_cookie());
    r
}

pub async fn logout(
    State(state): State<AdminState>,
    p: Posted<Nothing>,
) -> Result<Response, PageError> {
    state.manager.session_end(&p.who.cookie).await?;
    Ok(signed_out())
}

/// Every session of the account ends, on every browser and node.
pub async fn logout_all(
    State(state): State<AdminState>,
    p: Posted<Nothing>,
) -> Result<Response, PageError> {
    state.manager.sessions_end_all(&p.who.account).await?;
    Ok(signed_out())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, rng_seed: proptest::test_runner::RngSeed::Fixed(21), ..ProptestConfig::default() })]

        /// Whatever `next` says, the destination is one of our own pages.
        #[test]
        fn any_next_leads_to_our_own_pages(next in "\\PC{0,80}", admin: bool) {
            let to = safe_next(&next, admin);
            prop_assert!(to.starts_with("/admin") || to.starts_with("/account"), "{to}");
            prop_assert!(!to.contains("//") && !to.contains('\\'), "{to}");
            prop_assert!(to.bytes().all(|b| b.is_ascii_graphic()), "{to}");
        }
    }

    #[test]
    fn after_login_only_our_own_pages_are_a_destination() {
        assert_eq!(safe_next("/admin/users", false), "/admin/users");
        assert_eq!(safe_next("https://evil.example/", true), "/admin");
        assert_eq!(safe_next("//evil.example/admin", true), "/admin");
        assert_eq!(safe_next("/admin\\..", false), "/account");
        assert_eq!(safe_next("/account/login", false), "/account");
        assert_eq!(safe_next("", false), "/account");
    }
}
