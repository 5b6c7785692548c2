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
