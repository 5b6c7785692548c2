//! The data dir end to end: what is on disk belongs to tern alone (0700
//! directories, 0600 files, repaired at start, a dir others may write to
//! refused), every path comes from an id, and names that are paths or
//! look-alikes never become accounts.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Tern, cli};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

/// Every directory and file under `root`, iteratively.
fn everything(root: &Path) -> Vec<std::path::PathBuf> {
    let (mut out, mut stack) = (Vec::new(), vec![root.to_path_buf()]);
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

fn send(t: &Tern, rcpt: &str) {
    let port = t.port("smtp").to_string();
    let out = std::process::Command::new("swaks")
        .args(["--server", "127.0.0.1", "--port", &port, "--to", rcpt])
        .args(["--from", "x@remote.example", "--helo", "remote.example"])
        .args(["--body", "private words"])
        .output()
        .expect("swaks");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The database (password hashes, DKIM keys), its WAL, the certificate key
/// and every message are readable by tern's user alone.
#[test]
fn everything_tern_writes_is_private() {
    let t = Tern::start(&["smtp"]);
    t.add_user("alice@example.test", "pw");
    send(&t, "alice@example.test");
    let data = t.data_dir();
    assert_eq!(mode(&data), 0o700);
    let all = everything(&data);
    assert!(
        all.iter().any(|p| p.ends_with("tern.sqlite-wal")),
        "{all:?}"
    );
    let messages: Vec<_> = all
        .iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("cur")))
        .collect();
    assert_eq!(messages.len(), 1, "{all:?}");
    for p in &all {
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(p), want, "{}", p.display());
    }
}

/// A data dir left readable by a packaging step is repaired (with files in
/// it) at start; one that others may write to is refused before anything
/// listens.
#[test]
fn loose_modes_are_repaired_and_a_shared_dir_is_refused() {
    let mut t = Tern::start(&["smtp"]);
    t.add_user("alice@example.test", "pw");
    send(&t, "alice@example.test");
    t.stop();
    let data = t.data_dir();
    let db = data.join("tern.sqlite");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    t.launch();
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&db), 0o600);
    t.stop();

    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = std::process::Command::new(common::BIN)
        .args(["--config", t.config.to_str().unwrap(), "serve"])
        .output()
        .expect("run tern");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("writable by other users"), "{err}");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// The reproductions: a local part that is a path, or that only
/// differs from another by a separator, an invisible character or a
/// look-alike letter, is refused by the CLI with exit 2; nothing appears
/// outside the data dir, and accounts that exist keep their own folders.
#[test]
fn names_that_are_paths_or_look_alikes_never_become_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_config(dir.path(), &[], "");
    let elsewhere = dir.path().join("elsewhere");
    let code = |args: &[&str]| {
        let out = cli(&cfg, args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(code(&["domain", "add", "example.test"]).0, Some(0));
    assert_eq!(
        code(&[
            "user",
            "add",
            "alice@example.test",
            "-p",
            "pw",
            "--allow-weak"
        ])
        .0,
        Some(0)
    );
    let evil = format!("{}/evil@example.test", elsewhere.display());
    for name in [
        evil.as_str(),
        "a/b@example.test",
        "a/./b@example.test",
        "a//b@example.test",
        "al\u{200b}ice@example.test",
        "\u{430}lice@example.test",
    ] {
        let (c, err) = code(&["user", "add", name, "-p", "pw", "--allow-weak"]);
        assert_eq!(c, Some(2), "{name:?} was accepted: {err}");
        assert!(!err.is_empty());
    }
    let (c, err) = code(&[
        "alias",
        "add",
        "\u{430}lice@example.test",
        "alice@example.test",
    ]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("looks like"), "{err}");
    assert!(
        !elsewhere.exists(),
        "nothing was created outside the data dir"
    );
    let list = String::from_utf8_lossy(&cli(&cfg, &["user", "list"]).stdout).into_owned();
    assert_eq!(
        list.lines().filter(|l| l.contains('@')).count(),
        1,
        "{list}"
    );
    // The one account's Maildir is named by its id.
    let accounts: Vec<String> = std::fs::read_dir(dir.path().join("data/accounts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert!(accounts[0].parse::<i64>().is_ok(), "{accounts:?}");
}

/// What a SIGKILL can leave in a Maildir — a half-written file in `tmp/`,
/// a file in `cur/` whose index row was never committed — is cleaned at
/// the next start: the first removed, the second kept in `orphans/` and
/// reported. Indexed messages stay where they are.
#[test]
fn crash_debris_is_swept_at_start() {
    let mut t = Tern::start(&["smtp"]);
    t.add_user("alice@example.test", "pw");
    send(&t, "alice@example.test");
    t.kill();
    let accounts = t.data_dir().join("accounts");
    let inbox = std::fs::read_dir(&accounts)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 24 * 3600);
    for (sub, name) in [("tmp", "half-written"), ("cur", "never-indexed")] {
        let p = inbox.join(sub).join(name);
        std::fs::write(&p, b"Subject: debris\r\n\r\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let indexed: Vec<_> = std::fs::read_dir(inbox.join("cur")).unwrap().collect();
    assert_eq!(indexed.len(), 2);
    t.launch();
    let said = t.stdout.join("\n");
    assert!(
        said.contains(
            "removed 1 half-written file(s) from tmp/; moved 1 unindexed message file(s)"
        ),
        "{said}"
    );
    assert!(!inbox.join("tmp/half-written").exists());
    assert!(!inbox.join("cur/never-indexed").exists());
    let kept = t
        .data_dir()
        .join("orphans")
        .join(inbox.strip_prefix(t.data_dir()).unwrap())
        .join("never-indexed");
    assert!(kept.exists(), "{}", kept.display());
    assert_eq!(std::fs::read_dir(inbox.join("cur")).unwrap().count(), 1);
}
