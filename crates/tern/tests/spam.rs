//! The built-in spam classifier end to end: a generated corpus (no public
//! one ships in a Debian or PyPI package) is delivered over SMTP, 80 % is
//! taught over IMAP as a user would — spam moved into Junk, ham flagged —
//! and the other 20 % is judged at delivery. Precision and recall are
//! printed; ham filed as spam must stay at or under 1 %; forged spam
//! fields are removed before tern writes its own.

mod common;

use common::{BIN, Tern};

#[test]
fn the_classifier_learns_from_moves_and_files_new_spam_in_junk() {
    // 600 messages from one address in a minute: no rate limit here.
    let t = Tern::start_with(
        &["smtp", "imaps"],
        "[rate]\nmessages_per_minute_per_ip = 0\nconnections_per_minute_per_ip = 0\n",
    );
    t.add_user("kim@example.org", "correct horse battery");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scripts/spam_classifier.py"
    );
    let out = std::process::Command::new("timeout")
        .args(["600", "python3", script])
        .arg(t.port("smtp").to_string())
        .arg(t.port("imaps").to_string())
        .args(["kim@example.org", "correct horse battery", BIN])
        .arg(&t.config)
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    let figure = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name}: {text}"))
    };
    assert!(figure("ham_in_junk") <= 0.01, "{text}");
    assert!(figure("recall") >= 0.8, "{text}");
    assert!(figure("precision") >= 0.99, "{text}");
    assert!(text.contains("forged_removed: True"), "{text}");
}
