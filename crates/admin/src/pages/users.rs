//! Users (add, reset password, quota, admin role, disable, second factor,
//! app passwords, send-as, remove with confirmation) and aliases.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tern_manage::{AliasInfo, NewPassword, NewUser, PageRequest, Scope};

use super::domains::Confirm;
use super::refusal;
use crate::AdminState;
use crate::account::AppRow;
use crate::error::PageError;
use crate::session::{Admin, AdminPosted, Signed};
use crate::view::{Chrome, usage};

pub struct UserRow {
    pub address: String,
    pub usage: String,
    pub admin: bool,
    pub disabled: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "users.html")]
struct List {
    c: Chrome,
    users: Vec<UserRow>,
    domain: String,
    /// A password made here, shown once: (address, password).
    made: Option<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    domain: String,
}

async fn list_page(
    state: &AdminState,
    who: &Signed,
    domain: &str,
    notice: &str,
    error: &str,
    made: Option<(String, String)>,
) -> Result<Response, PageError> {
    let d = (!domain.is_empty()).then_some(domain);
    let users = state
        .manager
        .user_list(&Scope::Admin, d, &PageRequest::all())
        .await?
        .items
        .into_iter()
        .map(|u| UserRow {
            usage: usage(u.used, u.quota),
            address: u.address,
            admin: u.admin,
            disabled: u.disabled,
        })
        .collect();
    Ok(List {
        c: who.chrome("Users", "users").notice(notice).error(error),
        users,
        domain: domain.to_string(),
        made,
    }
    .into_response())
}

pub async fn list(
    State(state): State<AdminState>,
    Admin(who): Admin,
    Query(q): Query<ListQuery>,
) -> Result<Response, PageError> {
    list_page(&state, &who, &q.domain, "", "", None).await
}

/// `500` MiB, or empty for no quota.
fn mib(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    s.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1024 * 1024))
        .ok_or_else(|| format!("the quota is a whole number of MiB, not {s:?}"))
}

#[derive(Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    address: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    quota_mib: String,
}

pub async fn add(
    State(state): State<AdminState>,
    p: AdminPosted<NewUserForm>,
) -> Result<Response, PageError> {
    let f = p.form;
    let quota = match mib(&f.quota_mib) {
        Ok(q) => q,
        Err(e) => return list_page(&state, &p.who, "", "", &e, None).await,
    };
    let new = NewUser {
        address: f.address,
        password: (!f.password.is_empty()).then_some(f.password),
        quota: Some(quota),
        allow_weak: false,
    };
    match state.manager.user_add(&Scope::Admin, &new).await {
        Ok(made) => {
            let shown = made.password.map(|pw| (made.user.address.clone(), pw));
            let notice = format!("Account {} added.", made.user.address);
            list_page(&state, &p.who, "", &notice, "", shown).await
        }
        Err(e) => list_page(&state, &p.who, "", "", &refusal(e)?, None).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "user.html")]
struct View {
    c: Chrome,
    address: String,
    usage: String,
    quota_mib: u64,
    admin: bool,
    disabled: bool,
    two_factor: bool,
    aliases: Vec<String>,
    apps: Vec<AppRow>,
    send_as: Vec<String>,
    made: Option<String>,
}

async fn view_page(
    state: &AdminState,
    who: &Signed,
    address: &str,
    notice: &str,
    error: &str,
    made: Option<String>,
) -> Result<Response, PageError> {
    let m = &state.manager;
    let u = m.user_get(&Scope::Admin, address).await?;
    let two_factor = match m
        .store()
        .account_get(
            &tern_common::Address::parse(&u.address).map_err(|e| PageError::Bad(e.to_string()))?,
        )
        .await
        .map_err(|e| PageError::Failed(e.to_string()))?
    {
        Some(acc) => m.second_factor(&acc).await?.enabled,
        None => false,
    };
    Ok(View {
        c: who.chrome(&u.address, "users").notice(notice).error(error),
        usage: usage(u.used, u.quota),
        quota_mib: u.quota / (1024 * 1024),
        admin: u.admin,
        disabled: u.disabled,
        two_factor,
        aliases: u.aliases,
        apps: m
            .app_password_list(&Scope::Admin, &u.address)
            .await?
            .into_iter()
            .map(AppRow::from)
            .collect(),
        send_as: m.send_as_list(&Scope::Admin, &u.address).await?,
        address: u.address,
        made,
    }
    .into_response())
}

#[derive(Deserialize)]
pub struct Who {
    #[serde(default)]
    address: String,
}

pub async fn view(
    State(state): State<AdminState>,
    Admin(who): Admin,
    Query(q): Query<Who>,
) -> Result<Response, PageError> {
    view_page(&state, &who, &q.address, "", "", None).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    address: String,
    #[serde(default)]
    password: String,
}

pub async fn password(
    State(state): State<AdminState>,
    p: AdminPosted<PasswordForm>,
) -> Result<Response, PageError> {
    let new = NewPassword {
        password: (!p.form.password.is_empty()).then(|| p.form.password.clone()),
        allow_weak: false,
    };
    match state
        .manager
        .user_set_password(&Scope::Admin, &p.form.address, &new)
        .await
    {
        Ok(made) => {
            view_page(
                &state,
                &p.who,
                &p.form.address,
                "Password changed; the account's web sessions ended.",
                "",
                made,
            )
            .await
        }
        Err(e) => view_page(&state, &p.who, &p.form.address, "", &refusal(e)?, None).await,
    }
}

#[derive(Deserialize)]
pub struct QuotaForm {
    #[serde(default)]
    address: String,
    #[serde(default)]
    quota_mib: String,
}

pub async fn quota(
    State(state): State<AdminState>,
    p: AdminPosted<QuotaForm>,
) -> Result<Response, PageError> {
    let q = match mib(&p.form.quota_mib) {
        Ok(q) => q,
        Err(e) => return view_page(&state, &p.who, &p.form.address, "", &e, None).await,
    };
    match state
        .manager
        .user_set_quota(&Scope::Admin, &p.form.address, q)
        .await
    {
        Ok(_) => view_page(&state, &p.who, &p.form.address, "Quota set.", "", None).await,
        Err(e) => view_page(&state, &p.who, &p.form.address, "", &refusal(e)?, None).await,
    }
}

#[derive(Deserialize)]
pub struct Switch {
    #[serde(default)]
    address: String,
    /// `on` or `off`.
    #[serde(default)]
    state: String,
}

pub async fn admin(
    State(state): State<AdminState>,
    p: AdminPosted<Switch>,
) -> Result<Response, PageError> {
    let on = p.form.state == "on";
    if !on && p.form.address.eq_ignore_ascii_case(&p.who.account.name) {
        return view_page(&state, &p.who, &p.form.address, "", "You cannot take the admin role from yourself here; another admin or `tern user admin` can.", None).await;
    }
    state
        .manager
        .user_set_admin(&Scope::Admin, &p.form.address, on)
        .await?;
    let notice = if on {
        "Now an administrator."
    } else {
        "No longer an administrator."
    };
    view_page(&state, &p.who, &p.form.address, notice, "", None).await
}

pub async fn disable(
    State(state): State<AdminState>,
    p: AdminPosted<Switch>,
) -> Result<Response, PageError> {
    let off = p.form.state == "on";
    if off && p.form.address.eq_ignore_ascii_case(&p.who.account.name) {
        return view_page(
            &state,
            &p.who,
            &p.form.address,
            "",
            "You cannot disable your own account.",
            None,
        )
        .await;
    }
    state
        .manager
        .user_set_disabled(&Scope::Admin, &p.form.address, off)
        .await?;
    let notice = if off {
        "Disabled: it cannot log in; its mail is still delivered."
    } else {
        "Enabled."
    };
    view_page(&state, &p.who, &p.form.address, notice, "", None).await
}

pub async fn reset_totp(
    State(state): State<AdminState>,
    p: AdminPosted<Who>,
) -> Result<Response, PageError> {
    state
        .manager
        .totp_remove(&Scope::Admin, &p.form.address)
        .await?;
    view_page(
        &state,
        &p.who,
        &p.form.address,
        "Two-step sign-in removed; the user may set it up again.",
        "",
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct AppForm {
    #[serde(default)]
    address: String,
    #[serde(default)]
    name: String,
}

pub async fn revoke_app_password(
    State(state): State<AdminState>,
    p: AdminPosted<AppForm>,
) -> Result<Response, PageError> {
    match state
        .manager
        .app_password_revoke(&Scope::Admin, &p.form.address, &p.form.name)
        .await
    {
        Ok(()) => {
            view_page(
                &state,
                &p.who,
                &p.form.address,
                "App password revoked.",
                "",
                None,
            )
            .await
        }
        Err(e) => view_page(&state, &p.who, &p.form.address, "", &refusal(e)?, None).await,
    }
}

#[derive(Deserialize)]
pub struct SendAsForm {
    #[serde(default)]
    address: String,
    #[serde(default)]
    target: String,
}

pub async fn send_as_add(
    State(state): State<AdminState>,
    p: AdminPosted<SendAsForm>,
) -> Result<Response, PageError> {
    match state
        .manager
        .send_as_add(&Scope::Admin, &p.form.address, &p.form.target)
        .await
    {
        Ok(()) => {
            view_page(
                &state,
                &p.who,
                &p.form.address,
                "It may now send as that address.",
                "",
                None,
            )
            .await
        }
        Err(e) => view_page(&state, &p.who, &p.form.address, "", &refusal(e)?, None).await,
    }
}

pub async fn send_as_remove(
    State(state): State<AdminState>,
    p: AdminPosted<SendAsForm>,
) -> Result<Response, PageError> {
    match state
        .manager
        .send_as_remove(&Scope::Admin, &p.form.address, &p.form.target)
        .await
    {
        Ok(()) => {
            view_page(
                &state,
                &p.who,
                &p.form.address,
                "Send-as address removed.",
                "",
                None,
            )
            .await
        }
        Err(e) => view_page(&state, &p.who, &p.form.address, "", &refusal(e)?, None).await,
    }
}

#[derive(Deserialize)]
pub struct Removal {
    #[serde(default)]
    address: String,
    #[serde(default)]
    confirm: Option<String>,
}

pub async fn remove(
    State(state): State<AdminState>,
    p: AdminPosted<Removal>,
) -> Result<Response, PageError> {
    if p.form.address.eq_ignore_ascii_case(&p.who.account.name) {
        return view_page(
            &state,
            &p.who,
            &p.form.address,
            "",
            "You cannot remove your own account here.",
            None,
        )
        .await;
    }
    if p.form.confirm.as_deref() != Some("yes") {
        return Ok(Confirm {
            c: p.who.chrome("Remove an account", "users"),
            question: format!(
                "Remove the account {} and all its mail? This cannot be undone.",
                p.form.address
            ),
            action: "/admin/users/remove".into(),
            field: "address".into(),
            value: p.form.address,
            back: "/admin/users".into(),
        }
        .into_response());
    }
    match state
        .manager
        .user_remove(&Scope::Admin, &p.form.address)
        .await
    {
        Ok(()) => list_page(&state, &p.who, "", "Account removed.", "", None).await,
        Err(e) => list_page(&state, &p.who, "", "", &refusal(e)?, None).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "aliases.html")]
struct Aliases {
    c: Chrome,
    aliases: Vec<AliasInfo>,
}

async fn aliases_page(
    state: &AdminState,
    who: &Signed,
    notice: &str,
    error: &str,
) -> Result<Response, PageError> {
    let aliases = state
        .manager
        .alias_list(&Scope::Admin, None, &PageRequest::all())
        .await?
        .items;
    Ok(Aliases {
        c: who.chrome("Aliases", "aliases").notice(notice).error(error),
        aliases,
    }
    .into_response())
}

pub async fn aliases(
    State(state): State<AdminState>,
    Admin(who): Admin,
) -> Result<Response, PageError> {
    aliases_page(&state, &who, "", "").await
}

#[derive(Deserialize)]
pub struct AliasForm {
    #[serde(default)]
    address: String,
    /// Addresses separated by commas, spaces or lines.
    #[serde(default)]
    targets: String,
}

pub async fn alias_add(
    State(state): State<AdminState>,
    p: AdminPosted<AliasForm>,
) -> Result<Response, PageError> {
    let targets: Vec<String> = p
        .form
        .targets
        .split([',', ' ', '\n', '\r', '\t'])
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    match state
        .manager
        .alias_add(&Scope::Admin, &p.form.address, &targets)
        .await
    {
        Ok(a) => aliases_page(&state, &p.who, &format!("Alias {} added.", a.address), "").await,
        Err(e) => aliases_page(&state, &p.who, "", &refusal(e)?).await,
    }
}

pub async fn alias_remove(
    State(state): State<AdminState>,
    p: AdminPosted<Who>,
) -> Result<Response, PageError> {
    match state
        .manager
        .alias_remove(&Scope::Admin, &p.form.address)
        .await
    {
        Ok(()) => aliases_page(&state, &p.who, "Alias removed.", "").await,
        Err(e) => aliases_page(&state, &p.who, "", &refusal(e)?).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_are_whole_mib() {
        assert_eq!(mib(""), Ok(0));
        assert_eq!(mib(" 2 "), Ok(2 * 1024 * 1024));
        assert!(mib("1.5").is_err());
        assert!(mib("99999999999999999").is_err());
    }
}
