//! LIST mailbox patterns (RFC 9051 6.3.9): `*` matches any run of
//! characters, `%` any run without the hierarchy delimiter `/`.
//!
//! The rule: matching is linear in the name. The pattern is compiled to a
//! set of positions and the name is read once, carrying the set of
//! positions reachable so far as a bitset (a Thompson NFA simulation), so
//! the cost is `len(name) × len(pattern) / 64` words whatever the pattern;
//! a recursive matcher is exponential in the number of wildcards. Backing
//! up only to the last `*` is not enough once `%` is involved: `a*b%c`
//! matches `ab/bc` only by going back past the `%` to the `*`.

use std::collections::HashMap;

/// The longest pattern LIST accepts, in bytes, reference included: four
/// times the longest mailbox name, more than any client sends.
pub const MAX_PATTERN: usize = 4 * crate::names::MAX_NAME;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `*`
    Any,
    /// `%`
    Level,
}

/// A compiled pattern: for position `j`, the token to match there; the
/// pattern matches when position `len` is reached at the end of the name.
#[derive(Debug)]
pub struct Pattern {
    len: usize,
    /// Positions holding `*` or `%` (they may match nothing).
    wild: Bits,
    /// Positions holding `*`.
    any: Bits,
    /// Positions holding `%`.
    level: Bits,
    /// For each literal character, the positions holding it.
    chars: HashMap<char, Bits>,
}

impl Pattern {
    pub fn new(pattern: &str) -> Pattern {
        let tokens = tokens(pattern);
        let len = tokens.len();
        let mut p = Pattern {
            len,
            wild: Bits::new(len + 1),
            any: Bits::new(len + 1),
            level: Bits::new(len + 1),
            chars: HashMap::new(),
        };
        for (j, t) in tokens.into_iter().enumerate() {
            match t {
                Token::Any => {
                    p.any.set(j);
                    p.wild.set(j);
                }
                Token::Level => {
                    p.level.set(j);
                    p.wild.set(j);
                }
                Token::Char(c) => p
                    .chars
                    .entry(c)
                    .or_insert_with(|| Bits::new(len + 1))
                    .set(j),
            }
        }
        p
    }

    pub fn matches(&self, name: &str) -> bool {
        let mut state = Bits::new(self.len + 1);
        state.set(0);
        self.close(&mut state);
        let mut next = Bits::new(self.len + 1);
        for c in name.chars() {
            next.clear();
            // A literal moves one position on; `*` stays; `%` stays unless
            // the character is the delimiter.
            if let Some(at) = self.chars.get(&c) {
                next.or_shifted_and(&state, at);
            }
            next.or_and(&state, &self.any);
            if c != '/' {
                next.or_and(&state, &self.level);
            }
            if next.is_empty() {
                return false;
            }
            self.close(&mut next);
            std::mem::swap(&mut state, &mut next);
        }
        state.get(self.len)
    }

    /// Wildcards may match nothing: from a wildcard position the next one
    /// is reachable too. Runs of wildcards are collapsed in `tokens`, so
    /// one step reaches everything.
    fn close(&self, state: &mut Bits) {
        let snapshot = state.clone();
        state.or_shifted_and(&snapshot, &self.wild);
    }
}

/// The pattern's tokens, each run of wildcards made one: `*` if the run
/// holds one, else `%` (`%*` and `**` match what `*` does, `%%` what `%`
/// does).
fn tokens(pattern: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    for c in pattern.chars() {
        let t = match c {
            '*' => Token::Any,
            '%' => Token::Level,
            c => Token::Char(c),
        };
        match (out.last_mut(), t) {
            (Some(last @ Token::Level), Token::Any) => *last = Token::Any,
            (Some(Token::Any | Token::Level), Token::Any | Token::Level) => {}
            _ => out.push(t),
        }
    }
    out
}

/// A fixed-size set of positions.
#[derive(Debug, Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }

    fn set(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    fn get(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn clear(&mut self) {
        self.0.iter_mut().for_each(|w| *w = 0);
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// `self |= a & b`
    fn or_and(&mut self, a: &Bits, b: &Bits) {
        for ((o, x), y) in self.0.iter_mut().zip(&a.0).zip(&b.0) {
            *o |= x & y;
        }
    }

    /// `self |= (a & b) << 1`
    fn or_shifted_and(&mut self, a: &Bits, b: &Bits) {
        let mut carry = 0;
        for ((o, x), y) in self.0.iter_mut().zip(&a.0).zip(&b.0) {
            let w = x & y;
            *o |= (w << 1) | carry;
            carry = w >> 63;
        }
    }
}

/// `pattern` with a leading `inbox` in any case written `INBOX` when the
/// name starts with INBOX.
pub fn inbox_cased(pattern: &str, name: &str) -> String {
    let mut p = pattern.to_string();
    if name.starts_with("INBOX")
        && p.get(..5)
            .is_some_and(|head| head.eq_ignore_ascii_case("INBOX"))
    {
        p.replace_range(..5, "INBOX");
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recursive matcher tern used before, exponential in the number
    /// of wildcards; kept here only as the oracle for small inputs.
    fn oracle(pattern: &[char], name: &[char]) -> bool {
        match pattern.split_first() {
            None => name.is_empty(),
            Some(('*', rest)) => (0..=name.len()).any(|i| oracle(rest, &name[i..])),
            Some(('%', rest)) => (0..=name.len())
                .take_while(|&i| i == 0 || name[i - 1] != '/')
                .any(|i| oracle(rest, &name[i..])),
            Some((c, rest)) => name.first() == Some(c) && oracle(rest, &name[1..]),
        }
    }

    /// INBOX is case-insensitive (RFC 9051 5.1), as a name and as the
    /// first level of one; `list.rs` compiles both forms once per LIST.
    fn list_match(pattern: &str, name: &str) -> bool {
        Pattern::new(&inbox_cased(pattern, name)).matches(name)
    }

    fn m(p: &str, n: &str) -> bool {
        Pattern::new(p).matches(n)
    }

    #[test]
    fn wildcards_follow_rfc_9051() {
        let cases = [
            ("*", "a/b", true),
            ("%", "a", true),
            // `%` stops at the delimiter.
            ("%", "a/b", false),
            ("a/%", "a/b", true),
            ("a/%", "a/b/c", false),
            ("a/*", "a/b/c", true),
            ("a", "ab", false),
            ("", "", true),
            ("", "a", false),
            ("%", "", true),
            // Going back past a `%` to an earlier `*`.
            ("a*b%c", "ab/bc", true),
            ("a*b%c", "ab/b/c", false),
            ("*%", "a/b", true),
            ("%*", "a/b", true),
            ("%%/%", "a/b", true),
            ("a%%b", "a/b", false),
            // Non-ASCII characters are one position each.
            ("Ü%", "Übung", true),
            ("*é", "café", true),
        ];
        for (p, n, want) in cases {
            assert_eq!(m(p, n), want, "{p:?} on {n:?}");
        }
    }

    #[test]
    fn inbox_is_case_insensitive() {
        assert!(list_match("inbox", "INBOX"));
        assert!(list_match("Inbox/%", "INBOX/x"));
        assert!(!list_match("inbox", "inbox2"));
        // Only INBOX itself: another name keeps its case.
        assert!(!list_match("work", "Work"));
    }

    #[test]
    fn agrees_with_the_recursive_matcher_on_small_inputs() {
        // Seeded: the same inputs on every run.
        let mut rng = crate::fuzz::Rng(0x9e37_79b9_7f4a_7c15);
        let mut next = move || rng.next();
        let alphabet = ['a', 'b', '/', '*', '%'];
        for _ in 0..50_000 {
            let plen = (next() % 8) as usize;
            let nlen = (next() % 9) as usize;
            let p: Vec<char> = (0..plen).map(|_| alphabet[(next() % 5) as usize]).collect();
            let n: Vec<char> = (0..nlen).map(|_| alphabet[(next() % 3) as usize]).collect();
            let (ps, ns): (String, String) = (p.iter().collect(), n.iter().collect());
            assert_eq!(m(&ps, &ns), oracle(&p, &n), "{ps:?} on {ns:?}");
        }
    }

    #[test]
    fn pathological_patterns_answer() {
        // Exponential for the recursive matcher: minutes of CPU.
        let name = "a".repeat(200);
        assert!(!m("*a*a*a*a*a*a*b", &name));
        assert!(m("*a*a*a*a*a*a*", &name));
        let p = "%a".repeat(500) + "b";
        assert!(!m(&p, &"a".repeat(1000)));
        // Patterns longer than 64 positions carry across words.
        let long = "a".repeat(300);
        assert!(m(&long, &long));
        assert!(m(&format!("{}*", "a".repeat(130)), &long));
        assert!(!m(&format!("{}b", "a".repeat(299)), &long));
    }
}
