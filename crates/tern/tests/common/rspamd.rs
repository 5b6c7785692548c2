//! Debian's rspamd for tests, on loopback, with a configuration of its
//! own: no plugins (so nothing reaches the network; DNS points at a dead
//! port), the GTUBE test patterns on (`XJS…` reject, `YJS…` add header,
//! `ZJS…` rewrite subject, `AJS…` no action), and Bayes on a private
//! `redis-server` so the controller can learn. Ready when both workers
//! answer `/ping`; stopped (both processes) on drop.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::pebble::free_port;

pub const PASSWORD: &str = "rspamd-test-password";

/// The GTUBE line that makes rspamd answer `action`.
pub fn gtube(action: &str) -> String {
    let first = match action {
        "reject" => 'X',
        "add header" => 'Y',
        "rewrite subject" => 'Z',
        _ => 'A',
    };
    format!("{first}JS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X")
}

pub struct Rspamd {
    pub normal: u16,
    pub controller: u16,
    rspamd: Option<Child>,
    redis: Option<Child>,
    _dir: tempfile::TempDir,
}

fn id(flag: &str) -> String {
    let out = Command::new("id").arg(flag).output().expect("id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// One HTTP/1.0 GET on loopback: the status line and body, or None.
fn get(port: u16, path: &str, password: Option<&str>) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let pw = password
        .map(|p| format!("Password: {p}\r\n"))
        .unwrap_or_default();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{pw}\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

impl Rspamd {
    pub fn start() -> Rspamd {
        for _ in 0..3 {
            if let Some(r) = Rspamd::try_start() {
                return r;
            }
        }
        panic!("rspamd did not start");
    }

    fn try_start() -> Option<Rspamd> {
        let dir = tempfile::tempdir().expect("tempdir");
        let (normal, controller, redis_port) = (free_port(), free_port(), free_port());
        let redis = Command::new("redis-server")
            .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (scripts/ci-deps.sh installs it)");
        let d = dir.path().display();
        let conf = format!(
            r#"options {{
  pidfile = "{d}/rspamd.pid";
  enable_test_patterns = true;
  dns {{ nameserver = ["127.0.0.1:9"]; timeout = 1s; retransmits = 1; }}
}}
logging {{ type = "file"; filename = "{d}/rspamd.log"; level = "info"; }}
worker "normal" {{ bind_socket = "127.0.0.1:{normal}"; count = 1; }}
worker "controller" {{ bind_socket = "127.0.0.1:{controller}"; count = 1; password = "{PASSWORD}"; enable_password = "{PASSWORD}"; }}
actions {{ reject = 15; add_header = 6; greylist = 4; }}
classifier "bayes" {{
  backend = "redis";
  servers = "127.0.0.1:{redis_port}";
  min_learns = 1;
  tokenizer {{ name = "osb"; }}
  statfile {{ symbol = "BAYES_HAM"; spam = false; }}
  statfile {{ symbol = "BAYES_SPAM"; spam = true; }}
}}
"#
        );
        let path = dir.path().join("rspamd.conf");
        std::fs::write(&path, conf).expect("rspamd.conf");
        let rspamd = Command::new("rspamd")
            .args(["-f", "-i", "-u", &id("-un"), "-g", &id("-gn"), "-c"])
            .arg(&path)
            .args(["--var", &format!("DBDIR={d}")])
            .args(["--var", &format!("RUNDIR={d}")])
            .args(["--var", &format!("LOGDIR={d}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: stopping it stops its workers too.
            .process_group(0)
            .spawn()
            .expect("rspamd (scripts/ci-deps.sh installs it)");
        let mut r = Rspamd {
            normal,
            controller,
            rspamd: Some(rspamd),
            redis: Some(redis),
            _dir: dir,
        };
        // It compiles its TLD list and regexps first: a few seconds, more
        // on a loaded machine.
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let up = |p| get(p, "/ping", None).is_some_and(|a| a.contains("pong"));
            if up(normal) && up(controller) {
                return Some(r);
            }
            if let Some(c) = r.rspamd.as_mut()
                && c.try_wait().ok().flatten().is_some()
            {
                return None;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        None
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.normal)
    }

    pub fn controller_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.controller)
    }

    /// The controller's `/stat` answer.
    pub fn stat(&self) -> String {
        get(self.controller, "/stat", Some(PASSWORD)).unwrap_or_default()
    }

    /// How many messages rspamd has learned (the controller's `/stat`).
    pub fn learned(&self) -> u64 {
        let a = self.stat();
        a.split("\"learned\":")
            .nth(1)
            .and_then(|r| r.split([',', '}']).next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Stop rspamd and its workers (redis stays until the value is
    /// dropped): TERM to the group, KILL after 10 s.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.rspamd.take() {
            let group = format!("-{}", c.id());
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && c.try_wait().ok().flatten().is_none() {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = c.wait();
        }
    }

    #[allow(dead_code)]
    pub fn log(&self) -> String {
        std::fs::read_to_string(Path::new(&self._dir.path().join("rspamd.log"))).unwrap_or_default()
    }
}

impl Drop for Rspamd {
    fn drop(&mut self) {
        self.stop();
        if let Some(mut c) = self.redis.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
