//! SORT and THREAD (RFC 5256) end to end with Python's imaplib, which has
//! both commands built in.

mod common;

use common::Tern;

const USER: &str = "alice@example.org";
const PASSWORD: &str = "correct horse battery";

/// After `IMAPS_PREAMBLE`; one line per step.
const SCRIPT: &str = include_str!("scripts/imap_sort_thread_script.py");

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
