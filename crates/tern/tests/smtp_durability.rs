//! Durability of inbound SMTP under a crash with several clients sending at
//! once (so the kill lands inside shared group commits, mid-DATA and
//! between commands): every message that got 250 is in the mailbox after
//! restart, exactly once, and nothing is stored twice.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Tern;
use tern_common::Address;
use tern_store::Store;

/// One body line (the message is 40 of them, about 3 KiB).
const BODY: &str = "durable durable durable durable durable durable durable durable\r\n";

fn inbox(data: &Path, user: &str) -> Vec<Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = Store::open_sqlite_for_tests(data).await.unwrap();
        let acc = s
            .account_get(&Address::parse(user).unwrap())
            .await
            .unwrap()
            .unwrap();
        let mb = s.mailbox_get(acc.id, "INBOX").await.unwrap().unwrap();
        let mut out = Vec::new();
        for m in s.messages(mb.id).await.unwrap() {
            out.push(s.message_bytes(mb.id, m.uid).await.unwrap());
        }
        out
    })
}

/// One SMTP reply (all its lines); empty when the connection is gone.
fn reply(r: &mut BufReader<TcpStream>) -> String {
    let mut all = String::new();
    for _ in 0..64 {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap_or(0) == 0 {
            return String::new();
        }
        all.push_str(&l);
        if l.as_bytes().get(3) != Some(&b'-') {
            return all;
        }
    }
    all
}

/// Send up to `count` messages, `per_conn` per connection, pipelining the
/// envelope; return the ids that were acknowledged with 250.
fn client(port: u16, who: usize, count: usize, per_conn: usize, acks: &AtomicUsize) -> Vec<String> {
    let mut acked = Vec::new();
    let mut i = 0;
    'conns: while i < count {
        let Ok(s) = TcpStream::connect(("127.0.0.1", port)) else {
            break;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let mut r = BufReader::new(s);
        if !reply(&mut r).starts_with("220") {
            break;
        }
        let mut w = r.get_ref().try_clone().unwrap();
        if w.write_all(b"EHLO k\r\n").is_err() || !reply(&mut r).starts_with("250") {
            break;
        }
        for _ in 0..per_conn {
            if i >= count {
                break 'conns;
            }
            let id = format!("c{who}m{i}");
            i += 1;
            let env = b"MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n";
            if w.write_all(env).is_err() {
                break 'conns;
            }
            for _ in 0..3 {
                let got = reply(&mut r);
                if got.is_empty() || got.starts_with('4') || got.starts_with('5') {
                    eprintln!("client {who} stops at {id}: {got:?}");
                    break 'conns;
                }
            }
            // The body goes in two writes, so a kill can land between them.
            let head = format!("Subject: {id}\r\nMessage-ID: <{id}@remote.example>\r\n\r\n");
            let body = format!("{}.\r\n", BODY.repeat(40));
            if w.write_all(head.as_bytes()).is_err() || w.write_all(body.as_bytes()).is_err() {
                break 'conns;
            }
            let end = reply(&mut r);
            if end.starts_with("250") {
                acked.push(id);
                acks.fetch_add(1, Ordering::SeqCst);
            } else {
                eprintln!("client {who} stops at {id}: {end:?}");
                break 'conns;
            }
        }
        let _ = w.write_all(b"QUIT\r\n");
    }
    acked
}

#[test]
fn sigkill_under_concurrent_load_loses_and_duplicates_nothing() {
    // Six clients on one IP: lift the per-IP limits meant for strangers.
    let mut t = Tern::start_with(
        &["smtp"],
        "[limits.smtp]\nper_ip = 100\n[rate]\nconnections_per_minute_per_ip = 0\nmessages_per_minute_per_ip = 0\n[tarpit]\nenabled = false\n",
    );
    t.add_user("alice@example.org", "pw");
    let port = t.port("smtp");
    let pid = t.pid();
    let acks = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..6)
        .map(|who| {
            let acks = acks.clone();
            // Half send one message per connection, half many.
            let per_conn = if who % 2 == 0 { 1 } else { 25 };
            std::thread::spawn(move || client(port, who, 400, per_conn, &acks))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acks.load(Ordering::SeqCst) < 150
        && Instant::now() < deadline
        && !threads.iter().all(|h| h.is_finished())
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    // Like a power cut: no chance to finish anything.
    common::signal(pid, "KILL");
    let acked: Vec<String> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    t.kill();
    assert!(acked.len() >= 150, "the clients got going: {}", acked.len());
    t.launch();
    let stored = inbox(&t.data_dir(), "alice@example.org");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in &stored {
        let s = String::from_utf8_lossy(m);
        let id = s
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: <"))
            .and_then(|l| l.split('@').next())
            .unwrap_or("?")
            .to_string();
        assert!(s.ends_with(&BODY.repeat(40)), "stored whole: {id}");
        *seen.entry(id).or_default() += 1;
    }
    for id in &acked {
        assert_eq!(seen.get(id), Some(&1), "{id} was acknowledged");
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "nothing stored twice: {seen:?}"
    );
    eprintln!("acknowledged {}, stored {}", acked.len(), stored.len());
    // Messages in flight at the kill may or may not be there, never more.
    assert!(stored.len() <= acked.len() + 6, "{} stored", stored.len());
}
