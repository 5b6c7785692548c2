//! The web admin's adversarial battery on `https`: bodies past the login
//! form's 4 KiB before anyone signed in, huge and invisible and look-alike
//! names, invalid UTF-8, duplicate fields, garbage, huge, many and guessed
//! session cookies, an open redirect in `next`, hostile form values and
//! queries once signed in, a Sieve script nested 3,000 deep and one past
//! the body limit, path traversal. Each gets a clean answer, the server's
//! memory (VmRSS) stays bounded, and the pages still answer.

mod common;

use std::time::Duration;

use common::rss::{Sampler, rss_kib};
use common::{Tern, python};

const HOSTILE: &str = include_str!("scripts/battery_admin_hostile.py");

#[test]
fn hostile_admin_requests_get_clean_answers_and_memory_stays_flat() {
    let t = Tern::start_with(&["https"], "[http]\nmax_body_kib = 64\n");
    t.add_user("root@example.org", "Root-Strong-Pass-1!");
    assert!(
        t.cli(&["user", "admin", "root@example.org", "on"])
            .status
            .success()
    );
    let pid = t.pid();
    std::thread::sleep(Duration::from_millis(300));
    let before = rss_kib(pid);
    let sampler = Sampler::start(pid);
    let out = python(
        HOSTILE,
        &[
            &t.port("https").to_string(),
            "root@example.org",
            "Root-Strong-Pass-1!",
        ],
    );
    let peak = sampler.peak();
    let got: std::collections::HashMap<&str, &str> =
        out.lines().filter_map(|l| l.split_once(": ")).collect();
    for (case, want) in [
        // Only our own pages are a destination after login.
        ("open redirect after login", "/admin"),
        ("login body too large", "refused"),
        ("login huge name", "401"),
        ("login nul", "401"),
        ("login zero-width", "401"),
        ("login cyrillic look-alike", "401"),
        ("login not utf-8", "4xx"),
        // A field given twice is no form at all (serde refuses it).
        ("login duplicate fields", "422"),
        // No half-done session: back to the start.
        ("code without half session", "303"),
        ("cookie garbage", "303"),
        ("cookie huge", "303"),
        ("cookie many", "303"),
        ("cookie guessed", "303"),
        // A refusal the admin can act on is shown on the page.
        ("address huge", "200"),
        ("address nul", "200"),
        ("domain zero-width", "200"),
        ("quota absurd", "200"),
        ("audit kind garbage", "200"),
        ("audit dates absurd", "200"),
        ("queue id overflow", "4xx"),
        ("user traversal", "400"),
        ("path traversal", "404"),
        ("sieve deep nesting", "200 line shown"),
        ("sieve too large", "refused"),
        ("dns check of a garbage name", "400"),
        ("still served", "200"),
    ] {
        assert_eq!(got.get(case).copied(), Some(want), "{case}:\n{out}");
    }
    assert!(
        peak.saturating_sub(before) < 64 * 1024,
        "VmRSS grew from {before} KiB to {peak} KiB"
    );
    // Nothing hostile was stored.
    let users = String::from_utf8_lossy(&t.cli(&["user", "list"]).stdout).into_owned();
    assert_eq!(users.lines().count(), 1, "{users}");
    let domains = String::from_utf8_lossy(&t.cli(&["domain", "list"]).stdout).into_owned();
    assert!(!domains.contains("example.net"), "{domains}");
}
