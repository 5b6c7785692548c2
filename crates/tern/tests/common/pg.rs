//! A fresh PostgreSQL database for tests that run several tern nodes on one
//! store. PostgreSQL is found at `TERN_TEST_PG` (scripts/ci-deps.sh sets it
//! up); the database is dropped when the handle is.

use std::process::Command;

pub struct PgDb {
    pub url: String,
    name: String,
}

fn admin() -> String {
    std::env::var("TERN_TEST_PG")
        .unwrap_or_else(|_| "postgres://tern:tern@127.0.0.1:5432/postgres".into())
}

fn psql(sql: &str) {
    let out = Command::new("psql")
        .arg(admin())
        .arg("-qc")
        .arg(sql)
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "PostgreSQL is required ({}): {}",
        admin(),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PgDb {
    pub fn create() -> PgDb {
        let name = format!("tern_e2e_{}_{:08x}", std::process::id(), rand_u32());
        psql(&format!("CREATE DATABASE {name}"));
        let base = admin().rsplit_once('/').expect("url").0.to_string();
        PgDb {
            url: format!("{base}/{name}"),
            name,
        }
    }

    /// The `[store]` section for tern.
    pub fn config(&self) -> String {
        format!("[store]\nkind = \"postgres\"\nurl = \"{}\"\n", self.url)
    }
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() as u32
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .arg(admin())
            .arg("-qc")
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

/// A PostgreSQL server of the test's own (initdb into a temp dir, its own
/// port and socket directory), for tests that stop and start PostgreSQL
/// without disturbing the shared one other tests use. Stopped on drop.
/// As root, the server runs as the `postgres` user (it refuses root).
pub struct PrivatePg {
    dir: tempfile::TempDir,
    pub port: u16,
}

fn pg_bin(name: &str) -> std::path::PathBuf {
    let mut versions: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .map(|v| v.join("bin").join(name))
        .filter(|p| p.exists())
        .unwrap_or_else(|| name.into())
}

fn as_postgres(program: std::path::PathBuf) -> Command {
    if rustix::process::geteuid().is_root() {
        let mut c = Command::new("runuser");
        c.arg("-u").arg("postgres").arg("--").arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run_ok(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PrivatePg {
    /// initdb, start, and create the database `tern` for the role `tern`.
    pub fn start() -> PrivatePg {
        let dir = tempfile::tempdir().expect("tempdir");
        if rustix::process::geteuid().is_root() {
            run_ok(
                {
                    let mut c = Command::new("chown");
                    c.arg("postgres").arg(dir.path());
                    c
                },
                "chown",
            );
        }
        let data = dir.path().join("data");
        let mut init = as_postgres(pg_bin("initdb"));
        init.arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "tern", "--no-sync", "-E", "UTF8"]);
        run_ok(init, "initdb");
        let mut pg = PrivatePg { dir, port: 0 };
        // A free port: the system's choice for a moment ago; another is
        // tried (a bounded number of times) if someone took it meanwhile.
        for _ in 0..20 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            pg.port = port;
            if pg.try_start() {
                run_ok(
                    {
                        let mut c = Command::new("psql");
                        c.arg(pg.url_of("postgres"))
                            .arg("-qc")
                            .arg("CREATE DATABASE tern");
                        c
                    },
                    "create database",
                );
                return pg;
            }
        }
        panic!("private PostgreSQL did not start");
    }

    fn try_start(&self) -> bool {
        let mut c = as_postgres(pg_bin("pg_ctl"));
        c.arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.dir.path().display()
            ))
            .args(["-w", "-t", "60", "start"]);
        c.output().map(|o| o.status.success()).unwrap_or(false)
    }

    /// Start again after `stop` (same port).
    pub fn resume(&self) {
        assert!(self.try_start(), "private PostgreSQL did not restart");
    }

    /// Stop the server (fast: sessions are cut).
    pub fn stop(&self) {
        let mut c = as_postgres(pg_bin("pg_ctl"));
        c.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-w", "-t", "60", "-m", "fast", "stop"]);
        run_ok(c, "pg_ctl stop");
    }

    fn url_of(&self, db: &str) -> String {
        format!("postgres://tern@127.0.0.1:{}/{db}", self.port)
    }

    /// The `[store]` section for tern.
    pub fn config(&self) -> String {
        format!(
            "[store]\nkind = \"postgres\"\nurl = \"{}\"\n",
            self.url_of("tern")
        )
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let mut c = as_postgres(pg_bin("pg_ctl"));
        c.arg("-D").arg(self.dir.path().join("data")).args([
            "-w",
            "-t",
            "30",
            "-m",
            "immediate",
            "stop",
        ]);
        let _ = c.output();
    }
}
