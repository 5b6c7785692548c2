//! In-memory SMTP sessions: every command, reply and error path, driven
//! over an in-process byte stream against a real store in a temp dir.

use std::net::IpAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tern_common::Address;
use tern_common::config::{Source, parse};
use tern_common::security::Security;
use tern_smtp::{NoTls, Peer, Session, Shared, Tarpit};
use tern_store::Store;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio_util::sync::CancellationToken;

struct Env {
    shared: Arc<Shared>,
    store: Store,
    _dir: tempfile::TempDir,
}

async fn env_with(extra: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let cfg = parse(
        &format!("hostname = \"mx.example.org\"\n[tarpit]\nenabled = false\n{extra}"),
        Source::Embedded,
        Path::new("/"),
        |_| true,
    )
    .unwrap();
    let store = Store::open_sqlite_for_tests(dir.path()).await.unwrap();
    store.domain_add("example.org").await.unwrap();
    for u in ["alice", "bob", "ünï"] {
        store
            .account_add(
                &Address::parse(&format!("{u}@example.org")).unwrap(),
                "pw",
                0,
            )
            .await
            .unwrap();
    }
    store
        .account_add(&Address::parse("small@example.org").unwrap(), "pw", 10)
        .await
        .unwrap();
    store
        .alias_add(
            &Address::parse("team@example.org").unwrap(),
            &[
                Address::parse("alice@example.org").unwrap(),
                Address::parse("bob@example.org").unwrap(),
            ],
        )
        .await
        .unwrap();
    let shared = Arc::new(Shared {
        filter: tern_smtp::sieve_filter(&cfg),
        rspamd: None,
        tarpit: Tarpit::new(cfg.tarpit.clone()),
        config: Arc::new(cfg),
        store: store.clone(),
        queue: None,
        security: Security::permissive_for_tests(),
        submission: false,
        checker: None,
    });
    Env {
        shared,
        store,
        _dir: dir,
    }
}

async fn env() -> Env {
    env_with("").await
}

/// Counts the writes the server makes (pipelining answers in one), and
/// its asks for prompt acknowledgements (`QuickAck`).
struct Counting {
    inner: DuplexStream,
    writes: Arc<AtomicUsize>,
    acks: Arc<AtomicUsize>,
}

impl tern_common::quick_ack::QuickAck for Counting {
    fn quick_ack(&self) {
        self.acks.fetch_add(1, Ordering::SeqCst);
    }
}

impl AsyncRead for Counting {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counting {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r
            && *n > 0
        {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Send `input` at once, close, and return everything the server said.
async fn talk(env: &Env, input: &[u8]) -> String {
    talk_counted(env, input).await.0
}

/// The same on a submission session; `tls` says whether the connection
/// is already encrypted (as on port 465 or after STARTTLS).
async fn submit(env: &Env, input: &[u8], tls: bool) -> String {
    let shared = Arc::new(Shared {
        config: env.shared.config.clone(),
        store: env.store.clone(),
        queue: None,
        tarpit: env.shared.tarpit.clone(),
        security: Security::permissive_for_tests(),
        submission: true,
        checker: None,
        filter: env.shared.filter.clone(),
        rspamd: None,
    });
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let task = tokio::spawn(async move {
        let info = tls.then(|| tern_common::listener::TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TEST".into(),
        });
        let peer = Peer {
            ip: IpAddr::from([192, 0, 2, 9]),
            tls: info,
            can_starttls: !tls,
        };
        Session::new(shared, server, &NoTls, peer, CancellationToken::new())
            .run()
            .await;
    });
    client.write_all(input).await.unwrap();
    client.shutdown().await.unwrap();
    let mut out = String::new();
    client.read_to_string(&mut out).await.unwrap();
    task.await.unwrap();
    out
}

fn plain(user: &str, pass: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"))
}

/// A plain port-25 session from 192.0.2.1 on a counted stream: the
/// client's end, the server's writes and asks for prompt ACKs, its task.
fn counted_session(
    env: &Env,
) -> (
    DuplexStream,
    Arc<AtomicUsize>,
    Arc<AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    let (client, server) = tokio::io::duplex(1 << 20);
    let (writes, acks) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let server = Counting {
        inner: server,
        writes: writes.clone(),
        acks: acks.clone(),
    };
    let shared = env.shared.clone();
    let task = tokio::spawn(async move {
        let peer = Peer {
            ip: IpAddr::from([192, 0, 2, 1]),
            tls: None,
            can_starttls: false,
        };
        Session::new(shared, server, &NoTls, peer, CancellationToken::new())
            .run()
            .await;
    });
    (client, writes, acks, task)
}

async fn talk_counted(env: &Env, input: &[u8]) -> (String, usize) {
    let (mut client, writes, _, task) = counted_session(env);
    client.write_all(input).await.unwrap();
    client.shutdown().await.unwrap();
    let mut out = String::new();
    client.read_to_string(&mut out).await.unwrap();
    task.await.unwrap();
    (out, writes.load(Ordering::SeqCst))
}

/// Reads from the server until `end` has come, bounded.
async fn read_until(client: &mut DuplexStream, end: &str) -> String {
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    while !got.contains(end) {
        let n = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf))
            .await
            .expect("the server answers")
            .unwrap();
        assert!(n > 0, "closed before {end:?}: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    got
}

/// Waits (bounded) until the server has asked for more than `than`
/// prompt acknowledgements.
async fn asked(acks: &AtomicUsize, than: usize) -> usize {
    for _ in 0..2000 {
        if acks.load(Ordering::SeqCst) > than {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    acks.load(Ordering::SeqCst)
}

/// While a message is still arriving (DATA, BDAT), the socket
/// acknowledges at once, so that a client's last write of it does not
/// wait for the delayed ACK; command lines are left to the kernel, whose
/// acknowledgements ride on the replies (see `tern_common::quick_ack`).
#[tokio::test]
async fn a_message_still_arriving_is_acknowledged_at_once() {
    let e = env().await;
    let (mut client, _, acks, task) = counted_session(&e);
    read_until(&mut client, "220 ").await;
    let envelope = TXN.strip_suffix("DATA\r\n").unwrap();
    client.write_all(envelope.as_bytes()).await.unwrap();
    read_until(&mut client, "Recipient OK").await;
    assert_eq!(acks.load(Ordering::SeqCst), 0, "commands: nothing asked");
    client.write_all(b"DATA\r\n").await.unwrap();
    read_until(&mut client, "354 ").await;
    let ready = acks.load(Ordering::SeqCst);
    client
        .write_all(b"Subject: big\r\n\r\nfirst part\r\n")
        .await
        .unwrap();
    let first = asked(&acks, ready).await;
    assert!(
        first > ready,
        "the rest of the DATA is awaited with prompt ACKs"
    );
    client.write_all(b"last part\r\n.\r\n").await.unwrap();
    read_until(&mut client, "queued as").await;
    let after_data = acks.load(Ordering::SeqCst);
    // BDAT: a chunk announced and not all there yet.
    client
        .write_all(b"MAIL FROM:<sender@remote.example>\r\nRCPT TO:<alice@example.org>\r\nBDAT 20 LAST\r\n0123456789")
        .await
        .unwrap();
    assert!(
        asked(&acks, after_data).await > after_data,
        "so is the rest of a BDAT chunk"
    );
    client.write_all(b"0123456789").await.unwrap();
    let out = read_until(&mut client, "queued as").await;
    client.write_all(b"QUIT\r\n").await.unwrap();
    read_until(&mut client, "221 ").await;
    task.await.unwrap();
    assert_eq!(inbox(&e, "alice@example.org").await.len(), 2, "{out}");
}

async fn inbox(env: &Env, user: &str) -> Vec<Vec<u8>> {
    let acc = env
        .store
        .account_get(&Address::parse(user).unwrap())
        .await
        .unwrap()
        .unwrap();
    let mb = env
        .store
        .mailbox_get(acc.id, "INBOX")
        .await
        .unwrap()
        .unwrap();
    let mut out = Vec::new();
    for m in env.store.messages(mb.id).await.unwrap() {
        out.push(env.store.message_bytes(mb.id, m.uid).await.unwrap());
    }
    out
}

fn codes(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| l.len() >= 4 && l.as_bytes()[3] == b' ')
        .map(|l| l[..3].to_string())
        .collect()
}

const TXN: &str = "EHLO client.example\r\nMAIL FROM:<sender@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n";

#[tokio::test]
async fn greeting_and_ehlo_advertise_what_works() {
    let e = env().await;
    let out = talk(&e, b"EHLO client.example\r\nQUIT\r\n").await;
    assert!(out.starts_with("220 mx.example.org ESMTP"), "{out}");
    for ext in [
        "PIPELINING",
        "SIZE 52428800",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "CHUNKING",
        "DSN",
    ] {
        assert!(
            out.contains(&format!("250-{ext}")) || out.contains(&format!("250 {ext}")),
            "{ext}: {out}"
        );
    }
    assert!(
        !out.contains("STARTTLS"),
        "no STARTTLS without TLS material"
    );
    assert!(!out.contains("REQUIRETLS"), "REQUIRETLS only after TLS");
    assert!(!out.contains("AUTH"), "no AUTH on port 25");
    assert!(out.ends_with("221 2.0.0 mx.example.org Bye\r\n"));
    let out = talk(&e, b"HELO client.example\r\nQUIT\r\n").await;
    assert!(out.contains("\r\n250 mx.example.org\r\n"), "{out}");
}

#[tokio::test]
async fn a_message_is_delivered_with_trace_headers_and_exact_dots() {
    let e = env().await;
    let body = "Subject: hi\r\n\r\n..starts with a dot\r\n.\r\n";
    let input = format!("{TXN}{body}QUIT\r\n");
    let out = talk(&e, input.as_bytes()).await;
    assert_eq!(
        codes(&out),
        ["220", "250", "250", "250", "354", "250", "221"],
        "{out}"
    );
    assert!(out.contains("250 2.0.0 Ok: queued as "), "{out}");
    let m = inbox(&e, "alice@example.org").await;
    assert_eq!(m.len(), 1);
    let text = String::from_utf8(m[0].clone()).unwrap();
    assert!(text.starts_with("Return-Path: <sender@remote.example>\r\nDelivered-To: alice@example.org\r\nReceived: from client.example ([192.0.2.1])\r\n\tby mx.example.org (tern) with ESMTP id "), "{text}");
    assert!(text.contains("\r\n\tfor <alice@example.org>;"), "{text}");
    assert!(
        text.ends_with("Subject: hi\r\n\r\n.starts with a dot\r\n"),
        "one dot removed: {text}"
    );
}

#[tokio::test]
async fn commands_out_of_order_are_refused() {
    let e = env().await;
    let out = talk(&e, b"MAIL FROM:<a@b.example>\r\nEHLO x\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nMAIL FROM:<a@b.example>\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n").await;
    assert_eq!(
        codes(&out),
        ["220", "503", "250", "503", "503", "250", "503", "221"],
        "{out}"
    );
    assert!(out.contains("503 5.5.1 Send EHLO"));
    assert!(out.contains("503 5.5.1 Need MAIL before RCPT"));
    assert!(out.contains("503 5.5.1 Nested MAIL"));
}

#[tokio::test]
async fn small_commands() {
    let e = env().await;
    let out = talk(&e, b"EHLO x\r\nNOOP\r\nHELP\r\nVRFY alice\r\nEXPN team\r\nRSET\r\nFROB\r\nAUTH PLAIN AGFAYg==\r\nQUIT\r\n").await;
    assert_eq!(
        codes(&out),
        [
            "220", "250", "250", "214", "252", "502", "250", "500", "503", "221"
        ],
        "{out}"
    );
    assert!(out.contains("252 2.5.0"), "VRFY confirms nothing");
    assert!(out.contains("500 5.5.2"));
}

#[tokio::test]
async fn too_many_errors_close_with_421() {
    let e = env_with("[smtp]\nmax_errors = 3\n").await;
    let out = talk(&e, b"FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n").await;
    assert_eq!(codes(&out), ["220", "500", "500", "500", "421"], "{out}");
    assert!(out.contains("421 4.7.0"));
}

#[tokio::test]
async fn size_is_declared_and_enforced() {
    let e = env_with("[smtp]\nmax_message_size = 100\n").await;
    let out = talk(
        &e,
        b"EHLO x\r\nMAIL FROM:<a@b.example> SIZE=1000\r\nQUIT\r\n",
    )
    .await;
    assert!(out.contains("250-SIZE 100\r\n"), "{out}");
    assert!(out.contains("552 5.3.4"), "{out}");
    let big = "x".repeat(80);
    let input = format!("{TXN}{big}\r\n{big}\r\n.\r\nNOOP\r\n");
    let out = talk(&e, input.as_bytes()).await;
    assert!(out.contains("552 5.3.4"), "{out}");
    assert!(
        out.ends_with("250 2.0.0 Ok\r\n"),
        "the session goes on: {out}"
    );
    assert!(inbox(&e, "alice@example.org").await.is_empty());
}

#[tokio::test]
async fn recipient_limit_and_null_sender() {
    let e = env_with("[smtp]\nmax_recipients = 2\n").await;
    let out = talk(
        &e,
        b"EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<team@example.org>\r\nDATA\r\nSubject: bounce\r\n\r\nx\r\n.\r\n",
    )
    .await;
    assert_eq!(
        codes(&out),
        ["220", "250", "250", "250", "250", "452", "354", "250"],
        "{out}"
    );
    assert!(out.contains("452 4.5.3"));
    let m = String::from_utf8(inbox(&e, "bob@example.org").await.remove(0)).unwrap();
    assert!(m.starts_with("Return-Path: <>\r\n"), "{m}");
}

#[tokio::test]
async fn recipients_resolve_and_each_account_gets_one_copy() {
    let e = env().await;
    let out = talk(
        &e,
        b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<team@example.org>\r\nRCPT TO:<Alice+lists@Example.ORG>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\n",
    )
    .await;
    assert_eq!(
        codes(&out),
        [
            "220", "250", "250", "250", "250", "550", "550", "354", "250"
        ],
        "{out}"
    );
    assert!(out.contains("550 5.1.1"), "{out}");
    assert!(out.contains("550 5.7.1"), "{out}");
    assert_eq!(
        inbox(&e, "alice@example.org").await.len(),
        1,
        "alias + plus address = one copy"
    );
    assert_eq!(inbox(&e, "bob@example.org").await.len(), 1);
}

#[tokio::test]
async fn bdat_chunks_last_and_zero_length_last() {
    let e = env().await;
    let out = talk(
        &e,
        b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nBDAT 14\r\nSubject: b\r\n\r\nBDAT 6 LAST\r\nbody\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.org>\r\nBDAT 12\r\nSubject: z\r\nBDAT 0 LAST\r\nQUIT\r\n",
    )
    .await;
    assert_eq!(
        codes(&out),
        [
            "220", "250", "250", "250", "250", "250", "250", "250", "250", "250", "221"
        ],
        "{out}"
    );
    assert!(out.contains("250 2.0.0 14 octets received"), "{out}");
    let a = String::from_utf8(inbox(&e, "alice@example.org").await.remove(0)).unwrap();
    assert!(a.ends_with("Subject: b\r\n\r\nbody\r\n"), "{a}");
    let b = String::from_utf8(inbox(&e, "bob@example.org").await.remove(0)).unwrap();
    assert!(b.ends_with("Subject: z\r\n"), "{b}");
    // A refused BDAT chunk is still read, so the next command is understood.
    let out = talk(&e, b"EHLO x\r\nBDAT 4\r\nabcdNOOP\r\n").await;
    assert_eq!(codes(&out), ["220", "250", "503", "250"], "{out}");
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_one_write() {
    let e = env().await;
    let input = b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n";
    let (out, writes) = talk_counted(&e, input).await;
    assert_eq!(
        codes(&out),
        ["220", "250", "250", "250", "250", "550", "354"],
        "{out}"
    );
    // The greeting is one write; the whole batch of replies is one more.
    assert_eq!(writes, 2, "{out}");
}

#[tokio::test]
async fn smtputf8_addresses_end_to_end() {
    let e = env().await;
    let out = talk(
        &e,
        "EHLO x\r\nMAIL FROM:<jörg@absender.example>\r\nQUIT\r\n".as_bytes(),
    )
    .await;
    assert!(out.contains("553 5.6.7"), "UTF-8 needs SMTPUTF8: {out}");
    let input = "EHLO x\r\nMAIL FROM:<jörg@absender.example> SMTPUTF8\r\nRCPT TO:<ünï@example.org>\r\nDATA\r\nSubject: ü\r\n\r\nx\r\n.\r\n";
    let out = talk(&e, input.as_bytes()).await;
    assert_eq!(
        codes(&out),
        ["220", "250", "250", "250", "354", "250"],
        "{out}"
    );
    let m = String::from_utf8(inbox(&e, "ünï@example.org").await.remove(0)).unwrap();
    assert!(
        m.starts_with("Return-Path: <jörg@absender.example>\r\nDelivered-To: ünï@example.org\r\n"),
        "{m}"
    );
    assert!(m.contains(" with UTF8SMTP id "), "{m}");
}

#[tokio::test]
async fn dsn_parameters_are_accepted_and_binarymime_is_not() {
    let e = env().await;
    let out = talk(
        &e,
        b"EHLO x\r\nMAIL FROM:<a@b.example> RET=HDRS ENVID=abc+2Bdef BODY=8BITMIME\r\nRCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.org\r\nRSET\r\nMAIL FROM:<a@b.example> BODY=BINARYMIME\r\nMAIL FROM:<a@b.example> REQUIRETLS\r\n",
    )
    .await;
    assert_eq!(
        codes(&out),
        ["220", "250", "250", "250", "250", "555", "530"],
        "{out}"
    );
}

#[tokio::test]
async fn quota_exceeded_is_552_and_nothing_is_stored() {
    let e = env().await;
    let out = talk(&e, b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<small@example.org>\r\nDATA\r\nSubject: too big for ten octets\r\n\r\nx\r\n.\r\n").await;
    assert!(out.contains("552 5.2.2"), "{out}");
    assert!(inbox(&e, "small@example.org").await.is_empty());
}

/// The published end-of-data smuggling variants: none may end the data
/// early and start a second message. Each one either is part of the first
/// message or closes the connection.
#[tokio::test]
async fn smuggling_battery_never_yields_a_second_message() {
    let smuggled = "MAIL FROM:<admin@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n";
    let variants: &[&[u8]] = &[
        b"\n.\n",
        b"\n.\r\n",
        b"\r.\n",
        b"\r.\r\n",
        b"\r\n.\r",
        b"\r\n.\n",
        b"\r\n\x00.\r\n",
        b"\r\n.\x00\r\n",
        b"\n.\r",
        b"\r\n.\r\r\n",
    ];
    for v in variants {
        let e = env().await;
        let mut input = format!("{TXN}Subject: first\r\n\r\nhello").into_bytes();
        input.extend_from_slice(v);
        input.extend_from_slice(smuggled.as_bytes());
        input.extend_from_slice(b"more\r\n.\r\nQUIT\r\n");
        let out = talk(&e, &input).await;
        assert!(
            inbox(&e, "bob@example.org").await.is_empty(),
            "variant {v:?} smuggled a message: {out}"
        );
        let alice = inbox(&e, "alice@example.org").await;
        assert!(alice.len() <= 1, "variant {v:?}: {out}");
        assert!(
            out.contains("500 5.5.2") || alice.len() == 1,
            "variant {v:?}: {out}"
        );
    }
}

/// Classic relay tricks: all refused without authentication.
#[tokio::test]
async fn relay_battery_is_refused() {
    let e = env().await;
    let tricks = [
        "victim@elsewhere.example",
        "VICTIM@ELSEWHERE.EXAMPLE",
        "victim%elsewhere.example@example.org",
        "victim%elsewhere.example@[192.0.2.1]",
        "elsewhere.example!victim@example.org",
        "elsewhere.example!victim",
        "@example.org:victim@elsewhere.example",
        "@example.org,@mx.example.org:victim@elsewhere.example",
        "\"victim@elsewhere.example\"@example.org",
        "\"victim%elsewhere.example\"@example.org",
        "victim@[192.0.2.1]",
        "victim@[IPv6:2001:db8::1]",
        "victim@example.org.",
        "victim@elsewhere.example.",
        "victim@example.org@elsewhere.example",
        "victim@elsewhere.example@example.org",
        "victim@example.org.elsewhere.example",
        "victim@sub.example.org",
        "postmaster@elsewhere.example",
        "victim%elsewhere.example%example.org@example.org",
        "VICTIM%ELSEWHERE.EXAMPLE@EXAMPLE.ORG",
        "example.org!elsewhere.example!victim@example.org",
        "victim@elsewhere.example%example.org",
        "victim@127.0.0.1",
        "victim@localhost",
        "victim@[127.0.0.1]",
        "victim@[IPv6:::1]",
        "\"victim@elsewhere.example\"",
        "\"victim\\@elsewhere.example\"@example.org",
        "victim@example.org..",
        "victim@.example.org",
        "victim@xn--exmple-4nf.org",
        "@elsewhere.example:victim@elsewhere.example",
    ];
    for t in tricks {
        let input = format!("EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<{t}>\r\nQUIT\r\n");
        let out = talk(&e, input.as_bytes()).await;
        let rcpt = out
            .lines()
            .nth(
                out.lines()
                    .position(|l| l.starts_with("250 2.1.0"))
                    .unwrap()
                    + 1,
            )
            .unwrap_or("");
        assert!(rcpt.starts_with('5'), "{t} was not refused: {out}");
    }
    assert!(inbox(&e, "alice@example.org").await.is_empty());
}

#[tokio::test]
async fn submission_refuses_passwords_before_tls_and_mail_before_auth() {
    let e = env().await;
    let out = submit(
        &e,
        format!(
            "EHLO c\r\nAUTH PLAIN {}\r\nMAIL FROM:<alice@example.org>\r\n",
            plain("alice@example.org", "pw")
        )
        .as_bytes(),
        false,
    )
    .await;
    assert!(!out.contains("AUTH "), "no AUTH offered before TLS: {out}");
    assert!(out.contains("538 5.7.11"), "{out}");
    assert!(out.contains("530 5.7.0"), "{out}");
    let out = submit(&e, b"EHLO c\r\nMAIL FROM:<alice@example.org>\r\n", true).await;
    assert!(
        out.contains("250-AUTH PLAIN LOGIN") || out.contains("250 AUTH PLAIN LOGIN"),
        "{out}"
    );
    assert!(out.contains("530 5.7.0 Authentication required"), "{out}");
}

#[tokio::test]
async fn submission_bad_credentials_look_the_same() {
    let e = env().await;
    let input = format!(
        "EHLO c\r\nAUTH PLAIN {}\r\nAUTH PLAIN {}\r\n",
        plain("alice@example.org", "wrong"),
        plain("nobody@example.org", "pw")
    );
    let out = submit(&e, input.as_bytes(), true).await;
    let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("535")).collect();
    assert_eq!(
        fails,
        [
            "535 5.7.8 Authentication credentials invalid",
            "535 5.7.8 Authentication credentials invalid"
        ],
        "{out}"
    );
}

#[tokio::test]
async fn submission_sender_identity_fixups_and_login() {
    let e = env().await;
    let msg = "From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nBcc: secret@example.org\r\nSubject: s\r\n\r\nhello\r\n.\r\n";
    let input = format!(
        "EHLO c\r\nAUTH LOGIN\r\n{}\r\n{}\r\nMAIL FROM:<alice@example.org>\r\nMAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n{msg}MAIL FROM:<bob@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nFrom: alice@example.org\r\n\r\nforged author\r\n.\r\n",
        "Ym9iQGV4YW1wbGUub3Jn", "cHc="
    );
    let out = submit(&e, input.as_bytes(), true).await;
    assert!(
        out.contains("334 VXNlcm5hbWU6")
            && out.contains("334 UGFzc3dvcmQ6")
            && out.contains("235 2.7.0"),
        "{out}"
    );
    assert!(
        out.contains("550 5.7.1 Sender <alice@example.org> is not an address of bob@example.org"),
        "{out}"
    );
    assert!(
        out.contains("550 5.7.1 alice@example.org (From or Sender) is not an address"),
        "{out}"
    );
    let got = inbox(&e, "alice@example.org").await;
    assert_eq!(got.len(), 1, "{out}");
    let m = String::from_utf8(got[0].clone()).unwrap();
    assert!(m.contains(" with ESMTPSA"), "{m}");
    assert!(
        m.contains("\r\nDate: ") && m.contains("\r\nMessage-ID: <"),
        "fix-ups: {m}"
    );
    assert!(!m.contains("secret@example.org"), "Bcc stripped: {m}");
}

/// RFC 5322 3.6: one From, at most one Sender. Alice, logged in, cannot
/// show Bob as the author by adding a second From (which a parser keeping
/// the last field would not see), in any spelling, nor by a From that does
/// not parse, nor through Sender. Nothing of it is delivered.
#[tokio::test]
async fn submission_refuses_a_second_author_in_any_spelling() {
    let e = env().await;
    let forged = [
        // The reported spoof: Bob first, Alice last.
        "From: bob@example.org\r\nFrom: alice@example.org\r\n",
        "FROM: bob@example.org\r\nfrom: alice@example.org\r\n",
        "From : bob@example.org\r\nFrom: alice@example.org\r\n",
        "From: alice@example.org\r\nFrom\t: bob@example.org\r\n",
        // Unterminated angle brackets: not a mailbox.
        "From: <bob@example.org\r\n",
        // A folded second field.
        "From: alice@example.org\r\nFrom:\r\n bob@example.org\r\n",
        // Every mailbox is checked, and Sender too.
        "From: alice@example.org, bob@example.org\r\n",
        "From: alice@example.org\r\nSender: bob@example.org\r\n",
        "From: alice@example.org\r\nSender: alice@example.org\r\nSENDER: bob@example.org\r\n",
    ];
    for header in forged {
        let input = format!(
            "EHLO c\r\nAUTH PLAIN {}\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n{header}Subject: s\r\n\r\nhi\r\n.\r\nQUIT\r\n",
            plain("alice@example.org", "pw")
        );
        let out = submit(&e, input.as_bytes(), true).await;
        assert_eq!(
            codes(&out),
            ["220", "250", "235", "250", "250", "354", "550", "221"],
            "{header:?}: {out}"
        );
    }
    assert!(inbox(&e, "bob@example.org").await.is_empty());
    let input = format!(
        "EHLO c\r\nAUTH PLAIN {}\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nFrom: Alice <alice@example.org>\r\nSender: alice@example.org\r\n\r\nhi\r\n.\r\nQUIT\r\n",
        plain("alice@example.org", "pw")
    );
    let out = submit(&e, input.as_bytes(), true).await;
    assert!(
        out.contains("250 2.0.0 Ok"),
        "one From and one Sender pass: {out}"
    );
}

/// RFC 3030 2 / RFC 1870: sizes are read exactly. A chunk larger than a
/// message may be, whether or not it fits in 64 bits, is refused the same
/// way: 552 and the connection closes (its bytes cannot be skipped). A
/// SIZE= past 64 bits is as much over the limit as one just past it.
#[tokio::test]
async fn oversized_chunks_and_sizes_are_refused_exactly() {
    let e = env_with("[smtp]\nmax_message_size = 1000\n").await;
    for size in [
        "99999999999999999999999",
        "18446744073709551615",
        "18446744073709551616",
        "1001",
    ] {
        let input = format!(
            "EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nBDAT {size} LAST\r\nxxxx\r\nNOOP\r\n"
        );
        let out = talk(&e, input.as_bytes()).await;
        assert_eq!(
            codes(&out),
            ["220", "250", "250", "250", "552"],
            "BDAT {size}: {out}"
        );
        assert!(out.contains("552 5.3.4 BDAT chunk exceeds"), "{out}");
    }
    // Before MAIL too: the chunk is just as impossible to skip.
    let out = talk(&e, b"EHLO x\r\nBDAT 99999999999999999999999\r\nNOOP\r\n").await;
    assert_eq!(codes(&out), ["220", "250", "552"], "{out}");
    for size in ["1844674407370955161500", "99999999999999999999999", "1001"] {
        let input = format!("EHLO x\r\nMAIL FROM:<a@b.example> SIZE={size}\r\nQUIT\r\n");
        let out = talk(&e, input.as_bytes()).await;
        assert_eq!(
            codes(&out),
            ["220", "250", "552", "221"],
            "SIZE={size}: {out}"
        );
    }
    let out = talk(
        &e,
        b"EHLO x\r\nMAIL FROM:<a@b.example> SIZE=1000\r\nQUIT\r\n",
    )
    .await;
    assert_eq!(codes(&out), ["220", "250", "250", "221"], "{out}");
    assert!(inbox(&e, "alice@example.org").await.is_empty());
}

/// RFC 5321 4.5.3.1.6: the line limit does not count the stuffing dot.
#[tokio::test]
async fn line_limit_allows_the_stuffing_dot_and_nothing_more() {
    let e = env().await;
    let stuffed = format!(".{}", "x".repeat(998));
    let input = format!("{TXN}Subject: long\r\n\r\n{stuffed}\r\n.\r\nQUIT\r\n");
    let out = talk(&e, input.as_bytes()).await;
    assert!(out.contains("250 2.0.0 Ok"), "{out}");
    let m = inbox(&e, "alice@example.org").await.remove(0);
    let tail = format!("\r\n\r\n{}\r\n", "x".repeat(998));
    assert!(m.ends_with(tail.as_bytes()), "the dot is removed");

    let e = env().await;
    let input = format!(
        "{TXN}Subject: long\r\n\r\n{}\r\n.\r\nQUIT\r\n",
        "y".repeat(999)
    );
    let out = talk(&e, input.as_bytes()).await;
    assert!(out.contains("500 5.5.6"), "{out}");
    assert!(!out.contains("221"), "the connection is closed: {out}");
    assert!(inbox(&e, "alice@example.org").await.is_empty());
}

/// BDAT bodies get the same line limit as DATA, across chunk boundaries.
#[tokio::test]
async fn bdat_lines_are_bounded_across_chunks() {
    let e = env().await;
    let mut input =
        b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\n".to_vec();
    input.extend_from_slice(format!("BDAT 600\r\n{}", "a".repeat(600)).as_bytes());
    input.extend_from_slice(format!("BDAT 401 LAST\r\n{}", "b".repeat(401)).as_bytes());
    input.extend_from_slice(b"QUIT\r\n");
    let out = talk(&e, &input).await;
    assert_eq!(
        codes(&out),
        ["220", "250", "250", "250", "250", "500"],
        "{out}"
    );
    assert!(out.contains("500 5.5.6"), "{out}");
    assert!(inbox(&e, "alice@example.org").await.is_empty());
}

/// Idle keep-alives (NOOP, RSET, …) cannot hold a connection for ever.
#[tokio::test]
async fn too_many_commands_without_mail_close_the_connection() {
    let e = env().await;
    let input = "NOOP\r\n".repeat(101) + "QUIT\r\n";
    let out = talk(&e, input.as_bytes()).await;
    let c = codes(&out);
    assert_eq!(c.len(), 102, "{out}");
    assert!(c[1..101].iter().all(|c| c == "250"), "{out}");
    assert_eq!(c[101], "421", "{out}");
    assert!(out.contains("421 4.7.0"), "{out}");
}

/// Start a session with its own config and hand back the client end.
async fn open(extra: &str) -> (Env, DuplexStream, tokio::task::JoinHandle<()>) {
    open_with(extra, CancellationToken::new()).await
}

async fn open_with(
    extra: &str,
    shutdown: CancellationToken,
) -> (Env, DuplexStream, tokio::task::JoinHandle<()>) {
    let e = env_with(extra).await;
    let (client, server) = tokio::io::duplex(1 << 16);
    let shared = e.shared.clone();
    let task = tokio::spawn(async move {
        let peer = Peer {
            ip: IpAddr::from([192, 0, 2, 1]),
            tls: None,
            can_starttls: false,
        };
        Session::new(shared, server, &NoTls, peer, shutdown)
            .run()
            .await;
    });
    (e, client, task)
}

/// Write `bytes` one at a time, `gap` apart, until the server closes or
/// everything is sent; then return all the server said and the time taken.
async fn drip(
    client: &mut DuplexStream,
    bytes: &[u8],
    gap: std::time::Duration,
) -> (String, std::time::Duration) {
    let start = std::time::Instant::now();
    let (mut rd, mut wr) = tokio::io::split(client);
    let reader = async {
        let mut out = Vec::new();
        let _ = rd.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    };
    let writer = async {
        for b in bytes {
            if wr.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(gap).await;
        }
    };
    let (out, ()) = tokio::join!(reader, async {
        writer.await;
    });
    (out, start.elapsed())
}

/// RFC 5321 4.5.3.2.7: a command line must be complete within the command
/// time-out, however slowly its bytes drip in.
#[tokio::test]
async fn a_slowly_dripped_command_times_out() {
    let (_e, mut client, task) = open("[smtp]\ncommand_timeout_secs = 1\n").await;
    let line = b"EHLO a-very-long-name-sent-one-byte-at-a-time.example\r\n";
    let (out, took) = drip(&mut client, line, std::time::Duration::from_millis(100)).await;
    task.await.unwrap();
    assert!(out.contains("421 4.4.2"), "{out}");
    assert!(!out.contains("250"), "{out}");
    assert!(took < std::time::Duration::from_secs(4), "{took:?}");
}

/// The whole message has a bound too: a message dripped line by line (each
/// line well within the per-read time-out) is cut off and not delivered.
#[tokio::test]
async fn a_slowly_dripped_message_times_out() {
    let (e, mut client, task) = open("[smtp]\ndata_timeout_secs = 1\n").await;
    client.write_all(TXN.as_bytes()).await.unwrap();
    let body = "x\r\n".repeat(100) + ".\r\n";
    let (out, took) = drip(
        &mut client,
        body.as_bytes(),
        std::time::Duration::from_millis(50),
    )
    .await;
    task.await.unwrap();
    assert!(out.contains("354"), "{out}");
    assert!(out.contains("421 4.4.2"), "{out}");
    assert!(took < std::time::Duration::from_secs(8), "{took:?}");
    assert!(inbox(&e, "alice@example.org").await.is_empty());
}

/// A stand-in for the TLS handshake: the stream stays as it is, and the
/// session is told it is now encrypted.
struct FakeTls;

impl tern_smtp::Upgrade<DuplexStream> for FakeTls {
    fn upgrade(
        &self,
        stream: DuplexStream,
    ) -> Pin<Box<dyn std::future::Future<Output = std::io::Result<DuplexStream>> + Send + '_>> {
        Box::pin(async move { Ok(stream) })
    }

    fn tls_info(&self, _stream: &DuplexStream) -> Option<tern_common::listener::TlsInfo> {
        Some(tern_common::listener::TlsInfo {
            version: "TLSv1.3".into(),
            cipher: "TLS13_AES_256_GCM_SHA384".into(),
        })
    }
}

/// Read replies until one line starts with `prefix` (or the stream ends).
async fn until(client: &mut DuplexStream, prefix: &str) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&out)
        .lines()
        .any(|l| l.starts_with(prefix))
    {
        match tokio::time::timeout(std::time::Duration::from_secs(10), client.read(&mut buf)).await
        {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// RFC 3207 4.2: commands pipelined behind STARTTLS are thrown away (the
/// plaintext injection attack), and the session starts over after the
/// handshake: EHLO again, no STARTTLS, REQUIRETLS now offered.
#[tokio::test]
async fn starttls_discards_what_was_pipelined_and_resets_the_session() {
    let e = env().await;
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let shared = e.shared.clone();
    let task = tokio::spawn(async move {
        let peer = Peer {
            ip: IpAddr::from([192, 0, 2, 1]),
            tls: None,
            can_starttls: true,
        };
        Session::new(shared, server, &FakeTls, peer, CancellationToken::new())
            .run()
            .await;
    });
    let greeting = until(&mut client, "220 ").await;
    assert!(greeting.starts_with("220 "), "{greeting}");
    client
        .write_all(b"EHLO x\r\nMAIL FROM:<first@b.example>\r\nSTARTTLS\r\nMAIL FROM:<evil@b.example>\r\nRCPT TO:<alice@example.org>\r\n")
        .await
        .unwrap();
    let before = until(&mut client, "220 2.0.0").await;
    assert!(before.contains("250 STARTTLS"), "{before}");
    assert!(!before.contains("REQUIRETLS"), "{before}");
    // Only EHLO, MAIL and STARTTLS were answered; the rest was discarded.
    assert_eq!(codes(&before), ["250", "250", "220"], "{before}");
    client
        .write_all(
            b"RCPT TO:<alice@example.org>\r\nMAIL FROM:<a@b.example>\r\nEHLO y\r\nSTARTTLS\r\n",
        )
        .await
        .unwrap();
    let after = until(&mut client, "503 5.5.1 TLS").await;
    assert_eq!(codes(&after), ["503", "503", "250", "503"], "{after}");
    assert!(!after.contains("STARTTLS"), "{after}");
    assert!(
        after.contains("250-REQUIRETLS") || after.contains("250 REQUIRETLS"),
        "{after}"
    );
    client
        .write_all(b"MAIL FROM:<s@b.example> REQUIRETLS\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        .await
        .unwrap();
    let mut rest = String::new();
    client.read_to_string(&mut rest).await.unwrap();
    task.await.unwrap();
    assert!(rest.contains("250 2.0.0 Ok"), "{rest}");
    let m = String::from_utf8(inbox(&e, "alice@example.org").await.remove(0)).unwrap();
    assert!(m.contains("with ESMTPS"), "{m}");
    assert!(
        m.contains("version=TLSv1.3 cipher=TLS13_AES_256_GCM_SHA384"),
        "{m}"
    );
}

/// A write that fails for one recipient fails the whole message with 451
/// 4.3.0: no copy is left for the others (in the index or on disk), and the
/// session goes on.
#[tokio::test]
async fn a_failed_write_is_451_and_leaves_no_partial_copy() {
    let e = env().await;
    let accounts = e._dir.path().join("accounts");
    let id = |user: &str| {
        let store = e.store.clone();
        let user = Address::parse(user).unwrap();
        async move {
            store
                .account_get(&user)
                .await
                .unwrap()
                .unwrap()
                .id
                .to_string()
        }
    };
    let bob = accounts.join(id("bob@example.org").await);
    let _ = std::fs::remove_dir_all(&bob);
    std::fs::create_dir_all(&accounts).unwrap();
    // Bob's Maildir cannot be created: a file stands where it should be.
    std::fs::write(&bob, b"not a directory").unwrap();
    let out = talk(
        &e,
        b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: both\r\n\r\nhi\r\n.\r\nNOOP\r\nQUIT\r\n",
    )
    .await;
    assert!(out.contains("451 4.3.0"), "{out}");
    assert_eq!(codes(&out).last().map(String::as_str), Some("221"), "{out}");
    assert!(inbox(&e, "alice@example.org").await.is_empty());
    let cur = accounts.join(id("alice@example.org").await).join("cur");
    let files = std::fs::read_dir(&cur).map(|d| d.count()).unwrap_or(0);
    assert_eq!(files, 0, "no file of the failed message stays in {cur:?}");
}

/// On shutdown an idle session is told 421 4.3.2 at once and closed.
#[tokio::test]
async fn shutdown_closes_an_idle_session_with_421() {
    let token = CancellationToken::new();
    let (_e, mut client, task) = open_with("", token.clone()).await;
    client.write_all(b"EHLO x\r\n").await.unwrap();
    let hello = until(&mut client, "250 ").await;
    assert!(hello.contains("250 "), "{hello}");
    token.cancel();
    let mut rest = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        client.read_to_string(&mut rest),
    )
    .await
    .unwrap()
    .unwrap();
    task.await.unwrap();
    assert!(rest.starts_with("421 4.3.2"), "{rest}");
}

/// A message already being sent when shutdown begins is finished and
/// stored; the 421 comes at the next command boundary.
#[tokio::test]
async fn shutdown_during_data_finishes_the_message_first() {
    let token = CancellationToken::new();
    let (e, mut client, task) = open_with("", token.clone()).await;
    client.write_all(TXN.as_bytes()).await.unwrap();
    let go = until(&mut client, "354").await;
    assert!(go.contains("354"), "{go}");
    client.write_all(b"Subject: late\r\n\r\n").await.unwrap();
    token.cancel();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    client.write_all(b"body\r\n.\r\nNOOP\r\n").await.unwrap();
    let mut rest = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        client.read_to_string(&mut rest),
    )
    .await
    .unwrap()
    .unwrap();
    task.await.unwrap();
    // The NOOP pipelined behind the message is not run: 421 answers it.
    assert_eq!(codes(&rest), ["250", "421"], "{rest}");
    assert!(rest.contains("250 2.0.0 Ok"), "{rest}");
    assert!(rest.contains("421 4.3.2"), "{rest}");
    assert_eq!(inbox(&e, "alice@example.org").await.len(), 1);
}

/// A body of `n` lines of varied lengths, some starting with a dot.
fn big_body(lines: usize) -> Vec<u8> {
    let mut b = Vec::new();
    for i in 0..lines {
        if i % 7 == 0 {
            b.push(b'.');
        }
        b.extend_from_slice(format!("{i:08} ").as_bytes());
        b.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, i % 200));
        b.extend_from_slice(b"\r\n");
    }
    b
}

/// Dot-stuffing for DATA (RFC 5321 4.5.2).
fn stuffed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 50);
    for line in body.split_inclusive(|b| *b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out
}

fn spool_files(e: &Env) -> usize {
    std::fs::read_dir(e.store.spool_dir())
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Data past the in-memory threshold goes to a spool file and from there
/// to the Maildir: the message arrives byte-exact over DATA and over BDAT,
/// and the spool file is gone afterwards.
#[tokio::test]
async fn large_messages_are_spooled_and_arrive_byte_exact() {
    let e = env().await;
    let mut msg = b"Subject: big\r\n\r\n".to_vec();
    msg.extend_from_slice(&big_body(40_000));
    assert!(msg.len() > 4 * tern_smtp::spool::MEMORY_LIMIT);
    let mut input = TXN.as_bytes().to_vec();
    input.extend_from_slice(&stuffed(&msg));
    input.extend_from_slice(b".\r\nQUIT\r\n");
    let out = talk(&e, &input).await;
    assert!(out.contains("250 2.0.0 Ok: queued"), "{out}");
    let mut input =
        b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\n".to_vec();
    let (first, rest) = msg.split_at(300_001);
    input.extend_from_slice(format!("BDAT {}\r\n", first.len()).as_bytes());
    input.extend_from_slice(first);
    input.extend_from_slice(format!("BDAT {} LAST\r\n", rest.len()).as_bytes());
    input.extend_from_slice(rest);
    input.extend_from_slice(b"QUIT\r\n");
    let out = talk(&e, &input).await;
    assert!(out.contains("250 2.0.0 Ok: queued"), "{out}");
    let got = inbox(&e, "alice@example.org").await;
    assert_eq!(got.len(), 2);
    for m in &got {
        assert!(m.ends_with(&msg), "byte-exact after the trace fields");
        assert!(m.starts_with(b"Return-Path: <"));
    }
    assert_eq!(spool_files(&e), 0, "no spool file is left");
}

/// Every way a spooled message can end without delivery removes its file:
/// RSET after a chunk, a refusal (too big), and a dropped connection.
#[tokio::test]
async fn spool_files_are_removed_on_every_path() {
    let e = env_with("[smtp]\nmax_message_size = 2000000\n").await;
    let chunk: Vec<u8> = (0..600)
        .flat_map(|_| [&[b'x'; 998][..], b"\r\n"].concat())
        .collect();
    let mut input =
        b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@example.org>\r\n".to_vec();
    input.extend_from_slice(b"BDAT 600000\r\n");
    input.extend_from_slice(&chunk);
    input.extend_from_slice(b"RSET\r\nQUIT\r\n");
    let out = talk(&e, &input).await;
    assert!(out.contains("250 2.0.0 600000 octets received"), "{out}");
    assert_eq!(spool_files(&e), 0, "after RSET");
    let mut input = TXN.as_bytes().to_vec();
    for _ in 0..3000 {
        input.extend_from_slice(&[b'y'; 998]);
        input.extend_from_slice(b"\r\n");
    }
    input.extend_from_slice(b".\r\nQUIT\r\n");
    let out = talk(&e, &input).await;
    assert!(out.contains("552 5.3.4"), "{out}");
    assert_eq!(spool_files(&e), 0, "after a refusal");

    let shared = e.shared.clone();
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let task = tokio::spawn(async move {
        let peer = Peer {
            ip: IpAddr::from([192, 0, 2, 1]),
            tls: None,
            can_starttls: false,
        };
        Session::new(shared, server, &NoTls, peer, CancellationToken::new())
            .run()
            .await;
    });
    client.write_all(TXN.as_bytes()).await.unwrap();
    until(&mut client, "354").await;
    for _ in 0..1000 {
        client.write_all(&[b'z'; 998]).await.unwrap();
        client.write_all(b"\r\n").await.unwrap();
    }
    // The data is spooled before the connection drops (bounded wait: 20 s).
    let mut seen = false;
    for _ in 0..2000 {
        if spool_files(&e) == 1 {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(seen, "a spool file while the message arrives");
    drop(client);
    task.await.unwrap();
    assert_eq!(spool_files(&e), 0, "after a dropped connection");
    assert!(inbox(&e, "alice@example.org").await.is_empty());
}

/// The header section is held in memory and so is bounded: a message with
/// 100,000 header fields, or a header with no end, is refused with 552 and
/// the session goes on.
#[tokio::test]
async fn a_huge_header_section_is_refused_cleanly() {
    let e = env().await;
    let mut input = TXN.as_bytes().to_vec();
    for i in 0..100_000 {
        input.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    input.extend_from_slice(b"\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n");
    let out = talk(&e, &input).await;
    assert!(
        out.contains("552 5.3.4 The header section exceeds"),
        "{out}"
    );
    assert!(out.ends_with("221 2.0.0 mx.example.org Bye\r\n"), "{out}");
    assert!(inbox(&e, "alice@example.org").await.is_empty());
    assert_eq!(spool_files(&e), 0);
}

/// A large submitted message (its body spooled) is DKIM-signed as it is
/// read from the spool file: the body hash in its signature is the one of
/// the bytes delivered (RFC 6376 3.7).
#[tokio::test]
async fn a_spooled_submission_is_signed_over_the_delivered_bytes() {
    let e = env().await;
    let (private_key, public_key) =
        tern_queue::dkim::generate(tern_queue::dkim::Algorithm::Ed25519).unwrap();
    let key = tern_store::DkimKey {
        domain: "example.org".into(),
        selector: "s1".into(),
        algorithm: "ed25519".into(),
        private_key,
        public_key,
        created: 0,
    };
    e.store.dkim_key_add(&key).await.unwrap();
    let mut msg = b"From: alice@example.org\r\nSubject: big\r\n\r\n".to_vec();
    msg.extend_from_slice(&big_body(20_000));
    let mut input = format!(
        "EHLO c\r\nAUTH PLAIN {}\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n",
        plain("alice@example.org", "pw")
    )
    .into_bytes();
    input.extend_from_slice(&stuffed(&msg));
    input.extend_from_slice(b".\r\nQUIT\r\n");
    let out = submit(&e, &input, true).await;
    assert!(out.contains("250 2.0.0 Ok"), "{out}");
    let got = inbox(&e, "bob@example.org").await.remove(0);
    let at = got
        .windows(15)
        .position(|w| w == b"DKIM-Signature:")
        .expect("signed");
    let signed = &got[at..];
    let end = signed
        .windows(2)
        .enumerate()
        .position(|(i, w)| w == b"\r\n" && !matches!(signed.get(i + 2), Some(b' ' | b'\t')))
        .unwrap();
    let (sig, rest) = signed.split_at(end + 2);
    assert!(rest.ends_with(&msg[msg.len() - 1000..]));
    let bh = |h: &str| {
        h.replace(['\r', '\n', '\t', ' '], "")
            .split(';')
            .find(|p| p.starts_with("bh="))
            .unwrap()
            .to_string()
    };
    let again = tern_queue::dkim::signature(&key, rest).unwrap();
    assert_eq!(bh(&String::from_utf8_lossy(sig)), bh(&again));
}
