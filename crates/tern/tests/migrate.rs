//! Moving a store between backends: a populated SQLite + Maildir store is
//! copied into PostgreSQL and back into a new SQLite data dir, and an IMAP
//! client sees the same mailboxes on all three — UIDVALIDITY, UIDs,
//! MODSEQ, flags and bytes.

mod common;

use common::Tern;
use common::checks::ok;
use common::pg::PgDb;

const PW: &str = "correct horse battery staple";

fn views(t: &Tern) -> (String, String) {
    (
        t.imaps_script(
            include_str!("scripts/backup_view.py"),
            "alice@example.org",
            PW,
            &[],
        ),
        t.imaps_script(
            include_str!("scripts/mailio_view.py"),
            "alice@example.org",
            PW,
            &[],
        ),
    )
}

#[test]
fn a_store_moves_to_postgresql_and_back_unchanged() {
    let mut t = Tern::start(&["imaps"]);
    t.add_user("alice@example.org", PW);
    // Some mail in two mailboxes, with flags.
    let md = t.dir.path().join("Maildir");
    for (dir, name, body) in [
        ("cur", "1700000000.M1.h:2,S", "Subject: a\r\n\r\na\r\n"),
        ("cur", "1700000001.M2.h:2,FR", "Subject: b\r\n\r\nb\r\n"),
        ("new", "1700000002.M3.h", "Subject: c\r\n\r\nc\r\n"),
        (
            ".Work/cur",
            "1700000003.M4.h:2,S",
            "Subject: d\r\n\r\nd\r\n",
        ),
    ] {
        let d = md.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), body).unwrap();
    }
    ok(&t.cli(&[
        "import",
        "alice@example.org",
        "maildir",
        md.to_str().unwrap(),
    ]));
    let sqlite = views(&t);
    assert!(sqlite.0.lines().count() >= 3, "{sqlite:?}");

    // Onto PostgreSQL.
    t.stop();
    let pg = PgDb::create();
    let out = ok(&t.cli(&["migrate", "--to", &pg.url]));
    assert!(out.contains("kind = \"postgres\""), "{out}");
    let mut on_pg = Tern::start_with(&["imaps"], &pg.config());
    assert_eq!(views(&on_pg), sqlite, "PostgreSQL serves the same mail");

    // And back onto SQLite + Maildir, in a new data dir.
    on_pg.stop();
    let back = t.dir.path().join("back");
    let out = ok(&on_pg.cli(&["migrate", "--to", back.to_str().unwrap()]));
    assert!(out.contains("kind = \"sqlite\""), "{out}");
    std::fs::remove_dir_all(t.data_dir()).unwrap();
    std::fs::rename(&back, t.data_dir()).unwrap();
    t.launch();
    assert_eq!(views(&t), sqlite, "SQLite serves the same mail again");
}
