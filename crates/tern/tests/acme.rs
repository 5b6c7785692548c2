//! Certificates from ACME with pebble as the CA, validating for real
//! (tls-alpn-01 on tern's `https` listener, http-01 on its `http`
//! listener), then verified by clients tern did not write — imaplib,
//! smtplib with STARTTLS, http.client — against pebble's root for the
//! hostname; a forced renewal, and one of a short-lived certificate by
//! itself, served to new connections while an old one goes on; the CA gone (the certificate stays, the error is shown by
//! `tern cert status`, `/health/detailed` and `/metrics`) and back; two
//! nodes on one PostgreSQL ordering once and serving the same certificate;
//! the default names following the domains; an order resumed after a
//! crash; and a replaced `[tls]` file
//! loaded without a restart, a broken one refused.
//! Every wait is a poll with a generous deadline.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Tern;
use common::dns::{DnsServer, Zone};
use common::pebble::{Opts, Pebble, free_port};

const HOST: &str = "mx.test.example";
const DEADLINE: Duration = Duration::from_secs(180);

/// The names tern may ask a certificate for, all at 127.0.0.1.
fn zone() -> Zone {
    Zone::default()
        .a(HOST, "127.0.0.1")
        .a("mta-sts.test.example", "127.0.0.1")
        .a("autoconfig.test.example", "127.0.0.1")
}

struct Setup {
    tern: Tern,
    pebble: Pebble,
    http: u16,
    https: u16,
    _dns: DnsServer,
}

/// Pebble, and tern with `[acme]` for `HOST` by `challenge`; with
/// `tls_file`, a self-signed `[tls]` pair too (served for other names).
fn setup(challenge: &str, tls_file: bool) -> Setup {
    setup_with(challenge, tls_file, Opts::default())
}

fn setup_with(challenge: &str, tls_file: bool, opts: Opts) -> Setup {
    let dns = DnsServer::start(zone());
    let (http, https) = (free_port(), free_port());
    let pebble = Pebble::start_with(http, https, dns.addr, opts);
    let n = Node {
        challenge,
        tls_file,
        http,
        https,
        store: "",
        directory: None,
    };
    let tern = node(&pebble, &dns, &n);
    Setup {
        tern,
        pebble,
        http,
        https,
        _dns: dns,
    }
}

/// One tern node's ACME set-up.
struct Node<'a> {
    challenge: &'a str,
    tls_file: bool,
    http: u16,
    https: u16,
    /// A `[store]` section, or "" for SQLite.
    store: &'a str,
    /// Another directory URL than pebble's own (a proxy in front of it).
    directory: Option<&'a str>,
}

fn node(pebble: &Pebble, dns: &DnsServer, n: &Node<'_>) -> Tern {
    let directory = n
        .directory
        .map_or_else(|| pebble.directory(), str::to_string);
    let (root, dns_cfg) = (pebble.https_root(), dns.config());
    let (challenge, tls_file, http, https) = (n.challenge, n.tls_file, n.http, n.https);
    Tern::start_config(|dir| {
        let mut s = format!(
            "hostname = \"{HOST}\"\ndata_dir = \"{}\"\n{}",
            dir.join("data").display(),
            n.store
        );
        if tls_file {
            let (c, k) = tern_common::tls::self_signed(&dir.join("tls"), HOST).expect("cert");
            s += &format!(
                "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
                c.display(),
                k.display()
            );
        }
        s += &format!(
            "[acme]\ndirectory = \"{directory}\"\nca_root = \"{}\"\n\
             contact = [\"postmaster@test.example\"]\nchallenge = \"{challenge}\"\n",
            root.display()
        );
        for (kind, port) in [("imaps", 0), ("smtp", 0), ("http", http), ("https", https)] {
            s +=
                &format!("[[listeners]]\nkind = \"{kind}\"\naddr = \"127.0.0.1\"\nport = {port}\n");
        }
        s + &dns_cfg
    })
}

/// `tern cert status --json`.
fn status(t: &Tern) -> serde_json::Value {
    let out = t.cli(&["cert", "status", "--json"]);
    assert!(
        out.status.success(),
        "cert status: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// Wait until the store holds a certificate issued after `after` with no
/// error; its `issued` time.
fn wait_issued(s: &Setup, after: i64) -> i64 {
    wait_issued_on(&s.tern, &s.pebble, after)
}

fn wait_issued_on(tern: &Tern, pebble: &Pebble, after: i64) -> i64 {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let st = status(tern);
        let issued = st[0]["issued"].as_i64().unwrap_or(0);
        if issued > after && st[0].get("last_error").is_none() {
            return issued;
        }
        assert!(
            Instant::now() < deadline,
            "no certificate: {st}\npebble: {}",
            pebble.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The verifying clients: the leaf each was served, after each checked the
/// chain against `root` for `HOST`.
fn clients(s: &Setup, root: &Path) -> serde_json::Value {
    clients_of(&s.tern, s.https, root)
}

fn clients_of(tern: &Tern, https: u16, root: &Path) -> serde_json::Value {
    clients_for(tern, https, root, HOST)
}

fn clients_for(tern: &Tern, https: u16, root: &Path, host: &str) -> serde_json::Value {
    let out = common::python(
        include_str!("scripts/acme_clients.py"),
        &[
            root.to_str().expect("path"),
            host,
            &tern.port("imaps").to_string(),
            &tern.port("smtp").to_string(),
            &https.to_string(),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["imaps"], v["smtp"], "{v}");
    assert_eq!(v["imaps"], v["https"], "{v}");
    v
}

/// The SHA-256 of the leaf a handshake naming `sni` is served, unverified.
fn leaf_fp(port: u16, sni: &str) -> String {
    common::python(
        "import hashlib, socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1])), 30), server_hostname=sys.argv[2])
print(hashlib.sha256(s.getpeercert(True)).hexdigest())",
        &[&port.to_string(), sni],
    )
    .trim()
    .to_string()
}

fn curl(url: &str) -> (u16, String) {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "30", "-w", "\n%{http_code}", url])
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// An IMAPS connection verified against `root`, kept open.
struct Imaps(rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>);

impl Imaps {
    fn open(port: u16, root: &Path) -> Imaps {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(root).expect("root") {
            roots.add(c.expect("pem")).expect("root");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(HOST).expect("name");
        let conn = rustls::ClientConnection::new(Arc::new(cfg), name).expect("client");
        let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut s = Imaps(rustls::StreamOwned::new(conn, tcp));
        let greeting = s.line();
        assert!(greeting.starts_with("* OK"), "{greeting}");
        s
    }

    fn line(&mut self) -> String {
        let mut out = Vec::new();
        let mut b = [0u8; 1];
        while !out.ends_with(b"\r\n") && out.len() < 4096 {
            self.0.read_exact(&mut b).expect("read");
            out.push(b[0]);
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    fn noop(&mut self) -> String {
        self.0.write_all(b"a1 NOOP\r\n").expect("write");
        self.0.flush().expect("flush");
        self.line()
    }
}

/// tls-alpn-01 (RFC 8737) with pebble validating on tern's `https`
/// listener; all three clients verify the chain; then a forced renewal
/// is served to new connections while one opened before it goes on.
#[test]
fn tls_alpn_01_certificate_then_renewal_without_restart() {
    let s = setup("tls-alpn-01", true);
    let first = wait_issued(&s, 0);
    let root = s.pebble.issuing_root();
    let v = clients(&s, &root);
    let fp1 = v["imaps"].as_str().expect("fp").to_string();
    // A name the certificate does not cover gets the [tls] pair.
    assert_ne!(leaf_fp(s.tern.port("imaps"), "other.example"), fp1);

    let mut old = Imaps::open(s.tern.port("imaps"), &root);
    let out = s.tern.cli(&["cert", "renew", "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_issued(&s, first);
    let deadline = Instant::now() + DEADLINE;
    while leaf_fp(s.tern.port("imaps"), HOST) == fp1 {
        assert!(
            Instant::now() < deadline,
            "the new certificate is not served"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let v = clients(&s, &root);
    assert_ne!(v["imaps"].as_str(), Some(fp1.as_str()), "{v}");
    let reply = old.noop();
    assert!(reply.starts_with("a1 OK"), "the old connection: {reply}");
}

/// http-01 (RFC 8555 8.3) on tern's `http` listener, with no `[tls]` at
/// all; then the CA goes away: the certificate stays, and the failure is
/// in `tern cert status`, `/health/detailed` and `/metrics`; a new CA on
/// the same address (which knows no account) issues the next one.
#[test]
fn http_01_certificate_then_ca_unreachable_and_back() {
    let mut s = setup("http-01", false);
    let first = wait_issued(&s, 0);
    let root = s.pebble.issuing_root();
    let fp1 = clients(&s, &root)["imaps"]
        .as_str()
        .expect("fp")
        .to_string();

    s.pebble.kill();
    let out = s.tern.cli(&["cert", "renew", "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + DEADLINE;
    while status(&s.tern)[0].get("last_error").is_none() {
        assert!(Instant::now() < deadline, "no error recorded");
        std::thread::sleep(Duration::from_millis(300));
    }
    let text = s.tern.cli(&["cert", "status"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("last error: ") && !text.contains("last error: -"),
        "{text}"
    );
    let (code, body) = curl(&format!("http://127.0.0.1:{}/health/detailed", s.http));
    assert_eq!(code, 503, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(
        health["failing"]
            .as_array()
            .is_some_and(|f| f.iter().any(|x| x == "acme")),
        "{health}"
    );
    assert!(health["acme"]["last_error"].is_string(), "{health}");
    let (_, metrics) = curl(&format!("http://127.0.0.1:{}/metrics", s.http));
    assert!(metrics.contains("tern_acme_renewal_failing 1"), "{metrics}");
    assert!(
        metrics.contains("tern_acme_orders_total{result=\"failed\"}"),
        "{metrics}"
    );
    assert_eq!(clients(&s, &root)["imaps"].as_str(), Some(fp1.as_str()));

    // The same through the JSON API (an admin token, HTTPS verified).
    let out = s.tern.cli(&["token", "create", "--name", "ops"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .unwrap_or_else(|| panic!("no secret: {text}"))
        .to_string();
    let api = |method: &str, path: &str| {
        let out = std::process::Command::new("curl")
            .args(["-sS", "--fail-with-body", "--max-time", "30", "-X", method])
            .arg("--cacert")
            .arg(&root)
            .arg("--resolve")
            .arg(format!("{HOST}:{}:127.0.0.1", s.https))
            .arg("-H")
            .arg(format!("Authorization: Bearer {secret}"))
            .arg(format!("https://{HOST}:{}/api/v1{path}", s.https))
            .output()
            .expect("curl");
        assert!(out.status.success(), "{method} {path}: {out:?}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("json")
    };
    let certs = api("GET", "/certs");
    assert!(certs[0]["last_error"].is_string(), "{certs}");

    s.pebble.launch();
    // A plain renewal waives the backoff; the forced request stays.
    let asked = api("POST", "/certs/renew");
    assert_eq!(asked["certificates"], 1, "{asked}");
    wait_issued(&s, first);
    let root2 = s.pebble.issuing_root();
    let deadline = Instant::now() + DEADLINE;
    loop {
        let fp = leaf_fp(s.tern.port("imaps"), HOST);
        if fp != fp1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate is not served"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    clients(&s, &root2);
    let (code, body) = curl(&format!("http://127.0.0.1:{}/health/detailed", s.http));
    assert_eq!(code, 200, "{body}");
    let (_, metrics) = curl(&format!("http://127.0.0.1:{}/metrics", s.http));
    assert!(metrics.contains("tern_acme_renewal_failing 0"), "{metrics}");
}

/// A self-signed pair for `HOST` (cert PEM, key PEM) and its leaf's SHA-256.
fn pair() -> (String, String, String) {
    use aws_lc_rs::digest;
    let c = rcgen::generate_simple_self_signed(vec![HOST.to_string()]).expect("cert");
    let fp = digest::digest(&digest::SHA256, c.cert.der());
    let hex: String = fp.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    (c.cert.pem(), c.signing_key.serialize_pem(), hex)
}

/// Write a file whole (rename), as a certificate tool does.
fn put(path: &Path, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

fn wait_fp(port: u16, want: &str) {
    let deadline = Instant::now() + DEADLINE;
    while leaf_fp(port, HOST) != want {
        assert!(Instant::now() < deadline, "certificate {want} not served");
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `[tls]` files replaced on disk are served without a restart — found by
/// the periodic check and by SIGHUP — and a broken replacement is refused
/// while the certificate served before stays.
#[test]
fn a_replaced_tls_file_is_served_without_restart_and_a_broken_one_refused() {
    let (c1, k1, fp1) = pair();
    let t = Tern::start_config(|dir| {
        std::fs::write(dir.join("c.pem"), &c1).expect("cert");
        std::fs::write(dir.join("k.pem"), &k1).expect("key");
        format!(
            "hostname = \"{HOST}\"\ndata_dir = \"{}\"\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n\
             watch_secs = 1\n[[listeners]]\nkind = \"imaps\"\naddr = \"127.0.0.1\"\nport = 0\n",
            dir.join("data").display(),
            dir.join("c.pem").display(),
            dir.join("k.pem").display()
        )
    });
    let (cert, key) = (t.dir.path().join("c.pem"), t.dir.path().join("k.pem"));
    let port = t.port("imaps");
    assert_eq!(leaf_fp(port, HOST), fp1);

    // The periodic check.
    let (c2, k2, fp2) = pair();
    put(&key, &k2);
    put(&cert, &c2);
    wait_fp(port, &fp2);

    // Broken: a certificate that does not match its key, then garbage.
    let (c3, _, _) = pair();
    put(&cert, &c3);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(leaf_fp(port, HOST), fp2, "a mismatched pair is refused");
    put(&cert, "not a certificate");
    common::signal(t.pid(), "HUP");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(leaf_fp(port, HOST), fp2, "garbage is refused");

    // SIGHUP loads a good pair at once.
    let (c4, k4, fp4) = pair();
    put(&key, &k4);
    put(&cert, &c4);
    common::signal(t.pid(), "HUP");
    wait_fp(port, &fp4);
}

/// Two nodes on one PostgreSQL: one order between them (the store lease),
/// and both serve the certificate it brought, verified by the clients.
/// The CA's http-01 requests go to a third node without `[acme]`, which
/// answers from the store whichever node ordered.
#[test]
fn two_nodes_on_one_postgresql_order_once_by_http_01() {
    two_nodes("http-01");
}

/// The same by tls-alpn-01, the CA connecting to the first node whichever
/// node ordered (the other's challenge is found in the store).
#[test]
fn two_nodes_on_one_postgresql_order_once_by_tls_alpn_01() {
    two_nodes("tls-alpn-01");
}

fn two_nodes(challenge: &str) {
    let db = common::pg::PgDb::create();
    let store = db.config();
    let dns = DnsServer::start(Zone::default().a(HOST, "127.0.0.1"));
    let (http, https) = (free_port(), free_port());
    let pebble = Pebble::start(http, https, dns.addr);
    let dns_cfg = dns.config();
    let _answering = Tern::start_config(|dir| {
        format!(
            "hostname = \"{HOST}\"\ndata_dir = \"{}\"\n{store}\
             [[listeners]]\nkind = \"http\"\naddr = \"127.0.0.1\"\nport = {http}\n{dns_cfg}",
            dir.join("data").display()
        )
    });
    let mut nodes = Vec::new();
    for i in 0..2 {
        let https = if i == 0 { https } else { free_port() };
        let n = Node {
            challenge,
            tls_file: false,
            http: free_port(),
            https,
            store: &store,
            directory: None,
        };
        nodes.push((node(&pebble, &dns, &n), https));
    }
    wait_issued_on(&nodes[0].0, &pebble, 0);
    let root = pebble.issuing_root();
    // The node that did not order picks the certificate up from the store
    // at its next look; until then each serves its own self-signed one.
    let deadline = Instant::now() + DEADLINE;
    while leaf_fp(nodes[0].0.port("imaps"), HOST) != leaf_fp(nodes[1].0.port("imaps"), HOST) {
        assert!(
            Instant::now() < deadline,
            "the nodes serve different certificates"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    for (t, https) in &nodes {
        clients_of(t, *https, &root);
    }
    let orders = pebble.log().matches("Added order").count();
    assert_eq!(orders, 1, "{}", pebble.log());
}

/// The default names follow the domains: a domain publishing MTA-STS adds
/// `mta-sts.<domain>`, and with `https` serving autoconfiguration every
/// domain adds `autoconfig.<domain>`; the new set is ordered at once and
/// served for each of its names.
#[test]
fn the_default_names_follow_the_domains() {
    let s = setup("http-01", false);
    let first = wait_issued(&s, 0);
    assert_eq!(status(&s.tern)[0]["names"], serde_json::json!([HOST]));
    let old = leaf_fp(s.tern.port("imaps"), HOST);
    for args in [
        &["domain", "add", "test.example", "--no-dkim"][..],
        &["domain", "mta-sts", "test.example", "--mode", "testing"][..],
    ] {
        let out = s.tern.cli(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let want = serde_json::json!(["autoconfig.test.example", "mta-sts.test.example", HOST]);
    let deadline = Instant::now() + DEADLINE;
    loop {
        let st = status(&s.tern);
        if st[0]["names"] == want && st[0]["issued"].as_i64().unwrap_or(0) >= first {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{st}\npebble: {}",
            s.pebble.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let root = s.pebble.issuing_root();
    let deadline = Instant::now() + DEADLINE;
    while leaf_fp(s.tern.port("imaps"), HOST) == old {
        assert!(
            Instant::now() < deadline,
            "the new certificate is not served"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    for host in ["mta-sts.test.example", "autoconfig.test.example", HOST] {
        clients_for(&s.tern, s.https, &root, host);
    }
}

/// A crash in the middle of an order: the restarted node resumes the same
/// order (the CA, sleeping before it validates, still holds it open). The
/// answer is in the store, so the CA's request finds it before or after
/// the restart; only a request that falls in the fraction of a second the
/// node is down fails the order, which is then placed again once — never
/// more.
#[test]
fn an_order_interrupted_by_a_crash_is_resumed_not_duplicated() {
    let opts = Opts {
        nosleep: false,
        ..Opts::default()
    };
    let mut s = setup_with("http-01", false, opts);
    let deadline = Instant::now() + DEADLINE;
    while status(&s.tern)[0].get("order").is_none() {
        assert!(Instant::now() < deadline, "no order placed");
        std::thread::sleep(Duration::from_millis(100));
    }
    s.tern.kill();
    s.tern.launch();
    wait_issued(&s, 0);
    let orders = s.pebble.log().matches("Added order").count();
    assert!(
        (1..=2).contains(&orders),
        "{orders} orders: {}",
        s.pebble.log()
    );
    clients(&s, &s.pebble.issuing_root());
}

/// A short-lived certificate (pebble issuing for 40 seconds) is renewed by
/// itself at two thirds of its lifetime: the next one is served to new
/// connections, one opened before goes on, nothing is restarted.
#[test]
fn a_short_lived_certificate_is_renewed_by_itself() {
    let opts = Opts {
        validity_secs: Some(40),
        ..Opts::default()
    };
    let s = setup_with("tls-alpn-01", false, opts);
    let first = wait_issued(&s, 0);
    let root = s.pebble.issuing_root();
    let fp1 = clients(&s, &root)["imaps"]
        .as_str()
        .expect("fp")
        .to_string();
    let mut old = Imaps::open(s.tern.port("imaps"), &root);
    wait_issued(&s, first);
    let deadline = Instant::now() + DEADLINE;
    while leaf_fp(s.tern.port("imaps"), HOST) == fp1 {
        assert!(
            Instant::now() < deadline,
            "the renewed certificate is not served"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    let reply = old.noop();
    assert!(reply.starts_with("a1 OK"), "the old connection: {reply}");
    let pid = s.tern.pid();
    clients(&s, &root);
    assert_eq!(s.tern.pid(), pid);
}

/// RFC 9773: a CA that offers renewal information gets asked about the
/// served certificate; a window already open renews it at once (the
/// order names the certificate it replaces), and the new certificate's
/// window, a month away, does not renew it again. Pebble 2.4.0 has no
/// renewal information: a proxy in front of it adds it
/// (`scripts/acme_ari_proxy.py`).
#[test]
fn the_cas_renewal_window_renews_the_certificate() {
    let dns = DnsServer::start(zone());
    let (http, https) = (free_port(), free_port());
    let pebble = Pebble::start_with(http, https, dns.addr, Opts::default());
    let proxy_port = free_port();
    let log = pebble.https_root().with_file_name("ari.log");
    let dir = pebble.https_root();
    let dir = dir.parent().expect("pebble dir");
    let mut proxy = std::process::Command::new("python3")
        .arg("-c")
        .arg(include_str!("scripts/acme_ari_proxy.py"))
        .args([
            &proxy_port.to_string(),
            &pebble.directory(),
            pebble.https_root().to_str().expect("path"),
            dir.join("cert.pem").to_str().expect("path"),
            dir.join("key.pem").to_str().expect("path"),
            log.to_str().expect("path"),
        ])
        .stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("python3");
    // Readiness is its own line, once it listens.
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(proxy.stdout.take().expect("stdout")),
        &mut ready,
    )
    .expect("proxy");
    assert_eq!(ready.trim(), "ready");
    let url = format!("https://127.0.0.1:{proxy_port}/dir");
    let n = Node {
        challenge: "tls-alpn-01",
        tls_file: false,
        http,
        https,
        store: "",
        directory: Some(&url),
    };
    let tern = node(&pebble, &dns, &n);
    let first = wait_issued_on(&tern, &pebble, 0);
    // The window of the first certificate is open: renewed without asking.
    let second = wait_issued_on(&tern, &pebble, first);
    assert!(second >= first);
    let asked = |_: ()| -> Vec<String> {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    };
    // The new certificate is asked about too, and its window is far.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let ids = asked(());
        let mut distinct = ids.clone();
        distinct.dedup();
        if distinct.len() >= 2 {
            assert_ne!(distinct[0], distinct[1], "{ids:?}");
            break;
        }
        assert!(Instant::now() < deadline, "the CA was asked about {ids:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
    std::thread::sleep(Duration::from_secs(5));
    let st = status(&tern);
    assert_eq!(
        st[0]["issued"].as_i64(),
        Some(second),
        "no renewal for a window a month away: {st}"
    );
    let _ = proxy.kill();
    let _ = proxy.wait();
}
