//! `tern spam train USER --spam|--ham PATH`: teach an account's classifier
//! (and the global one) from an mbox file or a Maildir++ tree, with a
//! progress bar; `tern spam status USER`: what its model and the global
//! one have learned. Each message goes through `Manager::spam_train`.

use std::path::{Path, PathBuf};

use tern_common::Config;
use tern_manage::{Manager, Scope};

use crate::Failure;
use crate::admin::{fail, manager};
use crate::cli::SpamCmd;
use crate::mailio::mbox;
use crate::progress::Progress;

pub async fn run(config: &Config, cmd: SpamCmd) -> Result<(), Failure> {
    let m = manager(config).await?;
    match cmd {
        SpamCmd::Train {
            user,
            spam,
            ham: _,
            path,
        } => train(&m, &user, spam, &path).await,
        SpamCmd::Status { user } => {
            let s = m.spam_status(&Scope::Admin, &user).await.map_err(fail)?;
            let ready = |r: bool| if r { "judges" } else { "still learning" };
            println!(
                "{user}: {} spam, {} ham ({})",
                s.account.spam,
                s.account.ham,
                ready(s.account.ready)
            );
            println!(
                "everyone: {} spam, {} ham ({})",
                s.global.spam,
                s.global.ham,
                ready(s.global.ready)
            );
            Ok(())
        }
    }
}

/// Every message file of a Maildir++ tree (`cur/` and `new/` of the root
/// and of each `.Folder`).
fn maildir_files(root: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![root.to_path_buf()];
    if let Ok(rd) = std::fs::read_dir(root) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with('.') && e.path().join("cur").is_dir() {
                dirs.push(e.path());
            }
        }
    }
    let mut files = Vec::new();
    for d in dirs {
        for sub in ["cur", "new"] {
            if let Ok(rd) = std::fs::read_dir(d.join(sub)) {
                files.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_file()));
            }
        }
    }
    files.sort();
    files
}

async fn train(m: &Manager, user: &str, spam: bool, path: &Path) -> Result<(), Failure> {
    let kind = if spam { "spam" } else { "ham" };
    // The account first: a wrong name fails before any reading.
    m.spam_status(&Scope::Admin, user).await.map_err(fail)?;
    let (mut learned, mut known) = (0u64, 0u64);
    let mut one = async |bytes: Vec<u8>| -> Result<(), Failure> {
        if m.spam_train(&Scope::Admin, user, bytes, spam)
            .await
            .map_err(fail)?
        {
            learned += 1;
        } else {
            known += 1;
        }
        Ok(())
    };
    if path.is_dir() {
        let files = maildir_files(path);
        let mut progress = Progress::new("train", "messages", Some(files.len() as u64));
        for f in files {
            let bytes =
                std::fs::read(&f).map_err(|e| Failure::Runtime(format!("{}: {e}", f.display())))?;
            one(bytes).await?;
            progress.add(1);
        }
        progress.finish();
    } else {
        let file = std::fs::File::open(path)
            .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?;
        let size = file.metadata().map(|m| m.len()).ok();
        let mut reader = mbox::Reader::new(file, tern_common::time::now_secs());
        let mut progress = Progress::new("train", "bytes", size);
        let mut at = 0;
        while let Some(msg) = reader
            .next_message()
            .map_err(|e| Failure::Runtime(format!("{}: {e}", path.display())))?
        {
            one(msg.bytes).await?;
            progress.add(reader.consumed - at);
            at = reader.consumed;
        }
        progress.finish();
    }
    println!("{user}: learned {learned} messages as {kind} ({known} had been already)");
    Ok(())
}
