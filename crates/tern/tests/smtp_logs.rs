//! What an admin reads: a real `tern serve` with JSON logs on a pipe, driven
//! by Python's smtplib. One id follows a message from the SMTP reply to the
//! queue's delivery attempt; refused recipients are logged with the reply;
//! every line of a session carries the session's span; and shutdown answers
//! an idle client with 421 at once (RFC 5321 3.8), not after the grace period.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tern");

/// A server with an smtp listener, its JSON log lines arriving on `logs`.
struct Logged {
    child: Child,
    smtp: String,
    /// The submissions (implicit TLS) listener, when started.
    submissions: String,
    logs: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Logged {
    fn start(dir: &Path, dns: &common::dns::DnsServer) -> Logged {
        Logged::start_kinds(dir, dns, &["smtp"])
    }

    fn start_kinds(dir: &Path, dns: &common::dns::DnsServer, kinds: &[&str]) -> Logged {
        // A grace period far longer than any wait below: a session that
        // waited it out could not pass the shutdown test.
        let extra = format!(
            "[server]\nshutdown_grace_secs = 120\n[log]\nformat = \"json\"\nlevel = \"info\"\n{}",
            dns.config()
        );
        let cfg = common::write_config(dir, kinds, &extra);
        let run = |args: &[&str]| {
            let out = common::cli(&cfg, args);
            assert!(out.status.success(), "{args:?}: {out:?}");
        };
        run(&["domain", "add", "example.org", "--no-dkim"]);
        run(&[
            "user",
            "add",
            "alice@example.org",
            "-p",
            "pw-alice-123456",
            "--allow-weak",
        ]);
        run(&["alias", "add", "fwd@example.org", "someone@remote.example"]);
        let mut child = Command::new(BIN)
            .args(["--config", cfg.to_str().unwrap(), "serve"])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (mut smtp, mut submissions) = (String::new(), String::new());
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(a) = l.strip_prefix("tern: smtp listening on ") {
                smtp = a.to_string();
            }
            if let Some(a) = l.strip_prefix("tern: submissions listening on ") {
                submissions = a.to_string();
            }
            if l == "tern: ready" {
                break;
            }
        }
        let (tx, logs) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Logged {
            child,
            smtp,
            submissions,
            logs,
            seen: Vec::new(),
        }
    }

    /// Wait (bounded) for a log line that contains every one of `parts`.
    fn wait_for(&mut self, parts: &[&str]) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        let matches = |l: &String| parts.iter().all(|p| l.contains(p));
        loop {
            if let Some(l) = self.seen.iter().find(|l| matches(l)) {
                return serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.logs.recv_timeout(left) {
                Ok(l) => self.seen.push(l),
                Err(_) => panic!("no log line with {parts:?}; got:\n{}", self.seen.join("\n")),
            }
        }
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SEND: &str = include_str!("scripts/smtp_logs_send.py");

/// The id in "250 2.0.0 Ok: queued as <id>" is the queue_id of the SMTP
/// transaction line and of the queue's delivery attempt; the refused
/// recipient is logged with its reply; the session's lines carry its span.
#[test]
fn one_id_follows_a_message_and_refusals_are_logged() {
    let d = tempfile::tempdir().unwrap();
    let dns = common::dns::DnsServer::start(common::dns::Zone::default());
    let mut t = Logged::start(d.path(), &dns);
    let out = common::python(SEND, &[&t.smtp]);
    assert!(out.contains("nobody 550"), "{out}");
    let id = out
        .lines()
        .find_map(|l| l.split("queued as ").nth(1))
        .unwrap_or_else(|| panic!("{out}"))
        .trim()
        .to_string();
    assert_eq!(id.len(), 12, "{out}");

    let refused = t.wait_for(&["smtp recipient refused", "nobody@example.org"]);
    let fields = &refused["fields"];
    assert!(
        fields["reason"].as_str().unwrap().starts_with("550 5.1.1"),
        "{refused}"
    );
    let session = refused["span"]["session"].as_str().unwrap().to_string();

    let txn = t.wait_for(&["smtp transaction", &id]);
    assert_eq!(txn["fields"]["queue_id"], id.as_str(), "{txn}");
    assert!(
        txn["fields"]["checks"].as_str().unwrap().contains("spf="),
        "{txn}"
    );
    assert_eq!(txn["fields"]["folder"], "INBOX,queue", "{txn}");
    let spans = txn["spans"].to_string();
    assert!(
        spans.contains(&session),
        "one session id on every line: {txn}"
    );

    // The forwarded copy's attempt fails (the test DNS knows no
    // remote.example) and is logged under the same id.
    let attempt = t.wait_for(&["queue: delivery attempt", &id]);
    assert_eq!(attempt["span"]["queue_id"], id.as_str(), "{attempt}");
    assert!(attempt["fields"]["result"].is_string(), "{attempt}");
    for l in &t.seen {
        assert!(!l.contains("Some("), "a Debug dump in the log: {l}");
    }
}

const IDLE: &str = include_str!("scripts/smtp_logs_idle.py");

/// RFC 5321 3.8: on SIGTERM a client waiting between commands gets "421
/// 4.3.2 … Service shutting down" at once, and the process exits without
/// waiting out the grace period (10 s by default).
#[test]
fn sigterm_answers_an_idle_client_with_421_at_once() {
    let d = tempfile::tempdir().unwrap();
    let dns = common::dns::DnsServer::start(common::dns::Zone::default());
    let mut t = Logged::start(d.path(), &dns);
    let mut py = Command::new("python3")
        .args(["-c", IDLE, &t.smtp])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = py.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let ready = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(ready, "ready");
    common::signal(t.child.id(), "TERM");
    // Both bounds are far below the 120 s grace period: the idle client was
    // answered and the server exited without waiting for it. (No tighter
    // timing is asserted: the machine may be loaded.)
    let said = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert!(
        said.starts_with("421 4.3.2 mx.test.example Service shutting down"),
        "{said}"
    );
    let status = common::wait_bounded(&mut t.child, Duration::from_secs(60));
    assert!(status.success(), "{status:?}");
    let _ = py.wait();
}

const BAD_TLS: &str = include_str!("scripts/smtp_logs_bad_starttls.py");

/// A STARTTLS handshake that fails is logged at info with the peer and the
/// reason, in the session's span.
#[test]
fn a_failed_starttls_handshake_is_logged_with_peer_and_reason() {
    let d = tempfile::tempdir().unwrap();
    let dns = common::dns::DnsServer::start(common::dns::Zone::default());
    let mut t = Logged::start(d.path(), &dns);
    let out = common::python(BAD_TLS, &[&t.smtp]);
    assert!(out.starts_with("220 2.0.0"), "{out}");
    let line = t.wait_for(&["smtp STARTTLS handshake failed"]);
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["fields"]["ip"], "127.0.0.1", "{line}");
    assert!(
        !line["fields"]["error"].as_str().unwrap().is_empty(),
        "{line}"
    );
    assert!(line["span"]["session"].is_string(), "{line}");
}

const SUBMIT: &str = include_str!("scripts/smtp_logs_submit.py");

/// The case from the field: a submitted message for a remote address has
/// one id in the reply, in the SMTP transaction line (whose span names the
/// user) and in the queue's delivery attempt.
#[test]
fn a_submitted_message_has_one_id_from_reply_to_queue() {
    let d = tempfile::tempdir().unwrap();
    let dns = common::dns::DnsServer::start(common::dns::Zone::default());
    let mut t = Logged::start_kinds(d.path(), &dns, &["smtp", "submissions"]);
    let out = common::python(SUBMIT, &[&t.submissions]);
    let id = out
        .lines()
        .find_map(|l| l.split("queued as ").nth(1))
        .unwrap_or_else(|| panic!("{out}"))
        .trim()
        .to_string();
    let txn = t.wait_for(&["smtp transaction", &id]);
    assert_eq!(txn["fields"]["queue_id"], id.as_str(), "{txn}");
    assert!(
        txn["spans"]
            .to_string()
            .contains("\"user\":\"alice@example.org\""),
        "{txn}"
    );
    let attempt = t.wait_for(&["queue: delivery attempt", &id]);
    assert_eq!(attempt["span"]["queue_id"], id.as_str(), "{attempt}");
    assert_eq!(
        attempt["fields"]["rcpt"], "someone@remote.example",
        "{attempt}"
    );
}
