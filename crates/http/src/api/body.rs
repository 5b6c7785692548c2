//! Request bodies: JSON only, read within the router's body limit, and a
//! refusal that names the field at fault (`serde_path_to_error`), so a
//! script learns what to fix.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON request body of type `T`.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(ApiError::bad_request(
                "the body must be JSON (Content-Type: application/json)",
                None,
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text(), None))?;
        parse(&bytes).map(JsonBody)
    }
}

/// `T` from JSON, or a 400 naming the field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        // A missing field is reported at its parent: take its name from
        // serde's message (`missing field `address``).
        let field = if path == "." {
            message
                .split('`')
                .nth(1)
                .filter(|_| message.starts_with("missing field"))
                .map(str::to_string)
        } else {
            Some(path)
        };
        ApiError::bad_request(format!("invalid JSON: {message}"), field)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        address: String,
        quota: Option<u64>,
    }

    #[test]
    fn refusals_name_the_field() {
        let e = parse::<T>(br#"{"quota": 5}"#).unwrap_err();
        assert_eq!(e.body.field.as_deref(), Some("address"));
        let e = parse::<T>(br#"{"address": "a@b.c", "quota": "lots"}"#).unwrap_err();
        assert_eq!(e.body.field.as_deref(), Some("quota"));
        let e = parse::<T>(br#"{"address": 1"#).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        assert!(parse::<T>(br#"{"address": "a@b.c"}"#).is_ok());
    }
}
