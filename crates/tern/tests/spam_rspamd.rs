//! rspamd (Debian's, on loopback, `common/rspamd.rs`) as tern's content
//! filter: its `reject` is a 550 at the end of DATA, `add header` and
//! `rewrite subject` file into Junk with tern's `X-Spam-Status`, `no
//! action` delivers to INBOX; a message moved into Junk over IMAP is
//! learned by rspamd's controller (its `/stat` counts it). rspamd down or
//! silent: the mail is still delivered and counted in
//! `tern_spam_rspamd_failures_total` and logged as a warning, or deferred
//! with `rspamd_failure = "tempfail"`.

mod common;

use std::time::{Duration, Instant};

use common::dns::{DnsServer, Zone};
use common::rspamd::{PASSWORD, Rspamd, gtube};
use common::sink::Reserved;
use common::smtp::send;
use common::{Tern, python};

const USER: &str = "kim@example.org";
const PW: &str = "correct horse battery";

fn message(subject: &str, line: &str) -> String {
    format!(
        "From: sender@remote.example\r\nTo: {USER}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@remote.example>\r\n\r\n{line}\r\n"
    )
}

/// The subjects in each mailbox, as `BOX: subject` lines, and the
/// `X-Spam-Status` field of each message.
const LIST: &str = r#"
imap = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
imap.login(user, password)
for box in ["INBOX", "Junk"]:
    typ, count = imap.select(box)
    if int(count[0]) == 0:
        continue
    typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT X-SPAM-STATUS)])")
    for part in data:
        if isinstance(part, tuple):
            for line in part[1].decode().split("\r\n"):
                if line:
                    print(box + ": " + line)
imap.logout()
"#;

/// Move the message with this subject from INBOX to Junk.
const TO_JUNK: &str = r#"
imap = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
imap.login(user, password)
imap.select("INBOX")
typ, data = imap.uid("SEARCH", "SUBJECT", args[0])
uids = data[0].split()
assert uids, data
typ, _ = imap.uid("MOVE", uids[0], "Junk")
assert typ == "OK"
imap.logout()
print("moved")
"#;

#[test]
fn rspamd_decides_at_the_end_of_data_and_learns_from_junk_moves() {
    let mut rspamd = Rspamd::start();
    // The sender's domain lets 127.0.0.1 send for it (SPF): its mail is
    // provably its own, which an approval (below) needs.
    let dns = DnsServer::start(Zone::default().txt("remote.example", "v=spf1 ip4:127.0.0.1 -all"));
    let t = Tern::start_logged(
        &["smtp", "imaps", "submission", "http"],
        &format!(
            "{}[spam]\nclassifier = false\nrspamd_url = \"{}\"\nrspamd_controller_url = \"{}\"\nrspamd_password = \"{PASSWORD}\"\ncheck_submissions = true\n",
            dns.config(),
            rspamd.url(),
            rspamd.controller_url()
        ),
    );
    t.add_user(USER, PW);
    let port = t.port("smtp");
    let r = send(
        port,
        "mx.remote.example",
        "sender@remote.example",
        USER,
        &message("gtube", &gtube("reject")),
    );
    assert!(r.starts_with("550 5.7.1"), "{r}");
    for (subject, action) in [
        ("header", "add header"),
        ("rewrite", "rewrite subject"),
        ("clean", "no action"),
    ] {
        let r = send(
            port,
            "mx.remote.example",
            "sender@remote.example",
            USER,
            &message(subject, &gtube(action)),
        );
        assert!(r.starts_with("250"), "{action}: {r}");
    }
    // A forged field does not survive: rspamd's verdict is the only one.
    let forged = format!(
        "X-Spam-Status: No, score=-50\r\n{}",
        message("forged", &gtube("add header"))
    );
    assert!(
        send(
            port,
            "mx.remote.example",
            "sender@remote.example",
            USER,
            &forged
        )
        .starts_with("250")
    );
    let boxes = t.imaps_script(LIST, USER, PW, &[]);
    for want in [
        "Junk: Subject: header",
        "Junk: Subject: rewrite",
        "INBOX: Subject: clean",
        "Junk: Subject: forged",
    ] {
        assert!(boxes.lines().any(|l| l == want), "{want}:\n{boxes}");
    }
    assert!(!boxes.contains("gtube"), "refused, never stored:\n{boxes}");
    assert!(boxes.contains("X-Spam-Status: Yes, score=6.00"), "{boxes}");
    assert!(boxes.contains("X-Spam-Status: No, score=0.00"), "{boxes}");
    assert!(!boxes.contains("score=-50"), "{boxes}");
    // Moving a message into Junk teaches rspamd (an ordinary one: rspamd
    // learns nothing from its test patterns).
    let text = "Please find the minutes of the garden committee meeting below. \
                We discussed the new compost bins, the watering rota for the summer, \
                the budget for seeds and tools, and the open day in September. \
                Volunteers are welcome to sign up for the stall and the tours.";
    let r = send(
        port,
        "mx.remote.example",
        "sender@remote.example",
        USER,
        &message("learnme", text),
    );
    assert!(r.starts_with("250"), "{r}");
    let before = rspamd.learned();
    assert_eq!(
        t.imaps_script(TO_JUNK, USER, PW, &["learnme"]).trim(),
        "moved"
    );
    // With check_submissions, a user's own spam is refused too (a
    // compromised account).
    let out = python(
        r#"
import smtplib, ssl, sys
port, user, pw, body = sys.argv[1:5]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", int(port), timeout=60)
s.starttls(context=ctx)
s.login(user, pw)
try:
    s.sendmail(user, ["someone@remote.example"], ("From: %s\r\nTo: someone@remote.example\r\nSubject: out\r\n\r\n%s\r\n" % (user, body)).encode())
    print("accepted")
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
"#,
        &[
            &t.port("submission").to_string(),
            USER,
            PW,
            &gtube("reject"),
        ],
    );
    assert!(out.starts_with("550 5.7.1"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while rspamd.learned() <= before {
        assert!(
            Instant::now() < deadline,
            "rspamd learned nothing: {}",
            rspamd.stat()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // A sender the account approved (Screener) is never filed in Junk by
    // the spam checks: the approval wins.
    let out = t.cli(&["user", "screener", USER, "approve", "sender@remote.example"]);
    assert!(out.status.success());
    let r = send(
        port,
        "mx.remote.example",
        "sender@remote.example",
        USER,
        &message("approved", &gtube("add header")),
    );
    assert!(r.starts_with("250"), "{r}");
    let boxes = t.imaps_script(LIST, USER, PW, &[]);
    assert!(
        boxes.lines().any(|l| l == "INBOX: Subject: approved"),
        "{boxes}"
    );
    // rspamd stopped: mail is still delivered, with a warning and a count.
    assert_eq!(t.metric(FAILURES), 0.0);
    rspamd.stop();
    let r = send(
        port,
        "mx.remote.example",
        "sender@remote.example",
        USER,
        &message("afterwards", "rspamd is gone"),
    );
    assert!(r.starts_with("250"), "{r}");
    let boxes = t.imaps_script(LIST, USER, PW, &[]);
    assert!(boxes.contains("INBOX: Subject: afterwards"), "{boxes}");
    warned(&t, queue_id(&r));
    assert_eq!(t.metric(FAILURES), 1.0);
}

/// The failures counter rspamd's trouble moves.
const FAILURES: &str = "tern_spam_rspamd_failures_total";

/// The queue id of a `250 2.0.0 Ok: queued as ID` reply, or of a refusal
/// naming none: the id the log line carries is then unknown ("").
fn queue_id(reply: &str) -> &str {
    reply
        .rsplit_once("queued as ")
        .map_or("", |(_, id)| id.trim())
}

/// The warning tern logs when rspamd cannot be asked (the message's queue
/// id in it when `id` is not empty).
fn warned(t: &Tern, id: &str) -> String {
    let line = t.wait_log(|l| l.contains("spam: rspamd could not be asked") && l.contains(id));
    assert!(line.contains("WARN"), "{line}");
    line
}

#[test]
fn rspamd_down_or_silent_delivers_or_defers_as_configured() {
    // Nobody listens on one port; the other accepts and never answers.
    let down = Reserved::new();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    for (port, failure) in [
        (down.port, "deliver"),
        (silent_port, "deliver"),
        (down.port, "tempfail"),
    ] {
        let t = Tern::start_logged(
            &["smtp", "imaps", "http"],
            &format!(
                "[spam]\nrspamd_url = \"http://127.0.0.1:{port}\"\nrspamd_timeout_secs = 1\nrspamd_failure = \"{failure}\"\n"
            ),
        );
        t.add_user(USER, PW);
        let r = send(
            t.port("smtp"),
            "mx.remote.example",
            "sender@remote.example",
            USER,
            &message("hello", "hi"),
        );
        if failure == "deliver" {
            assert!(r.starts_with("250"), "{r}");
            let boxes = t.imaps_script(LIST, USER, PW, &[]);
            assert!(boxes.contains("INBOX: Subject: hello"), "{boxes}");
        } else {
            assert!(r.starts_with("451 4.7.1"), "{r}");
        }
        warned(&t, queue_id(&r));
        assert_eq!(t.metric(FAILURES), 1.0, "counted once");
    }
    drop(silent);
}
