//! Import and export end to end: an mbox (mboxrd quoting included) and a
//! Maildir++ tree with folders and flags come in, as imaplib then sees;
//! what is exported as Maildir++ or mbox and imported again into another
//! account is the same mail, flags and bytes.

mod common;

use std::path::Path;

use common::Tern;
use common::checks::ok;

const VIEW: &str = include_str!("scripts/mailio_view.py");
const PW: &str = "correct horse battery staple";

fn view(t: &Tern, user: &str) -> Vec<String> {
    t.imaps_script(VIEW, user, PW, &[])
        .lines()
        .map(str::to_string)
        .collect()
}

fn mbox(path: &Path, n: usize) {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "From sender@example.net Tue Nov 14 22:13:{:02} 2023\n\
             From: sender@example.net\nSubject: message {i}\nMessage-ID: <{i}@example.net>\n\n\
             >From the start of a line\nbody {i}\n\n",
            i % 60
        ));
    }
    std::fs::write(path, s).unwrap();
}

fn maildir(root: &Path) {
    for (dir, name, body) in [
        (
            "cur",
            "1700000000.M1.host:2,S",
            "Subject: seen\r\n\r\nseen\r\n",
        ),
        (
            "cur",
            "1700000001.M2.host:2,FR",
            "Subject: flagged\r\n\r\nflagged\r\n",
        ),
        ("new", "1700000002.M3.host", "Subject: new\r\n\r\nnew\r\n"),
        (
            ".Archive.2020/cur",
            "1600000000.M4.host:2,S",
            "Subject: old\r\n\r\nold\r\n",
        ),
    ] {
        let d = root.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), body).unwrap();
    }
    for sub in ["tmp", "new", ".Archive.2020/new", ".Archive.2020/tmp"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
}

#[test]
fn mbox_and_maildir_come_in_and_go_out_unchanged() {
    let t = Tern::start(&["imaps"]);
    for u in ["alice", "bob", "carol"] {
        t.add_user(&format!("{u}@example.org"), PW);
    }
    let work = t.dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();

    // An mbox of 2,000 messages, one mailbox.
    let mb = work.join("old.mbox");
    mbox(&mb, 2000);
    let out = ok(&t.cli(&[
        "import",
        "alice@example.org",
        "mbox",
        mb.to_str().unwrap(),
        "--mailbox",
        "Old",
    ]));
    assert!(out.contains("imported 2000 messages"), "{out}");
    // A Maildir++ tree with a folder and flags.
    let md = work.join("Maildir");
    maildir(&md);
    let out = ok(&t.cli(&[
        "import",
        "alice@example.org",
        "maildir",
        md.to_str().unwrap(),
    ]));
    assert!(out.contains("imported 4 messages"), "{out}");

    let alice = view(&t, "alice@example.org");
    assert_eq!(alice.iter().filter(|l| l.starts_with("Old|")).count(), 2000);
    let flags_of = |subject_box: &str| {
        alice
            .iter()
            .filter(|l| l.starts_with(subject_box))
            .map(|l| l.split('|').nth(1).unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let mut inbox = flags_of("INBOX|");
    inbox.sort();
    assert_eq!(inbox, ["-", "\\Answered \\Flagged", "\\Seen"], "{alice:?}");
    assert_eq!(flags_of("Archive/2020|"), ["\\Seen"], "{alice:?}");
    // mboxrd: the quoted From line lost its `>`.
    let one = t.imaps_script(
        "m = imaplib.IMAP4_SSL('127.0.0.1', int(port), ssl_context=ctx)\nm.login(user, password)\nm.select('Old')\nprint(m.fetch('1', '(BODY.PEEK[TEXT])')[1][0][1].decode())\n",
        "alice@example.org",
        PW,
        &[],
    );
    assert!(
        one.contains("From the start of a line\r\nbody 0"),
        "{one:?}"
    );

    // Out as Maildir++, in again as bob: the same mail.
    let out_md = work.join("export-md");
    ok(&t.cli(&[
        "export",
        "alice@example.org",
        "maildir",
        out_md.to_str().unwrap(),
    ]));
    ok(&t.cli(&[
        "import",
        "bob@example.org",
        "maildir",
        out_md.to_str().unwrap(),
    ]));
    assert_eq!(view(&t, "bob@example.org"), alice);

    // Out as mbox, the Old mailbox in again as carol's: the same bytes.
    let out_mbox = work.join("export-mbox");
    ok(&t.cli(&[
        "export",
        "alice@example.org",
        "mbox",
        out_mbox.to_str().unwrap(),
    ]));
    let old = out_mbox.join("Old.mbox");
    ok(&t.cli(&[
        "import",
        "carol@example.org",
        "mbox",
        old.to_str().unwrap(),
        "--mailbox",
        "Old",
    ]));
    let strip = |v: &[String]| {
        v.iter()
            .filter(|l| l.starts_with("Old|"))
            .map(|l| l.rsplit('|').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&view(&t, "carol@example.org")), strip(&alice));
}
