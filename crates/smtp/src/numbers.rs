//! Sizes in command lines, read exactly: the BDAT chunk-size (RFC 3030 2)
//! and the MAIL parameter SIZE= (RFC 1870 3). The command parser saturates
//! (and past its maximum starts again from the next digit), so a size too
//! big for a machine word could pass as a small one. Every size is taken
//! here first; one that does not fit in 64 bits is "too big", never
//! wrapped, clamped or guessed.

/// A size as the client wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// 1*DIGIT that fits in 64 bits.
    Octets(u64),
    /// 1*DIGIT beyond 64 bits: larger than any limit.
    TooBig,
    /// Not 1*DIGIT; the command parser's syntax error applies.
    Malformed,
}

fn digits(s: &[u8]) -> Size {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return Size::Malformed;
    }
    s.iter()
        .try_fold(0u64, |n, d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .map_or(Size::TooBig, Size::Octets)
}

fn verb_is(line: &[u8], verb: &[u8]) -> bool {
    line.len() >= verb.len()
        && line[..verb.len()].eq_ignore_ascii_case(verb)
        && line.get(verb.len()).is_none_or(|b| *b == b' ')
}

/// The chunk-size of a `BDAT` line; `None` for any other command.
pub fn bdat_size(line: &[u8]) -> Option<Size> {
    if !verb_is(line, b"BDAT") {
        return None;
    }
    let arg = line[4..].split(|b| *b == b' ').find(|t| !t.is_empty());
    Some(arg.map_or(Size::Malformed, digits))
}

/// The SIZE= parameter of a `MAIL` line, when it has one. Given more than
/// once (Python's smtplib adds its own to the caller's), the largest
/// counts: no declaration past the limit slips through behind a small one.
pub fn mail_size(line: &[u8]) -> Option<Size> {
    if !verb_is(line, b"MAIL") {
        return None;
    }
    // Parameters follow the reverse-path's closing angle bracket.
    let params = match line.iter().rposition(|b| *b == b'>') {
        Some(p) => &line[p + 1..],
        None => &line[4..],
    };
    params
        .split(|b| *b == b' ')
        .filter(|t| t.len() >= 5 && t[..5].eq_ignore_ascii_case(b"SIZE="))
        .map(|t| digits(&t[5..]))
        .reduce(larger)
}

/// The larger of two sizes: past 64 bits beats any number, a number beats
/// a malformed value (which the command parser refuses on its own).
fn larger(a: Size, b: Size) -> Size {
    match (a, b) {
        (Size::TooBig, _) | (_, Size::TooBig) => Size::TooBig,
        (Size::Octets(x), Size::Octets(y)) => Size::Octets(x.max(y)),
        (Size::Octets(x), Size::Malformed) | (Size::Malformed, Size::Octets(x)) => Size::Octets(x),
        (Size::Malformed, Size::Malformed) => Size::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bdat_sizes_are_exact() {
        assert_eq!(bdat_size(b"BDAT 0 LAST"), Some(Size::Octets(0)));
        assert_eq!(bdat_size(b"bdat 123456"), Some(Size::Octets(123_456)));
        assert_eq!(
            bdat_size(b"BDAT 18446744073709551615"),
            Some(Size::Octets(u64::MAX))
        );
        // One past 64 bits, and far past it: both too big, never saturated.
        assert_eq!(bdat_size(b"BDAT 18446744073709551616"), Some(Size::TooBig));
        assert_eq!(
            bdat_size(b"BDAT 99999999999999999999999"),
            Some(Size::TooBig)
        );
        assert_eq!(bdat_size(b"BDAT x LAST"), Some(Size::Malformed));
        assert_eq!(bdat_size(b"BDAT"), Some(Size::Malformed));
        assert_eq!(bdat_size(b"BDATX 1"), None, "another verb");
        assert_eq!(bdat_size(b"NOOP 1"), None);
    }

    #[test]
    fn mail_sizes_are_exact() {
        assert_eq!(
            mail_size(b"MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME"),
            Some(Size::Octets(1000))
        );
        assert_eq!(mail_size(b"MAIL FROM:<a@b.example>"), None);
        // What the command parser would restart from the next digit.
        assert_eq!(
            mail_size(b"mail from:<a@b.example> size=1844674407370955161500"),
            Some(Size::TooBig)
        );
        assert_eq!(
            mail_size(b"MAIL FROM:<a@b.example> SIZE=-1"),
            Some(Size::Malformed)
        );
        // Twice: the larger one counts, whichever comes first.
        assert_eq!(
            mail_size(b"MAIL FROM:<a@b.example> size=100 SIZE=999999999999"),
            Some(Size::Octets(999_999_999_999))
        );
        assert_eq!(
            mail_size(b"MAIL FROM:<a@b.example> SIZE=99999999999999999999999 SIZE=1"),
            Some(Size::TooBig)
        );
    }
}
