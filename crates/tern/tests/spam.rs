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

/// `tern spam train` from an mbox file and from a Maildir++ tree, then
/// `tern spam status`: a message already trained the same way counts once.
#[test]
fn bulk_training_reads_mbox_and_maildir() {
    let t = Tern::start(&["smtp"]);
    t.add_user("kim@example.org", "correct horse battery");
    let dir = t.dir.path();
    let mbox = dir.join("spam.mbox");
    let mut text = String::new();
    for i in 0..12 {
        text.push_str(&format!(
            "From x@spam.example Mon Nov 30 12:00:00 2026\nFrom: x@spam.example\nSubject: cheap pills {i}\nMessage-ID: <s{i}@spam.example>\n\nbuy cheap pills now {i}\n\n"
        ));
    }
    std::fs::write(&mbox, text).unwrap();
    let maildir = dir.join("ham");
    for sub in ["cur", "new", "tmp", ".Work/cur", ".Work/new", ".Work/tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    for i in 0..11 {
        let sub = if i % 2 == 0 { "cur" } else { ".Work/cur" };
        std::fs::write(
            maildir.join(sub).join(format!("{i}.host:2,S")),
            format!("From: anna@partner.example\r\nSubject: minutes {i}\r\nMessage-ID: <h{i}@partner.example>\r\n\r\nthe meeting minutes {i}\r\n"),
        )
        .unwrap();
    }
    let run = |args: &[&str]| {
        let out = t.cli(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let said = run(&[
        "spam",
        "train",
        "kim@example.org",
        "--spam",
        mbox.to_str().unwrap(),
    ]);
    assert!(
        said.contains("learned 12 messages as spam (0 had been already)"),
        "{said}"
    );
    let said = run(&[
        "spam",
        "train",
        "kim@example.org",
        "--ham",
        maildir.to_str().unwrap(),
    ]);
    assert!(said.contains("learned 11 messages as ham"), "{said}");
    let said = run(&[
        "spam",
        "train",
        "kim@example.org",
        "--spam",
        mbox.to_str().unwrap(),
    ]);
    assert!(
        said.contains("learned 0 messages as spam (12 had been already)"),
        "{said}"
    );
    let status = run(&["spam", "status", "kim@example.org"]);
    assert!(
        status.contains("kim@example.org: 12 spam, 11 ham (judges)"),
        "{status}"
    );
    assert!(
        status.contains("everyone: 12 spam, 11 ham (judges)"),
        "{status}"
    );
    let out = t.cli(&[
        "spam",
        "train",
        "nobody@example.org",
        "--spam",
        mbox.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown account is the caller's error"
    );
}
