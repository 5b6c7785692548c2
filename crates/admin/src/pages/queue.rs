//! The outbound queue: every message, its recipients' states, retry now,
//! remove.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tern_manage::{PageRequest, QueueInfo, Scope};

use super::refusal;
use crate::AdminState;
use crate::error::PageError;
use crate::session::{Admin, AdminPosted, Signed};
use crate::view::{Chrome, bytes, when};

pub struct Row {
    pub id: i64,
    pub created: String,
    pub sender: String,
    pub size: String,
    pub pending: usize,
    pub failed: usize,
    pub delivered: usize,
    pub first_rcpt: String,
}

impl From<&QueueInfo> for Row {
    fn from(q: &QueueInfo) -> Row {
        let n = |s: &str| q.recipients.iter().filter(|r| r.state == s).count();
        Row {
            id: q.id,
            created: when(q.created),
            sender: if q.sender.is_empty() {
                "<>".into()
            } else {
                q.sender.clone()
            },
            size: bytes(q.size),
            pending: n("pending"),
            failed: n("failed"),
            delivered: n("delivered"),
            first_rcpt: q
                .recipients
                .first()
                .map(|r| r.rcpt.clone())
                .unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "queue.html")]
struct List {
    c: Chrome,
    rows: Vec<Row>,
}

async fn list_page(
    state: &AdminState,
    who: &Signed,
    notice: &str,
    error: &str,
) -> Result<Response, PageError> {
    let items = state
        .manager
        .queue_list(&Scope::Admin, &PageRequest::all())
        .await?
        .items;
    Ok(List {
        c: who.chrome("Queue", "queue").notice(notice).error(error),
        rows: items.iter().map(Row::from).collect(),
    }
    .into_response())
}

pub async fn list(
    State(state): State<AdminState>,
    Admin(who): Admin,
) -> Result<Response, PageError> {
    list_page(&state, &who, "", "").await
}

pub struct RcptRow {
    pub rcpt: String,
    pub state: String,
    pub attempts: u32,
    pub next: String,
    pub error: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "queue_item.html")]
struct View {
    c: Chrome,
    row: Row,
    envid: String,
    requiretls: bool,
    rcpts: Vec<RcptRow>,
}

#[derive(Deserialize)]
pub struct Id {
    #[serde(default)]
    id: i64,
    /// After a retry (Post/Redirect/Get): how many recipients it woke.
    #[serde(default)]
    retried: Option<u64>,
}

async fn view_page(
    state: &AdminState,
    who: &Signed,
    id: i64,
    notice: &str,
) -> Result<Response, PageError> {
    let q = state.manager.queue_get(&Scope::Admin, id).await?;
    Ok(View {
        c: who
            .chrome(&format!("Queued message {id}"), "queue")
            .notice(notice),
        row: Row::from(&q),
        envid: q.envid.clone().unwrap_or_default(),
        requiretls: q.requiretls,
        rcpts: q
            .recipients
            .into_iter()
            .map(|r| RcptRow {
                rcpt: r.rcpt,
                next: if r.state == "pending" {
                    when(r.next_attempt)
                } else {
                    String::new()
                },
                state: r.state,
                attempts: r.attempts,
                error: r.last_error,
            })
            .collect(),
    }
    .into_response())
}

pub async fn view(
    State(state): State<AdminState>,
    Admin(who): Admin,
    Query(q): Query<Id>,
) -> Result<Response, PageError> {
    let notice = q
        .retried
        .map(|n| format!("{n} recipient(s) will be tried now."))
        .unwrap_or_default();
    view_page(&state, &who, q.id, &notice).await
}

/// Retry now, then back to the message's page by a redirect, so that
/// reloading it does not retry again.
pub async fn retry(
    State(state): State<AdminState>,
    p: AdminPosted<Id>,
) -> Result<Response, PageError> {
    match state
        .manager
        .queue_retry(&Scope::Admin, Some(p.form.id))
        .await
    {
        Ok(n) => Ok(
            Redirect::to(&format!("/admin/queue/view?id={}&retried={n}", p.form.id))
                .into_response(),
        ),
        Err(e) => list_page(&state, &p.who, "", &refusal(e)?).await,
    }
}

pub async fn remove(
    State(state): State<AdminState>,
    p: AdminPosted<Id>,
) -> Result<Response, PageError> {
    match state.manager.queue_remove(&Scope::Admin, p.form.id).await {
        Ok(()) => list_page(&state, &p.who, "Message removed from the queue.", "").await,
        Err(e) => list_page(&state, &p.who, "", &refusal(e)?).await,
    }
}
