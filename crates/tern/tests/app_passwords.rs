//! App passwords and API tokens end to end: an app password made with
//! `tern user app-password add` logs in over IMAP (imaplib), POP3
//! (poplib) and submission (smtplib, implicit TLS) beside the account's
//! password, the audit log names it, and after `revoke` it fails while the
//! password still works. The token commands print a secret once, list
//! tokens without it, revoke them, and the database never holds a secret.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::checks::{fails, ok};
use common::{Tern, cli, python};

const LOGINS: &str = include_str!("scripts/app_passwords_login.py");

/// The command fails with exit 2 (a refused request) and says `needle`.
fn refused(out: &Output, needle: &str) {
    fails(out, 2, needle)
}

/// The value after `label: ` on its line of `out`.
fn field(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{label}: ")))
        .unwrap_or_else(|| panic!("no {label} in {out:?}"))
        .to_string()
}

/// Log in as alice with `password` over IMAP, POP3 and submission: one
/// line per protocol, `ok` or `refused`.
fn logins(t: &Tern, password: &str) -> String {
    let ports = ["imaps", "pop3s", "submissions"].map(|k| t.port(k).to_string());
    let cert = t.cert_path();
    let mut args: Vec<&str> = ports.iter().map(String::as_str).collect();
    args.extend([
        cert.to_str().expect("utf-8 path"),
        "alice@example.org",
        password,
    ]);
    python(LOGINS, &args)
}

/// The audit records of `kind`, once there are at least `n` (the server
/// writes them in the background), within a bounded wait.
fn audit_records(t: &Tern, kind: &str, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = ok(&t.cli(&["audit", "list", "--kind", kind]));
        let lines: Vec<String> = out.lines().map(str::to_string).collect();
        if lines.len() >= n || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_app_password_logs_in_over_imap_pop3_and_submission_until_revoked() {
    let t = Tern::start(&["imaps", "pop3s", "submissions"]);
    t.add_user("alice@example.org", "the main password");
    let out = ok(&t.cli(&[
        "user",
        "app-password",
        "add",
        "alice@example.org",
        "--name",
        "phone",
    ]));
    assert!(out.contains("will not be shown again"), "{out}");
    let app = field(&out, "password");
    let list = ok(&t.cli(&["user", "app-password", "list", "alice@example.org"]));
    assert!(list.starts_with("phone\tcreated "), "{list}");
    assert!(list.trim_end().ends_with("\tlast used never"), "{list}");

    let all_ok = "imap ok\npop3 ok\nsubmission ok\n";
    assert_eq!(logins(&t, &app), all_ok, "the app password logs in");
    let list = ok(&t.cli(&["user", "app-password", "list", "alice@example.org"]));
    assert!(
        !list.contains("last used never"),
        "its use is recorded: {list}"
    );
    assert!(!list.contains(&app), "{list}");

    // Each login is in the audit log, naming the protocol and the app password.
    let records = audit_records(&t, "app_password_login", 3);
    for protocol in ["imap", "pop3", "submission"] {
        let want = format!(
            "\tapp_password_login\t{protocol}\t127.0.0.1\talice@example.org\tlogged in with app password \"phone\""
        );
        assert!(
            records.iter().any(|r| r.ends_with(&want)),
            "{protocol} login not audited: {records:?}"
        );
    }

    ok(&t.cli(&[
        "user",
        "app-password",
        "revoke",
        "alice@example.org",
        "phone",
    ]));
    let all_refused = "imap refused\npop3 refused\nsubmission refused\n";
    assert_eq!(logins(&t, &app), all_refused, "a revoked app password");
    assert_eq!(
        logins(&t, "the main password"),
        all_ok,
        "the account's password still works"
    );
    let list = ok(&t.cli(&["user", "app-password", "list", "alice@example.org"]));
    assert_eq!(list, "", "revoked");
}

#[test]
fn app_password_refusals_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_config(dir.path(), &[], "");
    ok(&cli(&cfg, &["domain", "add", "example.org", "--no-dkim"]));
    ok(&cli(
        &cfg,
        &[
            "user",
            "add",
            "alice@example.org",
            "-p",
            "pw",
            "--allow-weak",
        ],
    ));
    let add = |name: &str| {
        cli(
            &cfg,
            &[
                "user",
                "app-password",
                "add",
                "alice@example.org",
                "--name",
                name,
            ],
        )
    };
    refused(
        &cli(
            &cfg,
            &[
                "user",
                "app-password",
                "add",
                "nobody@example.org",
                "--name",
                "x",
            ],
        ),
        "account nobody@example.org not found",
    );
    ok(&add("phone"));
    refused(&add("phone"), "app password \"phone\" already exists");
    refused(
        &cli(
            &cfg,
            &[
                "user",
                "app-password",
                "revoke",
                "alice@example.org",
                "tablet",
            ],
        ),
        "app password \"tablet\" not found",
    );
    for i in 1..20 {
        ok(&add(&format!("device {i}")));
    }
    refused(&add("one more"), "20 app passwords");
    let list = ok(&cli(
        &cfg,
        &["user", "app-password", "list", "alice@example.org"],
    ));
    assert_eq!(list.lines().count(), 20, "{list}");
}

/// Every byte of the SQLite database and its log.
fn database_bytes(data: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["tern.sqlite", "tern.sqlite-wal"] {
        if let Ok(b) = std::fs::read(data.join(name)) {
            all.extend(b);
        }
    }
    all
}

#[test]
fn token_commands_show_a_secret_once_and_revoke_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_config(dir.path(), &[], "");
    ok(&cli(&cfg, &["domain", "add", "example.org", "--no-dkim"]));
    let out = ok(&cli(&cfg, &["token", "create", "--name", "ci"]));
    assert!(out.contains("will not be shown again"), "{out}");
    let ci = field(&out, "secret");
    assert!(ci.starts_with("tern_") && ci.len() == 69, "{ci}");
    let out = ok(&cli(
        &cfg,
        &[
            "token",
            "create",
            "--name",
            "grafana",
            "--scope",
            "domain:Example.ORG",
            "--expires-days",
            "30",
        ],
    ));
    let grafana = field(&out, "secret");
    let id = out
        .split("(id ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("no id in {out}"))
        .to_string();

    // Refused: a name taken, a domain not ours, a scope that is neither,
    // a token that expires at once.
    refused(
        &cli(&cfg, &["token", "create", "--name", "ci"]),
        "token \"ci\" already exists",
    );
    refused(
        &cli(
            &cfg,
            &[
                "token",
                "create",
                "--name",
                "x",
                "--scope",
                "domain:nope.example",
            ],
        ),
        "domain nope.example not found",
    );
    refused(
        &cli(&cfg, &["token", "create", "--name", "x", "--scope", "root"]),
        "is not a scope",
    );
    refused(
        &cli(
            &cfg,
            &["token", "create", "--name", "x", "--expires-days", "0"],
        ),
        "expires_days: between 1 and 36500",
    );

    // Listed without secrets; the database holds none either.
    let list = ok(&cli(&cfg, &["token", "list"]));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(lines[0].contains("\tci\tadmin\t"), "{list}");
    assert!(
        lines[0].contains("\texpires never\tlast used never"),
        "{list}"
    );
    assert!(
        lines[1].starts_with(&format!("{id}\tgrafana\tdomain:example.org\t")),
        "{list}"
    );
    assert!(!list.contains("tern_"), "a secret in the list: {list}");
    let db = database_bytes(&dir.path().join("data"));
    for secret in [&ci, &grafana] {
        let hex = &secret.as_bytes()[5..];
        assert!(
            !db.windows(hex.len()).any(|w| w == hex),
            "the database holds a secret"
        );
    }

    // Revoked by name and by id.
    let out = ok(&cli(&cfg, &["token", "revoke", "ci"]));
    assert!(out.contains("\"ci\"") && out.contains("revoked"), "{out}");
    ok(&cli(&cfg, &["token", "revoke", &id]));
    assert_eq!(ok(&cli(&cfg, &["token", "list"])), "");
    refused(
        &cli(&cfg, &["token", "revoke", "ci"]),
        "token \"ci\" not found",
    );
}
