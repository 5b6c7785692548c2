//! The extensions a Sieve script names in its `require` commands, with
//! where each is named. sieve-rs 0.7.3 compiles a `require` of any name,
//! where RFC 5228 3.2 has a script that requires an unsupported extension
//! fail; and it accepts its own `vnd.stalwart.*` extensions, which tern
//! does not offer. So a script that compiled is read once more here: a
//! scan of its tokens (comments, quoted and multi-line strings skipped;
//! RFC 5228 2.3, 2.4.2) for `require` in command position.

/// One required extension: its name and the 1-based line and column of
/// its string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Required {
    pub name: String,
    pub line: usize,
    pub column: usize,
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
    line: usize,
    column: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn starts(&self, s: &[u8]) -> bool {
        self.b[self.i..].starts_with(s)
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.i += 1;
            if c == b'\n' {
                self.line += 1;
                self.column = 1;
            } else if c & 0xC0 != 0x80 {
                // A column counts characters: continuation bytes do not.
                self.column += 1;
            }
        }
    }

    /// Skip white space and comments.
    fn blank(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.bump(),
                Some(b'#') => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.bump();
                    }
                }
                Some(b'/') if self.starts(b"/*") => {
                    self.bump();
                    self.bump();
                    while self.peek().is_some() && !self.starts(b"*/") {
                        self.bump();
                    }
                    self.bump();
                    self.bump();
                }
                _ => return,
            }
        }
    }

    /// A quoted string at `"`, unescaped (RFC 5228 2.4.2).
    fn quoted(&mut self) -> String {
        self.bump();
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.bump();
            match c {
                b'"' => break,
                b'\\' => {
                    if let Some(e) = self.peek() {
                        out.push(e);
                        self.bump();
                    }
                }
                c => out.push(c),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// A multi-line string after `text:`: to the line that is a lone dot.
    fn multiline(&mut self) {
        while self.peek().is_some_and(|c| c != b'\n') {
            self.bump();
        }
        self.bump();
        loop {
            if self.peek().is_none() {
                return;
            }
            let end = self.b[self.i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(self.b.len(), |p| self.i + p);
            let line = &self.b[self.i..end];
            let lone_dot = line == b"." || line == b".\r";
            while self.i < end {
                self.bump();
            }
            self.bump();
            if lone_dot {
                return;
            }
        }
    }

    /// The string or string list after `require`.
    fn requirement(&mut self, out: &mut Vec<Required>) {
        self.blank();
        let list = self.peek() == Some(b'[');
        if list {
            self.bump();
        }
        loop {
            self.blank();
            if self.peek() != Some(b'"') {
                return;
            }
            let (line, column) = (self.line, self.column);
            let name = self.quoted();
            out.push(Required { name, line, column });
            self.blank();
            if !list || self.peek() != Some(b',') {
                return;
            }
            self.bump();
        }
    }
}

/// Every extension `script` requires, in order.
pub(crate) fn required(script: &str) -> Vec<Required> {
    let mut s = Scan {
        b: script.as_bytes(),
        i: 0,
        line: 1,
        column: 1,
    };
    let mut out = Vec::new();
    // Whether the next identifier starts a command.
    let mut command = true;
    loop {
        s.blank();
        let Some(c) = s.peek() else {
            return out;
        };
        match c {
            b'"' => {
                s.quoted();
                command = false;
            }
            b';' | b'{' | b'}' => {
                s.bump();
                command = true;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = s.i;
                while s
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    s.bump();
                }
                let word = &s.b[start..s.i];
                if word.eq_ignore_ascii_case(b"text") && s.peek() == Some(b':') {
                    s.bump();
                    s.multiline();
                } else if command && word.eq_ignore_ascii_case(b"require") {
                    s.requirement(&mut out);
                }
                command = false;
            }
            _ => {
                s.bump();
                command = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(script: &str) -> Vec<(String, usize, usize)> {
        required(script)
            .into_iter()
            .map(|r| (r.name, r.line, r.column))
            .collect()
    }

    #[test]
    fn requirements_and_where_they_are() {
        let got = names(
            "# require \"in a comment\";\r\n/* require \"x\"; */ require [\"fileinto\",\r\n \"im\\ap4flags\"];\r\n\
             if header :is \"subject\" \"require \\\"no\\\"\" { vacation text:\r\nrequire \"in text\";\r\n.\r\n; }\r\nREQUIRE \"envelope\";\r\n",
        );
        assert_eq!(
            got,
            vec![
                ("fileinto".to_string(), 2, 29),
                ("imap4flags".to_string(), 3, 2),
                ("envelope".to_string(), 8, 9),
            ]
        );
        assert_eq!(
            names("keep; require \"copy\";"),
            vec![("copy".to_string(), 1, 15)]
        );
        assert!(names("").is_empty());
        // Unterminated input ends the scan, it does not loop.
        assert_eq!(names("require [\"a"), vec![("a".to_string(), 1, 10)]);
        assert!(names("/* open").is_empty());
        assert!(names("x text:\r\nno end").is_empty());
    }
}
