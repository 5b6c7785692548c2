//! The IMAP adversarial battery, end to end against the real binary:
//! messages nested past any sensible depth, patterns and sets sized to
//! burn CPU, literals sized to burn memory before login, names past the
//! limits or full of invisible characters, clients that stall. Each case
//! asserts a clean protocol answer, that the server process is alive with
//! bounded memory (VmRSS from /proc), and that another client is served.

mod common;

use common::Tern;
use common::rss::{Sampler, rss_kib};

const USER: &str = "alice@example.org";
const PASSWORD: &str = "correct horse battery";
const NO_TARPIT: &str = "[tarpit]\nenabled = false\n";

fn server(kinds: &[&str]) -> Tern {
    let t = Tern::start_with(kinds, NO_TARPIT);
    t.add_user(USER, PASSWORD);
    t
}

/// The process is still running (not aborted by a stack overflow).
fn alive(t: &Tern) {
    let status = std::fs::read_to_string(format!("/proc/{}/status", t.pid()));
    let state = status.ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("State:"))
            .map(String::from)
    });
    assert!(
        state.as_deref().is_some_and(|s| !s.contains("zombie")),
        "tern is gone: {state:?}"
    );
}

const ANOTHER: &str = include_str!("scripts/battery_imap_another.py");

/// A fresh client logs in and selects INBOX.
fn another_client_is_served(t: &Tern) {
    alive(t);
    let out = t.imaps_script(ANOTHER, USER, PASSWORD, &[]);
    assert!(out.contains("select OK"), "{out}");
}

/// argv after the preamble: SMTP port. Delivers the hostile messages over
/// port 25, then FETCHes every item that walks the MIME tree and SEARCHes
/// the text. Prints one line per answer: `<n> <item> <status> <detail>`.
const NESTED: &str = include_str!("scripts/battery_imap_nested.py");

/// Defect 1: messages nested 10,000 and 20,000 levels (message/rfc822 and
/// multipart, plain and inside a base64 part) are accepted on port 25,
/// stored, and served: every FETCH item that walks the tree answers OK,
/// BODY[] is byte-exact, SEARCH answers; after a restart too (the crash
/// came back at every restart).
#[test]
fn deeply_nested_messages_are_stored_and_served() {
    let mut t = server(&["smtp", "imaps"]);
    let smtp = t.port("smtp").to_string();
    for step in ["deliver", "again"] {
        let out = t.imaps_script(NESTED, USER, PASSWORD, &[&smtp, step]);
        assert!(out.contains("count 4"), "{out}");
        let answers: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
            .collect();
        assert_eq!(answers.len(), 4 * 8 + 2, "{out}");
        for l in &answers {
            assert!(l.contains(" OK "), "{l}\n{out}");
        }
        for i in 1..=4 {
            assert!(out.contains(&format!("{i} exact OK True")), "{out}");
        }
        // BODY[1.1.1] is the third level's content, to the byte.
        for i in 1..=2 {
            assert!(out.contains(&format!("{i} section OK True")), "{out}");
        }
        // The fourth leaf is inside a base64 message/rfc822 part, opaque.
        assert!(out.contains("search OK 1 2 3"), "{out}");
        assert!(out.contains("thread OK"), "{out}");
        another_client_is_served(&t);
        t.stop();
        t.launch();
    }
    t.stop();
}

/// argv: the number of pathological LISTs to run in parallel, then what
/// each prints. Meanwhile another IMAP client logs in and the SMTP
/// greeting arrives (printed as `other ...` lines).
const LISTS: &str = include_str!("scripts/battery_imap_lists.py");

/// Defect 2: LIST patterns that took the recursive matcher minutes answer
/// at once, with the right result, and while they run another IMAP login
/// and an SMTP greeting are served; an absurd pattern gets NO [LIMIT].
#[test]
fn pathological_list_patterns_answer_and_block_nobody() {
    let t = server(&["smtp", "imaps"]);
    let smtp = t.port("smtp").to_string();
    let out = t.imaps_script(LISTS, USER, PASSWORD, &[&smtp, "2"]);
    assert!(out.contains("create OK"), "{out}");
    assert!(out.contains("other imap OK"), "{out}");
    assert!(out.contains("other smtp 250"), "{out}");
    // No name ends in b; the third pattern matches the 200 a's.
    assert_eq!(out.matches("list *a*a*a*a*a*a*b OK 0").count(), 2, "{out}");
    assert_eq!(
        out.matches("list %a%a%a%a%a%a%a%a%a%a%b OK 0").count(),
        2,
        "{out}"
    );
    assert_eq!(
        out.matches("list *a*a*a*a*a*a*a*a*a*a*a*a* OK 1").count(),
        2,
        "{out}"
    );
    assert!(out.contains("long pattern NO [LIMIT]"), "{out}");
    another_client_is_served(&t);
}

/// argv: what to do. Raw TLS sockets, as imaplib would not send these.
const LITERALS: &str = include_str!("scripts/battery_imap_literals.py");

/// Defect 4: before login a large synchronising literal gets NO without
/// `+`, a large non-synchronising one ends the connection long before its
/// bytes are in memory, and a long line is refused: 8 floods of 60 MB
/// leave the server's memory where it was (it grew by 456 MB).
#[test]
fn literals_before_login_are_small() {
    let t = server(&["imaps"]);
    let before = rss_kib(t.pid());
    let sampler = Sampler::start(t.pid());
    let out = t.imaps_script(LITERALS, USER, PASSWORD, &[]);
    let peak = sampler.peak();
    println!("VmRSS before {before} KiB, peak during the floods {peak} KiB");
    assert!(out.contains("sync a NO"), "{out}");
    assert!(!out.contains("+ Ready"), "{out}");
    assert!(out.contains("after b OK"), "{out}");
    // Every flood was cut short: the server closed before 60 MB went in.
    assert_eq!(out.matches(" True").count(), 8, "{out}");
    assert!(out.contains("line c BAD"), "{out}");
    assert!(
        peak < before + 64 * 1024,
        "VmRSS grew from {before} KiB to {peak} KiB"
    );
    another_client_is_served(&t);
}

/// Logged in: names past the limits, invisible characters, and commands
/// sized to cost CPU. Prints `<case> <answer>`.
const HOSTILE: &str = include_str!("scripts/battery_imap_hostile.py");

/// Limits and costs after login: CREATE past the name limits gets
/// NO [LIMIT] and leaves nothing behind, invisible characters NO [CANNOT];
/// deeply nested SEARCH keys, huge sequence sets, many text keys and a
/// pathological needle all get clean answers.
#[test]
fn hostile_commands_get_clean_answers() {
    let t = server(&["imaps"]);
    let before = rss_kib(t.pid());
    let out = t.imaps_script(HOSTILE, USER, PASSWORD, &[]);
    let after = rss_kib(t.pid());
    println!("VmRSS before {before} KiB, after {after} KiB\n{out}");
    let cases = [
        ("login", "OK"),
        // The 300-character name of the report.
        ("long-name", "NO_[LIMIT]"),
        // 130 levels: refused whole, no parent is left behind.
        ("deep-name", "NO_[LIMIT]"),
        ("zero-width", "NO_[CANNOT]"),
        ("rtl-override", "NO_[CANNOT]"),
        ("zero-width-utf8", "NO_[CANNOT]"),
        ("ok-name", "OK"),
        // The renamed subtree would pass 16 levels.
        ("rename-deep", "NO_[LIMIT]"),
        ("select", "OK"),
        ("append", "OK"),
        // At most 256 flags on a message, counted with those it has.
        ("keywords-300", "NO_[LIMIT]"),
        ("keywords-200", "OK"),
        ("keywords-100-more", "NO_[LIMIT]"),
        // imap-codec bounds the nesting of search keys.
        ("nested-search", "BAD"),
        ("too-long", "BAD"),
        ("many-ranges", "OK"),
        ("many-uid-ranges", "OK"),
        ("many-text-keys", "NO_[LIMIT]"),
        ("long-needle", "OK"),
        // Past 64 KiB a search string is refused before any work.
        ("huge-needle", "NO_[LIMIT]"),
        ("thread", "OK"),
        ("noop", "OK"),
    ];
    for (name, want) in cases {
        let line = out
            .lines()
            .find(|l| l.split(' ').next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} in {out}"));
        assert!(
            line.split(' ').nth(1).is_some_and(|a| a.starts_with(want)),
            "{line}\n{out}"
        );
    }
    // Nothing of the refused names was created.
    assert!(
        out.lines()
            .any(|l| l.starts_with("names ") && l.ends_with(" False False")),
        "{out}"
    );
    assert!(after < before + 64 * 1024, "{before} → {after} KiB");
    another_client_is_served(&t);
}

/// See the script: five messages with hostile From fields.
const HEADERS: &str = include_str!("scripts/battery_imap_headers.py");

/// Header SEARCH keys over hostile header blocks (5,000 duplicate From
/// fields, 2,000 encoded words, a field folded over 20,000 lines, a
/// zero-width space inside an address) give the right messages: every
/// instance of a field is read, encoded words and folding are read as
/// decoded, an invisible character is not skipped. Memory stays bounded,
/// another client is served.
#[test]
fn header_searches_over_hostile_headers_find_the_right_messages() {
    let t = server(&["imaps"]);
    let before = rss_kib(t.pid());
    let out = t.imaps_script(HEADERS, USER, PASSWORD, &[]);
    let after = rss_kib(t.pid());
    println!("VmRSS before {before} KiB, after {after} KiB\n{out}");
    for (name, want) in [
        ("append-many", "OK -"),
        ("append-words", "OK -"),
        ("append-folded", "OK -"),
        ("append-invisible", "OK -"),
        ("append-plain", "OK -"),
        ("from-evil", "OK 1,2,3"),
        ("from-angle", "OK 2"),
        ("header-from", "OK 5"),
        ("long-needle", "OK -"),
        ("not-from", "OK 4,5"),
    ] {
        assert!(
            out.lines().any(|l| l == format!("{name} {want}")),
            "{name}: want {want}\n{out}"
        );
    }
    assert!(after < before + 64 * 1024, "{before} → {after} KiB");
    another_client_is_served(&t);
}

/// argv: how many stalled connections. Each sends half a command and
/// stops; another client is served meanwhile.
const STALLED: &str = include_str!("scripts/battery_imap_stalled.py");

/// Slow clients: connections that stop mid-command, and one that stops
/// in the middle of the TLS handshake, hold nobody else up.
#[test]
fn stalled_clients_block_nobody() {
    let t = server(&["imaps"]);
    let out = t.imaps_script(STALLED, USER, PASSWORD, &["40"]);
    assert!(out.contains("other OK OK"), "{out}");
    another_client_is_served(&t);
}

/// argv: messages, MiB each, readers. Appends the messages, then READERS
/// sessions FETCH all of them at once; prints the digests each got.
const READERS: &str = include_str!("scripts/battery_imap_readers.py");

/// Twelve sessions FETCH four 6 MiB messages at once under a 16 MiB
/// budget: each message read whole waits for its share, so the server's
/// memory grows by about the budget, not by sessions × messages; every
/// session gets every message byte-exact.
#[test]
fn sessions_reading_large_messages_share_one_budget() {
    let extra = format!("{NO_TARPIT}[imap]\nmax_literal_size = 8388608\nmemory_budget_mib = 16\n");
    let t = Tern::start_with(&["imaps"], &extra);
    t.add_user(USER, PASSWORD);
    let before = rss_kib(t.pid());
    let sampler = Sampler::start(t.pid());
    let out = t.imaps_script(READERS, USER, PASSWORD, &["4", "6", "12"]);
    let peak = sampler.peak();
    println!("VmRSS before {before} KiB, peak {peak} KiB");
    assert_eq!(out.matches("append OK").count(), 4, "{out}");
    assert_eq!(out.matches("read OK True").count(), 12, "{out}");
    // Measured: +45 to +62 MiB with the budget (22 of them from the
    // APPENDs), +131 MiB without it.
    assert!(
        peak < before + 88 * 1024,
        "VmRSS grew from {before} KiB to {peak} KiB"
    );
    another_client_is_served(&t);
}
