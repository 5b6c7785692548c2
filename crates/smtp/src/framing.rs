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

/// Check a BDAT chunk with the same rules (RFC 3030 with 7BIT/8BITMIME
/// bodies is CRLF-lined too). `prev_cr` carries a CR that ended the last chunk.
pub fn check_chunk(chunk: &[u8], prev_cr: bool) -> Result<bool, FrameError> {
    let mut cr = prev_cr;
    for &b in chunk {
        match b {
            0 => return Err(FrameError::Nul),
            b'\n' if !cr => return Err(FrameError::BareLineEnding),
            _ if cr && b != b'\n' => return Err(FrameError::BareLineEnding),
            _ => {}
        }
        cr = b == b'\r';
    }
    Ok(cr)
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
        assert_eq!(check_chunk(b"a\r\nb\r", false), Ok(true));
        assert_eq!(check_chunk(b"\nc", true), Ok(false));
        assert_eq!(check_chunk(b"x", true), Err(FrameError::BareLineEnding));
        assert_eq!(check_chunk(b"a\nb", false), Err(FrameError::BareLineEnding));
        assert_eq!(check_chunk(b"a\0", false), Err(FrameError::Nul));
    }
}
