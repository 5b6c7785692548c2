//! The audit log, filtered by kind, account, address and time.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tern_common::audit::AuditKind;
use tern_manage::{AuditSearch, Scope};

use super::dashboard::Event;
use crate::AdminState;
use crate::error::PageError;
use crate::session::Admin;
use crate::view::Chrome;

/// The most records one page shows.
const PAGE: i64 = 200;

#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    ip: String,
    /// `YYYY-MM-DD`, from the start of that day (UTC).
    #[serde(default)]
    since: String,
    /// `YYYY-MM-DD`, to the end of that day (UTC).
    #[serde(default)]
    until: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
struct Page {
    c: Chrome,
    kinds: Vec<&'static str>,
    f: Filter,
    events: Vec<Event>,
}

/// The start of a `YYYY-MM-DD` day, in seconds since the epoch.
fn day_start(s: &str) -> Result<Option<i64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || format!("{s:?} is not a date (YYYY-MM-DD)");
    let mut it = s.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (it.next(), it.next(), it.next()) else {
        return Err(bad());
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return Err(bad());
    };
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    Ok(Some(tern_common::time::days_from_civil(y, m, d) * 86_400))
}

fn none_if_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

pub async fn page(
    State(state): State<AdminState>,
    Admin(who): Admin,
    Query(f): Query<Filter>,
) -> Result<Response, PageError> {
    let mut c = who.chrome("Audit log", "audit");
    let mut events = Vec::new();
    match (day_start(&f.since), day_start(&f.until)) {
        (Ok(since), Ok(until)) => {
            let q = AuditSearch {
                since: since.unwrap_or(0),
                until: until.map(|u| u + 86_400),
                kind: none_if_empty(&f.kind),
                account: none_if_empty(&f.account).map(|a| a.to_lowercase()),
                ip: none_if_empty(&f.ip),
                limit: PAGE,
            };
            match state.manager.audit_search(&Scope::Admin, &q).await {
                Ok(rows) => events = rows.into_iter().map(Event::from).collect(),
                Err(e) => c = c.error(super::refusal(e)?),
            }
        }
        (Err(e), _) | (_, Err(e)) => c = c.error(e),
    }
    Ok(Page {
        c,
        kinds: AuditKind::ALL.iter().map(|k| k.name()).collect(),
        f,
        events,
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_read_strictly() {
        assert_eq!(day_start(""), Ok(None));
        assert_eq!(day_start("1970-01-02"), Ok(Some(86_400)));
        assert!(day_start("2026-13-01").is_err());
        assert!(day_start("yesterday").is_err());
    }
}
