//! COMPRESS=DEFLATE (RFC 4978) end to end: Python's zlib speaks raw
//! DEFLATE to a real `tern serve` over 993. Every reply must be decodable
//! as soon as it is sent — in particular an IDLE update pushed by a
//! delivery over SMTP, which nothing else would flush.

mod common;

use common::{Tern, python};

const USER: &str = "alice@example.org";
const PASSWORD: &str = "correct horse battery";

/// argv: IMAPS_PORT SMTP_PORT CAFILE USER PASSWORD; one line per step.
const SCRIPT: &str = include_str!("scripts/imap_compress_script.py");

#[test]
fn deflate_both_ways_with_idle_push() {
    let mut t = Tern::start_with(
        &["imaps", "smtp"],
        "[checks]\ntrusted_networks = [\"127.0.0.0/8\"]\n",
    );
    t.add_user(USER, PASSWORD);
    let imaps = t.port("imaps").to_string();
    let smtp = t.port("smtp").to_string();
    let cert = t.cert_path();
    let out = python(
        SCRIPT,
        &[&imaps, &smtp, cert.to_str().unwrap(), USER, PASSWORD],
    );
    let lines: Vec<&str> = out.lines().collect();
    let expect = [
        // Not before login: RFC 4978 makes it an authenticated-state command.
        "early BAD",
        "login OK True",
        "compress b OK DEFLATE active",
        "again c NO [COMPRESSIONACTIVE] DEFLATE is already active",
        "select OK",
        "append OK",
        "fetch OK True",
        "idle + idling",
        "pushed * 2 EXISTS",
        "done OK",
        "logout BYE",
    ];
    assert_eq!(lines, expect, "{out}");
    t.stop();
}
