//! The dashboard: today's mail, the queue, connections, the certificate,
//! the disk, and the latest security events.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use tern_manage::Scope;

use crate::AdminState;
use crate::error::PageError;
use crate::session::Admin;
use crate::view::{Chrome, age, bytes, when};

pub struct Event {
    pub at: String,
    pub kind: String,
    pub account: String,
    pub ip: String,
    pub detail: String,
}

impl From<tern_manage::AuditEntry> for Event {
    fn from(e: tern_manage::AuditEntry) -> Event {
        Event {
            at: when(e.at),
            kind: e.kind,
            account: e.account.unwrap_or_default(),
            ip: e.ip.unwrap_or_default(),
            detail: e.detail,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
struct Dashboard {
    c: Chrome,
    received: i64,
    sent: i64,
    bounced: i64,
    queue_depth: i64,
    queue_oldest: String,
    connections: u32,
    certificate: String,
    certificate_ok: bool,
    disk: String,
    disk_ok: bool,
    events: Vec<Event>,
}

/// The served certificate's subject and days left; false when expired or
/// within a week of it.
fn certificate(state: &AdminState) -> (String, bool) {
    let Some(slot) = &state.cert else {
        return ("no TLS certificate configured".into(), false);
    };
    let key = slot.current();
    let Some(leaf) = key.cert.first() else {
        return ("no certificate".into(), false);
    };
    match x509_parser::parse_x509_certificate(leaf.as_ref()) {
        Ok((_, c)) => {
            let not_after = c.validity().not_after.timestamp();
            let days = (not_after - tern_common::time::now_secs()).div_euclid(86_400);
            (
                format!(
                    "{} — expires {} ({days} days)",
                    c.subject(),
                    when(not_after)
                ),
                days >= 7,
            )
        }
        Err(e) => (format!("unreadable: {e}"), false),
    }
}

async fn disk(state: &AdminState) -> (String, bool) {
    let dir = state.config.data_dir.clone();
    match tokio::task::spawn_blocking(move || rustix::fs::statvfs(&dir)).await {
        Ok(Ok(s)) => {
            let free = s.f_bavail.saturating_mul(s.f_frsize);
            let total = s.f_blocks.saturating_mul(s.f_frsize);
            let used = total.saturating_sub(free);
            let low = total > 0 && free.saturating_mul(10) < total;
            (
                format!(
                    "{} used, {} free of {}",
                    bytes(used),
                    bytes(free),
                    bytes(total)
                ),
                !low,
            )
        }
        Ok(Err(e)) => (format!("unknown: {e}"), false),
        Err(e) => (format!("unknown: {e}"), false),
    }
}

pub async fn page(
    State(state): State<AdminState>,
    Admin(who): Admin,
) -> Result<Response, PageError> {
    let f = state.manager.figures(&Scope::Admin).await?;
    let events = state
        .manager
        .security_events(&Scope::Admin, 10)
        .await?
        .into_iter()
        .map(Event::from)
        .collect();
    let (certificate, certificate_ok) = certificate(&state);
    let (disk, disk_ok) = disk(&state).await;
    Ok(Dashboard {
        c: who.chrome("Dashboard", "dashboard"),
        received: f.received,
        sent: f.sent,
        bounced: f.bounced,
        queue_depth: f.queue_depth,
        queue_oldest: f.queue_oldest_age.map(age).unwrap_or_else(|| "—".into()),
        connections: state.security.limiter.open_total(),
        certificate,
        certificate_ok,
        disk,
        disk_ok,
        events,
    }
    .into_response())
}
