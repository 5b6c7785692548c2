//! Snooze from a client's side: through the API with a time two seconds
//! ahead, a message leaves INBOX and comes back unseen without `$snoozed`,
//! and an IDLE session (imapclient) sees it arrive; a move into
//! `Snoozed/Tomorrow` records its wake-up; moving a snoozed message out by
//! hand cancels the wake-up; a wake-up due while tern was stopped happens
//! after start; two nodes on one PostgreSQL bring it back exactly once.
//! A message moved from one Snoozed mailbox to another (or snoozed again
//! through the API) still goes back where it first came from, never into
//! Snoozed; with Snooze off, the Snoozed mailboxes are ordinary ones.
//! (The wake-up times themselves, daylight saving changes included, are
//! unit tests of `tern_manage::wake_time`.)

mod common;

use std::time::{Duration, Instant};

use common::pg::PgDb;
use common::smtp::send;
use common::{Tern, python};

const USER: &str = "kim@example.org";
const PW: &str = "correct horse battery";

fn deliver(t: &Tern, subject: &str) {
    let r = send(
        t.port("smtp"),
        "mx.remote.example",
        "someone@remote.example",
        USER,
        &format!(
            "From: someone@remote.example\r\nTo: {USER}\r\nSubject: {subject}\r\n\r\nhello\r\n"
        ),
    );
    assert!(r.starts_with("250"), "{r}");
}

/// Prints the UID of the message with subject args[1] in mailbox args[0].
const UID: &str = r#"
imap = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
imap.login(user, password)
imap.select(args[0])
typ, data = imap.uid("SEARCH", "SUBJECT", args[1])
print(data[0].decode().split()[0] if data[0] else "none")
imap.logout()
"#;

/// `box: subject flags` for INBOX, Snoozed and Archive.
const LIST: &str = r#"
imap = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
imap.login(user, password)
for box in ["INBOX", "Snoozed", "Snoozed/Tomorrow", "Archive"]:
    typ, count = imap.select('"%s"' % box, readonly=True)
    if typ != "OK" or int(count[0]) == 0:
        continue
    typ, data = imap.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    for part in data:
        if isinstance(part, tuple):
            flags = part[0].decode().split("FLAGS (")[1].split(")")[0]
            print("%s: %s [%s]" % (box, part[1].decode().strip(), flags))
imap.logout()
"#;

/// Move the message with subject args[1] from args[0] to args[2]; prints
/// the reply's status.
const MOVE: &str = r#"
imap = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
imap.login(user, password)
imap.select('"%s"' % args[0])
typ, data = imap.uid("SEARCH", "SUBJECT", args[1])
uids = data[0].split()
assert uids, data
print(imap.uid("MOVE", uids[0], '"%s"' % args[2])[0])
imap.logout()
"#;

fn snoozed_list(t: &Tern) -> String {
    String::from_utf8_lossy(&t.cli(&["user", "snooze", USER, "list"]).stdout).into_owned()
}

fn snooze_api(t: &Tern, mailbox: &str, uid: &str, secs: i64) -> String {
    python(
        r#"
import sys, time, requests, urllib3
urllib3.disable_warnings()
port, user, pw, mailbox, uid, secs = sys.argv[1:7]
s = requests.Session(); s.verify = False; s.trust_env = False; s.auth = (user, pw)
r = s.post("https://127.0.0.1:%s/api/v1/me/snooze" % port,
           json={"mailbox": mailbox, "uid": int(uid), "until": int(time.time()) + int(secs)})
print(r.status_code, r.text)
"#,
        &[
            &t.port("https").to_string(),
            USER,
            PW,
            mailbox,
            uid,
            &secs.to_string(),
        ],
    )
}

fn wait_for(t: &Tern, what: &str, limit: Duration) -> String {
    let start = Instant::now();
    loop {
        let l = t.imaps_script(LIST, USER, PW, &[]);
        if l.contains(what) {
            return l;
        }
        assert!(start.elapsed() < limit, "no {what:?} in {limit:?}:\n{l}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn a_snoozed_message_comes_back_unseen_and_idle_sees_it() {
    let t = Tern::start(&["smtp", "imaps", "https"]);
    t.add_user(USER, PW);
    assert!(
        t.cli(&["user", "snooze", USER, "on", "--time-zone", "Europe/Berlin"])
            .status
            .success()
    );
    deliver(&t, "wake-me");
    let uid = t.imaps_script(UID, USER, PW, &["INBOX", "wake-me"]);
    // Seen before it is snoozed; unseen when it comes back. An IDLE
    // session on INBOX (imapclient) is told of its arrival.
    let out = python(
        r#"
import ssl, sys, time, requests, urllib3
from imapclient import IMAPClient
urllib3.disable_warnings()
imaps, https, user, pw = sys.argv[1:5]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
c = IMAPClient("127.0.0.1", port=int(imaps), ssl=True, ssl_context=ctx, timeout=30)
c.login(user, pw)
c.select_folder("INBOX")
uid = c.search(["SUBJECT", "wake-me"])[0]
c.add_flags([uid], [b"\\Seen"])
s = requests.Session(); s.verify = False; s.trust_env = False; s.auth = (user, pw)
r = s.post("https://127.0.0.1:%s/api/v1/me/snooze" % https,
           json={"mailbox": "INBOX", "uid": uid, "until": int(time.time()) + 2})
print("snooze", r.status_code)
c.noop()
print("left", c.search(["SUBJECT", "wake-me"]) == [])
c.idle()
seen = False
deadline = time.time() + 20
while time.time() < deadline and not seen:
    for resp in c.idle_check(timeout=2):
        if len(resp) > 1 and resp[1] == b"EXISTS":
            seen = True
c.idle_done()
print("idle saw it", seen)
back = c.search(["SUBJECT", "wake-me"])
flags = c.get_flags(back)[back[0]]
print("back unseen", b"\\Seen" not in flags, b"$snoozed" not in [f.lower() for f in flags])
c.logout()
"#,
        &[
            &t.port("imaps").to_string(),
            &t.port("https").to_string(),
            USER,
            PW,
        ],
    );
    for want in [
        "snooze 204",
        "left True",
        "idle saw it True",
        "back unseen True True",
    ] {
        assert!(out.lines().any(|l| l == want), "{want}:\n{out} (uid {uid})");
    }
}

#[test]
fn moves_snooze_and_cancel_and_a_missed_wake_up_happens_at_start() {
    let mut t = Tern::start(&["smtp", "imaps", "https"]);
    t.add_user(USER, PW);
    assert!(t.cli(&["user", "snooze", USER, "on"]).status.success());
    // A move into Snoozed/Tomorrow records a wake-up hours ahead.
    deliver(&t, "tomorrow");
    let moved = python(
        r#"
import imaplib, ssl, sys
port, user, pw = sys.argv[1:4]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
imap = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
imap.login(user, pw)
imap.select("INBOX")
typ, data = imap.uid("SEARCH", "SUBJECT", "tomorrow")
typ, _ = imap.uid("MOVE", data[0].split()[0], '"Snoozed/Tomorrow"')
print(typ)
"#,
        &[&t.port("imaps").to_string(), USER, PW],
    );
    assert_eq!(moved.trim(), "OK");
    let listed =
        String::from_utf8_lossy(&t.cli(&["user", "snooze", USER, "list"]).stdout).into_owned();
    assert!(listed.starts_with("Snoozed/Tomorrow\t"), "{listed}");
    assert!(listed.contains("back to INBOX"), "{listed}");
    let l = t.imaps_script(LIST, USER, PW, &[]);
    assert!(
        l.lines()
            .any(|x| x.starts_with("Snoozed/Tomorrow: Subject: tomorrow") && x.contains("$snoozed")),
        "{l}"
    );

    // Moved out by hand: the wake-up is cancelled.
    deliver(&t, "cancelled");
    let uid = t.imaps_script(UID, USER, PW, &["INBOX", "cancelled"]);
    assert!(snooze_api(&t, "INBOX", uid.trim(), 3).starts_with("204"));
    let suid = t.imaps_script(UID, USER, PW, &["Snoozed", "cancelled"]);
    let mv = python(
        r#"
import imaplib, ssl, sys
port, user, pw, uid = sys.argv[1:5]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
imap = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
imap.login(user, pw)
imap.select("Snoozed")
print(imap.uid("MOVE", uid, "Archive")[0])
"#,
        &[&t.port("imaps").to_string(), USER, PW, suid.trim()],
    );
    assert_eq!(mv.trim(), "OK");
    std::thread::sleep(Duration::from_secs(6));
    let l = t.imaps_script(LIST, USER, PW, &[]);
    assert!(l.contains("Archive: Subject: cancelled"), "{l}");
    assert!(!l.contains("INBOX: Subject: cancelled"), "{l}");

    // Due while tern was stopped: it comes back after the start. Snoozed
    // for an hour, so it is surely still snoozed at the stop; its time
    // then passes while tern is down (the row is made due in the file).
    deliver(&t, "while-down");
    let uid = t.imaps_script(UID, USER, PW, &["INBOX", "while-down"]);
    assert!(snooze_api(&t, "INBOX", uid.trim(), 3600).starts_with("204"));
    let l = t.imaps_script(LIST, USER, PW, &[]);
    assert!(l.contains("Snoozed: Subject: while-down"), "{l}");
    t.stop();
    let due = python(
        r#"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("UPDATE snoozed SET until = 1 WHERE mailbox_id IN "
               "(SELECT id FROM mailboxes WHERE name = 'Snoozed')").rowcount
db.commit()
print(n)
"#,
        &[t.data_dir()
            .join("tern.sqlite")
            .to_str()
            .expect("utf-8 path")],
    );
    assert_eq!(due.trim(), "1");
    t.launch();
    wait_for(&t, "INBOX: Subject: while-down", Duration::from_secs(20));
}

#[test]
fn two_nodes_bring_a_message_back_once() {
    let db = PgDb::create();
    let a = Tern::start_with(&["smtp", "imaps", "https"], &db.config());
    let b = Tern::start_with(&["imaps"], &db.config());
    a.add_user(USER, PW);
    deliver(&a, "once");
    let uid = a.imaps_script(UID, USER, PW, &["INBOX", "once"]);
    assert!(snooze_api(&a, "INBOX", uid.trim(), 2).starts_with("204"));
    wait_for(&b, "INBOX: Subject: once", Duration::from_secs(20));
    // Both nodes' loops have run several rounds since: still one copy.
    std::thread::sleep(Duration::from_secs(5));
    let l = b.imaps_script(LIST, USER, PW, &[]);
    assert_eq!(l.matches("Subject: once").count(), 1, "{l}");
}

#[test]
fn a_message_moved_between_snoozed_mailboxes_still_goes_back_where_it_came_from() {
    let t = Tern::start(&["smtp", "imaps", "https"]);
    t.add_user(USER, PW);
    // Turned on through the API (`PUT /api/v1/me/snooze`).
    let on = python(
        r#"
import sys, requests, urllib3
urllib3.disable_warnings()
port, user, pw = sys.argv[1:4]
s = requests.Session(); s.verify = False; s.trust_env = False; s.auth = (user, pw)
base = "https://127.0.0.1:%s/api/v1/me/snooze" % port
print("put", s.put(base, json={"enabled": True, "time_zone": "Europe/Berlin"}).status_code)
got = s.get(base).json()
print("get", got["enabled"], got["time_zone"])
"#,
        &[&t.port("https").to_string(), USER, PW],
    );
    for want in ["put 204", "get True Europe/Berlin"] {
        assert!(on.lines().any(|l| l == want), "{want}:\n{on}");
    }
    let mv = |from: &str, subject: &str, to: &str| {
        let r = t.imaps_script(MOVE, USER, PW, &[from, subject, to]);
        assert_eq!(r.trim(), "OK", "{from} -> {to}");
    };
    // INBOX, then Tomorrow, then Next week: one wake-up, back to INBOX.
    deliver(&t, "hop");
    mv("INBOX", "hop", "Snoozed/Tomorrow");
    mv("Snoozed/Tomorrow", "hop", "Snoozed/Next week");
    let listed = snoozed_list(&t);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.starts_with("Snoozed/Next week\t"), "{listed}");
    assert!(listed.contains("back to INBOX"), "{listed}");
    // Snoozed again through the API, from Next week: it wakes into INBOX.
    let uid = t.imaps_script(UID, USER, PW, &["\"Snoozed/Next week\"", "hop"]);
    let r = snooze_api(&t, "Snoozed/Next week", uid.trim(), 2);
    assert!(r.starts_with("204"), "{r}");
    let l = wait_for(&t, "INBOX: Subject: hop", Duration::from_secs(20));
    assert!(!l.contains("$snoozed"), "{l}");
    assert!(snoozed_list(&t).is_empty(), "{}", snoozed_list(&t));

    // Moved out of Snoozed by hand: no wake-up and no `$snoozed` left.
    deliver(&t, "by-hand");
    mv("INBOX", "by-hand", "Snoozed/Tomorrow");
    mv("Snoozed/Tomorrow", "by-hand", "Archive");
    let l = t.imaps_script(LIST, USER, PW, &[]);
    assert!(
        l.lines()
            .any(|x| x.starts_with("Archive: Subject: by-hand") && !x.contains("$snoozed")),
        "{l}"
    );
    assert!(snoozed_list(&t).is_empty(), "{}", snoozed_list(&t));

    // Snooze off: the mailboxes stay, as ordinary ones.
    assert!(t.cli(&["user", "snooze", USER, "off"]).status.success());
    deliver(&t, "while-off");
    mv("INBOX", "while-off", "Snoozed/Tomorrow");
    let l = t.imaps_script(LIST, USER, PW, &[]);
    assert!(
        l.lines()
            .any(|x| x.starts_with("Snoozed/Tomorrow: Subject: while-off")
                && !x.contains("$snoozed")),
        "{l}"
    );
    assert!(snoozed_list(&t).is_empty(), "{}", snoozed_list(&t));
}
