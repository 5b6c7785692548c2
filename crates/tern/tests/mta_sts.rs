//! MTA-STS (RFC 8461) end to end: a test CA, a policy served over HTTPS on
//! loopback, the in-process DNS server publishing `_mta-sts`, and Postfix
//! as the MX with a certificate that does or does not chain to the CA.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Tern;
use common::dns::{DnsServer, Zone};
use common::mta_sts::policy_server;
use common::postfix::Postfix;
use tern_store::{QueueNew, QueueRcptNew, Store};

struct Ca {
    cert: rcgen::Certificate,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

fn ca() -> Ca {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "tern test CA");
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    Ca {
        cert,
        issuer: rcgen::Issuer::new(p, key),
    }
}

/// A leaf for `name` signed by the CA: (cert PEM, key PEM).
fn leaf(ca: &Ca, name: &str) -> (String, String) {
    let p = rcgen::CertificateParams::new(vec![name.to_string()]).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

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
