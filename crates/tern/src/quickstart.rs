//! `tern quickstart DOMAIN`: a production configuration, the domain, its
//! postmaster, and the DNS records to publish.

use std::path::PathBuf;
use std::sync::Arc;

use tern_common::config::{Config, ListenerConfig, ListenerKind, StoreConfig, StoreKind};
use tern_common::normalize_domain;
use tern_manage::{Code, Manager, MtaStsPolicy, NewUser, Scope};
use tern_store::Store;

use crate::admin::fail;
use crate::cli::Quickstart;
use crate::{Failure, protocols, usage};

pub async fn run(q: Quickstart) -> Result<(), Failure> {
    let domain = normalize_domain(&q.domain).map_err(|e| usage(e.to_string()))?;
    let hostname = match &q.hostname {
        Some(h) => normalize_domain(h).map_err(|e| usage(format!("--hostname: {e}")))?,
        None => format!("mail.{domain}"),
    };
    // Absolute: the written config resolves a relative data_dir against its
    // own folder, not against where quickstart ran, so the data made here
    // would not be the data the server finds.
    let data_dir = q
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("/var/lib/tern"));
    let data_dir = std::path::absolute(&data_dir)
        .map_err(|e| usage(format!("--data-dir {}: {e}", data_dir.display())))?;
    let out = q
        .config_out
        .clone()
        .unwrap_or_else(|| PathBuf::from("tern.toml"));
    if out.exists() && !q.force {
        return Err(usage(format!(
            "{} already exists; use --force to overwrite it",
            out.display()
        )));
    }

    let store = Store::open(
        &StoreConfig {
            kind: StoreKind::Sqlite,
            url: None,
            max_connections: 2,
        },
        &data_dir,
    )
    .await
    .map_err(|e| Failure::Runtime(format!("{e:#}")))?;
    let m = Manager::new(store, Arc::new(planned(&hostname, &data_dir)));
    let admin = Scope::Admin;
    match m.domain_add(&admin, &domain, false).await {
        Ok(_) => {}
        Err(e) if e.code == Code::Conflict && q.force => {}
        Err(e) if e.code == Code::Conflict => {
            return Err(usage(format!(
                "domain {domain} already exists in {}; use --force",
                data_dir.display()
            )));
        }
        Err(e) => return Err(fail(e)),
    }
    let postmaster = format!("postmaster@{domain}");
    let new = NewUser {
        address: postmaster.clone(),
        ..NewUser::default()
    };
    let password = match m.user_add(&admin, &new).await {
        Ok(made) => made.password,
        Err(e) if e.code == Code::Conflict && q.force => None,
        Err(e) => return Err(fail(e)),
    };
    // The postmaster runs the web admin (/admin).
    m.user_set_admin(&admin, &postmaster, true)
        .await
        .map_err(fail)?;
    if m.dkim_list(&admin, Some(&domain))
        .await
        .map_err(fail)?
        .is_empty()
    {
        m.dkim_add_defaults(&admin, &domain).await.map_err(fail)?;
    }
    // MTA-STS in testing mode: senders report TLS problems but deliver
    // anyway (RFC 8461 5); `tern domain mta-sts --mode enforce` once the
    // certificate names mta-sts.DOMAIN.
    if m.mta_sts_get(&admin, &domain)
        .await
        .map_err(fail)?
        .is_none()
    {
        let testing = MtaStsPolicy {
            mode: "testing".into(),
            max_age: 604_800,
            mx: Vec::new(),
        };
        m.mta_sts_set(&admin, &domain, &testing)
            .await
            .map_err(fail)?;
    }
    let records = m.dns_records(&admin, &domain).await.map_err(fail)?;
    m.store().close().await;

    let text = config_text(&hostname, &data_dir);
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Runtime(format!("creating {}: {e}", dir.display())))?;
    }
    std::fs::write(&out, text)
        .map_err(|e| Failure::Runtime(format!("writing {}: {e}", out.display())))?;

    println!("wrote {}", out.display());
    println!("domain {domain} ready; data in {}", data_dir.display());
    match password {
        Some(pw) => {
            println!("account {postmaster} created with password: {pw}");
            println!("  (shown once; change it with `tern user passwd {postmaster}`)");
            println!("  it is an admin: sign in at https://{hostname}/admin");
        }
        None => println!("account {postmaster} already existed; its password is unchanged"),
    }
    println!();
    println!("Publish these DNS records:");
    println!("  {hostname}. A <this server's public IPv4>");
    for v6 in global_ipv6() {
        println!("  {hostname}. AAAA {v6}");
    }
    for r in &records {
        println!("  {}", r.zone_line());
    }
    println!("  and a PTR record for the server's address pointing to {hostname}.");
    println!(
        "  (MTA-STS is in testing mode; `tern domain mta-sts {domain} --mode enforce` once the \
         certificate also names mta-sts.{domain}, autoconfig.{domain} and autodiscover.{domain})"
    );
    println!();
    println!(
        "Then place the TLS certificate for {hostname} at the [tls] paths in {} and run:",
        out.display()
    );
    println!("  tern --config {} serve", out.display());
    Ok(())
}

/// The configuration `config_text` writes, as the management layer needs
/// it for the records it prints (the host name and the listeners at their
/// standard ports). Not parsed from the text: that names a certificate the
/// operator has yet to put in place.
fn planned(hostname: &str, data_dir: &std::path::Path) -> Config {
    let mut c = tern_common::config::embedded_default(protocols::implemented);
    c.hostname = hostname.to_string();
    c.data_dir = data_dir.to_path_buf();
    c.listeners = ListenerKind::ALL
        .into_iter()
        .filter(|k| protocols::implemented(*k))
        .map(|kind| ListenerConfig {
            kind,
            addr: std::net::Ipv6Addr::UNSPECIFIED.into(),
            port: kind.standard_port(),
        })
        .collect();
    c
}

fn config_text(hostname: &str, data_dir: &std::path::Path) -> String {
    let mut s = format!(
        r#"# tern configuration, written by `tern quickstart`.
# Every key is checked at start: an unknown key or a bad value stops tern
# with an error naming it (try `tern config-check --config THIS_FILE`).

# The name this server greets with and signs as; its A/AAAA and PTR records
# should match.
hostname = "{hostname}"

# Mailboxes (Maildir), the SQLite database and generated keys live here.
data_dir = "{data}"

[store]
# "sqlite" needs nothing else. For several nodes use PostgreSQL:
#   kind = "postgres"
#   url = "postgres://tern:PASSWORD@db.internal/tern"
kind = "sqlite"

[tls]
# PEM certificate chain and private key for {hostname}.
cert = "/etc/tern/fullchain.pem"
key = "/etc/tern/privkey.pem"

# Listeners. `::` binds every IPv6 and IPv4 address (one dual-stack
# socket): tern is reachable from the internet. Without `addr`, a listener
# binds 127.0.0.1 only.
"#,
        data = data_dir.display()
    );
    for kind in ListenerKind::ALL {
        if protocols::implemented(kind) {
            s.push_str(&format!(
                "\n[[listeners]]\nkind = \"{kind}\"\naddr = \"::\"\nport = {}\n",
                kind.standard_port()
            ));
        }
    }
    s
}

/// The global IPv6 addresses this machine has (Linux: /proc/net/if_inet6,
/// scope 00 = global), for the AAAA records to publish; none, no AAAA.
fn global_ipv6() -> Vec<std::net::Ipv6Addr> {
    let Ok(table) = std::fs::read_to_string("/proc/net/if_inet6") else {
        return Vec::new();
    };
    table
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (hex, scope) = (f.first()?, f.get(3)?);
            if *scope != "00" || hex.len() != 32 {
                return None;
            }
            let n = u128::from_str_radix(hex, 16).ok()?;
            let a = std::net::Ipv6Addr::from(n);
            // Unique-local (fc00::/7) is not reachable from the internet.
            (a.segments()[0] & 0xfe00 != 0xfc00).then_some(a)
        })
        .collect()
}
