//! SRS end to end: mail an alias forwards to another domain leaves with an
//! SRS0 sender that Mail::SRS (Debian's `srs` command, with tern's secret)
//! reverses to the original sender; a bounce to an address Mail::SRS
//! writes with that secret is accepted and sent on to the original
//! sender, through Postfix on loopback; a forged one is refused with 550;
//! after a rotation the old addresses still work.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Tern;
use common::dns::{DnsServer, Zone};
use common::smtp::send;

/// Mail::SRS's command line with tern's secret.
fn mail_srs(secret: &str, args: &[&str]) -> String {
    let out = Command::new("srs")
        .arg(format!("--secret={secret}"))
        .args(args)
        .output()
        .expect("srs (Debian package srs; run scripts/ci-deps.sh)");
    assert!(
        out.status.success(),
        "srs {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines()
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l.as_bytes()[name.len()] == b':'
        })
        .map(|l| l[name.len() + 1..].trim())
}

/// The message delivered to Postfix that `pick` chooses, waiting for it.
/// Maildir file names do not sort in delivery order, so messages are
/// found by what they hold, not by their place.
fn message_where(pf: &common::postfix::Postfix, pick: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(m) = pf
            .messages()
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .find(|m| pick(m))
        {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "message not delivered; postfix log:\n{}",
            pf.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn forwarded_mail_gets_an_srs_sender_that_mail_srs_reverses_and_bounces_come_back() {
    let pf = common::postfix::Postfix::start(false, &[]);
    let dns = DnsServer::start(
        Zone::default()
            .mx("remote.example", 10, "mx.remote.example")
            .a("mx.remote.example", "127.0.0.1"),
    );
    let cfg = format!(
        "{}[queue]\npoll_secs = 1\nremote_port = {}\n",
        dns.config(),
        pf.port
    );
    let t = Tern::start_with(&["smtp"], &cfg);
    t.add_user("alice@example.org", "pw");
    assert!(
        t.cli(&["alias", "add", "fwd@example.org", "bob@remote.example"])
            .status
            .success()
    );
    let secret = String::from_utf8_lossy(&t.cli(&["srs", "secret"]).stdout)
        .trim()
        .to_string();
    assert!(secret.len() >= 32, "{secret}");

    // Forwarded: the envelope sender is rewritten, and Mail::SRS with the
    // same secret reverses it.
    let r = send(
        t.port("smtp"),
        "mx.remote.example",
        "carol@remote.example",
        "fwd@example.org",
        "From: carol@remote.example\r\nTo: fwd@example.org\r\nSubject: fwd\r\n\r\nhello",
    );
    assert!(r.starts_with("250"), "{r}");
    let first = message_where(&pf, |m| m.contains("Subject: fwd"));
    let rp = header(&first, "Return-Path").expect("Return-Path");
    let srs_addr = rp.trim_matches(['<', '>']).to_string();
    assert!(
        srs_addr.starts_with("SRS0=") && srs_addr.ends_with("=remote.example=carol@example.org"),
        "{srs_addr}"
    );
    assert_eq!(
        mail_srs(&secret, &["--reverse", &srs_addr]),
        "carol@remote.example"
    );

    // A bounce to an address Mail::SRS wrote with the secret goes on to
    // the sender it stands for, from the null sender.
    let theirs = mail_srs(
        &secret,
        &["--forward", "--alias=example.org", "dave@remote.example"],
    );
    assert!(theirs.starts_with("SRS0="), "{theirs}");
    let bounce = "From: MAILER-DAEMON@remote.example\r\nSubject: Undelivered\r\n\r\nbounced";
    let r = send(t.port("smtp"), "mx.remote.example", "", &theirs, bounce);
    assert!(r.starts_with("250"), "{r}");
    let second = message_where(&pf, |m| m.contains("Delivered-To: dave@remote.example"));
    assert_eq!(header(&second, "Return-Path"), Some("<>"), "{second}");

    // Forged, or not an address of ours to reverse: 550 5.1.1.
    let forged = srs_addr.replacen("SRS0=", "SRS0=Zz", 1);
    let r = send(t.port("smtp"), "mx.remote.example", "", &forged, bounce);
    assert!(r.starts_with("550 5.1.1"), "{r}");
    let other = mail_srs(
        "another secret",
        &["--forward", "--alias=example.org", "eve@remote.example"],
    );
    let r = send(t.port("smtp"), "mx.remote.example", "", &other, bounce);
    assert!(r.starts_with("550 5.1.1"), "{r}");

    // A rotation: new addresses use the new secret, old ones still work.
    let rotated = String::from_utf8_lossy(&t.cli(&["srs", "secret", "--rotate"]).stdout)
        .trim()
        .to_string();
    assert_ne!(rotated, secret);
    let r = send(t.port("smtp"), "mx.remote.example", "", &srs_addr, bounce);
    assert!(r.starts_with("250"), "the old secret still verifies: {r}");
    let third = message_where(&pf, |m| m.contains("Delivered-To: carol@remote.example"));
    assert_eq!(header(&third, "Return-Path"), Some("<>"), "{third}");
}
