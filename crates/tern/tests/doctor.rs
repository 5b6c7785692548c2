//! `tern doctor` against a loopback DNS server: everything right passes
//! (exit 0); each record missing or wrong fails its own check, with the
//! fix, and exit 1.

mod common;

use common::dns::{DnsServer, Zone};

const DOMAIN: &str = "example.test";
const HOST: &str = "mx.test.example";

/// What a correct set-up publishes, with the DKIM records `domain add`
/// printed; `skip` leaves out or spoils one of them. The server's address
/// is 192.0.2.10 (TEST-NET-1, RFC 5737), only ever looked up, never
/// contacted: resolvers answer every 127/8 PTR themselves (localhost,
/// RFC 6761).
fn zone(dkim: &[(String, String)], skip: &str) -> Zone {
    let mut z = Zone::default();
    if skip != "mx" {
        z = z.mx(DOMAIN, 10, HOST);
    } else {
        z = z.mx(DOMAIN, 10, "elsewhere.example");
    }
    if skip != "a" {
        z = z.a(HOST, "192.0.2.10");
    }
    if skip != "ptr" {
        z = z.ptr("10.2.0.192.in-addr.arpa", HOST);
    } else {
        z = z.ptr("10.2.0.192.in-addr.arpa", "dynamic-127-0-0-1.isp.example");
    }
    z = z.txt(
        DOMAIN,
        if skip == "spf" {
            "v=spf1 ip4:198.51.100.1 -all"
        } else {
            "v=spf1 ip4:192.0.2.10 -all"
        },
    );
    if skip != "dmarc" {
        z = z.txt(&format!("_dmarc.{DOMAIN}"), "v=DMARC1; p=quarantine");
    }
    for (i, (name, text)) in dkim.iter().enumerate() {
        if skip == "dkim" && i == 0 {
            z = z.txt(name, "v=DKIM1; k=rsa; p=MIIBnotthekey");
        } else {
            z = z.txt(name, text);
        }
    }
    z
}

/// Run the doctor with `zone` as the world's DNS; (exit code, checks).
fn doctor(dir: &std::path::Path, zone: Zone) -> (i32, Vec<serde_json::Value>) {
    let dns = DnsServer::start(zone);
    let cfg = common::write_config(dir, &["smtp"], &dns.config());
    let out = common::cli(&cfg, &["doctor", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let checks = v["checks"].as_array().cloned().unwrap_or_default();
    assert_eq!(v["ok"].as_bool(), Some(out.status.code() == Some(0)));
    (out.status.code().unwrap_or(-1), checks)
}

fn failed(checks: &[serde_json::Value]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| format!("{} | {} | {}", c["name"], c["detail"], c["fix"]))
        .collect()
}

#[test]
fn doctor_finds_each_missing_or_wrong_record() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_config(dir.path(), &["smtp"], "");
    let added = common::cli(&cfg, &["domain", "add", DOMAIN]);
    assert!(added.status.success());
    // The printed records: `  NAME TXT "…" "…"`.
    let dkim: Vec<(String, String)> = String::from_utf8_lossy(&added.stdout)
        .lines()
        .filter_map(|l| {
            let (name, text) = l.trim().split_once(" TXT ")?;
            let text: String = text.split('"').skip(1).step_by(2).collect();
            Some((name.trim_end_matches('.').to_string(), text))
        })
        .collect();
    assert_eq!(dkim.len(), 2, "{dkim:?}");

    let (code, checks) = doctor(dir.path(), zone(&dkim, ""));
    assert_eq!(code, 0, "{:?}", failed(&checks));
    let names: Vec<&str> = checks.iter().filter_map(|c| c["name"].as_str()).collect();
    for want in [
        "configuration",
        "data dir writable",
        "store",
        "certificate names",
        "example.test: MX",
        "example.test: DMARC",
    ] {
        assert!(
            names.iter().any(|n| n.starts_with(want)),
            "{want} not checked: {names:?}"
        );
    }
    assert_eq!(names.iter().filter(|n| n.contains("DKIM")).count(), 2);

    for (skip, check, fix) in [
        ("mx", "example.test: MX", "MX 10 mx.test.example."),
        (
            "a",
            "example.test: address of mx.test.example",
            "A <this server's IPv4>",
        ),
        (
            "ptr",
            "example.test: PTR of 192.0.2.10",
            "PTR record naming mx.test.example",
        ),
        ("spf", "example.test: SPF for 192.0.2.10", "v=spf1"),
        (
            "dkim",
            "example.test: DKIM",
            "._domainkey.example.test. TXT",
        ),
        ("dmarc", "example.test: DMARC", "_dmarc.example.test. TXT"),
    ] {
        let (code, checks) = doctor(dir.path(), zone(&dkim, skip));
        assert_eq!(code, 1, "{skip}");
        let bad = failed(&checks);
        assert!(
            bad.iter().any(|b| b.contains(check) && b.contains(fix)),
            "{skip}: {bad:#?}"
        );
    }
}

/// A configuration that does not load is the first failed check (exit 1),
/// in the doctor's own words.
#[test]
fn doctor_reports_a_broken_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("tern.toml");
    std::fs::write(&cfg, "hostname = 5\n").unwrap();
    let out = common::cli(&cfg, &["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("✗ configuration"), "{text}");
}
