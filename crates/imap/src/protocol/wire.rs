//! Writing IMAP data: strings (atom, quoted or literal), flag lists, dates.

/// An `nstring`/`astring` as a quoted string when it can be one, else a
/// literal (RFC 9051 4.3).
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    let quotable = s.len() < 1024
        && s.iter()
            .all(|&b| b != b'\r' && b != b'\n' && b != 0 && b < 0x80);
    quoted_or_literal(out, s, quotable);
}

/// The same for IMAP4rev2 and UTF8=ACCEPT sessions, where a quoted string
/// may carry UTF-8 (RFC 9051 4.3, RFC 6855 3).
pub fn utf8_string(out: &mut Vec<u8>, s: &[u8]) {
    let quotable = s.len() < 1024
        && std::str::from_utf8(s).is_ok()
        && s.iter().all(|&b| b != b'\r' && b != b'\n' && b != 0);
    quoted_or_literal(out, s, quotable);
}

fn quoted_or_literal(out: &mut Vec<u8>, s: &[u8], quotable: bool) {
    if !quotable {
        return literal(out, s);
    }
    out.push(b'"');
    for &b in s {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

pub fn literal(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s);
}

/// A literal that may carry NUL (RFC 3516 4.3: literal8, `~{n}`); a plain
/// literal when the data has none, which every client reads.
pub fn literal8(out: &mut Vec<u8>, s: &[u8]) {
    if s.contains(&0) {
        out.push(b'~');
    }
    literal(out, s);
}

pub fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// Ascending numbers as a sequence set: `1:3,5,7:8`.
pub fn sequence_set(nums: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < nums.len() {
        let start = nums[i];
        let mut end = start;
        while i + 1 < nums.len() && nums[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = nums[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// `(\Seen $Junk …)`.
pub fn flag_list(flags: &[String]) -> String {
    format!("({})", flags.join(" "))
}

/// RFC 9051 `date-time`: `"02-Jan-2006 15:04:05 +0000"`, in the zone
/// `zone` (minutes east of UTC) the date was given in.
pub fn internal_date(secs: i64, zone: i32) -> String {
    // RFC 9051 9 `zone`: +hhmm; an offset of a day or more is not one.
    let zone = if zone.abs() < 24 * 60 { zone } else { 0 };
    let c = tern_common::time::civil(secs.saturating_add(i64::from(zone) * 60));
    if !(0..=9999).contains(&c.year) {
        return "\"01-Jan-1970 00:00:00 +0000\"".into();
    }
    let sign = if zone < 0 { '-' } else { '+' };
    let z = zone.unsigned_abs();
    format!(
        "\"{:02}-{}-{:04} {:02}:{:02}:{:02} {sign}{:02}{:02}\"",
        c.day,
        tern_common::time::MONTHS[c.month as usize - 1],
        c.year,
        c.hour,
        c.minute,
        c.second,
        z / 60,
        z % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings() {
        let mut o = Vec::new();
        string(&mut o, b"a \"b\" \\c");
        assert_eq!(o, b"\"a \\\"b\\\" \\\\c\"");
        let mut o = Vec::new();
        string(&mut o, "é".as_bytes());
        assert_eq!(o, "{2}\r\né".as_bytes());
        assert_eq!(internal_date(0, 0), "\"01-Jan-1970 00:00:00 +0000\"");
        assert_eq!(
            internal_date(1_704_103_200, -300),
            "\"01-Jan-2024 05:00:00 -0500\""
        );
        assert_eq!(
            internal_date(1_704_103_200, 330),
            "\"01-Jan-2024 15:30:00 +0530\""
        );
        assert_eq!(sequence_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(sequence_set(&[]), "");
    }
}
