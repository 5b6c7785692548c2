//! Where the JSON management API (`/api/v1`) is added: `routes` is merged
//! into the `https` router only (never plain `http`), after the security
//! headers, body limit and request time-out layers, with `AppState` (the
//! store, the config, `Security` for the login gate) as its state.

use axum::Router;

use crate::state::AppState;

/// The API's routes, nested under `/api/v1` by `router`. Empty until the
/// API lands; an unknown path under it is a 404 like any other.
pub fn routes() -> Router<AppState> {
    Router::new()
}
