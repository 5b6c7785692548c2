//! Who is asking: HTTP Basic (RFC 7617) with the account's password or an
//! app password, only ever over TLS (DAV is routed on `https` alone),
//! through the login gate — throttled, counted and audited like an IMAP
//! login. A request without credentials gets 401 and the challenge, as
//! clients that probe first expect.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lc_rs::hmac;

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
/// How long a verified login is taken again without the hash.
const CACHE_TTL: Duration = Duration::from_secs(60);
/// Logins remembered at most (then the cache starts again).
const CACHE_MAX: usize = 10_000;

/// Recently verified credentials. A DAV client sends dozens of requests
/// per sync, each with its Basic credentials; an argon2id check (some 40
/// ms of a core) for every one would be most of the server's work. A
/// login verified in the last `CACHE_TTL` is taken again without the
/// hash: the key is an HMAC of user and password under a key made at
/// start (no password is kept), and a changed password, a new app
/// password or a disabled account takes effect within `CACHE_TTL`.
pub struct LoginCache {
    key: hmac::Key,
    seen: Mutex<HashMap<Vec<u8>, (Account, Instant)>>,
}

impl Default for LoginCache {
    fn default() -> LoginCache {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .unwrap_or_else(|_| hmac::Key::new(hmac::HMAC_SHA256, &rand_fallback()));
        LoginCache {
            key,
            seen: Mutex::new(HashMap::new()),
        }
    }
}

/// A key from the clock and the process id, should the system's random
/// source fail (it does not on Linux).
fn rand_fallback() -> [u8; 32] {
    let mut out = [0u8; 32];
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    out[..16].copy_from_slice(&t.to_le_bytes());
    out[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    out
}

impl LoginCache {
    fn tag(&self, user: &str, pass: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(user.as_bytes());
        ctx.update(&[0]);
        ctx.update(pass.as_bytes());
        ctx.sign().as_ref().to_vec()
    }

    fn get(&self, tag: &[u8]) -> Option<Account> {
        let seen = self.seen.lock().ok()?;
        let (account, at) = seen.get(tag)?;
        (at.elapsed() < CACHE_TTL).then(|| account.clone())
    }

    fn put(&self, tag: Vec<u8>, account: &Account) {
        if let Ok(mut seen) = self.seen.lock() {
            if seen.len() >= CACHE_MAX {
                seen.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
                if seen.len() >= CACHE_MAX {
                    seen.clear();
                }
            }
            seen.insert(tag, (account.clone(), Instant::now()));
        }
    }
}

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
    let tag = state.logins.tag(user, pass);
    if let Some(account) = state.logins.get(&tag) {
        return Ok(account);
    }
    match state.store.authenticate(user, pass).await {
        Ok(Some(login)) => {
            if gate.success(&login.account.name).is_err() {
                return Err(StatusCode::TOO_MANY_REQUESTS.into_response());
            }
            state.logins.put(tag, &login.account);
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
