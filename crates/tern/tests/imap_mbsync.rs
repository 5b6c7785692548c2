//! mbsync (Debian isync) against tern: a 1,000-message INBOX synced down
//! into a Maildir, flags changed and messages deleted locally, synced
//! back; the server, read afterwards with imaplib, agrees.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Tern;

const USER: &str = "mia@example.org";
const PASSWORD: &str = "mbsync pass";
const COUNT: usize = 1000;

/// After `IMAPS_PREAMBLE`, with COUNT as its argument: APPENDs COUNT messages with
/// LITERAL+, pipelined, numbered in their Subject.
const FILL: &str = include_str!("scripts/imap_mbsync_fill.py");

/// After `IMAPS_PREAMBLE`. Prints `subject<TAB>flags` per message.
const READ: &str = include_str!("scripts/imap_mbsync_read.py");

fn mbsync(conf: &Path) -> String {
    let out = Command::new("mbsync")
        .arg("-c")
        .arg(conf)
        .arg("-a")
        .output()
        .expect("mbsync (isync; run scripts/ci-deps.sh)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "mbsync failed: {text}");
    text
}

/// The Maildir files of the local INBOX, by the number in their Subject.
fn local_messages(inbox: &Path) -> BTreeMap<usize, PathBuf> {
    let mut out = BTreeMap::new();
    for sub in ["new", "cur"] {
        let Ok(dir) = std::fs::read_dir(inbox.join(sub)) else {
            continue;
        };
        for e in dir.flatten() {
            let text = std::fs::read_to_string(e.path()).expect("read message");
            let n = text
                .lines()
                .find_map(|l| l.strip_prefix("Subject: msg "))
                .and_then(|n| n.trim().parse().ok())
                .expect("numbered subject");
            assert!(out.insert(n, e.path()).is_none(), "message {n} twice");
        }
    }
    out
}

/// Add Maildir flags (`S`, `F`, `T` …) to a message file; it moves to cur/.
fn add_maildir_flags(path: &Path, add: &str) {
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    let (base, flags) = match name.split_once(":2,") {
        Some((b, f)) => (b.to_string(), f.to_string()),
        None => (name.to_string(), String::new()),
    };
    let mut all: Vec<char> = flags.chars().chain(add.chars()).collect();
    all.sort();
    all.dedup();
    let flags: String = all.into_iter().collect();
    let maildir = path.parent().and_then(Path::parent).expect("maildir");
    std::fs::rename(path, maildir.join("cur").join(format!("{base}:2,{flags}"))).expect("rename");
}

#[test]
fn mbsync_syncs_a_thousand_messages_down_and_flags_and_deletions_back() {
    let mut t = Tern::start(&["imaps"]);
    t.add_user(USER, PASSWORD);
    let port = t.port("imaps").to_string();
    let cert = t.cert_path();
    let cert = cert.to_str().unwrap();
    let out = t.imaps_script(FILL, USER, PASSWORD, &[&COUNT.to_string()]);
    assert_eq!(out.trim(), format!("appended {COUNT}"));

    let local = tempfile::tempdir().expect("tempdir");
    let maildir = local.path().join("mail");
    std::fs::create_dir_all(&maildir).expect("mkdir");
    let conf = local.path().join("mbsyncrc");
    std::fs::write(
        &conf,
        format!(
            "IMAPAccount tern\nHost 127.0.0.1\nPort {port}\nUser {USER}\nPass \"{PASSWORD}\"\n\
             SSLType IMAPS\nCertificateFile {cert}\n\n\
             IMAPStore far\nAccount tern\n\n\
             MaildirStore near\nPath {m}/\nInbox {m}/INBOX\n\n\
             Channel inbox\nFar :far:\nNear :near:\nPatterns INBOX\nCreate Near\n\
             Sync All\nExpunge Both\nSyncState *\n",
            m = maildir.display()
        ),
    )
    .expect("write mbsyncrc");

    mbsync(&conf);
    let inbox = maildir.join("INBOX");
    let msgs = local_messages(&inbox);
    assert_eq!(msgs.len(), COUNT, "every message synced down");
    let sample = std::fs::read_to_string(&msgs[&7]).expect("read");
    // mbsync stores local copies with LF line ends (and an X-TUID header).
    assert!(sample.contains("\nThis is message 7.\n"), "{sample:?}");

    // Local changes: 0..200 read, 150..250 flagged, 300..350 trashed,
    // 400..450 deleted outright.
    for (n, path) in &msgs {
        let mut add = String::new();
        if *n < 200 {
            add.push('S');
        }
        if (150..250).contains(n) {
            add.push('F');
        }
        if (300..350).contains(n) {
            add.push('T');
        }
        if (400..450).contains(n) {
            std::fs::remove_file(path).expect("delete");
        } else if !add.is_empty() {
            add_maildir_flags(path, &add);
        }
    }
    mbsync(&conf);

    let server: BTreeMap<usize, String> = t
        .imaps_script(READ, USER, PASSWORD, &[])
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(s, f)| {
            let n = s.strip_prefix("msg ").and_then(|n| n.parse().ok());
            (n.expect("numbered subject"), f.to_string())
        })
        .collect();
    let gone: Vec<usize> = (0..COUNT).filter(|n| !server.contains_key(n)).collect();
    let expected_gone: Vec<usize> = (300..350).chain(400..450).collect();
    assert_eq!(gone, expected_gone, "trashed and deleted messages expunged");
    for (n, flags) in &server {
        let mut want = Vec::new();
        if (150..250).contains(n) {
            want.push("\\Flagged");
        }
        if *n < 200 {
            want.push("\\Seen");
        }
        assert_eq!(flags, &want.join(" "), "flags of message {n}");
    }
    // A third run finds nothing to do and changes nothing.
    mbsync(&conf);
    assert_eq!(local_messages(&inbox).len(), COUNT - 100);
    t.stop();
}
