//! Online backup and restore end to end (issue 24): 1,000 messages wait in
//! an INBOX; `tern backup` starts once the first of 2,000 more have been
//! acknowledged over SMTP, and runs while the rest keep arriving and an IMAP
//! client flags some of the earlier messages and expunges others. Restored
//! into an empty data dir, the store gives an IMAP client the same
//! UIDVALIDITY; every message acknowledged before the backup began and left
//! alone by that client, byte-exact with its UID, flags and MODSEQ; each
//! message the client touched either as it was or as the client left it,
//! never otherwise and never twice; of the mail that arrived during the
//! backup, nothing but messages exactly as the live server held them. A
//! QRESYNC client that cached the mailbox before the backup hears of nothing
//! it knew and nobody touched. An incremental backup hard-links what the
//! first one holds; `backup verify` finds a damaged file; restore refuses a
//! data dir that holds a store.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::Tern;
use common::checks::{fails, ok};

const VIEW: &str = include_str!("scripts/backup_view.py");
const SEND: &str = include_str!("scripts/backup_send.py");
const TOUCH: &str = include_str!("scripts/backup_touch.py");
const USER: &str = "alice@example.org";
const PW: &str = "correct horse battery staple";
/// Messages in the INBOX before the backup, and arriving while it runs.
const BEFORE: usize = 1000;
const DURING: usize = 2000;
/// Connections the BEFORE messages arrive over.
const FILLERS: usize = 4;
/// `tern backup` starts once this many of the DURING messages are
/// acknowledged and the IMAP client has made TOUCH_START changes, so that
/// it begins in the middle of both.
const HEAD_START: usize = 100;
const TOUCH_START: usize = 20;
/// Thousands of messages from one address in seconds: no rate limit, no
/// tarpit, and no SPF/DKIM/DMARC checks for loopback clients (tested
/// elsewhere; here they would more than triple the time the mail takes).
const UNLIMITED: &str = "[limits.smtp]\nper_ip = 100\n[rate]\nconnections_per_minute_per_ip = 0\n\
                         messages_per_minute_per_ip = 0\n[tarpit]\nenabled = false\n\
                         [checks]\ntrusted_networks = [\"127.0.0.0/8\"]\n";

/// The INBOX as `backup_view.py` prints it: the UIDVALIDITY line, and per
/// UID the line "UID MODSEQ FLAGS SHA256".
struct View {
    uidvalidity: String,
    lines: BTreeMap<u32, String>,
}

fn view(t: &Tern) -> View {
    let out = t.imaps_script(VIEW, USER, PW, &[]);
    let mut it = out.lines();
    let uidvalidity = it.next().expect("UIDVALIDITY line").to_string();
    let mut lines = BTreeMap::new();
    for l in it {
        let uid: u32 = l.split_whitespace().next().unwrap().parse().unwrap();
        assert!(
            lines.insert(uid, l.to_string()).is_none(),
            "UID {uid} twice"
        );
    }
    View { uidvalidity, lines }
}

fn field(line: &str, n: usize) -> &str {
    line.split_whitespace().nth(n).unwrap()
}

/// The SHA-256 of a message's bytes: the last field of its line (flags
/// may be several words).
fn digest(line: &str) -> &str {
    line.rsplit(' ').next().unwrap()
}

/// A Python script at work (`backup_send.py`, `backup_touch.py`): what it
/// has printed so far, a line per step done, read as it goes. Killed on
/// drop if still running.
struct Script {
    child: Option<Child>,
    out: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl Script {
    fn start(code: &str, args: &[&str]) -> Script {
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(code)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3");
        let stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let lines = out.clone();
        let reader = std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(l);
            }
        });
        Script {
            child: Some(child),
            out,
            reader: Some(reader),
        }
    }

    /// `backup_send.py`: COUNT messages to the account over one SMTP
    /// connection.
    fn send(t: &Tern, count: usize, tag: &str) -> Script {
        Script::start(
            SEND,
            &[&t.port("smtp").to_string(), &count.to_string(), tag],
        )
    }

    /// How many steps the script has done so far.
    fn done(&self) -> usize {
        self.out.lock().unwrap().len()
    }

    /// Wait (bounded) until the script has done at least `n` steps; how
    /// many it has.
    fn wait_for(&mut self, n: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let done = self.out.lock().unwrap().len();
            if done >= n {
                return done;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the script stopped ({status}) after {done} steps");
            }
            assert!(Instant::now() < deadline, "{done} of {n} steps in 60 s");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Wait (bounded) for the script to finish well; all it printed.
    fn finish(mut self) -> Vec<String> {
        let mut child = self.child.take().unwrap();
        let status = common::wait_bounded(&mut child, Duration::from_secs(120));
        self.reader.take().unwrap().join().unwrap();
        assert!(status.success(), "the script failed: {status}");
        std::mem::take(&mut *self.out.lock().unwrap())
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // The pipe closed with the process: the reader is at its end.
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// What happened while the backup ran.
struct Busy {
    /// What `tern backup` printed.
    out: String,
    /// DURING messages acknowledged before `tern backup` started.
    acked_first: usize,
    /// Changes the IMAP client made before `tern backup` started.
    touched_first: usize,
    /// What `backup_touch.py` printed.
    touched: Vec<String>,
}

/// `tern backup DEST` in the middle of it all: once HEAD_START of DURING
/// messages are acknowledged and the IMAP client (flagging `flag`,
/// expunging `gone`) has made its first changes, while the rest of both go
/// on. Returns when all three are done.
fn backup_while_busy(t: &Tern, dest: &Path, flag: &[u32], gone: &[u32]) -> Busy {
    let mut sender = Script::send(t, DURING, "during");
    sender.wait_for(HEAD_START);
    let list = |uids: &[u32]| uids.iter().map(u32::to_string).collect::<Vec<_>>();
    let (flag, gone) = (list(flag).join(","), list(gone).join(","));
    let (port, cafile) = (t.port("imaps").to_string(), t.cert_path());
    let mut client = Script::start(
        TOUCH,
        &[&port, cafile.to_str().unwrap(), USER, PW, &flag, &gone],
    );
    let touched_first = client.wait_for(TOUCH_START);
    let acked_first = sender.done();
    let out = ok(&t.cli(&["backup", dest.to_str().unwrap()]));
    let touched = client.finish();
    assert_eq!(sender.finish().len(), DURING, "every message acknowledged");
    Busy {
        out,
        acked_first,
        touched_first,
        touched,
    }
}

/// The states a touched UID may be in besides the one it had before the
/// backup: each one the client's STORE responses reported (same bytes),
/// and `None` (absent) once it expunged it.
fn client_states(before: &View, touched: &[String]) -> BTreeMap<u32, Vec<Option<String>>> {
    let mut states: BTreeMap<u32, Vec<Option<String>>> = BTreeMap::new();
    for l in touched {
        if let Some(uid) = l.strip_prefix("gone ") {
            states.entry(uid.parse().unwrap()).or_default().push(None);
            continue;
        }
        let uid: u32 = field(l, 0).parse().unwrap();
        let digest = digest(&before.lines[&uid]);
        let state = format!("{l} {digest}");
        states.entry(uid).or_default().push(Some(state));
    }
    states
}

/// The restored INBOX against the one before the backup and the live one
/// after it, message by message.
fn check_restored(
    before: &View,
    live: &View,
    after: &View,
    touched: &BTreeMap<u32, Vec<Option<String>>>,
    acked_first: usize,
) {
    assert_eq!(after.uidvalidity, before.uidvalidity, "UIDVALIDITY");
    for (uid, line) in &before.lines {
        let got = after.lines.get(uid);
        match touched.get(uid) {
            None => assert_eq!(
                got,
                Some(line),
                "UID {uid}: untouched, acknowledged before the backup"
            ),
            Some(states) => assert!(
                got == Some(line) || states.contains(&got.cloned()),
                "UID {uid} was {line}, the client made it {states:?}, restored {got:?}"
            ),
        }
    }
    // Beyond what the client knew: only mail that arrived meanwhile, as the
    // live server holds it (its flags and MODSEQ never changed).
    let known = *before.lines.keys().last().unwrap();
    for (uid, line) in after.lines.range(known + 1..) {
        assert_eq!(
            live.lines.get(uid),
            Some(line),
            "UID {uid}: restored, not as it arrived"
        );
    }
    // One connection, one transaction after another, each committed before
    // its 250: the n-th message acknowledged has the n-th new UID.
    for (uid, line) in live.lines.range(known + 1..).take(acked_first) {
        assert_eq!(
            after.lines.get(uid),
            Some(line),
            "UID {uid}: acknowledged before the backup began"
        );
    }
    assert!(
        after
            .lines
            .range(..=known)
            .all(|(uid, _)| before.lines.contains_key(uid)),
        "an expunged UID came back"
    );
    let mut digests = BTreeMap::new();
    for line in after.lines.values() {
        let twice = digests.insert(digest(line), line);
        assert!(twice.is_none(), "restored twice: {twice:?} and {line}");
    }
}

/// The live server after the backup: what the client did, and all the mail.
fn check_live(
    before: &View,
    live: &View,
    touched: &BTreeMap<u32, Vec<Option<String>>>,
    gone: usize,
) {
    assert_eq!(live.uidvalidity, before.uidvalidity, "UIDVALIDITY");
    for (uid, line) in &before.lines {
        let want = match touched.get(uid) {
            None => Some(line),
            Some(states) => states.last().unwrap().as_ref(),
        };
        assert_eq!(live.lines.get(uid), want, "live UID {uid}");
    }
    assert_eq!(live.lines.len(), before.lines.len() - gone + DURING);
}

/// An incremental backup after `dest` links what `dest` holds; the path
/// of the first file both list.
fn incremental_links(t: &Tern, dest: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
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
    let first = m["files"][0]["path"].as_str().unwrap().to_string();
    assert_eq!(
        std::fs::metadata(next.join(&first)).unwrap().ino(),
        std::fs::metadata(dest.join(&first)).unwrap().ino(),
        "hard-linked, not copied"
    );
    first
}

/// A QRESYNC client that cached the mailbox (`cached`: UIDVALIDITY and
/// HIGHESTMODSEQ) reconnects: no UID it knew and nobody touched
/// (`untouched`) is reported changed or vanished. News is only what the
/// IMAP client did, mail that arrived during the backup, and the message
/// expunged before the client cached the mailbox.
fn qresync_hears_nothing_of(t: &Tern, cached: &[&str], untouched: impl Fn(u32) -> bool) {
    let news = t.imaps_script(include_str!("scripts/backup_qresync.py"), USER, PW, cached);
    for line in news.lines() {
        if let Some(set) = line
            .rsplit(' ')
            .next()
            .filter(|_| line.starts_with("VANISHED"))
        {
            for part in set.split(',') {
                let (a, b) = part.split_once(':').unwrap_or((part, part));
                let (a, b): (u32, u32) = (a.parse().unwrap(), b.parse().unwrap());
                for uid in a.min(b)..=a.max(b) {
                    assert!(!untouched(uid), "{line}");
                }
            }
            continue;
        }
        let uid = line
            .split("UID ")
            .nth(1)
            .and_then(|r| r.split([' ', ')']).next())
            .and_then(|u| u.parse().ok())
            .unwrap_or_else(|| panic!("a FETCH without its UID: {line}"));
        assert!(!untouched(uid), "a known message was reported: {line}");
    }
}

#[test]
fn a_backup_taken_while_mail_arrives_restores_the_same_mailbox() {
    let mut t = Tern::start_with(&["smtp", "imaps"], UNLIMITED);
    t.add_user(USER, PW);
    // The store before the backup fills over a few connections at once
    // (their commits share fsyncs); the order does not matter here.
    let fill: Vec<Script> = (0..FILLERS)
        .map(|n| Script::send(&t, BEFORE / FILLERS, &format!("before{n}")))
        .collect();
    let filled: usize = fill.into_iter().map(|s| s.finish().len()).sum();
    assert_eq!(filled, BEFORE);
    // Flags 1:10 and expunges the last message: an expunge the QRESYNC
    // client below never knew about.
    t.imaps_script(VIEW, USER, PW, &["mark"]);
    let before = view(&t);
    assert_eq!(before.lines.len(), BEFORE - 1);
    // What a QRESYNC client caches: UIDVALIDITY and the highest MODSEQ.
    let uidvalidity = field(&before.uidvalidity, 1).to_string();
    let highest = before
        .lines
        .values()
        .map(|l| field(l, 1).parse::<u64>().unwrap())
        .max()
        .unwrap()
        .to_string();
    // What the IMAP client touches during the backup: every 10th message
    // (at 15, 25, …, past those "mark" flagged) gets \Flagged, every 50th
    // is expunged.
    let flag: Vec<u32> = before
        .lines
        .keys()
        .copied()
        .filter(|u| u % 10 == 5 && *u > 10)
        .collect();
    let gone: Vec<u32> = before
        .lines
        .keys()
        .copied()
        .filter(|u| u % 50 == 0)
        .collect();

    let dest = t.dir.path().join("backup");
    let busy = backup_while_busy(&t, &dest, &flag, &gone);
    assert!(busy.out.contains("backup of 1 accounts"), "{}", busy.out);
    let touched = client_states(&before, &busy.touched);
    assert_eq!(touched.len(), flag.len() + gone.len(), "{:?}", busy.touched);
    let live = view(&t);
    check_live(&before, &live, &touched, gone.len());

    ok(&t.cli(&["backup", "verify", dest.to_str().unwrap()]));
    let first = incremental_links(&t, &dest);

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
    let after = view(&t);
    check_restored(&before, &live, &after, &touched, busy.acked_first);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dest.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        m["messages"].as_u64(),
        Some(after.lines.len() as u64),
        "the manifest's count"
    );
    // How far into the stream and the client's changes the snapshot fell
    // (it varies from run to run; the checks above hold wherever it falls).
    let known = *before.lines.keys().last().unwrap();
    let changed = touched
        .keys()
        .filter(|u| after.lines.get(u) != before.lines.get(u))
        .count();
    eprintln!(
        "backup: began after {} of {DURING} messages and {} of {} IMAP changes; \
         holds {} of the messages and {changed} changed messages; {}",
        busy.acked_first,
        busy.touched_first,
        busy.touched.len(),
        after.lines.range(known + 1..).count(),
        busy.out.trim().replace('\n', "; ")
    );

    // The QRESYNC client resyncs without refetching.
    let untouched = |uid: u32| before.lines.contains_key(&uid) && !touched.contains_key(&uid);
    qresync_hears_nothing_of(&t, &[&uidvalidity, &highest], untouched);

    // A damaged file is found (the hard link shares it: both see it).
    std::fs::write(dest.join(&first), b"rotted").unwrap();
    let bad = t.cli(&["backup", "verify", dest.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains(&first));
}
