//! The POP3 adversarial battery, end to end on `pop3s`: large messages
//! fetched by many sessions at once, clients that stop reading, hostile
//! lines. Each case asserts a clean answer, bounded memory of the server
//! process (VmRSS from /proc), and that another client is still served.

mod common;

use std::time::Duration;

use common::rss::{Sampler, rss_kib};
use common::{Tern, python};

const SEND: &str = include_str!("scripts/battery_pop3_send.py");

/// argv: PORT CAFILE USER PASSWORD; RETR 1, prints sha256 and size of the
/// body that came back (lines joined with CRLF, as sent; the header has
/// tern's trace fields in front), then the line count of TOP 1 2.
const RETR: &str = include_str!("scripts/battery_pop3_retr.py");

/// Eight sessions RETR a 24 MiB message at once. Whole messages in memory
/// would cost the server 8 × 24 MiB and more; read in chunks they cost a
/// few chunks each. Every copy arrives byte-exact, TOP stops after the
/// header and two lines.
#[test]
fn many_sessions_fetching_a_large_message_keep_memory_flat() {
    let t = Tern::start(&["smtp", "pop3s"]);
    for i in 0..8 {
        t.add_user(&format!("u{i}@example.test"), "pw");
    }
    let smtp = t.port("smtp").to_string();
    let sent = python(SEND, &[&smtp, "8", "24"]);
    let want = sent
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let pid = t.pid();
    std::thread::sleep(Duration::from_millis(500));
    let before = rss_kib(pid);
    let sampler = Sampler::start(pid);
    let port = t.port("pop3s").to_string();
    let ca = t.cert_path();
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let (port, ca) = (port.clone(), ca.clone());
            std::thread::spawn(move || {
                let user = format!("u{i}@example.test");
                python(RETR, &[&port, ca.to_str().unwrap(), &user, "pw"])
            })
        })
        .collect();
    let outs: Vec<String> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let peak = sampler.peak();
    for out in &outs {
        let got: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(got[..2].join(" "), want, "byte-exact RETR");
        // TOP 1 2: the header, the blank line, then two body lines.
        assert_eq!(got[2], "2", "{out}");
    }
    // The peak includes the logins' password hashing (19 MiB per hashing
    // thread, given back afterwards); whole messages would add 8 × 24 MiB.
    let growth_mib = peak.saturating_sub(before) / 1024;
    eprintln!("8 × RETR of 24 MiB: RSS {before} KiB before, peak {peak} KiB");
    assert!(
        growth_mib < 64,
        "8 × RETR of 24 MiB grew the server by {growth_mib} MiB (before {before} KiB, peak {peak} KiB)"
    );
}

/// A client that asks for a large message and never reads the answer
/// holds no more than its socket's buffers of it; another client is served
/// meanwhile.
#[test]
fn a_client_that_stops_reading_holds_little_and_blocks_nobody() {
    let t = Tern::start(&["smtp", "pop3s"]);
    t.add_user("u0@example.test", "pw");
    t.add_user("u1@example.test", "pw");
    let smtp = t.port("smtp").to_string();
    python(SEND, &[&smtp, "2", "24"]);
    let pid = t.pid();
    let before = rss_kib(pid);
    let port = t.port("pop3s").to_string();
    let ca = t.cert_path();
    let stalled = python(
        include_str!("scripts/battery_pop3_stalled.py"),
        &[&port, ca.to_str().unwrap()],
    );
    assert_eq!(stalled.trim(), "stalled");
    let other = python(
        RETR,
        &[&port, ca.to_str().unwrap(), "u1@example.test", "pw"],
    );
    assert_eq!(other.split_whitespace().count(), 3, "{other}");
    let growth_mib = rss_kib(pid).saturating_sub(before) / 1024;
    assert!(growth_mib < 32, "grew by {growth_mib} MiB");
}

/// Hostile lines: a 1 MiB line without CRLF, a flood of pipelined
/// commands, a command with invisible characters, huge numbers. Each gets a
/// clean `-ERR` or a close, and the server stays small and serves others.
#[test]
fn hostile_lines_get_clean_answers() {
    let t = Tern::start(&["pop3s"]);
    t.add_user("u0@example.test", "pw");
    let pid = t.pid();
    let before = rss_kib(pid);
    let port = t.port("pop3s").to_string();
    let ca = t.cert_path();
    let out = python(
        include_str!("scripts/battery_pop3_hostile.py"),
        &[&port, ca.to_str().unwrap()],
    );
    assert!(
        out.contains("long -ERR") || out.contains("long closed"),
        "{out}"
    );
    let answers: Vec<&str> = out.lines().filter(|l| l.starts_with("cmd")).collect();
    // USER answers +OK for any name (nothing to learn from it); the name
    // with an invisible character does not log in (not even through IDNA,
    // which would drop the character from a domain), and nothing else is
    // possible before login.
    assert_eq!(
        answers,
        ["cmd +OK", "cmd -ERR", "cmd -ERR", "cmd -ERR", "cmd -ERR"],
        "{out}"
    );
    assert!(out.contains("pipelined bounded"), "{out}");
    // Whatever was answered before the close was an error, never +OK.
    assert!(
        out.contains("last -ERR") || out.contains("last -\n"),
        "{out}"
    );
    let ok = python(
        RETR.split("resp, lines").next().unwrap(),
        &[&port, ca.to_str().unwrap(), "u0@example.test", "pw"],
    );
    assert!(ok.is_empty(), "another client logs in: {ok}");
    let growth_mib = rss_kib(pid).saturating_sub(before) / 1024;
    assert!(growth_mib < 32, "grew by {growth_mib} MiB");
}
