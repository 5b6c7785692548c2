//! SOURCE/GET (docs/source-get.md) between two real tern servers on
//! 127.0.0.2 (mx.a.example) and 127.0.0.3 (mx.b.example), found through the
//! loopback DNS server: a message from a.example to b.example goes by
//! SOURCE, waits on A's queue as "awaiting fetch" while B cannot reach A,
//! survives both being killed, and after the restarts is fetched once,
//! byte-exact, with `source-get=pass`; A then counts it delivered. A GET
//! for an identifier A never issued, or one already used, is refused. An
//! identifier never fetched is bounced by the sender only. A burst of 500
//! SOURCE transactions is taken at once. Postfix, which does not offer
//! SOURCE, gets DATA from tern and sends DATA to it; `unidentified` refuses
//! or files such mail as configured.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use common::Tern;
use common::dns::{DnsServer, Zone};
use tern_store::{QueueNew, QueueRcptNew, RcptState, Store};

/// A port free on both 127.0.0.2 and 127.0.0.3: the two servers are each
/// other's MX on the same port, as real MX hosts are on 25.
fn shared_port() -> u16 {
    for _ in 0..50 {
        let a = TcpListener::bind("127.0.0.2:0").expect("127.0.0.2");
        let port = a.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.3", port)).is_ok()
            && TcpListener::bind(("127.0.0.4", port)).is_ok()
        {
            return port;
        }
    }
    panic!("no port free on all three addresses");
}

fn zone() -> Zone {
    Zone::default()
        .mx("a.example", 10, "mx.a.example")
        .a("mx.a.example", "127.0.0.2")
        .txt("a.example", "v=spf1 ip4:127.0.0.2 -all")
        .mx("b.example", 10, "mx.b.example")
        .a("mx.b.example", "127.0.0.3")
}

/// A server at `ip`:`port` for `host`, with `extra` configuration.
fn config(dir: &Path, host: &str, ip: &str, port: u16, extra: &str) -> String {
    let (cert, key) = tern_common::tls::self_signed(&dir.join("tls"), host).expect("certificate");
    format!(
        "hostname = \"{host}\"\ndata_dir = \"{}\"\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n\
         [[listeners]]\nkind = \"smtp\"\naddr = \"{ip}\"\nport = {port}\n{extra}",
        dir.join("data").display(),
        cert.display(),
        key.display()
    )
}

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every message file in `data`'s Maildirs.
fn stored(data: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![data.join("accounts")];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p
                .parent()
                .is_some_and(|x| x.ends_with("cur") || x.ends_with("new"))
            {
                out.push(String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned());
            }
        }
    }
    out
}

const BODY: &str = "From: alice@a.example\r\nTo: bob@b.example\r\nSubject: by SOURCE\r\n\
                    Date: Mon, 30 Nov 2026 10:00:00 +0000\r\nMessage-ID: <sg1@a.example>\r\n\r\n\
                    line one\r\n.leading dot\r\n\r\nlast line\r\n";

/// Queue BODY from alice@a.example to bob@b.example in A's store.
fn alice_to_bob(rt: &tokio::runtime::Runtime, sa: &Store) {
    rt.block_on(sa.queue_insert(&QueueNew {
        sender: "alice@a.example".into(),
        recipients: vec![QueueRcptNew {
            rcpt: "bob@b.example".into(),
            orcpt: None,
            notify: String::new(),
        }],
        data: BODY.as_bytes().to_vec(),
        ..Default::default()
    }))
    .unwrap();
}

fn rcpt_state(rt: &tokio::runtime::Runtime, s: &Store) -> Option<RcptState> {
    rt.block_on(s.queue_list())
        .unwrap()
        .first()
        .map(|m| m.recipients[0].state)
}

#[test]
fn a_message_goes_by_source_and_get_once_across_a_crash() {
    let port = shared_port();
    let dns = DnsServer::start(zone());
    let a = Tern::start_config(|dir| {
        config(
            dir,
            "mx.a.example",
            "127.0.0.2",
            port,
            &format!(
                "{}[source_get]\nsend = true\n[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {port}\n",
                dns.config()
            ),
        )
    });
    ok(a.cli(&["domain", "add", "a.example", "--no-dkim"]));
    // B cannot reach A at first: its fetches go to a port nobody listens on.
    let closed = TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let b_extra = |fetch_port: u16| {
        format!(
            "{}[source_get]\nreceive = true\n[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {fetch_port}\n",
            dns.config()
        )
    };
    let mut b =
        Tern::start_config(|dir| config(dir, "mx.b.example", "127.0.0.3", port, &b_extra(closed)));
    b.add_user("bob@b.example", "Bob-Strong-Pass-1!");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sa = rt
        .block_on(Store::open_sqlite_for_tests(&a.data_dir()))
        .unwrap();
    alice_to_bob(&rt, &sa);

    // B took it by SOURCE: A waits for the fetch, B holds the envelope only.
    let deadline = Instant::now() + Duration::from_secs(60);
    while rcpt_state(&rt, &sa) != Some(RcptState::Awaiting) {
        assert!(
            Instant::now() < deadline,
            "never sent by SOURCE: {:?}",
            rt.block_on(sa.queue_list())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let sb = rt
        .block_on(Store::open_sqlite_for_tests(&b.data_dir()))
        .unwrap();
    let waiting = rt.block_on(sb.source_in_list()).unwrap();
    assert_eq!(waiting.len(), 1);
    let id = waiting[0].source_id.clone();
    assert!(tern_queue::source_get::is_id(&id), "{id}");
    assert!(
        stored(&b.data_dir()).is_empty(),
        "nothing delivered before the GET"
    );

    // Both die between SOURCE and GET; A comes back as it was, B able to
    // reach A.
    let mut a = a;
    a.kill();
    a.launch();
    b.kill();
    std::fs::write(
        &b.config,
        config(
            b.dir.path(),
            "mx.b.example",
            "127.0.0.3",
            port,
            &b_extra(port),
        ),
    )
    .unwrap();
    b.launch();
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored(&b.data_dir()).is_empty() {
        assert!(
            Instant::now() < deadline,
            "not fetched: {:?}",
            rt.block_on(sb.source_in_list())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A counts it delivered once B released it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !rt.block_on(sa.queue_list()).unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "never released: {:?}",
            rt.block_on(sa.queue_list())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let got = stored(&b.data_dir());
    assert_eq!(got.len(), 1, "fetched exactly once");
    let m = &got[0];
    assert!(
        m.ends_with(BODY),
        "byte-exact apart from the trace fields:\n{m}"
    );
    assert!(m.contains("source-get=pass smtp.mailfrom=a.example"), "{m}");
    assert!(
        m.contains("spf=pass"),
        "checked as from the MX it came from: {m}"
    );
    assert!(rt.block_on(sb.source_in_list()).unwrap().is_empty());

    // A GET for an identifier A never issued: 550, tarpitted.
    let s = TcpStream::connect(("127.0.0.2", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let mut w = r.get_ref().try_clone().unwrap();
    w.write_all(b"EHLO probe.example\r\n").unwrap();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line.as_bytes().get(3) == Some(&b' ') {
            break;
        }
    }
    w.write_all(format!("GET {}\r\n", "Q".repeat(32)).as_bytes())
        .unwrap();
    line.clear();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("550 5.1.0"), "{line}");
    // The identifier that was used: released, so refused from now on.
    w.write_all(format!("GET {id}\r\nRELEASE {id}\r\n").as_bytes())
        .unwrap();
    for _ in 0..2 {
        line.clear();
        r.read_line(&mut line).unwrap();
        assert!(line.starts_with("550 5.1.0"), "{line}");
    }
    w.write_all(b"GET short\r\n").unwrap();
    line.clear();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("501"), "{line}");
}

#[test]
fn postfix_does_not_offer_source_so_data_is_used() {
    let pf = common::postfix::Postfix::start(false, &[]);
    let dns = DnsServer::start(
        Zone::default()
            .mx("remote.example", 10, "mx.remote.example")
            .a("mx.remote.example", "127.0.0.1"),
    );
    let t = Tern::start_with(
        &["smtp"],
        &format!(
            "{}[source_get]\nsend = true\nreceive = true\n[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {}\n",
            dns.config(),
            pf.port
        ),
    );
    ok(t.cli(&["domain", "add", "example.org", "--no-dkim"]));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt
        .block_on(Store::open_sqlite_for_tests(&t.data_dir()))
        .unwrap();
    rt.block_on(s.queue_insert(&QueueNew {
        sender: "alice@example.org".into(),
        recipients: vec![QueueRcptNew {
            rcpt: "bob@remote.example".into(),
            orcpt: None,
            notify: String::new(),
        }],
        data: b"From: alice@example.org\r\nTo: bob@remote.example\r\nSubject: plain\r\n\r\nby DATA\r\n".to_vec(),
        ..Default::default()
    }))
    .unwrap();
    let m = String::from_utf8_lossy(&pf.first_message(Duration::from_secs(60))).into_owned();
    assert!(m.contains("by DATA"), "{m}");
    // And Postfix delivering to tern: tern offers SOURCE, Postfix ignores
    // it and uses DATA; the message says it did not come by GET.
    t.add_user("carol@example.org", "Carol-Strong-Pass-1!");
    let ehlo = common::python(
        "import smtplib,sys\ns=smtplib.SMTP('127.0.0.1', int(sys.argv[1]))\nprint(s.ehlo()[1].decode())\n",
        &[&t.port("smtp").to_string()],
    );
    assert!(ehlo.lines().any(|l| l == "SOURCE"), "{ehlo}");
    // Postfix relaying to tern ignores SOURCE and sends DATA.
    let relay = common::postfix::Postfix::start(
        false,
        &[&format!("relayhost=[127.0.0.1]:{}", t.port("smtp"))],
    );
    common::python(
        "import smtplib,sys\ns=smtplib.SMTP('127.0.0.1', int(sys.argv[1]))\n\
         s.sendmail('someone@remote.example', ['carol@example.org'], b'Subject: through postfix\\r\\n\\r\\nby DATA\\r\\n')\n",
        &[&relay.port.to_string()],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = stored(&t.data_dir());
        if let Some(m) = got.iter().find(|m| m.contains("Subject: through postfix")) {
            assert!(m.contains("source-get=none"), "{m}");
            break;
        }
        assert!(Instant::now() < deadline, "not relayed: {}", relay.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    common::python(
        "import smtplib,sys\ns=smtplib.SMTP('127.0.0.1', int(sys.argv[1]))\n\
         s.sendmail('someone@remote.example', ['carol@example.org'], b'Subject: direct\\r\\n\\r\\nby DATA\\r\\n')\n",
        &[&t.port("smtp").to_string()],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = stored(&t.data_dir());
        if let Some(m) = got.iter().find(|m| m.contains("Subject: direct")) {
            assert!(m.contains("source-get=none"), "{m}");
            break;
        }
        assert!(Instant::now() < deadline, "not delivered");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_unfetched_message_is_bounced_by_the_sender_and_nothing_half_delivered() {
    let port = shared_port();
    let dns = DnsServer::start(zone());
    let closed = TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let a = Tern::start_config(|dir| {
        config(
            dir,
            "mx.a.example",
            "127.0.0.2",
            port,
            &format!(
                "{}[source_get]\nsend = true\nretention_secs = 4\n[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {port}\n",
                dns.config()
            ),
        )
    });
    a.add_user("alice@a.example", "Alice-Strong-Pass-1!");
    let b = Tern::start_config(|dir| {
        config(
            dir,
            "mx.b.example",
            "127.0.0.3",
            port,
            &format!(
                "{}[source_get]\nreceive = true\nfetch_window_secs = 2\n[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {closed}\n",
                dns.config()
            ),
        )
    });
    b.add_user("bob@b.example", "Bob-Strong-Pass-1!");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sa = rt
        .block_on(Store::open_sqlite_for_tests(&a.data_dir()))
        .unwrap();
    alice_to_bob(&rt, &sa);
    // The sender side bounces, once its retention passes unreleased.
    let deadline = Instant::now() + Duration::from_secs(60);
    let bounce = loop {
        if let Some(m) = stored(&a.data_dir())
            .into_iter()
            .find(|m| m.contains("4.4.7"))
        {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "no bounce: {:?}",
            rt.block_on(sa.queue_list())
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(bounce.contains("did not fetch"), "{bounce}");
    // The receiver gave up without a bounce and delivered nothing.
    let sb = rt
        .block_on(Store::open_sqlite_for_tests(&b.data_dir()))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !rt.block_on(sb.source_in_list()).unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the receiver kept the envelope");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(stored(&b.data_dir()).is_empty());
    assert!(
        rt.block_on(sb.queue_list()).unwrap().is_empty(),
        "no bounce from the receiver"
    );
}

/// 500 SOURCE transactions from 20 connections at once, while the fetches
/// they cause fail and retry: every one is answered 250, none times out.
const BURST: &str = r#"
import smtplib, sys, threading, random, string
port = int(sys.argv[1])
ok = []
def run(n):
    s = smtplib.SMTP("127.0.0.3", port, timeout=60)
    s.ehlo("burst.example")
    for i in range(25):
        s.mail(f"sender{n}@burst.example")
        s.rcpt("bob@b.example")
        sid = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(32))
        code, _ = s.docmd("SOURCE", sid)
        ok.append(code)
    s.quit()
ts = [threading.Thread(target=run, args=(n,)) for n in range(20)]
[t.start() for t in ts]
[t.join() for t in ts]
print(sum(1 for c in ok if c == 250), len(ok))
"#;

#[test]
fn a_burst_of_source_transactions_is_taken_without_delay() {
    let port = shared_port();
    let dns = DnsServer::start(
        zone()
            .mx("burst.example", 10, "mx.burst.example")
            .a("mx.burst.example", "127.0.0.2"),
    );
    let b = Tern::start_config(|dir| {
        config(
            dir,
            "mx.b.example",
            "127.0.0.3",
            port,
            &format!(
                "{}[source_get]\nreceive = true\n[queue]\nretry_base_secs = 1\nremote_port = {port}\n\
                 [limits.smtp]\nper_ip = 50\n[rate]\nmessages_per_minute_per_ip = 0\n",
                dns.config()
            ),
        )
    });
    b.add_user("bob@b.example", "Bob-Strong-Pass-1!");
    let out = common::python(BURST, &[&port.to_string()]);
    assert_eq!(out.trim(), "500 500", "{out}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sb = rt
        .block_on(Store::open_sqlite_for_tests(&b.data_dir()))
        .unwrap();
    assert_eq!(rt.block_on(sb.source_in_list()).unwrap().len(), 500);
}

/// `[source_get] unidentified`: mail that did not come by GET is refused
/// at the end of data (`reject`), or filed in Junk (`junk`).
#[test]
fn unidentified_mail_is_refused_or_filed_in_junk_as_configured() {
    let send = "import smtplib,sys\ns=smtplib.SMTP('127.0.0.1', int(sys.argv[1]))\n\
                try:\n    s.sendmail('someone@remote.example', ['carol@example.org'], b'Subject: direct\\r\\n\\r\\nhello\\r\\n')\n    print('250')\n\
                except smtplib.SMTPDataError as e:\n    print(e.smtp_code, e.smtp_error.decode())\n";
    let t = Tern::start_with(
        &["smtp"],
        "[source_get]\nreceive = true\nunidentified = \"reject\"\n",
    );
    t.add_user("carol@example.org", "Carol-Strong-Pass-1!");
    let out = common::python(send, &[&t.port("smtp").to_string()]);
    assert!(out.starts_with("550 5.7.1"), "{out}");
    assert!(stored(&t.data_dir()).is_empty());

    let t = Tern::start_with(
        &["smtp"],
        "[source_get]\nreceive = true\nunidentified = \"junk\"\n",
    );
    t.add_user("carol@example.org", "Carol-Strong-Pass-1!");
    let out = common::python(send, &[&t.port("smtp").to_string()]);
    assert_eq!(out.trim(), "250");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt
        .block_on(Store::open_sqlite_for_tests(&t.data_dir()))
        .unwrap();
    let carol = rt
        .block_on(s.account_get(&tern_common::Address::parse("carol@example.org").unwrap()))
        .unwrap()
        .unwrap();
    let junk = rt
        .block_on(s.mailbox_get(carol.id, "Junk"))
        .unwrap()
        .unwrap();
    let inbox = rt
        .block_on(s.mailbox_get(carol.id, "INBOX"))
        .unwrap()
        .unwrap();
    assert_eq!(rt.block_on(s.messages(junk.id)).unwrap().len(), 1);
    assert!(rt.block_on(s.messages(inbox.id)).unwrap().is_empty());
}

/// Two nodes of a.example on one PostgreSQL store, its two MX hosts: the
/// node that sent by SOURCE dies, and the other answers B's GET.
#[test]
fn any_node_on_postgres_answers_the_get() {
    let port = shared_port();
    let db = common::pg::PgDb::create();
    let dns = DnsServer::start(
        Zone::default()
            .mx("a.example", 10, "mx1.a.example")
            .mx("a.example", 20, "mx2.a.example")
            .a("mx1.a.example", "127.0.0.2")
            .a("mx2.a.example", "127.0.0.4")
            .txt("a.example", "v=spf1 ip4:127.0.0.2 ip4:127.0.0.4 -all")
            .mx("b.example", 10, "mx.b.example")
            .a("mx.b.example", "127.0.0.3"),
    );
    let a_extra = format!(
        "{}{}[source_get]\nsend = true\n[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {port}\n",
        db.config(),
        dns.config()
    );
    let mut a1 =
        Tern::start_config(|dir| config(dir, "mx1.a.example", "127.0.0.2", port, &a_extra));
    let a2 = Tern::start_config(|dir| config(dir, "mx2.a.example", "127.0.0.4", port, &a_extra));
    ok(a1.cli(&["domain", "add", "a.example", "--no-dkim"]));
    let closed = TcpListener::bind("127.0.0.3:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let b_extra = |fetch_port: u16| {
        format!(
            "{}[source_get]\nreceive = true\n[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {fetch_port}\n",
            dns.config()
        )
    };
    let mut b =
        Tern::start_config(|dir| config(dir, "mx.b.example", "127.0.0.3", port, &b_extra(closed)));
    b.add_user("bob@b.example", "Bob-Strong-Pass-1!");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sa = rt
        .block_on(Store::open(
            &tern_common::config::StoreConfig {
                kind: tern_common::config::StoreKind::Postgres,
                url: Some(db.url.clone()),
                max_connections: 2,
            },
            &a1.data_dir(),
        ))
        .unwrap();
    alice_to_bob(&rt, &sa);
    let deadline = Instant::now() + Duration::from_secs(60);
    while rcpt_state(&rt, &sa) != Some(RcptState::Awaiting) {
        assert!(Instant::now() < deadline, "never sent by SOURCE");
        std::thread::sleep(Duration::from_millis(100));
    }
    // mx1 is gone; B, able to fetch now, finds mx2.
    a1.kill();
    b.kill();
    std::fs::write(
        &b.config,
        config(
            b.dir.path(),
            "mx.b.example",
            "127.0.0.3",
            port,
            &b_extra(port),
        ),
    )
    .unwrap();
    b.launch();
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored(&b.data_dir()).is_empty() {
        assert!(Instant::now() < deadline, "not fetched from mx2");
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !rt.block_on(sa.queue_list()).unwrap().is_empty() {
        assert!(Instant::now() < deadline, "never released");
        std::thread::sleep(Duration::from_millis(100));
    }
    let got = stored(&b.data_dir());
    assert_eq!(got.len(), 1);
    assert!(
        got[0].ends_with(BODY) && got[0].contains("source-get=pass"),
        "{}",
        got[0]
    );
    drop(a2);
}

/// A fetched message the receiver refuses (here: its recipient is gone
/// by then) is bounced by the sender at once, with the receiver's reply.
#[test]
fn a_fetched_message_the_receiver_refuses_is_bounced_at_once() {
    let port = shared_port();
    let dns = DnsServer::start(zone());
    let a = Tern::start_config(|dir| {
        config(
            dir,
            "mx.a.example",
            "127.0.0.2",
            port,
            &format!(
                "{}[source_get]\nsend = true\n[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {port}\n",
                dns.config()
            ),
        )
    });
    a.add_user("alice@a.example", "Alice-Strong-Pass-1!");
    let closed = TcpListener::bind("127.0.0.3:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let b_extra = |fetch_port: u16| {
        format!(
            "{}[source_get]\nreceive = true\n[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {fetch_port}\n",
            dns.config()
        )
    };
    let mut b =
        Tern::start_config(|dir| config(dir, "mx.b.example", "127.0.0.3", port, &b_extra(closed)));
    b.add_user("bob@b.example", "Bob-Strong-Pass-1!");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sa = rt
        .block_on(Store::open_sqlite_for_tests(&a.data_dir()))
        .unwrap();
    alice_to_bob(&rt, &sa);
    let deadline = Instant::now() + Duration::from_secs(60);
    while rcpt_state(&rt, &sa) != Some(RcptState::Awaiting) {
        assert!(Instant::now() < deadline, "never sent by SOURCE");
        std::thread::sleep(Duration::from_millis(100));
    }
    ok(b.cli(&["user", "remove", "bob@b.example"]));
    b.kill();
    std::fs::write(
        &b.config,
        config(
            b.dir.path(),
            "mx.b.example",
            "127.0.0.3",
            port,
            &b_extra(port),
        ),
    )
    .unwrap();
    b.launch();
    let deadline = Instant::now() + Duration::from_secs(60);
    let bounce = loop {
        if let Some(m) = stored(&a.data_dir()).into_iter().find(|m| {
            m.contains("Delivery Status Notification") || m.contains("message/delivery-status")
        }) {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "no bounce: {:?}",
            rt.block_on(sa.queue_list())
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        bounce.contains("5.1.1") && !bounce.contains("did not fetch"),
        "{bounce}"
    );
    assert!(stored(&b.data_dir()).is_empty());
}

/// B stored the message but died before marking its envelope stored (the
/// key of the fetch is in B's store, committed with that delivery): the
/// fetch B repeats after the restart stores nothing twice, and releases.
#[test]
fn a_fetch_repeated_after_a_crash_stores_nothing_twice() {
    let port = shared_port();
    let dns = DnsServer::start(zone());
    let a = Tern::start_config(|dir| {
        config(
            dir,
            "mx.a.example",
            "127.0.0.2",
            port,
            &format!(
                "{}[source_get]\nsend = true\n[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {port}\n",
                dns.config()
            ),
        )
    });
    ok(a.cli(&["domain", "add", "a.example", "--no-dkim"]));
    let closed = TcpListener::bind("127.0.0.3:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let b_extra = |fetch_port: u16| {
        format!(
            "{}[source_get]\nreceive = true\n[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {fetch_port}\n",
            dns.config()
        )
    };
    let mut b =
        Tern::start_config(|dir| config(dir, "mx.b.example", "127.0.0.3", port, &b_extra(closed)));
    b.add_user("bob@b.example", "Bob-Strong-Pass-1!");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sa = rt
        .block_on(Store::open_sqlite_for_tests(&a.data_dir()))
        .unwrap();
    alice_to_bob(&rt, &sa);
    let deadline = Instant::now() + Duration::from_secs(60);
    while rcpt_state(&rt, &sa) != Some(RcptState::Awaiting) {
        assert!(Instant::now() < deadline, "never sent by SOURCE");
        std::thread::sleep(Duration::from_millis(100));
    }
    b.kill();
    {
        let sb = rt
            .block_on(Store::open_sqlite_for_tests(&b.data_dir()))
            .unwrap();
        let id = rt.block_on(sb.source_in_list()).unwrap()[0]
            .source_id
            .clone();
        // What a delivery committed just before the crash left behind.
        rt.block_on(sb.deliver_once(Vec::new(), Some(format!("source-get:{id}"))))
            .unwrap();
    }
    std::fs::write(
        &b.config,
        config(
            b.dir.path(),
            "mx.b.example",
            "127.0.0.3",
            port,
            &b_extra(port),
        ),
    )
    .unwrap();
    b.launch();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !rt.block_on(sa.queue_list()).unwrap().is_empty() {
        assert!(Instant::now() < deadline, "never released");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(stored(&b.data_dir()).is_empty(), "not stored a second time");
}
