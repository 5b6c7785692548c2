//! STARTTLS on a real `tern serve` (RFC 3207), driven from Python's `ssl`:
//! commands a client (or an attacker in the path) pipelines behind
//! STARTTLS in plaintext are never executed inside the TLS session.

mod common;

use std::path::Path;

use common::Tern;
use tern_common::Address;
use tern_store::Store;

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

#[test]
fn commands_pipelined_behind_starttls_are_discarded() {
    let t = Tern::start(&["smtp"]);
    t.add_user("alice@example.org", "pw");
    let out = common::python(
        include_str!("scripts/smtp_starttls_pipelined.py"),
        &[&t.port("smtp").to_string()],
    );
    assert!(out.contains("greeting 220"), "{out}");
    assert!(out.contains("pre-tls ['250', '220']"), "{out}");
    assert!(out.contains("tls TLSv1."), "{out}");
    // The injected MAIL was discarded, so the transaction never began.
    assert!(out.contains("rcpt-after 503 5.5.1"), "{out}");
    assert!(
        out.contains("starttls-again False requiretls True"),
        "{out}"
    );
    assert!(out.contains("250 2.0.0 Ok"), "{out}");
    let a = inbox(&t.data_dir(), "alice@example.org");
    assert_eq!(a.len(), 1, "{out}");
    let m = String::from_utf8_lossy(&a[0]);
    assert!(
        m.starts_with("Return-Path: <good@remote.example>\r\n"),
        "{m}"
    );
    assert!(m.contains("with ESMTPS"), "{m}");
    assert!(m.contains("cipher="), "{m}");
}
