//! Strict line framing (RFC 5321 2.3.8): only CRLF ends a line. A bare CR,
//! a bare LF or a NUL anywhere is an error that ends the session — never
//! "repaired", because repairing is exactly what SMTP smuggling exploits.

/// Why a line could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// A CR not followed by LF, or an LF not preceded by CR.
    BareLineEnding,
    Nul,
    /// Longer than the limit (without CRLF).
    TooLong,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FrameError::BareLineEnding => "bare CR or LF",
            FrameError::Nul => "NUL octet",
            FrameError::TooLong => "line too long",
        })
    }
}

/// Take one complete line (without its CRLF) from the front of `buf`.
/// `Ok(None)` means more bytes are needed; a partial line longer than
/// `max` is already an error, so memory stays bounded.
pub fn take_line(buf: &mut Vec<u8>, max: usize) -> Result<Option<Vec<u8>>, FrameError> {
    for (i, &b) in buf.iter().enumerate() {
        match b {
            0 => return Err(FrameError::Nul),
            b'\n' => return Err(FrameError::BareLineEnding),
            b'\r' => {
                return match buf.get(i + 1) {
                    None => {
                        if i > max {
                            Err(FrameError::TooLong)
                        } else {
                            Ok(None)
                        }
                    }
                    Some(b'\n') => {
                        if i > max {
                            return Err(FrameError::TooLong);
                        }
                        let line = buf[..i].to_vec();
                        buf.drain(..i + 2);
                        Ok(Some(line))
                    }
                    Some(_) => Err(FrameError::BareLineEnding),
                };
            }
            _ => {}
        }
        if i >= max {
            return Err(FrameError::TooLong);
        }
    }
    Ok(None)
}

/// Where a BDAT body stands between chunks: a CR that ended the last
/// chunk (half a CRLF) and the length of the line in progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkState {
    pub cr: bool,
    pub line: usize,
}

/// Check a BDAT chunk with the same rules as DATA (RFC 3030 with 7BIT or
/// 8BITMIME bodies is CRLF-lined too): no bare CR or LF, no NUL, and no
/// line longer than `max` octets without its CRLF (BDAT has no dot-stuffing).
pub fn check_chunk(chunk: &[u8], state: &mut ChunkState, max: usize) -> Result<(), FrameError> {
    for &b in chunk {
        match b {
            0 => return Err(FrameError::Nul),
            b'\n' if !state.cr => return Err(FrameError::BareLineEnding),
            b'\n' => state.line = 0,
            _ if state.cr => return Err(FrameError::BareLineEnding),
            b'\r' => {}
            _ => {
                state.line += 1;
                if state.line > max {
                    return Err(FrameError::TooLong);
                }
            }
        }
        state.cr = b == b'\r';
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let mut b = b"EHLO x\r\nNOOP\r\nPART".to_vec();
        assert_eq!(take_line(&mut b, 512).unwrap().unwrap(), b"EHLO x");
        assert_eq!(take_line(&mut b, 512).unwrap().unwrap(), b"NOOP");
        assert_eq!(take_line(&mut b, 512).unwrap(), None);
        assert_eq!(b, b"PART");
    }

    #[test]
    fn smuggling_shapes_are_errors() {
        for bad in [
            &b"a\nb\r\n"[..],
            b"a\rb\r\n",
            b"a\0\r\n",
            b".\n",
            b"\r.\r\n",
        ] {
            let mut b = bad.to_vec();
            assert!(take_line(&mut b, 512).is_err(), "{bad:?}");
        }
        let mut b = b"abc\r".to_vec();
        assert_eq!(
            take_line(&mut b, 512).unwrap(),
            None,
            "CR at the end may be half a CRLF"
        );
    }

    #[test]
    fn long_lines_are_bounded() {
        let mut b = vec![b'a'; 600];
        assert_eq!(take_line(&mut b, 512), Err(FrameError::TooLong));
        let mut ok = vec![b'a'; 512];
        ok.extend_from_slice(b"\r\n");
        assert!(take_line(&mut ok, 512).unwrap().is_some());
    }

    #[test]
    fn chunks() {
        let check = |c: &[u8], cr: bool| {
            let mut st = ChunkState { cr, line: 0 };
            check_chunk(c, &mut st, 998).map(|_| st.cr)
        };
        assert_eq!(check(b"a\r\nb\r", false), Ok(true));
        assert_eq!(check(b"\nc", true), Ok(false));
        assert_eq!(check(b"x", true), Err(FrameError::BareLineEnding));
        assert_eq!(check(b"a\nb", false), Err(FrameError::BareLineEnding));
        assert_eq!(check(b"a\0", false), Err(FrameError::Nul));
        assert_eq!(check(b"\r\r\n", false), Err(FrameError::BareLineEnding));
    }

    #[test]
    fn chunk_lines_are_bounded_across_chunks() {
        let mut st = ChunkState::default();
        assert_eq!(check_chunk(&[b'a'; 6], &mut st, 10), Ok(()));
        assert_eq!(check_chunk(&[b'a'; 4], &mut st, 10), Ok(()));
        assert_eq!(check_chunk(b"\r\n", &mut st, 10), Ok(()));
        assert_eq!(check_chunk(&[b'a'; 10], &mut st, 10), Ok(()));
        assert_eq!(check_chunk(b"a", &mut st, 10), Err(FrameError::TooLong));
    }
}
