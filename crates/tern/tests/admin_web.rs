//! The web admin and the self-service pages against a real `tern serve`.
//!
//! In a real browser (Debian's chromium, driven by Playwright from PyPI;
//! nothing downloaded): the quickstart admin signs in, enrols TOTP, signs in
//! with password + TOTP and with a recovery code, adds a domain and a user
//! through the forms (the user then logs in over IMAP with `imaplib`), sees
//! the DKIM record go from ✗ to ✓ once the test's DNS server serves it,
//! retries a queued message and edits a Sieve script; screenshots of every
//! page at desktop and phone width are left in `target/admin-screenshots/`
//! for a reviewer. A second browser run works every other form — the user
//! page's (password, quota, admin role, disable, app passwords, send-as,
//! removal), the self-service page's, queue removal, DKIM keys, domain
//! removal, the audit filters — each judged by what it changed (IMAP
//! logins, who may open `/admin`, what submission accepts, the lists).
//!
//! Without a browser (`requests`): the CSRF token and the Origin /
//! Sec-Fetch-Site checks (403, nothing changed), a cookie after logout and
//! after "log out everywhere", escaping of hostile names, 403 for a
//! non-admin, TOTP guessing and the password asked again on a signed-in
//! page throttled like passwords, session time-outs,
//! and plain http serving the pages to loopback clients only.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::dns::{DnsServer, Zone};
use common::pg::PgDb;
use common::sink::Reserved;
use common::{BIN, Tern};

/// Where the screenshots go: under the workspace's `target/`.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("admin-screenshots")
}

/// `tern quickstart` into `dir/data`, then a configuration of our own for
/// that data on port-0 listeners; the postmaster's password.
fn quickstart(dir: &Path, kinds: &[&str], extra: &str) -> (String, String) {
    let out = Command::new(BIN)
        .args(["quickstart", "example.org", "--hostname", "mx.test.example"])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--config-out")
        .arg(dir.join("quickstart.toml"))
        .env_remove("TERN_CONFIG")
        .output()
        .expect("quickstart");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "quickstart: {text}");
    let pw = text
        .lines()
        .find_map(|l| {
            l.split_once("created with password: ")
                .map(|(_, p)| p.trim().to_string())
        })
        .expect("quickstart prints the postmaster's password");
    assert!(
        text.contains("it is an admin"),
        "quickstart says the postmaster is an admin: {text}"
    );
    let path = common::write_config(dir, kinds, extra);
    (std::fs::read_to_string(path).expect("config"), pw)
}

fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success())
}

/// What both browser tests need: the browser (asserted installed), a
/// DNS server where `remote.example`'s MX is a port nobody answers on,
/// and the configuration that points tern at both (a queued message then
/// waits, tried again every 600 s). Keep the first two alive while tern
/// runs.
fn browser_setup() -> (Reserved, DnsServer, String) {
    assert!(
        Path::new("/usr/bin/chromium").exists() && python_has("playwright") && python_has("pyotp"),
        "chromium, playwright and pyotp are installed by scripts/ci-deps.sh"
    );
    let refused = Reserved::new();
    let dns = DnsServer::start(
        Zone::default()
            .mx("remote.example", 10, "mx.remote.example")
            .a("mx.remote.example", "127.0.0.1"),
    );
    let extra = format!(
        "{}[queue]\npoll_secs = 1\nretry_base_secs = 600\nretry_max_secs = 600\nremote_port = {}\n",
        dns.config(),
        refused.port
    );
    (refused, dns, extra)
}

#[test]
fn the_admin_works_in_a_real_browser() {
    let (_refused, dns, extra) = browser_setup();
    let mut password = String::new();
    let mut t = Tern::start_config(|dir| {
        let (cfg, pw) = quickstart(dir, &["https", "http", "imaps", "submission"], &extra);
        password = pw;
        cfg
    });
    // Its own files only: the other browser test writes next to them.
    let shots = screenshot_dir();
    if let Ok(dir) = std::fs::read_dir(&shots) {
        for f in dir.flatten() {
            if f.path().extension().is_some_and(|e| e == "png") {
                let _ = std::fs::remove_file(f.path());
            }
        }
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scripts/admin_browser.py"
    );
    let mut child = Command::new("timeout")
        .args(["300", "python3", script])
        .arg(format!("https://127.0.0.1:{}", t.port("https")))
        .arg("postmaster@example.org")
        .arg(&password)
        .arg(t.port("imaps").to_string())
        .arg(t.port("submission").to_string())
        .arg(&shots)
        .arg(format!("http://127.0.0.1:{}", t.port("http")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = Vec::new();
    let mut needs = Vec::new();
    for line in stdout.lines().map_while(Result::ok) {
        printed.push(line.clone());
        if let Some(rest) = line.strip_prefix("NEED ") {
            let (name, text) = rest.split_once('\t').expect("name and text");
            needs.push((name.to_string(), text.to_string()));
            // Both DKIM records are asked for, then one OK is awaited.
            if needs.len() == 2 {
                let publish = needs.clone();
                dns.update(move |mut z| {
                    for (n, v) in &publish {
                        z = z.txt(n, v);
                    }
                    z
                });
                writeln!(stdin, "OK").expect("stdin");
                stdin.flush().expect("flush");
            }
        }
    }
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser script failed:\n{}\n{stderr}",
        printed.join("\n")
    );
    for step in [
        "enrolled 10",
        "totp login ok",
        "recovery code used once",
        "dns check ok",
        "user added, imap login ok",
        "sieve ok",
        "dashboard counts ok",
        "plain http on loopback ok",
        "done",
    ] {
        assert!(printed.iter().any(|l| l == step), "{step}: {printed:?}");
    }
    assert!(
        printed.iter().any(|l| l.starts_with("queue retry ok")),
        "{printed:?}"
    );
    // Every page at both widths.
    for page in [
        "login",
        "dashboard",
        "account",
        "totp",
        "recovery-codes",
        "second-step",
        "domain",
        "domains",
        "users",
        "user",
        "aliases",
        "queue",
        "queue-item",
        "audit",
        "settings",
        "sieve-error",
    ] {
        for width in ["desktop", "phone"] {
            let f = shots.join(format!("{page}-{width}.png"));
            assert!(
                std::fs::metadata(&f).is_ok_and(|m| m.len() > 1000),
                "screenshot {}",
                f.display()
            );
        }
    }
    t.stop();
}

/// Every form of the user, domain, queue and audit pages and of the
/// self-service page, each judged by what it changed: IMAP logins, who may
/// open `/admin`, what submission lets through, the lists.
#[test]
fn every_admin_and_account_form_does_what_it_says() {
    let (_refused, _dns, extra) = browser_setup();
    // The script fails logins on purpose; none of them may lock bob out.
    let extra = format!(
        "{extra}[auth_throttle]\nbase_delay_ms = 10\nmax_delay_secs = 1\nip_lock_after = 1000\n\
         account_lock_after = 1000\n"
    );
    let mut t = Tern::start_with(&["https", "imaps", "submission"], &extra);
    t.add_user("root@example.org", "Root-Strong-Pass-1!");
    assert!(
        t.cli(&["user", "admin", "root@example.org", "on"])
            .status
            .success()
    );
    t.add_user("bob@example.org", "Bob-Strong-Pass-2!");
    assert!(
        t.cli(&["domain", "add", "gone.example", "--no-dkim"])
            .status
            .success()
    );
    let shots = screenshot_dir().join("actions");
    let _ = std::fs::remove_dir_all(&shots);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scripts/admin_actions.py"
    );
    let out = Command::new("timeout")
        .args(["300", "python3", script])
        .arg(format!("https://127.0.0.1:{}", t.port("https")))
        .arg(t.port("imaps").to_string())
        .arg(t.port("submission").to_string())
        .arg(&shots)
        .output()
        .expect("python3");
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "browser script failed:\n{printed}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "password reset ok",
        "admin role ok",
        "disable ok",
        "app password ok",
        "send-as ok",
        "self-service ok",
        "queue remove ok",
        "domains ok",
        "audit filters ok",
        "dashboard ok",
        "user removed ok",
        "done",
    ] {
        assert!(printed.lines().any(|l| l == step), "{step}: {printed}");
    }
    assert!(
        printed.lines().any(|l| l.starts_with("quota ok")),
        "{printed}"
    );
    // What the forms did is what the CLI sees.
    let users = String::from_utf8_lossy(&t.cli(&["user", "list"]).stdout).into_owned();
    assert!(!users.contains("bob@example.org"), "{users}");
    let domains = String::from_utf8_lossy(&t.cli(&["domain", "list"]).stdout).into_owned();
    assert!(!domains.contains("gone.example"), "{domains}");
    for page in ["user", "forbidden", "confirm", "confirm-user", "reports"] {
        for width in ["desktop", "phone"] {
            let f = shots.join(format!("{page}-{width}.png"));
            assert!(
                std::fs::metadata(&f).is_ok_and(|m| m.len() > 1000),
                "screenshot {}",
                f.display()
            );
        }
    }
    t.stop();
}

#[test]
fn forms_sessions_and_second_factors_hold_against_misuse() {
    assert!(
        python_has("requests") && python_has("pyotp"),
        "requests and pyotp are installed by scripts/ci-deps.sh"
    );
    // A user's name locks after 5 failures from a failing network; the
    // network itself only after 50, so other users here are unaffected.
    let extra = "[auth_throttle]\nbase_delay_ms = 10\nmax_delay_secs = 1\n\
                 ip_lock_after = 50\naccount_lock_after = 5\nlock_secs = 600\n";
    let mut t = Tern::start_with(&["https", "http"], extra);
    t.add_user("root@example.org", "Root-Strong-Pass-1!");
    assert!(
        t.cli(&["user", "admin", "root@example.org", "on"])
            .status
            .success()
    );
    t.add_user("ann@example.org", "Ann-Strong-Pass-2!");
    t.add_user("carol@example.org", "Carol-Strong-Pass-3!");
    t.add_user("dave@example.org", "Dave-Strong-Pass-4!");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scripts/admin_security.py"
    );
    let out = Command::new("timeout")
        .args(["180", "python3", script])
        .arg(format!("https://127.0.0.1:{}", t.port("https")))
        .arg(format!("http://127.0.0.1:{}", t.port("http")))
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("done"), "{stdout}");
    // Refused forms changed nothing.
    let users = String::from_utf8_lossy(&t.cli(&["user", "list"]).stdout).into_owned();
    assert!(!users.contains("mallory"), "{users}");
    // TOTP guesses were audited as their own kind, and the lock as a lock.
    let audit = String::from_utf8_lossy(&t.cli(&["audit", "list"]).stdout).into_owned();
    assert!(audit.contains("second_factor_failure"), "{audit}");
    assert!(audit.contains("login_locked"), "{audit}");
    // Wrong current passwords on the signed-in page were audited as
    // failed logins of that account.
    assert!(
        audit
            .lines()
            .any(|l| l.contains("login_failure") && l.contains("dave@example.org")),
        "{audit}"
    );
    t.stop();
}

/// Sign in with curl (no second factor) and keep the cookie: the session's
/// cookie jar.
fn sign_in(t: &Tern, jar: &Path, user: &str, password: &str) {
    let out = Command::new("curl")
        .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}", "-c"])
        .arg(jar)
        .args(["--data-urlencode", &format!("user={user}")])
        .args(["--data-urlencode", &format!("password={password}")])
        .arg(format!(
            "https://127.0.0.1:{}/account/login",
            t.port("https")
        ))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "303");
}

#[test]
fn a_session_survives_a_restart_and_works_on_another_node() {
    // Two nodes on one PostgreSQL database: a session is the store's, not
    // a process's.
    let db = PgDb::create();
    let mut a = Tern::start_with(&["https"], &db.config());
    let b = Tern::start_with(&["https"], &db.config());
    a.add_user("root@example.org", "Root-Strong-Pass-1!");
    assert!(
        a.cli(&["user", "admin", "root@example.org", "on"])
            .status
            .success()
    );
    let jar = a.dir.path().join("jar");
    sign_in(&a, &jar, "root@example.org", "Root-Strong-Pass-1!");
    assert_eq!(status(&a, &jar, "/admin"), "200");
    assert_eq!(status(&b, &jar, "/admin"), "200", "the other node knows it");
    a.stop();
    a.launch();
    assert_eq!(status(&a, &jar, "/admin"), "200", "after a restart");
    // A new password ends it on every node.
    let out = a.cli(&[
        "user",
        "passwd",
        "root@example.org",
        "-p",
        "Another-Strong-Pass-2!",
    ]);
    assert!(out.status.success());
    assert_eq!(status(&a, &jar, "/admin"), "303");
    assert_eq!(status(&b, &jar, "/admin"), "303");
}

/// The status of a GET of `path` with the jar's cookie.
fn status(t: &Tern, jar: &Path, path: &str) -> String {
    let out = Command::new("curl")
        .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}", "-b"])
        .arg(jar)
        .arg(format!("https://127.0.0.1:{}{path}", t.port("https")))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sessions_end_when_idle_and_at_their_absolute_limit() {
    let mut t = Tern::start_with(&["https"], "[admin]\nidle_secs = 2\nmax_secs = 5\n");
    t.add_user("root@example.org", "Root-Strong-Pass-1!");
    let jar = t.dir.path().join("jar");
    // Idle: a pause longer than idle_secs ends the session.
    sign_in(&t, &jar, "root@example.org", "Root-Strong-Pass-1!");
    assert_eq!(status(&t, &jar, "/account"), "200");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(status(&t, &jar, "/account"), "303", "idle too long");
    // Absolute: kept busy, it still ends after max_secs.
    sign_in(&t, &jar, "root@example.org", "Root-Strong-Pass-1!");
    let start = Instant::now();
    let mut ended = None;
    while start.elapsed() < Duration::from_secs(15) {
        if status(&t, &jar, "/account") == "303" {
            ended = Some(start.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let ended = ended.expect("the session ended");
    assert!(
        ended >= Duration::from_secs(4),
        "not before max_secs: {ended:?}"
    );
    t.stop();
}
