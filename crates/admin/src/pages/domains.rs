//! Domains: list, add (with DKIM keys), remove with confirmation, and one
//! domain's page — its DKIM keys, its greylisting, and every DNS record
//! it needs next to what DNS answers now (`tern_manage::dns_check`).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tern_manage::{
    DkimInfo, DomainInfo, DomainPolicyInfo, PageRequest, RecordCheck, Scope, Setting,
};

use super::refusal;
use crate::AdminState;
use crate::error::PageError;
use crate::session::{Admin, AdminPosted, Signed};
use crate::view::{Chrome, when};

#[derive(Template, WebTemplate)]
#[template(path = "domains.html")]
struct List {
    c: Chrome,
    domains: Vec<DomainInfo>,
}

async fn list_page(
    state: &AdminState,
    who: &Signed,
    notice: &str,
    error: &str,
) -> Result<Response, PageError> {
    let domains = state
        .manager
        .domain_list(&Scope::Admin, &PageRequest::all())
        .await?
        .items;
    Ok(List {
        c: who.chrome("Domains", "domains").notice(notice).error(error),
        domains,
    }
    .into_response())
}

pub async fn list(
    State(state): State<AdminState>,
    Admin(who): Admin,
) -> Result<Response, PageError> {
    list_page(&state, &who, "", "").await
}

pub struct KeyRow {
    pub selector: String,
    pub algorithm: String,
    pub created: String,
}

impl From<DkimInfo> for KeyRow {
    fn from(k: DkimInfo) -> KeyRow {
        KeyRow {
            selector: k.selector,
            algorithm: k.algorithm,
            created: when(k.created),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "domain.html")]
struct View {
    c: Chrome,
    name: String,
    keys: Vec<KeyRow>,
    checks: Vec<RecordCheck>,
    policy: DomainPolicyInfo,
}

async fn view_page(
    state: &AdminState,
    who: &Signed,
    name: &str,
    notice: &str,
    error: &str,
) -> Result<Response, PageError> {
    let m = &state.manager;
    let info = m.domain_get(&Scope::Admin, name).await?;
    let keys = m
        .dkim_list(&Scope::Admin, Some(&info.name))
        .await?
        .into_iter()
        .map(KeyRow::from)
        .collect();
    let checks = m.dns_check(&Scope::Admin, &info.name).await?;
    let policy = m.domain_policy(&Scope::Admin, &info.name).await?;
    Ok(View {
        c: who
            .chrome(&format!("Domain {}", info.name), "domains")
            .notice(notice)
            .error(error),
        policy,
        name: info.name,
        keys,
        checks,
    }
    .into_response())
}

#[derive(Deserialize)]
pub struct Named {
    #[serde(default)]
    name: String,
}

pub async fn view(
    State(state): State<AdminState>,
    Admin(who): Admin,
    Query(q): Query<Named>,
) -> Result<Response, PageError> {
    view_page(&state, &who, &q.name, "", "").await
}

#[derive(Deserialize)]
pub struct NewDomain {
    #[serde(default)]
    name: String,
    #[serde(default)]
    dkim: Option<String>,
}

pub async fn add(
    State(state): State<AdminState>,
    p: AdminPosted<NewDomain>,
) -> Result<Response, PageError> {
    match state
        .manager
        .domain_add(&Scope::Admin, &p.form.name, p.form.dkim.is_some())
        .await
    {
        Ok(made) => {
            view_page(
                &state,
                &p.who,
                &made.name,
                "Domain added. Publish the records below.",
                "",
            )
            .await
        }
        Err(e) => list_page(&state, &p.who, "", &refusal(e)?).await,
    }
}

#[derive(Deserialize)]
pub struct NewKey {
    #[serde(default)]
    name: String,
    #[serde(default)]
    algorithm: String,
}

pub async fn dkim(
    State(state): State<AdminState>,
    p: AdminPosted<NewKey>,
) -> Result<Response, PageError> {
    let algorithm = if p.form.algorithm.is_empty() {
        "ed25519"
    } else {
        &p.form.algorithm
    };
    state
        .manager
        .dkim_generate(&Scope::Admin, &p.form.name, None, algorithm)
        .await?;
    view_page(
        &state,
        &p.who,
        &p.form.name,
        "New DKIM key made: publish its record.",
        "",
    )
    .await
}

#[derive(Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    name: String,
    /// `default`, `on` or `off`.
    #[serde(default)]
    greylist: String,
    #[serde(default)]
    greylist_delay: String,
    #[serde(default)]
    tarpit: String,
    #[serde(default)]
    tarpit_delay_ms: String,
}

/// A delay field: empty is none, anything else a whole number.
fn number(s: &str, what: &str) -> Result<Option<u64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| format!("the {what} is a whole number, not {s:?}"))
}

pub async fn policy(
    State(state): State<AdminState>,
    p: AdminPosted<PolicyForm>,
) -> Result<Response, PageError> {
    let f = &p.form;
    let parsed = number(&f.greylist_delay, "greylisting delay")
        .and_then(|g| number(&f.tarpit_delay_ms, "tarpit delay").map(|t| (g, t)));
    let (g, t) = match parsed {
        Ok(v) => v,
        Err(e) => return view_page(&state, &p.who, &f.name, "", &e).await,
    };
    let settings = Setting::parse(&f.greylist, g, "greylist")
        .and_then(|g| Setting::parse(&f.tarpit, t, "tarpit").map(|t| (g, t)));
    let result = match settings {
        Ok((g, t)) => {
            state
                .manager
                .domain_set_policy(&Scope::Admin, &f.name, Some(g), Some(t))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => {
            view_page(
                &state,
                &p.who,
                &f.name,
                "Greylisting and tarpitting saved.",
                "",
            )
            .await
        }
        Err(e) => view_page(&state, &p.who, &f.name, "", &refusal(e)?).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "confirm.html")]
pub struct Confirm {
    pub c: Chrome,
    pub question: String,
    pub action: String,
    pub field: String,
    pub value: String,
    pub back: String,
}

#[derive(Deserialize)]
pub struct Removal {
    #[serde(default)]
    name: String,
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn remove(
    State(state): State<AdminState>,
    p: AdminPosted<Removal>,
) -> Result<Response, PageError> {
    if p.form.confirm.as_deref() != Some("yes") {
        return Ok(Confirm {
            c: p.who.chrome("Remove a domain", "domains"),
            question: format!(
                "Remove the domain {}? Only a domain without accounts or aliases can be removed.",
                p.form.name
            ),
            action: "/admin/domains/remove".into(),
            field: "name".into(),
            value: p.form.name,
            back: "/admin/domains".into(),
        }
        .into_response());
    }
    match state
        .manager
        .domain_remove(&Scope::Admin, &p.form.name, false)
        .await
    {
        Ok(()) => list_page(&state, &p.who, "Domain removed.", "").await,
        Err(e) => list_page(&state, &p.who, "", &refusal(e)?).await,
    }
}
