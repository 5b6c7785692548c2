//! Query parameters, refused with the API's own 400 (not axum's text).

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tern_manage::PageRequest;
use utoipa::IntoParams;

use super::error::ApiError;

/// Query parameters of type `T`.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(t)| Params(t))
            .map_err(|e| ApiError::bad_request(e.body_text(), None))
    }
}

/// A page of a list: at most `limit` items (1 to 1000, default 100) after
/// `cursor` (the `next_cursor` of the page before).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn request(&self) -> PageRequest {
        PageRequest {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }
}

/// A page of a list, of one domain or of every domain in the token's
/// scope.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DomainPageQuery {
    pub domain: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

impl DomainPageQuery {
    pub fn request(&self) -> PageRequest {
        PageRequest {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }
}
