//! The JSON API's adversarial battery on `https`: JSON nested 100,000
//! deep, huge arrays, strings and numbers, wrong types, duplicate keys,
//! invalid UTF-8, NUL, zero-width and look-alike characters in names, a
//! traversal in a path, absurd page parameters, missing and garbage
//! tokens. Each gets a clean refusal in the API's error shape, the
//! server's memory (VmRSS) stays bounded, and the API still answers.

mod common;

use std::time::Duration;

use common::rss::{Sampler, rss_kib};
use common::{Tern, python};

const HOSTILE: &str = include_str!("scripts/battery_api_hostile.py");

#[test]
fn hostile_api_requests_get_clean_refusals_and_memory_stays_flat() {
    let t = Tern::start_with(&["https"], "[http]\nmax_body_kib = 4\n");
    t.add_user("alice@example.org", "correct horse battery staple");
    let out = t.cli(&["token", "create", "--name", "battery"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .expect("a token");
    let pid = t.pid();
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kib(pid);
    let sampler = Sampler::start(pid);
    let cert = t.cert_path();
    let out = python(
        HOSTILE,
        &[&t.port("https").to_string(), cert.to_str().unwrap(), token],
    );
    let peak = sampler.peak();
    let got: std::collections::HashMap<&str, &str> =
        out.lines().filter_map(|l| l.split_once(": ")).collect();
    for (case, want) in [
        // Past the 4 KiB body limit: 413 before the body is read (or the
        // connection closed while the client still sends).
        ("deep arrays", "refused"),
        ("deep objects", "refused"),
        ("huge array", "refused"),
        ("huge string", "refused"),
        // Within the limit, serde_json's recursion limit refuses it.
        ("deep arrays within the limit", "400 error"),
        ("huge number", "400 error"),
        ("wrong types", "400 error"),
        ("duplicate keys", "400 error"),
        ("not utf-8", "400 error"),
        // Well-formed JSON with a value the rules refuse: 422, naming it.
        ("nul in a name", "422 error"),
        ("zero-width in a domain", "422 error"),
        ("cyrillic look-alike user", "422 error"),
        // `../../etc/passwd` is not an address: refused as one.
        ("path traversal in a path", "422 error"),
        ("query limit far too large", "400 error"),
        ("cursor garbage", "422 error"),
        ("no token", "401 error"),
        ("token garbage", "401 error"),
        // The user's own endpoints: the field at fault, never a crash.
        ("screener sender huge", "422 error"),
        ("screener sender nul", "422 error"),
        ("screener duplicate keys", "400 error"),
        ("vip zero-width", "422 error"),
        ("vip cyrillic look-alike", "422 error"),
        ("snooze uid overflow", "400 error"),
        ("snooze in the past", "422 error"),
        ("snooze traversal", "404 error"),
        ("snooze time zone garbage", "422 error"),
        ("still served", "200"),
    ] {
        assert_eq!(got.get(case).copied(), Some(want), "{case}:\n{out}");
    }
    assert!(
        peak.saturating_sub(before) < 64 * 1024,
        "VmRSS grew from {before} KiB to {peak} KiB"
    );
}
