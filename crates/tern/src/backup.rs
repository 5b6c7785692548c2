//! `tern backup DEST`, `tern backup verify SRC`, `tern restore SRC`: the
//! store's online backup (`tern_store::backup`) with progress on stderr;
//! `tern migrate --to …`: the whole store onto the other backend
//! (`tern_store::migrate`).

use std::path::Path;

use tern_common::Config;
use tern_store::backup;

use crate::cli::{BackupArgs, BackupCmd};
use crate::progress::Progress;
use crate::{Failure, open_store, usage};

fn fail(e: tern_store::StoreError) -> Failure {
    match e {
        tern_store::StoreError::Other(e) => Failure::Runtime(format!("{e:#}")),
        tern_store::StoreError::Invalid(m) => usage(m),
        e => Failure::Runtime(e.to_string()),
    }
}

/// Progress of the files copied or checked (`progress.rs`: a bar on a
/// terminal, plain lines otherwise), made when the total is first told.
fn progress(what: &'static str) -> impl FnMut(u64, u64) {
    let mut shown: Option<Progress> = None;
    let mut last = 0;
    move |done, total| {
        let p = shown.get_or_insert_with(|| Progress::new(what, "files", Some(total)));
        p.add(done.saturating_sub(last));
        last = done;
        if done >= total {
            p.finish();
        }
    }
}

pub async fn backup(config: &Config, args: BackupArgs) -> Result<(), Failure> {
    match (args.cmd, args.dest) {
        (Some(BackupCmd::Verify { src }), _) => verify(&src).await,
        (None, Some(dest)) => {
            let store = open_store(config).await?;
            let m = store
                .backup(&dest, args.incremental.as_deref(), progress("copying"))
                .await
                .map_err(fail)?;
            println!(
                "backup of {} accounts, {} mailboxes, {} messages ({} files) in {}",
                m.accounts,
                m.mailboxes,
                m.messages,
                m.files.len(),
                dest.display()
            );
            if m.expunged_meanwhile > 0 {
                println!(
                    "{} message(s) expunged while the backup ran are not in it",
                    m.expunged_meanwhile
                );
            }
            Ok(())
        }
        (None, None) => Err(usage("tern backup DEST, or tern backup verify SRC")),
    }
}

async fn verify(src: &Path) -> Result<(), Failure> {
    let m = backup::read_manifest(src).map_err(fail)?;
    let damage = backup::verify(src, &m, progress("checking"))
        .await
        .map_err(fail)?;
    if damage.is_empty() {
        println!(
            "backup ok: {} messages, {} files as the manifest lists them",
            m.messages,
            m.files.len()
        );
        return Ok(());
    }
    for d in &damage {
        println!("damaged: {d}");
    }
    Err(Failure::Runtime(format!(
        "the backup in {} is damaged ({} problem(s))",
        src.display(),
        damage.len()
    )))
}

pub async fn restore(config: &Config, src: &Path, force: bool) -> Result<(), Failure> {
    if config.store.kind != tern_common::config::StoreKind::Sqlite {
        return Err(usage(
            "the configured store is PostgreSQL: restore it with pg_restore (see README)",
        ));
    }
    let m = backup::restore(src, &config.data_dir, force, progress("restoring"))
        .await
        .map_err(fail)?;
    println!(
        "restored {} accounts, {} mailboxes, {} messages into {} (verified)",
        m.accounts,
        m.mailboxes,
        m.messages,
        config.data_dir.display()
    );
    Ok(())
}

pub async fn migrate(config: &Config, to: &str) -> Result<(), Failure> {
    use tern_common::config::{StoreConfig, StoreKind};
    let source = open_store(config).await?;
    let (target_cfg, data_dir, hint) =
        if to.starts_with("postgres://") || to.starts_with("postgresql://") {
            if config.store.kind == StoreKind::Postgres {
                return Err(usage("the store is on PostgreSQL already"));
            }
            let cfg = StoreConfig {
                kind: StoreKind::Postgres,
                url: Some(to.to_string()),
                max_connections: 4,
            };
            let hint = format!("[store]\nkind = \"postgres\"\nurl = \"{to}\"");
            (cfg, config.data_dir.clone(), hint)
        } else {
            if config.store.kind == StoreKind::Sqlite {
                return Err(usage("the store is on SQLite already"));
            }
            let dir = std::path::absolute(to).map_err(|e| usage(format!("{to}: {e}")))?;
            if dir.join(backup::DB_FILE).exists() {
                return Err(usage(format!("{} already holds a store", dir.display())));
            }
            let cfg = StoreConfig {
                kind: StoreKind::Sqlite,
                url: None,
                max_connections: 2,
            };
            let hint = format!(
                "data_dir = \"{}\"\n[store]\nkind = \"sqlite\"",
                dir.display()
            );
            (cfg, dir, hint)
        };
    let target = tern_store::Store::open(&target_cfg, &data_dir)
        .await
        .map_err(|e| Failure::Runtime(format!("{e:#}")))?;
    let copied = source
        .copy_into(&target, |table, n| eprintln!("copied {table}: {n} rows"))
        .await
        .map_err(fail)?;
    target.close().await;
    println!(
        "copied {} tables, {} rows ({} messages); the source is unchanged",
        copied.tables, copied.rows, copied.messages
    );
    println!("to serve from the copy, change the configuration to:\n{hint}");
    Ok(())
}
