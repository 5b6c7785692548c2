//! The configuration file: one TOML document, validated completely before
//! anything binds. Every error names the key (and the line when the file has
//! one) so that an operator can fix it without guessing. Unknown keys are
//! errors: a typo must never silently fall back to a default.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::address::normalize_domain;
use crate::limits::{Family, FamilyLimits, LimitsConfig};
use crate::security::RateConfig;
use crate::throttle::AuthThrottleConfig;

/// Where the configuration came from; shown in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Embedded,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Embedded => write!(f, "<embedded default>"),
        }
    }
}

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "line {l}: `{}`: {}", self.key, self.message),
            None => write!(f, "`{}`: {}", self.key, self.message),
        }
    }
}

/// All problems found in one file, so that one run shows them all.
#[derive(Debug, Clone)]
pub struct ConfigErrors {
    pub source: Source,
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "config error in {}: {e}", self.source)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenerKind {
    Smtp,
    Submission,
    Submissions,
    Imap,
    Imaps,
    Pop3,
    Pop3s,
    Http,
    Https,
    Managesieve,
}

impl ListenerKind {
    pub const ALL: [ListenerKind; 10] = [
        ListenerKind::Smtp,
        ListenerKind::Submission,
        ListenerKind::Submissions,
        ListenerKind::Imap,
        ListenerKind::Imaps,
        ListenerKind::Pop3,
        ListenerKind::Pop3s,
        ListenerKind::Http,
        ListenerKind::Https,
        ListenerKind::Managesieve,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ListenerKind::Smtp => "smtp",
            ListenerKind::Submission => "submission",
            ListenerKind::Submissions => "submissions",
            ListenerKind::Imap => "imap",
            ListenerKind::Imaps => "imaps",
            ListenerKind::Pop3 => "pop3",
            ListenerKind::Pop3s => "pop3s",
            ListenerKind::Http => "http",
            ListenerKind::Https => "https",
            ListenerKind::Managesieve => "managesieve",
        }
    }

    /// The standard port of the protocol (used when `port` is absent).
    pub fn standard_port(self) -> u16 {
        match self {
            ListenerKind::Smtp => 25,
            ListenerKind::Submission => 587,
            ListenerKind::Submissions => 465,
            ListenerKind::Imap => 143,
            ListenerKind::Imaps => 993,
            ListenerKind::Pop3 => 110,
            ListenerKind::Pop3s => 995,
            ListenerKind::Http => 80,
            ListenerKind::Https => 443,
            ListenerKind::Managesieve => 4190,
        }
    }

    /// The unprivileged loopback port of the embedded default.
    pub fn embedded_port(self) -> u16 {
        match self {
            ListenerKind::Smtp => 2525,
            ListenerKind::Submission => 2587,
            ListenerKind::Submissions => 2465,
            ListenerKind::Imap => 2143,
            ListenerKind::Imaps => 2993,
            ListenerKind::Pop3 => 2110,
            ListenerKind::Pop3s => 2995,
            ListenerKind::Http => 8080,
            ListenerKind::Https => 8443,
            ListenerKind::Managesieve => 4190,
        }
    }

    /// Whether the connection is TLS from its first byte.
    pub fn implicit_tls(self) -> bool {
        matches!(
            self,
            ListenerKind::Submissions
                | ListenerKind::Imaps
                | ListenerKind::Pop3s
                | ListenerKind::Https
        )
    }
}

impl fmt::Display for ListenerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Sqlite,
    Postgres,
}

// ---- the file as written --------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    hostname: Option<Spanned<String>>,
    data_dir: Option<Spanned<PathBuf>>,
    #[serde(default)]
    store: RawStore,
    tls: Option<RawTls>,
    #[serde(default)]
    listeners: Vec<RawListener>,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    smtp: RawSmtp,
    #[serde(default)]
    pop3: RawPop3,
    #[serde(default)]
    imap: RawImap,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    rate: RawRate,
    #[serde(default)]
    auth_throttle: RawAuthThrottle,
    #[serde(default)]
    greylist: RawGreylist,
    #[serde(default)]
    tarpit: RawTarpit,
    #[serde(default)]
    dns: RawDns,
    #[serde(default)]
    checks: RawChecks,
    #[serde(default)]
    queue: RawQueue,
    relay: Option<RawRelay>,
    #[serde(default)]
    submission: RawSubmission,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSubmission {
    hide_client_ip: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    workers: Option<Spanned<usize>>,
    per_domain: Option<Spanned<usize>>,
    retry_base_secs: Option<Spanned<u64>>,
    retry_max_secs: Option<Spanned<u64>>,
    give_up_after_secs: Option<Spanned<u64>>,
    delay_notice_after_secs: Option<Spanned<u64>>,
    lease_secs: Option<Spanned<u64>>,
    breaker_failures: Option<Spanned<u32>>,
    breaker_pause_secs: Option<Spanned<u64>>,
    remote_port: Option<Spanned<u16>>,
    #[serde(default)]
    require_tls: Vec<Spanned<String>>,
    tls_ca_file: Option<Spanned<PathBuf>>,
    mta_sts_port: Option<Spanned<u16>>,
    poll_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelay {
    host: Spanned<String>,
    port: Option<u16>,
    tls: Option<RelayTls>,
    username: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDns {
    #[serde(default)]
    servers: Vec<std::net::SocketAddr>,
    timeout_secs: Option<Spanned<u64>>,
    dnssec: Option<bool>,
    trust_anchor: Option<Spanned<PathBuf>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawChecks {
    dmarc_reject: Option<Verdict>,
    dmarc_quarantine: Option<Verdict>,
    spf_fail_without_dmarc: Option<Verdict>,
    temperror: Option<TempVerdict>,
    time_limit_secs: Option<Spanned<u64>>,
    #[serde(default)]
    trusted_networks: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    global: Option<u32>,
    smtp: Option<RawFamilyLimits>,
    submission: Option<RawFamilyLimits>,
    imap: Option<RawFamilyLimits>,
    pop3: Option<RawFamilyLimits>,
    http: Option<RawFamilyLimits>,
    managesieve: Option<RawFamilyLimits>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct RawFamilyLimits {
    per_ip: Option<u32>,
    per_user: Option<u32>,
    per_user_ip: Option<u32>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRate {
    connections_per_minute_per_ip: Option<u32>,
    messages_per_minute_per_ip: Option<u32>,
    messages_per_minute_per_account: Option<u32>,
    recipients_per_hour_per_account: Option<u32>,
    max_tracked: Option<Spanned<usize>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAuthThrottle {
    base_delay_ms: Option<u64>,
    max_delay_secs: Option<u64>,
    ip_lock_after: Option<u32>,
    account_lock_after: Option<u32>,
    lock_secs: Option<u64>,
    window_secs: Option<Spanned<u64>>,
    max_tracked: Option<Spanned<usize>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGreylist {
    #[serde(default)]
    domains: Vec<Spanned<String>>,
    delay_secs: Option<u64>,
    retry_window_secs: Option<Spanned<u64>>,
    pass_ttl_days: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTarpit {
    enabled: Option<bool>,
    base_delay_ms: Option<u64>,
    max_delay_secs: Option<u64>,
    reset_after_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    #[serde(default)]
    kind: StoreKind,
    url: Option<Spanned<String>>,
    max_connections: Option<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: Spanned<PathBuf>,
    key: Spanned<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListener {
    kind: ListenerKind,
    addr: Option<IpAddr>,
    port: Option<u16>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    shutdown_grace_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: Option<Spanned<String>>,
    format: Option<LogFormat>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    max_message_size: Option<Spanned<u64>>,
    max_recipients: Option<Spanned<usize>>,
    max_line_length: Option<Spanned<usize>>,
    max_errors: Option<Spanned<u32>>,
    command_timeout_secs: Option<Spanned<u64>>,
    data_timeout_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPop3 {
    max_line_length: Option<Spanned<usize>>,
    idle_timeout_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawImap {
    max_line_length: Option<Spanned<usize>>,
    max_literal_size: Option<Spanned<usize>>,
    idle_timeout_secs: Option<Spanned<u64>>,
    auth_failure_delay_ms: Option<Spanned<u64>>,
    max_auth_failures: Option<Spanned<u32>>,
    max_errors: Option<Spanned<u32>>,
    summary_cache_mib: Option<Spanned<usize>>,
    memory_budget_mib: Option<Spanned<usize>>,
}

// ---- the validated configuration -------------------------------------------

#[derive(Debug, Clone)]
pub struct Config {
    pub source: Source,
    pub hostname: String,
    pub data_dir: PathBuf,
    pub store: StoreConfig,
    /// `None` in the embedded default: a self-signed certificate is made.
    pub tls: Option<TlsConfig>,
    pub listeners: Vec<ListenerConfig>,
    pub server: ServerConfig,
    pub log: LogConfig,
    pub smtp: SmtpConfig,
    pub pop3: Pop3Config,
    pub imap: ImapConfig,
    pub limits: LimitsConfig,
    pub rate: RateConfig,
    pub auth_throttle: AuthThrottleConfig,
    pub greylist: GreylistConfig,
    pub tarpit: TarpitConfig,
    pub dns: DnsConfig,
    pub checks: ChecksConfig,
    pub queue: QueueConfig,
    pub relay: Option<RelayConfig>,
    pub submission: SubmissionConfig,
}

/// Mail submission (587/465).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubmissionConfig {
    /// Leave the client's IP address out of the Received header.
    pub hide_client_ip: bool,
}

/// Where DNS questions go. Empty `servers` means the system's resolver
/// (`/etc/resolv.conf`); tests point this at an in-process server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    pub servers: Vec<std::net::SocketAddr>,
    pub timeout_secs: u64,
    /// Validate DNSSEC for DANE (RFC 7672) on outbound delivery.
    pub dnssec: bool,
    /// DNSKEY records (zone-file syntax) trusted instead of the IANA root
    /// keys; for private or test zones.
    pub trust_anchor: Option<PathBuf>,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            servers: Vec::new(),
            timeout_secs: 5,
            dnssec: true,
            trust_anchor: None,
        }
    }
}

/// A trust anchor file must hold DNSKEY records (zone-file syntax) whose
/// keys decode: an empty or broken one would make every answer bogus.
fn check_trust_anchor(p: &Path) -> Result<(), String> {
    use hickory_proto::dnssec::TrustAnchors;
    use hickory_proto::serialize::txt::trust_anchor::Parser;
    let text =
        std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    let bad = |e: &dyn std::fmt::Display| format!("{}: not DNSKEY records: {e}", p.display());
    let entries = Parser::new(text.as_str()).parse().map_err(|e| bad(&e))?;
    if entries.is_empty() {
        return Err(format!("{} holds no DNSKEY record", p.display()));
    }
    text.parse::<TrustAnchors>().map_err(|e| bad(&e))?;
    Ok(())
}

/// What to do with a message whose checks failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Refuse at the end of DATA (550 5.7.1).
    Reject,
    /// Deliver to the recipient's Junk mailbox.
    Junk,
    /// Deliver normally (the verdict is still recorded).
    Accept,
}

/// What to do when a check could not complete (DNS time-out, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TempVerdict {
    /// 451 4.7.5: the sender retries later.
    Defer,
    Accept,
}

/// Inbound message authentication policy (SPF, DKIM, DMARC, ARC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksConfig {
    /// DMARC `p=reject` and the message fails.
    pub dmarc_reject: Verdict,
    /// DMARC `p=quarantine` and the message fails.
    pub dmarc_quarantine: Verdict,
    /// SPF `fail` for a domain without a DMARC policy.
    pub spf_fail_without_dmarc: Verdict,
    /// DMARC could not be evaluated because of a temporary error.
    pub temperror: TempVerdict,
    /// All checks of one message together take at most this long; past
    /// it the message is treated as a temporary error.
    pub time_limit_secs: u64,
    /// Clients in these networks skip the checks, as do authenticated ones.
    pub trusted_networks: Vec<(std::net::IpAddr, u8)>,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig {
            dmarc_reject: Verdict::Reject,
            dmarc_quarantine: Verdict::Junk,
            spf_fail_without_dmarc: Verdict::Junk,
            temperror: TempVerdict::Defer,
            time_limit_secs: 30,
            trusted_networks: Vec::new(),
        }
    }
}

impl ChecksConfig {
    pub fn is_trusted(&self, ip: std::net::IpAddr) -> bool {
        self.trusted_networks
            .iter()
            .any(|(net, len)| in_network(ip, *net, *len))
    }
}

/// Whether `ip` is inside `net/len`.
pub fn in_network(ip: std::net::IpAddr, net: std::net::IpAddr, len: u8) -> bool {
    use std::net::IpAddr::{V4, V6};
    match (ip, net) {
        (V4(a), V4(b)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (V6(a), V6(b)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            u128::from(a) & mask == u128::from(b) & mask
        }
        (V6(a), V4(_)) => a
            .to_ipv4_mapped()
            .is_some_and(|a| in_network(V4(a), net, len)),
        _ => false,
    }
}

/// Parse `10.0.0.0/8`, `2001:db8::/32` or a bare address.
pub fn parse_network(s: &str) -> Result<(std::net::IpAddr, u8), String> {
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = a
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not an address or network"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match l {
        Some(l) => l
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| format!("bad prefix length in `{s}`"))?,
        None => max,
    };
    Ok((ip, len))
}

/// The outbound queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// Deliveries in flight at once.
    pub workers: usize,
    /// Deliveries in flight to one destination domain.
    pub per_domain: usize,
    /// First retry after this, doubling (with jitter) up to `retry_max_secs`.
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    /// A recipient still failing after this is bounced (default 5 days).
    pub give_up_after_secs: u64,
    /// Send a delay notice (when NOTIFY=DELAY asks) once this old.
    pub delay_notice_after_secs: u64,
    /// How long a claimed recipient stays leased to its worker.
    pub lease_secs: u64,
    /// Consecutive connection failures that pause a destination...
    pub breaker_failures: u32,
    /// ...for this long.
    pub breaker_pause_secs: u64,
    /// TEST ONLY: the port remote MX hosts are contacted on (25).
    pub remote_port: u16,
    /// Destination domains that only ever get mail over TLS.
    pub require_tls: Vec<String>,
    /// Extra trust anchors (PEM) for verified TLS (MTA-STS), besides the
    /// system's certificate store.
    pub tls_ca_file: Option<PathBuf>,
    /// TEST ONLY: the port MTA-STS policies are fetched from (443).
    pub mta_sts_port: u16,
    /// How often the queue looks for due work when nothing wakes it.
    pub poll_secs: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            workers: 16,
            per_domain: 4,
            retry_base_secs: 300,
            retry_max_secs: 4 * 3600,
            give_up_after_secs: 5 * 86400,
            delay_notice_after_secs: 4 * 3600,
            lease_secs: 1800,
            breaker_failures: 5,
            breaker_pause_secs: 300,
            remote_port: 25,
            poll_secs: 30,
            require_tls: Vec::new(),
            tls_ca_file: None,
            mta_sts_port: 443,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayTls {
    /// TLS from the first byte (port 465).
    Implicit,
    /// STARTTLS, required (port 587).
    Starttls,
    /// Plain text: only for a relay on the same host or a trusted network.
    None,
}

/// A smarthost that takes all outbound mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    pub host: String,
    pub port: u16,
    pub tls: RelayTls,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Greylisting (opt-in per domain): first sight of a (client network,
/// sender, recipient) triplet is answered 451 4.7.1; a retry after
/// `delay_secs` (and within `retry_window_secs`) passes, and the triplet then
/// passes at once for `pass_ttl_days`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GreylistConfig {
    pub domains: Vec<String>,
    pub delay_secs: u64,
    pub retry_window_secs: u64,
    pub pass_ttl_days: u64,
}

impl Default for GreylistConfig {
    fn default() -> Self {
        GreylistConfig {
            domains: Vec::new(),
            delay_secs: 300,
            retry_window_secs: 2 * 86400,
            pass_ttl_days: 36,
        }
    }
}

/// Tarpitting on port 25: each invalid command or unknown recipient from an
/// IP doubles the delay before its replies (0, base, 2·base, …, capped);
/// the count resets after `reset_after_secs` of good behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarpitConfig {
    pub enabled: bool,
    pub base_delay_ms: u64,
    pub max_delay_secs: u64,
    pub reset_after_secs: u64,
}

impl Default for TarpitConfig {
    fn default() -> Self {
        TarpitConfig {
            enabled: true,
            base_delay_ms: 1000,
            max_delay_secs: 30,
            reset_after_secs: 3600,
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub kind: StoreKind,
    pub url: Option<String>,
    pub max_connections: u32,
}

#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    pub kind: ListenerKind,
    pub addr: IpAddr,
    pub port: u16,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub shutdown_grace_secs: u64,
}

/// How tern logs (to standard error). `RUST_LOG`, when set, overrides
/// `level`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Filter directives: a level (`info`) and/or `module=level` pairs,
    /// comma-separated (`info,tern_smtp=debug`).
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per event, for log collectors.
    Json,
}

/// Is `s` a valid list of log filter directives (`level` or
/// `target=level`, comma-separated)?
pub fn valid_log_filter(s: &str) -> bool {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    let level = |l: &str| LEVELS.contains(&l.to_ascii_lowercase().as_str());
    let target = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '-')
    };
    !s.trim().is_empty()
        && s.split(',')
            .map(str::trim)
            .all(|d| match d.split_once('=') {
                Some((t, l)) => target(t) && level(l),
                // A bare word must be a level: `loud` is a typo, not a module.
                None => level(d),
            })
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub max_message_size: u64,
    pub max_recipients: usize,
    pub max_line_length: usize,
    pub max_errors: u32,
    pub command_timeout_secs: u64,
    pub data_timeout_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            max_message_size: 50 * 1024 * 1024,
            max_recipients: 100,
            // RFC 5322 2.1.1: 998 characters, not counting CRLF.
            max_line_length: 998,
            max_errors: 10,
            // RFC 5321 4.5.3.2: 5 minutes for commands, 10 for the data block.
            command_timeout_secs: 300,
            data_timeout_secs: 600,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pop3Config {
    pub max_line_length: usize,
    pub idle_timeout_secs: u64,
}

impl Default for Pop3Config {
    fn default() -> Self {
        // RFC 1939 3: the inactivity timer is at least 10 minutes.
        Pop3Config {
            max_line_length: 1024,
            idle_timeout_secs: 600,
        }
    }
}

/// `[imap]`: the bounds of every IMAP session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapConfig {
    /// Longest command line, literals excluded (RFC 9051 4: at least 8192).
    pub max_line_length: usize,
    /// Largest literal, hence largest APPEND; advertised as APPENDLIMIT.
    pub max_literal_size: usize,
    /// RFC 9051 5.4: the autologout timer is at least 30 minutes.
    pub idle_timeout_secs: u64,
    /// A failed login waits this long before its answer.
    pub auth_failure_delay_ms: u64,
    /// Failed logins on one connection before it is closed.
    pub max_auth_failures: u32,
    /// Bad commands on one connection before it is closed.
    pub max_errors: u32,
    /// Memory for the ENVELOPE/BODYSTRUCTURE/header summaries of recently
    /// read messages, shared by every session; 0 keeps none in memory (they
    /// are still read from the index).
    pub summary_cache_mib: usize,
    /// Memory all logged-in sessions together may hold in message bytes
    /// at once: APPEND literals and the messages FETCH, SEARCH, SORT and
    /// THREAD read. A command that finds no room within a few seconds gets
    /// `NO [LIMIT]`. At least `max_literal_size`.
    pub memory_budget_mib: usize,
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            max_line_length: 64 * 1024,
            max_literal_size: 64 * 1024 * 1024,
            idle_timeout_secs: 30 * 60,
            auth_failure_delay_ms: 1500,
            max_auth_failures: 3,
            max_errors: 50,
            summary_cache_mib: 32,
            memory_budget_mib: 256,
        }
    }
}

/// Which listener kinds this build implements; a configured listener of any
/// other kind is refused rather than silently ignored.
pub type Implemented = fn(ListenerKind) -> bool;

/// The embedded default, used when no configuration file exists at all.
pub fn embedded_default(implemented: Implemented) -> Config {
    let listeners = ListenerKind::ALL
        .iter()
        .copied()
        .filter(|k| implemented(*k) && *k != ListenerKind::Https)
        .map(|kind| ListenerConfig {
            kind,
            addr: IpAddr::from([127, 0, 0, 1]),
            port: kind.embedded_port(),
        })
        .collect();
    Config {
        source: Source::Embedded,
        hostname: system_hostname(),
        data_dir: PathBuf::from("tern-data"),
        store: StoreConfig {
            kind: StoreKind::Sqlite,
            url: None,
            max_connections: 8,
        },
        tls: None,
        listeners,
        server: ServerConfig {
            shutdown_grace_secs: 10,
        },
        log: LogConfig::default(),
        smtp: SmtpConfig::default(),
        pop3: Pop3Config::default(),
        imap: ImapConfig::default(),
        limits: LimitsConfig::default(),
        rate: RateConfig::default(),
        auth_throttle: AuthThrottleConfig::default(),
        greylist: GreylistConfig::default(),
        tarpit: TarpitConfig::default(),
        dns: DnsConfig::default(),
        checks: ChecksConfig::default(),
        queue: QueueConfig::default(),
        relay: None,
        submission: SubmissionConfig::default(),
    }
}

/// The machine's name, or `localhost` when it has none usable.
pub fn system_hostname() -> String {
    let name = gethostname::gethostname()
        .to_string_lossy()
        .trim()
        .to_ascii_lowercase();
    normalize_domain(&name).unwrap_or_else(|_| "localhost".to_string())
}

fn line_of(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

struct Checker<'a> {
    src: &'a str,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn err_at<T>(&mut self, key: &str, at: &Spanned<T>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            key: key.to_string(),
            line: Some(line_of(self.src, at.span().start)),
            message: message.into(),
        });
    }

    fn err(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            key: key.to_string(),
            line: None,
            message: message.into(),
        });
    }

    fn positive<T: Copy + PartialOrd + Default>(
        &mut self,
        key: &str,
        v: &Option<Spanned<T>>,
        default: T,
    ) -> T {
        match v {
            Some(s) if *s.get_ref() <= T::default() => {
                self.err_at(key, s, "must be greater than zero");
                default
            }
            Some(s) => *s.get_ref(),
            None => default,
        }
    }
}

fn imap_config(c: &mut Checker<'_>, raw: &RawImap) -> ImapConfig {
    let d = ImapConfig::default();
    let cfg = ImapConfig {
        max_line_length: c.positive(
            "imap.max_line_length",
            &raw.max_line_length,
            d.max_line_length,
        ),
        max_literal_size: c.positive(
            "imap.max_literal_size",
            &raw.max_literal_size,
            d.max_literal_size,
        ),
        idle_timeout_secs: c.positive(
            "imap.idle_timeout_secs",
            &raw.idle_timeout_secs,
            d.idle_timeout_secs,
        ),
        auth_failure_delay_ms: raw
            .auth_failure_delay_ms
            .as_ref()
            .map(|v| *v.get_ref())
            .unwrap_or(d.auth_failure_delay_ms),
        max_auth_failures: c.positive(
            "imap.max_auth_failures",
            &raw.max_auth_failures,
            d.max_auth_failures,
        ),
        max_errors: c.positive("imap.max_errors", &raw.max_errors, d.max_errors),
        summary_cache_mib: raw
            .summary_cache_mib
            .as_ref()
            .map(|v| *v.get_ref())
            .unwrap_or(d.summary_cache_mib),
        memory_budget_mib: c.positive(
            "imap.memory_budget_mib",
            &raw.memory_budget_mib,
            d.memory_budget_mib,
        ),
    };
    if cfg.memory_budget_mib.saturating_mul(1 << 20) < cfg.max_literal_size {
        if let Some(m) = &raw.memory_budget_mib {
            c.err_at(
                "imap.memory_budget_mib",
                m,
                "must hold at least one literal of imap.max_literal_size",
            );
        } else if let Some(l) = &raw.max_literal_size {
            c.err_at(
                "imap.max_literal_size",
                l,
                "must fit in imap.memory_budget_mib (256 MiB by default)",
            );
        }
    }
    if let Some(l) = &raw.max_line_length
        && *l.get_ref() < 8192
    {
        c.err_at(
            "imap.max_line_length",
            l,
            "must be at least 8192 (RFC 9051 4)",
        );
    }
    if let Some(t) = &raw.idle_timeout_secs
        && *t.get_ref() < 1800
    {
        c.err_at(
            "imap.idle_timeout_secs",
            t,
            "must be at least 1800 (RFC 9051 5.4: 30 minutes)",
        );
    }
    cfg
}

/// Parse and validate a configuration text. `base` resolves relative paths.
pub fn parse(
    src: &str,
    source: Source,
    base: &Path,
    implemented: Implemented,
) -> Result<Config, ConfigErrors> {
    let raw: RawConfig = match toml::from_str(src) {
        Ok(r) => r,
        Err(e) => {
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
            return Err(ConfigErrors {
                source,
                errors: vec![ConfigError { key, line, message }],
            });
        }
    };
    let mut c = Checker {
        src,
        errors: Vec::new(),
    };

    let hostname = match &raw.hostname {
        Some(h) => match normalize_domain(h.get_ref()) {
            Ok(n) if n.contains('.') || n == "localhost" => n,
            Ok(_) => {
                c.err_at(
                    "hostname",
                    h,
                    "must be a fully qualified domain name such as mail.example.org",
                );
                String::new()
            }
            Err(e) => {
                c.err_at("hostname", h, e.to_string());
                String::new()
            }
        },
        None => system_hostname(),
    };

    let data_dir = match &raw.data_dir {
        Some(d) if d.get_ref().as_os_str().is_empty() => {
            c.err_at("data_dir", d, "must not be empty");
            PathBuf::new()
        }
        Some(d) => base.join(d.get_ref()),
        None => PathBuf::from("tern-data"),
    };

    let url = raw.store.url.as_ref().map(|u| u.get_ref().clone());
    match (raw.store.kind, &raw.store.url) {
        (StoreKind::Postgres, None) => {
            c.err("store.url", "required when store.kind = \"postgres\"")
        }
        (StoreKind::Postgres, Some(u))
            if !(u.get_ref().starts_with("postgres://")
                || u.get_ref().starts_with("postgresql://")) =>
        {
            c.err_at("store.url", u, "must be a postgres:// URL")
        }
        (StoreKind::Sqlite, Some(u)) => c.err_at(
            "store.url",
            u,
            "not used with store.kind = \"sqlite\" (the database lives in data_dir)",
        ),
        _ => {}
    }
    let max_conn = c.positive("store.max_connections", &raw.store.max_connections, 8);

    let tls = raw.tls.as_ref().map(|t| {
        let cert = base.join(t.cert.get_ref());
        let key = base.join(t.key.get_ref());
        if let Err(e) = crate::tls::load_server_config(&cert, &key) {
            let (k, at) = match e.part {
                crate::tls::Part::Cert => ("tls.cert", &t.cert),
                crate::tls::Part::Key => ("tls.key", &t.key),
            };
            c.err_at(k, at, e.message);
        }
        TlsConfig { cert, key }
    });

    let mut listeners = Vec::new();
    for (i, l) in raw.listeners.iter().enumerate() {
        if !implemented(l.kind) {
            c.err(
                &format!("listeners[{i}].kind"),
                format!("\"{}\" is not available in this build of tern", l.kind),
            );
        }
        let lc = ListenerConfig {
            kind: l.kind,
            addr: l.addr.unwrap_or(IpAddr::from([127, 0, 0, 1])),
            port: l.port.unwrap_or(l.kind.standard_port()),
        };
        if lc.port != 0
            && listeners
                .iter()
                .any(|o: &ListenerConfig| o.addr == lc.addr && o.port == lc.port)
        {
            c.err(
                &format!("listeners[{i}].port"),
                format!("{}:{} is used by another listener", lc.addr, lc.port),
            );
        }
        listeners.push(lc);
    }
    let needs_tls = listeners.iter().any(|l| l.kind != ListenerKind::Http);
    if tls.is_none() && needs_tls && !raw.listeners.is_empty() {
        c.err(
            "tls",
            "a [tls] section with cert and key is required by the configured listeners",
        );
    }

    let server = ServerConfig {
        shutdown_grace_secs: c.positive(
            "server.shutdown_grace_secs",
            &raw.server.shutdown_grace_secs,
            10,
        ),
    };
    let log = LogConfig {
        level: match &raw.log.level {
            Some(l) if !valid_log_filter(l.get_ref()) => {
                c.err_at(
                    "log.level",
                    l,
                    "must be a level (trace, debug, info, warn, error, off) or module=level pairs, comma-separated",
                );
                LogConfig::default().level
            }
            Some(l) => l.get_ref().trim().to_string(),
            None => LogConfig::default().level,
        },
        format: raw.log.format.unwrap_or_default(),
    };
    let limits = limits_from(&raw.limits);
    let rd = RateConfig::default();
    let rate = RateConfig {
        connections_per_minute_per_ip: raw
            .rate
            .connections_per_minute_per_ip
            .unwrap_or(rd.connections_per_minute_per_ip),
        messages_per_minute_per_ip: raw
            .rate
            .messages_per_minute_per_ip
            .unwrap_or(rd.messages_per_minute_per_ip),
        messages_per_minute_per_account: raw
            .rate
            .messages_per_minute_per_account
            .unwrap_or(rd.messages_per_minute_per_account),
        recipients_per_hour_per_account: raw
            .rate
            .recipients_per_hour_per_account
            .unwrap_or(rd.recipients_per_hour_per_account),
        max_tracked: c.positive("rate.max_tracked", &raw.rate.max_tracked, rd.max_tracked),
    };
    let ad = AuthThrottleConfig::default();
    let a = &raw.auth_throttle;
    let auth_throttle = AuthThrottleConfig {
        base_delay_ms: a.base_delay_ms.unwrap_or(ad.base_delay_ms),
        max_delay_secs: a.max_delay_secs.unwrap_or(ad.max_delay_secs),
        ip_lock_after: a.ip_lock_after.unwrap_or(ad.ip_lock_after),
        account_lock_after: a.account_lock_after.unwrap_or(ad.account_lock_after),
        lock_secs: a.lock_secs.unwrap_or(ad.lock_secs),
        window_secs: c.positive("auth_throttle.window_secs", &a.window_secs, ad.window_secs),
        max_keys: c.positive("auth_throttle.max_tracked", &a.max_tracked, ad.max_keys),
    };
    let gd = GreylistConfig::default();
    let mut gdomains = Vec::new();
    for d in &raw.greylist.domains {
        match normalize_domain(d.get_ref()) {
            Ok(n) => gdomains.push(n),
            Err(e) => c.err_at("greylist.domains", d, e.to_string()),
        }
    }
    let greylist = GreylistConfig {
        domains: gdomains,
        delay_secs: raw.greylist.delay_secs.unwrap_or(gd.delay_secs),
        retry_window_secs: c.positive(
            "greylist.retry_window_secs",
            &raw.greylist.retry_window_secs,
            gd.retry_window_secs,
        ),
        pass_ttl_days: c.positive(
            "greylist.pass_ttl_days",
            &raw.greylist.pass_ttl_days,
            gd.pass_ttl_days,
        ),
    };
    let td = TarpitConfig::default();
    let tarpit = TarpitConfig {
        enabled: raw.tarpit.enabled.unwrap_or(td.enabled),
        base_delay_ms: raw.tarpit.base_delay_ms.unwrap_or(td.base_delay_ms),
        max_delay_secs: raw.tarpit.max_delay_secs.unwrap_or(td.max_delay_secs),
        reset_after_secs: c.positive(
            "tarpit.reset_after_secs",
            &raw.tarpit.reset_after_secs,
            td.reset_after_secs,
        ),
    };
    let d = SmtpConfig::default();
    let smtp = SmtpConfig {
        max_message_size: c.positive(
            "smtp.max_message_size",
            &raw.smtp.max_message_size,
            d.max_message_size,
        ),
        max_recipients: c.positive(
            "smtp.max_recipients",
            &raw.smtp.max_recipients,
            d.max_recipients,
        ),
        max_line_length: c.positive(
            "smtp.max_line_length",
            &raw.smtp.max_line_length,
            d.max_line_length,
        ),
        max_errors: c.positive("smtp.max_errors", &raw.smtp.max_errors, d.max_errors),
        command_timeout_secs: c.positive(
            "smtp.command_timeout_secs",
            &raw.smtp.command_timeout_secs,
            d.command_timeout_secs,
        ),
        data_timeout_secs: c.positive(
            "smtp.data_timeout_secs",
            &raw.smtp.data_timeout_secs,
            d.data_timeout_secs,
        ),
    };
    if let Some(l) = &raw.smtp.max_line_length
        && *l.get_ref() < 78
    {
        c.err_at(
            "smtp.max_line_length",
            l,
            "must be at least 78 (RFC 5322 2.1.1)",
        );
    }
    let p = Pop3Config::default();
    let pop3 = Pop3Config {
        max_line_length: c.positive(
            "pop3.max_line_length",
            &raw.pop3.max_line_length,
            p.max_line_length,
        ),
        idle_timeout_secs: c.positive(
            "pop3.idle_timeout_secs",
            &raw.pop3.idle_timeout_secs,
            p.idle_timeout_secs,
        ),
    };
    if let Some(t) = &raw.pop3.idle_timeout_secs
        && *t.get_ref() < 600
    {
        c.err_at(
            "pop3.idle_timeout_secs",
            t,
            "must be at least 600 (RFC 1939 3: an autologout timer of at least 10 minutes)",
        );
    }
    let imap = imap_config(&mut c, &raw.imap);

    let dns = DnsConfig {
        servers: raw.dns.servers.clone(),
        timeout_secs: c.positive(
            "dns.timeout_secs",
            &raw.dns.timeout_secs,
            DnsConfig::default().timeout_secs,
        ),
        dnssec: raw.dns.dnssec.unwrap_or(true),
        trust_anchor: raw.dns.trust_anchor.as_ref().map(|f| {
            let p = base.join(f.get_ref());
            if let Err(e) = check_trust_anchor(&p) {
                c.err_at("dns.trust_anchor", f, e);
            }
            p
        }),
    };
    let cd = ChecksConfig::default();
    let mut trusted = Vec::new();
    for n in &raw.checks.trusted_networks {
        match parse_network(n.get_ref()) {
            Ok(x) => trusted.push(x),
            Err(e) => c.err_at("checks.trusted_networks", n, e),
        }
    }
    let checks = ChecksConfig {
        dmarc_reject: raw.checks.dmarc_reject.unwrap_or(cd.dmarc_reject),
        dmarc_quarantine: raw.checks.dmarc_quarantine.unwrap_or(cd.dmarc_quarantine),
        spf_fail_without_dmarc: raw
            .checks
            .spf_fail_without_dmarc
            .unwrap_or(cd.spf_fail_without_dmarc),
        temperror: raw.checks.temperror.unwrap_or(cd.temperror),
        time_limit_secs: c.positive(
            "checks.time_limit_secs",
            &raw.checks.time_limit_secs,
            cd.time_limit_secs,
        ),
        trusted_networks: trusted,
    };
    let qd = QueueConfig::default();
    let rq = &raw.queue;
    let queue = QueueConfig {
        require_tls: Vec::new(),
        tls_ca_file: None,
        mta_sts_port: 443,
        workers: c.positive("queue.workers", &rq.workers, qd.workers),
        per_domain: c.positive("queue.per_domain", &rq.per_domain, qd.per_domain),
        retry_base_secs: c.positive(
            "queue.retry_base_secs",
            &rq.retry_base_secs,
            qd.retry_base_secs,
        ),
        retry_max_secs: c.positive(
            "queue.retry_max_secs",
            &rq.retry_max_secs,
            qd.retry_max_secs,
        ),
        give_up_after_secs: c.positive(
            "queue.give_up_after_secs",
            &rq.give_up_after_secs,
            qd.give_up_after_secs,
        ),
        delay_notice_after_secs: c.positive(
            "queue.delay_notice_after_secs",
            &rq.delay_notice_after_secs,
            qd.delay_notice_after_secs,
        ),
        lease_secs: c.positive("queue.lease_secs", &rq.lease_secs, qd.lease_secs),
        breaker_failures: c.positive(
            "queue.breaker_failures",
            &rq.breaker_failures,
            qd.breaker_failures,
        ),
        breaker_pause_secs: c.positive(
            "queue.breaker_pause_secs",
            &rq.breaker_pause_secs,
            qd.breaker_pause_secs,
        ),
        remote_port: c.positive("queue.remote_port", &rq.remote_port, qd.remote_port),
        poll_secs: c.positive("queue.poll_secs", &rq.poll_secs, qd.poll_secs),
    };
    let mut require_tls = Vec::new();
    for d in &rq.require_tls {
        match normalize_domain(d.get_ref()) {
            Ok(n) => require_tls.push(n),
            Err(e) => c.err_at("queue.require_tls", d, e.to_string()),
        }
    }
    let tls_ca_file = rq.tls_ca_file.as_ref().map(|f| {
        let p = base.join(f.get_ref());
        if let Err(e) = std::fs::read(&p) {
            c.err_at(
                "queue.tls_ca_file",
                f,
                format!("cannot read {}: {e}", p.display()),
            );
        }
        p
    });
    let mta_sts_port = c.positive("queue.mta_sts_port", &rq.mta_sts_port, 443);
    let queue = QueueConfig {
        require_tls,
        tls_ca_file,
        mta_sts_port,
        ..queue
    };
    let relay = raw.relay.as_ref().map(|r| {
        if r.host.get_ref().trim().is_empty() {
            c.err_at("relay.host", &r.host, "must not be empty");
        }
        if r.username.is_some() != r.password.is_some() {
            c.err("relay", "username and password go together");
        }
        let tls = r.tls.unwrap_or(RelayTls::Starttls);
        if tls == RelayTls::None && r.username.is_some() {
            c.err(
                "relay.tls",
                "a password is never sent without TLS; use starttls or implicit",
            );
        }
        RelayConfig {
            host: r.host.get_ref().trim().to_string(),
            port: r.port.unwrap_or(match tls {
                RelayTls::Implicit => 465,
                RelayTls::Starttls => 587,
                RelayTls::None => 25,
            }),
            tls,
            username: r.username.clone(),
            password: r.password.clone(),
        }
    });

    if !c.errors.is_empty() {
        return Err(ConfigErrors {
            source,
            errors: c.errors,
        });
    }
    Ok(Config {
        source,
        hostname,
        data_dir,
        store: StoreConfig {
            kind: raw.store.kind,
            url,
            max_connections: max_conn,
        },
        tls,
        listeners,
        server,
        log,
        smtp,
        pop3,
        imap,
        limits,
        rate,
        auth_throttle,
        greylist,
        tarpit,
        dns,
        checks,
        queue,
        relay,
        submission: SubmissionConfig {
            hide_client_ip: raw.submission.hide_client_ip.unwrap_or(false),
        },
    })
}

fn limits_from(raw: &RawLimits) -> LimitsConfig {
    let mut l = LimitsConfig::default();
    if let Some(g) = raw.global {
        l.global = g;
    }
    let fams = [
        (Family::Smtp, raw.smtp),
        (Family::Submission, raw.submission),
        (Family::Imap, raw.imap),
        (Family::Pop3, raw.pop3),
        (Family::Http, raw.http),
        (Family::ManageSieve, raw.managesieve),
    ];
    for (f, r) in fams {
        let Some(r) = r else { continue };
        let e = l.families.entry(f).or_insert(FamilyLimits {
            per_ip: 0,
            per_user: 0,
            per_user_ip: 0,
        });
        if let Some(v) = r.per_ip {
            e.per_ip = v;
        }
        if let Some(v) = r.per_user {
            e.per_user = v;
        }
        if let Some(v) = r.per_user_ip {
            e.per_user_ip = v;
        }
    }
    l
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

#[cfg(test)]
mod tests {
    use super::*;

    fn all(_: ListenerKind) -> bool {
        true
    }

    fn p(src: &str) -> Result<Config, ConfigErrors> {
        parse(src, Source::Embedded, Path::new("/"), all)
    }

    /// Every bound README documents is enforced.
    #[test]
    fn documented_bounds_are_enforced() {
        for (src, key) in [
            ("[pop3]\nidle_timeout_secs = 5\n", "pop3.idle_timeout_secs"),
            ("[imap]\nidle_timeout_secs = 60\n", "imap.idle_timeout_secs"),
            ("[imap]\nmax_line_length = 100\n", "imap.max_line_length"),
            ("[smtp]\nmax_line_length = 10\n", "smtp.max_line_length"),
        ] {
            let e = p(src).unwrap_err();
            assert_eq!(e.errors[0].key, key, "{src}");
            assert!(e.errors[0].message.contains("at least"), "{src}: {e:?}");
        }
        assert!(p("[pop3]\nidle_timeout_secs = 600\n").is_ok());
    }

    #[test]
    fn a_listeners_table_is_explained() {
        let e = p("[listeners]\nkind = \"smtp\"\n").unwrap_err();
        assert_eq!(e.errors[0].key, "listeners");
        assert!(e.errors[0].message.contains("[[listeners]]"), "{e:?}");
    }

    #[test]
    fn log_level_and_format_are_checked() {
        let c = p("[log]\nlevel = \"warn,tern_smtp=debug\"\nformat = \"json\"\n").unwrap();
        assert_eq!(c.log.level, "warn,tern_smtp=debug");
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(p("").unwrap().log, LogConfig::default());
        let e = p("[log]\nlevel = \"loud\"\n").unwrap_err();
        assert_eq!(e.errors[0].key, "log.level");
        assert_eq!(e.errors[0].line, Some(2));
        assert!(p("[log]\nlevel = \"tern=verbose\"\n").is_err());
        assert!(p("[log]\nformat = \"xml\"\n").is_err());
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let e = p("hostname = \"mx.example.org\"\nhostnme = \"x\"\n").unwrap_err();
        assert_eq!(e.errors[0].key, "hostnme");
        assert_eq!(e.errors[0].line, Some(2));
    }

    #[test]
    fn wrong_type_is_named() {
        let e = p("[[listeners]]\nkind = \"smtp\"\nport = \"twenty-five\"\n").unwrap_err();
        assert_eq!(e.errors[0].line, Some(3));
        assert!(e.to_string().contains("port"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = p("hostname = \"not a host\"\n").unwrap_err();
        assert_eq!(e.errors[0].key, "hostname");
        let e = p("[smtp]\nmax_recipients = 0\n").unwrap_err();
        assert_eq!(e.errors[0].key, "smtp.max_recipients");
        assert_eq!(e.errors[0].line, Some(2));
        let e = p("[[listeners]]\nkind = \"gopher\"\n").unwrap_err();
        assert_eq!(e.errors[0].line, Some(2));
        let e = p("[store]\nkind = \"postgres\"\n").unwrap_err();
        assert_eq!(e.errors[0].key, "store.url");
    }

    #[test]
    fn imap_section() {
        let c = p("").unwrap();
        assert_eq!(c.imap, ImapConfig::default());
        let c = p("[imap]\nmax_literal_size = 1000\nidle_timeout_secs = 3600\n").unwrap();
        assert_eq!(c.imap.max_literal_size, 1000);
        assert_eq!(c.imap.idle_timeout_secs, 3600);
        assert_eq!(c.imap.max_line_length, 64 * 1024);
        let e = p("[imap]\nmax_literal = 5\n").unwrap_err();
        assert_eq!(e.errors[0].line, Some(2));
        let e = p("[imap]\nidle_timeout_secs = 60\n").unwrap_err();
        assert_eq!(e.errors[0].key, "imap.idle_timeout_secs");
        let e = p("[imap]\nmax_line_length = 100\n").unwrap_err();
        assert_eq!(e.errors[0].key, "imap.max_line_length");
        let c = p("[imap]\nmemory_budget_mib = 512\n").unwrap();
        assert_eq!(c.imap.memory_budget_mib, 512);
        // The budget must fit the largest literal (64 MiB by default).
        let e = p("[imap]\nmemory_budget_mib = 16\n").unwrap_err();
        assert_eq!(e.errors[0].key, "imap.memory_budget_mib");
        let e = p("[imap]\nmemory_budget_mib = 0\n").unwrap_err();
        assert_eq!(e.errors[0].key, "imap.memory_budget_mib");
        let e = p("[imap]\nmax_literal_size = 1000000000\n").unwrap_err();
        assert_eq!(e.errors[0].key, "imap.max_literal_size");
    }

    #[test]
    fn listener_defaults_to_loopback_and_standard_port() {
        let c = p("").unwrap();
        assert!(c.listeners.is_empty());
        let e = p("[[listeners]]\nkind = \"smtp\"\n").unwrap_err();
        assert_eq!(e.errors[0].key, "tls");
        let c = p("[[listeners]]\nkind = \"http\"\n").unwrap();
        assert_eq!(c.listeners[0].addr, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(c.listeners[0].port, 80);
    }

    #[test]
    fn abuse_sections_parse_with_defaults() {
        let c = p("[limits]\nglobal = 5\n[limits.imap]\nper_user_ip = 3\n[greylist]\ndomains = [\"Example.org\"]\n").unwrap();
        assert_eq!(c.limits.global, 5);
        assert_eq!(c.limits.families[&Family::Imap].per_user_ip, 3);
        assert_eq!(
            c.limits.families[&Family::Imap].per_ip,
            100,
            "unset keys keep their defaults"
        );
        assert_eq!(c.greylist.domains, vec!["example.org"]);
        assert_eq!(c.greylist.delay_secs, 300);
        assert!(c.tarpit.enabled);
        let e = p("[limits.imap]\nper_usr = 3\n").unwrap_err();
        assert_eq!(e.errors[0].key, "per_usr");
        let e = p("[greylist]\ndomains = [\"bad domain\"]\n").unwrap_err();
        assert_eq!(e.errors[0].key, "greylist.domains");
    }

    #[test]
    fn dns_and_checks() {
        let c = p("[dns]\nservers = [\"127.0.0.1:5353\"]\n[checks]\ndmarc_quarantine = \"accept\"\ntrusted_networks = [\"10.0.0.0/8\", \"2001:db8::/32\"]\n").unwrap();
        assert_eq!(c.dns.servers[0].port(), 5353);
        assert_eq!(c.checks.dmarc_quarantine, Verdict::Accept);
        assert_eq!(c.checks.dmarc_reject, Verdict::Reject);
        assert_eq!(c.checks.time_limit_secs, 30);
        assert!(c.checks.is_trusted("10.1.2.3".parse().unwrap()));
        assert!(c.checks.is_trusted("2001:db8:ff::1".parse().unwrap()));
        assert!(!c.checks.is_trusted("11.0.0.1".parse().unwrap()));
        let e = p("[checks]\ntrusted_networks = [\"10.0.0.0/40\"]\n").unwrap_err();
        assert_eq!(e.errors[0].key, "checks.trusted_networks");
        let e = p("[dns]\nservers = [\"nowhere\"]\n").unwrap_err();
        assert_eq!(e.errors[0].line, Some(2));
        assert!(c.dns.dnssec && c.dns.trust_anchor.is_none());
        let c = p("[dns]\ndnssec = false\n").unwrap();
        assert!(!c.dns.dnssec);
        let e = p("[dns]\ntrust_anchor = \"/nonexistent/anchor.keys\"\n").unwrap_err();
        assert_eq!(e.errors[0].key, "dns.trust_anchor");
        let d = tempfile::tempdir().unwrap();
        let anchor = |text: &str| {
            let f = d.path().join("anchor.keys");
            std::fs::write(&f, text).unwrap();
            p(&format!("[dns]\ntrust_anchor = \"{}\"\n", f.display()))
        };
        // The IANA root KSK-2017, as published.
        let root = ". 172800 IN DNSKEY 257 3 8 AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=\n";
        let c = anchor(root).unwrap();
        assert!(c.dns.trust_anchor.is_some());
        for bad in ["", "not a key\n", ". IN DNSKEY 257 3 8 !!!\n"] {
            let e = anchor(bad).unwrap_err();
            assert_eq!(e.errors[0].key, "dns.trust_anchor", "{bad:?}");
        }
    }

    #[test]
    fn queue_and_relay() {
        let c = p("[queue]\nretry_base_secs = 1\nremote_port = 2525\n[relay]\nhost = \"smtp.example.net\"\nusername = \"u\"\npassword = \"p\"\n").unwrap();
        assert_eq!(c.queue.retry_base_secs, 1);
        assert_eq!(c.queue.remote_port, 2525);
        assert_eq!(c.queue.give_up_after_secs, 5 * 86400);
        let r = c.relay.unwrap();
        assert_eq!((r.port, r.tls), (587, RelayTls::Starttls));
        let e = p("[relay]\nhost = \"h\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"\n")
            .unwrap_err();
        assert_eq!(e.errors[0].key, "relay.tls");
        let e = p("[relay]\nhost = \"h\"\nusername = \"u\"\n").unwrap_err();
        assert_eq!(e.errors[0].key, "relay");
        let e = p("[queue]\nworkers = 0\n").unwrap_err();
        assert_eq!(e.errors[0].key, "queue.workers");
    }

    #[test]
    fn unimplemented_kind_is_refused() {
        fn none(_: ListenerKind) -> bool {
            false
        }
        let e = parse(
            "[[listeners]]\nkind = \"http\"\n",
            Source::Embedded,
            Path::new("/"),
            none,
        )
        .unwrap_err();
        assert_eq!(e.errors[0].key, "listeners[0].kind");
    }

    #[test]
    fn embedded_default_binds_loopback_only() {
        let c = embedded_default(all);
        assert!(!c.listeners.is_empty());
        assert!(c.listeners.iter().all(|l| l.addr.is_loopback()));
        assert!(
            c.listeners
                .iter()
                .any(|l| l.kind == ListenerKind::Smtp && l.port == 2525)
        );
    }
}
