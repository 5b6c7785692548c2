//! Online backup and restore end to end: a backup taken while mail keeps
//! arriving over SMTP, restored into an empty data dir, gives an IMAP
//! client the same mailbox — UIDVALIDITY, UIDs, flags, MODSEQ and bytes of
//! every message acknowledged before the backup began; `backup verify`
//! finds a damaged file; restore refuses a data dir that holds a store.

mod common;

use std::collections::BTreeSet;

use common::Tern;
use common::checks::{fails, ok};

const VIEW: &str = include_str!("scripts/backup_view.py");

fn mail(t: &Tern, n: usize, tag: &str) {
    for i in 0..n {
        let r = common::smtp::send(
            t.port("smtp"),
            "mx.remote.example",
            "x@remote.example",
            "alice@example.org",
            &format!("From: x@remote.example\r\nSubject: {tag} {i}\r\n\r\n{tag} body {i}"),
        );
        assert!(r.starts_with("250"), "{r}");
    }
}

#[test]
fn a_backup_taken_while_mail_arrives_restores_the_same_mailbox() {
    let mut t = Tern::start(&["smtp", "imaps"]);
    t.add_user("alice@example.org", "correct horse battery staple");
    mail(&t, 30, "before");
    let pw = "correct horse battery staple";
    t.imaps_script(VIEW, "alice@example.org", pw, &["mark"]);
    let before: Vec<String> = t
        .imaps_script(VIEW, "alice@example.org", pw, &[])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(before.len(), 1 + 29, "{before:?}");
    // What a QRESYNC client caches: UIDVALIDITY and the highest MODSEQ.
    let uidvalidity = before[0].split_whitespace().nth(1).unwrap().to_string();
    let highest = before[1..]
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        .max()
        .unwrap()
        .to_string();

    // The backup runs while more mail arrives.
    let dest = t.dir.path().join("backup");
    let port = t.port("smtp");
    let sender = std::thread::spawn(move || {
        for i in 0..20 {
            let r = common::smtp::send(
                port,
                "mx.remote.example",
                "x@remote.example",
                "alice@example.org",
                &format!("From: x@remote.example\r\nSubject: during {i}\r\n\r\nduring {i}"),
            );
            assert!(r.starts_with("250"), "{r}");
        }
    });
    let out = ok(&t.cli(&["backup", dest.to_str().unwrap()]));
    sender.join().unwrap();
    assert!(out.contains("backup of 1 accounts"), "{out}");
    ok(&t.cli(&["backup", "verify", dest.to_str().unwrap()]));
    // An incremental backup links what the first one holds.
    let next = t.dir.path().join("backup2");
    ok(&t.cli(&[
        "backup",
        next.to_str().unwrap(),
        "--incremental",
        dest.to_str().unwrap(),
    ]));
    ok(&t.cli(&["backup", "verify", next.to_str().unwrap()]));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(next.join("manifest.json")).unwrap()).unwrap();
    let first = m["files"][0]["path"].as_str().unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(next.join(first)).unwrap().ino(),
        std::fs::metadata(dest.join(first)).unwrap().ino(),
        "hard-linked, not copied"
    );

    // Restore into an empty data dir, and serve from it.
    t.stop();
    let data = t.data_dir();
    std::fs::rename(&data, t.dir.path().join("data.old")).unwrap();
    let restored = ok(&t.cli(&["restore", dest.to_str().unwrap()]));
    assert!(restored.contains("(verified)"), "{restored}");
    fails(
        &t.cli(&["restore", dest.to_str().unwrap()]),
        2,
        "already holds a store",
    );
    t.launch();
    let after: Vec<String> = t
        .imaps_script(VIEW, "alice@example.org", pw, &[])
        .lines()
        .map(str::to_string)
        .collect();
    // Every message acknowledged before the backup began is there as it
    // was (same UIDVALIDITY, UID, MODSEQ, flags, bytes); of those that
    // arrived during it, some may be.
    assert_eq!(after[0], before[0], "UIDVALIDITY");
    let after_set: BTreeSet<&String> = after.iter().collect();
    for line in &before[1..] {
        assert!(
            after_set.contains(line),
            "{line} missing after restore: {after:?}"
        );
    }
    assert!(after.len() <= 1 + 29 + 20);
    // The QRESYNC client resyncs without refetching: nothing it knew is
    // reported changed or vanished; only mail that arrived during the
    // backup (new UIDs) is news.
    let known: BTreeSet<String> = before[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    let news = t.imaps_script(
        include_str!("scripts/backup_qresync.py"),
        "alice@example.org",
        pw,
        &[&uidvalidity, &highest],
    );
    for line in news.lines() {
        if let Some(set) = line
            .rsplit(' ')
            .next()
            .filter(|_| line.starts_with("VANISHED"))
        {
            // Only what the client did not have (the message expunged
            // before it cached the mailbox) may be reported gone.
            for part in set.split(',') {
                let (a, b) = part.split_once(':').unwrap_or((part, part));
                let (a, b): (u32, u32) = (a.parse().unwrap(), b.parse().unwrap());
                for uid in a.min(b)..=a.max(b) {
                    assert!(!known.contains(&uid.to_string()), "{line}");
                }
            }
            continue;
        }
        let uid = line
            .split("UID ")
            .nth(1)
            .and_then(|r| r.split([' ', ')']).next())
            .unwrap_or("");
        assert!(!known.contains(uid), "a known message was reported: {line}");
    }

    // A damaged file is found (the hard link shares it: both see it).
    std::fs::write(dest.join(first), b"rotted").unwrap();
    let bad = t.cli(&["backup", "verify", dest.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains(first));
}
