//! `tern serve`: open the store, load TLS, bind every listener, serve until
//! SIGTERM or Ctrl-C, then shut down gracefully.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tern_common::challenge::Challenges;
use tern_common::config::{AcmeChallenge, Config, Source};
use tern_common::listener::{Server, Tls, bind_all};
use tern_common::security::Security;
use tern_common::tls::CertSlot;

use crate::Failure;
use crate::logging::LogHandle;

/// Print a status line; a closed stdout (the supervisor went away) must not
/// bring the server down, so write errors are ignored.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, $($arg)*);
        let _ = out.flush();
    }};
}
use crate::open_store;
use crate::protocols;

/// Before serving: private modes everywhere in the data dir, and what
/// crashes left in the Maildirs swept (see `tern_store::datadir`).
async fn tidy_data_dir(
    data_dir: &std::path::Path,
    store: &tern_store::Store,
) -> Result<(), Failure> {
    let dir = data_dir.to_path_buf();
    let repaired = tokio::task::spawn_blocking(move || tern_store::datadir::repair_modes(&dir))
        .await
        .map_err(|e| Failure::Runtime(e.to_string()))?
        .map_err(|e| Failure::Runtime(format!("data dir {}: {e}", data_dir.display())))?;
    if repaired != tern_store::datadir::Repaired::default() {
        tracing::warn!(
            dirs = repaired.dirs,
            files = repaired.files,
            "data dir held files or directories others could read; now 0600/0700"
        );
    }
    // An hour: no delivery takes that long between writing its file and
    // committing its row, so nothing in flight is touched.
    let debris = store
        .sweep_debris(std::time::Duration::from_secs(3600))
        .await
        .map_err(|e| Failure::Runtime(format!("sweeping the data dir: {e}")))?;
    if debris.tmp_removed > 0 || debris.orphans_moved > 0 {
        say!(
            "tern: removed {} half-written file(s) from tmp/; moved {} unindexed message file(s) to {}",
            debris.tmp_removed,
            debris.orphans_moved,
            data_dir.join("orphans").display()
        );
    }
    Ok(())
}

/// The certificate and key files a configuration names (the embedded
/// default's self-signed pair when it has no `[tls]`).
fn cert_paths(config: &Config) -> Result<(PathBuf, PathBuf), Failure> {
    match &config.tls {
        Some(t) => Ok((t.cert.clone(), t.key.clone())),
        None => tern_common::tls::self_signed(&config.data_dir.join("tls"), &config.hostname)
            .map_err(|e| Failure::Runtime(format!("{e:#}"))),
    }
}

/// Descriptors the server needs besides its connections: listeners, the
/// store, spool and message files, DNS sockets, outbound connections.
const OWN_FILES: u64 = 512;

/// Raise the soft limit on open files to the hard one: every connection is
/// a descriptor, and `[limits] global` (10,000 by default) is far above the
/// usual soft default of 1,024. Say so when even the hard limit is too low.
fn raise_open_files(global: u32) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    if now.current != now.maximum {
        let raised = Rlimit {
            current: now.maximum,
            maximum: now.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, "cannot raise the limit on open files");
        }
    }
    let have = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    let need = u64::from(global) + OWN_FILES;
    if have < need {
        tracing::warn!(
            open_files = have,
            needed = need,
            "the limit on open files is below [limits] global plus the server's own; \
             raise it (LimitNOFILE= in the systemd unit) or lower [limits] global"
        );
    } else {
        tracing::info!(open_files = have, "limit on open files");
    }
}

pub async fn run(config: Config, log: LogHandle) -> Result<(), Failure> {
    let config = Arc::new(config);
    if rustix::process::geteuid().is_root() {
        tracing::warn!(
            "running as root: run tern as its own user and grant it CAP_NET_BIND_SERVICE for the \
             low ports instead (contrib/tern.service does both)"
        );
    }
    raise_open_files(config.limits.global);
    let (cert, key) = cert_paths(&config)?;
    let file = tern_common::tls::certified_from_files(&cert, &key)
        .map_err(|e| Failure::Config(e.to_string()))?;
    // With [acme] and no [tls], the self-signed pair only stands in until
    // the CA's certificate arrives; then that one serves every name.
    let issued_first = config.tls.is_none() && config.acme.is_some();
    let cert_slot = Arc::new(CertSlot::new(file, issued_first));
    let server_tls = tern_common::tls::server_config_with(cert_slot.clone())
        .map_err(|e| Failure::Config(e.to_string()))?;
    let challenges = config.acme.as_ref().map(|_| Challenges::new());
    // HTTPS offers HTTP/2 and HTTP/1.1 by ALPN (RFC 9113 3.2) with the same
    // certificate; the mail listeners offer no ALPN. With tls-alpn-01, a
    // ClientHello offering acme-tls/1 on https gets the challenge
    // certificate instead (RFC 8737 3), once the store is open.
    let mut https_tls = Tls::new(tern_common::tls::with_alpn(
        &server_tls,
        &[b"h2", b"http/1.1"],
    ));
    let tls = Tls::new(server_tls);
    // Counters count from here on; `/metrics` renders them.
    let metrics = match tern_http::metrics::install() {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::warn!(error = %e, "metrics recorder not installed; /metrics is unavailable");
            None
        }
    };
    let store = open_store(&config).await?;
    tidy_data_dir(&config.data_dir, &store).await?;
    if let (Some(acme), Some(ch)) = (&config.acme, &challenges)
        && acme.challenge == AcmeChallenge::TlsAlpn01
    {
        // Another node's challenge is found in the store (the CA may ask
        // any node behind the name).
        let lookup: Arc<dyn tern_common::challenge::Lookup> =
            Arc::new(tern_acme::StoreLookup(store.clone()));
        let c = tern_common::challenge::ChallengeTls::new(ch.clone(), Some(lookup))
            .map_err(|e| Failure::Runtime(format!("acme challenge TLS: {e}")))?;
        https_tls = https_tls.with_challenge(c);
    }
    let bound = bind_all(&config.listeners)
        .await
        .map_err(|e| Failure::Runtime(format!("{e:#}")))?;

    if config.source == Source::Embedded {
        say!("tern: no configuration file; running on the embedded default (loopback only)");
    } else {
        say!("tern: configuration {}", config.source);
    }
    let store_desc = match config.store.kind {
        tern_common::config::StoreKind::Sqlite => "SQLite + Maildir".to_string(),
        tern_common::config::StoreKind::Postgres => format!(
            "PostgreSQL at {}",
            tern_store::db::redact(config.store.url.as_deref().unwrap_or_default())
        ),
    };
    say!("tern: data in {} ({store_desc})", config.data_dir.display());
    say!("tern: hostname {}", config.hostname);

    let security = Security::new(
        config.limits.clone(),
        &config.rate,
        config.auth_throttle.clone(),
        Arc::new(tern_store::StoreAudit::start(store.clone())),
    );
    spawn_upkeep(security.clone(), store.clone(), config.clone());
    spawn_tally(store.clone());
    spawn_snooze(store.clone(), config.clone());
    // DMARC and TLS reports once a day (one node at a time), and the
    // recorded outcomes they are made from dropped after a week.
    if let Err(e) = tern_reports::spawn(config.clone(), store.clone()) {
        tracing::warn!(error = %e, "reports: not started");
    }
    let queue = tern_queue::Queue::start(config.clone(), store.clone())
        .map_err(|e| Failure::Runtime(format!("{e:#}")))?;
    let server = Server::with_security(security, &config.hostname);
    // SOURCE/GET: fetch what port 25 took by SOURCE (docs/source-get.md).
    if config.source_get.receive {
        tern_smtp::fetch::spawn(
            config.clone(),
            store.clone(),
            queue.clone(),
            server.security().clone(),
        )
        .map_err(|e| Failure::Runtime(format!("starting the SOURCE/GET fetcher: {e:#}")))?;
    }
    if let Some(acme) = tern_acme::Acme::new(
        config.clone(),
        store.clone(),
        cert_slot.clone(),
        challenges.clone().unwrap_or_default(),
    ) {
        acme.start(server.shutdown_token()).await;
    }
    if let Some(t) = &config.tls
        && t.watch_secs > 0
    {
        spawn_tls_watch(t.clone(), cert_slot.clone(), server.shutdown_token());
    }
    let listening = bound
        .iter()
        .map(|b| {
            Ok(tern_http::Listening {
                kind: b.config.kind,
                addr: b.local_addr()?,
            })
        })
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    let http = Arc::new(tern_http::Service::new(tern_http::AppState::new(
        tern_http::Shared {
            config: config.clone(),
            store: store.clone(),
            security: server.security().clone(),
            listeners: listening,
            metrics,
            cert: Some(cert_slot.clone()),
            challenges: challenges.clone(),
        },
    )));
    for b in bound {
        let addr = b
            .local_addr()
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        let kind = b.config.kind;
        let handler = protocols::handler(kind, &config, &store, &queue, &http)
            .map_err(|e| Failure::Runtime(format!("setting up {kind}: {e:#}")))?
            .ok_or_else(|| {
                Failure::Config(format!(
                    "listener kind {kind} is not available in this build"
                ))
            })?;
        say!("tern: {kind} listening on {addr}");
        let tls = if kind == tern_common::ListenerKind::Https {
            https_tls.clone()
        } else {
            tls.clone()
        };
        server.serve(b, tls, handler);
    }
    // Catch the signals before saying ready: a SIGTERM right after "ready"
    // must still shut down cleanly.
    let mut signals = Signals::install();
    say!("tern: ready");
    tracing::info!("tern started");
    crate::memory::release_after_start();

    while signals.wait().await == Signal::Reload {
        reload(&config, &cert_slot, &log);
    }
    say!("tern: shutting down");
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    if !server.shutdown(grace).await {
        tracing::warn!("sessions still open after {grace:?}; closing them");
    }
    store.close().await;
    say!("tern: stopped");
    Ok(())
}

/// SIGHUP: read the configuration file again and apply what can change
/// while running — the certificate and key (new handshakes get them) and
/// the log filter. A file that no longer loads changes nothing. Everything
/// else (listeners, store, limits) needs a restart, and the log says so
/// when it differs.
fn reload(running: &Config, slot: &tern_common::tls::CertSlot, log: &LogHandle) {
    let explicit = match &running.source {
        Source::File(p) => Some(p.as_path()),
        Source::Embedded => None,
    };
    let new = match tern_common::config::load(explicit, protocols::implemented) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "reload: the configuration does not load; nothing changed");
            return;
        }
    };
    match cert_paths(&new).map(|(c, k)| slot.replace_from(&c, &k).map(|()| c)) {
        Ok(Ok(cert)) => tracing::info!(cert = %cert.display(), "reload: certificate loaded"),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "reload: certificate not loaded; the old one stays")
        }
        Err(e) => tracing::error!(error = %e, "reload: certificate not loaded; the old one stays"),
    }
    match log.set_level(&new.log) {
        Ok(level) => tracing::info!(level, "reload: log filter set"),
        Err(e) => tracing::error!(error = %e, "reload: log filter not changed"),
    }
    if new.listeners != running.listeners || new.data_dir != running.data_dir {
        tracing::warn!(
            "reload: listeners or data_dir changed; they take effect at the next restart"
        );
    }
    if new.acme != running.acme {
        tracing::warn!("reload: [acme] changed; it takes effect at the next restart");
    }
    say!("tern: reloaded");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Stop,
    Reload,
}

/// SIGTERM and SIGINT (stop), SIGHUP (reload), caught from the moment
/// they are installed.
struct Signals {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals {
            term: signal(SignalKind::terminate()).ok(),
            int: signal(SignalKind::interrupt()).ok(),
            hup: signal(SignalKind::hangup()).ok(),
        }
    }

    async fn wait(&mut self) -> Signal {
        async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        if self.term.is_none() && self.int.is_none() {
            let _ = tokio::signal::ctrl_c().await;
            return Signal::Stop;
        }
        tokio::select! {
            _ = next(&mut self.term) => Signal::Stop,
            _ = next(&mut self.int) => Signal::Stop,
            _ = next(&mut self.hup) => Signal::Reload,
        }
    }
}

/// Once a minute: forget idle rate buckets and stale login records; once an
/// hour: drop greylisting triplets that can no longer pass.
fn spawn_upkeep(security: Security, store: tern_store::Store, config: Arc<Config>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            security.prune();
            let now = tern_common::time::now_secs();
            let web = &config.admin;
            if let Err(e) = store
                .web_sessions_expire(now - web.idle_secs as i64, now - web.max_secs as i64)
                .await
            {
                tracing::warn!(error = %e, "web session clean-up failed");
            }
            n += 1;
            if n.is_multiple_of(60) {
                let now = tern_common::time::now_secs();
                if let Err(e) = store
                    .greylist_cleanup(now, config.greylist.retry_window_secs as i64)
                    .await
                {
                    tracing::warn!(error = %e, "greylist clean-up failed");
                }
            }
        }
    });
}

/// Every 2 seconds, when some are due, on one node at a time (the store
/// lease `snooze`): snoozed messages whose time has come go back where
/// they came from. The
/// first round runs at start, so a wake-up missed while tern was down
/// happens then.
fn spawn_snooze(store: tern_store::Store, config: Arc<Config>) {
    tokio::spawn(async move {
        let manager = tern_manage::Manager::new(store.clone(), config);
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tick.tick().await;
            // A read first: an idle server takes no lease (a write and a
            // sync every round) while nothing is due.
            match store.snooze_due(tern_common::time::now_secs(), 1).await {
                Ok(due) if due.is_empty() => continue,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "snooze: cannot read what is due");
                    continue;
                }
            }
            let lease = match store.lease_try("snooze", Duration::from_secs(30)).await {
                Ok(Some(l)) => l,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "snooze: cannot take the lease");
                    continue;
                }
            };
            match manager.snooze_wake(tern_common::time::now_secs()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(messages = n, "snooze: woke up"),
                Err(e) => tracing::warn!(error = %e, "snooze: wake-up failed"),
            }
            lease.release().await;
        }
    });
}

/// Every 10 seconds: add the messages counted since to the day's counts
/// in the store (what the web admin's dashboard shows). Counts the store
/// cannot take now are kept for the next round.
fn spawn_tally(store: tern_store::Store) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            tick.tick().await;
            let day = tern_common::time::now_secs().div_euclid(86_400);
            for (kind, n) in tern_common::metrics::tally::take() {
                if let Err(e) = store.tally_add(day, kind, n as i64).await {
                    tracing::warn!(error = %e, "cannot store the day's message counts");
                    tern_common::metrics::tally::give_back(kind, n);
                }
            }
        }
    });
}

/// The size and modification time of the `[tls]` files: a change in
/// either means a new pair to load.
fn fingerprint(t: &tern_common::config::TlsConfig) -> Option<[(u64, std::time::SystemTime); 2]> {
    let one = |p: &std::path::Path| {
        let m = std::fs::metadata(p).ok()?;
        Some((m.len(), m.modified().ok()?))
    };
    Some([one(&t.cert)?, one(&t.key)?])
}

/// Every `watch_secs`: load the `[tls]` pair again when its files
/// changed. A pair that does not load or does not match is refused with
/// a log line and the current certificate stays; it is tried again at
/// its next change.
fn spawn_tls_watch(
    t: tern_common::config::TlsConfig,
    slot: Arc<CertSlot>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    tokio::spawn(async move {
        let mut seen = fingerprint(&t);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(t.watch_secs)) => {}
            }
            let now = fingerprint(&t);
            if now == seen {
                continue;
            }
            // A writer may be half-way through: wait a moment for it.
            tokio::time::sleep(Duration::from_millis(500)).await;
            seen = fingerprint(&t);
            match slot.replace_from(&t.cert, &t.key) {
                Ok(()) => {
                    tracing::info!(cert = %t.cert.display(), "tls: changed certificate loaded")
                }
                Err(e) => tracing::error!(
                    cert = %t.cert.display(),
                    error = %e,
                    "tls: changed certificate not loaded; the old one stays"
                ),
            }
        }
    });
}
