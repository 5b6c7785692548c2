//! The session driven in memory: bytes in, bytes out.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tern_pop3::memory::{MEMORY_UIDVALIDITY, MemoryDrop};
use tern_pop3::{Locks, Options, Upgrade, run};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_util::sync::CancellationToken;

/// Pretends to run a TLS handshake: the stream stays as it is.
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

fn opts() -> Options {
    Options {
        hostname: "mx.example.org".into(),
        auth_failure_delay: Duration::from_millis(10),
        ..Options::default()
    }
}

const M1: &[u8] =
    b"From: a@example.org\r\nSubject: one\r\n\r\nhello\r\n.dot line\r\n..two dots\r\nend\r\n";
const M2: &[u8] = b"Subject: two\r\n\r\nbody\r\n";

fn setup() -> MemoryDrop {
    let d = MemoryDrop::new();
    d.add_account("alice@example.org", "pw one");
    d.add_account("bob@example.org", "bobpw");
    d.deliver("alice@example.org", M1);
    d.deliver("alice@example.org", M2);
    d
}

/// Send all of `input` at once (a pipelining client), close the sending
/// side, and return everything the server said.
async fn script_with(
    drop: &MemoryDrop,
    locks: &Locks,
    opts: Options,
    tls: bool,
    input: &[u8],
) -> String {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let serve = run(
        drop.clone(),
        locks.clone(),
        Arc::new(opts),
        server,
        tls,
        &FAKE_TLS,
        CancellationToken::new(),
        "test".into(),
    );
    let talk = async move {
        client.write_all(input).await.unwrap();
        client.shutdown().await.unwrap();
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.unwrap();
        out
    };
    let ((), out) =
        tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(serve, talk) })
            .await
            .expect("session ends");
    String::from_utf8(out).unwrap()
}

async fn script(drop: &MemoryDrop, tls: bool, input: &str) -> String {
    script_with(drop, &Locks::default(), opts(), tls, input.as_bytes()).await
}

/// The reply lines after the greeting.
fn replies(out: &str) -> Vec<&str> {
    let mut l: Vec<&str> = out.split("\r\n").collect();
    assert_eq!(
        l.first(),
        Some(&"+OK mx.example.org POP3 server ready"),
        "{out}"
    );
    assert_eq!(l.last(), Some(&""), "ends with CRLF: {out:?}");
    l.pop();
    l.remove(0);
    l
}

const LOGIN: &str = "USER alice@example.org\r\nPASS pw one\r\n";

#[tokio::test]
async fn capa_before_tls_offers_stls_and_no_credentials() {
    let out = script(&setup(), false, "CAPA\r\nQUIT\r\n").await;
    assert_eq!(
        replies(&out),
        vec![
            "+OK capability list follows",
            "TOP",
            "UIDL",
            "RESP-CODES",
            "AUTH-RESP-CODE",
            "PIPELINING",
            "EXPIRE NEVER",
            "STLS",
            "UTF8",
            "IMPLEMENTATION tern",
            ".",
            "+OK mx.example.org POP3 server signing off",
        ]
    );
}

#[tokio::test]
async fn credentials_are_refused_before_tls() {
    let out = script(
        &setup(),
        false,
        "USER alice@example.org\r\nPASS pw one\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3IG9uZQ==\r\nAUTH PLAIN\r\nSTAT\r\nQUIT\r\n",
    )
    .await;
    assert_eq!(
        replies(&out),
        vec![
            "-ERR [AUTH] TLS required; use STLS first",
            "-ERR [AUTH] TLS required; use STLS first",
            "-ERR [AUTH] TLS required; use STLS first",
            "-ERR [AUTH] TLS required; use STLS first",
            "-ERR not logged in",
            "+OK mx.example.org POP3 server signing off",
        ]
    );
}

#[tokio::test]
async fn stls_discards_pipelined_input_and_then_offers_login() {
    // The client talks plainly after the fake handshake; what it pipelined
    // behind STLS is dropped, so only the "+OK" of STLS comes back.
    let out = script(&setup(), false, &format!("STLS\r\n{LOGIN}STAT\r\n")).await;
    assert_eq!(replies(&out), vec!["+OK begin TLS negotiation"]);
}

#[tokio::test]
async fn implicit_tls_capa_and_no_second_stls() {
    let out = script(&setup(), true, "CAPA\r\nSTLS\r\nQUIT\r\n").await;
    let r = replies(&out);
    assert!(r.contains(&"USER") && r.contains(&"SASL PLAIN"), "{out}");
    assert!(!r.contains(&"STLS"), "{out}");
    assert_eq!(r[r.len() - 2], "-ERR TLS is already active");
}

#[tokio::test]
async fn transaction_commands() {
    let d = setup();
    let n1 = M1.len();
    let n2 = M2.len();
    let out = script(
        &d,
        true,
        &format!(
            "{LOGIN}STAT\r\nLIST\r\nLIST 2\r\nLIST 3\r\nLIST 0\r\nLIST x\r\nUIDL\r\nUIDL 1\r\nNOOP\r\nTOP 1 1\r\nTOP 2 0\r\nRETR 1\r\nCAPA\r\nQUIT\r\n"
        ),
    )
    .await;
    let v = MEMORY_UIDVALIDITY;
    let mut want = vec![
        "+OK send PASS".to_string(),
        format!("+OK maildrop has 2 messages ({} octets)", n1 + n2),
        format!("+OK 2 {}", n1 + n2),
        "+OK".into(),
        format!("1 {n1}"),
        format!("2 {n2}"),
        ".".into(),
        format!("+OK 2 {n2}"),
        "-ERR no such message".into(),
        "-ERR no such message".into(),
        "-ERR no such message".into(),
        "+OK".into(),
        format!("1 {v}.1"),
        format!("2 {v}.2"),
        ".".into(),
        format!("+OK 1 {v}.1"),
        "+OK".into(),
        "+OK top of message follows".into(),
        "From: a@example.org".into(),
        "Subject: one".into(),
        "".into(),
        "hello".into(),
        ".".into(),
        "+OK top of message follows".into(),
        "Subject: two".into(),
        "".into(),
        ".".into(),
        format!("+OK {n1} octets"),
        "From: a@example.org".into(),
        "Subject: one".into(),
        "".into(),
        "hello".into(),
        "..dot line".into(),
        "...two dots".into(),
        "end".into(),
        ".".into(),
    ];
    for c in [
        "+OK capability list follows",
        "TOP",
        "UIDL",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
        "EXPIRE NEVER",
        "IMPLEMENTATION tern",
        ".",
    ] {
        want.push(c.into());
    }
    want.push("+OK mx.example.org POP3 server signing off".into());
    assert_eq!(replies(&out), want);
    assert_eq!(d.uids("alice@example.org"), vec![1, 2], "nothing deleted");
}

#[tokio::test]
async fn retr_is_byte_exact_after_unstuffing() {
    let d = setup();
    let out = script(&d, true, &format!("{LOGIN}RETR 1\r\nQUIT\r\n")).await;
    let start = out.find("octets\r\n").unwrap() + "octets\r\n".len();
    let end = out.find("\r\n.\r\n+OK mx").unwrap() + 2;
    let body: Vec<u8> = out[start..end]
        .split_inclusive("\r\n")
        .flat_map(|l| l.strip_prefix('.').unwrap_or(l).bytes())
        .collect();
    assert_eq!(body, M1);
}

#[tokio::test]
async fn dele_then_rset_keeps_messages() {
    let d = setup();
    let out = script(
        &d,
        true,
        &format!("{LOGIN}DELE 1\r\nDELE 1\r\nRETR 1\r\nSTAT\r\nRSET\r\nSTAT\r\nQUIT\r\n"),
    )
    .await;
    let r = replies(&out);
    let total = M1.len() + M2.len();
    assert_eq!(
        r[2..],
        [
            "+OK message 1 deleted".to_string(),
            "-ERR message 1 already deleted".into(),
            "-ERR message 1 already deleted".into(),
            format!("+OK 1 {}", M2.len()),
            format!("+OK maildrop has 2 messages ({total} octets)"),
            format!("+OK 2 {total}"),
            "+OK mx.example.org POP3 server signing off".into(),
        ]
    );
    assert_eq!(d.uids("alice@example.org"), vec![1, 2]);
}

#[tokio::test]
async fn dele_then_quit_expunges_and_numbers_stay_fixed() {
    let d = setup();
    let out = script(
        &d,
        true,
        &format!("{LOGIN}DELE 1\r\nLIST\r\nUIDL 2\r\nQUIT\r\n"),
    )
    .await;
    let r = replies(&out);
    assert_eq!(r[3..5], ["+OK", &format!("2 {}", M2.len())]);
    assert_eq!(r[6], format!("+OK 2 {MEMORY_UIDVALIDITY}.2"));
    assert_eq!(
        r[7],
        "+OK mx.example.org POP3 server signing off (1 messages deleted)"
    );
    assert_eq!(d.uids("alice@example.org"), vec![2]);
    // The next session sees one message, with the same unique id.
    let out = script(&d, true, &format!("{LOGIN}UIDL\r\nQUIT\r\n")).await;
    assert_eq!(
        replies(&out)[2..5],
        ["+OK", &format!("1 {MEMORY_UIDVALIDITY}.2"), "."]
    );
}

#[tokio::test]
async fn dele_without_quit_changes_nothing() {
    let d = setup();
    script(&d, true, &format!("{LOGIN}DELE 1\r\nDELE 2\r\n")).await;
    assert_eq!(d.uids("alice@example.org"), vec![1, 2]);
}

#[tokio::test]
async fn bad_password_and_unknown_user_look_the_same() {
    let d = setup();
    let out = script(
        &d,
        true,
        "USER alice@example.org\r\nPASS wrong\r\nUSER nobody@example.org\r\nPASS pw one\r\nPASS pw one\r\nQUIT\r\n",
    )
    .await;
    assert_eq!(
        replies(&out),
        vec![
            "+OK send PASS",
            "-ERR [AUTH] invalid user name or password",
            "+OK send PASS",
            "-ERR [AUTH] invalid user name or password",
            "-ERR send USER first",
            "+OK mx.example.org POP3 server signing off",
        ]
    );
}

#[tokio::test]
async fn three_failed_logins_close_the_connection() {
    let out = script(&setup(), true, &"USER a\r\nPASS b\r\n".repeat(5)).await;
    let r = replies(&out);
    assert_eq!(r.len(), 6, "{out}");
    assert_eq!(r[5], "-ERR [AUTH] invalid user name or password");
}

#[tokio::test]
async fn auth_plain_initial_response_continuation_and_cancel() {
    let d = setup();
    // "\0alice@example.org\0pw one"
    let ir = "AGFsaWNlQGV4YW1wbGUub3JnAHB3IG9uZQ==";
    let out = script(&d, true, &format!("AUTH PLAIN {ir}\r\nSTAT\r\nQUIT\r\n")).await;
    assert_eq!(
        replies(&out)[0],
        "+OK maildrop has 2 messages (112 octets)"
            .replace("112", &(M1.len() + M2.len()).to_string())
    );
    let out = script(&d, true, &format!("AUTH\r\nAUTH plain\r\n{ir}\r\nQUIT\r\n")).await;
    let r = replies(&out);
    assert_eq!(r[..4], ["+OK", "PLAIN", ".", "+ "]);
    assert!(r[4].starts_with("+OK maildrop has 2 messages"), "{out}");
    let out = script(
        &d,
        true,
        "AUTH PLAIN\r\n*\r\nAUTH CRAM-MD5\r\nAUTH PLAIN =\r\nAUTH PLAIN !!\r\nQUIT\r\n",
    )
    .await;
    assert_eq!(
        replies(&out),
        vec![
            "+ ",
            "-ERR authentication cancelled",
            "-ERR unsupported SASL mechanism",
            "-ERR [AUTH] malformed SASL response",
            "-ERR [AUTH] malformed SASL response",
            "+OK mx.example.org POP3 server signing off",
        ]
    );
}

#[tokio::test]
async fn a_second_session_on_the_same_maildrop_is_refused() {
    let d = setup();
    let locks = Locks::default();
    let (mut c1, server) = tokio::io::duplex(1 << 16);
    let first = tokio::spawn(run(
        d.clone(),
        locks.clone(),
        Arc::new(opts()),
        server,
        true,
        &FAKE_TLS,
        CancellationToken::new(),
        "one".into(),
    ));
    c1.write_all(LOGIN.as_bytes()).await.unwrap();
    // Wait until the first session is logged in.
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("maildrop has") {
        let mut b = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(5), c1.read(&mut b))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&b[..n]);
    }
    let out = script_with(
        &d,
        &locks,
        opts(),
        true,
        format!("{LOGIN}USER bob@example.org\r\nPASS bobpw\r\nQUIT\r\n").as_bytes(),
    )
    .await;
    let r = replies(&out);
    assert_eq!(
        r[1],
        "-ERR [IN-USE] maildrop already in use by another session"
    );
    assert!(r[3].starts_with("+OK maildrop has 0 messages"), "{out}");
    c1.write_all(b"QUIT\r\n").await.unwrap();
    first.await.unwrap();
    // Released: a new session gets in.
    let out = script_with(
        &d,
        &locks,
        opts(),
        true,
        format!("{LOGIN}QUIT\r\n").as_bytes(),
    )
    .await;
    assert!(replies(&out)[1].starts_with("+OK maildrop has 2"), "{out}");
}

#[tokio::test]
async fn the_maildrop_is_a_snapshot_at_login() {
    let d = setup();
    let locks = Locks::default();
    let (mut c, server) = tokio::io::duplex(1 << 16);
    let session = tokio::spawn(run(
        d.clone(),
        locks,
        Arc::new(opts()),
        server,
        true,
        &FAKE_TLS,
        CancellationToken::new(),
        "one".into(),
    ));
    c.write_all(LOGIN.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("maildrop has") {
        let mut b = [0u8; 512];
        let n = c.read(&mut b).await.unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&b[..n]);
    }
    d.deliver("alice@example.org", b"Subject: new\r\n\r\nx\r\n");
    c.write_all(b"STAT\r\nQUIT\r\n").await.unwrap();
    c.shutdown().await.unwrap();
    let mut rest = String::new();
    c.read_to_string(&mut rest).await.unwrap();
    assert!(
        rest.starts_with(&format!("+OK 2 {}\r\n", M1.len() + M2.len())),
        "{rest}"
    );
    session.await.unwrap();
    let out = script(&d, true, &format!("{LOGIN}STAT\r\nQUIT\r\n")).await;
    assert!(replies(&out)[2].starts_with("+OK 3 "), "{out}");
}

#[tokio::test]
async fn a_message_expunged_elsewhere_is_reported_gone() {
    let d = setup();
    let locks = Locks::default();
    let (mut c, server) = tokio::io::duplex(1 << 16);
    let session = tokio::spawn(run(
        d.clone(),
        locks,
        Arc::new(opts()),
        server,
        true,
        &FAKE_TLS,
        CancellationToken::new(),
        "one".into(),
    ));
    c.write_all(LOGIN.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("maildrop has") {
        let mut b = [0u8; 512];
        let n = c.read(&mut b).await.unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&b[..n]);
    }
    use tern_pop3::Maildrop;
    d.expunge(1, &[1]).await.unwrap();
    c.write_all(b"RETR 1\r\nDELE 1\r\nQUIT\r\n").await.unwrap();
    c.shutdown().await.unwrap();
    let mut rest = String::new();
    c.read_to_string(&mut rest).await.unwrap();
    assert_eq!(
        rest,
        "-ERR message 1 no longer exists\r\n+OK message 1 deleted\r\n+OK mx.example.org POP3 server signing off (0 messages deleted)\r\n"
    );
    session.await.unwrap();
}

#[tokio::test]
async fn wrong_state_unknown_and_malformed_commands() {
    let out = script(
        &setup(),
        true,
        &format!(
            "RETR 1\r\nFOO\r\nNOOP\r\n{}\r\nbare lf\n{LOGIN}USER x\r\nSTLS\r\nRETR\r\nTOP 1\r\nTOP 1 x\r\nDELE 1 2\r\nstat\r\nQUIT\r\n",
            "X".repeat(5000)
        ),
    )
    .await;
    let r = replies(&out);
    assert_eq!(
        r[..5],
        [
            "-ERR not logged in",
            "-ERR unknown command",
            "-ERR not logged in",
            "-ERR line too long",
            "-ERR lines end with CRLF and hold no NUL or bare CR",
        ]
    );
    assert_eq!(
        r[7..],
        [
            "-ERR already logged in",
            "-ERR already logged in",
            "-ERR wrong arguments",
            "-ERR wrong arguments",
            "-ERR TOP needs a message number and a line count",
            "-ERR wrong arguments",
            &format!("+OK 2 {}", M1.len() + M2.len()),
            "+OK mx.example.org POP3 server signing off",
        ]
    );
}

#[tokio::test]
async fn too_many_errors_close_the_connection() {
    let out = script(&setup(), true, &"BAD\r\n".repeat(50)).await;
    let r = replies(&out);
    assert_eq!(r.len(), 20);
    assert_eq!(r[19], "-ERR too many errors; closing");
}

#[tokio::test]
async fn idle_sessions_are_logged_out_without_update() {
    let d = setup();
    let (mut c, server) = tokio::io::duplex(1 << 16);
    let o = Options {
        idle_timeout: Duration::from_millis(200),
        ..opts()
    };
    let session = tokio::spawn(run(
        d.clone(),
        Locks::default(),
        Arc::new(o),
        server,
        true,
        &FAKE_TLS,
        CancellationToken::new(),
        "x".into(),
    ));
    c.write_all(format!("{LOGIN}DELE 1\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), c.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.ends_with("+OK message 1 deleted\r\n-ERR autologout; idle for too long\r\n"),
        "{out}"
    );
    session.await.unwrap();
    assert_eq!(d.uids("alice@example.org"), vec![1, 2]);
}

#[tokio::test]
async fn shutdown_ends_the_session_politely_without_update() {
    let d = setup();
    let (mut c, server) = tokio::io::duplex(1 << 16);
    let stop = CancellationToken::new();
    let session = tokio::spawn(run(
        d.clone(),
        Locks::default(),
        Arc::new(opts()),
        server,
        true,
        &FAKE_TLS,
        stop.clone(),
        "x".into(),
    ));
    c.write_all(format!("{LOGIN}DELE 1\r\n").as_bytes())
        .await
        .unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("deleted") {
        let mut b = [0u8; 512];
        let n = c.read(&mut b).await.unwrap();
        assert!(n > 0);
        seen.extend_from_slice(&b[..n]);
    }
    stop.cancel();
    let mut out = String::new();
    c.read_to_string(&mut out).await.unwrap();
    assert_eq!(out, "-ERR [SYS/TEMP] server shutting down\r\n");
    session.await.unwrap();
    assert_eq!(d.uids("alice@example.org"), vec![1, 2]);
}

#[tokio::test]
async fn big_messages_go_out_whole_and_stuffed() {
    let d = setup();
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    for i in 0..20_000 {
        big.extend_from_slice(format!(".line {i} of a long message body\r\n").as_bytes());
    }
    d.deliver("bob@example.org", &big);
    let out = script(
        &d,
        true,
        "USER bob@example.org\r\nPASS bobpw\r\nRETR 1\r\nQUIT\r\n",
    )
    .await;
    let start = out.find("octets\r\n").unwrap() + 8;
    let end = out.rfind("\r\n.\r\n+OK").unwrap() + 2;
    let body: Vec<u8> = out[start..end]
        .split_inclusive("\r\n")
        .flat_map(|l| l.strip_prefix('.').unwrap_or(l).bytes())
        .collect();
    assert_eq!(body, big);
}

#[tokio::test]
async fn utf8_user_names_and_passwords() {
    let d = setup();
    d.add_account("jörg@bücher.example", "pässwört");
    d.deliver(
        "jörg@bücher.example",
        "Subject: Grüße\r\n\r\nÄ\r\n".as_bytes(),
    );
    let out = script(
        &d,
        true,
        "CAPA\r\nUTF8\r\nUSER jörg@bücher.example\r\nPASS pässwört\r\nUTF8\r\nRETR 1\r\nQUIT\r\n",
    )
    .await;
    let r = replies(&out);
    assert!(r.contains(&"UTF8 USER"), "{out}");
    let after_capa = r.iter().position(|l| *l == ".").unwrap() + 1;
    assert_eq!(r[after_capa], "+OK UTF8 enabled");
    assert!(
        r[after_capa + 2].starts_with("+OK maildrop has 1 messages"),
        "{out}"
    );
    assert_eq!(r[after_capa + 3], "-ERR already logged in");
    assert!(out.contains("Subject: Grüße\r\n\r\nÄ\r\n.\r\n"), "{out}");
}

/// Counts the writes that reach the socket.
struct Counting {
    inner: DuplexStream,
    writes: Arc<std::sync::atomic::AtomicUsize>,
}

impl tokio::io::AsyncRead for Counting {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Counting {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

struct NoTls;
static NO_TLS: NoTls = NoTls;
impl Upgrade<Counting> for NoTls {
    fn upgrade(
        &self,
        _: Counting,
    ) -> Pin<Box<dyn Future<Output = io::Result<Counting>> + Send + '_>> {
        Box::pin(async { Err(io::Error::other("no TLS here")) })
    }
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_one_write() {
    let d = setup();
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let writes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = Counting {
        inner: server,
        writes: writes.clone(),
    };
    let session = tokio::spawn(run(
        d.clone(),
        Locks::default(),
        Arc::new(opts()),
        server,
        true,
        &NO_TLS,
        CancellationToken::new(),
        "x".into(),
    ));
    let mut greeting = [0u8; 128];
    let n = client.read(&mut greeting).await.unwrap();
    assert!(greeting[..n].ends_with(b"ready\r\n"));
    assert_eq!(writes.load(std::sync::atomic::Ordering::SeqCst), 1);
    let mut batch = String::from(LOGIN);
    for _ in 0..40 {
        batch.push_str("STAT\r\nLIST\r\nUIDL 2\r\nTOP 1 0\r\nNOOP\r\n");
    }
    batch.push_str("QUIT\r\n");
    assert!(batch.len() < 4096, "one read");
    client.write_all(batch.as_bytes()).await.unwrap();
    let mut out = String::new();
    client.read_to_string(&mut out).await.unwrap();
    session.await.unwrap();
    assert_eq!(
        out.matches("+OK 2 ").count(),
        80,
        "every STAT and UIDL answered"
    );
    assert!(out.ends_with("signing off\r\n"));
    // The greeting, then the whole batch of replies at once.
    assert_eq!(writes.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off() {
    let d = setup();
    let mut big = b"Subject: big\r\n\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'x', 1 << 20));
    d.deliver("bob@example.org", M2);
    d.deliver("bob@example.org", &big);
    let locks = Locks::default();
    // A small pipe that the client never drains.
    let (mut client, server) = tokio::io::duplex(4096);
    let o = Options {
        idle_timeout: Duration::from_millis(300),
        ..opts()
    };
    let session = tokio::spawn(run(
        d.clone(),
        locks.clone(),
        Arc::new(o),
        server,
        true,
        &FAKE_TLS,
        CancellationToken::new(),
        "x".into(),
    ));
    client
        .write_all(b"USER bob@example.org\r\nPASS bobpw\r\nDELE 1\r\nRETR 2\r\n")
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), session)
        .await
        .expect("session gave up on the client")
        .unwrap();
    // It stopped while sending: far less than the message is in the pipe.
    let mut got = Vec::new();
    client.read_to_end(&mut got).await.unwrap();
    assert!(got.len() < 1 << 16, "{}", got.len());
    assert_eq!(d.uids("bob@example.org"), vec![1, 2], "no UPDATE");
    assert!(locks.try_lock(2).is_some(), "lock released");
}
