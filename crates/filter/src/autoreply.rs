//! Whether a message may be answered automatically (RFC 3834 2, RFC 5230
//! 4.5): not when it says it was itself automatic (`Auto-Submitted` other
//! than `no`), comes from a list (`List-*`, `Precedence: list|bulk|junk`),
//! or asks for no replies (`X-Auto-Response-Suppress: All|OOF`). Read from
//! the raw header section, every instance of every field — sieve-rs reads
//! a parsed view that may keep one.

/// The header section's fields as (name, unfolded value).
fn fields(message: &[u8]) -> Vec<(String, String)> {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(message.len(), |p| p + 2);
    let text = String::from_utf8_lossy(&message[..end]);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    out
}

/// RFC 3834 / RFC 5230: may this message get an automatic reply?
pub fn may_auto_reply(message: &[u8]) -> bool {
    for (name, value) in fields(message) {
        let v = value.to_ascii_lowercase();
        let refused = match name.as_str() {
            "auto-submitted" => v.split(';').next().is_none_or(|k| k.trim() != "no"),
            "precedence" => matches!(v.trim(), "bulk" | "list" | "junk"),
            "x-auto-response-suppress" => v.split(',').any(|k| matches!(k.trim(), "all" | "oof")),
            n => n.starts_with("list-") || n == "x-mailing-list",
        };
        if refused {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::may_auto_reply;

    #[test]
    fn automatic_and_list_mail_gets_no_reply() {
        let ok = b"From: a@b.example\r\nSubject: hi\r\nAuto-Submitted: no\r\n\r\nList-Id: in the body\r\n";
        assert!(may_auto_reply(ok));
        for field in [
            "Auto-Submitted: auto-generated",
            "auto-submitted: Auto-Replied; owner-email=x@y",
            "Precedence: bulk",
            "PRECEDENCE: list",
            "List-Id: <rust.lists.example>",
            "List-Unsubscribe:\r\n <mailto:u@x.example>",
            "X-Auto-Response-Suppress: DR, OOF",
        ] {
            let m = format!("From: a@b.example\r\nAuto-Submitted: no\r\n{field}\r\n\r\nbody\r\n");
            assert!(!may_auto_reply(m.as_bytes()), "{field}");
        }
    }
}
