//! The DAV adversarial battery on `https`: XML nested 50,000 deep, an
//! entity bomb, 15,000 property names, a multiget of 15,000 hrefs,
//! recurrence rules that never match or have a million instances, a
//! resource over the limit, large bodies without credentials, names with
//! invisible characters, slow bodies. Each gets a clean answer, the
//! server's memory (VmRSS) stays bounded, and another client is served.

mod common;

use std::time::Duration;

use common::rss::{Sampler, rss_kib};
use common::{Tern, python};

const HOSTILE: &str = include_str!("scripts/battery_dav_hostile.py");

#[test]
fn hostile_dav_requests_get_clean_answers_and_memory_stays_flat() {
    let t = Tern::start_with(&["https"], "[http]\nrequest_timeout_secs = 10\n");
    t.add_user("jo@example.org", "correct horse battery staple");
    let pid = t.pid();
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kib(pid);
    let sampler = Sampler::start(pid);
    let cert = t.cert_path();
    let out = python(
        HOSTILE,
        &[
            &t.port("https").to_string(),
            cert.to_str().unwrap(),
            "jo@example.org",
            "correct horse battery staple",
        ],
    );
    let peak = sampler.peak();
    let got: std::collections::HashMap<&str, &str> =
        out.lines().filter_map(|l| l.split_once(": ")).collect();
    for (case, want) in [
        ("deep xml", "400"),
        ("entity bomb", "400"),
        ("many props", "207"),
        ("huge multiget", "207"),
        ("never matching rule", "201"),
        ("a million instances", "201"),
        ("time range far out", "207"),
        // The guard refuses a declared length over the body limit (413,
        // or the connection closed while the client still sends).
        ("resource over the limit", "refused"),
        ("unauthenticated bodies", "refused"),
        // A zero-width space and a right-to-left override are characters
        // of a name (it is only ever a database key and an encoded href
        // segment); `..` is refused; `x%2Fy` sent encoded is that literal
        // name, never a path.
        ("odd names", "201,400,201,201"),
        ("served while slow bodies wait", "207"),
    ] {
        assert_eq!(got.get(case).copied(), Some(want), "{case}:\n{out}");
    }
    assert!(
        peak.saturating_sub(before) < 96 * 1024,
        "VmRSS grew from {before} KiB to {peak} KiB"
    );
}
