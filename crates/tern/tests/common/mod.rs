//! End-to-end harness: a real `tern serve` on 127.0.0.1 with port-0
//! listeners, a temp data dir and a self-signed certificate. Every test
//! file that uses it does `mod common;`. The process is stopped on drop.
#![allow(dead_code)]

pub mod ca;
pub mod checks;
pub mod dns;
pub mod dnssec;
pub mod fake_rspamd;
pub mod mta_sts;
pub mod pebble;
pub mod pg;
pub mod postfix;
pub mod rspamd;
pub mod rss;
pub mod sink;
pub mod smtp;

/// A UDP socket and a TCP listener on the same loopback port. The port the
/// system picks for UDP may be taken on TCP (by any other connection), so
/// another is tried, a bounded number of times.
pub fn udp_and_tcp_on_one_port() -> (std::net::UdpSocket, std::net::TcpListener) {
    for _ in 0..100 {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let addr = udp.local_addr().expect("addr");
        if let Ok(tcp) = std::net::TcpListener::bind(addr) {
            return (udp, tcp);
        }
    }
    panic!("no loopback port free on both UDP and TCP after 100 tries");
}

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tern");

pub struct Tern {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// Bound address per listener kind ("smtp" → 127.0.0.1:PORT).
    pub addrs: HashMap<String, std::net::SocketAddr>,
    /// Everything the server printed on stdout so far.
    pub stdout: Vec<String>,
    /// What the server logged (stderr), kept for `wait_log` when the test
    /// asked for it (`start_logged`); otherwise stderr is the test's own.
    log: Option<Arc<Mutex<Vec<String>>>>,
    /// The DNS server tern asks when the test gave no `[dns]` of its own:
    /// an empty zone, so nothing ever leaves the machine.
    _dns: Option<dns::DnsServer>,
}

/// Write a configuration with the given listener kinds on port 0 plus any
/// extra TOML (sections such as `[smtp]`), in a fresh temp dir.
pub fn write_config(dir: &Path, kinds: &[&str], extra: &str) -> PathBuf {
    let (cert, key) =
        tern_common::tls::self_signed(&dir.join("tls"), "mx.test.example").expect("certificate");
    let mut s = format!(
        "hostname = \"mx.test.example\"\ndata_dir = \"{}\"\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
        dir.join("data").display(),
        cert.display(),
        key.display()
    );
    for k in kinds {
        s.push_str(&format!(
            "[[listeners]]\nkind = \"{k}\"\naddr = \"127.0.0.1\"\nport = 0\n"
        ));
    }
    s.push_str(extra);
    let path = dir.join("tern.toml");
    std::fs::write(&path, s).expect("write config");
    path
}

impl Tern {
    /// Start tern with these listener kinds.
    pub fn start(kinds: &[&str]) -> Tern {
        Tern::start_with(kinds, "")
    }

    pub fn start_with(kinds: &[&str], extra: &str) -> Tern {
        Tern::start_with_cert(kinds, extra, None)
    }

    /// `start_with`, serving this certificate and key (PEM) instead of a
    /// self-signed one.
    pub fn start_with_cert(kinds: &[&str], extra: &str, cert: Option<(&str, &str)>) -> Tern {
        Tern::start_full(kinds, extra, cert, false)
    }

    /// `start_with`, keeping what the server logs for `wait_log` (it is
    /// still printed, as the test's own stderr).
    pub fn start_logged(kinds: &[&str], extra: &str) -> Tern {
        Tern::start_full(kinds, extra, None, true)
    }

    fn start_full(kinds: &[&str], extra: &str, cert: Option<(&str, &str)>, logged: bool) -> Tern {
        let dir = tempfile::tempdir().expect("tempdir");
        if let Some((c, k)) = cert {
            let tls = dir.path().join("tls");
            std::fs::create_dir_all(&tls).expect("tls dir");
            std::fs::write(tls.join("self-signed.crt"), c).expect("cert");
            std::fs::write(tls.join("self-signed.key"), k).expect("key");
        }
        let (dns, extra) = if extra.contains("[dns]") {
            (None, extra.to_string())
        } else {
            let d = dns::DnsServer::start(dns::Zone::default());
            let cfg = format!("{extra}\n{}", d.config());
            (Some(d), cfg)
        };
        let config = write_config(dir.path(), kinds, &extra);
        let mut t = Tern {
            child: None,
            dir,
            config,
            addrs: HashMap::new(),
            stdout: Vec::new(),
            log: logged.then(Default::default),
            _dns: dns,
        };
        t.launch();
        t
    }

    /// Start tern on a configuration the test writes whole (`write` gets
    /// the temp dir and returns the file's text): one without `[tls]`, or
    /// with listeners on ports chosen in advance.
    pub fn start_config(write: impl FnOnce(&Path) -> String) -> Tern {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("tern.toml");
        std::fs::write(&config, write(dir.path())).expect("write config");
        let mut t = Tern {
            child: None,
            dir,
            config,
            addrs: HashMap::new(),
            stdout: Vec::new(),
            log: None,
            _dns: None,
        };
        t.launch();
        t
    }

    /// (Re)start the process on the same config and data.
    pub fn launch(&mut self) {
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(&self.config)
            .arg("serve")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if self.log.is_some() {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .expect("spawn tern");
        if let (Some(log), Some(err)) = (self.log.clone(), child.stderr.take()) {
            // Ends when the process closes its stderr (it exits).
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    eprintln!("{line}");
                    log.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            });
        }
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        self.addrs.clear();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("tern: ")
                        && let Some((kind, addr)) = rest.split_once(" listening on ")
                    {
                        self.addrs
                            .insert(kind.to_string(), addr.parse().expect("address"));
                    }
                    let ready = line == "tern: ready";
                    self.stdout.push(line);
                    if ready {
                        break;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("tern did not become ready; it printed: {:?}", self.stdout);
                }
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        self.child = Some(child);
    }

    /// The first line the server logged that `wanted` accepts, waiting
    /// (bounded) for it to come through the pipe. Needs `start_logged`.
    pub fn wait_log(&self, wanted: impl Fn(&str) -> bool) -> String {
        let log = self.log.as_ref().expect("started with start_logged");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let lines = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(l) = lines.iter().find(|l| wanted(l)) {
                return l.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no such line in the log:\n{}",
                lines.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A counter or gauge from the `http` listener's `/metrics` (0 when
    /// the server has not counted it yet).
    pub fn metric(&self, name: &str) -> f64 {
        let out = python(
            "import sys, urllib.request\nprint(urllib.request.urlopen('http://127.0.0.1:%s/metrics' % sys.argv[1]).read().decode())",
            &[&self.port("http").to_string()],
        );
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    pub fn addr(&self, kind: &str) -> std::net::SocketAddr {
        *self
            .addrs
            .get(kind)
            .unwrap_or_else(|| panic!("no {kind} listener: {:?}", self.addrs))
    }

    pub fn port(&self, kind: &str) -> u16 {
        self.addr(kind).port()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Run a tern CLI command against this server's configuration.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli(&self.config, args)
    }

    /// Create the domain (if needed) and an account.
    pub fn add_user(&self, email: &str, password: &str) {
        let domain = email.rsplit_once('@').expect("address").1;
        let _ = self.cli(&["domain", "add", domain, "--no-dkim"]);
        let out = self.cli(&["user", "add", email, "-p", password, "--allow-weak"]);
        assert!(
            out.status.success(),
            "user add {email}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Teach `user`'s classifier `n` messages of one kind ("spam": cheap
    /// pills, "ham": meeting minutes), numbered from `from`, with `tern
    /// spam train` on an mbox file.
    pub fn train_spam(&self, user: &str, kind: &str, from: usize, n: usize) {
        let words = if kind == "spam" {
            "buy cheap pills now"
        } else {
            "the meeting minutes"
        };
        let mut mbox = String::new();
        for i in from..from + n {
            mbox.push_str(&format!(
                "From x@{kind}.example Mon Nov 30 12:00:00 2026\nFrom: x@{kind}.example\nSubject: {words} {i}\nMessage-ID: <{kind}{i}@{kind}.example>\n\n{words} {i}\n\n"
            ));
        }
        let path = self.dir.path().join(format!("{kind}{from}.mbox"));
        std::fs::write(&path, mbox).expect("write mbox");
        let kind = format!("--{kind}");
        let out = self.cli(&["spam", "train", user, &kind, path.to_str().expect("path")]);
        assert!(out.status.success(), "spam train: {out:?}");
    }

    /// SIGTERM and wait (bounded) for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        signal(child.id(), "TERM");
        wait_bounded(&mut child, Duration::from_secs(30))
    }

    /// SIGKILL: the crash case.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("tls").join("self-signed.crt")
    }

    /// Run a Python script against this server's `imaps` listener as
    /// `user`: it starts after `IMAPS_PREAMBLE`, and `args` holds `extra`.
    /// Its standard output.
    pub fn imaps_script(&self, script: &str, user: &str, password: &str, extra: &[&str]) -> String {
        let port = self.port("imaps").to_string();
        let cert = self.cert_path();
        let mut argv = vec![
            port.as_str(),
            cert.to_str().expect("utf-8 path"),
            user,
            password,
        ];
        argv.extend_from_slice(extra);
        python(&format!("{IMAPS_PREAMBLE}{script}"), &argv)
    }
}

/// What every IMAP test script starts with: the port of the `imaps`
/// listener, the CA file that trusts its certificate, a user and password,
/// further arguments, and an `ssl` context for the connection.
const IMAPS_PREAMBLE: &str = "import imaplib, socket, ssl, sys
port, cafile, user, password = sys.argv[1:5]
args = sys.argv[5:]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
";

impl Drop for Tern {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn cli(config: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tern")
}

pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

pub fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run a Python 3 snippet (the pyenv or Debian interpreter on PATH) and
/// return its stdout; panics with its stderr when it fails.
pub fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
