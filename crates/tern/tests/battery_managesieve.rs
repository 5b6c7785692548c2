//! The ManageSieve adversarial battery, end to end on `managesieve`:
//! hostile lines and literals before login, connections holding half a
//! line, pipelined floods, a 100 MiB script literal after login, sessions
//! putting large scripts at once, within the per-address and per-user
//! connection limits. Each case asserts a clean answer,
//! bounded memory of the server process (VmRSS from /proc), and that
//! another client is still served.

mod common;

use common::rss::{Sampler, rss_kib};
use common::{Tern, python};

#[test]
fn hostile_input_gets_clean_answers_and_memory_stays_flat() {
    let t = Tern::start(&["managesieve"]);
    t.add_user("u0@example.test", "pw");
    let pid = t.pid();
    let before = rss_kib(pid);
    let sampler = Sampler::start(pid);
    let port = t.port("managesieve").to_string();
    let ca = t.cert_path();
    let out = python(
        include_str!("scripts/battery_managesieve_hostile.py"),
        &[&port, ca.to_str().unwrap(), "u0@example.test", "pw"],
    );
    let peak = sampler.peak();
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0] == "long NO" || lines[0] == "long closed" || lines[0] == "long BYE",
        "{out}"
    );
    assert_eq!(
        &lines[1..],
        [
            "literal before login BYE",
            "held 15",
            "pipelined bounded BYE",
            "huge NO (QUOTA/MAXSIZE)",
            "after huge OK",
            "puts ['OK'] 4",
        ],
        "{out}"
    );
    // The logins' password hashing (19 MiB per hashing thread) is most
    // of the peak; a kept 100 MiB literal would be far more.
    let growth_mib = peak.saturating_sub(before) / 1024;
    eprintln!("managesieve battery: RSS {before} KiB before, peak {peak} KiB");
    assert!(
        growth_mib < 64,
        "the server grew by {growth_mib} MiB (before {before} KiB, peak {peak} KiB)"
    );
    // The store holds the four scripts and not the huge one.
    let list = t.cli(&["sieve", "list", "u0@example.test"]);
    let list = String::from_utf8_lossy(&list.stdout);
    assert_eq!(list.lines().count(), 4, "{list}");
    assert!(!list.contains("huge"), "{list}");
}
