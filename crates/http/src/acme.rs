//! `/.well-known/acme-challenge/{token}` on plain `http` (RFC 8555 8.3):
//! the key authorization of an open http-01 challenge, from this node's
//! memory or, when another node ordered, from the store. Anything else
//! there is 404.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// RFC 8555 8.1: a token is base64url; CAs use 43 characters. Anything
/// longer or with other characters is not one of ours.
const MAX_TOKEN: usize = 128;

fn is_token(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= MAX_TOKEN
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub async fn http01(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    if !is_token(&token) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let local = state.challenges.as_ref().and_then(|c| c.http(&token));
    let answer = match local {
        Some(a) => Some(a),
        None => match state
            .store
            .acme_answer_get(&format!("http-01:{token}"))
            .await
        {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "http acme challenge lookup failed");
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        },
    };
    match answer {
        Some(ka) => ([(header::CONTENT_TYPE, "application/octet-stream")], ka).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_base64url_tokens_of_bounded_length_are_looked_up() {
        assert!(is_token("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
        assert!(!is_token(""));
        assert!(!is_token("../etc"));
        assert!(!is_token(&"a".repeat(129)));
    }
}
