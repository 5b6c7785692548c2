//! The admin pages (`/admin`): each handler takes `Admin` (a signed-in
//! administrator) or `AdminPosted` (the same, with a checked form), makes
//! its `tern_manage` calls with `Scope::Admin`, and renders a template.
//! A refusal the admin can act on (an invalid name, a conflict) is shown
//! on the page; anything else is an error page.

mod audit;
mod dashboard;
mod domains;
mod queue;
mod reports;
mod settings;
mod users;

use axum::Router;
use axum::routing::{get, post};

use crate::AdminState;
use crate::error::PageError;

pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/admin", get(dashboard::page))
        .route("/admin/", get(dashboard::page))
        .route("/admin/domains", get(domains::list).post(domains::add))
        .route("/admin/domains/view", get(domains::view))
        .route("/admin/domains/dkim", post(domains::dkim))
        .route("/admin/domains/remove", post(domains::remove))
        .route("/admin/domains/policy", post(domains::policy))
        .route("/admin/users", get(users::list).post(users::add))
        .route("/admin/users/view", get(users::view))
        .route("/admin/users/password", post(users::password))
        .route("/admin/users/quota", post(users::quota))
        .route("/admin/users/admin", post(users::admin))
        .route("/admin/users/disable", post(users::disable))
        .route("/admin/users/reset-totp", post(users::reset_totp))
        .route(
            "/admin/users/app-passwords/revoke",
            post(users::revoke_app_password),
        )
        .route("/admin/users/send-as", post(users::send_as_add))
        .route("/admin/users/send-as/remove", post(users::send_as_remove))
        .route("/admin/users/remove", post(users::remove))
        .route("/admin/aliases", get(users::aliases).post(users::alias_add))
        .route("/admin/aliases/remove", post(users::alias_remove))
        .route("/admin/queue", get(queue::list))
        .route("/admin/queue/view", get(queue::view))
        .route("/admin/queue/retry", post(queue::retry))
        .route("/admin/queue/remove", post(queue::remove))
        .route("/admin/audit", get(audit::page))
        .route("/admin/reports", get(reports::list))
        .route("/admin/reports/view", get(reports::view))
        .route("/admin/settings", get(settings::page))
}

/// The message of a refusal the admin can act on; anything else fails
/// the page.
pub fn refusal(e: tern_manage::Error) -> Result<String, PageError> {
    if e.code.is_callers() {
        Ok(e.message)
    } else {
        Err(e.into())
    }
}
