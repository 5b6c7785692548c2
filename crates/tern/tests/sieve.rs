//! Sieve scripts from the command line: `tern sieve put` compiles a script
//! and refuses one that does not compile with its line, `list`, `get`,
//! `activate`, `deactivate`, `rename`, `remove` (not the active one) and
//! `check` act on one account's scripts.

mod common;

use std::process::Output;

use common::{cli, write_config};

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "expected success, got {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The command fails with exit 2 (a refused request) and says `needle`.
fn refused(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(
        err.contains(needle),
        "stderr {err:?} should mention {needle:?}"
    );
}

const FILTER: &str = "require [\"fileinto\"];\r\n\
                      if header :contains \"List-Id\" \"tern\" {\r\n\
                      \x20   fileinto \"Lists\";\r\n\
                      }\r\n";

#[test]
fn scripts_are_compiled_stored_activated_and_removed_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(dir.path(), &[], "");
    let tern = |args: &[&str]| cli(&config, args);
    ok(&tern(&["domain", "add", "example.org", "--no-dkim"]));
    ok(&tern(&[
        "user",
        "add",
        "alice@example.org",
        "-p",
        "pw",
        "--allow-weak",
    ]));
    let good = dir.path().join("good.sieve");
    let bad = dir.path().join("bad.sieve");
    std::fs::write(&good, FILTER).expect("write");
    // `fileinto` without its `require`, on line 3.
    std::fs::write(&bad, "keep;\n\nfileinto \"x\";\n").expect("write");

    let user = "alice@example.org";
    let out = ok(&tern(&[
        "sieve",
        "put",
        user,
        "lists",
        good.to_str().unwrap(),
    ]));
    assert!(out.contains("added"), "{out}");
    refused(
        &tern(&["sieve", "put", user, "broken", bad.to_str().unwrap()]),
        "line 3, column",
    );
    refused(
        &tern(&["sieve", "check", user, bad.to_str().unwrap()]),
        "line 3",
    );
    assert_eq!(
        ok(&tern(&["sieve", "check", user, good.to_str().unwrap()])),
        "ok\n"
    );
    refused(&tern(&["sieve", "get", user, "broken"]), "not found");
    refused(&tern(&["sieve", "list", "nobody@example.org"]), "not found");

    assert_eq!(ok(&tern(&["sieve", "get", user, "lists"])), FILTER);
    ok(&tern(&["sieve", "activate", user, "lists"]));
    let list = ok(&tern(&["sieve", "list", user]));
    assert!(list.starts_with("lists\tactive\t"), "{list}");
    refused(&tern(&["sieve", "remove", user, "lists"]), "active");
    ok(&tern(&["sieve", "rename", user, "lists", "mailing lists"]));
    let list = ok(&tern(&["sieve", "list", user]));
    assert!(list.starts_with("mailing lists\tactive\t"), "{list}");
    let out = ok(&tern(&["sieve", "deactivate", user]));
    assert!(out.contains("deactivated"), "{out}");
    ok(&tern(&["sieve", "remove", user, "mailing lists"]));
    assert_eq!(ok(&tern(&["sieve", "list", user])), "");
}
