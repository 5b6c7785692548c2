//! Start-up, configuration failures and shutdown of `tern serve`.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{BIN, Tern, cli};

fn config_file(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("bad.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// `config-check` and `serve` both refuse the file with exit 2 and an error
/// naming `key`; `serve` binds nothing.
fn refused(text: &str, key: &str) {
    let d = tempfile::tempdir().unwrap();
    let p = config_file(d.path(), text);
    for cmd in ["config-check", "serve"] {
        let out = cli(&p, &[cmd]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(
            err.contains(key),
            "{cmd}: error {err:?} should name {key:?}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("listening"),
            "{cmd} bound nothing"
        );
    }
}

#[test]
fn config_errors_name_the_key_and_exit_2() {
    refused(
        "hostname = \"mx.example.org\"\nlisten_everywhere = true\n",
        "listen_everywhere",
    );
    refused(
        "hostname = \"mx.example.org\"\nlisten_everywhere = true\n",
        "line 2",
    );
    refused("hostname = 42\n", "hostname");
    refused("[store]\nkind = \"oracle\"\n", "line 2");
    refused("[store]\nmax_connections = 0\n", "store.max_connections");
    refused("hostname = \"bad host\"\n", "hostname");
    refused(
        "[[listeners]]\nkind = \"pop3\"\nport = 99999\n",
        "listeners.port",
    );
    refused(
        "[[listeners]]\nkind = \"pop3\"\naddr = \"somewhere\"\n",
        "listeners.addr",
    );
    refused(
        "[dns]\ntrust_anchor = \"/nonexistent/anchor.keys\"\n",
        "dns.trust_anchor",
    );
}

#[test]
fn unloadable_or_mismatched_tls_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let (c1, _) = tern_common::tls::self_signed(&d.path().join("a"), "a.example.org").unwrap();
    let (_, k2) = tern_common::tls::self_signed(&d.path().join("b"), "b.example.org").unwrap();
    let missing = d.path().join("missing.pem");
    refused(
        &format!(
            "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            missing.display(),
            k2.display()
        ),
        "tls.cert",
    );
    refused(
        &format!(
            "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            c1.display(),
            k2.display()
        ),
        "tls.key",
    );
    let junk = d.path().join("junk.pem");
    std::fs::write(&junk, "not pem").unwrap();
    refused(
        &format!(
            "[tls]\ncert = \"{}\"\nkey = \"{}\"\n",
            c1.display(),
            junk.display()
        ),
        "tls.key",
    );
}

#[test]
fn config_check_says_ok() {
    let d = tempfile::tempdir().unwrap();
    let cfg = common::write_config(d.path(), &["pop3", "pop3s"], "");
    let out = cli(&cfg, &["config-check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn sigterm_exits_cleanly() {
    let mut t = Tern::start(&["pop3"]);
    let addr = t.addr("pop3");
    assert!(std::net::TcpStream::connect(addr).is_ok());
    let status = t.stop();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "no longer listening"
    );
}

/// Start `tern serve` with no configuration in `dir`; its stdout lines up
/// to "tern: ready". The embedded default's ports are fixed (2525, 2110…):
/// when another run of this suite holds them for a moment, tern exits
/// with "cannot listen", and another try is made, a bounded number of times.
fn start_embedded(dir: &std::path::Path) -> (std::process::Child, Vec<String>) {
    for _ in 0..40 {
        let mut child = Command::new(BIN)
            .arg("serve")
            .current_dir(dir)
            .env_remove("TERN_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = std::thread::spawn(move || {
            use std::io::BufRead;
            let mut v = Vec::new();
            for l in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let done = l == "tern: ready";
                v.push(l);
                if done {
                    break;
                }
            }
            v
        })
        .join()
        .unwrap();
        if lines.last().map(String::as_str) == Some("tern: ready") {
            // Keep draining stderr so the server never blocks on it.
            let mut err = child.stderr.take().unwrap();
            std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
            return (child, lines);
        }
        let status = common::wait_bounded(&mut child, Duration::from_secs(30));
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
        assert!(
            err.contains("cannot listen"),
            "tern exited ({status:?}) before ready: {err}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("the embedded default's ports stayed taken for 20 s");
}

#[test]
fn embedded_default_runs_on_loopback_only() {
    let d = tempfile::tempdir().unwrap();
    let (mut child, lines) = start_embedded(d.path());
    common::signal(child.id(), "TERM");
    let status = common::wait_bounded(&mut child, Duration::from_secs(30));
    assert!(status.success());
    assert!(
        lines.iter().any(|l| l.contains("embedded default")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("tern: data in tern-data")),
        "{lines:?}"
    );
    let listening: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(" listening on "))
        .collect();
    assert!(!listening.is_empty(), "{lines:?}");
    for l in &listening {
        assert!(l.contains("127.0.0.1:"), "loopback only: {l}");
    }
    assert!(
        listening.iter().any(|l| l.ends_with("127.0.0.1:2110")),
        "pop3 on 2110: {lines:?}"
    );
    for (kind, port) in [("http", 8080), ("https", 8443)] {
        assert!(
            listening
                .iter()
                .any(|l| *l == &format!("tern: {kind} listening on 127.0.0.1:{port}")),
            "{kind} on {port}: {lines:?}"
        );
    }
    assert!(d.path().join("tern-data/tls/self-signed.crt").exists());
}

/// The SHA-256 of the certificate a TLS server presents on `port`, or of
/// the PEM file given instead.
const FINGERPRINT: &str = include_str!("scripts/serve_fingerprint.py");

/// SIGHUP reloads the certificate (a renewed one is served to new
/// connections) and does not stop the server, which still exits cleanly
/// on SIGTERM afterwards.
#[test]
fn sighup_reloads_the_certificate_and_keeps_serving() {
    let mut t = common::Tern::start(&["imaps", "https"]);
    let port = t.port("imaps").to_string();
    let https = t.port("https").to_string();
    let served = || {
        common::python(FINGERPRINT, &["port", &port])
            .trim()
            .to_string()
    };
    let old = served();
    let renewed = tempfile::tempdir().unwrap();
    let (c, k) = tern_common::tls::self_signed(renewed.path(), "renewed.example").unwrap();
    let key = t.cert_path().with_extension("key");
    std::fs::copy(&c, t.cert_path()).unwrap();
    std::fs::copy(&k, &key).unwrap();
    let want = common::python(FINGERPRINT, &["file", c.to_str().unwrap()])
        .trim()
        .to_string();
    assert_ne!(old, want);
    common::signal(t.pid(), "HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while served() != want {
        assert!(
            std::time::Instant::now() < deadline,
            "the renewed certificate is not served"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // HTTPS shares the certificate slot: the renewed one there too, and
    // the detailed health reports it.
    assert_eq!(
        common::python(FINGERPRINT, &["port", &https]).trim(),
        want,
        "https serves the renewed certificate"
    );
    let health = Command::new("curl")
        .args(["-sk", &format!("https://127.0.0.1:{https}/health/detailed")])
        .output()
        .unwrap();
    let health = String::from_utf8_lossy(&health.stdout);
    assert!(
        health.contains("\"subject\":\"CN=renewed.example\""),
        "{health}"
    );
    assert!(
        t.stop().success(),
        "SIGTERM after SIGHUP still exits cleanly"
    );
}

/// `[log] format = "json"`: every line on standard error is one JSON
/// object; `level = "warn"` keeps the info lines out.
#[test]
fn json_logs_one_object_per_line_at_the_configured_level() {
    let d = tempfile::tempdir().unwrap();
    let run = |log: &str| {
        let cfg = common::write_config(d.path(), &["pop3s"], log);
        let mut child = Command::new(BIN)
            .args(["--config", cfg.to_str().unwrap(), "serve"])
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for l in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if l == "tern: ready" {
                    break;
                }
            }
        })
        .join()
        .unwrap();
        common::signal(child.id(), "TERM");
        let status = common::wait_bounded(&mut child, Duration::from_secs(30));
        assert!(status.success());
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        err
    };
    let err = run("[log]\nformat = \"json\"\n");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.iter().any(|l| l.contains("tern started")), "{err}");
    for l in &lines {
        assert!(
            l.starts_with('{') && l.ends_with('}') && l.contains("\"level\":"),
            "{l}"
        );
    }
    let quiet = run("[log]\nlevel = \"warn\"\n");
    assert!(!quiet.contains("tern started"), "{quiet}");
}

/// At shutdown a client waiting in IDLE (and one waiting between commands)
/// hears `* BYE [UNAVAILABLE]` at once, and the server exits without
/// waiting out its grace period (60 s here) for them.
#[test]
fn sigterm_says_bye_to_idling_clients_at_once() {
    let mut t = Tern::start_with(&["imaps"], "[server]\nshutdown_grace_secs = 60\n");
    t.add_user("alice@example.org", "pw");
    let script = include_str!("scripts/serve_idle_bye.py");
    let out = common::python(
        script,
        &[
            &t.port("imaps").to_string(),
            t.cert_path().to_str().unwrap(),
            &t.pid().to_string(),
        ],
    );
    assert!(out.contains("idle * BYE [UNAVAILABLE]"), "{out}");
    assert!(out.contains("waiting * BYE [UNAVAILABLE]"), "{out}");
    // Far below the 60 s grace: nobody waited for the idle sessions.
    let status = t.stop();
    assert!(status.success(), "{status:?}");
}

/// Started with a soft limit of 256 open files, the server raises it to
/// the hard limit before it listens: `[limits] global` counts thousands of
/// connections, each one a descriptor.
#[test]
fn the_open_file_limit_is_raised_to_the_hard_limit() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::write_config(dir.path(), &["smtp"], "");
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -Sn 256 && exec {BIN} --config {} serve",
            config.display()
        ))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(out));
    // Readiness is the server's own word.
    let ready = lines.any(|l| l.is_ok_and(|l| l == "tern: ready"));
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    common::signal(child.id(), "TERM");
    common::wait_bounded(&mut child, std::time::Duration::from_secs(30));
    assert!(ready, "not ready");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or_else(|| panic!("{limits}"));
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (soft, hard) = (fields[3], fields[4]);
    assert_eq!(soft, hard, "{line}");
    assert_ne!(soft, "256", "{line}");
}

/// An idle server leaves its store alone: no write (and so no sync) of the
/// database while nothing happens, however long it idles. The snooze loop
/// used to take and give back a store lease every 2 seconds.
#[test]
fn an_idle_server_does_not_write_its_store() {
    let mut t = Tern::start(&["smtp", "imaps"]);
    t.add_user("alice@example.org", "pw");
    // The loops' first rounds run at start; let them pass.
    std::thread::sleep(Duration::from_secs(3));
    let wal = t.data_dir().join("tern.sqlite-wal");
    let state = || {
        std::fs::metadata(&wal)
            .map(|m| (m.len(), m.modified().ok()))
            .ok()
    };
    let before = state();
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(state(), before, "the write-ahead log changed while idle");
    t.stop();
}
