//! ENVELOPE, BODYSTRUCTURE and the header block are computed once per
//! message and kept in the index: after the first use, FETCH of those
//! items, of BODY[HEADER…] and SEARCH on header keys are answered without
//! reading or parsing the message again. Shown by changing the message
//! file behind tern's back: the cached items keep describing the message
//! as it arrived, while BODY[] reads the file.

mod common;

use common::Tern;

const USER: &str = "alice@example.org";
const PASSWORD: &str = "correct horse battery";

/// After `IMAPS_PREAMBLE`, with STEP as its argument: "append" stores the
/// message, "fetch" prints ENVELOPE, BODYSTRUCTURE and BODY[].
const SCRIPT: &str = include_str!("scripts/imap_summary_script.py");

fn run(t: &Tern, step: &str) -> (String, String) {
    let out = t.imaps_script(SCRIPT, USER, PASSWORD, &[step]);
    let get = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap_or_else(|| panic!("no {k} in {out}"))
            .to_string()
    };
    (
        format!(
            "{} / {} / {}",
            get("items "),
            get("header "),
            get("search ")
        ),
        get("body "),
    )
}

/// The one message file under the data directory's Maildir.
fn message_file(dir: &std::path::Path) -> std::path::PathBuf {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.parent().is_some_and(|q| q.ends_with("cur")) {
                found.push(p);
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

#[test]
fn envelope_and_bodystructure_come_from_the_index() {
    let mut t = Tern::start(&["imaps"]);
    t.add_user(USER, PASSWORD);
    let (items, body) = run(&t, "append");
    assert!(items.contains("\"original\""), "{items}");
    assert!(items.ends_with("/ Subject: original / 1"), "{items}");
    assert!(
        items.contains("BODYSTRUCTURE (\"TEXT\" \"PLAIN\""),
        "{items}"
    );
    assert_eq!(
        body,
        "From: Bob <bob@example.net>|To: alice@example.org|Subject: original||first body|"
    );

    let file = message_file(&t.data_dir());
    std::fs::write(
        &file,
        "Subject: rewritten\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nz\r\n--x--\r\n",
    )
    .unwrap();
    let (items2, body2) = run(&t, "fetch");
    // ENVELOPE, BODYSTRUCTURE, BODY[HEADER.FIELDS] and SEARCH SUBJECT all
    // still describe the message as it arrived: none of them read it again.
    assert_eq!(items2, items);
    assert!(body2.starts_with("Subject: rewritten"), "{body2}");
    t.stop();
}

/// Mail delivered over SMTP has its summary computed as it is stored, as
/// an APPEND does: the first FETCH after delivery parses nothing. Shown
/// the same way — the file is rewritten before any IMAP client asked, and
/// the first ENVELOPE still describes the message as it arrived.
#[test]
fn mail_delivered_over_smtp_is_summarised_as_it_is_stored() {
    let mut t = Tern::start(&["smtp", "imaps"]);
    t.add_user(USER, PASSWORD);
    let sent = common::python(
        "import smtplib, sys\n\
         s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=20)\n\
         s.sendmail('bob@example.net', ['alice@example.org'],\n\
         b'From: Bob <bob@example.net>\\r\\nTo: alice@example.org\\r\\nSubject: original\\r\\n\\r\\nfirst body\\r\\n')\n\
         s.quit()\n\
         print('sent')\n",
        &[&t.port("smtp").to_string()],
    );
    assert!(sent.contains("sent"), "{sent}");
    let file = message_file(&t.data_dir());
    std::fs::write(&file, "Subject: rewritten\r\n\r\nz\r\n").unwrap();
    let (items, body) = run(&t, "fetch");
    assert!(items.contains("\"original\""), "{items}");
    assert!(items.ends_with("/ Subject: original / 1"), "{items}");
    assert!(body.starts_with("Subject: rewritten"), "{body}");
    t.stop();
}
