//! ManageSieve sessions in memory (RFC 5804): over a duplex stream with a
//! stand-in for TLS, on a SQLite store in a temporary directory.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tern_common::Address;
use tern_managesieve::{Options, Upgrade, run};
use tern_store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_util::sync::CancellationToken;

struct FakeTls;
static FAKE_TLS: FakeTls = FakeTls;

impl Upgrade<DuplexStream> for FakeTls {
    fn upgrade(
        &self,
        s: DuplexStream,
    ) -> Pin<Box<dyn Future<Output = io::Result<DuplexStream>> + Send + '_>> {
        Box::pin(async move { Ok(s) })
    }
}

struct Client {
    stream: DuplexStream,
    buf: Vec<u8>,
    _dir: tempfile::TempDir,
    store: Store,
}

fn plain(user: &str, pass: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"))
}

impl Client {
    async fn start(opts: Options) -> Client {
        Client::start_until(opts, CancellationToken::new()).await
    }

    /// `start`, the server shutting down when `shutdown` is cancelled.
    async fn start_until(opts: Options, shutdown: CancellationToken) -> Client {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_for_tests(dir.path()).await.unwrap();
        store.domain_add("example.org").await.unwrap();
        store
            .account_add(&Address::parse("alice@example.org").unwrap(), "pw one", 0)
            .await
            .unwrap();
        let (a, b) = tokio::io::duplex(1 << 20);
        let s = store.clone();
        tokio::spawn(async move {
            run(
                s,
                Arc::new(opts),
                b,
                false,
                &FAKE_TLS,
                shutdown,
                "test".into(),
            )
            .await;
        });
        Client {
            stream: a,
            buf: Vec::new(),
            _dir: dir,
            store,
        }
    }

    async fn fast() -> Client {
        Client::start(Options {
            auth_failure_delay: Duration::from_millis(1),
            ..Options::default()
        })
        .await
    }

    /// Everything up to and including the next OK, NO or BYE line (or the
    /// end of the stream).
    async fn response(&mut self) -> String {
        loop {
            let text = String::from_utf8_lossy(&self.buf).into_owned();
            let mut at = 0;
            for line in text.split_inclusive("\r\n") {
                at += line.len();
                if line.ends_with("\r\n") && ["OK", "NO", "BYE"].iter().any(|k| line.starts_with(k))
                {
                    self.buf.drain(..at);
                    return text[..at].to_string();
                }
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut chunk))
                .await
                .expect("a response in time")
                .unwrap();
            if n == 0 {
                return String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn cmd(&mut self, c: &str) -> String {
        self.stream.write_all(c.as_bytes()).await.unwrap();
        self.response().await
    }

    /// Greeting, STARTTLS, AUTHENTICATE PLAIN as alice.
    async fn login(&mut self) {
        self.response().await;
        self.cmd("STARTTLS\r\n").await;
        self.response().await;
        let r = self
            .cmd(&format!(
                "AUTHENTICATE \"PLAIN\" \"{}\"\r\n",
                plain("alice@example.org", "pw one")
            ))
            .await;
        assert_eq!(r, "OK \"Logged in\"\r\n");
    }
}

#[tokio::test]
async fn greeting_starttls_and_login() {
    let mut c = Client::fast().await;
    let hello = c.response().await;
    assert!(
        hello.starts_with("\"IMPLEMENTATION\" \"tern\"\r\n"),
        "{hello}"
    );
    assert!(
        hello.contains("\"SIEVE\" \"") && hello.contains("fileinto"),
        "{hello}"
    );
    assert!(hello.contains("\"STARTTLS\"\r\n"), "{hello}");
    assert!(hello.contains("\"SASL\" \"\"\r\n"), "{hello}");
    assert!(hello.contains("\"VERSION\" \"1.0\"\r\n"), "{hello}");
    assert!(
        hello.ends_with("OK \"localhost ManageSieve ready\"\r\n"),
        "{hello}"
    );
    // No credentials in the clear, whatever they are.
    let ir = plain("alice@example.org", "pw one");
    let r = c.cmd(&format!("AUTHENTICATE \"PLAIN\" \"{ir}\"\r\n")).await;
    assert!(r.starts_with("NO (ENCRYPT-NEEDED)"), "{r}");
    let r = c.cmd("LISTSCRIPTS\r\n").await;
    assert!(r.starts_with("NO "), "{r}");
    assert_eq!(
        c.cmd("STARTTLS\r\n").await,
        "OK \"Begin TLS negotiation now\"\r\n"
    );
    let caps = c.response().await;
    assert!(caps.contains("\"SASL\" \"PLAIN LOGIN\"\r\n"), "{caps}");
    assert!(!caps.contains("STARTTLS\""), "{caps}");
    assert!(
        caps.ends_with("OK \"TLS negotiation successful\"\r\n"),
        "{caps}"
    );
    let r = c
        .cmd(&format!(
            "AUTHENTICATE \"PLAIN\" \"{}\"\r\n",
            plain("alice@example.org", "wrong")
        ))
        .await;
    assert!(r.starts_with("NO "), "{r}");
}

#[tokio::test]
async fn sasl_exchanges() {
    let mut c = Client::fast().await;
    c.response().await;
    c.cmd("STARTTLS\r\n").await;
    c.response().await;
    c.stream
        .write_all(b"AUTHENTICATE \"PLAIN\"\r\n")
        .await
        .unwrap();
    let mut chal = [0u8; 4];
    c.stream.read_exact(&mut chal).await.unwrap();
    assert_eq!(&chal, b"\"\"\r\n");
    let ir = plain("alice@example.org", "pw one");
    let r = c.cmd(&format!("{{{}+}}\r\n{ir}\r\n", ir.len())).await;
    assert_eq!(r, "OK \"Logged in\"\r\n");
    assert_eq!(c.cmd("UNAUTHENTICATE\r\n").await, "OK\r\n");
    // LOGIN, for old clients.
    c.stream
        .write_all(b"AUTHENTICATE \"LOGIN\"\r\n")
        .await
        .unwrap();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut chal = vec![0u8; "\"VXNlcm5hbWU6\"\r\n".len()];
    c.stream.read_exact(&mut chal).await.unwrap();
    assert_eq!(chal, b"\"VXNlcm5hbWU6\"\r\n");
    c.stream
        .write_all(format!("\"{}\"\r\n", b64("alice@example.org")).as_bytes())
        .await
        .unwrap();
    let mut chal = vec![0u8; "\"UGFzc3dvcmQ6\"\r\n".len()];
    c.stream.read_exact(&mut chal).await.unwrap();
    assert_eq!(chal, b"\"UGFzc3dvcmQ6\"\r\n");
    let r = c.cmd(&format!("\"{}\"\r\n", b64("pw one"))).await;
    assert_eq!(r, "OK \"Logged in\"\r\n");
    // Cancelled.
    assert_eq!(c.cmd("UNAUTHENTICATE\r\n").await, "OK\r\n");
    c.stream
        .write_all(b"AUTHENTICATE \"PLAIN\"\r\n")
        .await
        .unwrap();
    c.stream.read_exact(&mut [0u8; 4]).await.unwrap();
    let r = c.cmd("\"*\"\r\n").await;
    assert!(r.starts_with("NO "), "{r}");
}

#[tokio::test]
async fn scripts_are_put_listed_activated_got_renamed_and_deleted() {
    let mut c = Client::fast().await;
    c.login().await;
    let script = "require \"fileinto\";\r\nfileinto \"Junk\";\r\n";
    let r = c
        .cmd(&format!(
            "PUTSCRIPT \"junk\" {{{}+}}\r\n{script}\r\n",
            script.len()
        ))
        .await;
    assert_eq!(r, "OK\r\n");
    // A synchronizing literal is read the same way.
    assert_eq!(
        c.cmd("PUTSCRIPT \"other\" {5}\r\nkeep;\r\n").await,
        "OK\r\n"
    );
    // Refused with the line and column of the error.
    let bad = "keep;\r\n\r\nfileinto \"x\";\r\n";
    let r = c
        .cmd(&format!(
            "PUTSCRIPT \"bad\" {{{}+}}\r\n{bad}\r\n",
            bad.len()
        ))
        .await;
    assert!(r.starts_with("NO \"line 3, column "), "{r}");
    let r = c
        .cmd(&format!("CHECKSCRIPT {{{}+}}\r\n{bad}\r\n", bad.len()))
        .await;
    assert!(r.starts_with("NO \"line 3"), "{r}");
    assert_eq!(c.cmd("CHECKSCRIPT \"keep;\"\r\n").await, "OK\r\n");
    assert_eq!(
        c.cmd("LISTSCRIPTS\r\n").await,
        "\"junk\"\r\n\"other\"\r\nOK\r\n"
    );
    assert_eq!(c.cmd("SETACTIVE \"junk\"\r\n").await, "OK\r\n");
    assert_eq!(
        c.cmd("LISTSCRIPTS\r\n").await,
        "\"junk\" ACTIVE\r\n\"other\"\r\nOK\r\n"
    );
    let r = c.cmd("SETACTIVE \"nope\"\r\n").await;
    assert!(r.starts_with("NO (NONEXISTENT)"), "{r}");
    assert_eq!(
        c.cmd("GETSCRIPT \"junk\"\r\n").await,
        format!("{{{}}}\r\n{script}\r\nOK\r\n", script.len())
    );
    let r = c.cmd("GETSCRIPT \"nope\"\r\n").await;
    assert!(r.starts_with("NO (NONEXISTENT)"), "{r}");
    let r = c.cmd("DELETESCRIPT \"junk\"\r\n").await;
    assert!(r.starts_with("NO (ACTIVE)"), "{r}");
    let r = c.cmd("RENAMESCRIPT \"junk\" \"other\"\r\n").await;
    assert!(r.starts_with("NO (ALREADYEXISTS)"), "{r}");
    assert_eq!(c.cmd("RENAMESCRIPT \"junk\" \"spam\"\r\n").await, "OK\r\n");
    assert_eq!(
        c.cmd("LISTSCRIPTS\r\n").await,
        "\"other\"\r\n\"spam\" ACTIVE\r\nOK\r\n"
    );
    assert_eq!(c.cmd("SETACTIVE \"\"\r\n").await, "OK\r\n");
    assert_eq!(c.cmd("DELETESCRIPT \"spam\"\r\n").await, "OK\r\n");
    let r = c.cmd("DELETESCRIPT \"spam\"\r\n").await;
    assert!(r.starts_with("NO (NONEXISTENT)"), "{r}");
    assert_eq!(c.cmd("HAVESPACE \"x\" 1000\r\n").await, "OK\r\n");
    let r = c.cmd("HAVESPACE \"x\" 99999999\r\n").await;
    assert!(r.starts_with("NO (QUOTA/MAXSIZE)"), "{r}");
    // A script over the limit: its octets are skipped, not kept.
    let big = tern_store::MAX_SIEVE_SCRIPT_SIZE + 1;
    let r = c
        .cmd(&format!(
            "PUTSCRIPT \"big\" {{{big}+}}\r\n{}\r\n",
            "#".repeat(big)
        ))
        .await;
    assert!(r.starts_with("NO (QUOTA/MAXSIZE)"), "{r}");
    assert_eq!(
        c.cmd("NOOP \"t1\"\r\n").await,
        "OK (TAG \"t1\") \"Done\"\r\n"
    );
    let names: Vec<String> = c
        .store
        .sieve_list(1)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["other"]);
    assert_eq!(c.cmd("LOGOUT\r\n").await, "OK \"Logout complete\"\r\n");
}

#[tokio::test]
async fn hostile_input_before_login() {
    let mut c = Client::fast().await;
    c.response().await;
    // A large literal before login ends the connection.
    let r = c.cmd("PUTSCRIPT \"x\" {1000000+}\r\n").await;
    assert!(r.starts_with("BYE "), "{r}");
    let mut c = Client::fast().await;
    c.response().await;
    let r = c.cmd(&format!("NOOP \"{}\"\r\n", "x".repeat(5000))).await;
    assert!(r.starts_with("NO "), "{r}");
    assert_eq!(c.cmd("NOOP\r\n").await, "OK \"Done\"\r\n");
    // Login time-out.
    let mut c = Client::start(Options {
        login_timeout: Duration::from_millis(200),
        ..Options::default()
    })
    .await;
    c.response().await;
    let r = c.response().await;
    assert!(r.starts_with("BYE "), "{r}");
}

#[tokio::test]
async fn the_script_limits_answer_with_their_codes() {
    let mut c = Client::fast().await;
    c.login().await;
    for i in 0..tern_store::MAX_SIEVE_SCRIPTS {
        assert_eq!(
            c.cmd(&format!("PUTSCRIPT \"s{i}\" \"keep;\"\r\n")).await,
            "OK\r\n"
        );
    }
    let r = c.cmd("PUTSCRIPT \"one more\" \"keep;\"\r\n").await;
    assert!(r.starts_with("NO (QUOTA/MAXSCRIPTS)"), "{r}");
    let r = c.cmd("HAVESPACE \"one more\" 5\r\n").await;
    assert!(r.starts_with("NO (QUOTA/MAXSCRIPTS)"), "{r}");
    // Replacing one adds none.
    assert_eq!(c.cmd("HAVESPACE \"s0\" 5\r\n").await, "OK\r\n");
    assert_eq!(c.cmd("PUTSCRIPT \"s0\" \"stop;\"\r\n").await, "OK\r\n");
    // Names as RFC 5804 1.6 allows them.
    assert_eq!(c.cmd("DELETESCRIPT \"s1\"\r\n").await, "OK\r\n");
    let r = c.cmd("PUTSCRIPT \"\" \"keep;\"\r\n").await;
    assert!(r.starts_with("NO \"invalid script name"), "{r}");
    let r = c.cmd("PUTSCRIPT {3+}\r\na\tb \"keep;\"\r\n").await;
    assert!(r.starts_with("NO \"invalid script name"), "{r}");
}

#[tokio::test]
async fn idle_sessions_and_shutdown_end_with_bye() {
    let mut c = Client::start(Options {
        idle_timeout: Duration::from_millis(300),
        auth_failure_delay: Duration::from_millis(1),
        ..Options::default()
    })
    .await;
    c.login().await;
    let r = c.response().await;
    assert_eq!(r, "BYE \"idle for too long\"\r\n");
    let shutdown = CancellationToken::new();
    let mut c = Client::start_until(Options::default(), shutdown.clone()).await;
    c.response().await;
    shutdown.cancel();
    let r = c.response().await;
    assert_eq!(r, "BYE (TRYLATER) \"server shutting down\"\r\n");
}
