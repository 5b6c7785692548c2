//! The one id an admin follows a message by, from the SMTP reply
//! ("queued as …") through the queue to each delivery attempt. The SMTP
//! session chooses it and writes it into its trace field (RFC 5321 4.4,
//! `Received: … by <host> (tern) … id <id>`), which travels with the queued
//! bytes; the queue reads it back from there, so the id needs no column of
//! its own. Rule: the id is read only from the topmost Received field, and
//! only when tern wrote it; anything else is named by its queue row.

/// A new message id: 12 upper-case hex digits.
pub fn new() -> String {
    format!("{:012X}", rand::random::<u64>() & 0xFFFF_FFFF_FFFF)
}

/// The id of a queued message: the one in its own trace field, or `Q<row>`
/// for a message tern did not receive over SMTP (a DSN, a report).
pub fn of(data: &[u8], row: i64) -> String {
    from_trace(data).unwrap_or_else(|| format!("Q{row}"))
}

/// The id in the topmost Received field, when tern wrote it.
fn from_trace(data: &[u8]) -> Option<String> {
    let field = topmost_received(data)?;
    if !field.contains("(tern)") {
        return None;
    }
    let (_, rest) = field.split_once(" id ")?;
    let id: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    (id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit())).then_some(id)
}

/// The first Received field of the header section, unfolded (RFC 5322
/// 2.2.3); bounded by the header section, which ends at the first empty line.
fn topmost_received(data: &[u8]) -> Option<String> {
    let mut field: Option<String> = None;
    for line in data.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = String::from_utf8_lossy(line);
        if let Some(f) = field.as_mut() {
            if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                f.push(' ');
                f.push_str(text.trim());
                continue;
            }
            return field;
        }
        if line.is_empty() {
            return None;
        }
        if text
            .get(..9)
            .is_some_and(|p| p.eq_ignore_ascii_case("received:"))
        {
            field = Some(text.to_string());
        }
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_comes_from_tern_s_own_trace_field() {
        let m = b"ARC-Seal: i=1\r\nReceived: from a ([192.0.2.1])\r\n\tby mx.example (tern) with ESMTPS\r\n\t(version=TLSv1.3 cipher=X) id 2F8DFA67266B\r\n\tfor <b@example.org>;\r\n\tMon, 1 Jan 2024 00:00:00 +0000\r\nReceived: by other id 000000000001;\r\n\r\nbody\r\n";
        assert_eq!(of(m, 7), "2F8DFA67266B");
    }

    #[test]
    fn a_message_tern_did_not_receive_is_named_by_its_row() {
        // No trace field at all (a DSN tern wrote itself).
        assert_eq!(
            of(b"From: a@b\r\n\r\nReceived: (tern) id 2F8DFA67266B\r\n", 3),
            "Q3"
        );
        // The topmost trace field is another server's.
        assert_eq!(
            of(
                b"Received: by mx.other (Postfix) id 2F8DFA67266B;\r\n\r\n",
                4
            ),
            "Q4"
        );
        // An id of the wrong shape is not taken.
        assert_eq!(of(b"Received: by mx (tern) id nothex;\r\n\r\n", 5), "Q5");
    }

    #[test]
    fn new_ids_have_the_shape_the_reader_accepts() {
        let id = new();
        let m = format!("Received: by mx (tern) with ESMTP id {id};\r\n\r\n");
        assert_eq!(of(m.as_bytes(), 1), id);
    }
}
