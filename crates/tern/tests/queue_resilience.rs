//! The queue when the other side does not cooperate: the per-destination
//! circuit breaker, delay notices (NOTIFY=DELAY) and a message that needs
//! SMTPUTF8 going to a server without it. Reports are read with Python's
//! `email` module, an independent RFC 3464 parser.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Tern;
use common::postfix::Postfix;
use common::sink::Sink;
use tern_store::{QueueNew, QueueRcptNew, RcptState, Store};

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn store(dir: &Path) -> (tokio::runtime::Runtime, Store) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(Store::open_sqlite_for_tests(dir)).unwrap();
    (rt, s)
}

fn enqueue(rt: &tokio::runtime::Runtime, s: &Store, rcpt: &str, notify: &str) -> i64 {
    rt.block_on(s.queue_insert(&QueueNew {
        sender: "alice@example.org".into(),
        recipients: vec![QueueRcptNew {
            rcpt: rcpt.into(),
            orcpt: None,
            notify: notify.into(),
        }],
        envid: Some("ENV-9".into()),
        ret: Some("HDRS".into()),
        requiretls: false,
        data: b"From: alice@example.org\r\nTo: someone@remote.example\r\nSubject: resilience\r\n\
                Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <res@example.org>\r\n\r\nhello\r\n"
            .to_vec(),
    }))
    .unwrap()
}

fn relay(port: u16, queue: &str) -> String {
    format!(
        "[relay]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
         [queue]\npoll_secs = 1\nretry_base_secs = 1\nretry_max_secs = 1\n{queue}"
    )
}

/// A listener that counts connections and drops each one at once, before
/// any greeting: a destination that keeps failing.
struct Refuser {
    port: u16,
    count: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Refuser {
    fn start() -> Refuser {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let count = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (count.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((conn, _)) => {
                        c.fetch_add(1, Ordering::SeqCst);
                        drop(conn);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Refuser {
            port,
            count,
            stop,
            thread: Some(thread),
        }
    }

    fn connections(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

impl Drop for Refuser {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn queue_show(t: &Tern, id: i64) -> String {
    let out = t.cli(&["queue", "show", &id.to_string()]);
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_circuit_breaker_pauses_a_failing_destination_then_resumes() {
    let r = Refuser::start();
    let t = Tern::start_with(
        &[],
        &relay(r.port, "breaker_failures = 3\nbreaker_pause_secs = 6\n"),
    );
    let (rt, s) = store(&t.data_dir());
    let id = enqueue(&rt, &s, "bob@remote.example", "");
    // Three failed attempts, about a second apart, trip the breaker.
    wait_for("three connection failures", Duration::from_secs(30), || {
        r.connections() >= 3
    });
    let tripped = Instant::now();
    wait_for("the pause to show", Duration::from_secs(5), || {
        queue_show(&t, id).contains("paused until")
    });
    let shown = queue_show(&t, id);
    assert!(shown.contains("state: Pending"), "{shown}");
    let during = r.connections();
    assert_eq!(during, 3, "no attempt beyond the threshold");
    // Well inside the 6 s pause, retries (1 s apart otherwise) stay away.
    std::thread::sleep(Duration::from_secs(4).saturating_sub(tripped.elapsed()));
    assert_eq!(r.connections(), during, "no connection while paused");
    // After the pause the destination is tried again.
    wait_for("attempts to resume", Duration::from_secs(20), || {
        r.connections() > during
    });
    assert!(
        tripped.elapsed() >= Duration::from_secs(5),
        "resumed only after the pause: {:?}",
        tripped.elapsed()
    );
    let m = rt.block_on(s.queue_message(id)).unwrap().unwrap();
    assert_eq!(m.recipients[0].state, RcptState::Pending);
}

fn write_tmp(dir: &Path, bytes: &[u8]) -> PathBuf {
    let p = dir.join("report.eml");
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The reports in alice's INBOX, oldest first.
fn reports(t: &Tern, rt: &tokio::runtime::Runtime, s: &Store) -> Vec<Vec<u8>> {
    let _ = t;
    let acc = rt
        .block_on(s.account_get(&tern_common::Address::parse("alice@example.org").unwrap()))
        .unwrap()
        .unwrap();
    let inbox = rt
        .block_on(s.mailbox_get(acc.id, "INBOX"))
        .unwrap()
        .unwrap();
    rt.block_on(s.messages(inbox.id))
        .unwrap()
        .iter()
        .map(|m| rt.block_on(s.message_bytes(inbox.id, m.uid)).unwrap())
        .collect()
}

const READ_REPORT: &str = include_str!("scripts/queue_resilience_read_report.py");

#[test]
fn notify_delay_gets_one_delay_notice_once_the_message_is_late() {
    let sink = Sink::start(&["-r", "rcpt"]);
    let t = Tern::start_with(&[], &relay(sink.port, "delay_notice_after_secs = 2\n"));
    t.add_user("alice@example.org", "pw");
    let (rt, s) = store(&t.data_dir());
    let id = enqueue(&rt, &s, "bob@remote.example", "FAILURE,DELAY");
    wait_for("the delay notice", Duration::from_secs(30), || {
        !reports(&t, &rt, &s).is_empty()
    });
    // More deferrals follow, but the notice is sent once.
    wait_for("two more attempts", Duration::from_secs(30), || {
        rt.block_on(s.queue_message(id))
            .unwrap()
            .is_some_and(|m| m.recipients[0].attempts >= 5)
    });
    let r = reports(&t, &rt, &s);
    assert_eq!(r.len(), 1, "exactly one delay notice");
    let dir = tempfile::tempdir().unwrap();
    let out = common::python(
        READ_REPORT,
        &[write_tmp(dir.path(), &r[0]).to_str().unwrap()],
    );
    assert!(out.contains("ENV-9"), "{out}");
    assert!(
        out.contains("rfc822; bob@remote.example | delayed | 4."),
        "{out}"
    );
    let m = rt.block_on(s.queue_message(id)).unwrap().unwrap();
    assert_eq!(m.recipients[0].state, RcptState::Pending, "still queued");
}

#[test]
fn without_notify_delay_no_delay_notice_is_sent() {
    let sink = Sink::start(&["-r", "rcpt"]);
    let t = Tern::start_with(&[], &relay(sink.port, "delay_notice_after_secs = 1\n"));
    t.add_user("alice@example.org", "pw");
    let (rt, s) = store(&t.data_dir());
    let id = enqueue(&rt, &s, "bob@remote.example", "");
    wait_for("several attempts", Duration::from_secs(30), || {
        rt.block_on(s.queue_message(id))
            .unwrap()
            .is_some_and(|m| m.recipients[0].attempts >= 4)
    });
    assert!(reports(&t, &rt, &s).is_empty(), "no notice unasked");
}

#[test]
fn a_message_needing_smtputf8_to_a_server_without_it_fails_with_a_dsn() {
    let pf = Postfix::start(false, &["smtputf8_enable=no"]);
    let t = Tern::start_with(&[], &relay(pf.port, ""));
    t.add_user("alice@example.org", "pw");
    let (rt, s) = store(&t.data_dir());
    let id = enqueue(&rt, &s, "bøb@remote.example", "");
    wait_for("the bounce", Duration::from_secs(30), || {
        !reports(&t, &rt, &s).is_empty()
    });
    let m = rt.block_on(s.queue_message(id)).unwrap();
    assert!(
        m.is_none_or(|m| m.recipients[0].state == RcptState::Failed),
        "failed, not retried"
    );
    let r = reports(&t, &rt, &s);
    let dir = tempfile::tempdir().unwrap();
    let out = common::python(
        READ_REPORT,
        &[write_tmp(dir.path(), &r[0]).to_str().unwrap()],
    );
    assert!(out.contains("| failed | 5.6.7"), "{out}");
    assert!(pf.messages().is_empty(), "nothing was handed to Postfix");
}
