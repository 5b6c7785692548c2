//! The configuration file: one TOML document, validated completely before
//! anything binds. Every error names the key (and the line when the file has
//! one) so that an operator can fix it without guessing. Unknown keys are
//! errors: a typo must never silently fall back to a default.
//!
//! One module per section owns its raw form (as written, `Spanned` where a
//! value can be wrong), its typed form with doc comments, its defaults and
//! its checks; `parse` only assembles the sections. A new key needs a raw
//! field, a typed field, a default, a check, a README line (a test holds
//! README to every key the parser accepts) and a test.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

mod acme;
mod admin;
mod auth_throttle;
mod check;
mod checks;
mod dns;
mod errors;
mod greylist;
mod host;
mod http;
mod imap;
mod limits;
mod listeners;
mod log;
mod pop3;
mod queue;
mod rate;
mod relay;
mod reports;
mod screener;
mod server;
mod sieve;
mod smtp;
mod source_get;
mod spam;
mod store;
mod submission;
mod tarpit;
#[cfg(test)]
mod tests;
mod tls;

pub use acme::{AcmeConfig, Challenge as AcmeChallenge, LETS_ENCRYPT};
pub use admin::AdminConfig;
pub use auth_throttle::AuthThrottleConfig;
pub use checks::{ChecksConfig, TempVerdict, Verdict, in_network, parse_network};
pub use dns::DnsConfig;
pub use errors::{ConfigError, ConfigErrors, Source};
pub use greylist::GreylistConfig;
pub use host::system_hostname;
pub use http::HttpConfig;
pub use imap::ImapConfig;
pub use limits::{Family, FamilyLimits, LimitsConfig};
pub use listeners::{Implemented, ListenerConfig, ListenerKind};
pub use log::{LogConfig, LogFormat, valid_log_filter};
pub use pop3::Pop3Config;
pub use queue::QueueConfig;
pub use rate::RateConfig;
pub use relay::{RelayConfig, RelayTls};
pub use reports::ReportsConfig;
pub use screener::ScreenerConfig;
pub use server::ServerConfig;
pub use sieve::SieveConfig;
pub use smtp::SmtpConfig;
pub use source_get::{SourceGetConfig, Unidentified};
pub use spam::{RspamdFailure, SpamConfig};
pub use store::{StoreConfig, StoreKind};
pub use submission::SubmissionConfig;
pub use tarpit::TarpitConfig;
pub use tls::TlsConfig;

use check::{Checker, line_of};

/// The file as written: one field per section, each section's raw form
/// owned by its module.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    hostname: Option<Spanned<String>>,
    data_dir: Option<Spanned<PathBuf>>,
    #[serde(default)]
    store: store::RawStore,
    tls: Option<tls::RawTls>,
    acme: Option<acme::RawAcme>,
    #[serde(default)]
    listeners: Vec<listeners::RawListener>,
    #[serde(default)]
    server: server::RawServer,
    #[serde(default)]
    log: log::RawLog,
    #[serde(default)]
    smtp: smtp::RawSmtp,
    #[serde(default)]
    pop3: pop3::RawPop3,
    #[serde(default)]
    imap: imap::RawImap,
    #[serde(default)]
    limits: limits::RawLimits,
    #[serde(default)]
    rate: rate::RawRate,
    #[serde(default)]
    auth_throttle: auth_throttle::RawAuthThrottle,
    #[serde(default)]
    admin: admin::RawAdmin,
    #[serde(default)]
    greylist: greylist::RawGreylist,
    #[serde(default)]
    tarpit: tarpit::RawTarpit,
    #[serde(default)]
    spam: spam::RawSpam,
    #[serde(default)]
    screener: screener::RawScreener,
    #[serde(default)]
    reports: reports::RawReports,
    #[serde(default)]
    source_get: source_get::RawSourceGet,
    #[serde(default)]
    dns: dns::RawDns,
    #[serde(default)]
    checks: checks::RawChecks,
    #[serde(default)]
    queue: queue::RawQueue,
    relay: Option<relay::RawRelay>,
    #[serde(default)]
    submission: submission::RawSubmission,
    #[serde(default)]
    http: http::RawHttp,
    #[serde(default)]
    sieve: sieve::RawSieve,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub source: Source,
    pub hostname: String,
    pub data_dir: PathBuf,
    pub store: StoreConfig,
    /// `None` in the embedded default: a self-signed certificate is made.
    pub tls: Option<TlsConfig>,
    /// `[acme]`: certificates from an ACME CA; `None`: only `[tls]`.
    pub acme: Option<AcmeConfig>,
    pub listeners: Vec<ListenerConfig>,
    pub server: ServerConfig,
    pub log: LogConfig,
    pub smtp: SmtpConfig,
    pub pop3: Pop3Config,
    pub imap: ImapConfig,
    pub limits: LimitsConfig,
    pub rate: RateConfig,
    pub auth_throttle: AuthThrottleConfig,
    pub admin: AdminConfig,
    pub greylist: GreylistConfig,
    pub tarpit: TarpitConfig,
    pub spam: SpamConfig,
    pub screener: ScreenerConfig,
    pub reports: ReportsConfig,
    pub source_get: SourceGetConfig,
    pub dns: DnsConfig,
    pub checks: ChecksConfig,
    pub queue: QueueConfig,
    pub relay: Option<RelayConfig>,
    pub submission: SubmissionConfig,
    pub http: HttpConfig,
    pub sieve: SieveConfig,
}

/// The embedded default, used when no configuration file exists at all.
pub fn embedded_default(implemented: Implemented) -> Config {
    Config {
        source: Source::Embedded,
        hostname: system_hostname(),
        data_dir: PathBuf::from("tern-data"),
        store: StoreConfig::default(),
        tls: None,
        acme: None,
        listeners: ListenerConfig::embedded(implemented),
        server: ServerConfig::default(),
        log: LogConfig::default(),
        smtp: SmtpConfig::default(),
        pop3: Pop3Config::default(),
        imap: ImapConfig::default(),
        limits: LimitsConfig::default(),
        rate: RateConfig::default(),
        auth_throttle: AuthThrottleConfig::default(),
        admin: AdminConfig::default(),
        greylist: GreylistConfig::default(),
        tarpit: TarpitConfig::default(),
        spam: SpamConfig::default(),
        screener: ScreenerConfig::default(),
        reports: ReportsConfig::default(),
        source_get: SourceGetConfig::default(),
        dns: DnsConfig::default(),
        checks: ChecksConfig::default(),
        queue: QueueConfig::default(),
        relay: None,
        submission: SubmissionConfig::default(),
        http: HttpConfig::default(),
        sieve: SieveConfig::default(),
    }
}

/// Parse and validate a configuration text. `base` resolves relative paths.
/// The sections are checked in file-reference order, so errors come out in
/// the same order on every run.
pub fn parse(
    src: &str,
    source: Source,
    base: &Path,
    implemented: Implemented,
) -> Result<Config, ConfigErrors> {
    let raw: RawConfig = toml::from_str(src).map_err(|e| syntax_error(src, &e, &source))?;
    let mut c = Checker {
        src,
        errors: Vec::new(),
    };
    let hostname = host::hostname(&mut c, &raw.hostname);
    let data_dir = host::data_dir(&mut c, &raw.data_dir, base);
    let store = StoreConfig::from_raw(&mut c, &raw.store);
    let tls = raw
        .tls
        .as_ref()
        .map(|t| TlsConfig::from_raw(&mut c, t, base));
    let listeners = ListenerConfig::all(&mut c, &raw.listeners, implemented);
    let acme = raw
        .acme
        .as_ref()
        .map(|a| AcmeConfig::from_raw(&mut c, a, base));
    TlsConfig::required(&mut c, &tls, acme.is_some(), &listeners);
    AcmeConfig::listener_check(&mut c, &acme, &listeners);
    let reports = ReportsConfig::from_raw(&mut c, &raw.reports, &hostname);
    let config = Config {
        source: source.clone(),
        hostname,
        data_dir,
        store,
        tls,
        acme,
        listeners,
        server: ServerConfig::from_raw(&mut c, &raw.server),
        log: LogConfig::from_raw(&mut c, &raw.log),
        limits: LimitsConfig::from_raw(&raw.limits),
        rate: RateConfig::from_raw(&mut c, &raw.rate),
        auth_throttle: AuthThrottleConfig::from_raw(&mut c, &raw.auth_throttle),
        admin: AdminConfig::from_raw(&mut c, &raw.admin),
        greylist: GreylistConfig::from_raw(&mut c, &raw.greylist),
        tarpit: TarpitConfig::from_raw(&mut c, &raw.tarpit),
        spam: SpamConfig::from_raw(&mut c, &raw.spam),
        screener: ScreenerConfig::from_raw(&raw.screener),
        reports,
        source_get: SourceGetConfig::from_raw(&mut c, &raw.source_get),
        smtp: SmtpConfig::from_raw(&mut c, &raw.smtp),
        pop3: Pop3Config::from_raw(&mut c, &raw.pop3),
        imap: ImapConfig::from_raw(&mut c, &raw.imap),
        dns: DnsConfig::from_raw(&mut c, &raw.dns, base),
        checks: ChecksConfig::from_raw(&mut c, &raw.checks),
        queue: QueueConfig::from_raw(&mut c, &raw.queue, base),
        relay: raw.relay.as_ref().map(|r| RelayConfig::from_raw(&mut c, r)),
        submission: SubmissionConfig::from_raw(&raw.submission),
        http: HttpConfig::from_raw(&mut c, &raw.http),
        sieve: SieveConfig::from_raw(&mut c, &raw.sieve, base),
    };
    if !c.errors.is_empty() {
        return Err(ConfigErrors {
            source,
            errors: c.errors,
        });
    }
    Ok(config)
}

/// A file TOML (or a section's raw form) refuses: one error, with the key
/// from the message or the span.
fn syntax_error(src: &str, e: &toml::de::Error, source: &Source) -> ConfigErrors {
    let line = e.span().map(|s| line_of(src, s.start));
    let mut message = e.message().to_string();
    let mut key = key_from_toml_message(&message)
        .or_else(|| e.span().and_then(|sp| key_at(src, sp.start)))
        .unwrap_or_else(|| "(file)".to_string());
    // `[listeners]` (one table) where `[[listeners]]` (an array of
    // tables) is meant: say it in words.
    if message.contains("expected a sequence")
        && src
            .lines()
            .any(|l| l.trim_start().starts_with("[listeners]"))
    {
        key = "listeners".into();
        message = "write each listener as its own [[listeners]] block (double brackets), \
                   not [listeners]"
            .into();
    }
    ConfigErrors {
        source: source.clone(),
        errors: vec![ConfigError { key, line, message }],
    }
}

/// toml's messages say "unknown field `x`" or "invalid type ... for key `y`";
/// pull out the key so the error names it even without a span.
fn key_from_toml_message(msg: &str) -> Option<String> {
    for marker in ["unknown field `", "missing field `", "key `"] {
        if let Some(start) = msg.find(marker) {
            let rest = &msg[start + marker.len()..];
            if let Some(end) = rest.find('`') {
                return Some(rest[..end].to_string());
            }
        }
    }
    None
}

/// The dotted key whose value sits at `offset`: the nearest table header
/// above it plus the key on its own line.
fn key_at(src: &str, offset: usize) -> Option<String> {
    let offset = offset.min(src.len());
    let line_start = src[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line = src[line_start..].lines().next().unwrap_or("");
    let key = line.split_once('=')?.0.trim().to_string();
    let header = src[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['));
    Some(match header {
        Some(h) => format!("{}.{key}", h.trim_matches(|c| c == '[' || c == ']')),
        None => key,
    })
}

/// How a configuration was chosen: `--config`/`TERN_CONFIG`, else
/// `./tern.toml`, else the embedded default.
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let local = PathBuf::from("tern.toml");
    local.exists().then_some(local)
}

/// Read and validate the configuration that `locate` chose.
pub fn load(explicit: Option<&Path>, implemented: Implemented) -> Result<Config, ConfigErrors> {
    let Some(path) = locate(explicit) else {
        return Ok(embedded_default(implemented));
    };
    let source = Source::File(path.clone());
    let src = std::fs::read_to_string(&path).map_err(|e| ConfigErrors {
        source: source.clone(),
        errors: vec![ConfigError {
            key: "(file)".into(),
            line: None,
            message: format!("cannot read: {e}"),
        }],
    })?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse(&src, source, &base, implemented)
}
