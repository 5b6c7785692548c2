//! BINARY (RFC 3516) end to end: content-transfer-encodings undone by the
//! server, BINARY.SIZE, partial fetches, literal8 both ways (APPEND of a
//! message with NUL octets, and a FETCH answer carrying them), and
//! NO [UNKNOWN-CTE].

mod common;

use common::Tern;

const USER: &str = "alice@example.org";
const PASSWORD: &str = "correct horse battery";

/// After `IMAPS_PREAMBLE`; one line per step.
const SCRIPT: &str = include_str!("scripts/imap_binary_script.py");

#[test]
fn binary_fetch_and_literal8() {
    let mut t = Tern::start(&["imaps"]);
    t.add_user(USER, PASSWORD);
    let out = t.imaps_script(SCRIPT, USER, PASSWORD, &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "cap True",
            "qp OK 1 (BINARY[1] {7} grüße  BINARY.SIZE[1] 7)",
            "b64 OK 1 (BINARY[2] ~{6} [0, 1, 2, 3, 0, 255]",
            "partial 1 (BINARY[2]<1> {3} [1, 2, 3]",
            // The session that selects first sees the messages as recent.
            "unseen 1 (FLAGS (\\Recent))",
            "unknown NO [UNKNOWN-CTE]",
            "seen 1 (FLAGS (\\Recent \\Seen))",
            "append8 OK",
            "fetch8 * 2 FETCH (BINARY[1] ~{11} True",
        ],
        "{out}"
    );
    t.stop();
}
