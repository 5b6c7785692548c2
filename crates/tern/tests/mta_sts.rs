//! MTA-STS (RFC 8461) end to end: a test CA, a policy served over HTTPS on
//! loopback, the in-process DNS server publishing `_mta-sts`, and Postfix
//! as the MX with a certificate that does or does not chain to the CA; and
//! tern hosting its own domain's policy, fetched by curl and by another
//! tern delivering to it.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Tern;
use common::ca::{ca, leaf, leaf_for};
use common::dns::{DnsServer, Zone};
use common::mta_sts::policy_server;
use common::postfix::Postfix;
use tern_store::{QueueNew, QueueRcptNew, Store};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn enqueue(data: &Path) -> (tokio::runtime::Runtime, Store, i64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(Store::open_sqlite_for_tests(data)).unwrap();
    let id = rt
        .block_on(s.queue_insert(&QueueNew {
            sender: "alice@example.org".into(),
            recipients: vec![QueueRcptNew { rcpt: "bob@remote.example".into(), orcpt: None, notify: String::new() }],
            data: b"From: alice@example.org\r\nTo: bob@remote.example\r\nSubject: sts\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <sts@example.org>\r\n\r\nhi\r\n".to_vec(),
            ..Default::default()
        }))
        .unwrap();
    (rt, s, id)
}

struct Setup {
    _dir: tempfile::TempDir,
    _dns: DnsServer,
    pf: Postfix,
    tern: Tern,
}

fn setup(mx_cert_from_ca: bool, policy: &'static str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let ca_file = write(dir.path(), "ca.pem", &ca.cert.pem());
    let (sts_cert, sts_key) = leaf(&ca, "mta-sts.remote.example");
    let https = policy_server(&sts_cert, &sts_key, policy);
    let pf = if mx_cert_from_ca {
        let (c, k) = leaf(&ca, "mx.remote.example");
        let cf = write(dir.path(), "mx.crt", &c);
        let kf = write(dir.path(), "mx.key", &k);
        Postfix::start(
            true,
            &[
                &format!("smtpd_tls_cert_file={cf}"),
                &format!("smtpd_tls_key_file={kf}"),
            ],
        )
    } else {
        Postfix::start(true, &[])
    };
    let zone = Zone::default()
        .mx("remote.example", 10, "mx.remote.example")
        .a("mx.remote.example", "127.0.0.1")
        .txt("_mta-sts.remote.example", "v=STSv1; id=20261123")
        .a("mta-sts.remote.example", "127.0.0.1");
    let dns = DnsServer::start(zone);
    let cfg = format!(
        "{}[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {}\nmta_sts_port = {https}\ntls_ca_file = \"{ca_file}\"\n",
        dns.config(),
        pf.port
    );
    let tern = Tern::start_with(&[], &cfg);
    Setup {
        _dir: dir,
        _dns: dns,
        pf,
        tern,
    }
}

const ENFORCE: &str = "version: STSv1\nmode: enforce\nmx: mx.remote.example\nmax_age: 86400\n";

#[test]
fn enforce_delivers_over_verified_tls() {
    let s = setup(true, ENFORCE);
    let (rt, store, _) = enqueue(&s.tern.data_dir());
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.pf.messages().is_empty() {
        assert!(
            Instant::now() < deadline,
            "not delivered: {:?}",
            rt.block_on(store.tls_results(0)).unwrap()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The outcome is recorded once the server's reply is in, which may be
    // just after the message reached the Maildir.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = rt.block_on(store.tls_results(0)).unwrap();
        if r.iter().any(|x| x.policy == "sts" && x.outcome == "tls") {
            break;
        }
        assert!(Instant::now() < deadline, "{r:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn deferred_not_sent(s: &Setup, outcome: Option<&str>) {
    let (rt, store, id) = enqueue(&s.tern.data_dir());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = rt.block_on(store.queue_message(id)).unwrap().unwrap();
        if m.recipients[0].attempts >= 1 {
            assert_eq!(
                m.recipients[0].state,
                tern_store::RcptState::Pending,
                "deferred, not failed"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no attempt");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(s.pf.messages().is_empty(), "nothing went out");
    if let Some(o) = outcome {
        let r = rt.block_on(store.tls_results(0)).unwrap();
        assert!(r.iter().any(|x| x.outcome == o), "{r:?}");
    }
}

#[test]
fn enforce_with_an_untrusted_certificate_defers_and_sends_nothing() {
    let s = setup(false, ENFORCE);
    deferred_not_sent(&s, Some("validation-failure"));
}

#[test]
fn enforce_with_an_unlisted_mx_defers() {
    let s = setup(
        true,
        "version: STSv1\nmode: enforce\nmx: *.elsewhere.example\nmax_age: 86400\n",
    );
    deferred_not_sent(&s, None);
}

/// `curl -s` with these arguments: (status line's code, body).
fn curl(args: &[&str]) -> (String, String) {
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "60",
            "-w",
            "\n%{http_code} %{content_type}",
        ])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    let status = match status {
        s if s.starts_with("000") => format!(
            "{s} {:?} {} {args:?}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        s => s.to_string(),
    };
    (status, body.to_string())
}

/// tern publishes `remote.example`'s policy (`tern domain mta-sts`); curl
/// fetches it by Host, and a second tern, delivering to the first, finds
/// the `_mta-sts` record, fetches the policy from the first tern's https
/// listener, and delivers over verified TLS (RFC 8461 3.3, 4.2).
#[test]
fn a_policy_tern_hosts_is_fetched_by_curl_and_by_another_tern() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let ca_file = write(dir.path(), "ca.pem", &ca.cert.pem());
    let (cert, key) = leaf_for(&ca, &["mx.remote.example", "mta-sts.remote.example"]);
    let receiver = Tern::start_with_cert(&["smtp", "https"], "", Some((&cert, &key)));
    receiver.add_user("bob@remote.example", "correct horse battery");
    let out = receiver.cli(&[
        "domain",
        "mta-sts",
        "remote.example",
        "--mode",
        "enforce",
        "--mx",
        "mx.remote.example",
        "--max-age",
        "86400",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    let txt = printed
        .lines()
        .find_map(|l| l.trim().strip_prefix("_mta-sts.remote.example. TXT "))
        .unwrap_or_else(|| panic!("{printed}"))
        .trim_matches('"')
        .to_string();
    let https = receiver.port("https");
    let policy = "version: STSv1\r\nmode: enforce\r\nmx: mx.remote.example\r\nmax_age: 86400\r\n";

    // curl, trusting only the test CA, by name.
    let resolve = format!("mta-sts.remote.example:{https}:127.0.0.1");
    let url = format!("https://mta-sts.remote.example:{https}/.well-known/mta-sts.txt");
    let (status, body) = curl(&["--cacert", &ca_file, "--resolve", &resolve, &url]);
    assert_eq!(status, "200 text/plain; charset=utf-8");
    assert_eq!(body, policy);
    // By Host header; a host that is not mta-sts. of a hosted domain: 404.
    let local = format!("https://127.0.0.1:{https}/.well-known/mta-sts.txt");
    let (status, body) = curl(&["-k", "-H", "Host: mta-sts.remote.example", &local]);
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("200 text/plain; charset=utf-8", policy)
    );
    for host in ["mta-sts.elsewhere.example", "remote.example"] {
        let (status, _) = curl(&["-k", "-H", &format!("Host: {host}"), &local]);
        assert!(status.starts_with("404"), "{host}: {status}");
    }

    // The sending tern: DNS says where, its queue fetches the policy from
    // the receiver's https port and trusts the test CA.
    let zone = Zone::default()
        .mx("remote.example", 10, "mx.remote.example")
        .a("mx.remote.example", "127.0.0.1")
        .txt("_mta-sts.remote.example", &txt)
        .a("mta-sts.remote.example", "127.0.0.1");
    let dns = DnsServer::start(zone);
    let cfg = format!(
        "{}[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {}\nmta_sts_port = {https}\ntls_ca_file = \"{ca_file}\"\n",
        dns.config(),
        receiver.port("smtp")
    );
    let sender = Tern::start_with(&["http"], &cfg);
    let (rt, store, id) = enqueue(&sender.data_dir());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = rt.block_on(store.queue_message(id)).unwrap();
        let done = m
            .as_ref()
            .is_none_or(|m| m.recipients[0].state == tern_store::RcptState::Delivered);
        let r = rt.block_on(store.tls_results(0)).unwrap();
        if done && r.iter().any(|x| x.policy == "sts" && x.outcome == "tls") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not delivered under the policy: {m:?} {r:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Both sides counted it: sent (with the attempt's duration) and
    // received; promtool accepts the histogram.
    let metrics = |url: String| curl(&["-k", &url]).1;
    let sent = metrics(format!("http://127.0.0.1:{}/metrics", sender.port("http")));
    for line in [
        "tern_messages_sent_total 1",
        "tern_delivery_duration_seconds_count 1",
    ] {
        assert!(sent.lines().any(|l| l == line), "{line}:\n{sent}");
    }
    let (ok, said) = common::checks::promtool(&sent);
    assert!(ok, "promtool: {said}\n{sent}");
    let received = metrics(format!("https://127.0.0.1:{https}/metrics"));
    assert!(
        received
            .lines()
            .any(|l| l == "tern_messages_received_total 1"),
        "{received}"
    );
}
