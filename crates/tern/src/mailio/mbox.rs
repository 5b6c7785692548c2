//! mbox, read and written (RFC 4155). Reading takes mboxo and mboxrd (a
//! body line `>From ` or `>>From ` loses one `>`) and mboxcl2: a message
//! whose header has a `Content-Length` that ends exactly before the next
//! `From ` line (or the end of the file) has its body taken as it is, with
//! no `From ` quoting. A length that does not end there is ignored and the
//! message read line by line. One message is in memory at a time.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};

/// The largest message read (what SMTP would accept by default too); a
/// longer one is cut there and reported by the caller.
pub const MAX_MESSAGE: usize = 64 << 20;

/// Reads one message after another.
pub struct Reader<R> {
    r: BufReader<R>,
    /// The `From ` line that starts the next message, once read.
    pending: Option<Vec<u8>>,
    /// Bytes consumed so far (progress).
    pub consumed: u64,
    now: i64,
}

/// One message: its bytes (CRLF line ends) and the date of its `From `
/// line.
pub struct Message {
    pub bytes: Vec<u8>,
    pub date: i64,
    /// It was longer than `MAX_MESSAGE` and was cut.
    pub truncated: bool,
}

impl<R: Read + Seek> Reader<R> {
    pub fn new(inner: R, now: i64) -> Reader<R> {
        Reader {
            r: BufReader::with_capacity(64 * 1024, inner),
            pending: None,
            consumed: 0,
            now,
        }
    }

    fn line(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
        buf.clear();
        let n = self.r.read_until(b'\n', buf)?;
        self.consumed += n as u64;
        Ok(n)
    }

    /// The next message, or `None` at the end.
    pub fn next_message(&mut self) -> std::io::Result<Option<Message>> {
        let mut line = Vec::new();
        let from = match self.pending.take() {
            Some(f) => f,
            None => loop {
                // Text before the first From line is not a message.
                if self.line(&mut line)? == 0 {
                    return Ok(None);
                }
                if line.starts_with(b"From ") {
                    break std::mem::take(&mut line);
                }
            },
        };
        let date = from_line_date(&String::from_utf8_lossy(&from)).unwrap_or(self.now);
        let mut m = Message {
            bytes: Vec::new(),
            date,
            truncated: false,
        };
        // The header, line by line, noting Content-Length.
        let mut length = None;
        loop {
            if self.line(&mut line)? == 0 {
                return Ok(Some(m));
            }
            if line.starts_with(b"From ") {
                self.pending = Some(std::mem::take(&mut line));
                return Ok(Some(m));
            }
            let text = trim_eol(&line);
            if let Some(v) = header_value(text, b"content-length:") {
                length = std::str::from_utf8(v)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok());
            }
            push_line(&mut m, text);
            if text.is_empty() {
                break;
            }
        }
        // mboxcl2: the body by its length, when that ends at a From line.
        if let Some(len) = length.filter(|l| *l as usize <= MAX_MESSAGE)
            && self.body_by_length(&mut m, len)?
        {
            return Ok(Some(m));
        }
        // mboxo/mboxrd: line by line to the next From line.
        loop {
            if self.line(&mut line)? == 0 {
                break;
            }
            if line.starts_with(b"From ") {
                self.pending = Some(std::mem::take(&mut line));
                break;
            }
            // mboxrd: one `>` comes off a quoted From line.
            let body = match line.iter().position(|&b| b != b'>') {
                Some(i) if i > 0 && line[i..].starts_with(b"From ") => &line[1..],
                _ => &line[..],
            };
            let text = trim_eol(body).to_vec();
            push_line(&mut m, &text);
        }
        // The blank line before the next From line separates messages; it
        // is not the message's.
        if m.bytes.ends_with(b"\r\n\r\n") {
            m.bytes.truncate(m.bytes.len() - 2);
        }
        Ok(Some(m))
    }

    /// Take `len` bytes as the body if they end at the end of the file or
    /// just before a (blank line and) `From ` line; else leave the reader
    /// where it was and say no.
    fn body_by_length(&mut self, m: &mut Message, len: u64) -> std::io::Result<bool> {
        let start = self.r.stream_position()?;
        let mut body = Vec::new();
        (&mut self.r).take(len).read_to_end(&mut body)?;
        // The next From line must start a line: right after the body's
        // own line end, or after one blank line.
        let at_line_start = body.is_empty() || body.ends_with(b"\n");
        let fits = body.len() as u64 == len && {
            let next = self.r.fill_buf()?;
            next.is_empty()
                || (at_line_start && next.starts_with(b"From "))
                || next.starts_with(b"\nFrom ")
                || next.starts_with(b"\r\nFrom ")
                || next == b"\n"
                || next == b"\r\n"
        };
        if !fits {
            self.r.seek(SeekFrom::Start(start))?;
            return Ok(false);
        }
        self.consumed += len;
        for l in body.split_inclusive(|&b| b == b'\n') {
            push_line(m, trim_eol(l));
        }
        // What is left before the next From line is the separator.
        let mut line = Vec::new();
        loop {
            if self.line(&mut line)? == 0 {
                break;
            }
            if line.starts_with(b"From ") {
                self.pending = Some(line);
                break;
            }
        }
        Ok(true)
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let t = line.strip_suffix(b"\n").unwrap_or(line);
    t.strip_suffix(b"\r").unwrap_or(t)
}

/// The value of header line `text` when its name is `name` (with colon,
/// lower case).
fn header_value<'a>(text: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let head = text.get(..name.len())?;
    head.eq_ignore_ascii_case(name).then(|| &text[name.len()..])
}

fn push_line(m: &mut Message, text: &[u8]) {
    if m.bytes.len() + text.len() + 2 > MAX_MESSAGE {
        m.truncated = true;
        return;
    }
    m.bytes.extend_from_slice(text);
    m.bytes.extend_from_slice(b"\r\n");
}

/// The date of an mbox `From ` line (`From sender Tue Nov 14 22:13:20
/// 2023`, asctime form, UTC), if it has one.
pub fn from_line_date(line: &str) -> Option<i64> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 7 {
        return None;
    }
    let (mon, day, time, year) = (f[3], f[4], f[5], f[6]);
    let month = tern_common::time::MONTHS.iter().position(|m| *m == mon)? as u32 + 1;
    let day: u32 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (
        hms.next()??,
        hms.next()??,
        hms.next().flatten().unwrap_or(0),
    );
    let days = tern_common::time::days_from_civil(year, month, day);
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

/// One mboxrd message: the `From ` line, every `>*From ` line quoted
/// once more, a blank line after.
pub fn write_message(w: &mut impl Write, bytes: &[u8], date: i64) -> std::io::Result<()> {
    let c = tern_common::time::civil(date);
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    writeln!(
        w,
        "From MAILER-DAEMON {} {} {:2} {:02}:{:02}:{:02} {}",
        DAYS[c.weekday as usize],
        tern_common::time::MONTHS[c.month as usize - 1],
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.year
    )?;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let text = trim_eol(line);
        let quoted = text
            .iter()
            .position(|&b| b != b'>')
            .is_some_and(|i| text[i..].starts_with(b"From "));
        if quoted {
            w.write_all(b">")?;
        }
        w.write_all(text)?;
        w.write_all(b"\n")?;
    }
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str) -> Vec<String> {
        let mut r = Reader::new(std::io::Cursor::new(text.as_bytes().to_vec()), 0);
        let mut out = Vec::new();
        while let Some(m) = r.next_message().unwrap() {
            out.push(String::from_utf8(m.bytes).unwrap());
        }
        assert_eq!(r.consumed, text.len() as u64);
        out
    }

    #[test]
    fn mboxrd_unquotes_and_mboxcl2_takes_the_body_by_length() {
        let rd = "preamble\nFrom a Tue Nov 14 22:13:20 2023\nSubject: 1\n\n>From here\nbody\n\nFrom b Tue Nov 14 22:13:20 2023\nSubject: 2\n\nx\n";
        assert_eq!(
            read_all(rd),
            [
                "Subject: 1\r\n\r\nFrom here\r\nbody\r\n",
                "Subject: 2\r\n\r\nx\r\n"
            ]
        );
        // mboxcl2: an unquoted From line inside the body stays in it.
        let cl2 = "From a Tue Nov 14 22:13:20 2023\nSubject: 1\nContent-Length: 20\n\nFrom the start\nbody\n\nFrom b Tue Nov 14 22:13:20 2023\nSubject: 2\nContent-Length: 2\n\nx\n";
        assert_eq!(
            read_all(cl2),
            [
                "Subject: 1\r\nContent-Length: 20\r\n\r\nFrom the start\r\nbody\r\n",
                "Subject: 2\r\nContent-Length: 2\r\n\r\nx\r\n"
            ]
        );
        // A length that does not end at a From line is not believed.
        let wrong = "From a Tue Nov 14 22:13:20 2023\nContent-Length: 3\n\nhello\n\nFrom b Tue Nov 14 22:13:20 2023\n\ny\n";
        assert_eq!(
            read_all(wrong),
            ["Content-Length: 3\r\n\r\nhello\r\n", "\r\ny\r\n"]
        );
    }

    #[test]
    fn from_line_dates() {
        assert_eq!(
            from_line_date("From a@b.example Tue Nov 14 22:13:20 2023"),
            Some(1_700_000_000)
        );
        assert_eq!(from_line_date("From a@b.example"), None);
    }

    #[test]
    fn hostile_lengths_and_lines_are_read_within_bounds() {
        // A length far past the file, one past the limit, a negative one,
        // a line with no end, NUL bytes: each message is read, none is
        // believed beyond what ends at a From line.
        let text = "From a Tue Nov 14 22:13:20 2023\nContent-Length: 99999999999999999999\n\nx\n\n\
                    From b Tue Nov 14 22:13:20 2023\nContent-Length: 67108865\n\ny\n\n\
                    From c Tue Nov 14 22:13:20 2023\nContent-Length: -5\n\n\0z\n\n\
                    From d Tue Nov 14 22:13:20 2023\n\nno line end";
        let got = read_all(text);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(got[2].contains("\0z"), "{got:?}");
        assert!(got[3].ends_with("no line end\r\n"), "{got:?}");
    }

    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;

    const PIECES: &[&str] = &[
        "From a@b Tue Nov 14 22:13:20 2023\n",
        "From \n",
        ">From x\n",
        ">>From x\n",
        "Subject: s\n",
        "Content-Length: 0\n",
        "Content-Length: 5\n",
        "Content-Length: 18446744073709551616\n",
        "content-length:3\n",
        "\n",
        "\r\n",
        "body\n",
        "\0",
        "\u{feff}",
        "From",
        "x",
    ];

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2000,
            rng_seed: RngSeed::Fixed(20_261_130),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Seeded fuzzing on stable: any mix of mbox pieces is read to
        /// the end without a panic, every byte accounted for, and never
        /// more messages than From lines.
        #[test]
        fn any_mbox_is_read_to_the_end(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..200)
        ) {
            let text: String = pieces.concat();
            let from_lines = text.split('\n').filter(|l| l.starts_with("From ")).count();
            let mut r = Reader::new(std::io::Cursor::new(text.clone().into_bytes()), 0);
            let mut n = 0;
            while let Some(m) = r.next_message().unwrap() {
                prop_assert!(m.bytes.len() <= MAX_MESSAGE);
                n += 1;
                prop_assert!(n <= from_lines);
            }
            prop_assert_eq!(r.consumed, text.len() as u64);
        }
    }
}
