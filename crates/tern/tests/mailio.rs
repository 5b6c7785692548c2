//! Import and export end to end: an mbox (mboxrd quoting included), an
//! mboxcl2 file (bodies by Content-Length, From lines unquoted) and a
//! Maildir++ tree with folders, flags and Dovecot keywords come in, as
//! imaplib then sees; what is exported as Maildir++ or mbox and imported
//! again into another account is the same mail, flags and bytes. An
//! import of 10,000 messages killed halfway resumes with `--dedup` and
//! ends with each message once.

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
            "1700000001.M2.host:2,FRb",
            "Subject: flagged\r\n\r\nflagged\r\n",
        ),
        ("new", "1700000002.M3.host", "Subject: new\r\n\r\nnew\r\n"),
        (
            ".Archive.2020/cur",
            "1600000000.M4.host:2,S",
            "Subject: old\r\n\r\nold\r\n",
        ),
        // Dovecot names folders in modified UTF-7: this is "Entwürfe".
        (
            ".Entw&APw-rfe/cur",
            "1600000001.M5.host:2,D",
            "Subject: draft\r\n\r\ndraft\r\n",
        ),
    ] {
        let d = root.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), body).unwrap();
    }
    for sub in ["tmp", "new", ".Archive.2020/new", ".Archive.2020/tmp"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    // Dovecot's keyword letters: b is keyword 1.
    std::fs::write(root.join("dovecot-keywords"), "0 $Label1\n1 Work\n").unwrap();
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
    assert!(out.contains("imported 5 messages"), "{out}");

    // mboxcl2: bodies by Content-Length, a From line in one unquoted.
    let cl2 = work.join("cl2.mbox");
    std::fs::write(
        &cl2,
        "From a@example.net Tue Nov 14 22:13:20 2023\nSubject: cl2 one\nContent-Length: 20\n\n\
         From the start\nbody\n\nFrom a@example.net Tue Nov 14 22:13:21 2023\n\
         Subject: cl2 two\nContent-Length: 2\n\nx\n",
    )
    .unwrap();
    let out = ok(&t.cli(&[
        "import",
        "alice@example.org",
        "mbox",
        cl2.to_str().unwrap(),
        "--mailbox",
        "Cl2",
    ]));
    assert!(out.contains("imported 2 messages"), "{out}");
    let two = t.imaps_script(
        "m = imaplib.IMAP4_SSL('127.0.0.1', int(port), ssl_context=ctx)\nm.login(user, password)\nm.select('Cl2')\nprint(m.fetch('1', '(BODY.PEEK[TEXT])')[1][0][1].decode())\n",
        "alice@example.org",
        PW,
        &[],
    );
    assert_eq!(two, "From the start\r\nbody\r\n\n", "{two:?}");

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
    assert_eq!(
        inbox,
        ["-", "Work \\Answered \\Flagged", "\\Seen"],
        "{alice:?}"
    );
    assert_eq!(flags_of("Archive/2020|"), ["\\Seen"], "{alice:?}");
    // imaplib speaks IMAP4rev1: the name comes in modified UTF-7.
    assert_eq!(flags_of("Entw&APw-rfe|"), ["\\Draft"], "{alice:?}");
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

/// The number of messages in `mailbox` and the digests of their bodies.
fn digests(t: &Tern, user: &str, mailbox: &str) -> (usize, std::collections::BTreeSet<String>) {
    let out = t.imaps_script(
        "import hashlib
m = imaplib.IMAP4_SSL('127.0.0.1', int(port), ssl_context=ctx)
m.login(user, password)
typ, n = m.select(args[0], readonly=True)
print(int(n[0]))
if int(n[0]):
    typ, data = m.fetch('1:*', '(BODY.PEEK[])')
    for item in data:
        if isinstance(item, tuple):
            print(hashlib.sha256(item[1]).hexdigest())
",
        user,
        PW,
        &[mailbox],
    );
    let mut lines = out.lines();
    let n = lines.next().unwrap().parse().unwrap();
    (n, lines.map(str::to_string).collect())
}

fn count(t: &Tern, user: &str, mailbox: &str) -> (usize, usize) {
    let (n, set) = digests(t, user, mailbox);
    (n, set.len())
}

#[test]
fn an_import_killed_halfway_resumes_with_dedup_and_ends_with_each_message_once() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let t = Tern::start(&["imaps"]);
    t.add_user("alice@example.org", PW);
    let mb = t.dir.path().join("big.mbox");
    mbox(&mb, 10_000);
    let args = [
        "--config",
        t.config.to_str().unwrap(),
        "import",
        "alice@example.org",
        "mbox",
        mb.to_str().unwrap(),
        "--mailbox",
        "Big",
    ];
    let mut child = Command::new(common::BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Progress comes as plain lines (stderr is no terminal), one at each
    // tenth: kill at the third, mid-import.
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut tenths = 0;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.starts_with("import: ") {
            tenths += 1;
            if tenths == 3 {
                break;
            }
        }
    }
    assert_eq!(tenths, 3, "no progress lines");
    child.kill().unwrap();
    let status = common::wait_bounded(&mut child, std::time::Duration::from_secs(10));
    assert!(!status.success(), "killed before it finished");
    let (part, _) = count(&t, "alice@example.org", "Big");
    assert!(part > 0 && part < 10_000, "{part} imported before the kill");

    // Again, with --dedup: what is there is skipped, the rest comes in.
    let mut again: Vec<&str> = args[2..].to_vec();
    again.push("--dedup");
    let out = ok(&t.cli(&again));
    assert!(out.contains("already there"), "{out}");
    let (n, alice) = digests(&t, "alice@example.org", "Big");
    assert_eq!((n, alice.len()), (10_000, 10_000));

    // Out as mbox and in again as bob's: the same 10,000 messages.
    t.add_user("bob@example.org", PW);
    let out_dir = t.dir.path().join("export");
    ok(&t.cli(&[
        "export",
        "alice@example.org",
        "mbox",
        out_dir.to_str().unwrap(),
    ]));
    ok(&t.cli(&[
        "import",
        "bob@example.org",
        "mbox",
        out_dir.join("Big.mbox").to_str().unwrap(),
        "--mailbox",
        "Big",
    ]));
    let (n, bob) = digests(&t, "bob@example.org", "Big");
    assert_eq!(n, 10_000);
    assert_eq!(bob, alice, "the same bytes");
}
