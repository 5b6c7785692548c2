//! IMAP end to end: a real `tern serve` with `imap` (STARTTLS) and `imaps`
//! listeners, spoken to by Python's imaplib.

mod common;

use common::{Tern, python};

const USER: &str = "alice@example.org";
const PASSWORD: &str = "correct horse battery";

/// argv: MODE PORT CAFILE USER PASSWORD; prints one line per step.
const SCRIPT: &str = r#"
import imaplib, ssl, sys
mode, port, cafile, user, password = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
def connect():
    if mode == "ssl":
        return imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
    m = imaplib.IMAP4("127.0.0.1", int(port), timeout=20)
    print("plain-caps", " ".join(sorted(m.capabilities)))
    try:
        m.login(user, password)
        print("plain-login accepted")
    except imaplib.IMAP4.error as e:
        print("plain-login", e)
    m.starttls(ssl_context=ctx)
    return m
M = connect()
print("caps", " ".join(sorted(M.capabilities)))
print("login", M.login(user, password)[0])
typ, data = M.list()
print("list", typ, b"|".join(data).decode())
msg = b"From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nSubject: greetings\r\n\r\nhello there\r\n"
print("append", M.append("INBOX", "(\\Flagged)", None, msg)[0])
print("append2", M.append("INBOX", None, None, msg.replace(b"greetings", b"other"))[0])
typ, data = M.select("INBOX")
print("select", typ, data[0].decode())
typ, data = M.fetch("1", "(FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[])")
print("fetch", typ, data[0][0].decode(), data[0][1] == msg)
typ, data = M.search(None, "SUBJECT", "other")
print("search", typ, data[0].decode())
typ, data = M.uid("SEARCH", None, "FLAGGED")
print("uidsearch", typ, data[0].decode())
typ, data = M.store("2", "+FLAGS", "(\\Seen)")
print("store", typ, data[0].decode())
print("copy", M.copy("1", "Archive")[0])
typ, data = M._simple_command("MOVE", "2", "Trash")
print("move", typ)
print("status", M.status("Trash", "(MESSAGES)")[1][0].decode())
M.store("1", "+FLAGS", "(\\Deleted)")
typ, data = M.expunge()
print("expunge", typ, data)
# IDLE: another session's APPEND shows up as EXISTS.
tag = M._new_tag()
M.send(tag + b" IDLE\r\n")
print("idle", M.readline().decode().strip())
N = connect()
N.login(user, password)
N.append("INBOX", None, None, msg)
N.logout()
print("pushed", M.readline().decode().strip())
M.send(b"DONE\r\n")
while True:
    l = M.readline()
    if l.startswith(tag):
        print("done", l.decode().strip())
        break
print("logout", M.logout()[0])
"#;

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
const REV2_SCRIPT: &str = r#"
M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
M.login(user, password)
print("caps", " ".join(sorted(M.capabilities)))
typ, data = M.enable("IMAP4rev2")
print("enable", typ, M.untagged_responses.pop("ENABLED", [b"-"])[-1].decode())
msg = b"From: Bob <bob@example.net>\r\nSubject: %s\r\n\r\nbody %s\r\n"
for i, s in enumerate([b"apple", b"pear", b"apple pie"]):
    M.append("INBOX", None, None, msg % (s, s))
typ, data = M.select("INBOX")
print("select", typ, data[0].decode(), M.untagged_responses.pop("LIST", None))
def esearch(*args):
    typ, data = M._simple_command(*args)
    got = M.untagged_responses.pop("ESEARCH", [None])
    return typ + " " + (got[-1].decode() if got[-1] else "-")
print("esearch", esearch("SEARCH", "RETURN", "(MIN MAX COUNT ALL)", "SUBJECT", "apple"))
print("plain", esearch("SEARCH", "SUBJECT", "pear"))
print("save", esearch("UID", "SEARCH", "RETURN", "(SAVE)", "SUBJECT", "apple"))
typ, data = M._simple_command("UID", "FETCH", "$", "(UID)")
print("saved", typ, b" ".join(x for x in M.untagged_responses.pop("FETCH", [])).decode())
M.create("Projects/Rust")
M.subscribe("Projects/Rust")
typ, data = M._simple_command("LIST", "(SUBSCRIBED)", '""', '("INBOX" "Projects/*")', "RETURN", "(CHILDREN STATUS (MESSAGES SIZE))")
print("list", typ, b"|".join(M.untagged_responses.pop("LIST", [])).decode())
print("liststatus", b"|".join(M.untagged_responses.pop("STATUS", [])).decode())
# CONDSTORE/QRESYNC: remember the state, let another client change the
# mailbox, resync with SELECT (QRESYNC …).
M.unselect()
print("qresync", M.enable("QRESYNC")[0], M.untagged_responses.pop("ENABLED", [b"-"])[-1].decode())
M.select("INBOX")
hms = M.untagged_responses.pop("HIGHESTMODSEQ", [b"0"])[-1].decode()
uv = M.untagged_responses.pop("UIDVALIDITY", [b"0"])[-1].decode()
N = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
N.login(user, password)
N.select("INBOX")
N.store("2", "+FLAGS", "(\\Flagged)")
N.store("1", "+FLAGS", "(\\Deleted)")
N.expunge()
N.logout()
for k in ("FETCH", "VANISHED", "EXPUNGE"):
    M.untagged_responses.pop(k, None)
typ, data = M._simple_command("SELECT", "INBOX", "(QRESYNC (%s %s 1:3))" % (uv, hms))
print("resync", typ, M.untagged_responses.pop("VANISHED", [b"-"])[-1].decode(), "|", b"|".join(M.untagged_responses.pop("FETCH", [])).decode())
typ, data = M._simple_command("UID", "STORE", "2", "(UNCHANGEDSINCE %s)" % hms, "+FLAGS", "(\\Seen)")
print("unchangedsince", typ, data[0].decode())
imaplib.Commands["UNAUTHENTICATE"] = ("AUTH", "SELECTED")
typ, data = M._simple_command("UNAUTHENTICATE")
print("unauth", typ)
M.state = "NONAUTH"
typ, data = M._simple_command("CAPABILITY")
print("caps2", M.untagged_responses.pop("CAPABILITY", [b""])[-1].decode())
print("login2", M.login(user, password)[0])
print("logout", M.logout()[0])
"#;

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
const CONDSTORE_SCRIPT: &str = r#"
from imapclient import IMAPClient
def out(k, v):
    print(f"{k}\t{v}")
c = IMAPClient("127.0.0.1", port=int(port), ssl=True, ssl_context=ctx, timeout=20)
c.login(user, password)
out("enable", c.enable("CONDSTORE"))
for s in (b"one", b"two", b"three"):
    c.append("INBOX", b"Subject: " + s + b"\r\n\r\nbody\r\n")
sel = c.select_folder("INBOX")
hms = sel[b"HIGHESTMODSEQ"]
out("hms", hms > 0)
c.add_flags([2], [b"\\Flagged"])
changed = c.fetch([1, 2, 3], ["FLAGS"], modifiers=["CHANGEDSINCE %d" % hms])
out("changed", sorted((uid, d[b"MODSEQ"][0] > hms, d[b"FLAGS"]) for uid, d in changed.items()))
res = c.search(["MODSEQ", str(hms + 1)])
out("search", (list(res), res.modseq > hms))
out("logout", c.logout())
"#;

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
const SLOT_SCRIPT: &str = r#"
import imaplib, ssl, sys
port, cafile, user, password = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
imaplib.Commands["UNAUTHENTICATE"] = ("AUTH", "SELECTED")
def conn():
    return imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
A = conn()
print("a", A.login(user, password)[0])
B = conn()
try:
    B.login(user, password)
    print("b accepted")
except imaplib.IMAP4.abort as e:
    print("b refused", e)
print("unauth", A._simple_command("UNAUTHENTICATE")[0])
C = conn()
print("c", C.login(user, password)[0])
C.logout()
"#;

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
const UTF8_SCRIPT: &str = r#"
import imaplib, ssl, sys
port, cafile, user, password = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
M.login(user, password)
print("enable", M.enable("UTF8=ACCEPT")[0], M.utf8_enabled)
print("create", M.create('"Größe/Übersicht"')[0])
typ, data = M.list('""', '"Gr*"')
print("list", typ, "|".join(d.decode("utf-8") for d in data))
typ, data = M.status('"Größe/Übersicht"', "(MESSAGES)")
print("status", typ, data[0].decode("utf-8"))
typ, data = M.select('"Größe/Übersicht"')
print("select", typ, data[0].decode())
print("logout", M.logout()[0])
"#;

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
