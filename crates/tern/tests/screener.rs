//! The Screener and VIP senders, from a mail client's side (Python's
//! `imaplib` and `smtplib`, a loopback DNS server for SPF and DMARC):
//! first mail from an unknown sender waits in `Screener`; moving it to
//! INBOX approves the sender, moving another's to Junk screens them out
//! (their next mail in Junk, seen); mail the account sent makes its
//! recipients and the replies to it welcome; an approved From that fails
//! DMARC is a stranger again; a VIP skips the Screener and greylisting and
//! carries `$Important`. A `Screener` mailbox the user deleted is made
//! again for the next held message, and the other recipients of that
//! message get it as usual. Moving a message whose From was forged decides
//! nothing about the real sender. `[screener] same_domain` waves through
//! other accounts of the domain only, and is off when it says so. A VIP's
//! address skips greylisting only from an address SPF allows. Held mail
//! is not filtered by Sieve; a move to Trash screens out; a copy out of
//! Screener (then expunged) approves; a reply naming a sent message only
//! in `References` is welcome; the CLI decides, forgets and manages VIPs.

mod common;

use common::dns::{DnsServer, Zone};
use common::smtp::send;
use common::{Tern, python};

const USER: &str = "kim@example.org";
const PW: &str = "correct horse battery";

fn msg(from: &str, subject: &str, extra: &str) -> String {
    format!("From: {from}\r\nTo: {USER}\r\nSubject: {subject}\r\n{extra}\r\nhello\r\n")
}

/// `BOX: subject [flags]` for every message of INBOX, Screener, Junk,
/// Trash and Archive.
const LIST: &str = r#"
imap = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
imap.login(user, password)
for box in ["INBOX", "Screener", "Junk", "Trash", "Archive"]:
    typ, count = imap.select(box, readonly=True)
    if typ != "OK" or int(count[0]) == 0:
        continue
    typ, data = imap.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    for part in data:
        if isinstance(part, tuple):
            subject = part[1].decode().strip()
            flags = part[0].decode().split("FLAGS (")[1].split(")")[0]
            print("%s: %s [%s]" % (box, subject, flags))
imap.logout()
"#;

/// Move the message with subject args[1] from args[0] to args[2].
const MOVE: &str = r#"
imap = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
imap.login(user, password)
imap.select(args[0])
typ, data = imap.uid("SEARCH", "SUBJECT", args[1])
uids = data[0].split()
assert uids, data
typ, _ = imap.uid("MOVE", uids[0], args[2])
assert typ == "OK"
imap.logout()
print("moved")
"#;

fn boxes(t: &Tern) -> String {
    t.imaps_script(LIST, USER, PW, &[])
}

/// A line that starts with `start` (mailbox and subject) and, when given,
/// lists the flag `flag`.
fn has(list: &str, start: &str) -> bool {
    let (start, flag) = match start.split_once(" [") {
        Some((s, f)) => (s, Some(f)),
        None => (start, None),
    };
    list.lines()
        .any(|l| l.starts_with(start) && flag.is_none_or(|f| l.contains(f)))
}

#[test]
fn the_screener_holds_strangers_and_learns_from_moves() {
    let spf = "v=spf1 ip4:127.0.0.1 -all";
    let dns = DnsServer::start(
        Zone::default()
            .txt("friend.example", spf)
            .txt("_dmarc.friend.example", "v=DMARC1; p=none")
            .txt("stranger.example", spf)
            .txt("pal.example", spf)
            .txt("vip.example", spf)
            .txt("spoof.example", "v=spf1 -all"),
    );
    let t = Tern::start_with(
        &["smtp", "imaps", "submission"],
        &format!(
            "{}[greylist]\ndomains = [\"example.org\"]\ndelay_secs = 600\n",
            dns.config()
        ),
    );
    t.add_user(USER, PW);
    let ok = |args: &[&str]| {
        let out = t.cli(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(&["user", "screener", USER, "on"]);
    ok(&["user", "vip", USER, "add", "boss@vip.example"]);
    let port = t.port("smtp");
    // Greylisting is on for example.org: a first sender waits; the rest of
    // the test passes it once (trusted_networks would hide it all).
    let first = send(
        port,
        "mx.friend.example",
        "friend@friend.example",
        USER,
        &msg("friend@friend.example", "hello-1", ""),
    );
    assert!(first.starts_with("451 4.7.1"), "greylisted: {first}");
    // A VIP is not kept waiting, skips the Screener, and is $Important.
    let r = send(
        port,
        "mx.vip.example",
        "boss@vip.example",
        USER,
        &msg("boss@vip.example", "from-the-boss", ""),
    );
    assert!(r.starts_with("250"), "{r}");
    ok(&["domain", "policy", "example.org", "--greylist", "off"]);

    // First contact waits in Screener.
    let send_ok = |from: &str, envelope: &str, subject: &str, extra: &str| {
        let r = send(
            port,
            "mx.remote.example",
            envelope,
            USER,
            &msg(from, subject, extra),
        );
        assert!(r.starts_with("250"), "{subject}: {r}");
    };
    send_ok(
        "friend@friend.example",
        "friend@friend.example",
        "hello-1",
        "",
    );
    send_ok(
        "stranger@stranger.example",
        "stranger@stranger.example",
        "offer-1",
        "",
    );
    let b = boxes(&t);
    assert!(has(&b, "Screener: Subject: hello-1"), "{b}");
    assert!(has(&b, "Screener: Subject: offer-1"), "{b}");
    assert!(has(&b, "INBOX: Subject: from-the-boss [$Important"), "{b}");

    // Moving to INBOX approves; moving to Junk screens out.
    assert_eq!(
        t.imaps_script(MOVE, USER, PW, &["Screener", "hello-1", "INBOX"])
            .trim(),
        "moved"
    );
    assert_eq!(
        t.imaps_script(MOVE, USER, PW, &["Screener", "offer-1", "Junk"])
            .trim(),
        "moved"
    );
    send_ok(
        "friend@friend.example",
        "friend@friend.example",
        "hello-2",
        "",
    );
    send_ok(
        "stranger@stranger.example",
        "stranger@stranger.example",
        "offer-2",
        "",
    );
    // An approved From that fails DMARC (sent from elsewhere) is a stranger.
    send_ok(
        "friend@friend.example",
        "mallory@spoof.example",
        "forged",
        "",
    );
    let b = boxes(&t);
    assert!(has(&b, "INBOX: Subject: hello-2"), "{b}");
    assert!(has(&b, "Junk: Subject: offer-2 [\\Seen"), "{b}");
    assert!(has(&b, "Screener: Subject: forged"), "{b}");
    let listed = ok(&["user", "screener", USER, "list"]);
    assert!(
        listed.contains("friend@friend.example\tapproved\tmoved"),
        "{listed}"
    );
    assert!(
        listed.contains("stranger@stranger.example\tscreened out\tmoved"),
        "{listed}"
    );

    // Mail the account sends: its recipients, and replies to it, are welcome.
    let sent = python(
        r#"
import smtplib, ssl, sys
port, user, pw = sys.argv[1:4]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", int(port), timeout=60)
s.starttls(context=ctx)
s.login(user, pw)
s.sendmail(user, ["pen@pal.example"], ("From: %s\r\nTo: pen@pal.example\r\nSubject: out\r\nMessage-ID: <out-1@example.org>\r\n\r\nhi\r\n" % user).encode())
s.quit()
print("sent")
"#,
        &[&t.port("submission").to_string(), USER, PW],
    );
    assert_eq!(sent.trim(), "sent");
    send_ok("pen@pal.example", "pen@pal.example", "from-pen", "");
    send_ok(
        "someone@elsewhere.example",
        "someone@elsewhere.example",
        "a-reply",
        "In-Reply-To: <out-1@example.org>\r\n",
    );
    let b = boxes(&t);
    assert!(has(&b, "INBOX: Subject: from-pen"), "{b}");
    assert!(has(&b, "INBOX: Subject: a-reply"), "{b}");
    // Bounces (the null sender) pass.
    send_ok("MAILER-DAEMON@remote.example", "", "bounce", "");
    assert!(has(&boxes(&t), "INBOX: Subject: bounce"));
    // Off: everything to INBOX again.
    ok(&["user", "screener", USER, "off"]);
    send_ok(
        "new@stranger.example",
        "new@stranger.example",
        "after-off",
        "",
    );
    assert!(has(&boxes(&t), "INBOX: Subject: after-off"));
}

/// The second way in: `/api/v1/me/screener` and `/api/v1/me/vip`, signed
/// in with the account's own password.
#[test]
fn the_screener_and_vips_are_managed_through_the_api() {
    let t = Tern::start(&["https"]);
    t.add_user(USER, PW);
    let out = python(
        r#"
import json, sys, requests, urllib3
urllib3.disable_warnings()
port, user, pw = sys.argv[1:4]
s = requests.Session(); s.verify = False; s.trust_env = False; s.auth = (user, pw)
base = "https://127.0.0.1:%s/api/v1/me" % port
print("get", s.get(base + "/screener").json())
print("switch", s.put(base + "/screener", json={"enabled": True}).status_code)
print("deny", s.post(base + "/screener", json={"sender": "Spam@Junk.Example", "decision": "deny"}).status_code)
print("approve", s.post(base + "/screener", json={"sender": "pal@friend.example", "decision": "approve"}).status_code)
print("bad", s.post(base + "/screener", json={"sender": "x@y.example", "decision": "maybe"}).json()["error"]["field"])
print("state", json.dumps(s.get(base + "/screener").json(), sort_keys=True))
print("forget", s.delete(base + "/screener/pal@friend.example").status_code)
print("forget again", s.delete(base + "/screener/pal@friend.example").status_code)
print("vip", s.post(base + "/vip", json={"pattern": "Family.Example"}).json())
print("vip again", s.post(base + "/vip", json={"pattern": "@family.example"}).status_code)
print("vips", s.get(base + "/vip").json())
print("vip gone", s.delete(base + "/vip/@family.example").status_code)
print("nobody", requests.get(base + "/vip", verify=False, auth=(user, "wrong")).status_code)
"#,
        &[&t.port("https").to_string(), USER, PW],
    );
    for want in [
        "get {'enabled': False, 'senders': []}",
        "switch 204",
        "deny 204",
        "approve 204",
        "bad decision",
        "forget 204",
        "forget again 404",
        "vip @family.example",
        "vip again 409",
        "vips ['@family.example']",
        "vip gone 204",
        "nobody 401",
    ] {
        assert!(out.lines().any(|l| l == want), "{want}:\n{out}");
    }
    let state = out.lines().find(|l| l.starts_with("state ")).unwrap_or("");
    assert!(state.contains("\"enabled\": true"), "{state}");
    assert!(
        state.contains("\"sender\": \"spam@junk.example\"")
            && state.contains("\"approved\": false"),
        "{state}"
    );
    let listed =
        String::from_utf8_lossy(&t.cli(&["user", "screener", USER, "list"]).stdout).into_owned();
    assert!(
        listed.contains("spam@junk.example\tscreened out\tapi"),
        "{listed}"
    );
}

/// The self-service page is the third way in: the Screener switch and
/// decisions, VIPs, and Snooze with its time zone, as forms.
#[test]
fn the_self_service_page_sets_screener_vips_and_snooze() {
    let t = Tern::start(&["https"]);
    t.add_user(USER, PW);
    let out = python(
        r#"
import re, sys, requests, urllib3
urllib3.disable_warnings()
port, user, pw = sys.argv[1:4]
base = "https://127.0.0.1:%s" % port
s = requests.Session(); s.verify = False; s.trust_env = False
r = s.post(base + "/account/login", data={"user": user, "password": pw})
def csrf():
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', s.get(base + "/account").text).group(1)
def post(path, **form):
    r = s.post(base + path, data=dict(form, csrf=csrf()))
    m = re.search(r'class="(notice|error)"[^>]*>([^<]*)<', r.text)
    print(path, r.status_code, m.group(2) if m else "")
post("/account/screener", state="on")
post("/account/screener/decide", sender="Pal@Friend.Example", decision="approve")
post("/account/screener/decide", sender="not an address", decision="deny")
post("/account/vip", pattern="@family.example")
post("/account/snooze", state="on", time_zone="Mars/Olympus")
post("/account/snooze", state="on", time_zone="Europe/Berlin")
page = s.get(base + "/account").text
print("listed", "pal@friend.example" in page and "@family.example" in page and 'value="Europe/Berlin"' in page)
"#,
        &[&t.port("https").to_string(), USER, PW],
    );
    for want in [
        "/account/screener 200 The Screener is on: mail from unknown senders waits in Screener.",
        "/account/screener/decide 200 Decision saved.",
        "/account/vip 200 @family.example is a VIP now.",
        "/account/snooze 200 Snooze settings saved.",
        "listed True",
    ] {
        assert!(out.lines().any(|l| l == want), "{want}:\n{out}");
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with("/account/screener/decide 200 invalid")
                || l.starts_with("/account/screener/decide 200 ") && l.contains("not")),
        "{out}"
    );
    assert!(out.contains("is not a time zone"), "{out}");
    let listed =
        String::from_utf8_lossy(&t.cli(&["user", "screener", USER, "list"]).stdout).into_owned();
    assert!(
        listed.contains("pal@friend.example\tapproved\tweb"),
        "{listed}"
    );
}

#[test]
fn a_deleted_screener_is_made_again_and_other_recipients_are_served() {
    const LEE: &str = "lee@example.org";
    let t = Tern::start(&["smtp", "imaps"]);
    t.add_user(USER, PW);
    t.add_user(LEE, PW);
    assert!(t.cli(&["user", "screener", USER, "on"]).status.success());
    let deleted = t.imaps_script(
        r#"
imap = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
imap.login(user, password)
print(imap.delete("Screener")[0])
imap.logout()
"#,
        USER,
        PW,
        &[],
    );
    assert_eq!(deleted.trim(), "OK");
    // One message for both accounts: Kim's copy is held, Lee's delivered.
    let sent = python(
        r#"
import smtplib, sys
port, a, b = sys.argv[1:4]
s = smtplib.SMTP("127.0.0.1", int(port), timeout=60)
refused = s.sendmail("stranger@stranger.example", [a, b],
    "From: stranger@stranger.example\r\nSubject: both\r\n\r\nhello\r\n")
s.quit()
print("sent", refused)
"#,
        &[&t.port("smtp").to_string(), USER, LEE],
    );
    assert_eq!(sent.trim(), "sent {}");
    let b = boxes(&t);
    assert!(has(&b, "Screener: Subject: both"), "{b}");
    let lee = t.imaps_script(LIST, LEE, PW, &[]);
    assert!(has(&lee, "INBOX: Subject: both"), "{lee}");
}

#[test]
fn a_forged_from_moved_to_junk_does_not_screen_out_the_real_sender() {
    let dns = DnsServer::start(
        Zone::default()
            .txt("real.example", "v=spf1 ip4:127.0.0.1 -all")
            .txt("_dmarc.real.example", "v=DMARC1; p=none")
            .txt("spoof.example", "v=spf1 -all"),
    );
    let t = Tern::start_with(&["smtp", "imaps"], &dns.config());
    t.add_user(USER, PW);
    assert!(t.cli(&["user", "screener", USER, "on"]).status.success());
    let port = t.port("smtp");
    // The From is the real sender's; SPF and DMARC fail (p=none: held).
    let r = send(
        port,
        "mx.spoof.example",
        "mallory@spoof.example",
        USER,
        &msg("ceo@real.example", "forged", ""),
    );
    assert!(r.starts_with("250"), "{r}");
    assert_eq!(
        t.imaps_script(MOVE, USER, PW, &["Screener", "forged", "Junk"])
            .trim(),
        "moved"
    );
    let listed =
        String::from_utf8_lossy(&t.cli(&["user", "screener", USER, "list"]).stdout).into_owned();
    assert!(!listed.contains("ceo@real.example"), "{listed}");
    // The real sender's mail (DMARC pass) is held, not filed in Junk.
    let r = send(
        port,
        "mx.real.example",
        "ceo@real.example",
        USER,
        &msg("ceo@real.example", "genuine", ""),
    );
    assert!(r.starts_with("250"), "{r}");
    let b = boxes(&t);
    assert!(has(&b, "Screener: Subject: genuine"), "{b}");
    assert!(has(&b, "Junk: Subject: forged"), "{b}");
}

/// Submit a message from `from` (an account, its own password) to `USER`.
fn submit(t: &Tern, from: &str, subject: &str) {
    let sent = python(
        r#"
import smtplib, ssl, sys
port, user, pw, to, subject = sys.argv[1:6]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", int(port), timeout=60)
s.starttls(context=ctx)
s.login(user, pw)
s.sendmail(user, [to], ("From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nhi\r\n" % (user, to, subject)).encode())
s.quit()
print("sent")
"#,
        &[&t.port("submission").to_string(), from, PW, USER, subject],
    );
    assert_eq!(sent.trim(), "sent", "{subject}");
}

#[test]
fn same_domain_waves_through_colleagues_only() {
    let dns = DnsServer::start(Zone::default().txt("example.org", "v=spf1 ip4:127.0.0.1 -all"));
    let t = Tern::start_with(&["smtp", "imaps", "submission"], &dns.config());
    t.add_user(USER, PW);
    t.add_user("lee@example.org", PW);
    t.add_user("ann@other.example", PW);
    assert!(t.cli(&["user", "screener", USER, "on"]).status.success());
    // A colleague (an account of example.org) is welcome.
    submit(&t, "lee@example.org", "from-lee");
    // A local user of another domain is a stranger like any.
    submit(&t, "ann@other.example", "from-ann");
    // An example.org address that is no account, proved by SPF: held.
    let r = send(
        t.port("smtp"),
        "mx.example.org",
        "nobody@example.org",
        USER,
        &msg("nobody@example.org", "from-nobody", ""),
    );
    assert!(r.starts_with("250"), "{r}");
    let b = boxes(&t);
    assert!(has(&b, "INBOX: Subject: from-lee"), "{b}");
    assert!(has(&b, "Screener: Subject: from-ann"), "{b}");
    assert!(has(&b, "Screener: Subject: from-nobody"), "{b}");
}

#[test]
fn without_same_domain_colleagues_are_screened() {
    let t = Tern::start_with(
        &["smtp", "imaps", "submission"],
        "[screener]\nsame_domain = false\n",
    );
    t.add_user(USER, PW);
    t.add_user("lee@example.org", PW);
    assert!(t.cli(&["user", "screener", USER, "on"]).status.success());
    submit(&t, "lee@example.org", "from-lee");
    let b = boxes(&t);
    assert!(has(&b, "Screener: Subject: from-lee"), "{b}");
}

#[test]
fn greylisting_skips_a_vip_only_when_spf_passes() {
    let dns = DnsServer::start(Zone::default().txt("vip.example", "v=spf1 ip4:127.0.0.1 -all"));
    let t = Tern::start_with(
        &["smtp", "imaps"],
        &format!(
            "{}[greylist]\ndomains = [\"example.org\"]\ndelay_secs = 600\n",
            dns.config()
        ),
    );
    t.add_user(USER, PW);
    assert!(
        t.cli(&["user", "vip", USER, "add", "boss@vip.example"])
            .status
            .success()
    );
    // RCPT's reply to the VIP's address, sent from args[1] (both on lo).
    let rcpt = |source: &str| {
        python(
            r#"
import smtplib, sys
port, source, to = sys.argv[1:4]
s = smtplib.SMTP("127.0.0.1", int(port), timeout=60, source_address=(source, 0))
s.ehlo("mx.vip.example")
s.mail("boss@vip.example")
print(s.rcpt(to)[0])
s.quit()
"#,
            &[&t.port("smtp").to_string(), source, USER],
        )
    };
    // 127.0.0.2 is not in vip.example's SPF record: greylisted.
    assert_eq!(rcpt("127.0.0.2").trim(), "451");
    // 127.0.0.1 is: the VIP is not kept waiting.
    assert_eq!(rcpt("127.0.0.1").trim(), "250");
}

#[test]
fn held_mail_skips_sieve_and_every_way_out_decides() {
    let spf = "v=spf1 ip4:127.0.0.1 -all";
    let dns = DnsServer::start(
        Zone::default()
            .txt("trash.example", spf)
            .txt("copy.example", spf)
            .txt("held.example", spf),
    );
    let t = Tern::start_with(&["smtp", "imaps", "submission"], &dns.config());
    t.add_user(USER, PW);
    assert!(t.cli(&["user", "screener", USER, "on"]).status.success());
    // An active script that files every "filed" message in Archive.
    let script = t.data_dir().with_file_name("filer.sieve");
    std::fs::write(
        &script,
        "require \"fileinto\";\nif header :contains \"subject\" \"filed\" { fileinto \"Archive\"; }\n",
    )
    .expect("write the script");
    let path = script.to_str().expect("utf-8 path");
    assert!(
        t.cli(&["sieve", "put", USER, "filer", path])
            .status
            .success()
    );
    assert!(
        t.cli(&["sieve", "activate", USER, "filer"])
            .status
            .success()
    );
    let port = t.port("smtp");
    let send_ok = |from: &str, subject: &str, extra: &str| {
        let r = send(
            port,
            "mx.remote.example",
            from,
            USER,
            &msg(from, subject, extra),
        );
        assert!(r.starts_with("250"), "{subject}: {r}");
    };
    // Held mail waits in Screener: the script does not run for it. A
    // bounce passes the Screener, and the script files it.
    send_ok("new@held.example", "filed-held", "");
    let r = send(
        port,
        "mx.remote.example",
        "",
        USER,
        &msg("daemon@remote.example", "filed-bounce", ""),
    );
    assert!(r.starts_with("250"), "{r}");
    let b = boxes(&t);
    assert!(has(&b, "Screener: Subject: filed-held"), "{b}");
    assert!(has(&b, "Archive: Subject: filed-bounce"), "{b}");

    // Into Trash: screened out.
    send_ok("t@trash.example", "trash-1", "");
    assert_eq!(
        t.imaps_script(MOVE, USER, PW, &["Screener", "trash-1", "Trash"])
            .trim(),
        "moved"
    );
    // COPY to INBOX, then \Deleted and EXPUNGE in Screener: approved.
    send_ok("c@copy.example", "copy-1", "");
    let copied = t.imaps_script(
        r#"
imap = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx)
imap.login(user, password)
imap.select("Screener")
typ, data = imap.uid("SEARCH", "SUBJECT", "copy-1")
uid = data[0].split()[0]
print(imap.uid("COPY", uid, "INBOX")[0], imap.uid("STORE", uid, "+FLAGS", "(\\Deleted)")[0], imap.expunge()[0])
imap.logout()
"#,
        USER,
        PW,
        &[],
    );
    assert_eq!(copied.trim(), "OK OK OK");
    send_ok("t@trash.example", "trash-2", "");
    send_ok("c@copy.example", "copy-2", "");

    // A reply that names a sent message only in References is welcome.
    let sent = python(
        r#"
import smtplib, ssl, sys
port, user, pw = sys.argv[1:4]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", int(port), timeout=60)
s.starttls(context=ctx)
s.login(user, pw)
s.sendmail(user, ["x@far.example"], ("From: %s\r\nTo: x@far.example\r\nSubject: out\r\nMessage-ID: <out-2@example.org>\r\n\r\nhi\r\n" % user).encode())
s.quit()
print("sent")
"#,
        &[&t.port("submission").to_string(), USER, PW],
    );
    assert_eq!(sent.trim(), "sent");
    send_ok(
        "y@elsewhere.example",
        "by-references",
        "References: <older@elsewhere.example> <out-2@example.org>\r\n",
    );
    let b = boxes(&t);
    assert!(has(&b, "Junk: Subject: trash-2 [\\Seen"), "{b}");
    assert!(has(&b, "INBOX: Subject: copy-1"), "{b}");
    assert!(!has(&b, "Screener: Subject: copy-1"), "{b}");
    assert!(has(&b, "INBOX: Subject: copy-2"), "{b}");
    assert!(has(&b, "INBOX: Subject: by-references"), "{b}");
}

#[test]
fn the_cli_decides_forgets_and_keeps_vips() {
    let dns = DnsServer::start(Zone::default().txt("cli.example", "v=spf1 ip4:127.0.0.1 -all"));
    let t = Tern::start_with(&["smtp", "imaps"], &dns.config());
    t.add_user(USER, PW);
    let ok = |args: &[&str]| {
        let out = t.cli(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let port = t.port("smtp");
    let send_ok = |from: &str, subject: &str| {
        let r = send(port, "mx.cli.example", from, USER, &msg(from, subject, ""));
        assert!(r.starts_with("250"), "{subject}: {r}");
    };
    ok(&["user", "screener", USER, "on"]);
    // Denied: to Junk, seen. Forgotten: held again.
    ok(&["user", "screener", USER, "deny", "X@cli.example"]);
    send_ok("x@cli.example", "denied");
    ok(&["user", "screener", USER, "forget", "x@cli.example"]);
    assert!(!ok(&["user", "screener", USER, "list"]).contains("x@cli.example"));
    send_ok("x@cli.example", "forgotten");
    // A VIP listed, then removed: held like anyone.
    ok(&["user", "vip", USER, "add", "boss@cli.example"]);
    assert_eq!(
        ok(&["user", "vip", USER, "list"]).trim(),
        "boss@cli.example"
    );
    ok(&["user", "vip", USER, "remove", "boss@cli.example"]);
    assert_eq!(ok(&["user", "vip", USER, "list"]).trim(), "");
    send_ok("boss@cli.example", "ex-vip");
    let b = boxes(&t);
    assert!(has(&b, "Junk: Subject: denied [\\Seen"), "{b}");
    assert!(has(&b, "Screener: Subject: forgotten"), "{b}");
    assert!(has(&b, "Screener: Subject: ex-vip"), "{b}");
    assert!(!b.contains("$Important"), "{b}");
}
