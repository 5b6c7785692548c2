//! `tern verify`: the Authentication-Results header tern would add, with
//! the checks resolving through `[dns] servers` at an in-process DNS server.

mod common;

use std::process::Command;

use common::dns::{DnsServer, Zone};
use common::{BIN, write_config};

fn verify(config: &std::path::Path, file: &std::path::Path, ip: &str) -> (String, String, bool) {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("verify")
        .arg(file)
        .args(["--ip", ip, "--helo", "client.example.test"])
        .args(["--mail-from", "alice@example.test"])
        .output()
        .expect("run tern verify");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn verify_prints_authentication_results() {
    let dns = DnsServer::start(
        Zone::default()
            .txt("example.test", "v=spf1 ip4:192.0.2.0/24 -all")
            .txt("_dmarc.example.test", "v=DMARC1; p=reject"),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &[], &dns.config());
    let file = dir.path().join("message.eml");
    std::fs::write(
        &file,
        "Authentication-Results: mx.test.example; dmarc=pass\r\n\
From: Alice <alice@example.test>\r\nTo: bob@tern.test\r\nSubject: hi\r\n\r\nHello.\r\n",
    )
    .unwrap();

    let (stdout, stderr, ok) = verify(&config, &file, "192.0.2.1");
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("Authentication-Results: mx.test.example;"),
        "{stdout}"
    );
    assert!(stdout.contains("spf=pass"), "{stdout}");
    assert!(
        stdout.contains("dmarc=pass header.from=example.test"),
        "{stdout}"
    );
    assert!(stderr.contains("disposition: accept"), "{stderr}");

    let (stdout, stderr, ok) = verify(&config, &file, "198.51.100.1");
    assert!(ok, "{stderr}");
    assert!(stdout.contains("spf=fail"), "{stdout}");
    assert!(stdout.contains("dmarc=fail"), "{stdout}");
    assert!(stderr.contains("reject: 550 5.7.1"), "{stderr}");
}
