//! Postfix's `smtp-sink` as a peer for the outbound queue, dumping each
//! message it accepts into its own file.
//!
//! smtp-sink cannot be handed port 0, so a port is picked, and the sink is
//! ready only when an SMTP greeting carrying this sink's own token arrives
//! there: a port another process took in the meantime (and answers on, or
//! stays silent on) is never mistaken for the sink; another port is tried.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sink {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// A loopback port held (bound, not listening: a connection to it is
/// refused) until a server is started on it.
pub struct Reserved {
    socket: tokio::net::TcpSocket,
    pub port: u16,
}

impl Reserved {
    pub fn new() -> Reserved {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.1:0".parse().expect("addr"))
            .expect("bind");
        let port = socket.local_addr().expect("addr").port();
        Reserved { socket, port }
    }
}

/// Did an SMTP greeting naming `token` arrive on `port` within `limit`?
/// False at once when something else answers there, or when `child` (the
/// server being started) exited: it could not bind.
pub fn greets(port: u16, token: &str, limit: Duration, mut child: Option<&mut Child>) -> bool {
    use std::io::BufRead;
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(c) = child.as_deref_mut()
            && matches!(c.try_wait(), Ok(Some(_)))
        {
            return false;
        }
        let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut line = String::new();
        let _ = std::io::BufReader::new(s).read_line(&mut line);
        return line.starts_with("220 ") && line.contains(token);
    }
    false
}

impl Sink {
    /// A sink on a port of its own; `extra` are smtp-sink options
    /// (`-r rcpt`, `-f rcpt -B "550 …"`, …).
    pub fn start(extra: &[&str]) -> Sink {
        for _ in 0..20 {
            if let Some(s) = Sink::try_on(Reserved::new(), extra) {
                return s;
            }
        }
        panic!("smtp-sink did not start on any of 20 ports");
    }

    /// A sink on a port the test reserved earlier (it was unreachable until
    /// now on purpose).
    pub fn start_on(port: Reserved, extra: &[&str]) -> Sink {
        let n = port.port;
        Sink::try_on(port, extra).unwrap_or_else(|| panic!("smtp-sink did not start on {n}"))
    }

    fn try_on(port: Reserved, extra: &[&str]) -> Option<Sink> {
        let dir = tempfile::tempdir().expect("tempdir");
        let token = format!("sink-{}-{}", std::process::id(), port.port);
        let template = format!("{}/%M.", dir.path().display());
        let n = port.port;
        drop(port.socket);
        let mut child = Command::new("/usr/sbin/smtp-sink")
            .args(["-u", "root", "-h", &token, "-d", &template])
            .args(extra)
            .arg(format!("127.0.0.1:{n}"))
            .arg("64")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("smtp-sink (Debian postfix; run scripts/ci-deps.sh)");
        if greets(n, &token, Duration::from_secs(10), Some(&mut child)) {
            return Some(Sink {
                child,
                port: n,
                dir,
            });
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// Every message received, oldest first.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("sink dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
