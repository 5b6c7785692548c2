//! The import's adversarial battery: a Maildir++ tree can come from anyone
//! (a user's archive), so `tern import` must take from it only its own
//! regular files. Links to the importing user's files, FIFOs, directories
//! in `cur/`, a sparse message file of 512 MiB, a 1 GiB `dovecot-keywords`,
//! folder names IMAP would refuse (too many levels, an invisible
//! character): each is skipped with a word on stderr, the memory of the
//! import stays small, and the rest of the tree comes in.

mod common;

use std::path::Path;

use common::{BIN, Tern, python};

const VIEW: &str = include_str!("scripts/mailio_view.py");
const PW: &str = "correct horse battery staple";

/// Runs argv[1:], prints its stdout and stderr, its exit code and the
/// peak RSS (KiB) of the children of this process: only that one.
const MEASURED: &str = r#"
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], capture_output=True, stdin=subprocess.DEVNULL)
print(r.stdout.decode(errors="replace"))
print(r.stderr.decode(errors="replace"))
print("EXIT", r.returncode)
print("MAXRSS", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"#;

fn write(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

fn sparse(path: &Path, len: u64) {
    let f = std::fs::File::create(path).unwrap();
    f.set_len(len).unwrap();
}

/// How many mailboxes LIST shows the user.
fn mailbox_count(t: &Tern, user: &str) -> usize {
    let out = t.imaps_script(
        "m = imaplib.IMAP4_SSL('127.0.0.1', int(port), ssl_context=ctx)\n\
         m.login(user, password)\n\
         print(len(m.list()[1]))\n",
        user,
        PW,
        &[],
    );
    out.trim().parse().expect("a count")
}

#[test]
fn a_hostile_maildir_brings_in_only_its_own_regular_files() {
    let t = Tern::start(&["imaps"]);
    t.add_user("alice@example.org", PW);
    t.add_user("bob@example.org", PW);
    let work = t.dir.path().join("work");
    // What the importing user may read, outside the tree: a key, and a
    // folder that looks like Maildir.
    let server = work.join("server");
    write(
        &server.join("key.pem"),
        "Subject: key\r\n\r\nSECRET KEY\r\n",
    );
    write(
        &server.join("cur/9.M9.host:2,S"),
        "Subject: elsewhere\r\n\r\nnot in the tree\r\n",
    );

    let md = work.join("Maildir");
    write(&md.join("cur/1.M1.host:2,S"), "Subject: one\r\n\r\none\r\n");
    write(&md.join("new/2.M2.host"), "Subject: two\r\n\r\ntwo\r\n");
    write(
        &md.join(".Archive/cur/3.M3.host:2,S"),
        "Subject: three\r\n\r\nthree\r\n",
    );
    std::fs::create_dir_all(md.join("tmp")).unwrap();
    std::os::unix::fs::symlink(server.join("key.pem"), md.join("cur/4.M4.host:2,S")).unwrap();
    let fifo = md.join("cur/5.M5.host");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.unwrap().success(), "mkfifo");
    std::os::unix::fs::symlink(&fifo, md.join("new/6.M6.host")).unwrap();
    sparse(&md.join("cur/7.M7.host:2,S"), 512 << 20);
    std::fs::create_dir_all(md.join("cur/8.M8.host:2,S")).unwrap();
    sparse(&md.join("dovecot-keywords"), 1 << 30);
    // Folders: a link to one outside, one whose cur/ is a link, one 20
    // levels deep (IMAP allows 16), one with a zero-width space.
    std::os::unix::fs::symlink(&server, md.join(".Linked")).unwrap();
    std::fs::create_dir_all(md.join(".Half")).unwrap();
    std::os::unix::fs::symlink(server.join("cur"), md.join(".Half/cur")).unwrap();
    let deep = format!(".{}", vec!["d"; 20].join("."));
    write(
        &md.join(&deep).join("cur/10.M10.host"),
        "Subject: deep\r\n\r\ndeep\r\n",
    );
    write(
        &md.join(".INBOX\u{200b}/cur/11.M11.host"),
        "Subject: look-alike\r\n\r\nlook-alike\r\n",
    );

    let config = t.config.to_str().unwrap().to_string();
    let out = python(
        MEASURED,
        &[
            BIN,
            "--config",
            &config,
            "import",
            "alice@example.org",
            "maildir",
            md.to_str().unwrap(),
        ],
    );
    assert!(out.contains("EXIT 0"), "{out}");
    assert!(out.contains("imported 3 messages"), "{out}");
    for skipped in ["4.M4.host:2,S", "5.M5.host", "6.M6.host", "8.M8.host:2,S"] {
        assert!(
            out.contains(&format!("{skipped}: not a regular file")),
            "{skipped}: {out}"
        );
    }
    assert!(
        out.contains("7.M7.host:2,S: 536870912 bytes (over"),
        "{out}"
    );
    assert!(out.contains("too many levels"), "{out}");
    assert!(out.contains("invisible character"), "{out}");
    let rss: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("MAXRSS "))
        .and_then(|v| v.trim().parse().ok())
        .expect("MAXRSS");
    // Reading the sparse message or the keywords file whole would take
    // 512 MiB or 1 GiB.
    assert!(rss < 128 * 1024, "the import peaked at {rss} KiB");

    let seen = t.imaps_script(VIEW, "alice@example.org", PW, &[]);
    let mailboxes: std::collections::BTreeSet<&str> =
        seen.lines().filter_map(|l| l.split('|').next()).collect();
    assert_eq!(
        mailboxes,
        ["Archive", "INBOX"].into_iter().collect(),
        "{seen}"
    );
    assert_eq!(seen.lines().count(), 3, "{seen}");
    // No mailbox for what was skipped, not even an empty one.
    let (list, defaults) = (
        mailbox_count(&t, "alice@example.org"),
        mailbox_count(&t, "bob@example.org"),
    );
    assert_eq!(list, defaults, "a new account's mailboxes (Archive is one)");
}

/// `--mailbox` names a mailbox as IMAP CREATE would, or is refused.
#[test]
fn an_import_into_a_name_imap_would_refuse_is_refused() {
    let t = Tern::start(&["imaps"]);
    t.add_user("alice@example.org", PW);
    let mbox = t.dir.path().join("in.mbox");
    write(
        &mbox,
        "From a@example.net Tue Nov 14 22:13:20 2023\nSubject: x\n\nx\n",
    );
    let deep = vec!["d"; 20].join("/");
    for (name, why) in [
        (deep.as_str(), "too many levels"),
        ("INBOX\u{200b}", "invisible character"),
    ] {
        let out = t.cli(&[
            "import",
            "alice@example.org",
            "mbox",
            mbox.to_str().unwrap(),
            "--mailbox",
            name,
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(why),
            "{name:?}: {err}"
        );
    }
    let seen = t.imaps_script(VIEW, "alice@example.org", PW, &[]);
    assert!(seen.is_empty(), "nothing imported: {seen}");
}
