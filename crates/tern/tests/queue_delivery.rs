//! The outbound queue against a real peer: Postfix's `smtp-sink` on
//! loopback as the smarthost. Messages are put in the queue through the
//! store (as submission will), and a real `tern serve` delivers them.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Tern;
use common::sink::{Reserved, Sink};
use tern_store::{QueueNew, QueueRcptNew, Store};

fn relay_config(port: u16) -> String {
    format!(
        "[relay]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
         [queue]\npoll_secs = 1\nretry_base_secs = 1\nretry_max_secs = 2\n"
    )
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn store(dir: &Path) -> (tokio::runtime::Runtime, Store) {
    let rt = rt();
    let s = rt.block_on(Store::open_sqlite_for_tests(dir)).unwrap();
    (rt, s)
}

fn message(n: usize) -> Vec<u8> {
    format!(
        "From: alice@example.org\r\nTo: bob@remote.example\r\nSubject: queued {n}\r\nMessage-ID: <q{n}@example.org>\r\n\
         Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\n\
         line one\r\n.a line that starts with a dot\r\n..two dots\r\n.\r\nlast\r\n"
    )
    .into_bytes()
}

fn enqueue(
    rt: &tokio::runtime::Runtime,
    s: &Store,
    sender: &str,
    rcpt: &str,
    data: Vec<u8>,
) -> i64 {
    enqueue_with(rt, s, sender, rcpt, data, false)
}

fn enqueue_with(
    rt: &tokio::runtime::Runtime,
    s: &Store,
    sender: &str,
    rcpt: &str,
    data: Vec<u8>,
    requiretls: bool,
) -> i64 {
    rt.block_on(s.queue_insert(&QueueNew {
        sender: sender.into(),
        recipients: vec![QueueRcptNew {
            rcpt: rcpt.into(),
            orcpt: None,
            notify: String::new(),
        }],
        envid: Some("ENV-7".into()),
        ret: None,
        requiretls,
        data,
    }))
    .unwrap()
}

/// The part of a dump after smtp-sink's own trace lines.
fn payload(dump: &[u8]) -> &[u8] {
    let start = dump
        .windows(6)
        .position(|w| w == b"From: ")
        .expect("message in dump");
    &dump[start..]
}

fn queue_empty(rt: &tokio::runtime::Runtime, s: &Store) -> bool {
    rt.block_on(s.queue_list()).unwrap().is_empty()
}

#[test]
fn delivers_byte_exact_through_the_relay() {
    let sink = Sink::start(&[]);
    let t = Tern::start_with(&[], &relay_config(sink.port));
    let (rt, s) = store(&t.data_dir());
    for n in 0..3 {
        enqueue(
            &rt,
            &s,
            "alice@example.org",
            "bob@remote.example",
            message(n),
        );
    }
    // smtp-sink stores lines with LF endings; apart from that the bytes are
    // ours: dots were stuffed on the way and unstuffed on arrival.
    let mut want: Vec<Vec<u8>> = (0..3)
        .map(|n| {
            String::from_utf8(message(n))
                .unwrap()
                .replace("\r\n", "\n")
                .into_bytes()
        })
        .collect();
    want.sort();
    // A dump file exists before smtp-sink has written all of it: wait for
    // three whole ones, not for three files.
    let whole = |dumps: &[Vec<u8>]| {
        dumps.len() == 3
            && dumps.iter().all(|d| {
                d.windows(6).any(|w| w == b"From: ")
                    && want.iter().any(|w| {
                        d[d.len().saturating_sub(w.len() + 64)..]
                            .windows(w.len())
                            .any(|x| x == w.as_slice())
                    })
            })
    };
    wait_for("3 whole deliveries", Duration::from_secs(30), || {
        whole(&sink.messages())
    });
    let mut got: Vec<Vec<u8>> = sink
        .messages()
        .iter()
        .map(|m| payload(m).to_vec())
        .collect();
    got.sort();
    for (g, w) in got.iter().zip(&want) {
        assert!(
            g.starts_with(w),
            "delivered:\n{}\nwanted:\n{}",
            String::from_utf8_lossy(g),
            String::from_utf8_lossy(w)
        );
    }
    wait_for("the queue to empty", Duration::from_secs(10), || {
        queue_empty(&rt, &s)
    });
}

#[test]
fn permanent_failure_bounces_to_the_local_sender_and_null_sender_never_bounces() {
    let sink = Sink::start(&["-f", "rcpt", "-B", "550 5.1.1 no such user here"]);
    let t = Tern::start_with(&[], &relay_config(sink.port));
    t.add_user("alice@example.org", "pw");
    let (rt, s) = store(&t.data_dir());
    enqueue(&rt, &s, "", "bob@remote.example", message(9));
    enqueue(
        &rt,
        &s,
        "alice@example.org",
        "bob@remote.example",
        message(1),
    );
    let acc = rt
        .block_on(s.account_get(&tern_common::Address::parse("alice@example.org").unwrap()))
        .unwrap()
        .unwrap();
    let inbox = rt
        .block_on(s.mailbox_get(acc.id, "INBOX"))
        .unwrap()
        .unwrap();
    wait_for("the bounce", Duration::from_secs(30), || {
        !rt.block_on(s.messages(inbox.id)).unwrap().is_empty()
    });
    wait_for("the queue to empty", Duration::from_secs(10), || {
        queue_empty(&rt, &s)
    });
    std::thread::sleep(Duration::from_millis(500));
    let msgs = rt.block_on(s.messages(inbox.id)).unwrap();
    assert_eq!(
        msgs.len(),
        1,
        "one bounce, none for the null sender's message"
    );
    let dsn = rt.block_on(s.message_bytes(inbox.id, msgs[0].uid)).unwrap();
    // An independent parser reads it as an RFC 3464 report.
    let out = common::python(
        include_str!("scripts/queue_delivery_read_dsn.py"),
        &[write_tmp(&dsn).to_str().unwrap()],
    );
    assert!(out.contains("dns; mx.test.example ENV-7"), "{out}");
    assert!(
        out.contains("rfc822; bob@remote.example failed 5.1.1"),
        "{out}"
    );
    assert!(
        out.contains("<>"),
        "the report itself has the null sender: {out}"
    );
}

fn write_tmp(bytes: &[u8]) -> PathBuf {
    let f = tempfile::NamedTempFile::new().unwrap();
    let (_, p) = f.keep().unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn unreachable_destination_is_retried_until_it_answers() {
    let reserved = Reserved::new();
    let port = reserved.port;
    let t = Tern::start_with(&[], &relay_config(port));
    let (rt, s) = store(&t.data_dir());
    let id = enqueue(
        &rt,
        &s,
        "alice@example.org",
        "bob@remote.example",
        message(4),
    );
    wait_for("a failed attempt", Duration::from_secs(20), || {
        rt.block_on(s.queue_message(id))
            .unwrap()
            .is_some_and(|m| m.recipients[0].attempts >= 1)
    });
    let m = rt.block_on(s.queue_message(id)).unwrap().unwrap();
    assert!(
        !m.recipients[0].last_error.is_empty(),
        "the reason is recorded"
    );
    let sink = Sink::start_on(reserved, &[]);
    wait_for("delivery on retry", Duration::from_secs(30), || {
        sink.messages().len() == 1
    });
    wait_for("the queue to empty", Duration::from_secs(10), || {
        queue_empty(&rt, &s)
    });
}

#[test]
fn a_crash_loses_nothing_and_repeats_at_most_the_deliveries_in_flight() {
    let sink = Sink::start(&[]);
    let mut t = Tern::start_with(&[], &format!("{}workers = 4\n", relay_config(sink.port)));
    let (rt, s) = store(&t.data_dir());
    const N: usize = 200;
    for n in 0..N {
        enqueue(
            &rt,
            &s,
            "alice@example.org",
            "bob@remote.example",
            message(n),
        );
    }
    wait_for("half the queue", Duration::from_secs(60), || {
        sink.messages().len() >= N / 2
    });
    t.kill();
    t.launch();
    wait_for("every message", Duration::from_secs(120), || {
        let got = sink.messages();
        let ids: std::collections::HashSet<Vec<u8>> =
            got.iter().filter_map(|m| message_id(m)).collect();
        ids.len() == N
    });
    wait_for("the queue to empty", Duration::from_secs(20), || {
        queue_empty(&rt, &s)
    });
    let got = sink.messages();
    let complete = got.iter().filter(|m| message_id(m).is_some()).count();
    let repeats = complete - N;
    assert!(
        repeats <= 4,
        "only deliveries in flight at the crash may repeat: {repeats}"
    );
}

/// The Message-ID of a completely written dump (smtp-sink writes as it reads).
fn message_id(dump: &[u8]) -> Option<Vec<u8>> {
    if !dump.ends_with(b"last\n\n") && !dump.ends_with(b"last\n") {
        return None;
    }
    let p = dump.windows(12).position(|w| w == b"Message-ID: ")?;
    let rest = &dump[p..];
    Some(rest[..rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len())].to_vec())
}

fn mx_config(dns: &common::dns::DnsServer, port: u16) -> String {
    format!(
        "{}[queue]\npoll_secs = 1\nretry_base_secs = 1\nretry_max_secs = 2\nremote_port = {port}\n",
        dns.config()
    )
}

#[test]
fn mx_routing_preference_fallback_implicit_mx_null_mx_and_dns_errors() {
    use common::dns::{DnsServer, Zone};
    let sink = Sink::start(&[]);
    // mx1 (preferred) has nobody listening on 127.0.0.2; mx2 answers.
    let zone = Zone::default()
        .mx("remote.example", 10, "mx1.remote.example")
        .mx("remote.example", 20, "mx2.remote.example")
        .a("mx1.remote.example", "127.0.0.2")
        .a("mx2.remote.example", "127.0.0.1")
        .a("implicit.example", "127.0.0.1")
        .mx("nullmx.example", 0, ".")
        .a("nullmx.example", "127.0.0.1")
        .servfail("broken.example");
    let dns = DnsServer::start(zone);
    let t = Tern::start_with(&[], &mx_config(&dns, sink.port));
    t.add_user("alice@example.org", "pw");
    let (rt, s) = store(&t.data_dir());
    enqueue(
        &rt,
        &s,
        "alice@example.org",
        "bob@remote.example",
        message(1),
    );
    enqueue(
        &rt,
        &s,
        "alice@example.org",
        "carol@implicit.example",
        message(2),
    );
    let broken = enqueue(
        &rt,
        &s,
        "alice@example.org",
        "dave@broken.example",
        message(3),
    );
    enqueue(
        &rt,
        &s,
        "alice@example.org",
        "erin@nullmx.example",
        message(4),
    );
    enqueue(&rt, &s, "alice@example.org", "fred@nx.example", message(5));
    wait_for("two deliveries", Duration::from_secs(30), || {
        sink.messages().len() == 2
    });
    let acc = rt
        .block_on(s.account_get(&tern_common::Address::parse("alice@example.org").unwrap()))
        .unwrap()
        .unwrap();
    let inbox = rt
        .block_on(s.mailbox_get(acc.id, "INBOX"))
        .unwrap()
        .unwrap();
    wait_for("two bounces", Duration::from_secs(30), || {
        rt.block_on(s.messages(inbox.id)).unwrap().len() == 2
    });
    let mut statuses = Vec::new();
    for m in rt.block_on(s.messages(inbox.id)).unwrap() {
        let b = String::from_utf8(rt.block_on(s.message_bytes(inbox.id, m.uid)).unwrap()).unwrap();
        let st = b
            .lines()
            .find(|l| l.starts_with("Status: "))
            .unwrap()
            .to_string();
        let rc = b
            .lines()
            .find(|l| l.starts_with("Final-Recipient: "))
            .unwrap()
            .to_string();
        statuses.push(format!("{rc} {st}"));
    }
    statuses.sort();
    assert_eq!(
        statuses,
        vec![
            "Final-Recipient: rfc822; erin@nullmx.example Status: 5.1.10",
            "Final-Recipient: rfc822; fred@nx.example Status: 5.1.2",
        ]
    );
    // A DNS failure is temporary: still queued, with the reason.
    wait_for(
        "an attempt at broken.example",
        Duration::from_secs(30),
        || {
            rt.block_on(s.queue_message(broken))
                .unwrap()
                .is_some_and(|m| m.recipients[0].attempts >= 1)
        },
    );
    let m = rt.block_on(s.queue_message(broken)).unwrap().unwrap();
    assert_eq!(m.recipients[0].state, tern_store::RcptState::Pending);
    assert!(m.recipients[0].last_error.contains("broken.example"));
}

fn delivered_to_postfix(tls: bool) {
    use common::dns::{DnsServer, Zone};
    use common::postfix::Postfix;
    let pf = Postfix::start(tls, &[]);
    let dns = DnsServer::start(
        Zone::default()
            .mx("remote.example", 10, "mx.remote.example")
            .a("mx.remote.example", "127.0.0.1"),
    );
    let t = Tern::start_with(&[], &mx_config(&dns, pf.port));
    let (rt, s) = store(&t.data_dir());
    enqueue(
        &rt,
        &s,
        "alice@example.org",
        "bob@remote.example",
        message(7),
    );
    wait_for(
        "postfix to store the message",
        Duration::from_secs(30),
        || pf.messages().len() == 1,
    );
    let got = pf.messages().remove(0);
    let want = String::from_utf8(message(7)).unwrap().replace("\r\n", "\n");
    let got = String::from_utf8(got).unwrap();
    // Postfix adds Return-Path, Delivered-To and Received above our bytes
    // and stores LF line ends; everything else is exactly what we queued.
    assert!(got.ends_with(&want), "stored:\n{got}\nwanted tail:\n{want}");
    assert!(
        got.starts_with("Return-Path: <alice@example.org>\n"),
        "{got}"
    );
    let log = pf.log();
    let session = log
        .lines()
        .find(|l| l.contains("disconnect from") && l.contains("mail=1"))
        .unwrap_or_default()
        .to_string();
    if tls {
        assert!(session.contains("starttls=1"), "{session}");
        assert!(
            got.contains("with ESMTPS id"),
            "Postfix recorded TLS: {got}"
        );
    } else {
        assert!(!session.contains("starttls"), "{session}");
        assert!(got.contains("with ESMTP id"), "{got}");
    }
    wait_for("the queue to empty", Duration::from_secs(10), || {
        queue_empty(&rt, &s)
    });
}

#[test]
fn delivers_to_postfix_with_starttls_and_pipelining() {
    delivered_to_postfix(true);
}

#[test]
fn delivers_to_postfix_in_plain_text_when_it_offers_no_tls() {
    delivered_to_postfix(false);
}

#[test]
fn tls_required_is_never_sent_in_clear_and_requiretls_bounces() {
    use common::dns::{DnsServer, Zone};
    use common::postfix::Postfix;
    let pf = Postfix::start(false, &[]);
    let dns = DnsServer::start(
        Zone::default()
            .mx("remote.example", 10, "mx.remote.example")
            .a("mx.remote.example", "127.0.0.1"),
    );
    let cfg = format!(
        "{}require_tls = [\"remote.example\"]\n",
        mx_config(&dns, pf.port)
    );
    let t = Tern::start_with(&[], &cfg);
    t.add_user("alice@example.org", "pw");
    let (rt, s) = store(&t.data_dir());
    let held = enqueue(
        &rt,
        &s,
        "alice@example.org",
        "bob@remote.example",
        message(1),
    );
    wait_for("an attempt", Duration::from_secs(20), || {
        rt.block_on(s.queue_message(held))
            .unwrap()
            .is_some_and(|m| m.recipients[0].attempts >= 1)
    });
    assert!(pf.messages().is_empty(), "nothing was sent in clear");
    let results = rt.block_on(s.tls_results(0)).unwrap();
    assert!(
        results
            .iter()
            .any(|r| r.outcome == "starttls-not-supported" && r.policy == "require-tls"),
        "{results:?}"
    );

    // REQUIRETLS (RFC 8689) on a message: no TLS means a bounce, not a wait.
    let t2 = Tern::start_with(&[], &mx_config(&dns, pf.port));
    t2.add_user("alice@example.org", "pw");
    let (rt2, s2) = store(&t2.data_dir());
    enqueue_with(
        &rt2,
        &s2,
        "alice@example.org",
        "bob@remote.example",
        message(2),
        true,
    );
    let acc = rt2
        .block_on(s2.account_get(&tern_common::Address::parse("alice@example.org").unwrap()))
        .unwrap()
        .unwrap();
    let inbox = rt2
        .block_on(s2.mailbox_get(acc.id, "INBOX"))
        .unwrap()
        .unwrap();
    wait_for("the bounce", Duration::from_secs(30), || {
        !rt2.block_on(s2.messages(inbox.id)).unwrap().is_empty()
    });
    let uid = rt2.block_on(s2.messages(inbox.id)).unwrap()[0].uid;
    let dsn = String::from_utf8(rt2.block_on(s2.message_bytes(inbox.id, uid)).unwrap()).unwrap();
    assert!(dsn.contains("Status: 5.7.30"), "{dsn}");
    assert!(pf.messages().is_empty(), "still nothing sent in clear");
}
