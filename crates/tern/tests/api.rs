//! The JSON API end to end: Python's http.client against a real `tern
//! serve` over https — tokens made and revoked with the CLI, a domain and
//! a user made through the API and used over IMAP, scopes, errors that
//! name their field, pages, `/me` and app passwords, and the OpenAPI
//! document checked by an independent validator (openapi-spec-validator).
//! The CLI and the API see and make the same state.

mod common;

use common::{Tern, python};

/// The secret `tern token create` prints once.
fn token(t: &Tern, args: &[&str]) -> String {
    let out = t.cli(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap_or_else(|| panic!("no secret in {text}"))
        .to_string()
}

fn ok(t: &Tern, args: &[&str]) -> String {
    let out = t.cli(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_api_manages_what_the_cli_manages() {
    // A small body limit, so that the 413 below is cheap to provoke.
    let t = Tern::start_with(&["https", "imaps"], "[http]\nmax_body_kib = 4\n");
    ok(&t, &["domain", "add", "other.example", "--no-dkim"]);
    t.add_user("dan@other.example", "correct horse battery staple");
    let admin = token(&t, &["token", "create", "--name", "ops"]);
    let scoped = token(
        &t,
        &[
            "token",
            "create",
            "--name",
            "other",
            "--scope",
            "domain:other.example",
        ],
    );
    let revoked = token(&t, &["token", "create", "--name", "old"]);
    ok(&t, &["token", "revoke", "old"]);

    let https = t.port("https").to_string();
    let imaps = t.port("imaps").to_string();
    let cert = t.cert_path();
    let out = python(
        include_str!("scripts/api_flow.py"),
        &[
            &https,
            &imaps,
            cert.to_str().unwrap(),
            &admin,
            &scoped,
            &revoked,
        ],
    );
    assert_eq!(out.trim(), "ok");

    // What the API made, the CLI sees: the same rows, the same rules.
    let users = ok(&t, &["user", "list", "--domain", "example.org"]);
    assert!(
        users.contains("ann@example.org\tused 0 of 2097152"),
        "{users}"
    );
    assert!(
        users
            .lines()
            .any(|l| l.starts_with("cy@example.org") && l.ends_with("\tdisabled")),
        "{users}"
    );
    ok(&t, &["user", "enable", "cy@example.org"]);
    let users = ok(&t, &["user", "list", "--domain", "example.org"]);
    assert!(!users.contains("disabled"), "{users}");
    ok(&t, &["user", "disable", "dan@other.example"]);
    let users = ok(&t, &["user", "list", "--domain", "other.example"]);
    assert!(
        users.contains("dan@other.example\tused 0 of unlimited\t\tdisabled"),
        "{users}"
    );
    assert!(users.contains("eve@other.example"), "{users}");
    let aliases = ok(&t, &["alias", "list"]);
    assert!(
        aliases.contains("team@example.org\tann@example.org"),
        "{aliases}"
    );
    // The same refusal from both: a duplicate, a weak password.
    let dup = t.cli(&[
        "user",
        "add",
        "ann@example.org",
        "-p",
        "correct horse battery staple",
    ]);
    assert_eq!(dup.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    // The audit log names the failed API logins.
    let audit = ok(&t, &["audit", "list", "--kind", "login_failure"]);
    assert!(
        audit.contains("http\t127.0.0.1\tann@example.org"),
        "{audit}"
    );
    assert!(audit.contains("http\t127.0.0.1\tapi-token"), "{audit}");
}
