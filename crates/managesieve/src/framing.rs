//! Command framing (RFC 5804 4): a command is atoms, quoted strings and
//! literals on one logical line; a literal (`{n+}` CRLF and n octets, or
//! `{n}` read the same way: ManageSieve has no continuation request) ends
//! its physical line, and the command goes on after its octets. Every part
//! is bounded: a line by `max_line`, a quoted string by 1024 octets (RFC
//! 5804 4), a literal by `max_literal`, a command by a few arguments. What
//! is over a bound is skipped, never buffered: an over-long line to its
//! end, an over-large literal octet by octet (the client sends it anyway),
//! then the rest of its command line.
//!
//! The framer is a pure function of the bytes it is given, so the session
//! and the fuzzer drive it the same way.

/// The longest quoted string (RFC 5804 4: `*1024QUOTED-CHAR`).
pub const MAX_QUOTED: usize = 1024;
/// The most arguments a command has (with its name); none takes more
/// than four.
pub const MAX_ARGS: usize = 8;

/// One argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// A command name, a number, a word such as `ACTIVE`.
    Atom(String),
    /// A quoted string or a literal, unescaped; UTF-8 is the reader's check.
    Str(Vec<u8>),
}

/// One framed input.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    Command(Vec<Arg>),
    /// A line longer than the limit; it is skipped to its end.
    TooLong,
    /// Not ManageSieve syntax; the rest of its line was dropped.
    Malformed(&'static str),
    /// A literal over the limit, announced after `args`; its octets and the
    /// rest of its line are skipped as they arrive.
    LiteralTooLarge {
        args: Vec<Arg>,
        size: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Line,
    /// Waiting for a literal's octets.
    Literal(usize),
    /// Skipping an over-large literal's octets, then its line.
    Discard(u64),
    /// Skipping to the next LF.
    SkipLine,
}

#[derive(Debug)]
pub struct Framer {
    max_line: usize,
    max_literal: usize,
    args: Vec<Arg>,
    /// Octets held in `args`.
    held: usize,
    mode: Mode,
}

impl Framer {
    pub fn new(max_line: usize, max_literal: usize) -> Framer {
        Framer {
            max_line: max_line.max(64),
            max_literal,
            args: Vec::new(),
            held: 0,
            mode: Mode::Line,
        }
    }

    /// New bounds, from the next command on (a login raises them, a
    /// logout lowers them).
    pub fn set_limits(&mut self, max_line: usize, max_literal: usize) {
        self.max_line = max_line.max(64);
        self.max_literal = max_literal;
    }

    /// Input buffered but not yet framed may be this large: a literal being
    /// read, or a line.
    pub fn want(&self) -> usize {
        match self.mode {
            Mode::Literal(n) => n,
            _ => self.max_line + 2,
        }
    }

    /// Part of a command has been framed (a literal, or arguments after
    /// one) and the rest is awaited.
    pub fn mid_command(&self) -> bool {
        !self.args.is_empty() || matches!(self.mode, Mode::Literal(_) | Mode::Discard(_))
    }

    /// Forget everything half-read (after STARTTLS, RFC 5804 2.2: nothing
    /// sent before the handshake is taken as a command).
    pub fn reset(&mut self) {
        self.args.clear();
        self.held = 0;
        self.mode = Mode::Line;
    }

    fn take(&mut self) -> Vec<Arg> {
        self.held = 0;
        std::mem::take(&mut self.args)
    }

    /// The next whole frame in `buf` (consumed from its front), if any.
    pub fn next(&mut self, buf: &mut Vec<u8>) -> Option<Frame> {
        loop {
            match self.mode {
                Mode::Discard(n) => {
                    let k = usize::try_from(n).unwrap_or(usize::MAX).min(buf.len());
                    buf.drain(..k);
                    let left = n - k as u64;
                    if left > 0 {
                        self.mode = Mode::Discard(left);
                        return None;
                    }
                    self.mode = Mode::SkipLine;
                }
                Mode::SkipLine => match buf.iter().position(|&b| b == b'\n') {
                    Some(lf) => {
                        buf.drain(..=lf);
                        self.mode = Mode::Line;
                    }
                    None => {
                        buf.clear();
                        return None;
                    }
                },
                Mode::Literal(n) => {
                    if buf.len() < n {
                        return None;
                    }
                    let octets: Vec<u8> = buf.drain(..n).collect();
                    self.args.push(Arg::Str(octets));
                    self.mode = Mode::Line;
                }
                Mode::Line => {
                    let Some(lf) = buf.iter().position(|&b| b == b'\n') else {
                        if buf.len() > self.max_line + 1 {
                            buf.clear();
                            self.take();
                            self.mode = Mode::SkipLine;
                            return Some(Frame::TooLong);
                        }
                        return None;
                    };
                    if lf > self.max_line + 1 {
                        buf.drain(..=lf);
                        self.take();
                        return Some(Frame::TooLong);
                    }
                    let line: Vec<u8> = buf.drain(..=lf).collect();
                    let Some(line) = line.strip_suffix(b"\r\n") else {
                        self.take();
                        return Some(Frame::Malformed("lines end with CRLF"));
                    };
                    let continuing = !self.args.is_empty();
                    match tokenize(line, continuing, &mut self.args, &mut self.held) {
                        Err(m) => {
                            self.take();
                            return Some(Frame::Malformed(m));
                        }
                        Ok(None) => {
                            let args = self.take();
                            if args.is_empty() {
                                return Some(Frame::Malformed("empty command"));
                            }
                            return Some(Frame::Command(args));
                        }
                        Ok(Some(n)) => {
                            let fits = usize::try_from(n).ok().filter(|&n| {
                                n <= self.max_literal
                                    && self.held + n <= self.max_literal + 4 * MAX_QUOTED
                            });
                            match fits {
                                Some(n) => {
                                    self.held += n;
                                    self.mode = Mode::Literal(n);
                                }
                                None => {
                                    self.mode = Mode::Discard(n);
                                    let args = self.take();
                                    return Some(Frame::LiteralTooLarge { args, size: n });
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// RFC 5804 4 ATOM-CHAR: printable ASCII but the specials.
fn atom_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && !b"(){\"\\%*]".contains(&b)
}

/// Append the arguments of one line (without its CRLF) to `args`; the size
/// of the literal that ends it, if one does.
fn tokenize(
    line: &[u8],
    continuing: bool,
    args: &mut Vec<Arg>,
    held: &mut usize,
) -> Result<Option<u64>, &'static str> {
    if line.iter().any(|&b| b == b'\r' || b == 0) {
        return Err("a line holds no CR or NUL");
    }
    if !continuing && line.first() == Some(&b' ') {
        return Err("a command starts with its name");
    }
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b == b' ' {
            i += 1;
            continue;
        }
        if args.len() >= MAX_ARGS {
            return Err("too many arguments");
        }
        if i > 0 && line[i - 1] != b' ' {
            return Err("arguments are separated by spaces");
        }
        match b {
            b'"' => {
                let mut s = Vec::new();
                i += 1;
                loop {
                    let Some(&c) = line.get(i) else {
                        return Err("unterminated quoted string");
                    };
                    i += 1;
                    match c {
                        b'"' => break,
                        b'\\' => match line.get(i) {
                            Some(&e @ (b'"' | b'\\')) => {
                                s.push(e);
                                i += 1;
                            }
                            _ => return Err("only \\\" and \\\\ are escapes"),
                        },
                        c => s.push(c),
                    }
                    if s.len() > MAX_QUOTED {
                        return Err("a quoted string has at most 1024 octets; send a literal");
                    }
                }
                *held += s.len();
                args.push(Arg::Str(s));
            }
            b'{' => {
                let rest = &line[i + 1..];
                let Some(body) = rest.strip_suffix(b"}") else {
                    return Err("a literal ends its line");
                };
                let digits = body.strip_suffix(b"+").unwrap_or(body);
                if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit)
                {
                    return Err("a literal's size is a number");
                }
                let n = digits
                    .iter()
                    .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
                return Ok(Some(n));
            }
            _ => {
                let start = i;
                while i < line.len() && line[i] != b' ' {
                    if !atom_char(line[i]) {
                        return Err("not an atom, a quoted string or a literal");
                    }
                    i += 1;
                }
                let atom = String::from_utf8_lossy(&line[start..i]).into_owned();
                *held += atom.len();
                args.push(Arg::Atom(atom));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], max_line: usize, max_literal: usize) -> Vec<Frame> {
        let mut f = Framer::new(max_line, max_literal);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        // One byte at a time: framing must not depend on read sizes.
        for &b in input {
            buf.push(b);
            while let Some(fr) = f.next(&mut buf) {
                out.push(fr);
            }
            assert!(buf.len() <= f.want() + 1, "buffer grew to {}", buf.len());
        }
        out
    }

    fn atom(s: &str) -> Arg {
        Arg::Atom(s.into())
    }

    fn st(s: &[u8]) -> Arg {
        Arg::Str(s.to_vec())
    }

    #[test]
    fn atoms_quoted_strings_and_literals() {
        let got = frames(
            b"CAPABILITY\r\nputscript \"a \\\"b\\\\\" {5+}\r\nkeep;\r\nRENAMESCRIPT {1}\r\na {1+}\r\nb\r\nHAVESPACE \"x\" 100\r\n",
            100,
            100,
        );
        assert_eq!(
            got,
            vec![
                Frame::Command(vec![atom("CAPABILITY")]),
                Frame::Command(vec![atom("putscript"), st(b"a \"b\\"), st(b"keep;")]),
                Frame::Command(vec![atom("RENAMESCRIPT"), st(b"a"), st(b"b")]),
                Frame::Command(vec![atom("HAVESPACE"), st(b"x"), atom("100")]),
            ]
        );
    }

    /// What the session asks prompt acknowledgements for: the rest of a
    /// command whose literal has begun, not a command line still coming.
    #[test]
    fn a_command_is_mid_way_from_its_literal_to_its_end() {
        let mut f = Framer::new(100, 100);
        let mut buf = b"NOOP".to_vec();
        assert_eq!(f.next(&mut buf), None);
        assert!(!f.mid_command(), "a command line still coming");
        buf.extend_from_slice(b"\r\nPUTSCRIPT \"s\" {10+}\r\nkeep;");
        assert_eq!(f.next(&mut buf), Some(Frame::Command(vec![atom("NOOP")])));
        assert_eq!(f.next(&mut buf), None);
        assert!(f.mid_command(), "in the literal");
        buf.extend_from_slice(b"stop");
        assert_eq!(f.next(&mut buf), None);
        assert!(f.mid_command(), "after it, before the CRLF");
        buf.extend_from_slice(b";\r\n");
        assert_eq!(
            f.next(&mut buf),
            Some(Frame::Command(vec![
                atom("PUTSCRIPT"),
                st(b"s"),
                st(b"keep;stop;")
            ]))
        );
        assert!(!f.mid_command());
    }

    #[test]
    fn malformed_lines_are_refused_and_framing_goes_on() {
        let got = frames(
            b"NOOP\nNOOP \"x\r\n\"a\"b\r\nX {1+} y\r\nX {9999999999999}\r\nX {+}\r\n\r\n \r\nNOOP \"\\n\"\r\nA\0B\r\nLOGOUT\r\n",
            100,
            100,
        );
        assert!(
            matches!(got.last(), Some(Frame::Command(a)) if a == &vec![atom("LOGOUT")]),
            "{got:?}"
        );
        assert_eq!(got.len(), 11, "{got:?}");
        assert!(
            got[..10].iter().all(|f| matches!(f, Frame::Malformed(_))),
            "{got:?}"
        );
    }

    #[test]
    fn over_limits_are_skipped_not_kept() {
        let mut input = b"PUTSCRIPT \"big\" {1000+}\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'#', 1000));
        input.extend_from_slice(b"\r\n");
        input.extend(std::iter::repeat_n(b'a', 500));
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(format!("NOOP \"{}\"\r\n", "q".repeat(1025)).as_bytes());
        input.extend_from_slice(b"LOGOUT\r\n");
        let got = frames(&input, 200, 100);
        assert_eq!(
            got,
            vec![
                Frame::LiteralTooLarge {
                    args: vec![atom("PUTSCRIPT"), st(b"big")],
                    size: 1000
                },
                Frame::TooLong,
                Frame::TooLong,
                Frame::Command(vec![atom("LOGOUT")]),
            ]
        );
    }

    #[test]
    fn too_many_arguments() {
        let got = frames(b"A 1 2 3 4 5 6 7 8 9\r\n", 100, 100);
        assert_eq!(got, vec![Frame::Malformed("too many arguments")]);
    }
}
