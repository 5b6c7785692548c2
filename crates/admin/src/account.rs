//! `/account`: what every user manages for themselves — the password, the
//! TOTP second factor, app passwords, Sieve scripts — and what they can
//! see: quota use and the recent logins to the account. Each action is
//! one `tern_manage` call on the signed-in account only.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tern_manage::{
    AppPasswordInfo, Enrolment, LoginRecord, NewPassword, Scope, SecondFactor, SieveInfo,
};
use tern_store::{Credential, Stage};

use crate::AdminState;
use crate::error::PageError;
use crate::session::{FAILURE_DELAY, MAX_DELAY, Posted, Signed, gate, set_cookie};
use crate::view::{Chrome, usage, when};

pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/account", get(overview))
        .route("/account/password", post(password))
        .route("/account/totp", get(totp_page))
        .route("/account/totp/begin", post(totp_begin))
        .route("/account/totp/confirm", post(totp_confirm))
        .route("/account/totp/remove", post(totp_remove))
        .route("/account/app-passwords", post(app_password_add))
        .route("/account/app-passwords/revoke", post(app_password_revoke))
        .route("/account/sieve", get(sieve_edit).post(sieve_save))
        .route("/account/sieve/activate", post(sieve_activate))
        .route("/account/sieve/deactivate", post(sieve_deactivate))
        .route("/account/sieve/remove", post(sieve_remove))
        .route("/account/screener", post(screener_switch))
        .route("/account/screener/decide", post(screener_decide))
        .route("/account/screener/forget", post(screener_forget))
        .route("/account/vip", post(vip_add))
        .route("/account/vip/remove", post(vip_remove))
        .route("/account/snooze", post(snooze_switch))
}

/// A login, as the page lists it.
pub struct LoginRow {
    pub at: String,
    pub ip: String,
    pub protocol: String,
    pub via: String,
}

impl From<LoginRecord> for LoginRow {
    fn from(r: LoginRecord) -> LoginRow {
        LoginRow {
            at: when(r.at),
            ip: r.ip,
            protocol: r.protocol,
            via: match r.app_password {
                Some(n) => format!("app password “{n}”"),
                None => "password".into(),
            },
        }
    }
}

pub struct AppRow {
    pub name: String,
    pub created: String,
    pub last_used: String,
}

impl From<AppPasswordInfo> for AppRow {
    fn from(a: AppPasswordInfo) -> AppRow {
        AppRow {
            name: a.name,
            created: when(a.created),
            last_used: a.last_used.map(when).unwrap_or_else(|| "never".into()),
        }
    }
}

pub struct ScriptRow {
    pub name: String,
    pub active: bool,
    pub size: u64,
    pub updated: String,
}

impl From<SieveInfo> for ScriptRow {
    fn from(s: SieveInfo) -> ScriptRow {
        ScriptRow {
            name: s.name,
            active: s.active,
            size: s.size,
            updated: when(s.updated),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "account.html")]
struct Overview {
    c: Chrome,
    usage: String,
    second: SecondFactor,
    apps: Vec<AppRow>,
    logins: Vec<LoginRow>,
    scripts: Vec<ScriptRow>,
    /// An app password just made, shown this once.
    made: Option<(String, String)>,
    screener: bool,
    senders: Vec<DecisionRow>,
    vips: Vec<String>,
    snooze: bool,
    time_zone: String,
    snoozed: Vec<SnoozedRow>,
}

pub struct DecisionRow {
    pub sender: String,
    pub approved: bool,
    pub source: String,
    pub at: String,
}

pub struct SnoozedRow {
    pub mailbox: String,
    pub until: String,
    pub back_to: String,
}

async fn render(
    state: &AdminState,
    who: &Signed,
    notice: &str,
    error: &str,
    made: Option<(String, String)>,
) -> Result<Response, PageError> {
    let m = &state.manager;
    let name = &who.account.name;
    let info = m.user_get(&Scope::Admin, name).await?;
    let (snooze, time_zone) = m.snooze_settings(&Scope::Admin, name).await?;
    Ok(Overview {
        screener: m.screener_enabled(&Scope::Admin, name).await?,
        senders: m
            .screener_list(&Scope::Admin, name)
            .await?
            .into_iter()
            .map(|d| DecisionRow {
                sender: d.sender,
                approved: d.approved,
                source: d.source,
                at: when(d.at),
            })
            .collect(),
        vips: m.vip_list(&Scope::Admin, name).await?,
        snooze,
        time_zone,
        snoozed: m
            .snooze_list(&Scope::Admin, name)
            .await?
            .into_iter()
            .map(|s| SnoozedRow {
                mailbox: s.mailbox,
                until: when(s.until),
                back_to: s.back_to,
            })
            .collect(),
        c: who
            .chrome("My account", "account")
            .notice(notice)
            .error(error),
        usage: usage(info.used, info.quota),
        second: m.second_factor(&who.account).await?,
        apps: m
            .app_password_list(&Scope::Admin, name)
            .await?
            .into_iter()
            .map(AppRow::from)
            .collect(),
        logins: m
            .login_history(&who.account, 20)
            .await?
            .into_iter()
            .map(LoginRow::from)
            .collect(),
        scripts: m
            .sieve_list(&Scope::Admin, name)
            .await?
            .into_iter()
            .map(ScriptRow::from)
            .collect(),
        made,
    }
    .into_response())
}

/// The message of a refusal the user can act on; anything else fails the
/// page.
fn refusal(e: tern_manage::Error) -> Result<String, PageError> {
    if e.code.is_callers() {
        Ok(e.message)
    } else {
        Err(e.into())
    }
}

async fn overview(State(state): State<AdminState>, who: Signed) -> Result<Response, PageError> {
    render(&state, &who, "", "", None).await
}

/// Is `password` the account's own password? Asked again on a signed-in
/// page (to change the password, to turn TOTP off), it is a password
/// check like a login: throttled and audited through the `Gate`, so a
/// stolen session cookie does not give unlimited guesses.
async fn own_password(state: &AdminState, who: &Signed, password: &str) -> Result<bool, PageError> {
    let gate = gate(state, who.ip);
    let name = &who.account.name;
    if !gate.check(name) {
        return Err(PageError::TooMany);
    }
    let right = if password.is_empty() || password.len() > 1024 {
        false
    } else {
        let login = state
            .manager
            .store()
            .authenticate(name, password)
            .await
            .map_err(|e| PageError::Failed(e.to_string()))?;
        matches!(login, Some(l) if l.credential == Credential::Password && l.account.id == who.account.id)
    };
    if !right {
        tokio::time::sleep(gate.failure(name, FAILURE_DELAY).min(MAX_DELAY)).await;
    }
    Ok(right)
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

/// A new password ends every web session of the account (the manage
/// layer does it); this browser gets a new one.
async fn password(
    State(state): State<AdminState>,
    p: Posted<PasswordForm>,
) -> Result<Response, PageError> {
    let (who, f) = (p.who, p.form);
    if !own_password(&state, &who, &f.current).await? {
        return render(&state, &who, "", "The current password is not right.", None).await;
    }
    if f.new != f.confirm {
        return render(&state, &who, "", "The two new passwords differ.", None).await;
    }
    let new = NewPassword {
        password: Some(f.new),
        allow_weak: false,
    };
    if let Err(e) = state
        .manager
        .user_set_password(&Scope::Admin, &who.account.name, &new)
        .await
    {
        return render(&state, &who, "", &refusal(e)?, None).await;
    }
    let ip = who.ip.map(|i| i.to_string()).unwrap_or_default();
    let fresh = state
        .manager
        .session_open(&who.account, Stage::Full, &ip)
        .await?;
    let who = Signed {
        session: tern_store::WebSession {
            csrf: fresh.csrf.clone(),
            ..who.session
        },
        cookie: fresh.cookie.clone(),
        ..who
    };
    let mut r = render(
        &state,
        &who,
        "Password changed. Every other browser was signed out.",
        "",
        None,
    )
    .await?;
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&fresh.cookie));
    Ok(r)
}

#[derive(Template, WebTemplate)]
#[template(path = "totp.html")]
struct TotpPage {
    c: Chrome,
    enrolment: Option<Enrolment>,
    qr: String,
    enabled: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "recovery.html")]
struct RecoveryPage {
    c: Chrome,
    codes: Vec<String>,
}

/// The QR code of an `otpauth://` URI, as inline SVG (no image request,
/// nothing fetched).
fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

async fn totp_render(state: &AdminState, who: &Signed, error: &str) -> Result<Response, PageError> {
    let sf = state.manager.second_factor(&who.account).await?;
    let qr = sf
        .pending
        .as_ref()
        .map(|e| qr_svg(&e.uri))
        .unwrap_or_default();
    Ok(TotpPage {
        c: who.chrome("Two-step sign-in", "account").error(error),
        enrolment: sf.pending,
        qr,
        enabled: sf.enabled,
    }
    .into_response())
}

async fn totp_page(State(state): State<AdminState>, who: Signed) -> Result<Response, PageError> {
    totp_render(&state, &who, "").await
}

#[derive(Deserialize)]
struct Empty {}

async fn totp_begin(
    State(state): State<AdminState>,
    p: Posted<Empty>,
) -> Result<Response, PageError> {
    state.manager.totp_begin(&p.who.account).await?;
    totp_render(&state, &p.who, "").await
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn totp_confirm(
    State(state): State<AdminState>,
    p: Posted<CodeForm>,
) -> Result<Response, PageError> {
    // A code guessed here is throttled like one at sign-in.
    let gate = gate(&state, p.who.ip);
    if !gate.check(&p.who.account.name) {
        return Err(PageError::TooMany);
    }
    match state
        .manager
        .totp_confirm(&p.who.account, &p.form.code)
        .await
    {
        Ok(codes) => Ok(RecoveryPage {
            c: p.who
                .chrome("Recovery codes", "account")
                .notice("Two-step sign-in is on."),
            codes,
        }
        .into_response()),
        Err(e) => {
            let message = refusal(e)?;
            let wait = gate
                .second_factor_failure(&p.who.account.name, FAILURE_DELAY)
                .min(MAX_DELAY);
            tokio::time::sleep(wait).await;
            totp_render(&state, &p.who, &message).await
        }
    }
}

#[derive(Deserialize)]
struct PasswordOnly {
    #[serde(default)]
    password: String,
}

async fn totp_remove(
    State(state): State<AdminState>,
    p: Posted<PasswordOnly>,
) -> Result<Response, PageError> {
    if !own_password(&state, &p.who, &p.form.password).await? {
        return render(&state, &p.who, "", "The password is not right.", None).await;
    }
    state
        .manager
        .totp_remove(&Scope::Admin, &p.who.account.name)
        .await?;
    render(&state, &p.who, "Two-step sign-in is off.", "", None).await
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
}

async fn app_password_add(
    State(state): State<AdminState>,
    p: Posted<NameForm>,
) -> Result<Response, PageError> {
    match state
        .manager
        .app_password_add(&Scope::Admin, &p.who.account.name, &p.form.name)
        .await
    {
        Ok(made) => {
            let shown = Some((made.app_password.name, made.password));
            render(&state, &p.who, "App password made.", "", shown).await
        }
        Err(e) => render(&state, &p.who, "", &refusal(e)?, None).await,
    }
}

async fn app_password_revoke(
    State(state): State<AdminState>,
    p: Posted<NameForm>,
) -> Result<Response, PageError> {
    match state
        .manager
        .app_password_revoke(&Scope::Admin, &p.who.account.name, &p.form.name)
        .await
    {
        Ok(()) => render(&state, &p.who, "App password revoked.", "", None).await,
        Err(e) => render(&state, &p.who, "", &refusal(e)?, None).await,
    }
}

/// One line of a script in the editor's error view.
pub struct Line {
    pub number: usize,
    pub text: String,
    pub at: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "sieve.html")]
struct SievePage {
    c: Chrome,
    name: String,
    script: String,
    /// The lines around a compile error, the one at fault marked.
    lines: Vec<Line>,
}

#[derive(Deserialize)]
struct ScriptQuery {
    #[serde(default)]
    name: String,
}

async fn sieve_edit(
    State(state): State<AdminState>,
    who: Signed,
    Query(q): Query<ScriptQuery>,
) -> Result<Response, PageError> {
    let script = if q.name.is_empty() {
        String::new()
    } else {
        state
            .manager
            .sieve_get(&Scope::Admin, &who.account.name, &q.name)
            .await?
    };
    Ok(SievePage {
        c: who.chrome("Sieve script", "account"),
        name: q.name,
        script,
        lines: Vec::new(),
    }
    .into_response())
}

#[derive(Deserialize)]
struct ScriptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    script: String,
    #[serde(default)]
    activate: Option<String>,
}

/// The lines from two before to two after `line` (1-based).
fn around(script: &str, line: usize) -> Vec<Line> {
    script
        .lines()
        .enumerate()
        .map(|(i, t)| (i + 1, t))
        .filter(|(n, _)| n + 2 >= line && *n <= line + 2)
        .map(|(number, t)| Line {
            number,
            text: t.chars().take(300).collect(),
            at: number == line,
        })
        .collect()
}

async fn sieve_save(
    State(state): State<AdminState>,
    p: Posted<ScriptForm>,
) -> Result<Response, PageError> {
    let (who, f) = (p.who, p.form);
    // Browsers send a textarea's line ends as CRLF (HTML 4.10.11): the
    // script is kept as typed.
    let page = |error: String, lines: Vec<Line>| SievePage {
        c: who.chrome("Sieve script", "account").error(error),
        name: f.name.clone(),
        script: f.script.clone(),
        lines,
    };
    if let Err(e) = tern_manage::check_script_blocking(f.script.as_bytes()).await {
        let lines = around(&f.script, e.line);
        return Ok(page(format!("Line {}: {}", e.line, e.message), lines).into_response());
    }
    let m = &state.manager;
    let name = &who.account.name;
    if let Err(e) = m
        .sieve_put(&Scope::Admin, name, &f.name, f.script.as_bytes())
        .await
    {
        return Ok(page(refusal(e)?, Vec::new()).into_response());
    }
    if f.activate.is_some()
        && let Err(e) = m.sieve_activate(&Scope::Admin, name, &f.name).await
    {
        return Ok(page(refusal(e)?, Vec::new()).into_response());
    }
    render(&state, &who, "Script saved.", "", None).await
}

async fn sieve_activate(
    State(state): State<AdminState>,
    p: Posted<NameForm>,
) -> Result<Response, PageError> {
    match state
        .manager
        .sieve_activate(&Scope::Admin, &p.who.account.name, &p.form.name)
        .await
    {
        Ok(()) => render(&state, &p.who, "Script activated.", "", None).await,
        Err(e) => render(&state, &p.who, "", &refusal(e)?, None).await,
    }
}

async fn sieve_deactivate(
    State(state): State<AdminState>,
    p: Posted<Empty>,
) -> Result<Response, PageError> {
    state
        .manager
        .sieve_deactivate(&Scope::Admin, &p.who.account.name)
        .await?;
    render(&state, &p.who, "No script is active now.", "", None).await
}

async fn sieve_remove(
    State(state): State<AdminState>,
    p: Posted<NameForm>,
) -> Result<Response, PageError> {
    match state
        .manager
        .sieve_remove(&Scope::Admin, &p.who.account.name, &p.form.name)
        .await
    {
        Ok(()) => render(&state, &p.who, "Script removed.", "", None).await,
        Err(e) => render(&state, &p.who, "", &refusal(e)?, None).await,
    }
}

#[derive(Deserialize)]
struct OnOff {
    /// `on` or `off`.
    #[serde(default)]
    state: String,
    #[serde(default)]
    time_zone: Option<String>,
}

async fn screener_switch(
    State(state): State<AdminState>,
    p: Posted<OnOff>,
) -> Result<Response, PageError> {
    let on = p.form.state == "on";
    state
        .manager
        .screener_set(&Scope::Admin, &p.who.account.name, on)
        .await?;
    let notice = if on {
        "The Screener is on: mail from unknown senders waits in Screener."
    } else {
        "The Screener is off."
    };
    render(&state, &p.who, notice, "", None).await
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    sender: String,
    /// `approve` or `deny`.
    #[serde(default)]
    decision: String,
}

async fn screener_decide(
    State(state): State<AdminState>,
    p: Posted<DecideForm>,
) -> Result<Response, PageError> {
    let approve = p.form.decision == "approve";
    match state
        .manager
        .screener_decide(
            &Scope::Admin,
            &p.who.account.name,
            &p.form.sender,
            approve,
            "web",
        )
        .await
    {
        Ok(()) => render(&state, &p.who, "Decision saved.", "", None).await,
        Err(e) => render(&state, &p.who, "", &refusal(e)?, None).await,
    }
}

#[derive(Deserialize)]
struct SenderForm {
    #[serde(default)]
    sender: String,
}

async fn screener_forget(
    State(state): State<AdminState>,
    p: Posted<SenderForm>,
) -> Result<Response, PageError> {
    match state
        .manager
        .screener_forget(&Scope::Admin, &p.who.account.name, &p.form.sender)
        .await
    {
        Ok(()) => render(&state, &p.who, "Decision forgotten.", "", None).await,
        Err(e) => render(&state, &p.who, "", &refusal(e)?, None).await,
    }
}

#[derive(Deserialize)]
struct PatternForm {
    #[serde(default)]
    pattern: String,
}

async fn vip_add(
    State(state): State<AdminState>,
    p: Posted<PatternForm>,
) -> Result<Response, PageError> {
    match state
        .manager
        .vip_add(&Scope::Admin, &p.who.account.name, &p.form.pattern)
        .await
    {
        Ok(k) => render(&state, &p.who, &format!("{k} is a VIP now."), "", None).await,
        Err(e) => render(&state, &p.who, "", &refusal(e)?, None).await,
    }
}

async fn vip_remove(
    State(state): State<AdminState>,
    p: Posted<PatternForm>,
) -> Result<Response, PageError> {
    match state
        .manager
        .vip_remove(&Scope::Admin, &p.who.account.name, &p.form.pattern)
        .await
    {
        Ok(()) => render(&state, &p.who, "VIP removed.", "", None).await,
        Err(e) => render(&state, &p.who, "", &refusal(e)?, None).await,
    }
}

async fn snooze_switch(
    State(state): State<AdminState>,
    p: Posted<OnOff>,
) -> Result<Response, PageError> {
    let m = &state.manager;
    let name = &p.who.account.name;
    if let Some(tz) = &p.form.time_zone
        && let Err(e) = m.time_zone_set(&Scope::Admin, name, tz).await
    {
        return render(&state, &p.who, "", &refusal(e)?, None).await;
    }
    m.snooze_set(&Scope::Admin, name, p.form.state == "on")
        .await?;
    render(&state, &p.who, "Snooze settings saved.", "", None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_view_shows_the_line_at_fault_with_two_either_side() {
        let s = "a\nb\nc\nd\ne\nf\ng";
        let l = around(s, 4);
        assert_eq!(
            l.iter().map(|l| l.number).collect::<Vec<_>>(),
            [2, 3, 4, 5, 6]
        );
        assert!(l.iter().find(|l| l.at).is_some_and(|l| l.text == "d"));
        assert_eq!(around(s, 1).len(), 3);
    }

    #[test]
    fn the_qr_code_is_an_svg() {
        let svg = qr_svg("otpauth://totp/tern:a%40b?secret=JBSWY3DPEHPK3PXP&issuer=tern");
        assert!(svg.contains("<svg"), "{svg}");
    }
}
