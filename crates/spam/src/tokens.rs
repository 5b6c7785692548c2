//! The tokens a message is judged by: words of the subject and of the
//! decoded text (HTML turned into text by mail-parser), the sender's
//! domain and display name, the hosts of its links, and a few header
//! facts (mailer, content type, how many recipients). Each is a stable
//! 64-bit FNV-1a hash (the same on every node and every build), at most
//! `MAX_TOKENS` of them, each at most once.
//!
//! Bounded on hostile input: only the first `MAX_BYTES` of a message are
//! parsed (through `tern_mime::parse`, which cuts the MIME tree to a safe
//! depth and width), at most `MAX_TEXT` characters of text are read, and
//! words are cut to `MAX_WORD` characters. Linear in the message.

use std::collections::HashSet;

use mail_parser::{Address, HeaderName, HeaderValue, Message, MimeHeaders};

/// The most of a message parsed for tokens.
pub const MAX_BYTES: usize = 256 * 1024;
/// The most characters of decoded text read.
pub const MAX_TEXT: usize = 64 * 1024;
/// The most distinct tokens a message gives: enough for any message of
/// ordinary length (the judgement uses its 150 most telling ones), and one
/// store query per message.
pub const MAX_TOKENS: usize = 600;
/// Words shorter than this say nothing; longer than `MAX_WORD` are cut.
const MIN_WORD: usize = 3;
const MAX_WORD: usize = 24;

/// FNV-1a, 64 bits: stable across builds and nodes (the store keeps it).
pub fn hash(s: &str) -> u64 {
    hash_parts(&[s])
}

/// `hash` of the parts written one after the other, without joining them.
fn hash_parts(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

struct Bag {
    seen: HashSet<u64>,
    out: Vec<u64>,
}

impl Bag {
    fn add(&mut self, token: &str) {
        self.add_parts(&[token]);
    }

    fn add_parts(&mut self, parts: &[&str]) {
        if self.out.len() >= MAX_TOKENS {
            return;
        }
        let h = hash_parts(parts);
        if self.seen.insert(h) {
            self.out.push(h);
        }
    }

    fn full(&self) -> bool {
        self.out.len() >= MAX_TOKENS
    }

    /// Every word of `text`, prefixed (`s:` for the subject, none for the
    /// body), lower case; links as `url:HOST`.
    fn words(&mut self, prefix: &str, text: &str) {
        self.words_within(prefix, text, MAX_TEXT);
    }

    /// `words`, reading at most `max` characters; returns how many it read.
    fn words_within(&mut self, prefix: &str, text: &str, max: usize) -> usize {
        let mut word = String::new();
        let mut chars = text.chars().peekable();
        let mut budget = max;
        while let Some(c) = chars.next() {
            if budget == 0 || self.full() {
                break;
            }
            budget -= 1;
            if c.is_alphanumeric() || (c == '\'' && !word.is_empty()) {
                if word.chars().count() < MAX_WORD {
                    word.extend(c.to_lowercase());
                }
                continue;
            }
            if c == ':' && (word == "http" || word == "https") && chars.peek() == Some(&'/') {
                // A link: its host is the token.
                let mut host = String::new();
                while chars.peek() == Some(&'/') {
                    chars.next();
                }
                while let Some(&h) = chars.peek() {
                    if h.is_alphanumeric() || h == '.' || h == '-' {
                        if host.len() < 64 {
                            host.extend(h.to_lowercase());
                        }
                        chars.next();
                        budget = budget.saturating_sub(1);
                    } else {
                        break;
                    }
                }
                if !host.is_empty() {
                    self.add(&format!("url:{host}"));
                }
                word.clear();
                continue;
            }
            self.flush(prefix, &mut word);
        }
        self.flush(prefix, &mut word);
        max - budget
    }

    fn flush(&mut self, prefix: &str, word: &mut String) {
        let w = word.trim_end_matches('\'');
        let n = w.chars().count();
        if n >= MIN_WORD && !w.chars().all(|c| c.is_ascii_digit()) {
            self.add_parts(&[prefix, w]);
        }
        word.clear();
    }
}

fn addresses<'a>(v: &'a HeaderValue<'_>) -> Vec<(Option<&'a str>, Option<&'a str>)> {
    match v {
        HeaderValue::Address(Address::List(l)) => l
            .iter()
            .map(|a| (a.name.as_deref(), a.address.as_deref()))
            .collect(),
        HeaderValue::Address(Address::Group(g)) => g
            .iter()
            .flat_map(|g| g.addresses.iter())
            .map(|a| (a.name.as_deref(), a.address.as_deref()))
            .collect(),
        _ => Vec::new(),
    }
}

fn header_tokens(bag: &mut Bag, msg: &Message<'_>) {
    let Some(top) = msg.parts.first() else { return };
    let mut rcpts = 0usize;
    for h in top.headers.iter().take(200) {
        match &h.name {
            HeaderName::Subject => {
                if let HeaderValue::Text(t) = &h.value {
                    bag.words("s:", t);
                }
            }
            HeaderName::From | HeaderName::ReplyTo | HeaderName::Sender => {
                let tag = match h.name {
                    HeaderName::From => "from",
                    HeaderName::ReplyTo => "replyto",
                    _ => "sender",
                };
                for (name, addr) in addresses(&h.value).into_iter().take(10) {
                    if let Some(d) = addr.and_then(|a| a.rsplit_once('@')).map(|(_, d)| d) {
                        bag.add(&format!("{tag}-domain:{}", d.to_lowercase()));
                    }
                    if let Some(n) = name {
                        bag.words(&format!("{tag}-name:"), n);
                    }
                }
            }
            HeaderName::To | HeaderName::Cc => rcpts += addresses(&h.value).len(),
            HeaderName::Other(n)
                if n.eq_ignore_ascii_case("x-mailer") || n.eq_ignore_ascii_case("user-agent") =>
            {
                if let HeaderValue::Text(t) = &h.value {
                    let t: String = t.chars().take(40).collect();
                    bag.add(&format!("mailer:{}", t.to_lowercase()));
                }
            }
            _ => {}
        }
    }
    bag.add(&format!("rcpts:{}", rcpts.min(10)));
    if let Some(ct) = top.content_type() {
        let sub = ct.subtype().unwrap_or("");
        bag.add(&format!(
            "ct:{}/{}",
            ct.ctype().to_lowercase(),
            sub.to_lowercase()
        ));
    }
    if msg.parts.iter().any(|p| p.attachment_name().is_some()) {
        bag.add("has:attachment");
    }
}

/// What names a message across moves and copies, for remembering how it
/// was trained: its Message-ID, else a hash of its header section.
pub fn message_key(raw: &[u8]) -> String {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len().min(MAX_BYTES), |i| i + 2);
    let head = &raw[..end.min(raw.len())];
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n").peekable();
    while let Some(l) = lines.next() {
        if let Some((name, value)) = l.split_once(':')
            && name.trim().eq_ignore_ascii_case("message-id")
        {
            let mut v = value.trim().to_string();
            while let Some(next) = lines.peek().filter(|n| n.starts_with([' ', '\t'])) {
                v.push_str(next.trim());
                lines.next();
            }
            if !v.is_empty() {
                let v: String = v.chars().take(200).collect();
                return format!("id:{}", v.to_lowercase());
            }
        }
    }
    format!("head:{:016x}", hash(&text))
}

/// The message's tokens (at most `MAX_TOKENS`, each once).
pub fn tokens(raw: &[u8]) -> Vec<u64> {
    let raw = &raw[..raw.len().min(MAX_BYTES)];
    let mut bag = Bag {
        seen: HashSet::new(),
        out: Vec::new(),
    };
    let Some(msg) = tern_mime::parse(raw) else {
        return bag.out;
    };
    header_tokens(&mut bag, &msg);
    let mut left = MAX_TEXT;
    for i in 0..msg.text_body.len() {
        if left == 0 || bag.full() {
            break;
        }
        if let Some(text) = msg.body_text(i) {
            left = left.saturating_sub(bag.words_within("", &text, left));
        }
    }
    bag.out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn words_links_and_headers_become_tokens() {
        let m = b"From: \"Cheap Pills\" <offer@pills.example>\r\nTo: a@example.org\r\nSubject: Buy NOW\r\nContent-Type: text/html\r\n\r\n<p>Visit <a href=\"x\">https://Shop.Pills.example/buy</a> today! 12345</p>";
        let t = tokens(m);
        for want in [
            "s:buy",
            "s:now",
            "from-domain:pills.example",
            "from-name:cheap",
            "visit",
            "today",
            "url:shop.pills.example",
            "rcpts:1",
            "ct:text/html",
        ] {
            assert!(t.contains(&hash(want)), "{want}");
        }
        assert!(!t.contains(&hash("12345")), "numbers say nothing");
        assert!(!t.contains(&hash("p")), "short words neither");
    }

    #[test]
    fn a_message_is_named_by_its_message_id_else_its_header() {
        let a = b"Subject: x\r\nMessage-ID:\r\n <Abc@Example.org>\r\n\r\nbody";
        assert_eq!(message_key(a), "id:<abc@example.org>");
        let b = b"Subject: x\r\n\r\nbody";
        let c = b"Subject: y\r\n\r\nbody";
        assert!(message_key(b).starts_with("head:"));
        assert_ne!(message_key(b), message_key(c));
        assert_eq!(message_key(b), message_key(b"Subject: x\r\n\r\nother body"));
    }

    #[test]
    fn hashes_are_stable() {
        // FNV-1a test vectors.
        assert_eq!(hash(""), 0xcbf29ce484222325);
        assert_eq!(hash("a"), 0xaf63dc4c8601ec8c);
        assert_eq!(hash("foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn a_huge_message_gives_a_bounded_set() {
        let mut m = b"Subject: x\r\n\r\n".to_vec();
        for i in 0..200_000 {
            m.extend_from_slice(format!("word{i} ").as_bytes());
        }
        let t = tokens(&m);
        assert!(t.len() <= MAX_TOKENS);
        let deep = {
            let mut d = Vec::new();
            for _ in 0..5000 {
                d.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
            }
            d.extend_from_slice(b"Subject: inner\r\n\r\nhello there");
            d
        };
        let _ = tokens(&deep);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, rng_seed: proptest::test_runner::RngSeed::Fixed(22), ..ProptestConfig::default() })]

        #[test]
        fn any_bytes_give_a_bounded_token_set(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let t = tokens(&raw);
            prop_assert!(t.len() <= MAX_TOKENS);
            let unique: HashSet<_> = t.iter().collect();
            prop_assert_eq!(unique.len(), t.len());
            let key = message_key(&raw);
            prop_assert!(key.len() <= 3 + 200 * 4, "{}", key.len());
        }
    }
}
