//! Multi-line responses (RFC 1939 §3): every line ends in CRLF, a line that
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

/// The length of the part of `msg` that TOP sends (RFC 1939 §7): the
/// header, the blank line after it, and then `lines` lines of the body.
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
}
