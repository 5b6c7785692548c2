//! Who is calling. The management endpoints take a bearer token
//! (`Authorization: Bearer tern_…`, RFC 6750 2.1) and act within its
//! scope; `/me` takes the user's own address and password (HTTP Basic,
//! RFC 7617). Both only ever arrive over TLS: the API is routed on the
//! `https` listener alone. Every failure goes through the login gate —
//! throttled, counted and audited like a failed IMAP login — and a
//! locked-out client gets 429.

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tern_common::gate::Gate;
use tern_manage::Scope;
use tern_store::{Account, Credential};

use super::error::ApiError;
use crate::client::ClientIp;
use crate::state::AppState;

/// The name the login throttle counts bad bearer tokens under (a token has
/// no user name; the client's address is what gets throttled).
const TOKEN_USER: &str = "api-token";
/// The fixed wait before a refusal when the throttle asks for none.
const FAILURE_DELAY: Duration = Duration::from_millis(500);
/// The longest wait before a refusal: the throttle's delays grow, a
/// request's time does not.
const MAX_DELAY: Duration = Duration::from_secs(5);
/// What a locked-out client is told to wait, in seconds.
const LOCKED_RETRY: u64 = 60;

/// A caller with a valid token: its scope, and its name for the log.
pub struct Caller {
    pub scope: Scope,
    pub token: String,
}

/// A user signed in with the account's own password.
pub struct User {
    pub account: Account,
}

fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<ClientIp>().map(|c| c.0)
}

fn gate(state: &AppState, parts: &Parts) -> Gate {
    match client_ip(parts) {
        Some(ip) => Gate::per_request(state.security.clone(), ip, "http"),
        None => Gate::open("http"),
    }
}

/// The credentials of `Authorization: <scheme> <credentials>`, if that is
/// the scheme (compared without case, RFC 9110 11.1).
fn credentials<'a>(parts: &'a Parts, scheme: &str) -> Option<&'a str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (s, rest) = v.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

async fn refuse(gate: &Gate, user: &str, message: &str, challenge: &'static str) -> ApiError {
    let wait = gate.failure(user, FAILURE_DELAY).min(MAX_DELAY);
    tokio::time::sleep(wait).await;
    ApiError::unauthorized(message, challenge)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        const CHALLENGE: &str = "Bearer realm=\"tern\"";
        let Some(secret) = credentials(parts, "Bearer") else {
            return Err(ApiError::unauthorized(
                "a bearer token is required (Authorization: Bearer …)",
                CHALLENGE,
            ));
        };
        let gate = gate(state, parts);
        if !gate.check(TOKEN_USER) {
            return Err(ApiError::too_many(LOCKED_RETRY));
        }
        match super::manager(state).token_scope(secret).await? {
            Some((t, scope)) => Ok(Caller {
                scope,
                token: t.name,
            }),
            None => Err(refuse(
                &gate,
                TOKEN_USER,
                "the token is invalid, expired or revoked",
                CHALLENGE,
            )
            .await),
        }
    }
}

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        const CHALLENGE: &str = "Basic realm=\"tern\", charset=\"UTF-8\"";
        let decoded = credentials(parts, "Basic")
            .and_then(|c| STANDARD.decode(c).ok())
            .and_then(|b| String::from_utf8(b).ok());
        // RFC 7617 2: user-id ":" password; the user-id has no colon.
        let Some((user, pass)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Err(ApiError::unauthorized(
                "sign in with your address and password (HTTP Basic)",
                CHALLENGE,
            ));
        };
        let mut gate = gate(state, parts);
        if !gate.check(user) {
            return Err(ApiError::too_many(LOCKED_RETRY));
        }
        match state.store.authenticate(user, pass).await? {
            // App passwords are for mail clients; the account itself is
            // managed with its own password.
            Some(login) if login.credential == Credential::Password => {
                if gate.success(&login.account.name).is_err() {
                    return Err(ApiError::too_many(LOCKED_RETRY));
                }
                Ok(User {
                    account: login.account,
                })
            }
            _ => Err(refuse(&gate, user, "invalid address or password", CHALLENGE).await),
        }
    }
}
