//! `tern doctor [--domain D] [--json]`: every check an admin would make by
//! hand before trusting a mail server, each with the exact fix. Exit 0 when
//! all pass, 1 otherwise.
//!
//! Nothing here changes anything: the store is opened only when its schema
//! is current (opening migrates), listeners are bound and let go at once,
//! and DNS goes through the configured resolvers (`[dns] servers`).

use std::net::IpAddr;
use std::path::Path;

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::{RData, RecordType};
use tern_common::Config;

use crate::Failure;

/// One check: what was looked at, whether it passed, and what to do.
#[derive(Debug, serde::Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        ok: true,
        detail: detail.into(),
        fix: None,
    }
}

fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        ok: false,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

/// Run every check; print them; `Ok(true)` when all passed.
pub async fn run(config: &Config, domain: Option<String>, json: bool) -> Result<bool, Failure> {
    let mut checks = vec![pass(
        "configuration",
        format!("{} loads and is valid", config.source),
    )];
    checks.extend(data_dir(&config.data_dir));
    checks.extend(listeners(config));
    checks.extend(certificate(config));
    let (store_checks, store) = store(config).await;
    checks.extend(store_checks);
    let domains = match (&domain, &store) {
        (Some(d), _) => {
            vec![tern_common::normalize_domain(d).map_err(|e| crate::usage(e.to_string()))?]
        }
        (None, Some(s)) => s
            .domain_list()
            .await
            .map(|l| l.into_iter().map(|d| d.name).collect())
            .unwrap_or_default(),
        (None, None) => Vec::new(),
    };
    match tern_queue::dns::dns_only_resolver(&config.dns) {
        Ok(resolver) => {
            let auth = tern_mailauth::authenticator(&config.dns)
                .map_err(|e| Failure::Runtime(format!("{e:#}")))?;
            for d in &domains {
                checks.extend(domain_checks(config, &resolver, &auth, store.as_ref(), d).await);
            }
        }
        Err(e) => checks.push(fail(
            "DNS resolver",
            format!("cannot start: {e:#}"),
            "check /etc/resolv.conf or [dns] servers",
        )),
    }
    if let Some(s) = store {
        s.close().await;
    }
    let ok = checks.iter().all(|c| c.ok);
    if json {
        let out = serde_json::json!({ "ok": ok, "checks": checks });
        println!("{out}");
    } else {
        for c in &checks {
            println!("{} {} — {}", if c.ok { "✓" } else { "✗" }, c.name, c.detail);
            if let Some(f) = &c.fix {
                println!("    fix: {f}");
            }
        }
        let failed = checks.iter().filter(|c| !c.ok).count();
        println!(
            "{}",
            if ok {
                format!("all {} checks passed", checks.len())
            } else {
                format!("{failed} of {} checks failed", checks.len())
            }
        );
    }
    Ok(ok)
}

fn data_dir(dir: &Path) -> Vec<Check> {
    use std::os::unix::fs::PermissionsExt;
    let name = format!("data dir {}", dir.display());
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) => {
            return vec![fail(
                name,
                format!("cannot be read: {e}"),
                format!("create it: install -d -m 0700 {}", dir.display()),
            )];
        }
    };
    let mut out = Vec::new();
    let mode = meta.permissions().mode() & 0o777;
    out.push(if mode & 0o077 == 0 {
        pass(&name, format!("mode {mode:o}"))
    } else {
        fail(
            &name,
            format!("mode {mode:o}: other users may read mail, keys and password hashes"),
            format!("chmod 700 {}", dir.display()),
        )
    });
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    out.push(match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            pass("data dir writable", "a file could be created")
        }
        Err(e) => fail(
            "data dir writable",
            e.to_string(),
            format!(
                "give the tern user ownership: chown -R tern: {}",
                dir.display()
            ),
        ),
    });
    out.push(match rustix::fs::statvfs(dir) {
        Ok(s) => {
            let free = s.f_bavail.saturating_mul(s.f_frsize);
            let gib = free as f64 / (1u64 << 30) as f64;
            if free >= 1 << 30 {
                pass("free space", format!("{gib:.1} GiB free"))
            } else {
                fail(
                    "free space",
                    format!("{gib:.2} GiB free"),
                    "free space on the data dir's filesystem: below 1 GiB deliveries soon fail",
                )
            }
        }
        Err(e) => fail(
            "free space",
            e.to_string(),
            "check the data dir's filesystem",
        ),
    });
    out
}

fn listeners(config: &Config) -> Vec<Check> {
    config
        .listeners
        .iter()
        .map(|l| {
            let addr = std::net::SocketAddr::new(l.addr, l.port);
            let name = format!("listener {} on {addr}", l.kind);
            match std::net::TcpListener::bind(addr) {
                Ok(_) => pass(name, "can bind"),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    let connect = if l.addr.is_unspecified() {
                        std::net::SocketAddr::new(
                            if l.addr.is_ipv6() {
                                IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
                            } else {
                                IpAddr::from(std::net::Ipv4Addr::LOCALHOST)
                            },
                            l.port,
                        )
                    } else {
                        addr
                    };
                    match std::net::TcpStream::connect_timeout(
                        &connect,
                        std::time::Duration::from_secs(2),
                    ) {
                        Ok(_) => pass(name, "in use and answering (tern is running?)"),
                        Err(_) => fail(
                            name,
                            "the port is taken",
                            "stop what holds it (ss -ltnp) or choose another port",
                        ),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => fail(
                    name,
                    "permission denied",
                    "ports below 1024 need CAP_NET_BIND_SERVICE: run tern from contrib/tern.service",
                ),
                Err(e) => fail(name, e.to_string(), "check the address in [[listeners]]"),
            }
        })
        .collect()
}

fn certificate(config: &Config) -> Vec<Check> {
    let Some(tls) = &config.tls else {
        if let Some(acme) = &config.acme {
            return vec![pass(
                "certificate",
                format!(
                    "from the ACME CA at {} (`tern cert status` shows it and its renewal)",
                    acme.directory
                ),
            )];
        }
        return vec![pass(
            "certificate",
            "the embedded default's self-signed certificate (clients will warn)",
        )];
    };
    let pem = match std::fs::read(&tls.cert) {
        Ok(p) => p,
        Err(e) => {
            return vec![fail(
                "certificate",
                format!("{}: {e}", tls.cert.display()),
                "put the certificate chain at [tls] cert",
            )];
        }
    };
    let der = match x509_parser::pem::parse_x509_pem(&pem) {
        Ok((_, p)) => p.contents,
        Err(e) => {
            return vec![fail(
                "certificate",
                format!("{} is not PEM: {e}", tls.cert.display()),
                "put a PEM certificate chain at [tls] cert",
            )];
        }
    };
    let cert = match x509_parser::parse_x509_certificate(&der) {
        Ok((_, c)) => c,
        Err(e) => {
            return vec![fail(
                "certificate",
                format!("cannot be parsed: {e}"),
                "put a valid certificate at [tls] cert",
            )];
        }
    };
    let mut out = Vec::new();
    let names: Vec<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => {
                        Some(d.to_ascii_lowercase())
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let host = config.hostname.to_ascii_lowercase();
    let covers = names.iter().any(|n| {
        n == &host
            || n.strip_prefix("*.")
                .is_some_and(|rest| host.split_once('.').is_some_and(|(_, h)| h == rest))
    });
    out.push(if covers {
        pass("certificate names", format!("covers {host}"))
    } else {
        fail(
            "certificate names",
            format!("{host} is not among {names:?}"),
            format!("get a certificate for {host} (clients check the name)"),
        )
    });
    let left = cert.validity().not_after.timestamp() - tern_common::time::now_secs() as i64;
    let days = left / 86_400;
    out.push(if days >= 14 {
        pass("certificate expiry", format!("{days} days left"))
    } else if left > 0 {
        fail(
            "certificate expiry",
            format!("{days} days left"),
            "renew it, then `systemctl reload tern` (SIGHUP)",
        )
    } else {
        fail(
            "certificate expiry",
            "expired",
            "renew it, then `systemctl reload tern` (SIGHUP)",
        )
    });
    out
}

/// The schema check, and the store opened when it is safe to (current).
async fn store(config: &Config) -> (Vec<Check>, Option<tern_store::Store>) {
    let pool = match config.store.kind {
        tern_common::config::StoreKind::Sqlite => {
            if !config.data_dir.join("tern.sqlite").exists() {
                return (
                    vec![fail(
                        "store",
                        "no database in the data dir yet",
                        "run `tern serve` once (it creates and migrates it)",
                    )],
                    None,
                );
            }
            tern_store::db::open_sqlite(&config.data_dir, 2).await
        }
        tern_common::config::StoreKind::Postgres => {
            tern_store::db::open_postgres(config.store.url.as_deref().unwrap_or_default(), 2).await
        }
    };
    let pool = match pool {
        Ok(p) => p,
        Err(e) => {
            return (
                vec![fail(
                    "store",
                    format!("unreachable: {e:#}"),
                    "check [store] url and that the database is running",
                )],
                None,
            );
        }
    };
    let status = tern_store::db::schema_status(&pool).await;
    pool.close().await;
    match status {
        Ok((current, latest)) if current == latest => {
            let store = tern_store::Store::open(&config.store, &config.data_dir)
                .await
                .ok();
            (
                vec![pass(
                    "store",
                    format!("reachable, schema version {current} (current)"),
                )],
                store,
            )
        }
        Ok((current, latest)) if current < latest => (
            vec![fail(
                "store",
                format!("schema version {current}, this tern writes {latest}"),
                "start `tern serve` once: it migrates at start",
            )],
            None,
        ),
        Ok((current, latest)) => (
            vec![fail(
                "store",
                format!("schema version {current} is newer than this tern's {latest}"),
                "upgrade tern",
            )],
            None,
        ),
        Err(e) => (
            vec![fail("store", format!("{e:#}"), "check the database")],
            None,
        ),
    }
}

fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

async fn txt(resolver: &TokioResolver, name: &str) -> Result<Vec<String>, String> {
    match resolver.lookup(fqdn(name), RecordType::TXT).await {
        Ok(l) => Ok(l
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::TXT(t) => Some(
                    t.txt_data
                        .iter()
                        .map(|d| String::from_utf8_lossy(d).into_owned())
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect()),
        Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    }
}

async fn domain_checks(
    config: &Config,
    resolver: &TokioResolver,
    auth: &mail_auth::MessageAuthenticator,
    store: Option<&tern_store::Store>,
    domain: &str,
) -> Vec<Check> {
    let host = config.hostname.to_ascii_lowercase();
    let mut out = Vec::new();
    // MX → us.
    let mx: Vec<String> = match resolver.lookup(fqdn(domain), RecordType::MX).await {
        Ok(l) => l
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::MX(m) => Some(
                    m.exchange
                        .to_ascii()
                        .trim_end_matches('.')
                        .to_ascii_lowercase(),
                ),
                _ => None,
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    out.push(if mx.contains(&host) {
        pass(format!("{domain}: MX"), format!("points to {host}"))
    } else {
        fail(
            format!("{domain}: MX"),
            if mx.is_empty() {
                "no MX record".to_string()
            } else {
                format!("points to {mx:?}, not {host}")
            },
            format!("publish `{domain}. MX 10 {host}.`"),
        )
    });
    // A/AAAA of the host, and each address's PTR back to it (FCrDNS).
    let addrs: Vec<IpAddr> = match resolver.lookup_ip(fqdn(&host)).await {
        Ok(ips) => ips.iter().collect(),
        Err(_) => Vec::new(),
    };
    out.push(if addrs.is_empty() {
        fail(
            format!("{domain}: address of {host}"),
            "no A or AAAA record",
            format!("publish `{host}. A <this server's IPv4>` (and AAAA for IPv6)"),
        )
    } else {
        pass(format!("{domain}: address of {host}"), format!("{addrs:?}"))
    });
    for ip in &addrs {
        let names: Vec<String> = match resolver.reverse_lookup(*ip).await {
            Ok(l) => l
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::PTR(p) => {
                        Some(p.0.to_ascii().trim_end_matches('.').to_ascii_lowercase())
                    }
                    _ => None,
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        out.push(if names.contains(&host) {
            pass(
                format!("{domain}: PTR of {ip}"),
                format!("{host} (forward-confirmed)"),
            )
        } else {
            fail(
                format!("{domain}: PTR of {ip}"),
                if names.is_empty() {
                    "no PTR record".to_string()
                } else {
                    format!("names {names:?}, not {host}")
                },
                format!("ask whoever owns {ip} (your provider) for a PTR record naming {host}"),
            )
        });
    }
    // SPF: evaluated as for a message from each of our addresses.
    for ip in &addrs {
        let result = tern_mailauth::probe::spf(auth, *ip, &host, domain).await;
        out.push(if result == mail_auth::SpfResult::Pass {
            pass(format!("{domain}: SPF for {ip}"), "pass")
        } else {
            fail(
                format!("{domain}: SPF for {ip}"),
                format!("{result:?}").to_lowercase(),
                format!(
                    "publish `{domain}. TXT \"v=spf1 mx -all\"` (one record, at most 10 lookups)"
                ),
            )
        });
    }
    // DKIM: every key in the store is published as it is.
    if let Some(store) = store {
        let keys = store.dkim_keys(Some(domain)).await.unwrap_or_default();
        if keys.is_empty() {
            out.push(fail(
                format!("{domain}: DKIM"),
                "no signing key in the store",
                format!("tern dkim keygen {domain} --algo rsa, and publish the record it prints"),
            ));
        }
        for k in keys {
            let name = format!("{}._domainkey.{domain}", k.selector);
            let want = tern_queue::dkim::txt_record(&k.algorithm, &k.public_key);
            let got = txt(resolver, &name).await.unwrap_or_default();
            let published = got.iter().any(|t| dkim_key_of(t) == dkim_key_of(&want));
            out.push(if published {
                pass(
                    format!("{domain}: DKIM {}", k.selector),
                    "published, matches the store",
                )
            } else {
                fail(
                    format!("{domain}: DKIM {}", k.selector),
                    if got.is_empty() {
                        format!("no TXT record at {name}")
                    } else {
                        format!("the record at {name} is not this key")
                    },
                    format!("publish `{name}. TXT {}`", tern_manage::zone_strings(&want)),
                )
            });
        }
    }
    // DMARC.
    out.push(match tern_mailauth::probe::dmarc(auth, domain).await {
        Ok(p) => pass(format!("{domain}: DMARC"), p),
        Err(e) => fail(
            format!("{domain}: DMARC"),
            e,
            format!(
                "publish `_dmarc.{domain}. TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}\"`"
            ),
        ),
    });
    out
}

/// The `p=` value of a DKIM key record, without white space.
fn dkim_key_of(record: &str) -> String {
    record
        .split(';')
        .filter_map(|t| t.trim().split_once('='))
        .find(|(k, _)| k.trim() == "p")
        .map(|(_, v)| v.chars().filter(|c| !c.is_whitespace()).collect())
        .unwrap_or_default()
}
