//! Who is asking: HTTP Basic (RFC 7617) with the account's password or an
//! app password, only ever over TLS (DAV is routed on `https` alone),
//! through the login gate — throttled, counted and audited like an IMAP
//! login. A request without credentials gets 401 and the challenge, as
//! clients that probe first expect.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tern_common::Address;
use tern_common::gate::Gate;
use tern_store::Account;

use crate::DavState;

const CHALLENGE: &str = "Basic realm=\"tern\", charset=\"UTF-8\"";
const FAILURE_DELAY: Duration = Duration::from_millis(500);
const MAX_DELAY: Duration = Duration::from_secs(5);

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, CHALLENGE)],
        "sign in with your address and password\n",
    )
        .into_response()
}

/// The account of a valid `Authorization: Basic`, or the response to send.
pub async fn login(
    state: &DavState,
    ip: Option<IpAddr>,
    headers: &HeaderMap,
) -> Result<Account, Response> {
    let decoded = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Basic"))
        .and_then(|(_, c)| STANDARD.decode(c.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    // RFC 7617 2: user-id ":" password; the user-id has no colon.
    let Some((user, pass)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Err(unauthorized());
    };
    let mut gate = match ip {
        Some(ip) => Gate::per_request(state.security.clone(), ip, "dav"),
        None => Gate::open("dav"),
    };
    if !gate.check(user) {
        return Err((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "60")],
            "too many failed logins\n",
        )
            .into_response());
    }
    match state.store.authenticate(user, pass).await {
        Ok(Some(login)) => {
            if gate.success(&login.account.name).is_err() {
                return Err(StatusCode::TOO_MANY_REQUESTS.into_response());
            }
            Ok(login.account)
        }
        Ok(None) => {
            let wait = gate.failure(user, FAILURE_DELAY).min(MAX_DELAY);
            tokio::time::sleep(wait).await;
            Err(unauthorized())
        }
        Err(e) => Err(crate::response::store_error(e)),
    }
}

/// Whether the user named in a path is this account (any of its
/// addresses, compared as normalised addresses).
pub fn same_account(user: &str, account: &Account) -> bool {
    let Ok(a) = Address::parse(user) else {
        return false;
    };
    let a = a.to_string();
    a == account.name || account.addresses.contains(&a)
}
