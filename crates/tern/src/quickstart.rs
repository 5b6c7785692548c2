//! `tern quickstart DOMAIN`: a production configuration, the domain, its
//! postmaster, and the DNS records to publish.

use std::path::PathBuf;

use tern_common::config::{ListenerKind, StoreConfig, StoreKind};
use tern_common::{Address, normalize_domain};
use tern_store::{Store, StoreError};

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
    match store.domain_add(&domain).await {
        Ok(_) => {}
        Err(StoreError::Duplicate(_)) if q.force => {}
        Err(StoreError::Duplicate(_)) => {
            return Err(usage(format!(
                "domain {domain} already exists in {}; use --force",
                data_dir.display()
            )));
        }
        Err(e) => return Err(Failure::Runtime(e.to_string())),
    }
    let postmaster =
        Address::from_parts("postmaster", &domain).map_err(|e| usage(e.to_string()))?;
    let password = crate::admin::random_password();
    let created = match store.account_add(&postmaster, &password, 0).await {
        Ok(_) => true,
        Err(StoreError::Duplicate(_)) if q.force => false,
        Err(e) => return Err(Failure::Runtime(e.to_string())),
    };
    let has_key = !store
        .dkim_keys(Some(&domain))
        .await
        .map_err(|e| Failure::Runtime(e.to_string()))?
        .is_empty();
    let dkim = if has_key {
        Vec::new()
    } else {
        crate::dkim::keygen_defaults(&store, &domain).await?
    };
    // MTA-STS in testing mode: senders report TLS problems but deliver
    // anyway (RFC 8461 5); `tern domain mta-sts --mode enforce` once the
    // certificate names mta-sts.DOMAIN.
    let sts = match store.mta_sts_get(&domain).await {
        Ok(Some(p)) => p,
        _ => store
            .mta_sts_set(&domain, "testing", 604_800, &[])
            .await
            .map_err(|e| Failure::Runtime(e.to_string()))?,
    };
    store.close().await;

    let text = config_text(&hostname, &data_dir);
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Runtime(format!("creating {}: {e}", dir.display())))?;
    }
    std::fs::write(&out, text)
        .map_err(|e| Failure::Runtime(format!("writing {}: {e}", out.display())))?;

    println!("wrote {}", out.display());
    println!("domain {domain} ready; data in {}", data_dir.display());
    if created {
        println!("account {postmaster} created with password: {password}");
        println!("  (shown once; change it with `tern user passwd {postmaster}`)");
    } else {
        println!("account {postmaster} already existed; its password is unchanged");
    }
    println!();
    println!("Publish these DNS records:");
    println!("  {domain}.           MX   10 {hostname}.");
    println!("  {hostname}.  A    <this server's public IPv4>");
    for v6 in global_ipv6() {
        println!("  {hostname}.  AAAA {v6}");
    }
    println!("  {domain}.           TXT  \"v=spf1 mx -all\"");
    println!(
        "  _dmarc.{domain}.    TXT  \"v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}\""
    );
    for (name, text) in &dkim {
        println!("  {name} TXT {}", crate::dkim::zone_strings(text));
    }
    if dkim.is_empty() {
        println!("  (DKIM: the domain's existing keys; see `tern dkim list`)");
    }
    for r in crate::records::service_records(&domain, &hostname, Some(&sts)) {
        println!("  {r}");
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
