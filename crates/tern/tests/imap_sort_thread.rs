//! SORT and THREAD (RFC 5256) end to end with Python's imaplib, which has
//! both commands built in.

mod common;

use common::Tern;

const USER: &str = "alice@example.org";
const PASSWORD: &str = "correct horse battery";

/// After `IMAPS_PREAMBLE`; one line per step.
const SCRIPT: &str = r#"
M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
print("caps", " ".join(sorted(c for c in M.capabilities if c.startswith(("SORT", "THREAD")))))
M.login(user, password)
def msg(frm, subject, date, mid, refs=None, body="x"):
    h = "From: %s\r\nTo: alice@example.org\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\n" % (frm, subject, date, mid)
    if refs:
        h += "References: %s\r\n" % " ".join("<%s>" % r for r in refs)
    return (h + "\r\n" + body + "\r\n").encode()
# Appended in this order: sequence numbers 1..6, UIDs 1..6; INTERNALDATE
# a minute apart, in that order.
for i, m in enumerate([
    msg("carol@example.net", "Lunch", "Mon, 3 Mar 2025 12:00:00 +0000", "a"),
    msg("bob@example.net", "Re: Lunch", "Mon, 3 Mar 2025 13:00:00 +0000", "b", ["a"]),
    msg("anna@example.net", "Budget", "Sun, 2 Mar 2025 09:00:00 +0000", "c", body="y" * 500),
    msg("dave@example.net", "Re: Lunch", "Mon, 3 Mar 2025 12:30:00 +0000", "d", ["a"]),
    msg("bob@example.net", "Re: Re: Lunch", "Mon, 3 Mar 2025 14:00:00 +0000", "e", ["a", "b"]),
    msg("erin@example.net", "[list] Fwd: Budget", "Tue, 4 Mar 2025 08:00:00 +0200", "f"),
], start=0):
    M.append("INBOX", None, 1700000000 + 60 * i, m)
M.select("INBOX")
print("date", M.sort("(DATE)", "UTF-8", "ALL")[1][0].decode())
print("revdate", M.sort("(REVERSE DATE)", "UTF-8", "ALL")[1][0].decode())
print("from", M.sort("(FROM DATE)", "UTF-8", "ALL")[1][0].decode())
print("subject", M.sort("(SUBJECT DATE)", "US-ASCII", "ALL")[1][0].decode())
print("size", M.sort("(REVERSE SIZE)", "UTF-8", "ALL")[1][0].decode().split(" ")[0])
print("filtered", M.sort("(DATE)", "UTF-8", "FROM", "bob")[1][0].decode())
print("uid", M.uid("SORT", "(REVERSE ARRIVAL)", "UTF-8", "ALL")[1][0].decode())
print("refs", M.thread("REFERENCES", "UTF-8", "ALL")[1][0].decode())
print("subj", M.thread("ORDEREDSUBJECT", "UTF-8", "ALL")[1][0].decode())
typ, data = M.sort("(DATE)", "KOI8-R", "ALL")
print("charset", typ, data[0].decode().split("]")[0])
try:
    M.thread("NOSUCH", "UTF-8", "ALL")
except imaplib.IMAP4.error as e:
    print("algorithm refused")
M.logout()
"#;

#[test]
fn sort_and_thread_with_imaplib() {
    let mut t = Tern::start(&["imaps"]);
    t.add_user(USER, PASSWORD);
    let out = t.imaps_script(SCRIPT, USER, PASSWORD, &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "caps SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES",
            // Sent dates in UTC; 6 is 06:00Z on the 4th.
            "date 3 1 4 2 5 6",
            "revdate 6 5 2 4 1 3",
            // FROM compares the mailbox (local part): anna, bob, bob, carol…
            "from 3 2 5 1 4 6",
            // Base subjects: BUDGET (3, 6), LUNCH (1 4 2 5).
            "subject 3 6 1 4 2 5",
            "size 3",
            "filtered 2 5",
            "uid 6 5 4 3 2 1",
            // 1 has replies 4 and 2 (by date), 2 has reply 5; "Fwd: Budget"
            // joins the thread of "Budget" by subject.
            "refs (3 6)(1 (4)(2 5))",
            "subj (3 6)(1 (4)(2)(5))",
            "charset NO [BADCHARSET (UTF-8 US-ASCII)",
            "algorithm refused",
        ],
        "{out}"
    );
    t.stop();
}
