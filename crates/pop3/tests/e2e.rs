//! End to end: the POP3 service on real listeners and a real store, spoken
//! to by clients nobody here wrote (Python's poplib, fetchmail).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tern_common::config::{ListenerConfig, ListenerKind, embedded_default};
use tern_common::listener::{Server, Tls, bind_all};
use tern_common::{Address, tls};
use tern_pop3::Service;
use tern_store::{MailboxSel, NewMessage, Store};

const USER: &str = "alice@example.org";
const PASSWORD: &str = "correct horse";

/// Lines starting with "." must come back byte-exact (RFC 1939 3).
const M1: &[u8] = b"From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nSubject: dots\r\n\r\nhello\r\n.\r\n..two\r\n.leading dot\r\nend\r\n";
const M2: &[u8] =
    b"From: carol@example.net\r\nTo: alice@example.org\r\nSubject: second\r\n\r\nsecond body\r\n";

struct Env {
    dir: tempfile::TempDir,
    store: Store,
    server: Server,
    pop3: SocketAddr,
    pop3s: SocketAddr,
    cert: PathBuf,
    account: i64,
}

impl Env {
    async fn start() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_for_tests(&dir.path().join("data"))
            .await
            .unwrap();
        store.domain_add("example.org").await.unwrap();
        let account = store
            .account_add(&Address::parse(USER).unwrap(), PASSWORD, 0)
            .await
            .unwrap()
            .id;
        let (cert, key) = tls::self_signed(&dir.path().join("tls"), "localhost").unwrap();
        let tls = Tls::new(tls::load_server_config(&cert, &key).unwrap());
        let mut config = embedded_default(|_| true);
        config.hostname = "mx.example.org".into();
        config.data_dir = dir.path().join("data");
        let lo = IpAddr::from([127, 0, 0, 1]);
        let bound = bind_all(&[
            ListenerConfig {
                kind: ListenerKind::Pop3,
                addr: lo,
                port: 0,
            },
            ListenerConfig {
                kind: ListenerKind::Pop3s,
                addr: lo,
                port: 0,
            },
        ])
        .await
        .unwrap();
        let pop3 = bound[0].local_addr().unwrap();
        let pop3s = bound[1].local_addr().unwrap();
        // One service per listener, as `tern serve` may make them.
        let config = Arc::new(config);
        let server = Server::new(100);
        for b in bound {
            let service = Arc::new(Service::new(config.clone(), store.clone()));
            server.serve(b, tls.clone(), service);
        }
        Env {
            dir,
            store,
            server,
            pop3,
            pop3s,
            cert,
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

    async fn stop(self) {
        assert!(self.server.shutdown(Duration::from_secs(5)).await);
        self.store.close().await;
    }

    /// Run tests/clients/pop.py; its JSON answer.
    async fn poplib(&self, implicit_tls: bool, actions: &[&str]) -> serde_json::Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/pop.py");
        let (mode, port) = if implicit_tls {
            ("ssl", self.pop3s.port())
        } else {
            ("stls", self.pop3.port())
        };
        let mut cmd = Command::new("timeout");
        cmd.arg("60")
            .arg("python3")
            .arg(script)
            .arg(mode)
            .arg(port.to_string())
            .arg(&self.cert)
            .arg(USER)
            .arg(PASSWORD);
        cmd.args(actions);
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            out.status.success(),
            "pop.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn action(v: &serde_json::Value, i: usize) -> &serde_json::Value {
    &v["actions"][i][1]
}

fn decoded(v: &serde_json::Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poplib_over_stls_refuses_credentials_before_tls_and_retrieves_byte_exact() {
    let env = Env::start().await;
    env.deliver(M1).await;
    env.deliver(M2).await;
    let v = env
        .poplib(
            false,
            &[
                "login", "stat", "list", "uidl", "retr1", "retr2", "top2", "quit",
            ],
        )
        .await;
    let capa_plain: Vec<&str> = v["capa_plain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(capa_plain.contains(&"STLS"), "{v}");
    assert!(
        !capa_plain.contains(&"USER") && !capa_plain.contains(&"SASL"),
        "{v}"
    );
    assert_eq!(v["user_plain"], "-ERR [AUTH] TLS required; use STLS first");
    let capa: Vec<&str> = v["capa"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for c in [
        "USER",
        "SASL",
        "TOP",
        "UIDL",
        "PIPELINING",
        "RESP-CODES",
        "AUTH-RESP-CODE",
    ] {
        assert!(capa.contains(&c), "{c} missing from {v}");
    }
    assert!(!capa.contains(&"STLS"), "{v}");
    assert!(
        action(&v, 0)
            .as_str()
            .unwrap()
            .starts_with("+OK maildrop has 2 messages"),
        "{v}"
    );
    let total = (M1.len() + M2.len()) as u64;
    assert_eq!(action(&v, 1), &serde_json::json!([2, total]));
    assert_eq!(
        action(&v, 2),
        &serde_json::json!([format!("1 {}", M1.len()), format!("2 {}", M2.len())])
    );
    let uidl = action(&v, 3).as_array().unwrap();
    assert_eq!(uidl.len(), 2);
    assert_eq!(decoded(action(&v, 4)), M1);
    assert_eq!(decoded(action(&v, 5)), M2);
    assert_eq!(
        decoded(action(&v, 6)),
        &M2[..M2.len() - "second body\r\n".len()]
    );
    // The same ids on the next login, and nothing was deleted.
    let again = env.poplib(true, &["login", "uidl", "quit"]).await;
    assert_eq!(action(&again, 1), action(&v, 3));
    assert_eq!(env.inbox_uids().await.len(), 2);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poplib_over_implicit_tls_dele_rset_keeps_and_dele_quit_expunges() {
    let env = Env::start().await;
    env.deliver(M1).await;
    env.deliver(M2).await;
    let before = env.inbox_uids().await;
    let v = env
        .poplib(
            true,
            &["login", "dele1", "dele2", "stat", "rset", "stat", "quit"],
        )
        .await;
    let capa: Vec<&str> = v["capa"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(!capa.contains(&"STLS") && capa.contains(&"USER"), "{v}");
    assert_eq!(action(&v, 3), &serde_json::json!([0, 0]));
    assert_eq!(env.inbox_uids().await, before, "RSET kept everything: {v}");
    let v = env.poplib(true, &["login", "dele1", "quit"]).await;
    assert!(action(&v, 2).as_str().unwrap().starts_with("+OK"), "{v}");
    assert_eq!(env.inbox_uids().await, before[1..], "{v}");
    // An IMAP session catching up sees the expunge.
    let inbox = env
        .store
        .mailbox_get(env.account, "INBOX")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        env.store.expunged_since(inbox.id, 0).await.unwrap(),
        before[..1]
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_session_is_refused_in_use() {
    let env = Env::start().await;
    env.deliver(M1).await;
    let v = env
        .poplib(false, &["login", "login2", "quit", "login2"])
        .await;
    assert_eq!(
        action(&v, 1),
        "-ERR [IN-USE] maildrop already in use by another session",
        "{v}"
    );
    assert!(
        action(&v, 3)
            .as_str()
            .unwrap()
            .starts_with("+OK maildrop has 1"),
        "after QUIT the lock is free: {v}"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetchmail_retrieves_and_deletes_the_mailbox() {
    let env = Env::start().await;
    env.deliver(M1).await;
    env.deliver(M2).await;
    let base = env.dir.path().join("fetchmail");
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
             \toptions sslproto 'TLS1.2+' sslcertck sslcommonname \"localhost\" sslcertfile \"{cert}\" sslcertpath \"{certdir}\"\n\
             \tmda \"{mda}\"\n",
            port = env.pop3.port(),
            cert = env.cert.display(),
            certdir = base.display(),
            mda = mda.display(),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&mda, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut cmd = Command::new("timeout");
    cmd.args([
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
    .env("FETCHMAILHOME", &base);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
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
    // fetchmail hands the MDA Unix line ends.
    let mut want: Vec<Vec<u8>> = [M1, M2]
        .iter()
        .map(|m| {
            String::from_utf8_lossy(m)
                .replace("\r\n", "\n")
                .into_bytes()
        })
        .collect();
    want.sort();
    assert_eq!(got, want, "fetchmail log:\n{log}");
    assert!(
        env.inbox_uids().await.is_empty(),
        "fetchmail deleted what it fetched:\n{log}"
    );
    env.stop().await;
}
