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

/// The spam fields of every message in INBOX and Junk, a line each:
/// `BOX SUBJECT: STATUS | SCORE` (`-` for a field the copy lacks).
const FIELDS: &str = r#"
import email
imap = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
imap.login(user, password)
for box in ["INBOX", "Junk"]:
    typ, count = imap.select(box)
    if int(count[0]) == 0:
        continue
    typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER])")
    for part in data:
        if isinstance(part, tuple):
            m = email.message_from_bytes(part[1])
            print("%s %s: %s | %s" % (box, m["Subject"], m.get("X-Spam-Status", "-"), m.get("X-Spam-Score", "-")))
imap.logout()
"#;

/// Until the account's model (and the global one) has learned
/// `min_trained` (10) of each kind, nothing is judged: the copy carries no
/// spam field at all. One more ham and it is judged.
#[test]
fn an_untrained_account_gets_no_spam_fields() {
    let t = Tern::start(&["smtp", "imaps"]);
    t.add_user("kim@example.org", "correct horse battery");
    let port = t.port("smtp");
    let send = |subject: &str| {
        let r = common::smtp::send(
            port,
            "mx.remote.example",
            "sender@remote.example",
            "kim@example.org",
            &format!(
                "From: sender@remote.example\r\nTo: kim@example.org\r\nSubject: {subject}\r\nMessage-ID: <{subject}@remote.example>\r\n\r\nbuy cheap pills now\r\n"
            ),
        );
        assert!(r.starts_with("250"), "{r}");
    };
    send("untrained");
    t.train_spam("kim@example.org", "spam", 0, 12);
    t.train_spam("kim@example.org", "ham", 0, 9);
    send("one-ham-short");
    let status = t.cli(&["spam", "status", "kim@example.org"]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.contains("12 spam, 9 ham (still learning)"),
        "{status}"
    );
    t.train_spam("kim@example.org", "ham", 9, 1);
    send("trained");
    let fields = t.imaps_script(FIELDS, "kim@example.org", "correct horse battery", &[]);
    for subject in ["untrained", "one-ham-short"] {
        assert!(
            fields
                .lines()
                .any(|l| l == format!("INBOX {subject}: - | -")),
            "{subject}:\n{fields}"
        );
    }
    let trained = fields
        .lines()
        .find(|l| l.contains(" trained: "))
        .unwrap_or_else(|| panic!("{fields}"));
    assert!(trained.starts_with("Junk trained: Yes, score="), "{fields}");
    assert!(trained.contains("tern-classifier | "), "{fields}");
}
