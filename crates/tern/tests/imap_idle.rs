//! IDLE push end to end (RFC 2177): mail sent with swaks to port 25 shows
//! up as `* N EXISTS` in a session that sits in IDLE and sends nothing —
//! on one tern, and across two tern nodes sharing one PostgreSQL store,
//! where the store's change events travel by LISTEN/NOTIFY.

mod common;

use common::Tern;
use common::pg::PgDb;

const USER: &str = "ivy@example.org";
const PASSWORD: &str = "idle pass";

/// argv: IMAPS_PORT CAFILE USER PASSWORD SMTP_PORT [FLAG_IMAPS_PORT
/// FLAG_CAFILE].
/// Selects INBOX, enters IDLE, then has swaks deliver one message over
/// SMTP; prints every untagged line the idling session receives. With a
/// sixth argument, another session (on that port) then flags message 1,
/// which must arrive as an untagged FETCH too.
const SCRIPT: &str = include_str!("scripts/imap_idle_script.py");

fn lines(out: &str) -> Vec<(String, String)> {
    out.lines()
        .map(|l| {
            let (a, r) = l.split_once(' ').unwrap_or((l, ""));
            (a.to_string(), r.to_string())
        })
        .collect()
}

fn get<'a>(out: &'a [(String, String)], step: &str) -> &'a str {
    out.iter()
        .find(|(a, _)| a == step)
        .map(|(_, r)| r.as_str())
        .unwrap_or_else(|| panic!("no step {step} in {out:?}"))
}

fn idle_sees_delivery(imap: &Tern, smtp: &Tern, flag_on: Option<&Tern>) {
    let cert = imap.cert_path();
    let mut args = vec![
        imap.port("imaps").to_string(),
        cert.to_str().unwrap().to_string(),
        USER.to_string(),
        PASSWORD.to_string(),
        smtp.port("smtp").to_string(),
    ];
    if let Some(f) = flag_on {
        args.push(f.port("imaps").to_string());
        args.push(f.cert_path().to_str().unwrap().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lines(&common::python(SCRIPT, &args));
    assert_eq!(get(&out, "select"), "0", "{out:?}");
    assert_eq!(get(&out, "cont"), "+ idling");
    assert_eq!(get(&out, "swaks"), "0", "{out:?}");
    assert_eq!(get(&out, "pushed"), "* 1 EXISTS", "{out:?}");
    assert_eq!(get(&out, "within-30s"), "True");
    assert_eq!(get(&out, "recent"), "* 1 RECENT", "{out:?}");
    if flag_on.is_some() {
        assert_eq!(
            get(&out, "flag-pushed"),
            "* 1 FETCH (UID 1 FLAGS (\\Recent \\Flagged))",
            "{out:?}"
        );
    }
    assert!(get(&out, "done").contains("OK"), "{out:?}");
}

#[test]
fn swaks_delivery_is_pushed_to_an_idling_session() {
    let mut t = Tern::start(&["smtp", "imaps"]);
    t.add_user(USER, PASSWORD);
    idle_sees_delivery(&t, &t, Some(&t));
    t.stop();
}

#[test]
fn delivery_on_one_node_is_pushed_to_idle_on_another() {
    let db = PgDb::create();
    let mut a = Tern::start_with(&["smtp", "imaps"], &db.config());
    let mut b = Tern::start_with(&["imaps"], &db.config());
    a.add_user(USER, PASSWORD);
    // IDLE on B; the mail arrives on A; the flag change is made on A.
    idle_sees_delivery(&b, &a, Some(&a));
    a.stop();
    b.stop();
}
