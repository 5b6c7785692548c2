//! Sieve at delivery, end to end: scripts uploaded with sievelib over
//! ManageSieve, mail sent with Python's smtplib, mailboxes read with
//! imaplib, replies and redirects received by Postfix on loopback.
//! `fileinto :create` makes a folder and sets imap4flags flags;
//! `editheader` changes are in the stored message; `reject` is the SMTP
//! reply; a mailbox that does not exist gets INBOX; vacation answers once
//! per window, DKIM-signed, and never a list, bulk or null-sender message;
//! `redirect` leaves with an SRS sender whose bounce finds its way back; a
//! redirect loop and a script over its instruction limit keep the message
//! in INBOX with an audit record naming the script.

mod common;

use std::time::{Duration, Instant};

use common::dns::{DnsServer, Zone};
use common::postfix::Postfix;
use common::smtp::send;
use common::{Tern, python};

const UPLOAD: &str = include_str!("scripts/sieve_delivery_upload.py");
const READ: &str = include_str!("scripts/sieve_delivery_read.py");

/// Upload `script` as alice's active script over ManageSieve.
fn upload(t: &Tern, name: &str, script: &str) {
    let path = t.data_dir().with_file_name(format!("{name}.sieve"));
    std::fs::write(&path, script).expect("write script");
    let port = t.port("managesieve").to_string();
    let cert = t.cert_path();
    let out = python(
        UPLOAD,
        &[
            &port,
            cert.to_str().expect("utf-8 path"),
            "alice@example.org",
            "pw",
            name,
            path.to_str().expect("utf-8 path"),
        ],
    );
    assert!(
        out.contains("put True") && out.contains("activate True"),
        "{out}"
    );
}

/// alice's mailboxes as imaplib sees them: `mailbox|flags|subject|notes`.
fn mailboxes(t: &Tern) -> Vec<String> {
    t.imaps_script(READ, "alice@example.org", "pw", &[])
        .lines()
        .map(str::to_string)
        .collect()
}

/// Send with Python's smtplib; the reply to the end of data (or to the
/// refused step) as `CODE text`.
fn smtplib(t: &Tern, from: &str, to: &str, msg: &str) -> String {
    let script = "import smtplib, sys
port, sender, rcpt, msg = sys.argv[1:5]
s = smtplib.SMTP('127.0.0.1', int(port), timeout=30)
s.ehlo('mx.remote.example')
try:
    s.sendmail(sender, [rcpt], msg.encode())
    print('250 ok')
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
except smtplib.SMTPRecipientsRefused as e:
    print(list(e.recipients.values())[0][0])
s.quit()
";
    let port = t.port("smtp").to_string();
    python(script, &[&port, from, to, msg]).trim().to_string()
}

#[test]
fn scripts_sort_flag_edit_and_refuse_mail() {
    let t = Tern::start(&["smtp", "imaps", "managesieve"]);
    t.add_user("alice@example.org", "pw");
    upload(
        &t,
        "sorting",
        "require [\"fileinto\", \"imap4flags\", \"editheader\", \"reject\", \"mailbox\",\r\n\
         \x20        \"envelope\", \"subaddress\", \"variables\"];\r\n\
         if header :contains \"subject\" \"[rust]\" {\r\n\
         \x20 addheader \"X-Sieve-Note\" \"sorted\";\r\n\
         \x20 addflag \"\\\\Flagged\";\r\n\
         \x20 addflag \"$Listed\";\r\n\
         \x20 fileinto :create \"Lists/Rust\";\r\n\
         \x20 stop;\r\n\
         }\r\n\
         if header :contains \"subject\" \"offer\" {\r\n\
         \x20 reject \"No offers, thanks.\";\r\n\
         \x20 stop;\r\n\
         }\r\n\
         if envelope :detail \"to\" \"news\" {\r\n\
         \x20 fileinto :create \"News\";\r\n\
         \x20 stop;\r\n\
         }\r\n\
         if header :contains \"subject\" \"nowhere\" {\r\n\
         \x20 fileinto \"Nowhere\";\r\n\
         }\r\n",
    );
    let msg = |subject: &str| {
        format!(
            "From: carol@remote.example\r\nTo: alice@example.org\r\nSubject: {subject}\r\n\r\nhello\r\n"
        )
    };
    let from = "carol@remote.example";
    assert_eq!(
        smtplib(&t, from, "alice@example.org", &msg("[rust] 1.95 is out")),
        "250 ok"
    );
    assert_eq!(
        smtplib(&t, from, "alice@example.org", &msg("a great offer")),
        "550 5.7.1 No offers, thanks."
    );
    assert_eq!(
        smtplib(&t, from, "alice+news@example.org", &msg("daily news")),
        "250 ok"
    );
    assert_eq!(
        smtplib(&t, from, "alice@example.org", &msg("nowhere to go")),
        "250 ok"
    );
    assert_eq!(
        smtplib(&t, from, "alice@example.org", &msg("plain")),
        "250 ok"
    );
    assert_eq!(
        mailboxes(&t),
        [
            "INBOX|-|nowhere to go|-",
            "INBOX|-|plain|-",
            "Lists/Rust|$Listed \\Flagged|[rust] 1.95 is out|sorted",
            "News|-|daily news|-",
        ]
    );
}

/// A Tern with alice, a DKIM key for example.org, and a Postfix for
/// remote.example that the queue delivers to.
struct Remote {
    t: Tern,
    pf: Postfix,
    _dns: DnsServer,
}

fn remote(extra: &str) -> Remote {
    let pf = Postfix::start(false, &[]);
    let dns = DnsServer::start(
        Zone::default()
            .mx("remote.example", 10, "mx.remote.example")
            .a("mx.remote.example", "127.0.0.1"),
    );
    let cfg = format!(
        "{}[queue]\npoll_secs = 1\nremote_port = {}\n{extra}",
        dns.config(),
        pf.port
    );
    let t = Tern::start_with(&["smtp", "imaps", "managesieve"], &cfg);
    t.add_user("alice@example.org", "pw");
    let out = t.cli(&["dkim", "keygen", "example.org"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Remote { t, pf, _dns: dns }
}

/// Postfix's messages (as text) once `want` of them satisfy `pick` and the
/// queue is empty: nothing more is on its way.
fn settled(r: &Remote, want: usize, pick: impl Fn(&str) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let got: Vec<String> =
            r.pf.messages()
                .iter()
                .map(|m| String::from_utf8_lossy(m).into_owned())
                .filter(|m| pick(m))
                .collect();
        let queue = String::from_utf8_lossy(&r.t.cli(&["queue", "list"]).stdout).into_owned();
        let empty = !queue.lines().any(|l| l.contains('@'));
        if got.len() >= want && empty {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {want} messages; queue:\n{queue}\npostfix log:\n{}",
            got.len(),
            r.pf.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines()
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l.as_bytes()[name.len()] == b':'
        })
        .map(|l| l[name.len() + 1..].trim())
}

#[test]
fn vacation_answers_once_per_window_and_never_lists_bulk_or_the_null_sender() {
    let r = remote("");
    upload(
        &r.t,
        "away",
        "require [\"vacation\"];\r\nvacation :days 1 :subject \"Away\" \"I am away until Monday.\";\r\n",
    );
    let port = r.t.port("smtp");
    let msg = |from: &str, extra: &str| {
        format!(
            "From: {from}\r\nTo: alice@example.org\r\nSubject: hi\r\nMessage-ID: <{}@remote.example>\r\n{extra}\r\nhello\r\n",
            from.len()
        )
    };
    for (sender, extra) in [
        ("carol@remote.example", ""),
        // The same sender within the window: no second reply.
        ("carol@remote.example", ""),
        (
            "dave@remote.example",
            "List-Id: <rust.lists.remote.example>\r\n",
        ),
        ("erin@remote.example", "Precedence: bulk\r\n"),
        ("", ""),
        ("frank@remote.example", "Auto-Submitted: auto-generated\r\n"),
        ("gina@remote.example", ""),
    ] {
        let from = if sender.is_empty() {
            "mailer-daemon@remote.example"
        } else {
            sender
        };
        let reply = send(
            port,
            "mx.remote.example",
            sender,
            "alice@example.org",
            &msg(from, extra),
        );
        assert!(reply.starts_with("250"), "{reply}");
    }
    let replies = settled(&r, 2, |m| m.contains("Subject: Away"));
    let mut to: Vec<&str> = replies.iter().filter_map(|m| header(m, "To")).collect();
    to.sort();
    assert_eq!(
        to,
        ["carol@remote.example", "gina@remote.example"],
        "{replies:?}"
    );
    for m in &replies {
        assert_eq!(header(m, "Return-Path"), Some("<>"), "{m}");
        assert_eq!(header(m, "Auto-Submitted"), Some("auto-replied"), "{m}");
        assert!(m.contains("I am away until Monday."), "{m}");
        assert!(
            m.contains("DKIM-Signature:") && m.contains("d=example.org"),
            "signed by the domain: {m}"
        );
    }
    // Every message was kept.
    assert_eq!(mailboxes(&r.t).len(), 7, "{:?}", mailboxes(&r.t));
}

#[test]
fn redirect_leaves_with_an_srs_sender_whose_bounce_comes_back() {
    let r = remote("");
    upload(&r.t, "forward", "redirect \"bob@remote.example\";\r\n");
    let port = r.t.port("smtp");
    let reply = send(
        port,
        "mx.remote.example",
        "carol@remote.example",
        "alice@example.org",
        "From: carol@remote.example\r\nTo: alice@example.org\r\nSubject: pass it on\r\n\r\nhello\r\n",
    );
    assert!(reply.starts_with("250"), "{reply}");
    let got = settled(&r, 1, |m| m.contains("Subject: pass it on"));
    let rp = header(&got[0], "Return-Path").expect("Return-Path");
    let srs = rp.trim_matches(['<', '>']).to_string();
    assert!(
        srs.starts_with("SRS0=") && srs.ends_with("=remote.example=carol@example.org"),
        "{srs}"
    );
    assert!(mailboxes(&r.t).is_empty(), "redirect cancels the keep");
    // Postfix's bounce to the SRS address goes back to the sender.
    let bounce =
        "From: MAILER-DAEMON@remote.example\r\nSubject: Undelivered: pass it on\r\n\r\nbounced";
    let reply = send(port, "mx.remote.example", "", &srs, bounce);
    assert!(reply.starts_with("250"), "{reply}");
    let back = settled(&r, 1, |m| m.contains("Delivered-To: carol@remote.example"));
    assert_eq!(header(&back[0], "Return-Path"), Some("<>"), "{}", back[0]);
}

#[test]
fn a_loop_or_a_script_over_its_limit_keeps_the_message_with_an_audit_record() {
    let r = remote("[sieve]\nmax_instructions = 60\n");
    upload(&r.t, "forward", "redirect \"bob@remote.example\";\r\n");
    let port = r.t.port("smtp");
    // Delivered here before: redirecting it again would loop.
    let looped = "Delivered-To: alice@example.org\r\nFrom: carol@remote.example\r\nTo: alice@example.org\r\nSubject: looped\r\n\r\nhello\r\n";
    let reply = send(
        port,
        "mx.remote.example",
        "carol@remote.example",
        "alice@example.org",
        looped,
    );
    assert!(reply.starts_with("250"), "{reply}");

    let mut busy = String::from("require \"variables\";\r\n");
    for i in 0..200 {
        busy.push_str(&format!(
            "if header :contains \"subject\" \"never{i}\" {{ discard; }}\r\n"
        ));
    }
    upload(&r.t, "busy", &busy);
    let reply = send(
        port,
        "mx.remote.example",
        "carol@remote.example",
        "alice@example.org",
        "From: carol@remote.example\r\nTo: alice@example.org\r\nSubject: busy\r\n\r\nhello\r\n",
    );
    assert!(reply.starts_with("250"), "{reply}");
    assert_eq!(
        mailboxes(&r.t),
        ["INBOX|-|busy|-", "INBOX|-|looped|-"],
        "both kept in INBOX"
    );
    let audit = String::from_utf8_lossy(
        &r.t.cli(&["audit", "list", "--kind", "sieve_failure"])
            .stdout,
    )
    .into_owned();
    assert!(
        audit.contains("alice@example.org") && audit.contains("loop"),
        "{audit}"
    );
    assert!(
        audit.contains("script \"busy\"") && audit.contains("ran too long"),
        "{audit}"
    );
    assert!(
        r.pf.messages().is_empty(),
        "nothing was redirected: {}",
        r.pf.log()
    );
}

#[test]
fn a_refusal_among_other_recipients_is_a_notice_to_the_sender_and_aliases_run_the_script() {
    let r = remote("");
    r.t.add_user("bob@example.org", "pw");
    assert!(
        r.t.cli(&["alias", "add", "team@example.org", "alice@example.org"])
            .status
            .success()
    );
    upload(
        &r.t,
        "refuse",
        "require \"reject\";\r\nreject \"Not here.\";\r\n",
    );
    let port = r.t.port("smtp");
    let msg = "From: carol@remote.example\r\nTo: team@example.org\r\nSubject: to the team\r\n\r\nhello\r\n";
    // Through the alias, alice's script refuses: the reply says so.
    let reply = send(
        port,
        "mx.remote.example",
        "carol@remote.example",
        "team@example.org",
        msg,
    );
    assert!(reply.starts_with("550 5.7.1 Not here."), "{reply}");
    // With bob too, bob gets the message and carol a notice.
    let out = python(
        "import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=30)
s.ehlo('mx.remote.example')
print(s.sendmail('carol@remote.example', ['alice@example.org', 'bob@example.org'], sys.argv[2].encode()))
s.quit()
",
        &[&port.to_string(), msg],
    );
    assert_eq!(out.trim(), "{}", "accepted for both");
    let notices = settled(&r, 1, |m| m.contains("Delivered-To: carol@remote.example"));
    let n = &notices[0];
    assert_eq!(header(n, "Return-Path"), Some("<>"), "{n}");
    assert!(
        n.contains("Status: 5.7.1") && n.contains("Not here.") && n.contains("alice@example.org"),
        "{n}"
    );
    let bob = r.t.imaps_script(READ, "bob@example.org", "pw", &[]);
    assert_eq!(bob.trim(), "INBOX|-|to the team|-");
    assert!(mailboxes(&r.t).is_empty(), "alice refused it");
}
