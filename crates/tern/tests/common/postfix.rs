//! A private Postfix instance on a loopback port, for interoperability
//! tests: it accepts mail for `remote.example` into a Maildir (its
//! `virtual` agent), offers STARTTLS when asked, and can relay elsewhere.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub struct Postfix {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .expect("postfix tools (Debian postfix; run scripts/ci-deps.sh)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Postfix {
    /// Start Postfix for `remote.example`; `tls` offers STARTTLS; `extra`
    /// are more `main.cf` settings (`relayhost=[127.0.0.1]:2525`, …).
    pub fn start(tls: bool, extra: &[&str]) -> Postfix {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let conf = d.join("etc");
        for sub in ["etc", "spool", "data", "mail"] {
            std::fs::create_dir_all(d.join(sub)).expect("mkdir");
        }
        run(Command::new("cp")
            .arg("-r")
            .arg("/etc/postfix/.")
            .arg(&conf));
        run(Command::new("chown").arg("postfix").arg(d.join("data")));
        run(Command::new("chown")
            .arg("nobody:nogroup")
            .arg(d.join("mail")));
        let (cert, key) =
            tern_common::tls::self_signed(&d.join("tls"), "mx.remote.example").expect("cert");
        // Readiness is this instance's own greeting: another process may
        // take a free port between the pick and Postfix binding it.
        let token = format!("tern-test-postfix-{}", d.display());
        let mut settings: Vec<String> = vec![
            format!("queue_directory={}", d.join("spool").display()),
            format!("data_directory={}", d.join("data").display()),
            "inet_interfaces=127.0.0.1".into(),
            "inet_protocols=ipv4".into(),
            "myhostname=mx.remote.example".into(),
            "mydestination=".into(),
            "alias_maps=".into(),
            "alias_database=".into(),
            "compatibility_level=3.6".into(),
            "virtual_mailbox_domains=remote.example".into(),
            format!("virtual_mailbox_base={}", d.join("mail").display()),
            "virtual_mailbox_maps=static:box/".into(),
            "virtual_uid_maps=static:65534".into(),
            "virtual_gid_maps=static:65534".into(),
            "maillog_file_prefixes=/var,/dev/stdout,/tmp".into(),
            format!("maillog_file={}", d.join("maillog").display()),
            format!(
                "smtpd_tls_security_level={}",
                if tls { "may" } else { "none" }
            ),
            format!("smtpd_tls_cert_file={}", cert.display()),
            format!("smtpd_tls_key_file={}", key.display()),
            "smtp_tls_security_level=may".into(),
            "smtputf8_enable=yes".into(),
            format!("smtpd_banner=$myhostname ESMTP {token}"),
            // Debian's "Local only" set-up bounces everything else.
            "default_transport=smtp".into(),
            "relay_transport=relay".into(),
        ];
        settings.extend(extra.iter().map(|s| s.to_string()));
        let mut c = Command::new("postconf");
        c.arg("-c").arg(&conf).arg("-e").args(&settings);
        run(&mut c);
        run(Command::new("postconf")
            .arg("-c")
            .arg(&conf)
            .args(["-F", "*/*/chroot = n"]));
        run(Command::new("postconf")
            .arg("-c")
            .arg(&conf)
            .args(["-MX", "smtp/inet"]));
        for _ in 0..20 {
            let port = super::sink::Reserved::new().port;
            let service = format!("127.0.0.1:{port}/inet");
            run(Command::new("postconf")
                .arg("-c")
                .arg(&conf)
                .arg("-M")
                .arg(format!("{service}=127.0.0.1:{port} inet n - n - - smtpd")));
            run(Command::new("postfix").arg("-c").arg(&conf).arg("start"));
            if super::sink::greets(port, &token, Duration::from_secs(20), None) {
                return Postfix { dir, port };
            }
            let _ = Command::new("postfix")
                .arg("-c")
                .arg(&conf)
                .arg("stop")
                .output();
            std::thread::sleep(Duration::from_millis(200));
            run(Command::new("postconf")
                .arg("-c")
                .arg(&conf)
                .arg("-MX")
                .arg(&service));
        }
        panic!(
            "postfix did not start on any of 20 ports: {}",
            std::fs::read_to_string(d.join("maillog")).unwrap_or_default()
        );
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("etc")
    }

    /// Every message delivered to the Maildir, oldest first.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = Vec::new();
        for sub in ["new", "cur"] {
            let p = self.dir.path().join("mail/box").join(sub);
            if let Ok(rd) = std::fs::read_dir(&p) {
                files.extend(rd.filter_map(|e| e.ok()).map(|e| e.path()));
            }
        }
        files.sort();
        files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
    }

    /// The first message delivered, waiting for it at most `limit`; the
    /// Postfix log when none comes.
    pub fn first_message(&self, limit: std::time::Duration) -> Vec<u8> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(m) = self.messages().into_iter().next() {
                return m;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not delivered; postfix log:\n{}",
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(self.conf())
            .arg("stop")
            .output();
        // master exits a moment after stop returns; give it that moment.
        std::thread::sleep(Duration::from_millis(200));
    }
}
