//! Two tern nodes on one PostgreSQL store: the POP3 maildrop lock holds
//! across them (RFC 1939 8).

mod common;

use common::Tern;
use common::pg::PgDb;

#[test]
fn a_maildrop_held_on_one_node_is_in_use_on_the_other() {
    let db = PgDb::create();
    let a = Tern::start_with(&["pop3s"], &db.config());
    let b = Tern::start_with(&["pop3s"], &db.config());
    a.add_user("alice@example.org", "pw");
    let out = common::python(
        include_str!("scripts/pop3_nodes_login.py"),
        &[&a.port("pop3s").to_string(), &b.port("pop3s").to_string()],
    );
    assert!(out.contains("second -ERR [IN-USE]"), "{out}");
    assert!(
        out.contains("after quit: ok"),
        "released for the other node: {out}"
    );
}
