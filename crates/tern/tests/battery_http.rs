//! The HTTP adversarial battery, end to end on `http`: header sections
//! too long or too many, broken request lines, request smuggling shapes,
//! broken chunked framing, a flood of half-sent requests. Each case gets a
//! clean refusal (or a close), the server's memory (VmRSS) stays bounded,
//! and another client is still served.

mod common;

use std::time::Duration;

use common::rss::{Sampler, rss_kib};
use common::{Tern, python};

const HOSTILE: &str = include_str!("scripts/battery_http_hostile.py");

#[test]
fn hostile_requests_get_clean_refusals_and_memory_stays_flat() {
    let t = Tern::start_with(&["http"], "[http]\nheader_timeout_secs = 5\n");
    let pid = t.pid();
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kib(pid);
    let sampler = Sampler::start(pid);
    let out = python(HOSTILE, &[&t.port("http").to_string(), "80"]);
    let peak = sampler.peak();
    let got: std::collections::HashMap<&str, &str> =
        out.lines().filter_map(|l| l.split_once(": ")).collect();
    for (case, want) in [
        // RFC 6585 5: a header section over the bound (16 KiB, 64 fields).
        ("long header line", "431"),
        ("many header fields", "431"),
        ("bad request line", "400"),
        ("bad version", "400"),
        // RFC 9112 6.3: both framings, or two lengths, are refused, so no
        // second request can be smuggled behind the first.
        ("content-length and chunked", "400"),
        ("two content-lengths", "400"),
        ("bad chunk size", "400"),
        ("huge chunk size", "400"),
        // Plain http is HTTP/1.1 only: an HTTP/2 preface is never answered
        // and the connection is closed at the header time-out.
        ("http2 preface on plain http", "closed"),
        ("nul in header", "400"),
        // RFC 9112 2.2 lets a recipient take a bare LF as a line end; it
        // cannot smuggle anything since the whole head is parsed at once.
        ("bare lf", "200"),
        ("flood", "80"),
        ("during flood", "200"),
    ] {
        assert_eq!(got.get(case).copied(), Some(want), "{case}:\n{out}");
    }
    // 80 held connections and the refused requests cost buffers of at most
    // 16 KiB each, never the 100 KB a client sent.
    assert!(
        peak.saturating_sub(before) < 64 * 1024,
        "VmRSS grew from {before} KiB to {peak} KiB"
    );
    let out = std::process::Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://127.0.0.1:{}/health", t.port("http")))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
}
