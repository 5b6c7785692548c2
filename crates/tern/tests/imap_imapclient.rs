//! IMAP end to end with PyPI `imapclient` (its own response parser, UID
//! commands by default): login over STARTTLS and over implicit TLS, then
//! LIST, SELECT, FETCH of every IMAP4rev1 item, SEARCH, STORE, COPY, MOVE,
//! APPEND, EXPUNGE and IDLE.

mod common;

use std::collections::HashMap;

use common::{Tern, python};

const USER: &str = "carol@example.org";
const PASSWORD: &str = "imapclient pass";

/// argv: MODE PORT CAFILE USER PASSWORD. Prints `step<TAB>value` lines.
const SCRIPT: &str = include_str!("scripts/imap_imapclient_script.py");

fn run(t: &Tern, mode: &str) -> HashMap<String, String> {
    let kind = if mode == "ssl" { "imaps" } else { "imap" };
    let port = t.port(kind).to_string();
    let cert = t.cert_path();
    python(
        SCRIPT,
        &[mode, &port, cert.to_str().unwrap(), USER, PASSWORD],
    )
    .lines()
    .filter_map(|l| l.split_once('\t'))
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn check(out: &HashMap<String, String>) {
    let get = |k: &str| {
        out.get(k)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no step {k} in {out:?}"))
    };
    assert!(get("caps").contains("IDLE") && get("caps").contains("MOVE"));
    assert!(get("list").contains("'INBOX'") && get("list").contains("'Archive'"));
    assert!(get("list-sent-flags").contains("b'\\\\Sent'"), "{out:?}");
    assert!(get("append").contains("APPENDUID"), "{}", get("append"));
    assert_eq!(get("select-exists"), "3");
    assert_eq!(get("select-uidvalidity"), "True");
    assert_eq!(get("search-all"), "[1, 2, 3]");
    // The first session to select sees the message as recent (RFC 3501
    // 2.3.2).
    assert_eq!(get("fetch-flags"), "(b'\\\\Recent', b'\\\\Flagged')");
    assert_eq!(get("fetch-internaldate"), "2026-11-03T12:30:00+00:00");
    assert_eq!(get("fetch-size"), "True");
    assert_eq!(
        get("fetch-envelope"),
        "(b'report', b'dora', b'example.net', b'<r1@example.net>')"
    );
    assert_eq!(get("fetch-body-multipart"), "True");
    assert_eq!(
        get("fetch-bodystructure"),
        "(b'TEXT', b'PLAIN', b'APPLICATION', b'OCTET-STREAM', b'MIXED')"
    );
    assert_eq!(get("fetch-uid"), "True");
    assert_eq!(get("fetch-header-fields"), "b'Subject: report\\r\\n\\r\\n'");
    assert_eq!(get("fetch-partial"), "b'quarterly'");
    assert!(
        get("fetch-mime").contains("application/octet-stream"),
        "{}",
        get("fetch-mime")
    );
    assert_eq!(get("fetch-text-has-boundary"), "True");
    // BODY.PEEK leaves \Seen alone; BODY[] sets it (RFC 3501 6.4.5).
    assert_eq!(get("peek-left-unseen"), "(b'\\\\Recent', b'\\\\Flagged')");
    assert_eq!(get("fetch-full"), "True");
    assert_eq!(
        get("after-body-flags"),
        "(b'\\\\Recent', b'\\\\Flagged', b'\\\\Seen')"
    );
    assert_eq!(get("search-subject"), "True");
    assert_eq!(get("search-seen"), "True");
    assert_eq!(get("search-unseen-flagged"), "[]");
    assert_eq!(
        get("store-add"),
        "(b'\\\\Recent', b'$Work', b'\\\\Answered')"
    );
    assert_eq!(get("store-remove"), "(b'\\\\Recent', b'\\\\Answered')");
    assert_eq!(get("store-set"), "(b'\\\\Recent', b'\\\\Draft')");
    assert_eq!(get("after-move"), "True");
    assert_eq!(get("archive-status"), "1");
    assert_eq!(get("trash-status"), "1");
    assert_eq!(get("expunge"), "[(2, b'EXPUNGE')]");
    assert_eq!(get("after-expunge"), "True");
    assert_eq!(get("idle"), "[(2, b'EXISTS')]");
    assert!(get("idle-done").contains("IDLE"), "{}", get("idle-done"));
    // imapclient returns the text of the server's BYE.
    assert_eq!(get("logout"), "logging out");
}

#[test]
fn imapclient_over_starttls() {
    let mut t = Tern::start(&["imap"]);
    t.add_user(USER, PASSWORD);
    let out = run(&t, "starttls");
    let caps = &out["plain-caps"];
    assert!(caps.contains("STARTTLS") && caps.contains("LOGINDISABLED"));
    check(&out);
    t.stop();
}

#[test]
fn imapclient_over_implicit_tls() {
    let mut t = Tern::start(&["imaps"]);
    t.add_user(USER, PASSWORD);
    check(&run(&t, "ssl"));
    t.stop();
}
