//! IMAP conformance rules, one test per rule, named for its RFC section:
//! in-memory sessions over a duplex pipe and a SQLite store.

use std::time::Duration;

use tern_store::{MailboxSel, NewMessage, Store};
use tokio::io::AsyncWriteExt;

mod common;
use common::*;

async fn deliver(store: &Store, account: i64, mailbox: &str, m: Vec<u8>) {
    store
        .deliver(vec![NewMessage {
            account_id: account,
            mailbox: MailboxSel::Name(mailbox.into()),
            bytes: m,
            flags: vec![],
            internal_date: 1_704_103_200,
            internal_zone: 0,
            summary: None,
        }])
        .await
        .unwrap();
}

async fn selected_with(store: &Store, account: i64, msgs: Vec<Vec<u8>>) -> Client {
    for m in msgs {
        deliver(store, account, "INBOX", m).await;
    }
    let mut c = logged_in(store).await;
    let r = c.cmd("s", "SELECT INBOX").await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    c
}

/// A message with the given header fields and body.
fn with_header(fields: &str, body: &str) -> Vec<u8> {
    format!("From: a@example.org\r\nTo: bob@example.org\r\n{fields}\r\n\r\n{body}\r\n").into_bytes()
}

// ---- RFC 3501 6.4.5: section numbers descend into message/rfc822 parts ----

/// multipart/mixed { text, message/rfc822 { multipart/mixed { text, message/rfc822 { text } } } }
fn forwarded_twice() -> Vec<u8> {
    concat!(
        "From: a@example.org\r\nSubject: outer\r\nMIME-Version: 1.0\r\n",
        "Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n",
        "--o\r\nContent-Type: text/plain\r\n\r\nouter text\r\n",
        "--o\r\nContent-Type: message/rfc822\r\nContent-Description: fwd\r\n\r\n",
        "From: b@example.org\r\nSubject: middle\r\nMIME-Version: 1.0\r\n",
        "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n",
        "--m\r\nContent-Type: text/plain\r\nX-Part: m1\r\n\r\nmiddle text\r\n",
        "--m\r\nContent-Type: message/rfc822\r\nX-Part: m2\r\n\r\n",
        "From: c@example.org\r\nSubject: inner\r\n\r\ninner text\r\n",
        "--m--\r\n",
        "\r\n--o--\r\n",
    )
    .as_bytes()
    .to_vec()
}

fn literal_after(r: &[String], item: &str) -> String {
    let all = r.concat();
    let i = all.find(item).unwrap_or_else(|| panic!("{item} in {all}"));
    all[i + item.len()..].to_string()
}

#[tokio::test]
async fn rfc3501_6_4_5_section_numbers_descend_into_encapsulated_messages() {
    let (_d, store, account) = setup().await;
    let mut c = selected_with(&store, account, vec![forwarded_twice()]).await;
    // (section, what its content starts with)
    let cases = [
        ("1", "outer text"),
        ("2.HEADER", "From: b@example.org\r\nSubject: middle"),
        (
            "2.MIME",
            "Content-Type: message/rfc822\r\nContent-Description: fwd\r\n\r\n",
        ),
        ("2.TEXT", "--m\r\nContent-Type: text/plain"),
        ("2.1", "middle text"),
        ("2.1.MIME", "Content-Type: text/plain\r\nX-Part: m1\r\n\r\n"),
        (
            "2.2.MIME",
            "Content-Type: message/rfc822\r\nX-Part: m2\r\n\r\n",
        ),
        (
            "2.2.HEADER",
            "From: c@example.org\r\nSubject: inner\r\n\r\n",
        ),
        ("2.2.TEXT", "inner text"),
        ("2.2.1", "inner text"),
        ("2.2.HEADER.FIELDS (SUBJECT)", "Subject: inner\r\n\r\n"),
    ];
    for (section, want) in cases {
        let r = c.cmd("f", &format!("FETCH 1 BODY.PEEK[{section}]")).await;
        let got = literal_after(&r, &format!("BODY[{section}] {{"));
        let body = got.split_once("}\r\n").map(|x| x.1).unwrap_or("");
        assert!(body.starts_with(want), "BODY[{section}]: {r:?}");
    }
    for (section, want) in [("2.1", "middle text"), ("2.2.1", "inner text")] {
        let r = c.cmd("b", &format!("FETCH 1 BINARY.PEEK[{section}]")).await;
        let got = literal_after(&r, &format!("BINARY[{section}] "));
        assert!(got.contains(want), "BINARY[{section}]: {r:?}");
    }
}

/// `levels` multiparts, each holding a text part and a message/rfc822
/// part that holds the next; the innermost message is a single text part.
fn forwarded(levels: usize) -> Vec<u8> {
    let mut m = "From: z@example.org\r\nSubject: innermost\r\n\r\ninnermost text\r\n".to_string();
    for i in (0..levels).rev() {
        m = format!(
            "From: l{i}@example.org\r\nSubject: level {i}\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n\
             --b{i}\r\nContent-Type: text/plain\r\n\r\ntext {i}\r\n\
             --b{i}\r\nContent-Type: message/rfc822\r\nX-Level: {i}\r\n\r\n{m}\r\n--b{i}--\r\n"
        );
    }
    m.into_bytes()
}

#[tokio::test]
async fn rfc3501_6_4_5_section_numbers_descend_at_every_depth_within_the_limit() {
    let (_d, store, account) = setup().await;
    let mut c = selected_with(&store, account, vec![forwarded(5)]).await;
    for depth in 1..=5usize {
        // "2.2.2" reaches the message/rfc822 part of level `depth - 1`.
        let path = vec!["2"; depth].join(".");
        let inner = depth; // the level whose message that part holds
        let cases = [
            (
                format!("{path}.MIME"),
                format!(
                    "Content-Type: message/rfc822\r\nX-Level: {}\r\n\r\n",
                    depth - 1
                ),
            ),
            (
                format!("{path}.HEADER"),
                if inner == 5 {
                    "From: z@example.org".to_string()
                } else {
                    format!("From: l{inner}@example.org")
                },
            ),
            (
                format!("{path}.1"),
                if inner == 5 {
                    "innermost text".to_string()
                } else {
                    format!("text {inner}")
                },
            ),
        ];
        for (section, want) in cases {
            let r = c.cmd("f", &format!("FETCH 1 BODY.PEEK[{section}]")).await;
            let got = literal_after(&r, &format!("BODY[{section}] {{"));
            let body = got.split_once("}\r\n").map(|x| x.1).unwrap_or("");
            assert!(body.starts_with(&want), "BODY[{section}]: {r:?}");
            let r = c.cmd("b", &format!("FETCH 1 BINARY.PEEK[{path}.1]")).await;
            assert!(
                r.concat().contains(if inner == 5 {
                    "innermost text"
                } else {
                    "text "
                }),
                "{r:?}"
            );
        }
    }
}

// ---- RFC 3501 6.4.4: date searches disregard time and time zone ----

#[tokio::test]
async fn rfc3501_6_4_4_sent_dates_are_read_in_the_date_fields_own_zone() {
    let (_d, store, account) = setup().await;
    let mut c = selected_with(
        &store,
        account,
        vec![
            with_header("Date: Sun, 25 Mar 2007 00:00:00 +0200", "1"),
            with_header("Date: Sat, 24 Mar 2007 23:30:00 -0500", "2"),
            with_header("Subject: no date", "3"),
            with_header("Date: not a date", "4"),
        ],
    )
    .await;
    // (key, matches)
    let cases = [
        ("SENTBEFORE 25-Mar-2007", "* SEARCH 2\r\n"),
        ("SENTON 25-Mar-2007", "* SEARCH 1\r\n"),
        ("SENTSINCE 25-Mar-2007", "* SEARCH 1\r\n"),
        ("SENTON 24-Mar-2007", "* SEARCH 2\r\n"),
        ("SENTSINCE 24-Mar-2007", "* SEARCH 1 2\r\n"),
        ("SENTBEFORE 26-Mar-2007", "* SEARCH 1 2\r\n"),
        ("NOT SENTON 25-Mar-2007", "* SEARCH 2 3 4\r\n"),
    ];
    for (key, want) in cases {
        let r = c.cmd("a", &format!("SEARCH {key}")).await;
        assert_eq!(r[0], want, "{key}: {r:?}");
    }
}

#[tokio::test]
async fn rfc3501_6_4_4_internal_dates_are_read_in_their_own_zone() {
    let (_d, store, _account) = setup().await;
    let mut c = logged_in(&store).await;
    for (i, date) in ["25-Mar-2007 00:30:00 +0200", "24-Mar-2007 23:30:00 -0500"]
        .iter()
        .enumerate()
    {
        let m = with_header("Subject: x", &i.to_string());
        c.send(&format!("a APPEND INBOX \"{date}\" {{{}+}}\r\n", m.len()))
            .await;
        c.w.write_all(&m).await.unwrap();
        c.send("\r\n").await;
        let r = c.until("a").await;
        assert!(r.last().unwrap().starts_with("a OK"), "{r:?}");
    }
    c.cmd("s", "SELECT INBOX").await;
    let r = c.cmd("f", "FETCH 1:2 INTERNALDATE").await;
    assert!(r[0].contains("25-Mar-2007 00:30:00 +0200"), "{r:?}");
    let cases = [
        ("BEFORE 25-Mar-2007", "* SEARCH 2\r\n"),
        ("ON 25-Mar-2007", "* SEARCH 1\r\n"),
        ("SINCE 25-Mar-2007", "* SEARCH 1\r\n"),
        ("ON 24-Mar-2007", "* SEARCH 2\r\n"),
    ];
    for (key, want) in cases {
        let r = c.cmd("a", &format!("SEARCH {key}")).await;
        assert_eq!(r[0], want, "{key}: {r:?}");
    }
}

// ---- RFC 7162 3.1, 3.2; RFC 4731 ----

#[tokio::test]
async fn rfc7162_3_1_fetch_modseq_enabling_condstore_sends_highestmodseq() {
    let (_d, store, account) = setup().await;
    let mut c = selected_with(&store, account, vec![msg("one", "a"), msg("two", "b")]).await;
    let r = c.cmd("f", "FETCH 1 MODSEQ").await;
    assert!(r[0].starts_with("* OK [HIGHESTMODSEQ "), "{r:?}");
    let r = c.cmd("g", "FETCH 1 MODSEQ").await;
    assert!(!r.concat().contains("HIGHESTMODSEQ"), "only once: {r:?}");
    // The same for every enabling command while a mailbox is selected:
    // ENABLE, STATUS (HIGHESTMODSEQ), SEARCH MODSEQ, STORE UNCHANGEDSINCE.
    for cmd in [
        "ENABLE CONDSTORE",
        "STATUS INBOX (HIGHESTMODSEQ)",
        "SEARCH MODSEQ 1",
        "STORE 1 (UNCHANGEDSINCE 100) +FLAGS (\\Seen)",
    ] {
        let mut c = logged_in(&store).await;
        c.cmd("s", "SELECT INBOX").await;
        let r = c.cmd("h", cmd).await;
        assert!(r.concat().contains("* OK [HIGHESTMODSEQ "), "{cmd}: {r:?}");
    }
}

#[tokio::test]
async fn rfc7162_3_2_esearch_min_max_report_the_modseq_of_the_message_returned() {
    let (_d, store, account) = setup().await;
    let mut c = selected_with(
        &store,
        account,
        vec![msg("one", "a"), msg("two", "b"), msg("three", "c")],
    )
    .await;
    c.cmd("a", "STORE 2 +FLAGS (\\Seen)").await;
    c.cmd("b", "STORE 1 +FLAGS (\\Seen)").await;
    let r = c.cmd("f", "FETCH 1:3 MODSEQ").await;
    let m: Vec<u64> = r
        .iter()
        .filter(|l| l.contains("MODSEQ ("))
        .map(|l| modseq_of(l))
        .collect();
    let r = c.cmd("c", "SEARCH RETURN (MIN) MODSEQ 1").await;
    assert_eq!(
        r[0],
        format!("* ESEARCH (TAG \"c\") MIN 1 MODSEQ {}\r\n", m[0]),
        "{r:?}"
    );
    let r = c.cmd("d", "SEARCH RETURN (MAX) MODSEQ 1").await;
    assert_eq!(
        r[0],
        format!("* ESEARCH (TAG \"d\") MAX 3 MODSEQ {}\r\n", m[2]),
        "{r:?}"
    );
    let r = c.cmd("e", "SEARCH RETURN (MIN MAX) MODSEQ 1").await;
    let hi = m.iter().max().unwrap();
    assert_eq!(
        r[0],
        format!("* ESEARCH (TAG \"e\") MIN 1 MAX 3 MODSEQ {hi}\r\n"),
        "{r:?}"
    );
}

fn modseq_of(line: &str) -> u64 {
    let i = line.find("MODSEQ (").expect("MODSEQ in line") + 8;
    line[i..].split(')').next().unwrap().parse().unwrap()
}

// ---- RFC 3501 7.4.2, RFC 5322 3.4: groups in ENVELOPE ----

#[tokio::test]
async fn rfc3501_7_4_2_groups_in_the_envelope_hold_no_comment_addresses() {
    let (_d, store, account) = setup().await;
    let m = with_header("Cc: group:;, group2: (foo) ;", "x");
    let mut c = selected_with(&store, account, vec![m]).await;
    let r = c.cmd("f", "FETCH 1 ENVELOPE").await;
    assert!(
        r[0].contains(
            "((NIL NIL \"group\" NIL)(NIL NIL NIL NIL)(NIL NIL \"group2\" NIL)(NIL NIL NIL NIL))"
        ),
        "{r:?}"
    );
}

// ---- RFC 3516: BINARY with NUL ----

/// APPEND with a literal8 and every FETCH reply up to the tagged one, as
/// bytes (they hold NUL).
async fn append8_and_fetch(c: &mut Client, m: &[u8], fetch: &str) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    c.send(&format!("a APPEND INBOX ~{{{}}}\r\n", m.len()))
        .await;
    let r = c.line().await;
    assert!(r.starts_with('+'), "{r}");
    c.w.write_all(m).await.unwrap();
    c.send("\r\n").await;
    let r = c.until("a").await;
    assert!(r.last().unwrap().starts_with("a OK"), "{r:?}");
    c.cmd("s", "SELECT INBOX").await;
    c.send(&format!("b {fetch}\r\n")).await;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf
        .windows(5)
        .any(|w| w == b"b OK " || w == b"b NO " || w == b"b BAD")
    {
        let n = tokio::time::timeout(Duration::from_secs(10), c.r.read(&mut chunk))
            .await
            .expect("reply in time")
            .unwrap();
        assert!(n > 0, "closed: {:?}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    }
    buf
}

#[tokio::test]
async fn rfc3516_4_3_binary_content_with_nul_is_kept() {
    let (_d, store, _account) = setup().await;
    let mut c = logged_in(&store).await;
    let m = b"From: a@example.org\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\nab\0cd\r\n";
    let buf = append8_and_fetch(&mut c, m, "FETCH 1 (BINARY.PEEK[1] BODY.PEEK[1])").await;
    let s = String::from_utf8_lossy(&buf).into_owned();
    // BINARY is a literal8 (it holds NUL); BODY gives the stored bytes,
    // never an empty string.
    assert!(
        s.starts_with("* 1 FETCH (BINARY[1] ~{7}\r\nab\0cd\r\n BODY[1] {7}\r\nab\0cd\r\n)"),
        "{s:?}"
    );
}

#[tokio::test]
async fn rfc3516_4_3_a_binary_part_of_a_multipart_is_kept() {
    let (_d, store, _account) = setup().await;
    let mut c = logged_in(&store).await;
    let m = b"From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"foo\"\r\n\r\n--foo\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\nhello\0world\r\n--foo\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--foo--\r\n";
    let buf = append8_and_fetch(
        &mut c,
        m,
        "FETCH 1 (BODY.PEEK[1] BINARY.PEEK[1] BINARY.SIZE[1] BODY.PEEK[2])",
    )
    .await;
    let s = String::from_utf8_lossy(&buf).into_owned();
    assert!(
        s.starts_with("* 1 FETCH (BODY[1] {11}\r\nhello\0world BINARY[1] ~{11}\r\nhello\0world BINARY.SIZE[1] 11 BODY[2] {6}\r\nsecond)"),
        "{s:?}"
    );
    let r = c.cmd("c", "FETCH 1 BODY.PEEK[]").await;
    assert!(
        r[0].starts_with(&format!("* 1 FETCH (BODY[] {{{}}}", m.len())),
        "{r:?}"
    );
}

// ---- RFC 3501 9: atoms and mailbox names ----

#[tokio::test]
async fn rfc3501_9_brackets_are_list_mailbox_characters() {
    let (_d, store, _account) = setup().await;
    let mut c = logged_in(&store).await;
    let r = c.cmd("a", "CREATE x[1]").await;
    assert!(r.last().unwrap().starts_with("a OK"), "{r:?}");
    let r = c.cmd("b", "LIST \"\" x[%").await;
    assert!(r.last().unwrap().starts_with("b OK"), "{r:?}");
    let r = c.cmd("c", "LIST \"\" x[1]*%[]").await;
    assert!(r.last().unwrap().starts_with("c OK"), "{r:?}");
    let r = c.cmd("b2", "LIST \"\" x[*").await;
    assert_eq!(r[0], "* LIST (\\HasNoChildren) \"/\" \"x[1]\"\r\n", "{r:?}");
    // A valid astring that is no valid name (not modified UTF-7, RFC 3501
    // 5.1.3) is NO, not BAD, wherever a mailbox is named.
    for (tag, cmd) in [
        ("d", "SELECT x&y"),
        ("e", "STATUS x&y (MESSAGES)"),
        ("f", "CREATE &Jjo"),
        ("g", "LIST \"\" x&y"),
        ("h", "GETQUOTAROOT x&y"),
    ] {
        let r = c.cmd(tag, cmd).await;
        assert!(
            r.last().unwrap().starts_with(&format!("{tag} NO")),
            "{cmd}: {r:?}"
        );
    }
}

// ---- RFC 5256 3: SORT by address follows the ENVELOPE ----

#[tokio::test]
async fn rfc5256_3_sort_cc_uses_the_first_envelope_address_of_a_group() {
    let (_d, store, account) = setup().await;
    let mut c = selected_with(
        &store,
        account,
        vec![
            with_header("Cc: user2: blah@domain1.org;", "1"),
            with_header("Cc: c@x.org", "2"),
            with_header("Cc: zz@x.org", "3"),
        ],
    )
    .await;
    let r = c.cmd("a", "SORT (CC) US-ASCII ALL").await;
    assert_eq!(r[0], "* SORT 2 1 3\r\n", "{r:?}");
}

// ---- RFC 3501 7.2.6: new keywords are announced ----

#[tokio::test]
async fn rfc3501_7_2_6_a_new_keyword_is_announced_in_flags() {
    let (_d, store, account) = setup().await;
    let mut c = selected_with(&store, account, vec![msg("one", "a")]).await;
    let mut other = logged_in(&store).await;
    other.cmd("s", "SELECT INBOX").await;
    let r = c.cmd("a", "STORE 1 +FLAGS NIL").await;
    let all = r.concat();
    assert!(all.contains("* FLAGS (") && all.contains(" NIL)"), "{all}");
    assert!(all.contains("* OK [PERMANENTFLAGS ("), "{all}");
    // Another session that has the mailbox selected learns it at its next
    // command, before the FETCH that shows it.
    let r = other.cmd("n", "NOOP").await;
    assert!(
        r[0].starts_with("* FLAGS (") && r[0].contains(" NIL)"),
        "{r:?}"
    );
    assert!(r[2].contains("FETCH (UID 1 FLAGS (NIL))"), "{r:?}");
    // An APPEND with a new keyword is announced the same way, and SELECT
    // names every keyword in use.
    let m = msg("two", "b");
    let r = c
        .cmd(
            "p",
            &format!(
                "APPEND INBOX (Work) {{{}+}}\r\n{}",
                m.len(),
                String::from_utf8_lossy(&m)
            ),
        )
        .await;
    assert!(r.last().unwrap().starts_with("p OK"), "{r:?}");
    let r = other.cmd("q", "NOOP").await;
    assert!(r[0].contains(" NIL Work)"), "{r:?}");
    let r = other.cmd("r", "EXAMINE INBOX").await;
    let all = r.concat();
    assert!(
        all.contains("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft NIL Work)\r\n"),
        "{all}"
    );
    assert!(all.contains("* OK [PERMANENTFLAGS ()]"), "{all}");
}

// ---- RFC 3501 2.3.2: \Recent ----

async fn select(c: &mut Client, cmd: &str) -> String {
    let r = c.cmd("s", cmd).await;
    assert!(r.last().unwrap().starts_with("s OK"), "{r:?}");
    r.concat()
}

#[tokio::test]
async fn rfc3501_2_3_2_a_message_is_recent_in_the_first_session_to_select() {
    let (_d, store, account) = setup().await;
    deliver(&store, account, "INBOX", msg("one", "a")).await;
    deliver(&store, account, "INBOX", msg("two", "b")).await;
    let mut other = logged_in(&store).await;
    let r = other.cmd("t", "STATUS INBOX (RECENT)").await;
    assert_eq!(
        r[0], "* STATUS \"INBOX\" (RECENT 2)\r\n",
        "STATUS takes nothing"
    );
    let mut a = logged_in(&store).await;
    let all = select(&mut a, "SELECT INBOX").await;
    assert!(all.contains("* 2 RECENT\r\n"), "{all}");
    let r = a.cmd("f", "FETCH 1 FLAGS").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS (\\Recent))\r\n");
    // RFC 3501 6.4.4: NEW is RECENT UNSEEN, OLD is NOT RECENT.
    a.cmd("g", "STORE 1 +FLAGS.SILENT (\\Seen)").await;
    for (key, want) in [
        ("RECENT", "* SEARCH 1 2\r\n"),
        ("NEW", "* SEARCH 2\r\n"),
        ("OLD", "* SEARCH\r\n"),
    ] {
        let r = a.cmd("h", &format!("SEARCH {key}")).await;
        assert_eq!(r[0], want, "{key}");
    }
    // A second session sees them as not recent; so does STATUS now.
    let all = select(&mut other, "SELECT INBOX").await;
    assert!(all.contains("* 0 RECENT\r\n"), "{all}");
    let r = other.cmd("f", "FETCH 1:2 FLAGS").await;
    assert!(!r.concat().contains("Recent"), "{r:?}");
    let r = other.cmd("o", "SEARCH OLD").await;
    assert_eq!(r[0], "* SEARCH 1 2\r\n");
    let r = other.cmd("t", "STATUS INBOX (RECENT)").await;
    assert_eq!(r[0], "* STATUS \"INBOX\" (RECENT 0)\r\n");
}

#[tokio::test]
async fn rfc3501_2_3_2_arrivals_while_selected_are_recent_in_one_session() {
    let (_d, store, account) = setup().await;
    let mut a = logged_in(&store).await;
    select(&mut a, "SELECT INBOX").await;
    let mut b = logged_in(&store).await;
    select(&mut b, "SELECT INBOX").await;
    deliver(&store, account, "INBOX", msg("one", "a")).await;
    let r = a.cmd("n", "NOOP").await;
    assert_eq!(r[..2], ["* 1 EXISTS\r\n", "* 1 RECENT\r\n"], "{r:?}");
    let r = b.cmd("n", "NOOP").await;
    assert_eq!(r[..2], ["* 1 EXISTS\r\n", "* 0 RECENT\r\n"], "{r:?}");
    // COPY into the mailbox a session has selected: the copies are
    // recent there.
    let r = b.cmd("c", "COPY 1 INBOX").await;
    let all = r.concat();
    assert!(all.contains("* 2 EXISTS\r\n* 1 RECENT\r\n"), "{all}");
    let r = b.cmd("f", "FETCH 2 FLAGS").await;
    assert_eq!(r[0], "* 2 FETCH (FLAGS (\\Recent))\r\n");
}

#[tokio::test]
async fn rfc3501_6_3_2_examine_shows_recent_without_taking_it() {
    let (_d, store, account) = setup().await;
    deliver(&store, account, "INBOX", msg("one", "a")).await;
    let mut a = logged_in(&store).await;
    let all = select(&mut a, "EXAMINE INBOX").await;
    assert!(all.contains("* 1 RECENT\r\n"), "{all}");
    let mut b = logged_in(&store).await;
    let all = select(&mut b, "SELECT INBOX").await;
    assert!(all.contains("* 1 RECENT\r\n"), "{all}");
}

#[tokio::test]
async fn rfc9051_2_3_2_imap4rev2_sessions_have_no_recent_and_take_none() {
    let (_d, store, account) = setup().await;
    deliver(&store, account, "INBOX", msg("one", "a")).await;
    let mut a = logged_in(&store).await;
    a.cmd("e", "ENABLE IMAP4rev2").await;
    let all = select(&mut a, "SELECT INBOX").await;
    assert!(!all.contains("RECENT"), "{all}");
    let r = a.cmd("f", "FETCH 1 FLAGS").await;
    assert_eq!(r[0], "* 1 FETCH (FLAGS ())\r\n");
    let mut b = logged_in(&store).await;
    let all = select(&mut b, "SELECT INBOX").await;
    assert!(all.contains("* 1 RECENT\r\n"), "{all}");
}

// ---- RFC 3501 6.3.6, 6.3.9; RFC 5258 3: subscriptions ----

#[tokio::test]
async fn rfc3501_6_3_6_create_subscribes_nothing_and_delete_keeps_the_subscription() {
    let (_d, store, _account) = setup().await;
    let mut c = logged_in(&store).await;
    c.cmd("a", "CREATE Work/Projects").await;
    let r = c.cmd("b", "LSUB \"\" Work*").await;
    assert_eq!(r.len(), 1, "nothing subscribed: {r:?}");
    c.cmd("c", "SUBSCRIBE Work/Projects").await;
    c.cmd("d", "DELETE Work/Projects").await;
    // The server MUST NOT remove it unilaterally (RFC 3501 6.3.6).
    let r = c.cmd("e", "LSUB \"\" *").await;
    assert!(r.concat().contains(" \"Work/Projects\"\r\n"), "{r:?}");
    // LIST (SUBSCRIBED) shows it as \NonExistent (RFC 5258 3.1).
    let r = c.cmd("f", "LIST (SUBSCRIBED) \"\" Work/*").await;
    assert_eq!(
        r[0], "* LIST (\\NonExistent \\Subscribed) \"/\" \"Work/Projects\"\r\n",
        "{r:?}"
    );
    // RFC 5258 3.5: under RECURSIVEMATCH, the existing parent of a
    // subscription that outlived its mailbox, and a parent that does not
    // exist either.
    c.cmd("f1", "SUBSCRIBE Gone/Child").await;
    let r = c.cmd("f2", "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %").await;
    for want in [
        "* LIST (\\HasNoChildren) \"/\" \"Work\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
        "* LIST (\\NonExistent) \"/\" \"Gone\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
    ] {
        assert!(r.contains(&want.to_string()), "{want}: {r:?}");
    }
    // A name that never existed may be subscribed too; UNSUBSCRIBE ends it.
    let r = c.cmd("g", "SUBSCRIBE Never").await;
    assert!(r[0].starts_with("g OK"), "{r:?}");
    let r = c.cmd("h", "UNSUBSCRIBE Work/Projects").await;
    assert!(r[0].starts_with("h OK"), "{r:?}");
    let r = c.cmd("i", "LSUB \"\" Work*").await;
    assert_eq!(r.len(), 1, "{r:?}");
    // A plain LIST shows neither.
    let r = c.cmd("j", "LIST \"\" Never").await;
    assert_eq!(r.len(), 1, "{r:?}");
}

#[tokio::test]
async fn rfc3501_6_3_9_lsub_with_percent_shows_an_unsubscribed_parent_as_noselect() {
    let (_d, store, _account) = setup().await;
    let mut c = logged_in(&store).await;
    c.cmd("a", "CREATE Work/Projects").await;
    c.cmd("b", "SUBSCRIBE Work/Projects").await;
    let r = c.cmd("c", "LSUB \"\" W%").await;
    assert_eq!(r[0], "* LSUB (\\Noselect) \"/\" \"Work\"\r\n", "{r:?}");
    assert_eq!(r.len(), 2, "{r:?}");
    let r = c.cmd("d", "LSUB \"\" W*").await;
    assert_eq!(r[0], "* LSUB () \"/\" \"Work/Projects\"\r\n", "{r:?}");
    assert_eq!(r.len(), 2, "{r:?}");
    // RFC 5258 3.5: the parent under RECURSIVEMATCH, with CHILDINFO.
    let r = c.cmd("e", "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" W%").await;
    assert_eq!(
        r[0], "* LIST (\\HasChildren) \"/\" \"Work\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
        "{r:?}"
    );
}
