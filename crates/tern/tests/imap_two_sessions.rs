//! Two sessions on one mailbox, over real sockets: what one changes, the
//! other is told at the moments RFC 3501 7.4.1 (RFC 9051 7.5.1) allows.
//! EXPUNGE never during FETCH, STORE or SEARCH (the client's message
//! numbers would shift under it), but at NOOP, IDLE and UID commands; flag
//! changes as untagged FETCH FLAGS at any command.

mod common;

use common::Tern;

const USER: &str = "tess@example.org";
const PASSWORD: &str = "two sessions";

/// A minimal client over TLS that returns every line of a command's
/// response, so that the test sees exactly which untagged responses came.
/// Prints `step<TAB>untagged lines joined by |<TAB>tagged status`.
const SCRIPT: &str = include_str!("scripts/imap_two_sessions_script.py");

#[test]
fn changes_of_one_session_reach_the_other_at_the_allowed_moments() {
    let mut t = Tern::start(&["imaps"]);
    t.add_user(USER, PASSWORD);
    let out = t.imaps_script(SCRIPT, USER, PASSWORD, &[]);
    let get = |step: &str| -> (Vec<String>, String) {
        let l = out
            .lines()
            .find(|l| l.split('\t').next() == Some(step))
            .unwrap_or_else(|| panic!("no step {step} in {out}"));
        let mut it = l.split('\t').skip(1);
        let untagged = it.next().unwrap_or("");
        let status = it.next().unwrap_or("").to_string();
        let untagged = untagged
            .split('|')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        (untagged, status)
    };
    let has_expunge = |v: &[String]| v.iter().any(|l| l.ends_with(" EXPUNGE"));

    assert_eq!(get("b-store"), (vec![], "OK".into()));
    assert_eq!(get("b-expunge").0, vec!["* 2 EXPUNGE"]);

    // FETCH: current flags for every message the client still knows of,
    // message 2 included, and no EXPUNGE.
    let (u, s) = get("a-fetch");
    assert_eq!(s, "OK");
    assert!(!has_expunge(&u), "EXPUNGE during FETCH: {u:?}");
    assert!(
        u.contains(&"* 1 FETCH (FLAGS (\\Recent \\Flagged))".to_string()),
        "{u:?}"
    );
    let (u, s) = get("a-store");
    assert_eq!(s, "OK");
    assert!(!has_expunge(&u), "EXPUNGE during STORE: {u:?}");
    assert!(
        u.contains(&"* 3 FETCH (FLAGS (\\Recent \\Seen))".to_string()),
        "{u:?}"
    );
    let (u, s) = get("a-search");
    assert_eq!(s, "OK");
    assert!(!has_expunge(&u), "EXPUNGE during SEARCH: {u:?}");
    assert!(u.contains(&"* SEARCH 1".to_string()), "{u:?}");

    assert_eq!(
        get("a-noop"),
        (vec!["* 2 EXPUNGE".to_string()], "OK".into())
    );
    let (u, _) = get("a-fetch-after");
    assert_eq!(
        u,
        [
            "* 1 FETCH (UID 1)",
            "* 2 FETCH (UID 3)",
            "* 3 FETCH (UID 4)",
            "* 4 FETCH (UID 5)",
            "* 5 FETCH (UID 6)"
        ]
    );

    // UID commands may report expunges; tern does.
    let (u, s) = get("a-uid-fetch");
    assert_eq!(s, "OK");
    assert_eq!(
        u,
        [
            "* 3 EXPUNGE",
            "* 1 FETCH (UID 1 FLAGS (\\Recent \\Flagged))",
            "* 2 FETCH (UID 3 FLAGS (\\Recent \\Seen))",
            "* 3 FETCH (UID 5 FLAGS (\\Recent))",
            "* 4 FETCH (UID 6 FLAGS (\\Recent))"
        ]
    );
    let (u, _) = get("a-uid-search");
    assert_eq!(u, ["* 1 EXPUNGE", "* SEARCH 3 5 6"]);
    // The FETCH is numbered before the expunge that follows it.
    let (u, _) = get("a-uid-store");
    assert_eq!(
        u,
        [
            "* 3 FETCH (FLAGS (\\Recent \\Answered) UID 6)",
            "* 1 EXPUNGE"
        ]
    );

    let (u, _) = get("a-noop-deleted");
    assert_eq!(u, ["* 1 FETCH (UID 5 FLAGS (\\Recent \\Deleted))"]);
    let (u, _) = get("a-idle");
    assert_eq!(
        u,
        [
            "+ idling",
            "* 1 EXPUNGE",
            "* 1 FETCH (UID 6 FLAGS (\\Recent))"
        ],
        "{out}"
    );
    let (a, _) = get("a-final");
    let (b, _) = get("b-final");
    // The same flags; \Recent only where A, the first to select, has it
    // (RFC 3501 2.3.2).
    assert_eq!(a, ["* 1 FETCH (UID 6 FLAGS (\\Recent))"]);
    assert_eq!(b, ["* 1 FETCH (UID 6 FLAGS ())"]);
    t.stop();
}
