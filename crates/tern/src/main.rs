//! The tern binary: command line and the wiring of `serve`.

mod admin;
mod backup;
mod certs;
mod cli;
mod dkim;
mod doctor;
mod logging;
mod mailio;
mod memory;
mod progress;
mod protocols;
mod queue;
mod quickstart;
mod reports;
mod serve;
mod sieve;
mod spam;
mod tokens;
mod verify;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// Why a command failed, and so its exit code: 2 for a usage or
/// configuration error (fix the input), 1 for a runtime failure.
#[derive(Debug)]
pub enum Failure {
    Usage(String),
    Config(String),
    Runtime(String),
    /// `tern doctor` found a problem (it printed them): exit 1.
    Checks,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Config(m) | Failure::Runtime(m) => f.write_str(m),
            Failure::Checks => f.write_str("some checks failed"),
        }
    }
}

/// Open the store the configuration names (migrating it to this tern's
/// schema).
/// Delivered messages get their IMAP summary computed as they are
/// stored.
pub async fn open_store(config: &tern_common::Config) -> Result<tern_store::Store, Failure> {
    let store = tern_store::Store::open(&config.store, &config.data_dir)
        .await
        .map_err(|e| Failure::Runtime(format!("{e:#}")))?;
    store.set_summarizer(tern_imap::summary_for_delivery);
    Ok(store)
}

pub fn usage(msg: impl Into<String>) -> Failure {
    Failure::Usage(msg.into())
}

/// glibc's malloc raises its mmap threshold each time a large block is
/// freed; blocks of that size then come from the heap, which it does not
/// give back to the system. Under a fixed threshold every block of 1 MiB or
/// more — argon2's 19 MiB working memory, large APPENDs and messages —
/// is a mapping of its own, returned to the system when freed, and the
/// resident size follows what is in use.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets a parameter of the allocator; it has no
    // memory-safety preconditions, and nothing else runs yet (it is the
    // first call in main, before any thread is started).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    tune_allocator();
    tern_store::datadir::private_umask();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tern: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("tern: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Config(m)) => {
            eprintln!("{m}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(m)) => {
            eprintln!("tern: {m}");
            ExitCode::from(1)
        }
        Err(Failure::Checks) => ExitCode::from(1),
    }
}

/// An administration command needs a store that exists: with no
/// configuration file found and no data dir at the embedded default's
/// place, it would silently create an empty one (and the admin would add
/// users nobody serves). Say where tern looked instead.
fn existing(config: tern_common::Config) -> Result<tern_common::Config, Failure> {
    if config.source == tern_common::config::Source::Embedded && !config.data_dir.exists() {
        return Err(Failure::Usage(format!(
            "no configuration file (looked for --config, $TERN_CONFIG and ./tern.toml) and no data \
             dir at {}: nothing to administer; pass --config FILE, or run `tern quickstart` or \
             `tern serve` first",
            config.data_dir.display()
        )));
    }
    Ok(config)
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let Cli { config, command } = cli;
    let load = || {
        tern_common::config::load(config.as_deref(), protocols::implemented)
            .map_err(|e| Failure::Config(e.to_string()))
    };
    if !matches!(command, Command::Serve) {
        logging::init(&tern_common::config::LogConfig::default());
    }
    match command {
        Command::Quickstart(q) => quickstart::run(q).await,
        Command::ConfigCheck => {
            load()?;
            println!("ok");
            Ok(())
        }
        Command::Serve => {
            let config = load()?;
            let log = logging::init(&config.log);
            serve::run(config, log).await
        }
        Command::Domain(c) => admin::domain(&existing(load()?)?, c).await,
        Command::User(c) => admin::user(&existing(load()?)?, c).await,
        Command::Alias(c) => admin::alias(&existing(load()?)?, c).await,
        Command::Audit(c) => admin::audit(&existing(load()?)?, c).await,
        Command::Token(c) => tokens::run(&existing(load()?)?, c).await,
        Command::Queue(c) => queue::run(&existing(load()?)?, c).await,
        Command::Srs(c) => admin::srs(&existing(load()?)?, c).await,
        Command::Backup(b) => backup::backup(&existing(load()?)?, b).await,
        Command::Spam(c) => spam::run(&existing(load()?)?, c).await,
        Command::Reports(c) => reports::run(&existing(load()?)?, c).await,
        Command::Import {
            user,
            format,
            path,
            mailbox,
            dedup,
        } => mailio::import(&existing(load()?)?, &user, format, &path, mailbox, dedup).await,
        Command::Export { user, format, dest } => {
            mailio::export(&existing(load()?)?, &user, format, &dest).await
        }
        Command::Migrate { to } => backup::migrate(&existing(load()?)?, &to).await,
        Command::Restore { src, force } => backup::restore(&load()?, &src, force).await,
        Command::Dkim(c) => dkim::run(&existing(load()?)?, c).await,
        Command::Sieve(c) => sieve::run(&existing(load()?)?, c).await,
        Command::Cert(c) => certs::run(&existing(load()?)?, c).await,
        Command::Verify(v) => verify::run(&load()?, v).await,
        Command::Doctor { domain, json } => {
            let config = match load() {
                Ok(c) => c,
                Err(Failure::Config(e)) => {
                    // The first check failed: say so in the doctor's words.
                    println!(
                        "✗ configuration — {e}\n    fix: correct the file (tern config-check)"
                    );
                    return Err(Failure::Checks);
                }
                Err(e) => return Err(e),
            };
            if doctor::run(&config, domain, json).await? {
                Ok(())
            } else {
                Err(Failure::Checks)
            }
        }
    }
}
