//! The API's errors: `{"error": {"code", "message", "field"}}` with the
//! status that says what happened (RFC 9110 15). The management layer's
//! errors map one to one; the API adds what only HTTP has: a body that is
//! not JSON (400), no or a bad credential (401), too many failed logins
//! (429).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `conflict`, `invalid`, `too_many_requests`, `unavailable`.
    pub code: String,
    pub message: String,
    /// The input field the error is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// `WWW-Authenticate` for a 401 (RFC 9110 11.6.1).
    pub challenge: Option<&'static str>,
    /// `Retry-After` seconds for a 429 (RFC 9110 10.2.3).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                code: code.into(),
                message: message.into(),
                field: None,
            },
            challenge: None,
            retry_after: None,
        }
    }

    /// A body that is not the JSON this endpoint takes.
    pub fn bad_request(message: impl Into<String>, field: Option<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message);
        e.body.field = field;
        e
    }

    pub fn unauthorized(message: impl Into<String>, challenge: &'static str) -> ApiError {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
        e.challenge = Some(challenge);
        e
    }

    pub fn too_many(retry_after: u64) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many failed logins from here; try again later",
        );
        e.retry_after = Some(retry_after);
        e
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl From<tern_manage::Error> for ApiError {
    fn from(e: tern_manage::Error) -> ApiError {
        let status =
            StatusCode::from_u16(e.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = serde_json::to_value(e.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "unavailable".into());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // The details (a database error) are for the log, not the client.
            tracing::warn!(error = %e.message, "api: operation failed");
            return ApiError::unavailable("the server cannot do this now; try again later");
        }
        ApiError {
            status,
            body: ErrorBody {
                code,
                message: e.message,
                field: e.field,
            },
            challenge: None,
            retry_after: None,
        }
    }
}

impl From<tern_store::StoreError> for ApiError {
    fn from(e: tern_store::StoreError) -> ApiError {
        tern_manage::Error::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(ErrorResponse { error: self.body })).into_response();
        if let Some(c) = self.challenge {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(c));
        }
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}
