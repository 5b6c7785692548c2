//! `tern sieve list|get|put|activate|deactivate|remove|rename|check`: an
//! account's Sieve scripts, through the management layer (`tern_manage`),
//! which ManageSieve shares: a script that does not compile is refused
//! with its line and column, and nothing is stored.

use std::io::Read;
use std::path::Path;

use tern_common::Config;
use tern_manage::Scope;

use crate::admin::{fail, manager};
use crate::cli::{SieveCmd, format_time};
use crate::{Failure, usage};

/// The script in FILE, or on standard input when FILE is absent or `-`.
fn read_script(file: Option<&Path>) -> Result<Vec<u8>, Failure> {
    let limit = tern_store::MAX_SIEVE_SCRIPT_SIZE as u64 + 1;
    let mut buf = Vec::new();
    match file {
        Some(p) if p != Path::new("-") => {
            let f = std::fs::File::open(p)
                .map_err(|e| usage(format!("reading {}: {e}", p.display())))?;
            f.take(limit)
                .read_to_end(&mut buf)
                .map_err(|e| usage(format!("reading {}: {e}", p.display())))?;
        }
        _ => {
            std::io::stdin()
                .lock()
                .take(limit)
                .read_to_end(&mut buf)
                .map_err(|e| Failure::Runtime(format!("reading standard input: {e}")))?;
        }
    }
    Ok(buf)
}

pub async fn run(config: &Config, cmd: SieveCmd) -> Result<(), Failure> {
    let m = manager(config).await?;
    let admin = Scope::Admin;
    match cmd {
        SieveCmd::List { user } => {
            for s in m.sieve_list(&admin, &user).await.map_err(fail)? {
                println!(
                    "{}\t{}\t{} bytes\tupdated {}",
                    s.name,
                    if s.active { "active" } else { "-" },
                    s.size,
                    format_time(s.updated)
                );
            }
        }
        SieveCmd::Get { user, name } => {
            let text = m.sieve_get(&admin, &user, &name).await.map_err(fail)?;
            print!("{text}");
        }
        SieveCmd::Put { user, name, file } => {
            let script = read_script(file.as_deref())?;
            let new = m
                .sieve_put(&admin, &user, &name, &script)
                .await
                .map_err(fail)?;
            let what = if new { "added" } else { "replaced" };
            println!("script {name:?} of {user} {what}");
        }
        SieveCmd::Activate { user, name } => {
            m.sieve_activate(&admin, &user, &name).await.map_err(fail)?;
            println!("script {name:?} is {user}'s active script");
        }
        SieveCmd::Deactivate { user } => {
            match m.sieve_deactivate(&admin, &user).await.map_err(fail)? {
                Some(name) => println!("script {name:?} of {user} deactivated"),
                None => println!("{user} had no active script"),
            }
        }
        SieveCmd::Remove { user, name } => {
            m.sieve_remove(&admin, &user, &name).await.map_err(fail)?;
            println!("script {name:?} of {user} removed");
        }
        SieveCmd::Rename {
            user,
            name,
            new_name,
        } => {
            m.sieve_rename(&admin, &user, &name, &new_name)
                .await
                .map_err(fail)?;
            println!("script {name:?} of {user} renamed to {new_name:?}");
        }
        SieveCmd::Check { user, file } => {
            let script = read_script(file.as_deref())?;
            m.sieve_check(&admin, &user, &script).await.map_err(fail)?;
            println!("ok");
        }
    }
    Ok(())
}
