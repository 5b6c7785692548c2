//! A bounded, seeded fuzz test of whole SMTP sessions that runs on stable:
//! real dialogues (commands, DATA bodies, BDAT chunks, AUTH), mutated at
//! random (the seed makes a failure reproduce), through the in-memory
//! session against a real store. Every session must end (no hang), never
//! panic, and say nothing but well-formed replies (RFC 5321 4.2: three
//! digits, then SP or "-", CRLF-ended, the last line of a reply with SP).

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tern_common::Address;
use tern_common::config::{Source, parse};
use tern_common::security::Security;
use tern_smtp::{NoTls, Peer, Session, Shared, Tarpit};
use tern_store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// The dialogues mutated; each is a whole client side of a session.
const CORPUS: &[&str] = &[
    "EHLO c.example\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nFrom: a@remote.example\r\nSubject: s\r\n\r\nbody\r\n..dot\r\n.\r\nQUIT\r\n",
    "EHLO c.example\r\nMAIL FROM:<a@remote.example> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.org\r\nBDAT 20\r\nSubject: x\r\n\r\nhello\r\nBDAT 0 LAST\r\nQUIT\r\n",
    "HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<team@example.org>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n\r\n.\r\nRSET\r\nNOOP\r\nVRFY alice\r\nHELP\r\nQUIT\r\n",
    "EHLO c\r\nMAIL FROM:<ü@remote.example> SMTPUTF8\r\nRCPT TO:<ünï@example.org>\r\nDATA\r\nFrom: ü@remote.example\r\nFrom: b@remote.example\r\n\r\nx\r\n.\r\nQUIT\r\n",
    "EHLO c\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3\r\nAUTH LOGIN\r\nYQ==\r\nYg==\r\nSTARTTLS\r\nEXPN x\r\nETRN x\r\nQUIT\r\n",
    "EHLO c\r\nMAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org>\r\nBDAT 5 LAST\r\nab\r\n\r\nDATA\r\nx\r\n.\r\nQUIT\r\n",
    "EHLO c\r\nMAIL FROM:<a@remote.example> RET=HDRS ENVID=x REQUIRETLS\r\nRCPT TO:<@route:alice@example.org>\r\nRCPT TO:<alice@[127.0.0.1]>\r\nDATA\r\n.\r\nQUIT\r\n",
];

const SPECIAL: &[u8] = b".:<>@ =,;\"\\()[]0123456789ABCLASTDATBDAT";

/// What breaks framing; inserted rarely, or every session would end at once.
const FRAMING: &[&[u8]] = &[b"\r", b"\n", b"\0", b"\r\n", b"\r\n.\r\n", b"\r\n\r\n"];

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
    match rng.below(9) {
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
            // Repeat a piece: duplicated commands, headers, chunks.
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
            // A long run: long lines and big numbers.
            let i = rng.below(len + 1);
            let c = SPECIAL[rng.below(SPECIAL.len())];
            let run = vec![c; 1 + rng.below(600)];
            b.splice(i..i, run);
        }
        7 => {
            let i = rng.below(len + 1);
            let f = FRAMING[rng.below(FRAMING.len())];
            b.splice(i..i, f.iter().copied());
        }
        _ => {
            let i = rng.below(len + 1);
            b.insert(i, rng.next().to_le_bytes()[0]);
        }
    }
}

async fn shared(dir: &Path) -> Arc<Shared> {
    let cfg = parse(
        "hostname = \"mx.example.org\"\n[tarpit]\nenabled = false\n[smtp]\nmax_message_size = 100000\n",
        Source::Embedded,
        Path::new("/"),
        |_| true,
    )
    .unwrap();
    let store = Store::open_sqlite_for_tests(dir).await.unwrap();
    store.domain_add("example.org").await.unwrap();
    for u in ["alice", "bob", "ünï"] {
        let a = Address::parse(&format!("{u}@example.org")).unwrap();
        store.account_add(&a, "pw", 0).await.unwrap();
    }
    store
        .alias_add(
            &Address::parse("team@example.org").unwrap(),
            &[
                Address::parse("alice@example.org").unwrap(),
                Address::parse("bob@example.org").unwrap(),
            ],
        )
        .await
        .unwrap();
    Arc::new(Shared {
        filter: tern_smtp::sieve_filter(&cfg),
        rspamd: None,
        tarpit: Tarpit::new(cfg.tarpit.clone()),
        config: Arc::new(cfg),
        store,
        queue: None,
        security: Security::permissive_for_tests(),
        submission: false,
        checker: None,
    })
}

/// Send `input`, close, return what the server said; panics if the
/// session panics or does not end in time.
async fn session(shared: &Arc<Shared>, ip: IpAddr, input: Vec<u8>) -> Vec<u8> {
    let (client, server) = tokio::io::duplex(1 << 16);
    let shared = shared.clone();
    let task = tokio::spawn(async move {
        let peer = Peer {
            ip,
            tls: None,
            can_starttls: false,
        };
        Session::new(shared, server, &NoTls, peer, CancellationToken::new())
            .run()
            .await;
    });
    let talk = async move {
        let (mut rd, mut wr) = tokio::io::split(client);
        let write = async move {
            // The server may close before taking everything.
            let _ = wr.write_all(&input).await;
            let _ = wr.shutdown().await;
        };
        let read = async move {
            let mut out = Vec::new();
            let _ = rd.read_to_end(&mut out).await;
            out
        };
        tokio::join!(write, read).1
    };
    let out = tokio::time::timeout(Duration::from_secs(20), talk)
        .await
        .expect("the session ends");
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the session task ends")
        .expect("the session does not panic");
    out
}

/// RFC 5321 4.2: every line is a reply line, the output ends a reply.
fn well_formed(out: &[u8]) -> Result<(), String> {
    if !out.starts_with(b"220 ") {
        return Err("no greeting".into());
    }
    if !out.ends_with(b"\r\n") {
        return Err("does not end with CRLF".into());
    }
    let text = std::str::from_utf8(out).map_err(|e| e.to_string())?;
    let mut last_sep = b' ';
    for line in text.split_terminator("\r\n") {
        let b = line.as_bytes();
        let ok = b.len() >= 4
            && b[..3].iter().all(u8::is_ascii_digit)
            && (b'2'..=b'5').contains(&b[0])
            && (b[3] == b' ' || b[3] == b'-')
            && !line.contains(['\r', '\n', '\0']);
        if !ok {
            return Err(format!("malformed reply line {line:?}"));
        }
        last_sep = b[3];
    }
    if last_sep != b' ' {
        return Err("the last reply is unfinished".into());
    }
    Ok(())
}

#[tokio::test]
async fn mutated_dialogues_get_well_formed_replies() {
    let dir = tempfile::tempdir().unwrap();
    let shared = shared(dir.path()).await;
    let mut rng = Rng(0x5e55_10f0_5a7f_0003);
    for n in 0..2000u16 {
        let mut b = CORPUS[rng.below(CORPUS.len())].as_bytes().to_vec();
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut b);
        }
        // A network per case: the per-IP message rate is not under test.
        let ip = IpAddr::from([0x2001, 0xdb8, n, 0, 0, 0, 0, 1]);
        let out = session(&shared, ip, b.clone()).await;
        if let Err(why) = well_formed(&out) {
            panic!(
                "case {n}: {why}\ninput: {:?}\noutput: {}",
                String::from_utf8_lossy(&b),
                String::from_utf8_lossy(&out)
            );
        }
    }
    let spool = shared.store.spool_dir();
    let left = std::fs::read_dir(&spool).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "no spool file outlives its session");
}

#[tokio::test]
async fn every_unmutated_dialogue_is_well_formed() {
    let dir = tempfile::tempdir().unwrap();
    let shared = shared(dir.path()).await;
    for c in CORPUS {
        let out = session(&shared, IpAddr::from([192, 0, 2, 1]), c.as_bytes().to_vec()).await;
        assert_eq!(well_formed(&out), Ok(()), "{c}");
    }
}
