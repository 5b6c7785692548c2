//! Command-line grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "tern",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("TERN_BUILD"), ")"),
    about = "tern — a complete, self-hosted mail server"
)]
pub struct Cli {
    /// Configuration file (default: ./tern.toml if present, else the embedded default).
    #[arg(long, global = true, env = "TERN_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve,
    /// Write a production configuration for DOMAIN, create it and its postmaster.
    Quickstart(Quickstart),
    /// Validate the configuration and print "ok" or every error.
    ConfigCheck,
    /// Manage domains.
    #[command(subcommand)]
    Domain(DomainCmd),
    /// Check the configuration, data dir, listeners, certificate, store and
    /// each domain's DNS records (MX, A/AAAA, PTR, SPF, DKIM, DMARC); each
    /// problem with its fix. Exit 0 when all pass, 1 otherwise.
    Doctor {
        /// Check this domain's records (default: every domain in the store).
        #[arg(long)]
        domain: Option<String>,
        /// One JSON object: {"ok": bool, "checks": [{name, ok, detail, fix}]}.
        #[arg(long)]
        json: bool,
    },
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage aliases.
    #[command(subcommand)]
    Alias(AliasCmd),
    /// Read the security audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// API tokens (for the HTTP API): create, list, revoke.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Inspect and steer the outbound queue.
    #[command(subcommand)]
    Queue(QueueCmd),
    /// The Sender Rewriting Scheme for forwarded mail.
    #[command(subcommand)]
    Srs(SrsCmd),
    /// Back the store up while the server runs: `tern backup DEST`, or
    /// check a backup: `tern backup verify SRC`.
    Backup(BackupArgs),
    /// The spam classifier: bulk training and what it has learned.
    #[command(subcommand)]
    Spam(SpamCmd),
    /// DMARC aggregate and TLS reports: send the day's now, list what
    /// tern sent and what other servers sent to us.
    #[command(subcommand)]
    Reports(ReportsCmd),
    /// Bring mail in from an mbox file or a Maildir++ tree.
    Import {
        user: String,
        #[arg(value_enum)]
        format: ImportFormat,
        path: std::path::PathBuf,
        /// Into this mailbox (mbox; default INBOX), or under it (Maildir).
        #[arg(long)]
        mailbox: Option<String>,
        /// Skip a message whose Message-ID and size are already in its
        /// mailbox (run an interrupted import again with it to resume).
        #[arg(long)]
        dedup: bool,
    },
    /// Write an account's mail out as a Maildir++ tree or mbox files (one
    /// per mailbox) into a new or empty directory.
    Export {
        user: String,
        #[arg(value_enum)]
        format: ExportFormat,
        dest: std::path::PathBuf,
    },
    /// Copy the whole store (server stopped) to the other backend: to
    /// PostgreSQL (`--to postgres://…`, an empty database) or to SQLite +
    /// Maildir (`--to DIR`, a new data dir). The source is left as it is.
    Migrate {
        #[arg(long)]
        to: String,
    },
    /// Restore a backup into the configured (empty) data dir.
    Restore {
        src: std::path::PathBuf,
        /// Overwrite a data dir that already holds a store.
        #[arg(long)]
        force: bool,
    },
    /// DKIM signing keys.
    #[command(subcommand)]
    Dkim(DkimCmd),
    /// Certificates from ACME: status, renewal.
    #[command(subcommand)]
    Cert(CertCmd),
    /// Print the Authentication-Results header tern would add to a message.
    Verify(Verify),
    /// An account's Sieve scripts: list, get, put, activate, deactivate,
    /// remove, rename, check. Scripts are compiled when put; they do not
    /// run at delivery yet.
    #[command(subcommand)]
    Sieve(SieveCmd),
}

#[derive(Subcommand, Debug)]
pub enum SieveCmd {
    /// USER's scripts: name, active or not, size, last update.
    List { user: String },
    /// Print USER's script NAME.
    Get { user: String, name: String },
    /// Compile FILE (default: standard input) and store it as USER's script
    /// NAME, replacing one of that name; refused with the line and column
    /// of the first error.
    Put {
        user: String,
        name: String,
        file: Option<PathBuf>,
    },
    /// Make NAME USER's active script (the only one).
    Activate { user: String, name: String },
    /// Leave USER without an active script.
    Deactivate { user: String },
    /// Delete USER's script NAME (not the active one).
    Remove { user: String, name: String },
    /// Rename USER's script NAME to NEW_NAME.
    Rename {
        user: String,
        name: String,
        new_name: String,
    },
    /// Compile FILE (default: standard input) for USER without storing it:
    /// "ok", or the line and column of the first error.
    Check { user: String, file: Option<PathBuf> },
}

/// Run the inbound checks (SPF, DKIM, DMARC, ARC, iprev) on a message file
/// as if it had arrived on port 25, through the configured resolver.
#[derive(Args, Debug)]
pub struct Verify {
    /// The message (RFC 5322), as received.
    pub file: PathBuf,
    /// The client's IP address.
    #[arg(long)]
    pub ip: std::net::IpAddr,
    /// The name the client gave in HELO/EHLO.
    #[arg(long)]
    pub helo: String,
    /// The MAIL FROM address ("" for the null sender).
    #[arg(long = "mail-from", default_value = "")]
    pub mail_from: String,
}

#[derive(Subcommand, Debug)]
pub enum DkimCmd {
    /// Make a signing key for DOMAIN and print the TXT record to publish.
    Keygen {
        domain: String,
        /// The selector (default: ed<YYYYMM> or rsa<YYYYMM>).
        #[arg(long)]
        selector: Option<String>,
        /// ed25519 (default) or rsa (2048 bits).
        #[arg(long, default_value = "ed25519")]
        algo: String,
    },
    /// List signing keys and their records.
    List {
        #[arg(short = 'd', long = "domain")]
        domain: Option<String>,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ImportFormat {
    Mbox,
    Maildir,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    Maildir,
    Mbox,
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub cmd: Option<BackupCmd>,
    /// A new or empty directory to write the backup into.
    pub dest: Option<std::path::PathBuf>,
    /// An earlier backup: files it already holds are hard-linked from it.
    #[arg(long, value_name = "PREVIOUS")]
    pub incremental: Option<std::path::PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum BackupCmd {
    /// Check every file of a backup against its manifest.
    Verify { src: std::path::PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum SrsCmd {
    /// Print the secret SRS addresses are signed with (to share with
    /// Mail::SRS or postsrsd on other hosts); --rotate makes a new one,
    /// while the previous ones still verify bounces for 21 days.
    Secret {
        #[arg(long)]
        rotate: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum CertCmd {
    /// Each certificate: names, issuer, expiry, next renewal, last error.
    Status {
        /// One JSON array of objects.
        #[arg(long)]
        json: bool,
    },
    /// Ask the running server to renew now (a due certificate, waiving any
    /// backoff; every one with --force).
    Renew {
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum QueueCmd {
    /// Messages waiting for delivery.
    List,
    /// One message: envelope and per-recipient state.
    Show { id: i64 },
    /// Try again now: one message, or all with --all.
    Retry {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<i64>,
        #[arg(long)]
        all: bool,
    },
    /// Remove a message from the queue without delivering it.
    Remove { id: i64 },
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// List security events, oldest first.
    List {
        /// Only events newer than this: a duration such as 30m, 2h, 7d, or seconds since the epoch.
        #[arg(long, value_name = "T")]
        since: Option<String>,
        /// Only events of this kind (login_failure, login_locked, limit, relay_attempt, greylist, app_password_login, login, second_factor_failure, sieve_failure).
        #[arg(long, value_name = "K")]
        kind: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
}

#[derive(Args, Debug)]
pub struct Quickstart {
    /// The mail domain, e.g. example.org.
    pub domain: String,
    /// The server's own name (default: mail.DOMAIN).
    #[arg(long)]
    pub hostname: Option<String>,
    /// Where tern keeps its data (default: /var/lib/tern).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where to write the configuration (default: ./tern.toml).
    #[arg(long, value_name = "FILE")]
    pub config_out: Option<PathBuf>,
    /// Overwrite an existing configuration and reuse an existing domain.
    #[arg(long)]
    pub force: bool,
}

#[derive(Subcommand, Debug)]
pub enum DomainCmd {
    /// Add a domain tern receives mail for, with DKIM keys (RSA-2048 and
    /// Ed25519) whose records are printed.
    Add {
        domain: String,
        /// Make no DKIM keys (add them later with `tern dkim keygen`).
        #[arg(long)]
        no_dkim: bool,
    },
    /// List domains.
    List,
    /// Remove a domain (refused while it has accounts, unless --force).
    Remove {
        domain: String,
        /// Also remove its accounts and their mail.
        #[arg(long)]
        force: bool,
    },
    /// Publish (or change, or with --off stop) the domain's MTA-STS policy
    /// (RFC 8461), served at https://mta-sts.DOMAIN/.well-known/mta-sts.txt;
    /// prints the `_mta-sts` TXT record, whose id changes with the policy.
    #[command(name = "mta-sts")]
    MtaSts {
        domain: String,
        /// testing (report only) or enforce (senders refuse MX hosts
        /// without valid TLS).
        #[arg(long, value_parser = ["testing", "enforce"], required_unless_present = "off")]
        mode: Option<String>,
        /// How long senders keep the policy, in seconds (at most 31557600).
        #[arg(long, default_value_t = 604_800)]
        max_age: u64,
        /// An MX host or `*.` pattern the policy allows (repeat for
        /// several; default: this server's hostname).
        #[arg(long = "mx")]
        mx: Vec<String>,
        /// Stop publishing the policy.
        #[arg(long, conflicts_with_all = ["mode", "mx"])]
        off: bool,
    },
    /// Show (or with flags change) the domain's own greylisting and
    /// tarpitting; `default` follows [greylist]/[tarpit].
    Policy {
        domain: String,
        #[arg(long, value_parser = ["default", "on", "off"])]
        greylist: Option<String>,
        /// Seconds a first-time sender waits (with --greylist on).
        #[arg(long, value_name = "SECS")]
        greylist_delay: Option<u64>,
        #[arg(long, value_parser = ["default", "on", "off"])]
        tarpit: Option<String>,
        /// The first tarpit step for unknown recipients, in ms (with --tarpit on).
        #[arg(long, value_name = "MS")]
        tarpit_delay_ms: Option<u64>,
    },
}

#[derive(Args, Debug)]
pub struct PasswordArgs {
    /// The password (visible in the process list; prefer --password-stdin).
    #[arg(short = 'p', long = "password", conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Accept a password that fails the strength rules (tests, migrations).
    #[arg(long)]
    pub allow_weak: bool,
}

#[derive(Subcommand, Debug)]
pub enum UserCmd {
    /// Add an account (a random password is printed when none is given).
    #[command(alias = "create")]
    Add {
        /// The account's address, which is also its login.
        #[arg(required_unless_present = "email_flag", conflicts_with = "email_flag")]
        email: Option<String>,
        #[arg(short = 'e', long = "email", value_name = "EMAIL")]
        email_flag: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
        /// Mailbox quota such as 500M or 2G (default: unlimited).
        #[arg(long, value_name = "SIZE")]
        quota: Option<String>,
    },
    /// List accounts.
    List {
        #[arg(short = 'd', long = "domain")]
        domain: Option<String>,
    },
    /// Change an account's password.
    Passwd {
        email: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Remove an account and its mail.
    Remove { email: String },
    /// Stop an account from logging in (password and app passwords); its
    /// mail is still delivered.
    Disable { email: String },
    /// Let a disabled account log in again.
    Enable { email: String },
    /// Give (on) or take away (off) the admin role: the web admin at
    /// /admin. Taking it away ends the account's web sessions.
    Admin {
        email: String,
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Remove the account's TOTP second factor (for a user who lost the
    /// device and the recovery codes); they enrol again at /account.
    ResetTotp { email: String },
    /// The Screener: hold first-contact mail in the `Screener` mailbox
    /// until the user decides (on, off, list, approve, deny, forget).
    Screener {
        email: String,
        #[command(subcommand)]
        action: ScreenerCmd,
    },
    /// Snooze (on makes the Snoozed/… mailboxes; moving mail into one
    /// brings it back at its time), the account's time zone, and what is
    /// snoozed now.
    Snooze {
        email: String,
        #[arg(value_parser = ["on", "off", "list"])]
        action: String,
        /// The account's time zone (an IANA name, e.g. Europe/Berlin; ""
        /// for the server's).
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// VIP senders (addresses or @domains): past the Screener, flagged
    /// $Important.
    Vip {
        email: String,
        #[command(subcommand)]
        action: VipCmd,
    },
    /// Shared addresses the account may also send as (submission).
    #[command(subcommand)]
    SendAs(SendAsCmd),
    /// Per-device passwords that log in beside the account's own
    /// (IMAP, POP3, submission), each revocable on its own.
    #[command(subcommand)]
    AppPassword(AppPasswordCmd),
}

#[derive(Subcommand, Debug)]
pub enum ScreenerCmd {
    /// Hold mail from unknown senders (creates the Screener mailbox).
    On,
    Off,
    /// Every sender decision: approved or screened out, and how.
    List,
    /// Later mail from SENDER goes to INBOX.
    Approve {
        sender: String,
    },
    /// Later mail from SENDER goes to Junk, marked seen.
    Deny {
        sender: String,
    },
    /// Forget the decision: SENDER's next mail is screened again.
    Forget {
        sender: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum VipCmd {
    Add { pattern: String },
    Remove { pattern: String },
    List,
}

#[derive(Subcommand, Debug)]
pub enum ReportsCmd {
    /// Make and send the reports of the last finished UTC day (or --day)
    /// now, whatever [reports] hour says; a report already sent for that
    /// day and domain is not sent again.
    SendNow {
        /// Print what would be sent, send nothing.
        #[arg(long)]
        dry_run: bool,
        /// The day to report on, YYYY-MM-DD (default: yesterday).
        #[arg(long)]
        day: Option<String>,
        /// Only this kind: dmarc or tlsrpt (default: those [reports] turns on).
        #[arg(long)]
        kind: Option<String>,
        /// Also write each report's XML or JSON into this directory.
        #[arg(long)]
        save: Option<std::path::PathBuf>,
    },
    /// Reports received (newest first), or with --sent the ones tern sent.
    List {
        #[arg(long)]
        domain: Option<String>,
        /// dmarc or tlsrpt.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// The reports tern sent in the last 30 days instead.
        #[arg(long)]
        sent: bool,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// One received report with its rows.
    Show {
        id: i64,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum SpamCmd {
    /// Teach USER's classifier (and the global one) that the messages of an
    /// mbox file or a Maildir++ tree are spam (--spam) or ham (--ham).
    Train {
        user: String,
        #[arg(long, required_unless_present = "ham", conflicts_with = "ham")]
        spam: bool,
        #[arg(long)]
        ham: bool,
        path: std::path::PathBuf,
    },
    /// How many messages USER's model and the global one have learned.
    Status { user: String },
}

#[derive(Subcommand, Debug)]
pub enum AppPasswordCmd {
    /// Make an app password for EMAIL's device NAME and print it (once).
    Add {
        email: String,
        /// The device it is for (unique in the account), e.g. phone.
        #[arg(long)]
        name: String,
    },
    /// EMAIL's app passwords: name, when made, when last used (never the passwords).
    List { email: String },
    /// Revoke EMAIL's app password NAME: it logs in no more.
    Revoke { email: String, name: String },
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// Make an API token and print its secret (once: only its hash is kept).
    Create {
        /// A name to know it by (unique; not only digits).
        #[arg(long)]
        name: String,
        /// admin (every domain) or domain:DOMAIN (that domain only).
        #[arg(long, default_value = "admin", value_name = "SCOPE")]
        scope: String,
        /// It stops working after this many days (default: never).
        #[arg(long, value_name = "N")]
        expires_days: Option<u32>,
    },
    /// List API tokens: id, name, scope, dates (never their secrets).
    List,
    /// Revoke a token: it works no more.
    Revoke {
        #[arg(value_name = "NAME-or-ID")]
        token: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SendAsCmd {
    /// Let EMAIL send as ADDRESS.
    Add { email: String, address: String },
    /// Take that back.
    Remove { email: String, address: String },
    /// The addresses EMAIL may also send as.
    List { email: String },
}

#[derive(Subcommand, Debug)]
pub enum AliasCmd {
    /// Deliver ADDRESS to one or more targets (local or remote addresses).
    Add {
        address: String,
        #[arg(required = true)]
        targets: Vec<String>,
    },
    /// List aliases.
    List {
        #[arg(short = 'd', long = "domain")]
        domain: Option<String>,
    },
    /// Remove an alias.
    Remove { address: String },
}

/// Parse `--since`: `30m`, `2h`, `7d`, `45s` ago, or seconds since the epoch.
pub fn parse_since(s: &str, now: i64) -> Result<i64, String> {
    let t = s.trim();
    let bad = || format!("invalid time `{s}` (use e.g. 30m, 2h, 7d or seconds since the epoch)");
    let (num, unit) = match t.chars().last() {
        Some(c @ ('s' | 'm' | 'h' | 'd')) => (&t[..t.len() - 1], c),
        _ => return t.parse::<i64>().map_err(|_| bad()),
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        _ => 86400,
    };
    Ok(now - n * mult)
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(t: i64) -> String {
    tern_common::time::iso8601(t)
}

/// `never`, or the time (`format_time`).
pub fn format_when(t: Option<i64>) -> String {
    t.map_or_else(|| "never".to_string(), format_time)
}

/// Parse sizes such as `1048576`, `500K`, `500M`, `2G`, `1.5GB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_uppercase();
    let t = t
        .strip_suffix("IB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        Some('T') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("invalid size `{s}` (use e.g. 500M or 2G)"))?;
    if !n.is_finite() || n < 0.0 {
        return Err(format!("invalid size `{s}`"));
    }
    Ok((n * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024").unwrap(), 1024);
        assert_eq!(parse_size("500M").unwrap(), 500 << 20);
        assert_eq!(parse_size("2g").unwrap(), 2 << 30);
        assert_eq!(parse_size("1.5GB").unwrap(), 3 << 29);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("-1").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(parse_since("2h", 10_000).unwrap(), 10_000 - 7200);
        assert_eq!(parse_since("1700000000", 0).unwrap(), 1_700_000_000);
        assert!(parse_since("yesterday", 0).is_err());
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn grammar() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let c =
            Cli::try_parse_from(["tern", "user", "create", "-e", "a@b.org", "-p", "x"]).unwrap();
        assert!(matches!(
            c.command,
            Command::User(UserCmd::Add {
                email_flag: Some(_),
                ..
            })
        ));
        assert!(Cli::try_parse_from(["tern", "user", "add"]).is_err());
        let c = Cli::try_parse_from([
            "tern",
            "user",
            "app-password",
            "add",
            "a@b.org",
            "--name",
            "phone",
        ])
        .unwrap();
        assert!(matches!(
            c.command,
            Command::User(UserCmd::AppPassword(AppPasswordCmd::Add { .. }))
        ));
        let c = Cli::try_parse_from(["tern", "token", "create", "--name", "ci"]).unwrap();
        assert!(matches!(
            c.command,
            Command::Token(TokenCmd::Create { scope, expires_days: None, .. }) if scope == "admin"
        ));
    }
}
