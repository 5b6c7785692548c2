//! QUOTA (RFC 9208, STORAGE resource) end to end with Python's imaplib:
//! the usage the store counts against `--quota`, in KiB, and APPEND over
//! the limit refused with OVERQUOTA.

mod common;

use common::Tern;

const PASSWORD: &str = "correct horse battery";

/// After `IMAPS_PREAMBLE`; one line per step.
const SCRIPT: &str = include_str!("scripts/imap_quota_script.py");

#[test]
fn quota_roots_usage_and_overquota() {
    let mut t = Tern::start(&["imaps"]);
    let _ = t.cli(&["domain", "add", "example.org", "--no-dkim"]);
    // 10 KiB for the quota user; none for the other.
    let out = t.cli(&[
        "user",
        "add",
        "q@example.org",
        "-p",
        PASSWORD,
        "--allow-weak",
        "--quota",
        "10K",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.add_user("free@example.org", PASSWORD);
    let out = t.imaps_script(SCRIPT, "q@example.org", PASSWORD, &[]);
    let lines: Vec<&str> = out.lines().collect();
    let size = 3016; // each message: 14 + 3000 + 2 octets
    assert_eq!(
        lines,
        [
            "caps True True False".to_string(),
            "root0 OK \"INBOX\" \"\" | \"\" (STORAGE 0 10)".into(),
            "root1 OK \"Archive\" \"\" | \"\" (STORAGE 6 10)".into(),
            "quota OK \"\" (STORAGE 6 10)".into(),
            "nosuch NO [NONEXISTENT] no such quota root".into(),
            "missing NO [NONEXISTENT] no such mailbox".into(),
            "set NO [NOPERM] quotas are set by the administrator".into(),
            "over NO [OVERQUOTA]".into(),
            format!("status OK \"INBOX\" (DELETED 1 DELETED-STORAGE {size})"),
        ],
        "{out}"
    );

    // Without a quota the mailbox has no quota root.
    let out = t.imaps_script(SCRIPT, "free@example.org", PASSWORD, &[]);
    assert!(out.contains("root0 OK \"INBOX\" | None"), "{out}");
    assert!(out.contains("nosuch NO [NONEXISTENT]"), "{out}");
    t.stop();
}
