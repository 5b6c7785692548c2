//! A bounded, seeded fuzz test that runs on stable: real ManageSieve
//! dialogues (login by PLAIN and LOGIN, quoted strings, synchronizing and
//! non-synchronizing literals, every command), mutated at random (the
//! seed makes a failure reproduce). The framer alone, byte by byte: it
//! never panics, never holds more than its bounds, never yields a literal
//! over its limit. Whole sessions over a SQLite store: each ends (no
//! hang), never panics, greets, and ends on a whole response (`OK`, `NO`,
//! `BYE`, or a SASL challenge string; RFC 5804 4).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tern_common::Address;
use tern_managesieve::{Arg, Frame, Framer, Options, Upgrade, run};
use tern_store::Store;
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

/// The dialogues mutated; each is a whole client side of a session under
/// TLS. `AGFsaWNl...` is PLAIN for alice@example.org / pw one.
const CORPUS: &[&str] = &[
    "CAPABILITY\r\nAUTHENTICATE \"PLAIN\" \"AGFsaWNlQGV4YW1wbGUub3JnAHB3IG9uZQ==\"\r\nPUTSCRIPT \"a\" {5+}\r\nkeep;\r\nLISTSCRIPTS\r\nSETACTIVE \"a\"\r\nGETSCRIPT \"a\"\r\nDELETESCRIPT \"a\"\r\nSETACTIVE \"\"\r\nDELETESCRIPT \"a\"\r\nLOGOUT\r\n",
    "AUTHENTICATE \"PLAIN\"\r\n{48+}\r\nAGFsaWNlQGV4YW1wbGUub3JnAHB3IG9uZQ==\r\nHAVESPACE \"x\" 100\r\nPUTSCRIPT {1+}\r\nb {26}\r\nrequire \"fileinto\"; stop;\r\nRENAMESCRIPT \"b\" \"c\"\r\nCHECKSCRIPT \"if true { keep; }\"\r\nNOOP \"tag\"\r\nUNAUTHENTICATE\r\nLISTSCRIPTS\r\nLOGOUT\r\n",
    "AUTHENTICATE \"LOGIN\"\r\n\"YWxpY2VAZXhhbXBsZS5vcmc=\"\r\n\"cHcgb25l\"\r\nPUTSCRIPT \"bad\" \"keep;\\r\\nfileinto \\\"x\\\";\"\r\nCHECKSCRIPT {12+}\r\nif { keep; }\r\nGETSCRIPT \"nope\"\r\nSTARTTLS\r\nLOGOUT\r\n",
    "AUTHENTICATE \"PLAIN\" \"d3Jvbmc=\"\r\nAUTHENTICATE \"X\"\r\nPUTSCRIPT \"a\" {99999999+}\r\nNOOP {3}\r\nabc\r\nAUTHENTICATE \"PLAIN\"\r\n\"*\"\r\nLOGOUT\r\n",
];

const SPECIAL: &[u8] = b" \"\\{}+*()0123456789ACEILNOPRSTUVakps;";

/// What breaks framing; inserted rarely.
const FRAMING: &[&[u8]] = &[b"\r", b"\n", b"\0", b"\r\n", b"{5+}\r\n", b"{0}\r\n", b"\""];

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
            // A long run: long lines, big numbers.
            let i = rng.below(len + 1);
            let c = SPECIAL[rng.below(SPECIAL.len())];
            b.splice(i..i, vec![c; 1 + rng.below(3000)]);
        }
    }
}

fn mutated(rng: &mut Rng) -> Vec<u8> {
    let mut b = CORPUS[rng.below(CORPUS.len())].as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        mutate(rng, &mut b);
    }
    b
}

#[test]
fn the_framer_keeps_its_bounds() {
    let mut rng = Rng(0x5eed_4190_0000_0001);
    let (max_line, max_literal) = (256, 512);
    for n in 0..20_000u32 {
        let input = mutated(&mut rng);
        let mut f = Framer::new(max_line, max_literal);
        let mut buf = Vec::new();
        // Varying read sizes.
        let step = 1 + (n as usize % 97);
        for chunk in input.chunks(step) {
            buf.extend_from_slice(chunk);
            while let Some(frame) = f.next(&mut buf) {
                if let Frame::Command(args) = &frame {
                    assert!(!args.is_empty() && args.len() <= 8, "{n}: {frame:?}");
                    for a in args {
                        let len = match a {
                            Arg::Atom(s) => s.len(),
                            Arg::Str(s) => s.len(),
                        };
                        assert!(len <= max_literal.max(max_line), "{n}: {len}");
                    }
                }
            }
            assert!(
                buf.len() <= f.want().max(max_line + 2) + step,
                "{n}: buffer {} over its bound",
                buf.len()
            );
        }
    }
}

/// Greeted, CRLF-ended, and the last line closes a response or is a
/// challenge.
fn well_formed(out: &[u8]) -> Result<(), String> {
    if !out.starts_with(b"\"IMPLEMENTATION\"") {
        return Err("no greeting".into());
    }
    if !out.ends_with(b"\r\n") {
        return Err("does not end with CRLF".into());
    }
    let body = &out[..out.len() - 2];
    let last = body.rsplit(|b| *b == b'\n').next().unwrap_or_default();
    let whole = last.starts_with(b"OK")
        || last.starts_with(b"NO")
        || last.starts_with(b"BYE")
        || (last.starts_with(b"\"") && last.ends_with(b"\""));
    if !whole {
        return Err(format!(
            "ends inside a response: {:?}",
            String::from_utf8_lossy(last)
        ));
    }
    Ok(())
}

async fn session(store: &Store, input: Vec<u8>) -> Vec<u8> {
    let (client, server) = tokio::io::duplex(1 << 16);
    let opts = Options {
        hostname: "mx.example.org".into(),
        auth_failure_delay: Duration::from_millis(1),
        ..Options::default()
    };
    let serve = run(
        store.clone(),
        Arc::new(opts),
        server,
        true,
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

#[tokio::test]
async fn mutated_sessions_end_on_whole_responses() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_for_tests(dir.path()).await.unwrap();
    store.domain_add("example.org").await.unwrap();
    store
        .account_add(&Address::parse("alice@example.org").unwrap(), "pw one", 0)
        .await
        .unwrap();
    let mut rng = Rng(0x5eed_4190_0000_0002);
    for n in 0..300u32 {
        let input = mutated(&mut rng);
        let out = session(&store, input.clone()).await;
        if let Err(e) = well_formed(&out) {
            panic!(
                "case {n}: {e}\ninput: {:?}\noutput: {:?}",
                String::from_utf8_lossy(&input),
                String::from_utf8_lossy(&out)
            );
        }
    }
}
