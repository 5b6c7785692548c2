//! DANE (RFC 7672) end to end: `remote.example` is a DNSSEC-signed zone
//! served in-process (hickory-server, a key made for the test and given to
//! tern as its trust anchor) with TLSA records at
//! `_25._tcp.mx.remote.example`; Postfix is the MX, with a certificate from
//! a test CA sent with its chain.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use common::Tern;
use common::dnssec::{SignedZone, SignedZoneBuilder};
use common::mta_sts::policy_server;
use common::postfix::Postfix;
use rcgen::PublicKeyData;
use tern_store::{QueueNew, QueueRcptNew, RcptState, Store};

fn sha256(b: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, b).as_ref().to_vec()
}

struct Pki {
    ca_der: Vec<u8>,
    ca_pem: String,
    leaf_pem: String,
    leaf_key_pem: String,
    leaf_spki: Vec<u8>,
    /// A certificate for the MTA-STS policy host, from the same CA.
    sts_pem: String,
    sts_key_pem: String,
}

/// A test CA and a leaf it issued for `mx.remote.example`.
fn pki() -> Pki {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "tern DANE test CA");
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = p.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(p, ca_key);
    let lp = rcgen::CertificateParams::new(vec!["mx.remote.example".to_string()]).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = lp.signed_by(&key, &issuer).unwrap();
    let sp = rcgen::CertificateParams::new(vec!["mta-sts.remote.example".to_string()]).unwrap();
    let sts_key = rcgen::KeyPair::generate().unwrap();
    let sts = sp.signed_by(&sts_key, &issuer).unwrap();
    Pki {
        sts_pem: sts.pem(),
        sts_key_pem: sts_key.serialize_pem(),
        ca_der: ca.der().to_vec(),
        ca_pem: ca.pem(),
        leaf_pem: leaf.pem(),
        leaf_key_pem: key.serialize_pem(),
        leaf_spki: key.subject_public_key_info(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

struct Setup {
    _dir: tempfile::TempDir,
    _zone: SignedZone,
    pf: Postfix,
    tern: Tern,
}

/// Postfix with the leaf and its CA as chain; the signed zone with the
/// TLSA record `(usage, selector, matching, data)`.
fn setup(pki: &Pki, tlsa: (u8, u8, u8, Vec<u8>)) -> Setup {
    setup_with(pki, Some(tlsa), Break::Nothing)
}

/// How the zone is broken, if at all.
#[derive(PartialEq)]
enum Break {
    Nothing,
    /// tern trusts a key that did not sign the zone: every answer is bogus.
    ForeignAnchor,
    /// The TLSA record is served without a signature: bogus in a signed zone.
    UnsignedTlsa,
}

/// `tlsa: None` publishes no TLSA record.
fn setup_with(pki: &Pki, tlsa: Option<(u8, u8, u8, Vec<u8>)>, broken: Break) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let chain = write(
        dir.path(),
        "mx-chain.pem",
        &format!("{}{}", pki.leaf_pem, pki.ca_pem),
    );
    let key = write(dir.path(), "mx.key", &pki.leaf_key_pem);
    let pf = Postfix::start(
        true,
        &[
            &format!("smtpd_tls_cert_file={chain}"),
            &format!("smtpd_tls_key_file={key}"),
            "smtpd_tls_received_header=yes",
        ],
    );
    let mut zone = SignedZoneBuilder::new("remote.example")
        .mx("remote.example", 10, "mx.remote.example")
        .a("mx.remote.example", "127.0.0.1");
    if let Some(t) = tlsa {
        zone = if broken == Break::UnsignedTlsa {
            zone.unsigned_tlsa("mx.remote.example", t.0, t.1, t.2, &t.3)
        } else {
            zone.tlsa("mx.remote.example", t.0, t.1, t.2, &t.3)
        };
    }
    let zone = zone.start(dir.path());
    if broken == Break::ForeignAnchor {
        let other = tempfile::tempdir().unwrap();
        let stranger = SignedZoneBuilder::new("remote.example").start(other.path());
        std::fs::copy(&stranger.anchor_file, &zone.anchor_file).unwrap();
    }
    let cfg = format!(
        "{}[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {}\n",
        zone.config(),
        pf.port
    );
    let tern = Tern::start_with(&[], &cfg);
    Setup {
        _dir: dir,
        _zone: zone,
        pf,
        tern,
    }
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
            data: b"From: alice@example.org\r\nTo: bob@remote.example\r\nSubject: dane\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <dane@example.org>\r\n\r\nhi\r\n".to_vec(),
            ..Default::default()
        }))
        .unwrap();
    (rt, s, id)
}

fn delivered_over_dane(s: &Setup) {
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
    let m = String::from_utf8_lossy(&s.pf.messages()[0]).into_owned();
    // Postfix's own trace header says the session was encrypted.
    assert!(m.contains("(using TLS"), "{m}");
    tls_result(&rt, &store, |x| {
        x.policy == "tlsa" && x.outcome == "tls" && x.mx == "mx.remote.example"
    });
}

#[test]
fn dane_ee_spki_sha256_match_delivers_over_tls() {
    let p = pki();
    let spki = sha256(&p.leaf_spki);
    let s = setup(&p, (3, 1, 1, spki));
    delivered_over_dane(&s);
}

#[test]
fn dane_ta_matching_the_issuing_ca_delivers() {
    let p = pki();
    let ca = sha256(&p.ca_der);
    let s = setup(&p, (2, 0, 1, ca));
    delivered_over_dane(&s);
}

#[test]
fn a_tlsa_record_that_does_not_match_defers_and_nothing_is_sent_in_clear() {
    let p = pki();
    let other = pki();
    let s = setup(&p, (3, 1, 1, sha256(&other.leaf_spki)));
    let (rt, store, id) = deferred_not_sent(&s);
    // Postfix saw the STARTTLS but never a MAIL FROM: no fallback to clear.
    let log = s.pf.log();
    assert!(!log.contains("from=<alice@example.org>"), "{log}");
    let r = rt.block_on(store.tls_results(0)).unwrap();
    assert!(
        r.iter()
            .any(|x| x.policy == "tlsa" && x.outcome == "tlsa-invalid"),
        "{r:?}"
    );
    let out = s.tern.cli(&["queue", "show", &id.to_string()]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("state: Pending") && shown.contains("DANE"),
        "{shown}"
    );
}

/// Wait (bounded) until a recorded TLS outcome satisfies `f`: the outcome
/// is written once the server's reply is in, which may be just after the
/// message reached Postfix's Maildir.
fn tls_result(
    rt: &tokio::runtime::Runtime,
    store: &Store,
    f: impl Fn(&tern_store::TlsResult) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = rt.block_on(store.tls_results(0)).unwrap();
        if r.iter().any(&f) {
            return;
        }
        assert!(Instant::now() < deadline, "{r:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Deferred with a recipient still pending after two attempts; nothing
/// reached Postfix.
fn deferred_not_sent(s: &Setup) -> (tokio::runtime::Runtime, Store, i64) {
    let (rt, store, id) = enqueue(&s.tern.data_dir());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = rt.block_on(store.queue_message(id)).unwrap().unwrap();
        if m.recipients[0].attempts >= 2 {
            assert_eq!(m.recipients[0].state, RcptState::Pending, "deferred");
            break;
        }
        assert!(Instant::now() < deadline, "no attempts: {m:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(s.pf.messages().is_empty(), "nothing went out");
    (rt, store, id)
}

#[test]
fn a_bogus_mx_answer_defers_without_connecting() {
    let p = pki();
    let spki = sha256(&p.leaf_spki);
    let s = setup_with(&p, Some((3, 1, 1, spki)), Break::ForeignAnchor);
    let (rt, store, id) = deferred_not_sent(&s);
    // RFC 7672 2.2.1: no session with the MX at all, only DNSSEC failures.
    let r = rt.block_on(store.tls_results(0)).unwrap();
    assert!(!r.is_empty());
    assert!(
        r.iter()
            .all(|x| x.policy == "tlsa" && x.outcome == "dnssec-invalid"),
        "{r:?}"
    );
    let m = rt.block_on(store.queue_message(id)).unwrap().unwrap();
    assert!(m.recipients[0].last_error.contains("DNSSEC"), "{m:?}");
}

#[test]
fn a_signed_zone_without_tlsa_gets_opportunistic_tls() {
    let p = pki();
    let s = setup_with(&p, None, Break::Nothing);
    let (rt, store, _) = enqueue(&s.tern.data_dir());
    s.pf.first_message(Duration::from_secs(30));
    tls_result(&rt, &store, |x| x.policy == "none" && x.outcome == "tls");
}

#[test]
fn only_pkix_tlsa_records_still_force_tls() {
    let p = pki();
    // PKIX-EE (1) means nothing for SMTP (RFC 7672 3.1.3), but a secure
    // TLSA RRset still rules out plain text (RFC 7672 2.2).
    let spki = sha256(&p.leaf_spki);
    let s = setup(&p, (1, 1, 1, spki));
    let (rt, store, _) = enqueue(&s.tern.data_dir());
    s.pf.first_message(Duration::from_secs(30));
    tls_result(&rt, &store, |x| {
        x.policy == "require-tls" && x.outcome == "tls"
    });
}

#[test]
fn a_bogus_tlsa_answer_in_a_signed_zone_rules_the_host_out() {
    let p = pki();
    let spki = sha256(&p.leaf_spki);
    let s = setup_with(&p, Some((3, 1, 1, spki)), Break::UnsignedTlsa);
    let (rt, store, id) = deferred_not_sent(&s);
    let r = rt.block_on(store.tls_results(0)).unwrap();
    assert!(!r.is_empty());
    // RFC 7672 2.2: the MX and its address are secure, the TLSA lookup
    // fails: the host is not tried, in clear or otherwise.
    assert!(
        r.iter().all(|x| x.policy == "tlsa"
            && x.outcome == "dnssec-invalid"
            && x.mx == "mx.remote.example"),
        "{r:?}"
    );
    let m = rt.block_on(store.queue_message(id)).unwrap().unwrap();
    assert!(m.recipients[0].last_error.contains("TLSA lookup"), "{m:?}");
}

/// The zone also publishes an MTA-STS policy in enforce mode that lists
/// no MX of the domain: applied, it would defer everything.
fn setup_with_sts(pki: &Pki, tlsa: Option<(u8, u8, u8, Vec<u8>)>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let chain = write(
        dir.path(),
        "mx-chain.pem",
        &format!("{}{}", pki.leaf_pem, pki.ca_pem),
    );
    let key = write(dir.path(), "mx.key", &pki.leaf_key_pem);
    let ca_file = write(dir.path(), "ca.pem", &pki.ca_pem);
    let pf = Postfix::start(
        true,
        &[
            &format!("smtpd_tls_cert_file={chain}"),
            &format!("smtpd_tls_key_file={key}"),
        ],
    );
    let https = policy_server(
        &pki.sts_pem,
        &pki.sts_key_pem,
        "version: STSv1\nmode: enforce\nmx: *.elsewhere.example\nmax_age: 86400\n",
    );
    let mut zone = SignedZoneBuilder::new("remote.example")
        .mx("remote.example", 10, "mx.remote.example")
        .a("mx.remote.example", "127.0.0.1")
        .txt("_mta-sts.remote.example", "v=STSv1; id=20261123")
        .a("mta-sts.remote.example", "127.0.0.1");
    if let Some(t) = tlsa {
        zone = zone.tlsa("mx.remote.example", t.0, t.1, t.2, &t.3);
    }
    let zone = zone.start(dir.path());
    let cfg = format!(
        "{}[queue]\npoll_secs = 1\nretry_base_secs = 1\nremote_port = {}\nmta_sts_port = {https}\ntls_ca_file = \"{ca_file}\"\n",
        zone.config(),
        pf.port
    );
    let tern = Tern::start_with(&[], &cfg);
    Setup {
        _dir: dir,
        _zone: zone,
        pf,
        tern,
    }
}

#[test]
fn usable_tlsa_records_decide_and_mta_sts_is_not_consulted() {
    let p = pki();
    let spki = sha256(&p.leaf_spki);
    let s = setup_with_sts(&p, Some((3, 1, 1, spki)));
    let (rt, store, _) = enqueue(&s.tern.data_dir());
    s.pf.first_message(Duration::from_secs(30));
    tls_result(&rt, &store, |x| x.policy == "tlsa" && x.outcome == "tls");
}

#[test]
fn without_tlsa_the_same_mta_sts_policy_applies() {
    let p = pki();
    let s = setup_with_sts(&p, None);
    let (_rt, _store, id) = deferred_not_sent(&s);
    let out = s.tern.cli(&["queue", "show", &id.to_string()]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("MTA-STS"), "{shown}");
}
