//! `tern domain|user|alias …`: directory administration against the store
//! the configuration names. Bad input changes nothing and says what is wrong.

use std::io::BufRead;

use tern_common::{Address, Config};
use tern_store::StoreError;

use crate::cli::{
    AliasCmd, AuditCmd, DomainCmd, PasswordArgs, SendAsCmd, UserCmd, format_time, parse_since,
    parse_size,
};
use crate::{Failure, open_store, usage};

/// A refused request (duplicate, unknown, invalid, not empty) is the
/// caller's to fix: exit 2. Anything else is a runtime failure: exit 1.
fn store_err(e: StoreError) -> Failure {
    match e {
        StoreError::Other(e) => Failure::Runtime(format!("{e:#}")),
        e => usage(e.to_string()),
    }
}

fn address(s: &str) -> Result<Address, Failure> {
    Address::parse(s).map_err(|e| usage(e.to_string()))
}

pub fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The password from -p, from --password-stdin, or none.
/// The password given on the command line or standard input, if any,
/// checked for strength (`tern_common::password`) unless `--allow-weak`.
fn password_for(args: &PasswordArgs, login: &str) -> Result<Option<String>, Failure> {
    let given = password_from(args)?;
    if let Some(p) = &given
        && !args.allow_weak
    {
        tern_common::password::check_new(p, login)
            .map_err(|why| usage(format!("{why} (or pass --allow-weak)")))?;
    }
    Ok(given)
}

fn password_from(args: &PasswordArgs) -> Result<Option<String>, Failure> {
    if let Some(p) = &args.password {
        return Ok(Some(p.clone()));
    }
    if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| {
            Failure::Runtime(format!("reading the password from standard input: {e}"))
        })?;
        let p = line.trim_end_matches(['\r', '\n']).to_string();
        if p.is_empty() {
            return Err(usage("the password read from standard input is empty"));
        }
        return Ok(Some(p));
    }
    Ok(None)
}

pub async fn domain(config: &Config, cmd: DomainCmd) -> Result<(), Failure> {
    // Validate input before touching the store.
    if let DomainCmd::Add { domain, .. } | DomainCmd::Remove { domain, .. } = &cmd {
        tern_common::normalize_domain(domain).map_err(|e| usage(e.to_string()))?;
    }
    let store = open_store(config).await?;
    match cmd {
        DomainCmd::Add { domain, no_dkim } => {
            let d = store.domain_add(&domain).await.map_err(store_err)?;
            println!("domain {d} added");
            if no_dkim {
                return Ok(());
            }
            let records = crate::dkim::keygen_defaults(&store, &d).await?;
            println!("DKIM keys made (RSA-2048 and Ed25519, both signing); publish:");
            for (name, text) in records {
                println!("  {name} TXT {}", crate::dkim::zone_strings(&text));
            }
        }
        DomainCmd::List => {
            for d in store.domain_list().await.map_err(store_err)? {
                let ca = d
                    .catch_all
                    .map(|c| format!("  catch-all: {c}"))
                    .unwrap_or_default();
                println!("{}\t{} account(s){ca}", d.name, d.accounts);
            }
        }
        DomainCmd::Remove { domain, force } => {
            store
                .domain_remove(&domain, force)
                .await
                .map_err(store_err)?;
            println!("domain {domain} removed");
        }
    }
    Ok(())
}

pub async fn user(config: &Config, cmd: UserCmd) -> Result<(), Failure> {
    match cmd {
        UserCmd::Add {
            email,
            email_flag,
            password,
            quota,
        } => {
            let email = email
                .or(email_flag)
                .ok_or_else(|| usage("an address is required"))?;
            let a = address(&email)?;
            let quota = match quota {
                Some(q) => parse_size(&q).map_err(usage)?,
                None => 0,
            };
            let given = password_for(&password, &email)?;
            let store = open_store(config).await?;
            let pw = given.clone().unwrap_or_else(random_password);
            let acc = store.account_add(&a, &pw, quota).await.map_err(store_err)?;
            println!("account {} added", acc.name);
            if given.is_none() {
                println!("password: {pw}");
            }
        }
        UserCmd::List { domain } => {
            let store = open_store(config).await?;
            for a in store
                .account_list(domain.as_deref())
                .await
                .map_err(store_err)?
            {
                let quota = if a.quota == 0 {
                    "unlimited".to_string()
                } else {
                    a.quota.to_string()
                };
                println!(
                    "{}\tused {} of {quota}\t{}",
                    a.name,
                    a.used,
                    a.addresses[1..].join(" ")
                );
            }
        }
        UserCmd::Passwd { email, password } => {
            let a = address(&email)?;
            let given = password_for(&password, &email)?;
            let store = open_store(config).await?;
            if store.account_get(&a).await.map_err(store_err)?.is_none() {
                return Err(usage(format!("account {a} not found")));
            }
            let pw = given.clone().unwrap_or_else(random_password);
            store
                .account_set_password(&a, &pw)
                .await
                .map_err(store_err)?;
            println!("password of {a} changed");
            if given.is_none() {
                println!("password: {pw}");
            }
        }
        UserCmd::SendAs(cmd) => {
            let store = open_store(config).await?;
            match cmd {
                SendAsCmd::Add { email, address: a } => {
                    let (e, a) = (address(&email)?, address(&a)?);
                    store.send_as_add(&e, &a).await.map_err(store_err)?;
                    println!("{e} may send as {a}");
                }
                SendAsCmd::Remove { email, address: a } => {
                    let (e, a) = (address(&email)?, address(&a)?);
                    store.send_as_remove(&e, &a).await.map_err(store_err)?;
                    println!("{e} may no longer send as {a}");
                }
                SendAsCmd::List { email } => {
                    for a in store
                        .send_as_list(&address(&email)?)
                        .await
                        .map_err(store_err)?
                    {
                        println!("{a}");
                    }
                }
            }
        }
        UserCmd::Remove { email } => {
            let a = address(&email)?;
            let store = open_store(config).await?;
            store.account_remove(&a).await.map_err(store_err)?;
            println!("account {a} removed");
        }
    }
    Ok(())
}

pub async fn alias(config: &Config, cmd: AliasCmd) -> Result<(), Failure> {
    match cmd {
        AliasCmd::Add {
            address: a,
            targets,
        } => {
            let a = address(&a)?;
            let targets = targets
                .iter()
                .map(|t| address(t))
                .collect::<Result<Vec<_>, _>>()?;
            let store = open_store(config).await?;
            store.alias_add(&a, &targets).await.map_err(store_err)?;
            println!("alias {a} added");
        }
        AliasCmd::List { domain } => {
            let store = open_store(config).await?;
            for al in store
                .alias_list(domain.as_deref())
                .await
                .map_err(store_err)?
            {
                println!("{}\t{}", al.address, al.targets.join(" "));
            }
        }
        AliasCmd::Remove { address: a } => {
            let a = address(&a)?;
            let store = open_store(config).await?;
            store.alias_remove(&a).await.map_err(store_err)?;
            println!("alias {a} removed");
        }
    }
    Ok(())
}

pub async fn audit(config: &Config, cmd: AuditCmd) -> Result<(), Failure> {
    let AuditCmd::List { since, kind, limit } = cmd;
    let now = tern_common::time::now_secs();
    let since = match since {
        Some(s) => parse_since(&s, now).map_err(usage)?,
        None => 0,
    };
    let store = open_store(config).await?;
    for r in store
        .audit_list(since, kind.as_deref(), limit)
        .await
        .map_err(store_err)?
    {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            format_time(r.at),
            r.kind,
            r.protocol,
            r.ip.as_deref().unwrap_or("-"),
            r.account.as_deref().unwrap_or("-"),
            r.detail
        );
    }
    Ok(())
}
