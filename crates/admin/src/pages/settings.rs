//! The settings in force, read-only, with the file they come from: they
//! are changed in that file (and `tern config-check`), never here.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::AdminState;
use crate::error::PageError;
use crate::session::Admin;
use crate::view::Chrome;

#[derive(Template, WebTemplate)]
#[template(path = "settings.html")]
struct Page {
    c: Chrome,
    source: String,
    rows: Vec<(String, String)>,
}

pub async fn page(
    State(state): State<AdminState>,
    Admin(who): Admin,
) -> Result<Response, PageError> {
    let cfg = &state.config;
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| rows.push((k.to_string(), v));
    put("hostname", cfg.hostname.clone());
    put("data_dir", cfg.data_dir.display().to_string());
    for l in &cfg.listeners {
        put(
            &format!("listener {}", l.kind.name()),
            format!("{}:{}", l.addr, l.port),
        );
    }
    put(
        "tls",
        match &cfg.tls {
            Some(t) => format!("{} (watched every {} s)", t.cert.display(), t.watch_secs),
            None => "self-signed stand-in".into(),
        },
    );
    put(
        "acme",
        if cfg.acme.is_some() {
            "on".into()
        } else {
            "off".into()
        },
    );
    put("log.level", cfg.log.level.clone());
    put("limits.global", cfg.limits.global.to_string());
    put("auth_throttle", format!("{:?}", cfg.auth_throttle));
    put("greylist.domains", cfg.greylist.domains.join(", "));
    put("greylist.delay_secs", cfg.greylist.delay_secs.to_string());
    put("tarpit.enabled", cfg.tarpit.enabled.to_string());
    put("tarpit.base_delay_ms", cfg.tarpit.base_delay_ms.to_string());
    put("submission", format!("{:?}", cfg.submission));
    put("queue", format!("{:?}", cfg.queue));
    put("sieve.max_redirects", cfg.sieve.max_redirects.to_string());
    put("admin.idle_secs", cfg.admin.idle_secs.to_string());
    put("admin.max_secs", cfg.admin.max_secs.to_string());
    put("http.max_body_kib", cfg.http.max_body_kib.to_string());
    Ok(Page {
        c: who.chrome("Settings", "settings"),
        source: cfg.source.to_string(),
        rows,
    }
    .into_response())
}
