//! `tern domain|user|alias|audit …`: directory administration through the
//! management layer (`tern_manage`), which the JSON API shares; this file
//! only reads the command line and prints. Bad input changes nothing and
//! says what is wrong.

use std::io::BufRead;
use std::sync::Arc;

use tern_common::Config;
use tern_manage::{
    AuditQuery, Manager, MtaStsPolicy, NewPassword, NewUser, PageRequest, Scope, Setting,
};

use crate::cli::{
    AliasCmd, AppPasswordCmd, AuditCmd, DomainCmd, PasswordArgs, ScreenerCmd, SendAsCmd, SrsCmd,
    UserCmd, VipCmd, format_time, format_when, parse_since, parse_size,
};
use crate::{Failure, open_store, usage};

/// The management layer over the configured store; the CLI acts as admin.
pub async fn manager(config: &Config) -> Result<Manager, Failure> {
    let store = open_store(config).await?;
    Ok(Manager::new(store, Arc::new(config.clone())))
}

/// What the caller can fix is exit 2; a failing store or disk exit 1.
pub fn fail(e: tern_manage::Error) -> Failure {
    if e.code.is_callers() {
        usage(e.to_string())
    } else {
        Failure::Runtime(e.to_string())
    }
}

/// The password given with -p or on standard input, if any.
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

/// A refused password says how to insist.
fn password_fail(e: tern_manage::Error) -> Failure {
    if e.field.as_deref() == Some("password") && e.code == tern_manage::Code::Invalid {
        return usage(format!("{} (or pass --allow-weak)", e.message));
    }
    fail(e)
}

pub async fn domain(config: &Config, cmd: DomainCmd) -> Result<(), Failure> {
    let m = manager(config).await?;
    match cmd {
        DomainCmd::Add { domain, no_dkim } => {
            let made = m
                .domain_add(&Scope::Admin, &domain, !no_dkim)
                .await
                .map_err(fail)?;
            println!("domain {} added", made.name);
            if no_dkim {
                return Ok(());
            }
            println!("DKIM keys made (RSA-2048 and Ed25519, both signing); publish:");
            for r in made.dkim {
                println!("  {}", r.zone_line());
            }
        }
        DomainCmd::List => {
            let all = m
                .domain_list(&Scope::Admin, &PageRequest::all())
                .await
                .map_err(fail)?;
            for d in all.items {
                let ca = d
                    .catch_all
                    .map(|c| format!("  catch-all: {c}"))
                    .unwrap_or_default();
                println!("{}\t{} account(s){ca}", d.name, d.accounts);
            }
        }
        DomainCmd::Remove { domain, force } => {
            m.domain_remove(&Scope::Admin, &domain, force)
                .await
                .map_err(fail)?;
            println!("domain {domain} removed");
        }
        DomainCmd::Policy {
            domain,
            greylist,
            greylist_delay,
            tarpit,
            tarpit_delay_ms,
        } => {
            let m = manager(config).await?;
            let g = greylist
                .map(|s| Setting::parse(&s, greylist_delay, "greylist"))
                .transpose()
                .map_err(fail)?;
            let t = tarpit
                .map(|s| Setting::parse(&s, tarpit_delay_ms, "tarpit"))
                .transpose()
                .map_err(fail)?;
            let p = if g.is_some() || t.is_some() {
                m.domain_set_policy(&Scope::Admin, &domain, g, t).await
            } else {
                m.domain_policy(&Scope::Admin, &domain).await
            }
            .map_err(fail)?;
            let whose = |own: bool| {
                if own {
                    "this domain's setting"
                } else {
                    "the configuration"
                }
            };
            if p.greylisting {
                println!(
                    "greylisting: on, {} s ({})",
                    p.greylist_delay_secs,
                    whose(p.greylist_own)
                );
            } else {
                println!("greylisting: off ({})", whose(p.greylist_own));
            }
            if p.tarpitting {
                println!(
                    "tarpitting: on, from {} ms ({})",
                    p.tarpit_delay_ms,
                    whose(p.tarpit_own)
                );
            } else {
                println!("tarpitting: off ({})", whose(p.tarpit_own));
            }
        }
        DomainCmd::MtaSts {
            domain,
            mode,
            max_age,
            mx,
            off,
        } => {
            if off {
                m.mta_sts_remove(&Scope::Admin, &domain)
                    .await
                    .map_err(fail)?;
                println!("MTA-STS policy of {domain} removed; delete its _mta-sts TXT record");
                return Ok(());
            }
            let policy = MtaStsPolicy {
                mode: mode.unwrap_or_else(|| "testing".into()),
                max_age,
                mx,
            };
            let p = m
                .mta_sts_set(&Scope::Admin, &domain, &policy)
                .await
                .map_err(fail)?;
            println!(
                "MTA-STS policy of {}: mode {}, max_age {}, mx {}",
                p.domain,
                p.mode,
                p.max_age,
                p.mx.join(", ")
            );
            println!("publish (the id is new with every change):");
            println!("  {}", p.record.zone_line());
            println!(
                "  mta-sts.{}. CNAME {}.   (the https certificate must name it)",
                p.domain, config.hostname
            );
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
            let quota = match quota {
                Some(q) => Some(parse_size(&q).map_err(usage)?),
                None => None,
            };
            let new = NewUser {
                address: email,
                password: password_from(&password)?,
                quota,
                allow_weak: password.allow_weak,
            };
            let m = manager(config).await?;
            let made = m
                .user_add(&Scope::Admin, &new)
                .await
                .map_err(password_fail)?;
            println!("account {} added", made.user.address);
            if let Some(pw) = made.password {
                println!("password: {pw}");
            }
        }
        UserCmd::List { domain } => {
            let m = manager(config).await?;
            let all = m
                .user_list(&Scope::Admin, domain.as_deref(), &PageRequest::all())
                .await
                .map_err(fail)?;
            for u in all.items {
                let quota = if u.quota == 0 {
                    "unlimited".to_string()
                } else {
                    u.quota.to_string()
                };
                let disabled = if u.disabled { "\tdisabled" } else { "" };
                println!(
                    "{}\tused {} of {quota}\t{}{disabled}",
                    u.address,
                    u.used,
                    u.aliases.join(" ")
                );
            }
        }
        UserCmd::Passwd { email, password } => {
            let new = NewPassword {
                password: password_from(&password)?,
                allow_weak: password.allow_weak,
            };
            let m = manager(config).await?;
            let made = m
                .user_set_password(&Scope::Admin, &email, &new)
                .await
                .map_err(password_fail)?;
            println!("password of {email} changed");
            if let Some(pw) = made {
                println!("password: {pw}");
            }
        }
        UserCmd::SendAs(cmd) => {
            let m = manager(config).await?;
            match cmd {
                SendAsCmd::Add { email, address } => {
                    m.send_as_add(&Scope::Admin, &email, &address)
                        .await
                        .map_err(fail)?;
                    println!("{email} may send as {address}");
                }
                SendAsCmd::Remove { email, address } => {
                    m.send_as_remove(&Scope::Admin, &email, &address)
                        .await
                        .map_err(fail)?;
                    println!("{email} may no longer send as {address}");
                }
                SendAsCmd::List { email } => {
                    for a in m.send_as_list(&Scope::Admin, &email).await.map_err(fail)? {
                        println!("{a}");
                    }
                }
            }
        }
        UserCmd::AppPassword(cmd) => app_password(config, cmd).await?,
        UserCmd::Disable { email } => {
            let m = manager(config).await?;
            m.user_set_disabled(&Scope::Admin, &email, true)
                .await
                .map_err(fail)?;
            println!("account {email} disabled: it cannot log in; its mail is still delivered");
        }
        UserCmd::Admin { email, state } => {
            let m = manager(config).await?;
            let on = state == "on";
            m.user_set_admin(&Scope::Admin, &email, on)
                .await
                .map_err(fail)?;
            if on {
                println!("account {email} is an admin: it may sign in at /admin");
            } else {
                println!("account {email} is no longer an admin");
            }
        }
        UserCmd::Screener { email, action } => {
            let m = manager(config).await?;
            let a = &Scope::Admin;
            match action {
                ScreenerCmd::On => {
                    m.screener_set(a, &email, true).await.map_err(fail)?;
                    println!(
                        "screener on for {email}: mail from unknown senders waits in Screener"
                    );
                }
                ScreenerCmd::Off => {
                    m.screener_set(a, &email, false).await.map_err(fail)?;
                    println!("screener off for {email}");
                }
                ScreenerCmd::List => {
                    for d in m.screener_list(a, &email).await.map_err(fail)? {
                        let what = if d.approved {
                            "approved"
                        } else {
                            "screened out"
                        };
                        println!("{}\t{what}\t{}", d.sender, d.source);
                    }
                }
                ScreenerCmd::Approve { sender } => {
                    m.screener_decide(a, &email, &sender, true, "cli")
                        .await
                        .map_err(fail)?;
                    println!("{sender} approved: their mail goes to INBOX");
                }
                ScreenerCmd::Deny { sender } => {
                    m.screener_decide(a, &email, &sender, false, "cli")
                        .await
                        .map_err(fail)?;
                    println!("{sender} screened out: their mail goes to Junk");
                }
                ScreenerCmd::Forget { sender } => {
                    m.screener_forget(a, &email, &sender).await.map_err(fail)?;
                    println!("{sender}'s next mail is screened again");
                }
            }
        }
        UserCmd::Snooze {
            email,
            action,
            time_zone,
        } => {
            let m = manager(config).await?;
            let a = &Scope::Admin;
            if let Some(tz) = &time_zone {
                m.time_zone_set(a, &email, tz).await.map_err(fail)?;
            }
            match action.as_str() {
                "on" | "off" => {
                    m.snooze_set(a, &email, action == "on")
                        .await
                        .map_err(fail)?;
                    println!("snooze {action} for {email}");
                }
                _ => {
                    for s in m.snooze_list(a, &email).await.map_err(fail)? {
                        println!(
                            "{}\t{}\tuntil {}\tback to {}",
                            s.mailbox,
                            s.uid,
                            format_time(s.until),
                            s.back_to
                        );
                    }
                }
            }
        }
        UserCmd::Vip { email, action } => {
            let m = manager(config).await?;
            let a = &Scope::Admin;
            match action {
                VipCmd::Add { pattern } => {
                    let k = m.vip_add(a, &email, &pattern).await.map_err(fail)?;
                    println!("{k} is a VIP of {email}");
                }
                VipCmd::Remove { pattern } => {
                    m.vip_remove(a, &email, &pattern).await.map_err(fail)?;
                    println!("{pattern} is no longer a VIP of {email}");
                }
                VipCmd::List => {
                    for v in m.vip_list(a, &email).await.map_err(fail)? {
                        println!("{v}");
                    }
                }
            }
        }
        UserCmd::ResetTotp { email } => {
            let m = manager(config).await?;
            m.totp_remove(&Scope::Admin, &email).await.map_err(fail)?;
            println!("account {email} has no second factor now; it may enrol again at /account");
        }
        UserCmd::Enable { email } => {
            let m = manager(config).await?;
            m.user_set_disabled(&Scope::Admin, &email, false)
                .await
                .map_err(fail)?;
            println!("account {email} enabled");
        }
        UserCmd::Remove { email } => {
            let m = manager(config).await?;
            m.user_remove(&Scope::Admin, &email).await.map_err(fail)?;
            println!("account {email} removed");
        }
    }
    Ok(())
}

/// `tern user app-password …`: the password of one device is printed
/// once, when it is made.
async fn app_password(config: &Config, cmd: AppPasswordCmd) -> Result<(), Failure> {
    let m = manager(config).await?;
    let admin = Scope::Admin;
    match cmd {
        AppPasswordCmd::Add { email, name } => {
            let made = m
                .app_password_add(&admin, &email, &name)
                .await
                .map_err(fail)?;
            println!(
                "app password {:?} added for {email}",
                made.app_password.name
            );
            println!("password: {}", made.password);
            println!("This password will not be shown again: tern keeps only its hash.");
        }
        AppPasswordCmd::List { email } => {
            for p in m.app_password_list(&admin, &email).await.map_err(fail)? {
                println!(
                    "{}\tcreated {}\tlast used {}",
                    p.name,
                    format_time(p.created),
                    format_when(p.last_used)
                );
            }
        }
        AppPasswordCmd::Revoke { email, name } => {
            m.app_password_revoke(&admin, &email, &name)
                .await
                .map_err(fail)?;
            println!("app password {:?} of {email} revoked", name.trim());
        }
    }
    Ok(())
}

pub async fn alias(config: &Config, cmd: AliasCmd) -> Result<(), Failure> {
    let m = manager(config).await?;
    match cmd {
        AliasCmd::Add { address, targets } => {
            let a = m
                .alias_add(&Scope::Admin, &address, &targets)
                .await
                .map_err(fail)?;
            println!("alias {} added", a.address);
        }
        AliasCmd::List { domain } => {
            let all = m
                .alias_list(&Scope::Admin, domain.as_deref(), &PageRequest::all())
                .await
                .map_err(fail)?;
            for al in all.items {
                println!("{}\t{}", al.address, al.targets.join(" "));
            }
        }
        AliasCmd::Remove { address } => {
            m.alias_remove(&Scope::Admin, &address)
                .await
                .map_err(fail)?;
            println!("alias {address} removed");
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
    let m = manager(config).await?;
    let q = AuditQuery { since, kind, limit };
    for r in m.audit_list(&Scope::Admin, &q).await.map_err(fail)? {
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

pub async fn srs(config: &Config, cmd: SrsCmd) -> Result<(), Failure> {
    let SrsCmd::Secret { rotate } = cmd;
    let m = manager(config).await?;
    let secret = m.srs_secret(&Scope::Admin, rotate).await.map_err(fail)?;
    println!("{secret}");
    Ok(())
}
