//! Pebble, the ACME test CA (Debian's `pebble`), on loopback: its own
//! HTTPS certificate made here by a throw-away CA (tern trusts it through
//! `[acme] ca_root`), its validation ports pointed at tern's `http` and
//! `https` listeners, and a test DNS server that answers for the names.
//! `PEBBLE_VA_NOSLEEP=1` validates at once; validation itself is real
//! (no `PEBBLE_VA_ALWAYS_VALID`). Killed on drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Pebble {
    child: Option<Child>,
    dir: tempfile::TempDir,
    pub port: u16,
    pub mgmt: u16,
    http_port: u16,
    tls_port: u16,
    dns: SocketAddr,
    opts: Opts,
}

/// How pebble behaves.
#[derive(Clone, Copy)]
pub struct Opts {
    /// `PEBBLE_VA_NOSLEEP=1`: validate at once (else after 0 to 15 s, as a
    /// real CA may: a test can crash tern meanwhile).
    pub nosleep: bool,
    /// How long its certificates live (pebble's default: five years).
    pub validity_secs: Option<u64>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            nosleep: true,
            validity_secs: None,
        }
    }
}

/// A loopback port free now (the caller binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl Pebble {
    /// Start pebble; validation connects to `http_port` (http-01) and
    /// `tls_port` (tls-alpn-01) on the address `dns` gives for a name.
    pub fn start(http_port: u16, tls_port: u16, dns: SocketAddr) -> Pebble {
        Pebble::start_with(http_port, tls_port, dns, Opts::default())
    }

    pub fn start_with(http_port: u16, tls_port: u16, dns: SocketAddr, opts: Opts) -> Pebble {
        let dir = tempfile::tempdir().expect("tempdir");
        write_https_material(dir.path());
        let mut p = Pebble {
            child: None,
            dir,
            port: free_port(),
            mgmt: free_port(),
            http_port,
            tls_port,
            dns,
            opts,
        };
        p.launch();
        p
    }

    /// (Re)start on the same ports: a new CA (pebble keeps nothing).
    pub fn launch(&mut self) {
        let cfg = format!(
            r#"{{"pebble": {{"listenAddress": "127.0.0.1:{}", "managementListenAddress": "127.0.0.1:{}",
               "certificate": "{}", "privateKey": "{}", "httpPort": {}, "tlsPort": {},
               "ocspResponderURL": "", "externalAccountBindingRequired": false{}}}}}"#,
            self.port,
            self.mgmt,
            self.dir.path().join("cert.pem").display(),
            self.dir.path().join("key.pem").display(),
            self.http_port,
            self.tls_port,
            self.opts
                .validity_secs
                .map(|v| format!(", \"certificateValidityPeriod\": {v}"))
                .unwrap_or_default(),
        );
        let cfg_path = self.dir.path().join("pebble.json");
        std::fs::write(&cfg_path, cfg).expect("pebble config");
        let log = std::fs::File::create(self.dir.path().join("pebble.log")).expect("log");
        let mut cmd = Command::new("pebble");
        if self.opts.nosleep {
            cmd.env("PEBBLE_VA_NOSLEEP", "1");
        }
        let child = cmd
            .arg("-config")
            .arg(&cfg_path)
            .arg("-dnsserver")
            .arg(self.dns.to_string())
            // Every nonce accepted, no reuse of authorizations: each order
            // is validated for real, and the tests do not depend on luck.
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("pebble (apt-get install pebble; scripts/ci-deps.sh)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pebble did not listen: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop it (SIGKILL): the CA is unreachable until `launch`.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn directory(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.port)
    }

    /// The root that signs pebble's HTTPS certificate (`[acme] ca_root`).
    pub fn https_root(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The root of the certificates this pebble issues, written to a file.
    pub fn issuing_root(&self) -> PathBuf {
        let out = Command::new("curl")
            .args(["-sS", "--fail", "--cacert"])
            .arg(self.https_root())
            .arg(format!("https://127.0.0.1:{}/roots/0", self.mgmt))
            .output()
            .expect("curl");
        assert!(
            out.status.success(),
            "pebble root: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = self
            .dir
            .path()
            .join(format!("issuing-root-{}.pem", rand_suffix()));
        std::fs::write(&path, &out.stdout).expect("root");
        path
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A CA and a certificate for 127.0.0.1 and localhost signed by it.
fn write_https_material(dir: &Path) {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "pebble https test CA");
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let ca = p.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(p, ca_key);
    let leaf =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("params");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = leaf.signed_by(&key, &issuer).expect("leaf");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write");
    std::fs::write(dir.join("cert.pem"), cert.pem()).expect("write");
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).expect("write");
}
