//! POP3 end to end: a real `tern serve` with `pop3` (STLS) and `pop3s`
//! listeners, spoken to by Python's poplib and fetchmail.

mod common;

use std::process::Command;

use common::{Tern, python};
use tern_common::Address;
use tern_common::config::{StoreConfig, StoreKind};
use tern_store::{MailboxSel, NewMessage, Store};

const USER: &str = "alice@example.org";
const PASSWORD: &str = "correct horse battery";

/// Lines starting with "." must come back byte-exact (RFC 1939 3).
const M1: &[u8] = b"From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nSubject: dots\r\n\r\nhello\r\n.\r\n..two\r\n.leading dot\r\nend\r\n";
const M2: &[u8] =
    b"From: carol@example.net\r\nTo: alice@example.org\r\nSubject: second\r\n\r\nsecond body\r\n";

/// A poplib session. argv: MODE PORT CAFILE USER PASSWORD ACTION...; prints
/// one line per step, message bodies as base64 of the CRLF-joined lines.
const POPLIB: &str = include_str!("scripts/pop3_clients_poplib.py");

struct Pop3 {
    tern: Tern,
    store: Store,
    account: i64,
}

impl Pop3 {
    async fn start() -> Pop3 {
        Pop3::start_with(&["pop3", "pop3s"]).await
    }

    async fn start_with(kinds: &[&str]) -> Pop3 {
        let tern = Tern::start(kinds);
        tern.add_user(USER, PASSWORD);
        // The test's own handle on the server's store, to deliver and check.
        let cfg = StoreConfig {
            kind: StoreKind::Sqlite,
            url: None,
            max_connections: 2,
        };
        let store = Store::open(&cfg, &tern.data_dir()).await.unwrap();
        let account = store
            .account_get(&Address::parse(USER).unwrap())
            .await
            .unwrap()
            .unwrap()
            .id;
        Pop3 {
            tern,
            store,
            account,
        }
    }

    async fn deliver(&self, bytes: &[u8]) {
        self.store
            .deliver(vec![NewMessage {
                account_id: self.account,
                mailbox: MailboxSel::Name("INBOX".into()),
                bytes: bytes.to_vec(),
                flags: vec![],
                internal_date: 1_700_000_000,
                internal_zone: 0,
                summary: None,
            }])
            .await
            .unwrap();
    }

    async fn inbox_uids(&self) -> Vec<u32> {
        let inbox = self
            .store
            .mailbox_get(self.account, "INBOX")
            .await
            .unwrap()
            .unwrap();
        self.store
            .messages(inbox.id)
            .await
            .unwrap()
            .iter()
            .map(|m| m.uid)
            .collect()
    }

    /// Run POPLIB; its output lines as (step, result).
    fn poplib(&self, mode: &str, actions: &[&str]) -> Vec<(String, String)> {
        let kind = if mode == "ssl" { "pop3s" } else { "pop3" };
        let port = self.tern.port(kind).to_string();
        let cert = self.tern.cert_path();
        let mut args = vec![mode, &port, cert.to_str().unwrap(), USER, PASSWORD];
        args.extend_from_slice(actions);
        python(POPLIB, &args)
            .lines()
            .map(|l| {
                let (a, r) = l.split_once(' ').unwrap_or((l, ""));
                (a.to_string(), r.to_string())
            })
            .collect()
    }
}

fn get<'a>(out: &'a [(String, String)], step: &str) -> &'a str {
    out.iter()
        .find(|(a, _)| a == step)
        .map(|(_, r)| r.as_str())
        .unwrap_or_else(|| panic!("no {step} in {out:?}"))
}

fn unbase64(s: &str) -> Vec<u8> {
    // Decode with the Python the test already uses, to avoid a dependency.
    let out = python(
        "import base64,sys; sys.stdout.buffer.write(base64.b64decode(sys.argv[1]))",
        &[s],
    );
    out.into_bytes()
}

#[tokio::test]
async fn poplib_over_stls_and_implicit_tls() {
    let t = Pop3::start().await;
    t.deliver(M1).await;
    t.deliver(M2).await;
    let before = t.inbox_uids().await;

    // Port 110: no credential before STLS.
    let out = t.poplib("stls", &["login", "stat", "uidl", "retr1", "retr2", "quit"]);
    let plain_capa = get(&out, "plain-capa");
    assert!(plain_capa.split(' ').any(|c| c == "STLS"), "{out:?}");
    assert!(
        !plain_capa.split(' ').any(|c| c == "USER" || c == "SASL"),
        "{out:?}"
    );
    assert_eq!(
        get(&out, "plain-user"),
        "-ERR [AUTH] TLS required; use STLS first"
    );
    let capa = get(&out, "capa");
    for c in ["USER", "SASL", "TOP", "UIDL", "PIPELINING", "RESP-CODES"] {
        assert!(capa.split(' ').any(|x| x == c), "{c} in {out:?}");
    }
    assert!(get(&out, "login").starts_with("+OK maildrop has 2 messages"));
    assert_eq!(get(&out, "stat"), format!("2 {}", M1.len() + M2.len()));
    assert_eq!(unbase64(get(&out, "retr1")), M1);
    assert_eq!(unbase64(get(&out, "retr2")), M2);
    let uidl = get(&out, "uidl").to_string();

    // Port 995: DELE then RSET keeps everything.
    let out = t.poplib(
        "ssl",
        &["login", "dele1", "dele2", "stat", "rset", "uidl", "quit"],
    );
    assert!(
        !get(&out, "capa").split(' ').any(|c| c == "STLS"),
        "{out:?}"
    );
    assert_eq!(get(&out, "stat"), "0 0");
    assert_eq!(get(&out, "uidl"), uidl, "unique ids are stable");
    assert_eq!(t.inbox_uids().await, before);

    // DELE then QUIT removes, as an expunge IMAP sees.
    let out = t.poplib("ssl", &["login", "dele1", "quit"]);
    assert!(get(&out, "quit").starts_with("+OK"), "{out:?}");
    assert_eq!(t.inbox_uids().await, before[1..]);
    let inbox = t
        .store
        .mailbox_get(t.account, "INBOX")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        t.store.expunged_since(inbox.id, 0).await.unwrap(),
        before[..1]
    );
}

#[tokio::test]
async fn a_concurrent_session_is_refused_on_either_port() {
    let t = Pop3::start().await;
    t.deliver(M1).await;
    let p110 = format!("second:stls:{}", t.tern.port("pop3"));
    let p995 = format!("second:ssl:{}", t.tern.port("pop3s"));
    let out = t.poplib("ssl", &["login", &p110, &p995, "quit"]);
    let in_use = "-ERR [IN-USE] maildrop already in use by another session";
    let seconds: Vec<&str> = out
        .iter()
        .filter(|(a, _)| a.starts_with("second:"))
        .map(|(_, r)| r.as_str())
        .collect();
    assert_eq!(seconds, [in_use, in_use], "{out:?}");
    let out = t.poplib("stls", &["login", "quit"]);
    assert!(
        get(&out, "login").starts_with("+OK maildrop has 1"),
        "{out:?}"
    );
}

/// Run fetchmail (STLS, UIDL, delete after fetching) against `t`; the
/// messages its MDA received, sorted, and its log.
fn fetchmail(t: &Pop3) -> (Vec<Vec<u8>>, String) {
    let base = t.tern.dir.path().join("fetchmail");
    let outdir = base.join("out");
    std::fs::create_dir_all(&outdir).unwrap();
    // The MDA saves each message it is handed to a file of its own.
    let mda = base.join("save.sh");
    std::fs::write(
        &mda,
        format!(
            "#!/bin/sh\nexec cat > \"$(mktemp {}/msg.XXXXXX)\"\n",
            outdir.display()
        ),
    )
    .unwrap();
    let rc = base.join("fetchmailrc");
    std::fs::write(
        &rc,
        format!(
            "set no syslog\n\
             poll 127.0.0.1 with protocol pop3 port {port} uidl:\n\
             \tuser \"{USER}\" there with password \"{PASSWORD}\" is root here\n\
             \toptions sslproto 'TLS1.2+' sslcertck sslcommonname \"mx.test.example\" sslcertfile \"{cert}\" sslcertpath \"{certdir}\"\n\
             \tmda \"{mda}\"\n",
            port = t.tern.port("pop3"),
            cert = t.tern.cert_path().display(),
            certdir = base.display(),
            mda = mda.display(),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&mda, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = Command::new("timeout")
        .args([
            "60",
            "fetchmail",
            "--nodetach",
            "--verbose",
            "--all",
            "--nokeep",
            "--invisible",
        ])
        .arg("--fetchmailrc")
        .arg(&rc)
        .arg("--pidfile")
        .arg(base.join("pid"))
        .arg("--idfile")
        .arg(base.join("ids"))
        .env("HOME", &base)
        .env("FETCHMAILHOME", &base)
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "fetchmail failed:\n{log}");
    assert!(log.contains("STLS"), "fetchmail used STLS:\n{log}");
    let mut got: Vec<Vec<u8>> = std::fs::read_dir(&outdir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    got.sort();
    (got, log)
}

/// fetchmail hands its MDA Unix line ends.
fn unix(m: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(m)
        .replace("\r\n", "\n")
        .into_bytes()
}

#[tokio::test]
async fn fetchmail_retrieves_and_deletes_the_mailbox() {
    let t = Pop3::start().await;
    t.deliver(M1).await;
    t.deliver(M2).await;
    let (got, log) = fetchmail(&t);
    let mut want = vec![unix(M1), unix(M2)];
    want.sort();
    assert_eq!(got, want, "fetchmail log:\n{log}");
    assert!(
        t.inbox_uids().await.is_empty(),
        "fetchmail deleted what it fetched:\n{log}"
    );
}

#[tokio::test]
async fn fetchmail_gets_what_smtp_delivered_byte_for_byte() {
    let t = Pop3::start_with(&["smtp", "pop3", "pop3s"]).await;
    let sent = python(
        include_str!("scripts/pop3_clients_deliver.py"),
        &[&t.tern.port("smtp").to_string()],
    );
    assert_eq!(sent.trim(), "{}", "{sent}");
    // What SMTP delivered, as the store holds it.
    let inbox = t
        .store
        .mailbox_get(t.account, "INBOX")
        .await
        .unwrap()
        .unwrap();
    let uids = t.inbox_uids().await;
    assert_eq!(uids.len(), 1);
    let stored = t.store.message_bytes(inbox.id, uids[0]).await.unwrap();
    assert!(
        stored.ends_with(b"Subject: via smtp\r\n\r\nfirst\r\n.\r\n..double\r\n.single\r\nlast\r\n"),
        "{}",
        String::from_utf8_lossy(&stored)
    );
    let (got, log) = fetchmail(&t);
    assert_eq!(got, vec![unix(&stored)], "fetchmail log:\n{log}");
    assert!(t.inbox_uids().await.is_empty(), "{log}");
    assert_eq!(t.store.expunged_since(inbox.id, 0).await.unwrap(), uids);
}

/// curl as the client: it logs in with AUTH PLAIN when CAPA offers SASL.
fn curl(t: &Pop3, kind: &str, path: &str, extra: &[&str]) -> (bool, Vec<u8>, String) {
    let port = t.tern.port(kind);
    let scheme = if kind == "pop3s" { "pop3s" } else { "pop3" };
    let out = Command::new("timeout")
        .args(["60", "curl", "--silent", "--show-error", "--verbose"])
        .args(["--ssl-reqd", "--login-options", "AUTH=PLAIN"])
        .arg("--cacert")
        .arg(t.tern.cert_path())
        .arg("--resolve")
        .arg(format!("mx.test.example:{port}:127.0.0.1"))
        .arg("--user")
        .arg(format!("{USER}:{PASSWORD}"))
        .args(extra)
        .arg(format!("{scheme}://mx.test.example:{port}/{path}"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), out.stdout, log)
}

#[tokio::test]
async fn curl_auth_plain_over_stls_and_implicit_tls() {
    let t = Pop3::start().await;
    t.deliver(M1).await;
    t.deliver(M2).await;
    let (ok, body, log) = curl(&t, "pop3", "1", &[]);
    assert!(ok, "{log}");
    assert!(
        log.contains("> STLS") && log.contains("> AUTH PLAIN"),
        "{log}"
    );
    assert_eq!(body, M1, "{log}");
    let (ok, body, log) = curl(&t, "pop3s", "2", &[]);
    assert!(ok && log.contains("> AUTH PLAIN"), "{log}");
    assert_eq!(body, M2, "{log}");
    // A wrong password is refused with the [AUTH] response code.
    let port = t.tern.port("pop3s");
    let out = Command::new("timeout")
        .args([
            "60",
            "curl",
            "--silent",
            "--verbose",
            "--login-options",
            "AUTH=PLAIN",
        ])
        .arg("--cacert")
        .arg(t.tern.cert_path())
        .arg("--resolve")
        .arg(format!("mx.test.example:{port}:127.0.0.1"))
        .arg("--user")
        .arg(format!("{USER}:wrong"))
        .arg(format!("pop3s://mx.test.example:{port}/1"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("< -ERR [AUTH] invalid user name or password"),
        "{log}"
    );
    assert_eq!(t.inbox_uids().await.len(), 2);
}
