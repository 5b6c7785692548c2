//! Submission (587 STARTTLS, 465 implicit TLS) end to end: swaks and
//! smtplib as the user's mail program, tern's queue delivering to Postfix
//! as the recipient's MX, and dkimpy checking tern's DKIM signature.

mod common;

use std::process::Command;
use std::time::Duration;

use common::Tern;
use common::dns::{DnsServer, Zone};
use common::postfix::Postfix;

fn swaks(args: &[&str]) -> (bool, String) {
    let out = Command::new("swaks").args(args).output().expect("swaks");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn config(dns: &DnsServer, port: u16) -> String {
    format!(
        "{}[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {port}\n",
        dns.config()
    )
}

#[test]
fn swaks_refusals_before_tls_wrong_password_and_someone_elses_address() {
    let dns = DnsServer::start(Zone::default());
    let t = Tern::start_with(&["submission", "submissions"], &config(&dns, 9));
    t.add_user("alice@example.org", "s3cret");
    t.add_user("bob@example.org", "pw");
    let sub = format!("127.0.0.1:{}", t.port("submission"));
    // Without TLS no AUTH is offered, and swaks cannot authenticate.
    let (ok, out) = swaks(&[
        "--server",
        &sub,
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        "s3cret",
    ]);
    assert!(!ok && !out.contains("250-AUTH"), "{out}");
    // MAIL before AUTH.
    let (ok, out) = swaks(&[
        "--server",
        &sub,
        "--tls",
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
    ]);
    assert!(!ok && out.contains("530 5.7.0"), "{out}");
    // Wrong password.
    let (ok, out) = swaks(&[
        "--server",
        &sub,
        "--tls",
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        "nope",
    ]);
    assert!(!ok && out.contains("535 5.7.8"), "{out}");
    // Someone else's address.
    let (ok, out) = swaks(&[
        "--server",
        &sub,
        "--tls",
        "--from",
        "bob@example.org",
        "--to",
        "bob@example.org",
        "--auth",
        "LOGIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        "s3cret",
    ]);
    assert!(!ok && out.contains("550 5.7.1"), "{out}");
    // And the happy path, on 465 with implicit TLS.
    let subs = format!("127.0.0.1:{}", t.port("submissions"));
    let (ok, out) = swaks(&[
        "--server",
        &subs,
        "--tlsc",
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
        "--auth",
        "PLAIN",
        "--auth-user",
        "alice@example.org",
        "--auth-password",
        "s3cret",
        "--header",
        "From: alice@example.org",
    ]);
    assert!(ok, "{out}");
}

#[test]
fn submitted_mail_reaches_postfix_signed_and_dkimpy_verifies_it() {
    let pf = Postfix::start(true, &[]);
    let dir = tempfile::tempdir().unwrap();
    // The DNS the queue uses: remote.example's MX is the Postfix instance.
    let zone = Zone::default()
        .mx("remote.example", 10, "mx.remote.example")
        .a("mx.remote.example", "127.0.0.1");
    let dns = DnsServer::start(zone);
    let t = Tern::start_with(&["submission"], &config(&dns, pf.port));
    t.add_user("alice@example.org", "s3cret");
    let key = t.cli(&["dkim", "keygen", "example.org", "--selector", "tern1"]);
    let key = String::from_utf8_lossy(&key.stdout).into_owned();
    let record = key
        .lines()
        .find(|l| l.starts_with("tern1._domainkey"))
        .expect("record")
        .to_string();
    let txt: String = record
        .split(" TXT ")
        .nth(1)
        .unwrap()
        .split('"')
        .skip(1)
        .step_by(2)
        .collect();
    let out = common::python(
        include_str!("scripts/submission_send.py"),
        &[&t.port("submission").to_string()],
    );
    assert!(out.contains("{}"), "{out}");
    let stored = pf.first_message(Duration::from_secs(60));
    let text = String::from_utf8_lossy(&stored).into_owned();
    assert!(
        text.contains("DKIM-Signature: ")
            && text.contains("d=example.org")
            && text.contains("s=tern1"),
        "{text}"
    );
    assert!(
        !text.contains("hidden@remote.example"),
        "Bcc removed: {text}"
    );
    assert!(
        text.contains("Message-ID: <") && text.contains("\nDate: "),
        "fix-ups: {text}"
    );
    // dkimpy verifies what Postfix stored (CRLF restored), offline with our record.
    let msg_path = dir.path().join("stored.eml");
    std::fs::write(&msg_path, text.replace('\n', "\r\n")).unwrap();
    let verify = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(include_str!("scripts/submission_dkim_verify.py"))
        .arg(&msg_path)
        .arg(&txt)
        .output()
        .unwrap();
    let v = String::from_utf8_lossy(&verify.stdout);
    assert!(
        v.trim() == "True",
        "dkimpy: {v} {}",
        String::from_utf8_lossy(&verify.stderr)
    );
}
