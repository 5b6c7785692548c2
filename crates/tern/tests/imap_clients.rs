//! IMAP end to end: a real `tern serve` with `imap` (STARTTLS) and `imaps`
//! listeners, spoken to by Python's imaplib.

mod common;

use common::{Tern, python};

const USER: &str = "alice@example.org";
const PASSWORD: &str = "correct horse battery";

/// argv: MODE PORT CAFILE USER PASSWORD; prints one line per step.
const SCRIPT: &str = include_str!("scripts/imap_clients_script.py");

fn run(t: &Tern, mode: &str) -> Vec<(String, String)> {
    let kind = if mode == "ssl" { "imaps" } else { "imap" };
    let port = t.port(kind).to_string();
    let cert = t.cert_path();
    python(
        SCRIPT,
        &[mode, &port, cert.to_str().unwrap(), USER, PASSWORD],
    )
    .lines()
    .map(|l| {
        let (a, r) = l.split_once(' ').unwrap_or((l, ""));
        (a.to_string(), r.to_string())
    })
    .collect()
}

fn get<'a>(out: &'a [(String, String)], step: &str) -> &'a str {
    out.iter()
        .find(|(a, _)| a == step)
        .map(|(_, r)| r.as_str())
        .unwrap_or_else(|| panic!("no step {step} in {out:?}"))
}

fn check(out: &[(String, String)]) {
    assert!(get(out, "caps").contains("AUTH=PLAIN"), "{out:?}");
    assert_eq!(get(out, "login"), "OK");
    assert!(
        get(out, "list").contains("\\Sent) \"/\" \"Sent\""),
        "{out:?}"
    );
    assert_eq!(get(out, "append"), "OK");
    assert_eq!(get(out, "select"), "OK 2");
    let f = get(out, "fetch");
    // The first session to select sees what arrived as \Recent (RFC 3501
    // 2.3.2).
    assert!(
        f.starts_with("OK 1 (FLAGS (\\Recent \\Flagged) RFC822.SIZE"),
        "{f}"
    );
    assert!(f.contains("ENVELOPE (NIL \"greetings\""), "{f}");
    assert!(f.ends_with("True"), "{f}");
    assert_eq!(get(out, "search"), "OK 2");
    assert_eq!(get(out, "uidsearch"), "OK 1");
    assert_eq!(get(out, "store"), "OK 2 (FLAGS (\\Recent \\Seen))");
    assert_eq!(get(out, "copy"), "OK");
    assert_eq!(get(out, "move"), "OK");
    assert_eq!(get(out, "status"), "\"Trash\" (MESSAGES 1)");
    // imaplib also collects the EXPUNGE that MOVE sent.
    assert_eq!(get(out, "expunge"), "OK [b'2', b'1']");
    assert_eq!(get(out, "idle"), "+ idling");
    assert_eq!(get(out, "pushed"), "* 1 EXISTS");
    assert!(get(out, "done").contains("OK"), "{out:?}");
    assert_eq!(get(out, "logout"), "BYE");
}

#[test]
fn imaplib_over_starttls_and_implicit_tls() {
    let mut t = Tern::start(&["imap", "imaps"]);
    t.add_user(USER, PASSWORD);
    let out = run(&t, "starttls");
    // The plaintext guard, seen by a real client.
    let caps = get(&out, "plain-caps");
    assert!(
        caps.contains("STARTTLS") && caps.contains("LOGINDISABLED"),
        "{caps}"
    );
    assert!(!caps.contains("AUTH="), "{caps}");
    assert!(
        get(&out, "plain-login").contains("PRIVACYREQUIRED"),
        "{out:?}"
    );
    check(&out);
    // Same again over 993-style implicit TLS (a fresh mailbox state).
    let out = run(&t, "ssl");
    assert_eq!(get(&out, "login"), "OK");
    assert!(get(&out, "select").starts_with("OK "), "{out:?}");
    t.stop();
}

/// IMAP4rev2 and its extensions as imaplib drives them (imaplib has no
/// ESEARCH helper: the replies are read from its untagged responses).
/// After `IMAPS_PREAMBLE`.
const REV2_SCRIPT: &str = include_str!("scripts/imap_clients_rev2_script.py");

#[test]
fn imaplib_speaks_imap4rev2() {
    // The [imap] section's literal limit is the advertised APPENDLIMIT.
    let mut t = Tern::start_with(&["imaps"], "[imap]\nmax_literal_size = 5000000\n");
    t.add_user(USER, PASSWORD);
    let out: Vec<(String, String)> = t
        .imaps_script(REV2_SCRIPT, USER, PASSWORD, &[])
        .lines()
        .map(|l| {
            let (a, r) = l.split_once(' ').unwrap_or((l, ""));
            (a.to_string(), r.to_string())
        })
        .collect();
    let caps = get(&out, "caps");
    for c in [
        "IMAP4REV2",
        "ESEARCH",
        "SEARCHRES",
        "LIST-STATUS",
        "UNAUTHENTICATE",
        "APPENDLIMIT=5000000",
    ] {
        assert!(caps.contains(c), "{caps}");
    }
    assert_eq!(get(&out, "enable"), "OK IMAP4rev2");
    assert_eq!(get(&out, "select"), "OK 3 [b'() \"/\" \"INBOX\"']");
    let es = get(&out, "esearch");
    assert!(es.starts_with("OK (TAG \""), "{es}");
    assert!(es.ends_with("\") MIN 1 MAX 3 COUNT 2 ALL 1,3"), "{es}");
    assert!(get(&out, "plain").ends_with(") ALL 2"), "{out:?}");
    assert_eq!(get(&out, "save"), "OK -");
    assert_eq!(get(&out, "saved"), "OK 1 (UID 1) 3 (UID 3)");
    let list = get(&out, "list");
    assert!(
        list.contains("(\\HasNoChildren \\Subscribed) \"/\" \"INBOX\""),
        "{list}"
    );
    assert!(list.contains("\"Projects/Rust\""), "{list}");
    let st = get(&out, "liststatus");
    assert!(st.contains("\"INBOX\" (MESSAGES 3 SIZE "), "{st}");
    assert_eq!(get(&out, "qresync"), "OK QRESYNC");
    let resync = get(&out, "resync");
    assert!(
        resync.starts_with("OK (EARLIER) 1 | 1 (UID 2 FLAGS (\\Flagged) MODSEQ ("),
        "{resync}"
    );
    assert!(
        get(&out, "unchangedsince").starts_with("OK [MODIFIED 2]"),
        "{out:?}"
    );
    assert_eq!(get(&out, "unauth"), "OK");
    assert!(get(&out, "caps2").contains("AUTH=PLAIN"), "{out:?}");
    assert_eq!(get(&out, "login2"), "OK");
    assert_eq!(get(&out, "logout"), "BYE");
    t.stop();
}

/// CONDSTORE through PyPI `imapclient`, whose response parser is its own:
/// HIGHESTMODSEQ on SELECT, FETCH CHANGEDSINCE, SEARCH MODSEQ.
/// After `IMAPS_PREAMBLE`. Prints `step<TAB>value` lines.
const CONDSTORE_SCRIPT: &str = include_str!("scripts/imap_clients_condstore_script.py");

#[test]
fn imapclient_condstore() {
    let mut t = Tern::start(&["imaps"]);
    t.add_user(USER, PASSWORD);
    let out = t.imaps_script(CONDSTORE_SCRIPT, USER, PASSWORD, &[]);
    let step = |k: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}\t")))
            .unwrap_or_else(|| panic!("no step {k} in {out}"))
            .to_string()
    };
    assert_eq!(step("enable"), "[b'CONDSTORE']");
    assert_eq!(step("hms"), "True");
    assert_eq!(
        step("changed"),
        "[(2, True, (b'\\\\Recent', b'\\\\Flagged'))]"
    );
    assert_eq!(step("search"), "([2], True)");
    t.stop();
}

/// UNAUTHENTICATE gives the user's connection slot back (`[limits.imap]
/// per_user = 1`): a second login is refused until the first session
/// leaves the authenticated state.
const SLOT_SCRIPT: &str = include_str!("scripts/imap_clients_slot_script.py");

#[test]
fn unauthenticate_frees_the_user_slot() {
    let mut t = Tern::start_with(&["imaps"], "[limits.imap]\nper_user = 1\n");
    t.add_user(USER, PASSWORD);
    let port = t.port("imaps").to_string();
    let cert = t.cert_path();
    let out = python(
        SLOT_SCRIPT,
        &[&port, cert.to_str().unwrap(), USER, PASSWORD],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "a OK", "{out}");
    assert!(
        lines[1].starts_with("b refused") && lines[1].contains("UNAVAILABLE"),
        "{out}"
    );
    assert_eq!(lines[2], "unauth OK", "{out}");
    assert_eq!(lines[3], "c OK", "{out}");
    t.stop();
}

/// UTF8=ACCEPT as imaplib does it: after `enable("UTF8=ACCEPT")` it sends
/// UTF-8 and expects UTF-8 mailbox names back.
const UTF8_SCRIPT: &str = include_str!("scripts/imap_clients_utf8_script.py");

#[test]
fn imaplib_utf8_accept() {
    let mut t = Tern::start(&["imaps"]);
    t.add_user(USER, PASSWORD);
    let port = t.port("imaps").to_string();
    let cert = t.cert_path();
    let out = python(
        UTF8_SCRIPT,
        &[&port, cert.to_str().unwrap(), USER, PASSWORD],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "enable OK True", "{out}");
    assert_eq!(lines[1], "create OK", "{out}");
    assert_eq!(
        lines[2],
        "list OK (\\HasChildren) \"/\" \"Größe\"|(\\HasNoChildren) \"/\" \"Größe/Übersicht\"",
        "{out}"
    );
    assert_eq!(
        lines[3], "status OK \"Größe/Übersicht\" (MESSAGES 0)",
        "{out}"
    );
    assert_eq!(lines[4], "select OK 0", "{out}");
    t.stop();
}
