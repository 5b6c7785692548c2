//! A bounded, seeded fuzz test of the script check that runs on stable:
//! real Sieve scripts (RFC 5228 and the extensions tern offers), mutated
//! at random (the seed makes a failure reproduce), through `check_script`
//! — what PUTSCRIPT, CHECKSCRIPT and `tern sieve put` run on uploads. It
//! never panics, and a refusal points inside the script: a line it has,
//! a column from 1.

use tern_manage::check_script;

const CORPUS: &[&str] = &[
    "require [\"fileinto\", \"imap4flags\", \"mailbox\"];\r\nif header :contains \"List-Id\" \"tern\" {\r\n  addflag \"\\\\Seen\";\r\n  fileinto :create \"Lists/tern\";\r\n  stop;\r\n}\r\n",
    "require [\"vacation\", \"variables\"];\r\nif header :matches \"subject\" \"*\" { set \"s\" \"${1}\"; }\r\nvacation :days 7 :subject \"Away: ${s}\" text:\r\nI am away.\r\n..\r\n.\r\n;\r\n",
    "require [\"envelope\", \"subaddress\", \"relational\", \"comparator-i;ascii-numeric\", \"reject\"];\r\nif allof (envelope :detail \"to\" \"spam\", header :value \"ge\" :comparator \"i;ascii-numeric\" \"X-Spam-Score\" \"5\") { discard; }\r\nelsif not exists \"from\" { reject \"no From\"; }\r\nelse { keep; }\r\n",
    "require [\"body\", \"copy\", \"date\", \"editheader\", \"include\", \"relational\"];\r\n# comment\r\n/* block\r\ncomment */\r\nif body :text :contains [\"viagra\", \"casino\"] { redirect :copy \"abuse@example.org\"; }\r\nif currentdate :value \"lt\" \"hour\" \"09\" { addheader \"X-Early\" \"yes\"; }\r\ninclude :personal \"common\";\r\n",
    "require [\"regex\", \"enotify\", \"duplicate\", \"spamtest\"];\r\nif header :regex \"subject\" \"^\\\\[(.*)\\\\]\" { notify :message \"list\" \"mailto:a@example.org\"; }\r\nif duplicate { discard; }\r\n",
];

const SPECIAL: &[u8] = b" \"\\{}[](),;:*#/0123456789abcdefiklnoprstuvxy\r\n.${}";

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }
}

fn mutate(rng: &mut Rng, b: &mut Vec<u8>) {
    let len = b.len();
    match rng.below(7) {
        0 if len > 0 => {
            let i = rng.below(len);
            b[i] = SPECIAL[rng.below(SPECIAL.len())];
        }
        1 => {
            let i = rng.below(len + 1);
            b.insert(i, SPECIAL[rng.below(SPECIAL.len())]);
        }
        2 if len > 0 => {
            let i = rng.below(len);
            let j = (i + 1 + rng.below(16)).min(len);
            b.drain(i..j);
        }
        3 if len > 0 => {
            let i = rng.below(len);
            let j = (i + 1 + rng.below(80)).min(len);
            let dup = b[i..j].to_vec();
            let at = rng.below(len + 1);
            b.splice(at..at, dup);
        }
        4 => {
            let other = CORPUS[rng.below(CORPUS.len())].as_bytes();
            let i = rng.below(len + 1);
            let j = rng.below(other.len() + 1);
            b.truncate(i);
            b.extend_from_slice(&other[j..]);
        }
        5 => {
            // Deep nesting and long runs.
            let i = rng.below(len + 1);
            let unit: &[u8] = [
                b"if true {".as_slice(),
                b"allof(",
                b"not ",
                b"[\"a\",",
                b"\xff",
            ][rng.below(5)];
            let run = unit.repeat(1 + rng.below(40));
            b.splice(i..i, run);
        }
        _ if len > 0 => {
            let i = rng.below(len);
            b.truncate(i);
        }
        _ => {}
    }
}

#[test]
fn mutated_scripts_are_judged_without_panics() {
    for s in CORPUS {
        assert!(
            check_script(s.as_bytes()).is_ok(),
            "{s}: {:?}",
            check_script(s.as_bytes())
        );
    }
    let mut rng = Rng(0x5eed_5228_0000_0001);
    for n in 0..5000u32 {
        let mut b = CORPUS[rng.below(CORPUS.len())].as_bytes().to_vec();
        for _ in 0..=rng.below(5) {
            mutate(&mut rng, &mut b);
        }
        if let Err(e) = check_script(&b) {
            let lines = b.iter().filter(|&&c| c == b'\n').count() + 1;
            assert!(
                e.line >= 1 && e.line <= lines && e.column >= 1,
                "case {n}: {e:?} for {:?}",
                String::from_utf8_lossy(&b)
            );
        }
    }
}
