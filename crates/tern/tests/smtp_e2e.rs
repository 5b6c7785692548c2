//! Inbound SMTP against a real `tern serve`, driven by clients nobody here
//! wrote (swaks, Python smtplib, Postfix), plus the crash test.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::Tern;
use tern_common::Address;
use tern_store::Store;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Every message in a user's INBOX (read through a second store handle).
fn inbox(data: &Path, user: &str) -> Vec<Vec<u8>> {
    let rt = rt();
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

fn swaks(args: &[&str]) -> (bool, String) {
    let out = Command::new("swaks")
        .args(args)
        .output()
        .expect("swaks (run scripts/ci-deps.sh)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn server() -> Tern {
    let t = Tern::start(&["smtp"]);
    t.add_user("alice@example.org", "pw");
    t.add_user("bob@example.org", "pw");
    t
}

#[test]
fn swaks_plain_starttls_and_pipelining() {
    let t = server();
    let port = t.port("smtp").to_string();
    let server = format!("127.0.0.1:{port}");
    let (ok, out) = swaks(&[
        "--server",
        &server,
        "--from",
        "s@remote.example",
        "--to",
        "alice@example.org",
        "--body",
        "plain",
    ]);
    assert!(ok, "{out}");
    let (ok, out) = swaks(&[
        "--server",
        &server,
        "--from",
        "s@remote.example",
        "--to",
        "alice@example.org",
        "--tls",
        "--body",
        "tls",
    ]);
    assert!(
        ok && out.contains("<-  220 2.0.0 Ready to start TLS"),
        "{out}"
    );
    assert!(
        out.contains("250-REQUIRETLS") || out.contains("250 REQUIRETLS"),
        "REQUIRETLS after TLS: {out}"
    );
    let (ok, out) = swaks(&[
        "--server",
        &server,
        "--from",
        "s@remote.example",
        "--to",
        "bob@example.org",
        "--pipeline",
        "--body",
        "piped",
    ]);
    assert!(ok, "{out}");
    let (ok, out) = swaks(&[
        "--server",
        &server,
        "--from",
        "s@remote.example",
        "--to",
        "victim@elsewhere.example",
    ]);
    assert!(!ok && out.contains("550 5.7.1"), "{out}");
    let a = inbox(&t.data_dir(), "alice@example.org");
    assert_eq!(a.len(), 2);
    let tls_copy = String::from_utf8_lossy(&a[1]).into_owned();
    assert!(
        tls_copy.contains("with ESMTPS") && tls_copy.contains("(version=TLSv1.3 cipher="),
        "{tls_copy}"
    );
    assert_eq!(inbox(&t.data_dir(), "bob@example.org").len(), 1);
}

#[test]
fn python_smtplib_starttls_smtputf8_8bitmime_and_size() {
    let t = server();
    t.add_user("jörg@example.org", "pw");
    let out = common::python(
        include_str!("scripts/smtp_e2e_smtplib.py"),
        &[&t.port("smtp").to_string()],
    );
    assert!(out.contains("8bit {}"), "{out}");
    assert!(out.contains("utf8 {}"), "{out}");
    assert!(out.contains("size 552 5.3.4"), "{out}");
    let a = inbox(&t.data_dir(), "alice@example.org");
    assert!(String::from_utf8_lossy(&a[0]).ends_with("Subject: eight\r\n\r\nGrüße\r\n"));
    let j = inbox(&t.data_dir(), "jörg@example.org");
    assert!(String::from_utf8_lossy(&j[0]).starts_with("Return-Path: <sénder@remote.example>\r\n"));
}

/// A raw client for what swaks and smtplib do not speak (BDAT).
struct Raw {
    r: BufReader<TcpStream>,
}

impl Raw {
    fn connect(port: u16) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut r = Raw {
            r: BufReader::new(s),
        };
        r.reply();
        r
    }

    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut l = String::new();
            if self.r.read_line(&mut l).unwrap_or(0) == 0 {
                return all;
            }
            all.push_str(&l);
            if l.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.r.get_mut().write_all(bytes).unwrap();
    }

    fn cmd(&mut self, c: &str) -> String {
        self.send(format!("{c}\r\n").as_bytes());
        self.reply()
    }
}

#[test]
fn bdat_over_a_real_socket() {
    let t = server();
    let mut c = Raw::connect(t.port("smtp"));
    assert!(c.cmd("EHLO raw.example").contains("CHUNKING"));
    assert!(c.cmd("MAIL FROM:<s@remote.example>").starts_with("250"));
    assert!(c.cmd("RCPT TO:<alice@example.org>").starts_with("250"));
    c.send(b"BDAT 19\r\nSubject: chunks\r\n\r\n");
    assert!(c.reply().starts_with("250 2.0.0 19 octets"));
    c.send(b"BDAT 6 LAST\r\nbody\r\n");
    assert!(c.reply().starts_with("250 2.0.0 Ok"));
    c.cmd("QUIT");
    let a = inbox(&t.data_dir(), "alice@example.org");
    assert!(String::from_utf8_lossy(&a[0]).ends_with("Subject: chunks\r\n\r\nbody\r\n"));
}

#[test]
fn postfix_relays_to_tern_byte_exact() {
    let t = server();
    let pf = common::postfix::Postfix::start(
        false,
        &[
            &format!("relayhost=[127.0.0.1]:{}", t.port("smtp")),
            "smtp_tls_security_level=may",
        ],
    );
    let msg = "From: sender@remote.example\r\nTo: alice@example.org\r\nSubject: via postfix\r\nMessage-ID: <pf1@remote.example>\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\nline\r\n.dot line";
    let (ok, out) = swaks(&[
        "--server",
        &format!("127.0.0.1:{}", pf.port),
        "--from",
        "sender@remote.example",
        "--to",
        "alice@example.org",
        "--data",
        msg,
    ]);
    assert!(ok, "{out}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut a = Vec::new();
    while Instant::now() < deadline {
        a = inbox(&t.data_dir(), "alice@example.org");
        if !a.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(a.len(), 1, "postfix log:\n{}", pf.log());
    let got = String::from_utf8(a.remove(0)).unwrap();
    // Apart from the trace headers (ours and Postfix's), the bytes are the sender's.
    // (swaks ends the data with CRLF . CRLF; Postfix dot-stuffed the line
    // on the way and tern unstuffed it.)
    assert!(got.ends_with(&format!("{msg}\r\n")), "stored:\n{got}");
    assert!(got.starts_with("Return-Path: <sender@remote.example>\r\nDelivered-To: alice@example.org\r\nReceived: from mx.remote.example"), "{got}");
    assert!(
        got.contains("with ESMTPS"),
        "Postfix used STARTTLS to tern: {got}"
    );
}

#[test]
fn sigkill_loses_no_acknowledged_message_and_duplicates_none() {
    let mut t = server();
    let port = t.port("smtp");
    let pid = t.pid();
    // A client sending one message per connection, recording each 250.
    let sender = std::thread::spawn(move || {
        let mut acked = Vec::new();
        for i in 0..400 {
            let Ok(s) = TcpStream::connect(("127.0.0.1", port)) else {
                break;
            };
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut c = Raw {
                r: BufReader::new(s),
            };
            if !c.reply().starts_with("220") {
                break;
            }
            c.send(b"EHLO k\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
            let mut ok = true;
            for _ in 0..4 {
                ok &= !c.reply().is_empty();
            }
            if !ok {
                break;
            }
            c.send(
                format!("Subject: m\r\nMessage-ID: <k{i}@remote.example>\r\n\r\nbody {i}\r\n.\r\n")
                    .as_bytes(),
            );
            let r = c.reply();
            if r.starts_with("250") {
                acked.push(i);
            } else {
                break;
            }
            if i == 60 {
                // Kill mid-stream, from outside, like a power cut.
                common::signal(pid, "KILL");
            }
        }
        acked
    });
    let acked = sender.join().unwrap();
    t.kill();
    assert!(acked.len() >= 60, "the client got going: {}", acked.len());
    t.launch();
    let stored = inbox(&t.data_dir(), "alice@example.org");
    let ids: Vec<String> = stored
        .iter()
        .filter_map(|m| {
            let s = String::from_utf8_lossy(m);
            s.lines()
                .find(|l| l.starts_with("Message-ID: "))
                .map(str::to_string)
        })
        .collect();
    for i in &acked {
        let want = format!("Message-ID: <k{i}@remote.example>");
        let n = ids.iter().filter(|x| **x == want).count();
        assert_eq!(n, 1, "message {i} was acknowledged: stored {n} times");
    }
    let mut uniq = ids.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), ids.len(), "no message stored twice");
}

#[test]
fn greylisting_defers_first_sight_and_passes_the_retry() {
    // The delay is long enough that the early retry below, made at once,
    // still falls inside it on a loaded machine (1 s did not, once).
    let t = Tern::start_with(
        &["smtp"],
        "[greylist]\ndomains = [\"example.org\"]\ndelay_secs = 5\n",
    );
    t.add_user("alice@example.org", "pw");
    let port = t.port("smtp");
    let attempt = || {
        let mut c = Raw::connect(port);
        c.cmd("EHLO g.example");
        c.cmd("MAIL FROM:<list@remote.example>");
        let r = c.cmd("RCPT TO:<alice@example.org>");
        c.cmd("QUIT");
        r
    };
    assert!(attempt().starts_with("451 4.7.1"), "first sight");
    assert!(attempt().starts_with("451 4.7.1"), "an early retry");
    std::thread::sleep(Duration::from_millis(5300));
    assert!(attempt().starts_with("250"), "the retry after the delay");
    assert!(attempt().starts_with("250"), "then at once");
    let audit = String::from_utf8_lossy(&t.cli(&["audit", "list", "--kind", "greylist"]).stdout)
        .into_owned();
    assert_eq!(audit.lines().count(), 2, "{audit}");
}

#[test]
fn a_domains_own_setting_turns_greylisting_and_tarpitting_on_or_off() {
    let t = Tern::start_with(
        &["smtp"],
        "[tarpit]\nbase_delay_ms = 500\nmax_delay_secs = 3\n",
    );
    t.add_user("alice@example.org", "pw");
    t.add_user("bob@other.example", "pw");
    let policy = |args: &[&str]| {
        let mut a = vec!["domain", "policy"];
        a.extend_from_slice(args);
        let out = t.cli(&a);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(policy(&["example.org"]).contains("greylisting: off (the configuration)"));
    let shown = policy(&["example.org", "--greylist", "on", "--greylist-delay", "60"]);
    assert!(
        shown.contains("greylisting: on, 60 s (this domain's setting)"),
        "{shown}"
    );
    let port = t.port("smtp");
    let rcpt = |to: &str| {
        let mut c = Raw::connect(port);
        c.cmd("EHLO g.example");
        c.cmd("MAIL FROM:<list@remote.example>");
        let r = c.cmd(&format!("RCPT TO:<{to}>"));
        c.cmd("QUIT");
        r
    };
    assert!(
        rcpt("alice@example.org").starts_with("451 4.7.1"),
        "greylisted"
    );
    assert!(
        rcpt("bob@other.example").starts_with("250"),
        "another domain"
    );
    policy(&["example.org", "--greylist", "default"]);
    assert!(
        rcpt("alice@example.org").starts_with("250"),
        "back to the config"
    );
    // Tarpitting off for one domain: guesses there are answered at once;
    // the configured tarpit still holds for the other.
    policy(&["other.example", "--tarpit", "off"]);
    let guesses = |domain: &str| {
        let mut c = Raw::connect(port);
        c.cmd("EHLO d.example");
        c.cmd("MAIL FROM:<x@remote.example>");
        let start = Instant::now();
        for i in 0..5 {
            let r = c.cmd(&format!("RCPT TO:<guess{i}@{domain}>"));
            assert!(r.starts_with("550 5.1.1"), "{r}");
        }
        start.elapsed()
    };
    // Tarpitted, five guesses cost 0 + 0.5 + 1 + 2 + 3 s at least.
    assert!(guesses("example.org") >= Duration::from_millis(6500));
    let quick = guesses("other.example");
    assert!(
        quick < Duration::from_millis(4000),
        "not tarpitted (a wide margin for a loaded machine): {quick:?}"
    );
}

#[test]
fn tarpit_slows_dictionary_attacks() {
    let t = Tern::start_with(
        &["smtp"],
        "[tarpit]\nbase_delay_ms = 500\nmax_delay_secs = 3\n",
    );
    t.add_user("alice@example.org", "pw");
    let mut c = Raw::connect(t.port("smtp"));
    c.cmd("EHLO d.example");
    c.cmd("MAIL FROM:<x@remote.example>");
    let mut times = Vec::new();
    for i in 0..5 {
        let start = Instant::now();
        let r = c.cmd(&format!("RCPT TO:<guess{i}@example.org>"));
        assert!(r.starts_with("550 5.1.1"), "{r}");
        times.push(start.elapsed());
    }
    // 0, 500 ms, 1 s, 2 s, then capped at 3 s.
    assert!(times[3] >= Duration::from_millis(2000), "{times:?}");
    assert!(times[4] >= Duration::from_millis(3000), "{times:?}");
    let start = Instant::now();
    assert!(c.cmd("RCPT TO:<alice@example.org>").starts_with("250"));
    // Not tarpitted: well under the 3 s a bad command now costs (a wide
    // margin, so a loaded machine does not fail it).
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "good commands are not delayed"
    );
}
