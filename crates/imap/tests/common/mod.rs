//! What the in-memory IMAP session tests share: a client over a duplex
//! pipe, a SQLite store with one account, and the server's options.
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tern_common::address::Address;
use tern_imap::{Gate, Options, Upgrade, run};
use tern_store::Store;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio_util::sync::CancellationToken;

pub const USER: &str = "bob@example.org";
pub const PASS: &str = "correct horse battery";

/// Pretends to run a handshake: the stream stays as it is.
pub struct FakeTls;

impl Upgrade<DuplexStream> for FakeTls {
    fn upgrade(
        &self,
        s: DuplexStream,
    ) -> Pin<Box<dyn Future<Output = io::Result<DuplexStream>> + Send + '_>> {
        Box::pin(async move { Ok(s) })
    }
}

pub struct Client {
    pub r: BufReader<tokio::io::ReadHalf<DuplexStream>>,
    pub w: tokio::io::WriteHalf<DuplexStream>,
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<()>,
}

impl Client {
    pub async fn line(&mut self) -> String {
        let mut l = String::new();
        tokio::time::timeout(Duration::from_secs(10), self.r.read_line(&mut l))
            .await
            .expect("reply in time")
            .unwrap();
        l
    }

    pub async fn send(&mut self, s: &str) {
        self.w.write_all(s.as_bytes()).await.unwrap();
    }

    /// Send a tagged command; every line up to and including the tagged one.
    pub async fn cmd(&mut self, tag: &str, c: &str) -> Vec<String> {
        self.send(&format!("{tag} {c}\r\n")).await;
        self.until(tag).await
    }

    pub async fn until(&mut self, tag: &str) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let l = self.line().await;
            if l.is_empty() {
                panic!("connection closed; got {out:?}");
            }
            let done = l.starts_with(&format!("{tag} "));
            out.push(l);
            if done {
                return out;
            }
        }
    }
}

pub async fn setup() -> (tempfile::TempDir, Store, i64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_for_tests(dir.path()).await.unwrap();
    store.domain_add("example.org").await.unwrap();
    let a = store
        .account_add(&Address::parse(USER).unwrap(), PASS, 0)
        .await
        .unwrap();
    (dir, store, a.id)
}

pub fn opts() -> Options {
    Options {
        auth_failure_delay: Duration::from_millis(10),
        max_literal: 100_000,
        ..Options::default()
    }
}

pub async fn connect(store: &Store, tls: bool) -> Client {
    connect_with(store, tls, opts()).await
}

pub async fn connect_with(store: &Store, tls: bool, opts: Options) -> Client {
    let (a, b) = tokio::io::duplex(1 << 20);
    let shutdown = CancellationToken::new();
    let s2 = shutdown.clone();
    let store = store.clone();
    let task = tokio::spawn(async move {
        run(
            store,
            Arc::new(opts),
            b,
            tls,
            &FakeTls,
            s2,
            "test".into(),
            Gate::open("imap"),
        )
        .await
    });
    let (r, w) = tokio::io::split(a);
    let mut c = Client {
        r: BufReader::new(r),
        w,
        shutdown,
        task,
    };
    let greeting = c.line().await;
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1"),
        "{greeting}"
    );
    c
}

pub async fn logged_in(store: &Store) -> Client {
    let mut c = connect(store, true).await;
    let r = c.cmd("l", &format!("LOGIN {USER} \"{PASS}\"")).await;
    assert!(r.last().unwrap().starts_with("l OK"), "{r:?}");
    c
}

pub fn msg(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: {subject}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <{subject}@x>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}
