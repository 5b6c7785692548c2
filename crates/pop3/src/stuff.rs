//! Multi-line responses (RFC 1939 3): every line ends in CRLF, a line that
//! begins with "." gets one more "." in front, and ".CRLF" ends the response.

/// Byte-stuffs a message that may arrive in several chunks.
#[derive(Debug)]
pub struct Stuffer {
    at_line_start: bool,
    prev_cr: bool,
}

impl Default for Stuffer {
    fn default() -> Self {
        Stuffer {
            at_line_start: true,
            prev_cr: false,
        }
    }
}

impl Stuffer {
    /// Append `data`, stuffed, to `out`. A bare LF is sent as CRLF: the
    /// protocol has no other line ending.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<u8>) {
        out.reserve(data.len() + data.len() / 64 + 4);
        for &b in data {
            if self.at_line_start && b == b'.' {
                out.push(b'.');
            }
            if b == b'\n' && !self.prev_cr {
                out.push(b'\r');
            }
            out.push(b);
            self.at_line_start = b == b'\n';
            self.prev_cr = b == b'\r';
        }
    }

    /// End the response: the last line gets its CRLF, then ".CRLF".
    pub fn finish(self, out: &mut Vec<u8>) {
        if !self.at_line_start {
            out.extend_from_slice(if self.prev_cr { b"\n" } else { b"\r\n" });
        }
        out.extend_from_slice(b".\r\n");
    }
}

/// The length of the part of `msg` that TOP sends (RFC 1939 7): the
/// header, the blank line after it, and then `lines` lines of the body.
/// The whole-message form of `TopCut`, kept as its test oracle.
#[cfg(test)]
pub fn top_len(msg: &[u8], lines: u64) -> usize {
    // The end of the header: the first empty line.
    let mut pos = 0;
    let body = loop {
        let Some(lf) = msg[pos..].iter().position(|&b| b == b'\n') else {
            return msg.len(); // no body at all
        };
        let line = &msg[pos..pos + lf];
        pos += lf + 1;
        if line.is_empty() || line == b"\r" {
            break pos;
        }
    };
    let mut end = body;
    for _ in 0..lines {
        if end >= msg.len() {
            break;
        }
        end = match msg[end..].iter().position(|&b| b == b'\n') {
            Some(lf) => end + lf + 1,
            None => msg.len(),
        };
    }
    end
}

/// `top_len` for a message that arrives in chunks: how much of each chunk
/// TOP sends, without holding the message.
#[derive(Debug)]
pub struct TopCut {
    in_header: bool,
    /// Bytes of the current line so far, counted up to 2 (an empty line is
    /// "" or "\r" before its LF).
    line: u8,
    line_is_cr: bool,
    lines_left: u64,
    done: bool,
}

impl TopCut {
    pub fn new(lines: u64) -> TopCut {
        TopCut {
            in_header: true,
            line: 0,
            line_is_cr: false,
            lines_left: lines,
            done: false,
        }
    }

    /// How many bytes of `chunk` belong to the TOP answer; after the cut
    /// point `done()` is true and later chunks are not needed.
    pub fn take(&mut self, chunk: &[u8]) -> usize {
        if self.done {
            return 0;
        }
        for (i, &b) in chunk.iter().enumerate() {
            if b != b'\n' {
                if self.line == 0 {
                    self.line_is_cr = b == b'\r';
                }
                self.line = self.line.saturating_add(1).min(2);
                continue;
            }
            let empty = self.line == 0 || (self.line == 1 && self.line_is_cr);
            self.line = 0;
            if self.in_header {
                if empty {
                    self.in_header = false;
                    if self.lines_left == 0 {
                        self.done = true;
                        return i + 1;
                    }
                }
            } else {
                self.lines_left -= 1;
                if self.lines_left == 0 {
                    self.done = true;
                    return i + 1;
                }
            }
        }
        chunk.len()
    }

    pub fn done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stuff(chunks: &[&[u8]]) -> Vec<u8> {
        let mut s = Stuffer::default();
        let mut out = vec![];
        for c in chunks {
            s.push(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn dots_at_line_start_are_doubled_across_chunks() {
        assert_eq!(
            stuff(&[b".a\r\n..b\r\nc.\r\n."]),
            b"..a\r\n...b\r\nc.\r\n..\r\n.\r\n"
        );
        assert_eq!(stuff(&[b"x\r", b"\n", b".", b"\r\n"]), b"x\r\n..\r\n.\r\n");
        assert_eq!(stuff(&[b""]), b".\r\n");
        assert_eq!(stuff(&[b"a\nb\n"]), b"a\r\nb\r\n.\r\n");
        assert_eq!(stuff(&[b"a\r"]), b"a\r\n.\r\n");
    }

    #[test]
    fn top_takes_header_and_n_body_lines() {
        let m = b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3";
        assert_eq!(&m[..top_len(m, 0)], b"A: 1\r\nB: 2\r\n\r\n");
        assert_eq!(&m[..top_len(m, 2)], b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n");
        assert_eq!(top_len(m, 3), m.len());
        assert_eq!(top_len(m, 99), m.len());
        assert_eq!(top_len(b"A: 1\r\n", 5), 6);
    }

    /// TOP on a message read in chunks cuts exactly where `top_len` cuts
    /// the whole message, however the chunks fall.
    #[test]
    fn top_cut_over_chunks_agrees_with_top_len() {
        let msgs: [&[u8]; 5] = [
            b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3",
            b"A: 1\nB: 2\n\nl1\nl2\n",
            b"A: 1\r\n",
            b"\r\nbody only\r\nx\r\n",
            b"A: 1\r\n\r",
        ];
        for m in msgs {
            for lines in 0..5 {
                for size in 1..=m.len().max(1) {
                    let mut cut = TopCut::new(lines);
                    let mut sent = Vec::new();
                    for c in m.chunks(size) {
                        let n = cut.take(c);
                        sent.extend_from_slice(&c[..n]);
                        if cut.done() {
                            break;
                        }
                    }
                    assert_eq!(
                        sent,
                        &m[..top_len(m, lines)],
                        "{m:?} lines {lines} chunks {size}"
                    );
                }
            }
        }
    }
}
