//! The inbound checks in the SMTP pipeline on port 25: DMARC reject at the
//! end of DATA, quarantine to Junk, forged Authentication-Results removed,
//! and an ARC seal on forwarded mail that dkimpy's arc_verify accepts.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::Tern;
use common::dns::{DnsServer, Zone};
use tern_common::Address;
use tern_store::Store;

fn zone() -> Zone {
    Zone::default()
        .txt("evil.example", "v=spf1 -all")
        .txt("_dmarc.evil.example", "v=DMARC1; p=reject")
        .txt("junky.example", "v=spf1 -all")
        .txt("_dmarc.junky.example", "v=DMARC1; p=quarantine")
        .txt("sender.example", "v=spf1 ip4:127.0.0.1 -all")
        .txt("_dmarc.sender.example", "v=DMARC1; p=none")
        .mx("remote.example", 10, "mx.remote.example")
        .a("mx.remote.example", "127.0.0.1")
}

/// One SMTP transaction from `mail.sender.example`; the reply to the end
/// of DATA.
fn send(port: u16, from: &str, to: &str, body: &str) -> String {
    common::smtp::send(port, "mail.sender.example", from, to, body)
}

fn mailbox(data: &Path, user: &str, name: &str) -> Vec<String> {
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
        let mb = s.mailbox_get(acc.id, name).await.unwrap().unwrap();
        let mut out = Vec::new();
        for m in s.messages(mb.id).await.unwrap() {
            out.push(
                String::from_utf8_lossy(&s.message_bytes(mb.id, m.uid).await.unwrap()).into_owned(),
            );
        }
        out
    })
}

#[test]
fn dmarc_reject_quarantine_and_forged_results() {
    let dns = DnsServer::start(zone());
    let t = Tern::start_with(&["smtp"], &dns.config());
    t.add_user("alice@example.org", "pw");
    let port = t.port("smtp");
    let r = send(
        port,
        "ceo@evil.example",
        "alice@example.org",
        "From: ceo@evil.example\r\nSubject: wire money\r\n\r\nnow",
    );
    assert!(
        r.starts_with("550 5.7.1"),
        "DMARC p=reject fails at the end of DATA: {r}"
    );
    let r = send(
        port,
        "x@junky.example",
        "alice@example.org",
        "From: x@junky.example\r\nSubject: offer\r\n\r\nbuy",
    );
    assert!(r.starts_with("250"), "{r}");
    let forged =
        "Authentication-Results: mx.test.example; dmarc=pass header.from=sender.example\r\n";
    let r = send(
        port,
        "a@sender.example",
        "alice@example.org",
        &format!("{forged}From: a@sender.example\r\nSubject: hi\r\n\r\nhello"),
    );
    assert!(r.starts_with("250"), "{r}");
    let junk = mailbox(&t.data_dir(), "alice@example.org", "Junk");
    assert_eq!(junk.len(), 1, "quarantine goes to Junk");
    assert!(junk[0].contains("dmarc=fail"), "{}", junk[0]);
    let inbox = mailbox(&t.data_dir(), "alice@example.org", "INBOX");
    assert_eq!(inbox.len(), 1, "the reject was not stored");
    let m = &inbox[0];
    assert!(
        m.contains("Authentication-Results: mx.test.example;"),
        "{m}"
    );
    assert!(m.contains("spf=pass"), "{m}");
    assert!(
        !m.contains("dmarc=pass header.from=sender.example\r\n"),
        "the forged header is gone: {m}"
    );
    assert_eq!(
        m.matches("Authentication-Results: mx.test.example").count(),
        1,
        "{m}"
    );
}

#[test]
fn forwarded_mail_carries_an_arc_seal_that_dkimpy_accepts() {
    let pf = common::postfix::Postfix::start(false, &[]);
    let dns = DnsServer::start(zone());
    let cfg = format!(
        "{}[queue]\npoll_secs = 1\nremote_port = {}\n",
        dns.config(),
        pf.port
    );
    let t = Tern::start_with(&["smtp"], &cfg);
    t.add_user("alice@example.org", "pw");
    let out = t.cli(&["alias", "add", "fwd@example.org", "bob@remote.example"]);
    assert!(out.status.success());
    let key = String::from_utf8_lossy(
        &t.cli(&[
            "dkim",
            "keygen",
            "example.org",
            "--selector",
            "arc1",
            "--algo",
            "rsa",
        ])
        .stdout,
    )
    .into_owned();
    let record = key
        .lines()
        .find(|l| l.starts_with("arc1._domainkey"))
        .unwrap()
        .to_string();
    let txt: String = record
        .split(" TXT ")
        .nth(1)
        .unwrap()
        .split('"')
        .skip(1)
        .step_by(2)
        .collect();
    let r = send(
        t.port("smtp"),
        "a@sender.example",
        "fwd@example.org",
        "From: a@sender.example\r\nTo: fwd@example.org\r\nSubject: forward me\r\nMessage-ID: <f1@sender.example>\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\nhello",
    );
    assert!(r.starts_with("250"), "{r}");
    let first = pf.first_message(Duration::from_secs(60));
    let stored = String::from_utf8_lossy(&first).replace('\n', "\r\n");
    assert!(stored.contains("ARC-Seal: i=1;"), "{stored}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("fwd.eml");
    std::fs::write(&p, &stored).unwrap();
    let v = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(include_str!("scripts/inbound_checks_arc_verify.py"))
        .arg(&p)
        .arg(&txt)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&v.stdout);
    assert!(
        out.starts_with("pass"),
        "arc_verify: {out} {}",
        String::from_utf8_lossy(&v.stderr)
    );
}
