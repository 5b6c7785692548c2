//! tern against a stand-in rspamd (`common/fake_rspamd.rs`) whose verdict
//! the test chooses and whose requests it reads: the envelope tern sends
//! to `/checkv2` (`Ip`, `Helo`, `From`, one `Rcpt` per recipient,
//! `Queue-Id`, `Pass: all`, and `User` for a checked submission); `soft
//! reject` and `greylist` defer at the end of DATA; `rewrite subject`
//! files into Junk.

mod common;

use common::Tern;
use common::fake_rspamd::FakeRspamd;

const USER: &str = "kim@example.org";
const OTHER: &str = "lee@example.org";
const PW: &str = "correct horse battery";

/// One transaction with Python's smtplib: `port`, `helo`, sender,
/// comma-separated recipients, the message, then a user and password to
/// log in with after STARTTLS (or none). Prints the reply to DATA, or the
/// refusal of RCPT.
const SEND: &str = r#"
import smtplib, ssl, sys
port, helo, sender, rcpts, body = sys.argv[1:6]
login = sys.argv[6:8]
s = smtplib.SMTP("127.0.0.1", int(port), local_hostname=helo, timeout=60)
if login:
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    s.login(*login)
s.ehlo_or_helo_if_needed()
s.mail(sender)
for r in rcpts.split(","):
    code, text = s.rcpt(r)
    if code != 250:
        print(code, text.decode())
        sys.exit(0)
code, text = s.data(body.encode())
print(code, text.decode())
s.quit()
"#;

fn send(
    port: u16,
    sender: &str,
    rcpts: &[&str],
    body: &str,
    login: Option<(&str, &str)>,
) -> String {
    let port = port.to_string();
    let rcpts = rcpts.join(",");
    let mut args = vec![port.as_str(), "mx.remote.example", sender, &rcpts, body];
    if let Some((u, p)) = login {
        args.extend([u, p]);
    }
    common::python(SEND, &args).trim().to_string()
}

fn message(subject: &str, text: &str) -> String {
    format!(
        "From: sender@remote.example\r\nTo: {USER}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@remote.example>\r\n\r\n{text}\r\n"
    )
}

/// The subjects in INBOX and Junk as `BOX: Subject: …` lines, each
/// followed by the message's spam fields.
const LIST: &str = r#"
imap = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
imap.login(user, password)
for box in ["INBOX", "Junk"]:
    typ, count = imap.select(box)
    if int(count[0]) == 0:
        continue
    typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT X-SPAM-STATUS X-SPAM-SCORE)])")
    for part in data:
        if isinstance(part, tuple):
            for line in part[1].decode().split("\r\n"):
                if line:
                    print(box + ": " + line)
imap.logout()
"#;

/// The queue id of a `250 2.0.0 Ok: queued as ID` reply.
fn queue_id(reply: &str) -> &str {
    reply
        .rsplit_once("queued as ")
        .map(|(_, id)| id.trim())
        .unwrap_or_else(|| panic!("no queue id in {reply:?}"))
}

#[test]
fn tern_tells_rspamd_the_envelope_and_obeys_its_action() {
    let rspamd = FakeRspamd::start();
    let t = Tern::start_with(
        &["smtp", "submission", "imaps"],
        &format!(
            "[spam]\nclassifier = false\nrspamd_url = \"{}\"\ncheck_submissions = true\n",
            rspamd.url()
        ),
    );
    t.add_user(USER, PW);
    t.add_user(OTHER, PW);
    let port = t.port("smtp");

    // Port 25, two recipients: the envelope as rspamd's fields.
    let r = send(
        port,
        "sender@remote.example",
        &[USER, OTHER],
        &message("envelope", "hello"),
        None,
    );
    assert!(r.starts_with("250"), "{r}");
    let reqs = rspamd.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let q = &reqs[0];
    assert_eq!(q.line, "POST /checkv2 HTTP/1.1", "{q:?}");
    assert_eq!(q.one("Ip"), Some("127.0.0.1"), "{q:?}");
    assert_eq!(q.one("Helo"), Some("mx.remote.example"), "{q:?}");
    assert_eq!(q.one("From"), Some("sender@remote.example"), "{q:?}");
    assert_eq!(q.all("Rcpt"), vec![USER, OTHER], "one per recipient: {q:?}");
    assert_eq!(q.one("Queue-Id"), Some(queue_id(&r)), "{q:?}");
    assert_eq!(q.one("Pass"), Some("all"), "{q:?}");
    assert!(q.all("User").is_empty(), "no one logged in: {q:?}");

    // A checked submission names its user.
    let r = send(
        t.port("submission"),
        USER,
        &[OTHER],
        &format!("From: {USER}\r\nTo: {OTHER}\r\nSubject: mine\r\n\r\nhi\r\n"),
        Some((USER, PW)),
    );
    assert!(r.starts_with("250"), "{r}");
    let reqs = rspamd.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    let q = &reqs[1];
    assert_eq!(q.one("User"), Some(USER), "{q:?}");
    assert_eq!(q.one("From"), Some(USER), "{q:?}");
    assert_eq!(q.all("Rcpt"), vec![OTHER], "{q:?}");
    assert_eq!(q.one("Queue-Id"), Some(queue_id(&r)), "{q:?}");
    assert_eq!(q.one("Pass"), Some("all"), "{q:?}");

    // rspamd's deferrals are a 451 4.7.1 at the end of DATA.
    for action in ["soft reject", "greylist"] {
        rspamd.answer(action, 9.0, 15.0);
        let r = send(
            port,
            "sender@remote.example",
            &[USER],
            &message("deferred", action),
            None,
        );
        assert!(r.starts_with("451 4.7.1"), "{action}: {r}");
    }

    // `rewrite subject` files into Junk, the copy saying why.
    rspamd.answer("rewrite subject", 7.0, 15.0);
    let r = send(
        port,
        "sender@remote.example",
        &[USER],
        &message("rewritten", "buy now"),
        None,
    );
    assert!(r.starts_with("250"), "{r}");
    let boxes = t.imaps_script(LIST, USER, PW, &[]);
    assert!(
        boxes.lines().any(|l| l == "Junk: Subject: rewritten"),
        "{boxes}"
    );
    assert!(
        boxes.contains("Junk: X-Spam-Status: Yes, score=7.00"),
        "{boxes}"
    );
    assert!(
        boxes.lines().any(|l| l == "INBOX: Subject: envelope"),
        "{boxes}"
    );
    assert!(!boxes.contains("deferred"), "never stored: {boxes}");
}
