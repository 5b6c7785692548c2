//! tern against a stand-in rspamd (`common/fake_rspamd.rs`) whose verdict
//! the test chooses and whose requests it reads: the envelope tern sends
//! to `/checkv2` (`Ip`, `Helo`, `From`, one `Rcpt` per recipient,
//! `Queue-Id`, `Pass: all`, and `User` for a checked submission); `soft
//! reject` and `greylist` defer at the end of DATA; `rewrite subject`
//! files into Junk.

mod common;

use common::Tern;
use common::dns::{DnsServer, Zone};
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

/// One line per message in INBOX and Junk: `BOX|SUBJECT|N|STATUS|SCORE`,
/// with N the number of `X-Spam-Status` fields, STATUS the first (or
/// `-`) and SCORE the `X-Spam-Score` (or `-`).
const LIST: &str = r#"
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
            statuses = m.get_all("X-Spam-Status") or []
            print("|".join([box, m["Subject"], str(len(statuses)),
                            statuses[0] if statuses else "-", m.get("X-Spam-Score", "-")]))
imap.logout()
"#;

/// The listing's line for the message with this subject, split in its
/// five parts.
fn copy<'a>(boxes: &'a str, subject: &str) -> Vec<&'a str> {
    boxes
        .lines()
        .map(|l| l.split('|').collect::<Vec<_>>())
        .find(|p| p.len() == 5 && p[1] == subject)
        .unwrap_or_else(|| panic!("no {subject}:\n{boxes}"))
}

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
    let c = copy(&boxes, "rewritten");
    assert_eq!(c[0], "Junk", "{boxes}");
    assert!(c[3].starts_with("Yes, score=7.00"), "{boxes}");
    assert_eq!(copy(&boxes, "envelope")[0], "INBOX", "{boxes}");
    assert!(!boxes.contains("deferred"), "never stored: {boxes}");
}

#[test]
fn a_trusted_senders_copy_says_no_and_two_filters_make_one_field() {
    let rspamd = FakeRspamd::start();
    // remote.example lets 127.0.0.1 send for it (SPF): its mail is
    // provably its own, which a VIP needs.
    let dns = DnsServer::start(Zone::default().txt("remote.example", "v=spf1 ip4:127.0.0.1 -all"));
    let t = Tern::start_with(
        &["smtp", "imaps"],
        &format!(
            "{}[spam]\nrspamd_url = \"{}\"\n",
            dns.config(),
            rspamd.url()
        ),
    );
    t.add_user(USER, PW);
    // Enough of each kind for the classifier to judge (`min_trained`).
    t.train_spam(USER, "spam", 0, 12);
    t.train_spam(USER, "ham", 0, 12);
    let out = t.cli(&["user", "vip", USER, "add", "boss@remote.example"]);
    assert!(out.status.success(), "{out:?}");
    rspamd.answer("add header", 8.0, 6.0);
    let port = t.port("smtp");
    for (from, subject) in [
        ("boss@remote.example", "from-the-boss"),
        ("sender@remote.example", "from-a-stranger"),
    ] {
        let body = format!(
            "From: {from}\r\nTo: {USER}\r\nSubject: {subject}\r\nMessage-ID: <{subject}@remote.example>\r\n\r\nbuy cheap pills now\r\n"
        );
        let r = send(port, from, &[USER], &body, None);
        assert!(r.starts_with("250"), "{r}");
    }
    let boxes = t.imaps_script(LIST, USER, PW, &[]);
    // The VIP's copy: INBOX, and nothing a rule could file it in Junk by.
    let boss = copy(&boxes, "from-the-boss");
    assert_eq!(boss[0], "INBOX", "{boxes}");
    assert_eq!(boss[2], "1", "{boxes}");
    assert!(boss[3].starts_with("No, trusted sender"), "{boxes}");
    assert_eq!(boss[4], "-", "no X-Spam-Score: {boxes}");
    // Anyone else's: Junk, one field naming both filters.
    let stranger = copy(&boxes, "from-a-stranger");
    assert_eq!(stranger[0], "Junk", "{boxes}");
    assert_eq!(stranger[2], "1", "one X-Spam-Status: {boxes}");
    assert!(
        stranger[3].starts_with("Yes, score=8.00 required=6.00 rspamd; classifier="),
        "{boxes}"
    );
    assert!(stranger[3].ends_with("tern-classifier"), "{boxes}");
    assert_eq!(stranger[4], "8.00", "{boxes}");
}

/// rspamd's answer is input too: an answer far over the size tern reads
/// (8 MiB), one that is not JSON, JSON nested 100,000 deep, and one with
/// 40,000 symbols (just under that size) each get a clean outcome — the mail is delivered, as
/// when rspamd is down — with tern's memory bounded, and the next
/// message (a normal answer again) is judged as usual.
#[test]
fn hostile_answers_from_rspamd_deliver_the_mail_within_bounds() {
    let rspamd = FakeRspamd::start();
    let t = Tern::start_with(
        &["smtp", "imaps"],
        &format!(
            "[spam]\nclassifier = false\nrspamd_url = \"{}\"\n",
            rspamd.url()
        ),
    );
    t.add_user(USER, PW);
    let port = t.port("smtp");
    let before = common::rss::rss_kib(t.pid());
    let mut symbols = String::from("{\"action\":\"no action\",\"score\":0,\"symbols\":{");
    for i in 0..40_000 {
        if i > 0 {
            symbols.push(',');
        }
        symbols.push_str(&format!("\"S{i}\":{{\"score\":0.1}}"));
    }
    symbols.push_str("}}");
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        ("huge", vec![b' '; 8 << 20]),
        ("garbage", b"\x00\xff<html>not json".to_vec()),
        (
            "deep",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        ),
        ("symbols", symbols.into_bytes()),
    ];
    for (name, body) in hostile {
        rspamd.answer_raw(body);
        let r = send(
            port,
            "sender@remote.example",
            &[USER],
            &message(name, "hi"),
            None,
        );
        assert!(r.starts_with("250"), "{name}: {r}");
    }
    let after = common::rss::rss_kib(t.pid());
    assert!(
        after < before + 64 * 1024,
        "RSS grew from {before} to {after} KiB"
    );
    rspamd.answer("reject", 20.0, 15.0);
    let r = send(
        port,
        "sender@remote.example",
        &[USER],
        &message("judged", "hi"),
        None,
    );
    assert!(r.starts_with("550"), "a normal answer is obeyed again: {r}");
    let boxes = t.imaps_script(LIST, USER, PW, &[]);
    for name in ["huge", "garbage", "deep", "symbols"] {
        copy(&boxes, name);
    }
}
