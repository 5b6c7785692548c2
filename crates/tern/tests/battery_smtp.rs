//! The adversarial battery for SMTP (25, 587/465) and POP3 (110): hostile
//! inputs against a real `tern serve`, sent by clients tern did not write
//! (Python smtplib and poplib, swaks) and by raw sockets. Each case asserts
//! a clean protocol answer (a reply code, or a close after one), that the
//! server's memory stays bounded (VmRSS of the process), and that another
//! client is still served. Defaults apply except the tarpit, which would
//! only slow the hostile cases down.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use common::Tern;
use common::rss::{Sampler, rss_kib};
use tern_common::Address;
use tern_store::Store;

const NO_TARPIT: &str = "[tarpit]\nenabled = false\n";

fn server(kinds: &[&str]) -> Tern {
    let t = Tern::start_with(kinds, NO_TARPIT);
    t.add_user("alice@example.org", "pw");
    t.add_user("bob@example.org", "pw");
    t
}

/// A line-oriented client with a bounded wait for every read.
struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(60))).unwrap();
        Client {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }

    /// One reply (all lines of a multi-line one); "" once the server closed.
    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            match self.r.read_line(&mut line) {
                Ok(0) | Err(_) => return all,
                Ok(_) => {}
            }
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    /// Send bytes; false when the server has closed the connection.
    fn send(&mut self, bytes: &[u8]) -> bool {
        self.w.write_all(bytes).is_ok()
    }

    fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    /// Everything until the server closes (bounded by the read time-out).
    fn rest(&mut self) -> String {
        let mut out = String::new();
        let _ = self.r.read_to_string(&mut out);
        out
    }
}

/// A fresh client gets the greeting and an answer to EHLO and QUIT.
fn another_client_is_served(addr: SocketAddr) {
    let mut c = Client::connect(addr);
    let greeting = c.reply();
    assert!(greeting.starts_with("220 "), "greeting: {greeting:?}");
    let ehlo = c.cmd("EHLO other.example");
    assert!(ehlo.starts_with("250"), "{ehlo:?}");
    assert!(c.cmd("QUIT").starts_with("221"));
}

/// The start of a transaction to alice on port 25, up to the 354.
fn to_alice(addr: SocketAddr) -> Client {
    let mut c = Client::connect(addr);
    assert!(c.reply().starts_with("220"));
    assert!(c.cmd("EHLO battery.example").starts_with("250"));
    assert!(c.cmd("MAIL FROM:<s@remote.example>").starts_with("250"));
    assert!(c.cmd("RCPT TO:<alice@example.org>").starts_with("250"));
    c
}

fn inbox(data: &Path, user: &str) -> Vec<Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = Store::open_sqlite_for_tests(data).await.unwrap();
        let acc = s
            .account_get(&Address::parse(user).unwrap())
            .await
            .unwrap()
            .unwrap();
        let mb = s.mailbox_get(acc.id, "INBOX").await.unwrap().unwrap();
        let mut out = Vec::new();
        for m in s.messages(mb.id).await.unwrap() {
            out.push(s.message_bytes(mb.id, m.uid).await.unwrap());
        }
        out
    })
}

fn spool_files(t: &Tern) -> usize {
    std::fs::read_dir(t.data_dir().join("spool"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A body of about `size` octets: numbered lines, some starting with a dot.
fn body_of(size: usize) -> Vec<u8> {
    let mut b = b"Subject: large\r\n\r\n".to_vec();
    let mut i = 0usize;
    while b.len() < size {
        if i.is_multiple_of(11) {
            b.push(b'.');
        }
        b.extend_from_slice(format!("{i:010} ").as_bytes());
        b.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, i % 300));
        b.extend_from_slice(b"\r\n");
        i += 1;
    }
    b
}

fn stuffed(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 100);
    for line in body.split_inclusive(|b| *b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out
}

/// Defect 5: 8 sessions each send 40 MB at once (DATA and BDAT). The
/// server's memory grows by far less than one message (it was sessions ×
/// size), another client is served meanwhile, every message arrives
/// byte-exact, and no spool file is left.
#[test]
fn concurrent_large_messages_keep_memory_bounded() {
    let t = server(&["smtp"]);
    let addr = t.addr("smtp");
    another_client_is_served(addr);
    let before = rss_kib(t.pid());
    let msg = std::sync::Arc::new(body_of(40 * 1024 * 1024));
    let sampler = Sampler::start(t.pid());
    let senders: Vec<_> = (0..8)
        .map(|i| {
            let msg = msg.clone();
            std::thread::spawn(move || {
                let mut c = to_alice(addr);
                if i % 2 == 0 {
                    assert!(c.cmd("DATA").starts_with("354"));
                    c.send(&stuffed(&msg));
                    c.cmd(".")
                } else {
                    let (a, b) = msg.split_at(msg.len() / 3);
                    c.send(format!("BDAT {}\r\n", a.len()).as_bytes());
                    c.send(a);
                    let first = c.reply();
                    assert!(first.starts_with("250"), "{first}");
                    c.send(format!("BDAT {} LAST\r\n", b.len()).as_bytes());
                    c.send(b);
                    c.reply()
                }
            })
        })
        .collect();
    // Served while the large messages stream in.
    another_client_is_served(addr);
    for s in senders {
        let r = s.join().expect("sender");
        assert!(r.starts_with("250 2.0.0 Ok"), "{r}");
    }
    let peak = sampler.peak();
    let growth_mib = peak.saturating_sub(before) / 1024;
    println!("VmRSS before {before} KiB, peak {peak} KiB: +{growth_mib} MiB for 8 x 40 MB");
    assert!(
        growth_mib < 100,
        "memory grew by {growth_mib} MiB while 8 sessions sent 40 MB each"
    );
    let got = inbox(&t.data_dir(), "alice@example.org");
    assert_eq!(got.len(), 8);
    for m in &got {
        assert!(m.ends_with(&msg), "byte-exact after the trace fields");
    }
    assert_eq!(spool_files(&t), 0, "no spool file left after delivery");
    another_client_is_served(addr);
}

/// A dropped connection in the middle of a large message and RSET after a
/// chunk leave no spool file behind.
#[test]
fn interrupted_messages_leave_no_spool_file() {
    let t = server(&["smtp"]);
    let addr = t.addr("smtp");
    let msg = body_of(3 * 1024 * 1024);
    let mut c = to_alice(addr);
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(&stuffed(&msg));
    drop(c);
    let mut c = to_alice(addr);
    c.send(format!("BDAT {}\r\n", msg.len()).as_bytes());
    c.send(&msg);
    assert!(c.reply().starts_with("250"));
    assert!(c.cmd("RSET").starts_with("250"));
    assert!(c.cmd("QUIT").starts_with("221"));
    // The dropped session ends when the server reads the end of stream.
    let deadline = Instant::now() + Duration::from_secs(30);
    while spool_files(&t) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(spool_files(&t), 0);
    assert!(inbox(&t.data_dir(), "alice@example.org").is_empty());
}

/// Hostile messages on port 25, each answered with a clean code while
/// memory stays bounded and another client is served after each.
#[test]
fn hostile_messages_on_port_25_get_clean_answers() {
    let t = server(&["smtp"]);
    let addr = t.addr("smtp");
    another_client_is_served(addr);
    let before = rss_kib(t.pid());

    // 100,000 header lines: past the header limit, 552.
    let mut c = to_alice(addr);
    assert!(c.cmd("DATA").starts_with("354"));
    let mut m = Vec::new();
    for i in 0..100_000 {
        m.extend_from_slice(format!("X-Count-{i}: v\r\n").as_bytes());
    }
    m.extend_from_slice(b"\r\nbody\r\n");
    c.send(&m);
    let r = c.cmd(".");
    assert!(r.starts_with("552 5.3.4"), "{r}");
    assert!(c.cmd("NOOP").starts_with("250"), "the session goes on");
    another_client_is_served(addr);

    // A header section with no end (1 MB of fields, no empty line).
    assert!(c.cmd("MAIL FROM:<s@remote.example>").starts_with("250"));
    assert!(c.cmd("RCPT TO:<alice@example.org>").starts_with("250"));
    assert!(c.cmd("DATA").starts_with("354"));
    for _ in 0..1000 {
        c.send(format!("X-Long: {}\r\n", "h".repeat(990)).as_bytes());
    }
    let r = c.cmd(".");
    assert!(r.starts_with("552 5.3.4"), "{r}");

    // Two From fields in other spellings: RFC 5322 3.6, RFC 7489 6.6.1.
    for pair in [
        "From: a@remote.example\r\nFrom: b@remote.example",
        "FROM: a@remote.example\r\nfrom : b@remote.example",
    ] {
        assert!(c.cmd("MAIL FROM:<s@remote.example>").starts_with("250"));
        assert!(c.cmd("RCPT TO:<alice@example.org>").starts_with("250"));
        assert!(c.cmd("DATA").starts_with("354"));
        c.send(format!("{pair}\r\nSubject: two\r\n\r\nx\r\n").as_bytes());
        let r = c.cmd(".");
        // The words submission uses too (one failure, one wording).
        assert!(
            r.starts_with("550 5.6.0 The message has 2 From fields"),
            "{pair:?}: {r}"
        );
    }

    // Deep MIME nesting (defect 1's message) is accepted and stored.
    assert!(c.cmd("MAIL FROM:<s@remote.example>").starts_with("250"));
    assert!(c.cmd("RCPT TO:<alice@example.org>").starts_with("250"));
    assert!(c.cmd("DATA").starts_with("354"));
    let mut nest = b"From: s@remote.example\r\nSubject: nest\r\nMIME-Version: 1.0\r\n".to_vec();
    for _ in 0..10_000 {
        nest.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    nest.extend_from_slice(b"Subject: leaf\r\n\r\nleaf\r\n");
    c.send(&nest);
    let r = c.cmd(".");
    assert!(r.starts_with("250"), "{r}");

    // Invisible characters in addresses: not a user here.
    for rcpt in ["al\u{200b}ice@example.org", "\u{feff}alice@example.org"] {
        assert!(
            c.cmd("MAIL FROM:<s@remote.example> SMTPUTF8")
                .starts_with("250")
        );
        let r = c.cmd(&format!("RCPT TO:<{rcpt}>"));
        assert!(
            r.starts_with("550") || r.starts_with("553"),
            "{rcpt:?}: {r}"
        );
        assert!(c.cmd("RSET").starts_with("250"));
    }

    // BDAT sizes past the limit, or past 64 bits: 552 and close.
    for size in [
        "99999999999999999999999",
        "18446744073709551615",
        "52428801",
    ] {
        let mut b = to_alice(addr);
        let r = b.cmd(&format!("BDAT {size} LAST"));
        assert!(r.starts_with("552 5.3.4"), "BDAT {size}: {r}");
        assert_eq!(b.rest(), "", "closed after BDAT {size}");
    }
    // SIZE= past 64 bits is past the limit.
    let r = c.cmd("MAIL FROM:<s@remote.example> SIZE=1844674407370955161500");
    assert!(r.starts_with("552"), "{r}");

    // A very long line in a message and as a command: 500 and close. (Short
    // enough that the server reads all of it before closing, so the reply
    // is not lost to a reset.)
    let mut l = to_alice(addr);
    assert!(l.cmd("DATA").starts_with("354"));
    l.send(&[b'x'; 4000]);
    let r = l.reply();
    assert!(r.starts_with("500 5.5.6"), "{r}");
    let mut l = Client::connect(addr);
    l.reply();
    l.send(&[b'A'; 4000]);
    let r = l.reply();
    assert!(r.starts_with("500 5.5.6"), "{r}");

    assert!(c.cmd("QUIT").starts_with("221"));
    another_client_is_served(addr);
    let after = rss_kib(t.pid());
    let growth_mib = after.saturating_sub(before) / 1024;
    println!("VmRSS before {before} KiB, after the hostile messages {after} KiB");
    assert!(growth_mib < 100, "memory grew by {growth_mib} MiB");
    // Only the nested message was delivered.
    let got = inbox(&t.data_dir(), "alice@example.org");
    assert_eq!(got.len(), 1);
    assert_eq!(spool_files(&t), 0);
}

/// Slow-drip clients, one byte at a time, hold nothing but their own slot:
/// another client is served while they drip.
#[test]
fn slow_drip_clients_do_not_block_others() {
    let t = server(&["smtp", "pop3"]);
    let smtp = t.addr("smtp");
    let pop3 = t.addr("pop3");
    let drips: Vec<_> = [smtp, pop3]
        .into_iter()
        .flat_map(|a| [a, a])
        .map(|addr| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                c.reply();
                // A bounded drip: 40 bytes, 50 ms apart.
                for b in b"EHLO slowly.dripping.client.example.org\r\n" {
                    if !c.send(&[*b]) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    another_client_is_served(smtp);
    let mut p = Client::connect(pop3);
    assert!(p.reply().starts_with("+OK"));
    assert!(p.cmd("CAPA").starts_with("+OK"));
    for d in drips {
        d.join().expect("drip");
    }
}

/// Authenticated submission on 465 (Python smtplib over TLS): alice cannot
/// make bob the author with a second From in any spelling, an unterminated
/// From, or Sender; nothing of it reaches bob.
#[test]
fn submission_refuses_forged_authors() {
    let t = server(&["submissions"]);
    let port = t.port("submissions").to_string();
    let script = include_str!("scripts/battery_smtp_forged_authors.py");
    let out = common::python(script, &[&port]);
    assert_eq!(out.matches("refused 550 5.").count(), 6, "{out}");
    assert!(!out.contains("accepted"), "{out}");
    assert!(out.contains("sent the honest one"), "{out}");
    let got = inbox(&t.data_dir(), "bob@example.org");
    assert_eq!(got.len(), 1, "only the honest message");
}

/// POP3 on 110 before login: very long lines, garbage and bad base64 get
/// -ERR or a close, never a hang, and the server still answers.
#[test]
fn hostile_pop3_input_gets_clean_answers() {
    let t = server(&["pop3", "smtp"]);
    let pop3 = t.addr("pop3");
    let before = rss_kib(t.pid());
    let mut c = Client::connect(pop3);
    assert!(c.reply().starts_with("+OK"));
    for line in [
        "FOO",
        "USER",
        "PASS x",
        "RETR 1",
        "LIST 99999999999999999999999",
        "AUTH PLAIN !!!notbase64",
        "USER al\u{200b}ice@example.org",
        "\u{0}",
    ] {
        let r = c.cmd(line);
        assert!(
            r.starts_with("-ERR") || r.starts_with("+OK") || r.starts_with("+ ") || r.is_empty(),
            "{line:?}: {r:?}"
        );
        if r.is_empty() {
            c = Client::connect(pop3);
            assert!(c.reply().starts_with("+OK"));
        }
    }
    // A 4 MB line: its bytes are dropped as they come (memory stays
    // bounded) and its end is answered with -ERR.
    let mut long = Client::connect(pop3);
    long.reply();
    let mut line = vec![b'A'; 4 * 1024 * 1024];
    line.extend_from_slice(b"\r\n");
    long.send(&line);
    let r = long.reply();
    assert!(r.starts_with("-ERR"), "{r:?}");
    assert!(long.cmd("NOOP").starts_with("-ERR"), "NOOP before login");
    let mut p = Client::connect(pop3);
    assert!(p.reply().starts_with("+OK"));
    assert!(p.cmd("QUIT").starts_with("+OK"));
    another_client_is_served(t.addr("smtp"));
    let growth_mib = rss_kib(t.pid()).saturating_sub(before) / 1024;
    assert!(growth_mib < 50, "memory grew by {growth_mib} MiB");
}

/// With PostgreSQL (blobs in the database) a large spooled message arrives
/// byte-exact too, goes into the database in pieces (the server's memory
/// grows by far less than the message), and the spool file goes.
#[test]
fn large_messages_arrive_whole_on_postgresql() {
    let pg = common::pg::PgDb::create();
    let t = Tern::start_with(&["smtp"], &format!("{NO_TARPIT}{}", pg.config()));
    t.add_user("alice@example.org", "pw");
    let addr = t.addr("smtp");
    another_client_is_served(addr);
    let msg = body_of(40 * 1024 * 1024);
    let before = rss_kib(t.pid());
    let sampler = Sampler::start(t.pid());
    let mut c = to_alice(addr);
    assert!(c.cmd("DATA").starts_with("354"));
    c.send(&stuffed(&msg));
    let r = c.cmd(".");
    assert!(r.starts_with("250 2.0.0 Ok"), "{r}");
    let growth_mib = sampler.peak().saturating_sub(before) / 1024;
    println!("PostgreSQL: VmRSS +{growth_mib} MiB for a 40 MB message");
    assert!(growth_mib < 30, "memory grew by {growth_mib} MiB");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let got = rt.block_on(async {
        let cfg = tern_common::config::StoreConfig {
            kind: tern_common::config::StoreKind::Postgres,
            url: Some(pg.url.clone()),
            max_connections: 2,
        };
        let s = Store::open(&cfg, &t.data_dir()).await.unwrap();
        let acc = s
            .account_get(&Address::parse("alice@example.org").unwrap())
            .await
            .unwrap()
            .unwrap();
        let mb = s.mailbox_get(acc.id, "INBOX").await.unwrap().unwrap();
        let m = s.messages(mb.id).await.unwrap();
        assert_eq!(m.len(), 1);
        s.message_bytes(mb.id, m[0].uid).await.unwrap()
    });
    assert!(got.ends_with(&msg), "byte-exact after the trace fields");
    assert_eq!(spool_files(&t), 0);
}

/// A large DKIM-signed message on port 25 is verified from the spool file
/// (its body hashed as it is read): the delivered copy says dkim=pass, and
/// a copy changed in its last line says otherwise.
#[test]
fn a_large_signed_message_is_verified_from_the_spool() {
    use tern_queue::dkim::{Algorithm, generate, signature, txt_record};
    let (private_key, public_key) = generate(Algorithm::Ed25519).unwrap();
    let zone = common::dns::Zone::default().txt(
        "s1._domainkey.signer.example",
        &txt_record("ed25519", &public_key),
    );
    let dns = common::dns::DnsServer::start(zone);
    let t = Tern::start_with(&["smtp"], &format!("{NO_TARPIT}{}", dns.config()));
    t.add_user("alice@example.org", "pw");
    let key = tern_store::DkimKey {
        domain: "signer.example".into(),
        selector: "s1".into(),
        algorithm: "ed25519".into(),
        private_key,
        public_key,
        created: 0,
    };
    let mut msg = b"From: a@signer.example\r\nTo: alice@example.org\r\n".to_vec();
    msg.extend_from_slice(&body_of(3 * 1024 * 1024));
    let mut signed = signature(&key, &msg).unwrap().into_bytes();
    signed.extend_from_slice(&msg);
    let mut tampered = signed.clone();
    let at = tampered.len() - 3;
    tampered[at] = b'#';
    for m in [&signed, &tampered] {
        let mut c = Client::connect(t.addr("smtp"));
        assert!(c.reply().starts_with("220"));
        assert!(c.cmd("EHLO signer.example").starts_with("250"));
        assert!(c.cmd("MAIL FROM:<a@signer.example>").starts_with("250"));
        assert!(c.cmd("RCPT TO:<alice@example.org>").starts_with("250"));
        c.send(format!("BDAT {} LAST\r\n", m.len()).as_bytes());
        c.send(m);
        let r = c.reply();
        assert!(r.starts_with("250"), "{r}");
    }
    let got = inbox(&t.data_dir(), "alice@example.org");
    assert_eq!(got.len(), 2);
    let results = |m: &[u8]| {
        let head = &m[..m.windows(4).position(|w| w == b"\r\n\r\n").unwrap()];
        String::from_utf8_lossy(head).replace(['\r', '\n', '\t'], " ")
    };
    assert!(
        results(&got[0]).contains("dkim=pass"),
        "{}",
        results(&got[0])
    );
    assert!(
        !results(&got[1]).contains("dkim=pass"),
        "{}",
        results(&got[1])
    );
    assert!(got[0].ends_with(&signed));
}

/// Submission on 587 before TLS and login: a password is never taken in
/// the clear, mail is refused, an overlong AUTH line closes the connection,
/// and another client is served.
#[test]
fn submission_587_refuses_hostile_input_before_tls() {
    let t = server(&["submission"]);
    let addr = t.addr("submission");
    let mut c = Client::connect(addr);
    assert!(c.reply().starts_with("220"));
    let ehlo = c.cmd("EHLO hostile.example");
    assert!(
        ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"),
        "{ehlo}"
    );
    assert!(
        c.cmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3")
            .starts_with("538 5.7.11")
    );
    assert!(c.cmd("AUTH LOGIN").starts_with("538"));
    assert!(c.cmd("MAIL FROM:<alice@example.org>").starts_with("530"));
    assert!(
        c.cmd("BDAT 99999999999999999999999 LAST")
            .starts_with("552")
    );
    assert_eq!(c.rest(), "");
    let mut c = Client::connect(addr);
    c.reply();
    c.cmd("EHLO hostile.example");
    c.send(format!("AUTH PLAIN {}\r\n", "A".repeat(3000)).as_bytes());
    let r = c.reply();
    assert!(r.starts_with("500 5.5.6"), "{r}");
    another_client_is_served(addr);
}

/// Spool files a crash left behind are removed at start once a day old;
/// a younger one may belong to a session of another process and stays.
#[test]
fn crash_debris_in_the_spool_is_swept_at_start() {
    let mut t = server(&["smtp"]);
    t.kill();
    let spool = t.data_dir().join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    std::fs::write(spool.join("old"), b"debris").unwrap();
    std::fs::write(spool.join("young"), b"in use").unwrap();
    let touched = std::process::Command::new("touch")
        .args(["-d", "2 days ago"])
        .arg(spool.join("old"))
        .status()
        .expect("touch");
    assert!(touched.success());
    t.launch();
    assert!(
        !spool.join("old").exists(),
        "debris older than a day is gone"
    );
    assert!(spool.join("young").exists());
    another_client_is_served(t.addr("smtp"));
}

/// SOURCE, GET, RELEASE and REFUSE (docs/source-get.md) as an attacker
/// sends them: huge arguments, invisible characters, identifiers one
/// character off, a flood of unknown identifiers, SOURCE outside a
/// transaction. Each gets a clean reply, the flood ends the
/// session after `max_errors`, nothing is stored, the server's memory stays
/// bounded and other clients are served.
#[test]
fn hostile_source_get_verbs_get_clean_answers() {
    let t = Tern::start_with(
        &["smtp"],
        &format!("{NO_TARPIT}[source_get]\nreceive = true\n"),
    );
    t.add_user("alice@example.org", "pw");
    let addr = t.addr("smtp");
    let before = rss_kib(t.pid());
    let sampler = Sampler::start(t.pid());

    let fresh = || {
        let mut c = Client::connect(addr);
        assert!(c.reply().starts_with("220"));
        assert!(c.cmd("EHLO battery.example").contains("SOURCE"));
        c
    };
    let id = "A".repeat(32);
    for (line, want) in [
        (format!("GET {}", "x".repeat(400)), "501"),
        ("GET ".to_string(), "501"),
        (format!("GET {}\u{200b}", &id[..31]), "501"),
        (format!("GET {}\u{00a0}", "A".repeat(31)), "501"),
        (format!("RELEASE {}", "B".repeat(33)), "501"),
        (format!("REFUSE {id}"), "501"),
        (format!("REFUSE {id} 250 fine"), "501"),
        (format!("REFUSE {id} 550 {}", "z".repeat(300)), "550 5.1.0"),
        (format!("SOURCE {id}"), "503"),
        (format!("GET {id}"), "550 5.1.0"),
        (format!("RELEASE {id}"), "550 5.1.0"),
    ] {
        // Each on its own session: ten errors end one (max_errors).
        let r = fresh().cmd(&line);
        assert!(r.starts_with(want), "{line:.60}: {r}");
    }
    // A well-formed SOURCE in a transaction is taken.
    let mut c = fresh();
    assert!(c.cmd("MAIL FROM:<s@remote.example>").starts_with("250"));
    assert!(c.cmd("RCPT TO:<alice@example.org>").starts_with("250"));
    let r = c.cmd(&format!("SOURCE {}", "C".repeat(32)));
    assert!(r.starts_with("250"), "{r}");
    another_client_is_served(addr);

    // A flood of unknown identifiers: each refused, then the session ends.
    let mut f = Client::connect(addr);
    assert!(f.reply().starts_with("220"));
    assert!(f.cmd("EHLO flood.example").starts_with("250"));
    let mut flood = Vec::new();
    for i in 0..500 {
        flood.extend_from_slice(format!("GET {:0>32}\r\n", i).as_bytes());
    }
    f.send(&flood);
    let rest = f.rest();
    assert!(
        rest.lines()
            .all(|l| l.starts_with("550") || l.starts_with("421")),
        "{rest:.300}"
    );
    assert!(
        rest.contains("421"),
        "the session ends after too many errors"
    );
    another_client_is_served(addr);

    let peak = sampler.peak();
    assert!(
        peak < before + 64 * 1024,
        "RSS grew from {before} to {peak} KiB"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt
        .block_on(Store::open_sqlite_for_tests(&t.data_dir()))
        .unwrap();
    // That envelope names a domain with no MX (the test's empty zone):
    // the fetcher drops it, and nothing is ever delivered.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !rt.block_on(s.source_in_list()).unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the envelope was kept"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(inbox(&t.data_dir(), "alice@example.org").is_empty());
}
