//! A bounded fuzz test of the command parser that runs on stable: valid
//! commands, mutated at random (seeded, so a failure reproduces), through
//! the pre-parser and imap-codec. Neither may panic, and whatever the
//! pre-parser hands on must still be one framed command.

use imap_codec::CommandCodec;
use imap_codec::decode::Decoder;

use crate::protocol::preparse::{Pre, preparse};

/// The commands mutated, extension syntax included.
pub const CORPUS: &[&str] = &[
    "a CAPABILITY",
    "a NOOP",
    "a LOGIN bob \"pass word\"",
    "a AUTHENTICATE PLAIN AGJvYgBwdw==",
    "a ENABLE IMAP4rev2 CONDSTORE",
    "a SELECT INBOX (CONDSTORE)",
    "a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
    "a EXAMINE \"Sent\"",
    "a CREATE Work/Projects (USE (\\Drafts))",
    "a DELETE Work",
    "a RENAME a b",
    "a LIST \"\" *",
    "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (\"INBOX\" %) RETURN (CHILDREN STATUS (MESSAGES SIZE))",
    "a LSUB \"\" %",
    "a STATUS INBOX (MESSAGES UIDNEXT UNSEEN HIGHESTMODSEQ)",
    "a APPEND INBOX (\\Seen) \"01-Jan-2024 10:00:00 +0000\" {5+}\r\nhello",
    "a UID SEARCH RETURN (MIN MAX COUNT ALL SAVE) CHARSET UTF-8 OR FROM alice BODY {3+}\r\nabc",
    "a SEARCH $ NOT UID $ HEADER X-A $ MODSEQ \"/flags/\\\\draft\" all 620",
    "a SEARCH SINCE 1-Jan-2024 LARGER 10 SUBJECT \"x\" 1:*",
    "a FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (Subject From)]<0.100> MODSEQ)",
    "a UID FETCH $ (UID BINARY[1] BINARY.SIZE[1]) (CHANGEDSINCE 12345 VANISHED)",
    "a UID STORE 1:5 (UNCHANGEDSINCE 7) +FLAGS.SILENT (\\Deleted $Junk)",
    "a STORE $ -FLAGS (\\Seen)",
    "a COPY 1,3:4 Archive",
    "a UID MOVE $ Trash",
    "a UID EXPUNGE 3:5",
    "a IDLE",
    "a UNSELECT",
    "a UNAUTHENTICATE",
    "a NAMESPACE",
    "a ID (\"name\" \"x\")",
    "a GETQUOTAROOT INBOX",
    "a UID SORT (REVERSE DATE) UTF-8 ALL",
    "a THREAD REFERENCES UTF-8 ALL",
    "a COMPRESS DEFLATE",
    "a ENABLE QRESYNC UTF8=ACCEPT",
    "a APPEND \"Größe\" (\\Seen) UTF8 (~{5+}\r\nhello)",
    "a STATUS INBOX (MESSAGES APPENDLIMIT SIZE)",
    "a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 3 VANISHED)",
    "a SEARCH RETURN (COUNT) MODSEQ 5",
];

const SPECIAL: &[u8] = b"()[]{}<>\"\\$*%+-~:,.0123456789 \r\nABCXYZabc";

/// xorshift64*: small, seeded, reproducible.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One random change to `b`.
pub fn mutate(rng: &mut Rng, b: &mut Vec<u8>) {
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
            let j = (i + 1 + rng.below(8)).min(len);
            b.drain(i..j);
        }
        3 if len > 0 => {
            let i = rng.below(len);
            b.truncate(i);
        }
        4 if len > 0 => {
            let i = rng.below(len);
            let j = (i + 1 + rng.below(16)).min(len);
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
        _ => {
            let i = rng.below(len + 1);
            b.insert(i, (rng.next() & 0xff) as u8);
        }
    }
}

/// A mutated command line: 1..=4 mutations of a corpus entry, CRLF-ended.
pub fn case(rng: &mut Rng) -> Vec<u8> {
    let mut b = CORPUS[rng.below(CORPUS.len())].as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        mutate(rng, &mut b);
    }
    b.extend_from_slice(b"\r\n");
    b
}

#[test]
fn parser_never_panics() {
    let mut rng = Rng(0x7e41_da1e_5eed_0001);
    for _ in 0..50_000 {
        let b = case(&mut rng);
        match preparse(&b) {
            Pre::Codec(out, _) => {
                assert!(out.ends_with(b"\r\n") || out == b, "{b:?} -> {out:?}");
                let _ = CommandCodec::default().decode(&out);
            }
            Pre::Unauthenticate(tag) | Pre::Bad(Some(tag), _) => {
                assert!(!tag.is_empty());
            }
            Pre::Bad(None, _) => {}
        }
    }
    // Every unmutated entry is accepted.
    for c in CORPUS {
        let b = format!("{c}\r\n");
        let out = match preparse(b.as_bytes()) {
            Pre::Codec(out, _) => out,
            Pre::Unauthenticate(_) => continue,
            Pre::Bad(_, why) => panic!("{c}: {why}"),
        };
        assert!(
            matches!(CommandCodec::default().decode(&out), Ok((&[], _))),
            "{c} -> {}",
            String::from_utf8_lossy(&out)
        );
    }
}

mod session {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::time::Duration;

    use tern_common::address::Address;
    use tern_store::{MailboxSel, NewMessage, Store};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
    use tokio_util::sync::CancellationToken;

    use super::{CORPUS, Rng, mutate};
    use crate::{Gate, Options, Upgrade, run};

    struct NoTls;

    impl Upgrade<DuplexStream> for NoTls {
        fn upgrade(
            &self,
            s: DuplexStream,
        ) -> Pin<Box<dyn Future<Output = std::io::Result<DuplexStream>> + Send + '_>> {
            Box::pin(async move { Ok(s) })
        }
    }

    type Reader = BufReader<tokio::io::ReadHalf<DuplexStream>>;
    type Writer = tokio::io::WriteHalf<DuplexStream>;

    async fn line(r: &mut Reader) -> String {
        let mut l = String::new();
        let n = tokio::time::timeout(Duration::from_secs(10), r.read_line(&mut l))
            .await
            .expect("a reply in time")
            .unwrap_or(0);
        if n == 0 { String::new() } else { l }
    }

    async fn open(store: &Store) -> (Reader, Writer) {
        let (a, b) = tokio::io::duplex(1 << 20);
        let store = store.clone();
        let opts = Options {
            auth_failure_delay: Duration::from_millis(1),
            max_literal: 10_000,
            max_line: 4096,
            ..Options::default()
        };
        tokio::spawn(async move {
            let gate = Gate::open("imap");
            let stop = CancellationToken::new();
            run(
                store,
                Arc::new(opts),
                b,
                true,
                &NoTls,
                stop,
                "fuzz".into(),
                gate,
            )
            .await
        });
        let (r, mut w) = tokio::io::split(a);
        let mut r = BufReader::new(r);
        assert!(line(&mut r).await.starts_with("* OK"));
        w.write_all(b"l LOGIN bob@example.org pw\r\ns SELECT INBOX\r\n")
            .await
            .unwrap();
        loop {
            let l = line(&mut r).await;
            assert!(!l.is_empty(), "session closed while setting up");
            if l.starts_with("s ") {
                assert!(l.starts_with("s OK"), "{l}");
                break;
            }
        }
        (r, w)
    }

    /// Mutated commands through whole sessions: each gets its tagged
    /// OK, NO or BAD, or the session says BYE before it closes; nothing
    /// hangs and nothing panics.
    #[tokio::test]
    async fn sessions_answer_every_command() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite_for_tests(dir.path()).await.unwrap();
        store.domain_add("example.org").await.unwrap();
        let who = Address::parse("bob@example.org").unwrap();
        let account = store.account_add(&who, "pw", 0).await.unwrap();
        for s in ["one", "two", "three"] {
            let m = format!("Subject: {s}\r\nFrom: a@example.org\r\n\r\nbody {s}\r\n");
            store
                .deliver(vec![NewMessage {
                    account_id: account.id,
                    mailbox: MailboxSel::Name("INBOX".into()),
                    bytes: m.into_bytes(),
                    flags: vec![],
                    internal_date: 1_704_103_200,
                    internal_zone: 0,
                    summary: None,
                }])
                .await
                .unwrap();
        }
        let mut rng = Rng(0x5e55_10f0_22ed_0002);
        let mut conn = None;
        for n in 0..1500u32 {
            if n % 100 == 0 {
                conn = None;
            }
            let (r, w) = match &mut conn {
                Some(c) => c,
                None => conn.insert(open(&store).await),
            };
            let entry = CORPUS[rng.below(CORPUS.len())].as_bytes();
            let mut body = entry.get(2..).unwrap_or_default().to_vec();
            for _ in 0..=rng.below(3) {
                mutate(&mut rng, &mut body);
            }
            body.retain(|&c| c != b'\r' && c != b'\n');
            // A compressed stream is beyond this line-based client.
            if body.to_ascii_uppercase().starts_with(b"COMPRESS") {
                continue;
            }
            if body.ends_with(b"}") {
                body.extend_from_slice(b" x");
            }
            let tag = format!("f{n}");
            let mut cmd = format!("{tag} ").into_bytes();
            cmd.extend_from_slice(&body);
            cmd.extend_from_slice(b"\r\n");
            if w.write_all(&cmd).await.is_err() {
                // The session ended after its last reply (too many errors,
                // too many failed logins): it must have said BYE.
                let mut said_bye = false;
                loop {
                    let l = line(r).await;
                    if l.is_empty() {
                        break;
                    }
                    said_bye |= l.starts_with("* BYE");
                }
                assert!(said_bye, "closed without BYE before {cmd:?}");
                conn = None;
                continue;
            }
            let mut bye = false;
            loop {
                let l = line(r).await;
                if l.is_empty() {
                    assert!(bye, "closed without BYE after {cmd:?}");
                    conn = None;
                    break;
                }
                if l.starts_with("* BYE") {
                    bye = true;
                } else if l.starts_with("+ idling") {
                    w.write_all(b"DONE\r\n").await.unwrap();
                } else if l.starts_with("+ ") {
                    w.write_all(b"*\r\n").await.unwrap();
                } else if let Some(rest) = l.strip_prefix(&format!("{tag} ")) {
                    assert!(
                        ["OK", "NO", "BAD"].iter().any(|k| rest.starts_with(k))
                            && l.ends_with("\r\n"),
                        "{cmd:?} -> {l:?}"
                    );
                    if bye {
                        conn = None;
                    }
                    break;
                }
            }
        }
    }
}

/// The MIME walkers: messages of every nesting shape, mutated at random
/// (seeded) and sometimes with one piece repeated thousands of times,
/// through `mime::parse` and everything that reads its tree (ENVELOPE,
/// BODYSTRUCTURE, sections, BINARY, the summary, SEARCH's text), on a
/// thread with a tokio worker's 2 MiB stack. Nothing may panic or
/// overflow, and the structure never nests deeper than the limit allows.
mod mime_walkers {
    use super::Rng;
    use crate::{binary, mime, summary::Summary};

    const MESSAGES: &[&str] = &[
        "Subject: plain\r\nFrom: a@b.c\r\n\r\nhello\r\n",
        "Subject: m\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n",
        "Subject: r\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: message/rfc822\r\n\r\nSubject: leaf\r\n\r\nleaf\r\n",
        "Subject: d\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\nx\r\n--d\r\n\r\nSubject: two\r\nContent-Type: multipart/digest; boundary=e\r\n\r\n--e\r\n\r\nSubject: three\r\n\r\ny\r\n--e--\r\n--d--\r\n",
        "Subject: e\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogaW5uZXINCkNvbnRlbnQtVHlwZTogbWVzc2FnZS9yZmM4MjINCg0KU3ViamVjdDogbGVhZg0KDQpsZWFm\r\n",
        "Subject: q\r\nContent-Type: multipart/alternative; boundary=\"x y\"\r\n\r\n--x y\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ngr=C3=BC=C3=9Fe\r\n--x y\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSubject: =3D\r\n\r\nz\r\n--x y--\r\n",
    ];

    /// The pieces that make nesting, repeated to build depth.
    const NESTERS: &[&str] = &[
        "Content-Type: message/rfc822\r\n\r\n",
        "Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n",
        "Content-Type: multipart/digest; boundary=g\r\n\r\n--g\r\n\r\n",
        "--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n",
        "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    ];

    fn mutated(rng: &mut Rng) -> Vec<u8> {
        let mut m = MESSAGES[rng.below(MESSAGES.len())].as_bytes().to_vec();
        for _ in 0..=rng.below(3) {
            let len = m.len();
            match rng.below(4) {
                // Depth: one nesting piece repeated up to 5,000 times.
                0 => {
                    let piece = NESTERS[rng.below(NESTERS.len())].as_bytes();
                    let at = rng.below(len + 1);
                    let times = 1 + rng.below(5_000);
                    let block: Vec<u8> = piece.repeat(times);
                    m.splice(at..at, block);
                }
                // A line duplicated, dropped or cut short.
                1 if len > 0 => {
                    let i = rng.below(len);
                    let j = (i + 1 + rng.below(40)).min(len);
                    let dup = m[i..j].to_vec();
                    let at = rng.below(len + 1);
                    m.splice(at..at, dup);
                }
                2 if len > 0 => {
                    let i = rng.below(len);
                    let j = (i + 1 + rng.below(20)).min(len);
                    m.drain(i..j);
                }
                _ => {
                    let i = rng.below(len + 1);
                    m.insert(i, b"-\r\n:;=\"b "[rng.below(9)]);
                }
            }
        }
        m
    }

    fn nesting(b: &[u8]) -> usize {
        let (mut d, mut max) = (0usize, 0usize);
        for &c in b {
            match c {
                b'(' => d += 1,
                b')' => d = d.saturating_sub(1),
                _ => {}
            }
            max = max.max(d);
        }
        max
    }

    fn walk(raw: &[u8]) {
        let Some(m) = mime::parse(raw) else { return };
        let mut e = Vec::new();
        mime::envelope(&mut e, &m);
        let mut b = Vec::new();
        mime::body_structure(&mut b, &m, 0, true, 0);
        // Each level adds a few parentheses (part, envelope, parameters);
        // the depth limit bounds them whatever the input.
        assert!(
            nesting(&b) <= 4 * (mime::MAX_DEPTH as usize + 2),
            "{}",
            String::from_utf8_lossy(&b)
        );
        let paths: [&[u32]; 6] = [&[1], &[2], &[1, 1], &[1, 2, 1], &[1, 1, 1, 1], &[2, 1, 1]];
        for p in paths {
            if let Some((mm, i)) = mime::locate(&m, p) {
                let _ = mime::part_header(mm, i);
                let _ = mime::part_body(mm, i);
                let _ = mime::inner(mm, i);
            }
            let section: Vec<std::num::NonZeroU32> = p
                .iter()
                .filter_map(|&n| std::num::NonZeroU32::new(n))
                .collect();
            let _ = binary::decoded(raw, Some(&m), &section);
        }
        let s = Summary::of(Some(&m));
        assert_eq!(Summary::decode(&s.encode()), Some(s));
    }

    #[test]
    fn mutated_nested_messages_never_crash_a_walker() {
        let worker = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let mut rng = Rng(0x3141_5926_5358_9793);
                for _ in 0..1_500 {
                    walk(&mutated(&mut rng));
                }
            })
            .expect("thread");
        worker.join().expect("no panic and no overflow");
    }
}
