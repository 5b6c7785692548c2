//! A bounded, seeded fuzz test of whole POP3 sessions that runs on stable:
//! real dialogues (login by USER/PASS and AUTH PLAIN, every transaction
//! command), mutated at random (the seed makes a failure reproduce),
//! through the in-memory session over the in-memory maildrop. Every session
//! must end (no hang), never panic, greet, and end on a whole response: a
//! status line (`+OK`, `-ERR`, or `+ ` for SASL, RFC 1939 3, RFC 5034) or
//! the `.` that ends a multi-line one.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tern_pop3::memory::MemoryDrop;
use tern_pop3::{Locks, Options, Upgrade, run};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_util::sync::CancellationToken;

struct FakeTls;
static FAKE_TLS: FakeTls = FakeTls;

impl Upgrade<DuplexStream> for FakeTls {
    fn upgrade(
        &self,
        s: DuplexStream,
    ) -> Pin<Box<dyn Future<Output = io::Result<DuplexStream>> + Send + '_>> {
        Box::pin(async move { Ok(s) })
    }
}

/// The dialogues mutated; each is a whole client side of a session.
const CORPUS: &[&str] = &[
    "CAPA\r\nUSER alice@example.org\r\nPASS pw one\r\nSTAT\r\nLIST\r\nLIST 1\r\nUIDL\r\nUIDL 2\r\nRETR 1\r\nTOP 1 0\r\nTOP 2 5\r\nDELE 1\r\nRSET\r\nNOOP\r\nQUIT\r\n",
    "AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3IG9uZQ==\r\nSTAT\r\nDELE 2\r\nLIST 2\r\nRETR 2\r\nQUIT\r\n",
    "AUTH PLAIN\r\nAGFsaWNlQGV4YW1wbGUub3JnAHB3IG9uZQ==\r\nUIDL\r\nRETR 1\r\nRETR 3\r\nQUIT\r\n",
    "AUTH\r\nAUTH LOGIN\r\nAPOP alice@example.org 0123456789abcdef0123456789abcdef\r\nUSER bob@example.org\r\nPASS wrong\r\nSTLS\r\nCAPA\r\nQUIT\r\n",
    "USER alice@example.org\r\nPASS pw one\r\nTOP 1 99999999999999999999\r\nLIST 4294967296\r\nRETR -1\r\nDELE 1\r\nDELE 1\r\nQUIT\r\n",
];

const SPECIAL: &[u8] = b" .+-*=0123456789ABCDELPSTUQIORXNabc@";

/// What breaks framing; inserted rarely, or every session would end at once.
const FRAMING: &[&[u8]] = &[b"\r", b"\n", b"\0", b"\r\n", b"\r\n.\r\n"];

/// xorshift64*: small, seeded, reproducible.
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

/// One random change to `b`.
fn mutate(rng: &mut Rng, b: &mut Vec<u8>) {
    let len = b.len();
    match rng.below(8) {
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
            let j = (i + 1 + rng.below(12)).min(len);
            b.drain(i..j);
        }
        3 if len > 0 => {
            let i = rng.below(len);
            b.truncate(i);
        }
        4 if len > 0 => {
            let i = rng.below(len);
            let j = (i + 1 + rng.below(64)).min(len);
            let dup = b[i..j].to_vec();
            let at = rng.below(len + 1);
            b.splice(at..at, dup);
        }
        5 => {
            let other = CORPUS[rng.below(CORPUS.len())].as_bytes();
            let i = rng.below(len + 1);
            let j = rng.below(other.len() + 1);
            b.truncate(i);
            b.extend_from_slice(&other[j..]);
        }
        6 => {
            let i = rng.below(len + 1);
            let f = FRAMING[rng.below(FRAMING.len())];
            b.splice(i..i, f.iter().copied());
        }
        _ => {
            // A long run: long lines and big numbers.
            let i = rng.below(len + 1);
            let c = SPECIAL[rng.below(SPECIAL.len())];
            b.splice(i..i, vec![c; 1 + rng.below(1500)]);
        }
    }
}

fn maildrop() -> MemoryDrop {
    let d = MemoryDrop::new();
    d.add_account("alice@example.org", "pw one");
    d.add_account("bob@example.org", "bobpw");
    d.deliver(
        "alice@example.org",
        b"From: a@example.org\r\nSubject: one\r\n\r\nhello\r\n.dot line\r\n..two\r\n.\r\nend\r\n",
    );
    d.deliver("alice@example.org", b"Subject: two\r\n\r\nbody\r\n");
    d
}

/// Send `input`, close, return what the server said; panics if the
/// session panics or does not end in time.
async fn session(drop: &MemoryDrop, tls: bool, input: Vec<u8>) -> Vec<u8> {
    let (client, server) = tokio::io::duplex(1 << 16);
    let opts = Options {
        hostname: "mx.example.org".into(),
        auth_failure_delay: Duration::from_millis(1),
        ..Options::default()
    };
    let serve = run(
        drop.clone(),
        Locks::default(),
        Arc::new(opts),
        server,
        tls,
        &FAKE_TLS,
        CancellationToken::new(),
        "fuzz".into(),
    );
    let (mut rd, mut wr) = tokio::io::split(client);
    let write = async move {
        let _ = wr.write_all(&input).await;
        let _ = wr.shutdown().await;
    };
    let read = async move {
        let mut out = Vec::new();
        let _ = rd.read_to_end(&mut out).await;
        out
    };
    let ((), (), out) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(serve, write, read)
    })
    .await
    .expect("the session ends");
    out
}

/// Greeted, CRLF-ended, and the last line closes a response.
fn well_formed(out: &[u8]) -> Result<(), String> {
    if !out.starts_with(b"+OK") {
        return Err("no greeting".into());
    }
    if !out.ends_with(b"\r\n") {
        return Err("does not end with CRLF".into());
    }
    let body = &out[..out.len() - 2];
    let last = body.rsplit(|b| *b == b'\n').next().unwrap_or_default();
    let whole = last == b"."
        || last.starts_with(b"+OK")
        || last.starts_with(b"-ERR")
        || last.starts_with(b"+ ");
    if !whole {
        return Err(format!(
            "ends inside a response: {:?}",
            String::from_utf8_lossy(last)
        ));
    }
    if out.contains(&0) {
        return Err("a NUL in the output".into());
    }
    Ok(())
}

#[tokio::test]
async fn mutated_dialogues_end_on_whole_responses() {
    let mut rng = Rng(0x9093_f022_5eed_0004);
    for n in 0..2000u32 {
        // A fresh maildrop each time, so deletions do not use it up.
        let drop = maildrop();
        let mut b = CORPUS[rng.below(CORPUS.len())].as_bytes().to_vec();
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut b);
        }
        let tls = n.is_multiple_of(2);
        let out = session(&drop, tls, b.clone()).await;
        if let Err(why) = well_formed(&out) {
            panic!(
                "case {n}: {why}\ninput: {:?}\noutput: {}",
                String::from_utf8_lossy(&b),
                String::from_utf8_lossy(&out)
            );
        }
    }
}

#[tokio::test]
async fn every_unmutated_dialogue_is_well_formed() {
    for c in CORPUS {
        for tls in [false, true] {
            let out = session(&maildrop(), tls, c.as_bytes().to_vec()).await;
            assert_eq!(well_formed(&out), Ok(()), "{c}");
        }
    }
}
