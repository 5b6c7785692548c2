//! In-memory sessions over a duplex pipe and a SQLite store.

use std::time::Duration;

use tern_imap::Options;
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

#[tokio::test]
async fn plaintext_guard() {
    let (_d, store, _) = setup().await;
    let mut c = connect(&store, false).await;
    let r = c.cmd("a", "CAPABILITY").await;
    assert!(
        r[0].contains("STARTTLS") && r[0].contains("LOGINDISABLED"),
        "{r:?}"
    );
    assert!(!r[0].contains("AUTH="), "{r:?}");
    let r = c.cmd("b", &format!("LOGIN {USER} \"{PASS}\"")).await;
    assert!(r[0].starts_with("b NO [PRIVACYREQUIRED]"), "{r:?}");
    let r = c.cmd("c", "AUTHENTICATE PLAIN").await;
    assert!(r[0].starts_with("c NO [PRIVACYREQUIRED]"), "{r:?}");
    // A password in a literal is refused before it is read: no "+".
    let r = c.cmd("d", "LOGIN bob {8}").await;
    assert!(r[0].starts_with("d NO [PRIVACYREQUIRED]"), "{r:?}");
    let r = c.cmd("e", "SELECT INBOX").await;
    assert!(r[0].starts_with("e BAD"), "{r:?}");
    let r = c.cmd("f", "STARTTLS").await;
    assert!(r[0].starts_with("f OK"), "{r:?}");
    let r = c.cmd("g", "CAPABILITY").await;
    assert!(
        r[0].contains("AUTH=PLAIN") && !r[0].contains("STARTTLS"),
        "{r:?}"
    );
    let r = c.cmd("h", &format!("LOGIN {USER} \"{PASS}\"")).await;
    assert!(r[0].starts_with("h OK"), "{r:?}");
    let r = c.cmd("i", "LOGOUT").await;
    assert!(r[0].starts_with("* BYE"), "{r:?}");
    c.task.await.unwrap();
}

#[tokio::test]
async fn login_failures_and_sasl() {
    let (_d, store, _) = setup().await;
    let mut c = connect(&store, true).await;
    let r = c.cmd("a", &format!("LOGIN {USER} wrong")).await;
    assert!(r[0].starts_with("a NO [AUTHENTICATIONFAILED]"), "{r:?}");
    use base64::Engine;
    let ir = base64::engine::general_purpose::STANDARD.encode(format!("\0{USER}\0{PASS}"));
    c.send("b AUTHENTICATE PLAIN\r\n").await;
    assert_eq!(c.line().await, "+ \r\n");
    c.send("*\r\n").await;
    assert!(c.line().await.starts_with("b BAD"));
    let r = c.cmd("c", &format!("AUTHENTICATE PLAIN {ir}")).await;
    assert!(r[0].starts_with("c OK [CAPABILITY"), "{r:?}");
    let r = c.cmd("d", "LOGIN x y").await;
    assert!(r[0].starts_with("d BAD"), "{r:?}");
}

#[tokio::test]
async fn mailboxes() {
    let (_d, store, _) = setup().await;
    let mut c = logged_in(&store).await;
    let r = c.cmd("a", "LIST \"\" \"\"").await;
    assert_eq!(r[0], "* LIST (\\Noselect) \"/\" \"\"\r\n");
    assert!(c.cmd("b", "CREATE Work/Projects").await[0].starts_with("b OK"));
    assert!(c.cmd("b2", "CREATE Work").await[0].starts_with("b2 NO [ALREADYEXISTS]"));
    assert!(c.cmd("c", "CREATE Entw&APw-rfe").await[0].starts_with("c OK"));
    let r = c.cmd("d", "LIST \"\" *").await;
    let all = r.concat();
    assert!(
        all.contains("* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\""),
        "{all}"
    );
    assert!(
        all.contains("* LIST (\\HasChildren) \"/\" \"Work\""),
        "{all}"
    );
    assert!(all.contains("\"Entw&APw-rfe\""), "{all}");
    let r = c.cmd("e", "LIST \"\" %").await;
    assert!(!r.concat().contains("Work/Projects"));
    assert!(c.cmd("f", "RENAME Work/Projects Work/Done").await[0].starts_with("f OK"));
    assert!(c.cmd("g", "DELETE Work/Done").await[0].starts_with("g OK"));
    assert!(c.cmd("h", "DELETE Nope").await[0].starts_with("h NO [NONEXISTENT]"));
    assert!(c.cmd("i", "SUBSCRIBE Work").await[0].starts_with("i OK"));
    let r = c.cmd("j", "LSUB \"\" *").await;
    assert!(r.concat().contains("* LSUB () \"/\" \"Work\""), "{r:?}");
    let r = c.cmd("k", "NAMESPACE").await;
    assert_eq!(r[0], "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
    let r = c.cmd("l", "STATUS INBOX (MESSAGES UIDNEXT UNSEEN)").await;
    assert_eq!(
        r[0],
        "* STATUS \"INBOX\" (MESSAGES 0 UIDNEXT 1 UNSEEN 0)\r\n"
    );
    let r = c.cmd("m", "FETCH 1 FLAGS").await;
    assert!(r[0].starts_with("m BAD"), "{r:?}");
    let r = c.cmd("n", "ID NIL").await;
    assert!(r[0].starts_with("* ID"), "{r:?}");
    let r = c.cmd("o", "ENABLE CONDSTORE").await;
    assert_eq!(r[0], "* ENABLED CONDSTORE\r\n");
}

#[tokio::test]
async fn append_select_fetch_store_search() {
    let (_d, store, account) = setup().await;
    let mut c = logged_in(&store).await;
    let m = msg("hello", "the body text");
    c.send(&format!(
        "a APPEND INBOX (\\Flagged) \"01-Jan-2024 10:00:00 +0000\" {{{}}}\r\n",
        m.len()
    ))
    .await;
    assert_eq!(c.line().await, "+ Ready for literal data\r\n");
    c.w.write_all(&m).await.unwrap();
    c.send("\r\n").await;
    let r = c.until("a").await;
    assert!(r[0].starts_with("a OK [APPENDUID "), "{r:?}");
    // LITERAL+: no continuation.
    let m2 = msg("second", "other words");
    c.send(&format!("b APPEND INBOX {{{}+}}\r\n", m2.len()))
        .await;
    c.w.write_all(&m2).await.unwrap();
    c.send("\r\n").await;
    assert!(c.until("b").await[0].starts_with("b OK"));
    // Too big: refused before the data.
    let r = c.cmd("b2", "APPEND INBOX {200000}").await;
    assert!(r[0].starts_with("b2 NO [TOOBIG]"), "{r:?}");
    // APPEND keeps the message's summary (ENVELOPE, BODYSTRUCTURE …) with
    // it at once: nothing has FETCHed these yet.
    let inbox = store.mailbox_get(account, "INBOX").await.unwrap().unwrap();
    assert_eq!(
        store
            .message_summaries(inbox.id, &[1, 2])
            .await
            .unwrap()
            .len(),
        2,
        "both APPENDed messages have their summary"
    );

    let r = c.cmd("c", "SELECT INBOX").await;
    let all = r.concat();
    assert!(all.contains("* 2 EXISTS"), "{all}");
    assert!(all.contains("[UIDVALIDITY "), "{all}");
    assert!(r.last().unwrap().starts_with("c OK [READ-WRITE]"), "{all}");

    let r = c
        .cmd("d", "FETCH 1:* (FLAGS UID RFC822.SIZE INTERNALDATE)")
        .await;
    assert!(
        r[0].starts_with("* 1 FETCH (FLAGS (\\Recent \\Flagged) UID 1 RFC822.SIZE "),
        "{r:?}"
    );
    assert!(
        r[0].contains("INTERNALDATE \"01-Jan-2024 10:00:00 +0000\""),
        "{r:?}"
    );
    assert!(
        r[1].starts_with("* 2 FETCH (FLAGS (\\Recent) UID 2"),
        "{r:?}"
    );
    let r = c.cmd("e", "FETCH 1 (ENVELOPE BODYSTRUCTURE)").await;
    assert!(
        r[0].contains("ENVELOPE (\"Mon, 1 Jan 2024 10:00:00 +0000\" \"hello\""),
        "{r:?}"
    );
    assert!(r[0].contains("BODYSTRUCTURE (\"TEXT\" \"PLAIN\""), "{r:?}");
    let r = c
        .cmd("f", "FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject)]")
        .await;
    assert_eq!(r[0], "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {18}\r\n");
    assert_eq!(r[1], "Subject: hello\r\n");
    let r = c.cmd("g", "FETCH 1 BODY[TEXT]<4.4>").await;
    assert_eq!(r[0], "* 1 FETCH (BODY[TEXT]<4> {4}\r\n");
    assert!(
        r[1].starts_with("body FLAGS (\\Recent \\Flagged \\Seen))"),
        "{r:?}"
    );
    let r = c.cmd("h", "UID FETCH 2 (FLAGS)").await;
    assert_eq!(r[0], "* 2 FETCH (UID 2 FLAGS (\\Recent))\r\n");
    // A new keyword is named in FLAGS first (RFC 3501 7.2.6).
    let r = c.cmd("i", "STORE 2 +FLAGS (\\Deleted $Work)").await;
    assert_eq!(
        r[0],
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n"
    );
    assert_eq!(r[2], "* 2 FETCH (FLAGS (\\Recent $Work \\Deleted))\r\n");
    let r = c.cmd("i2", "UID STORE 1 -FLAGS.SILENT (\\Flagged)").await;
    assert!(r[0].starts_with("i2 OK"), "{r:?}");
    let r = c.cmd("j", "SEARCH DELETED").await;
    assert_eq!(r[0], "* SEARCH 2\r\n");
    let r = c.cmd("k", "SEARCH OR SUBJECT hello BODY words").await;
    assert_eq!(r[0], "* SEARCH 1 2\r\n");
    let r = c.cmd("l", "UID SEARCH UNSEEN FROM alice").await;
    assert_eq!(r[0], "* SEARCH 2\r\n");
    let r = c
        .cmd("m", "SEARCH NOT SEEN SINCE 1-Jan-2024 LARGER 10")
        .await;
    assert_eq!(r[0], "* SEARCH 2\r\n");
    let r = c.cmd("m2", "SEARCH HEADER Message-ID second@x 1:2").await;
    assert_eq!(r[0], "* SEARCH 2\r\n");
    let r = c.cmd("n", "FETCH 5 FLAGS").await;
    assert!(r[0].starts_with("n BAD"), "{r:?}");
    let r = c.cmd("o", "EXPUNGE").await;
    assert_eq!(r[0], "* 2 EXPUNGE\r\n");
    assert!(r[1].starts_with("o OK"));
    let r = c.cmd("p", "COPY 1 Nowhere").await;
    assert!(r[0].starts_with("p NO [TRYCREATE]"), "{r:?}");
    let r = c.cmd("q", "COPY 1 Archive").await;
    assert!(r[0].starts_with("q OK [COPYUID "), "{r:?}");
    let r = c.cmd("r", "MOVE 1 Trash").await;
    assert!(r[0].starts_with("* OK [COPYUID "), "{r:?}");
    assert_eq!(r[1], "* 1 EXPUNGE\r\n");
    let r = c.cmd("s", "STATUS Trash (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"Trash\" (MESSAGES 1)\r\n");
    let r = c.cmd("t", "EXAMINE Archive").await;
    assert!(r.last().unwrap().starts_with("t OK [READ-ONLY]"), "{r:?}");
    let r = c.cmd("u", "STORE 1 +FLAGS (\\Seen)").await;
    assert!(r[0].starts_with("u NO"), "{r:?}");
    let r = c.cmd("v", "UNSELECT").await;
    assert!(r[0].starts_with("v OK"));
    let r = c.cmd("w", "FETCH 1 FLAGS").await;
    assert!(r[0].starts_with("w BAD"));
}

#[tokio::test]
async fn two_sessions_and_idle() {
    let (_d, store, account) = setup().await;
    deliver(&store, account, "INBOX", msg("one", "1")).await;
    deliver(&store, account, "INBOX", msg("two", "2")).await;
    let mut a = logged_in(&store).await;
    let mut b = logged_in(&store).await;
    assert!(
        a.cmd("s", "SELECT INBOX")
            .await
            .concat()
            .contains("* 2 EXISTS")
    );
    assert!(
        b.cmd("s", "SELECT INBOX")
            .await
            .concat()
            .contains("* 2 EXISTS")
    );
    b.cmd("x", "STORE 1 +FLAGS.SILENT (\\Deleted)").await;
    b.cmd("y", "EXPUNGE").await;
    // No EXPUNGE during FETCH (RFC 9051 7.5.1), but during NOOP.
    let r = a.cmd("f", "FETCH 2 (UID)").await;
    assert!(!r.concat().contains("EXPUNGE"), "{r:?}");
    let r = a.cmd("n", "NOOP").await;
    assert_eq!(r[0], "* 1 EXPUNGE\r\n", "{r:?}");
    // Flag changes of the other session are reported.
    b.cmd("z", "STORE 1 +FLAGS.SILENT (\\Answered)").await;
    let r = a.cmd("n2", "NOOP").await;
    assert_eq!(
        r[0], "* 1 FETCH (UID 2 FLAGS (\\Recent \\Answered))\r\n",
        "{r:?}"
    );
    // IDLE sees a delivery.
    a.send("i IDLE\r\n").await;
    assert_eq!(a.line().await, "+ idling\r\n");
    deliver(&store, account, "INBOX", msg("three", "3")).await;
    assert_eq!(a.line().await, "* 2 EXISTS\r\n");
    a.send("DONE\r\n").await;
    let r = a.until("i").await;
    assert!(r.last().unwrap().starts_with("i OK"), "{r:?}");
    let r = a.cmd("u", "UID FETCH 1:* (UID)").await;
    assert_eq!(r[0], "* 1 FETCH (UID 2)\r\n");
    assert_eq!(r[1], "* 2 FETCH (UID 3)\r\n");
    a.shutdown.cancel();
    assert_eq!(
        a.line().await,
        "* BYE [UNAVAILABLE] server shutting down\r\n"
    );
}

#[tokio::test]
async fn errors() {
    let (_d, store, _) = setup().await;
    let mut c = connect(&store, true).await;
    let r = c.cmd("a", "FROB").await;
    assert!(r[0].starts_with("a BAD"), "{r:?}");
    let long = "x".repeat(70_000);
    let r = c.cmd("b", &format!("NOOP {long}")).await;
    assert!(r[0].starts_with("b BAD"), "{r:?}");
    let r = c.cmd("c", "NOOP").await;
    assert!(r[0].starts_with("c OK"), "{r:?}");
    // A non-synchronizing literal beyond the limit ends the connection.
    c.send("d APPEND INBOX {999999+}\r\n").await;
    assert!(c.line().await.starts_with("* BYE"));
}

/// Three messages in INBOX, selected.
async fn selected_three(store: &Store, account: i64) -> Client {
    deliver(store, account, "INBOX", msg("one", "apple")).await;
    deliver(store, account, "INBOX", msg("two", "banana")).await;
    deliver(store, account, "INBOX", msg("three", "apple pie")).await;
    let mut c = logged_in(store).await;
    assert!(
        c.cmd("s", "SELECT INBOX")
            .await
            .last()
            .unwrap()
            .starts_with("s OK")
    );
    c
}

#[tokio::test]
async fn esearch_return_options() {
    let (_d, store, account) = setup().await;
    let mut c = selected_three(&store, account).await;
    let r = c
        .cmd("a", "SEARCH RETURN (MIN MAX COUNT ALL) BODY apple")
        .await;
    assert_eq!(
        r[0],
        "* ESEARCH (TAG \"a\") MIN 1 MAX 3 COUNT 2 ALL 1,3\r\n"
    );
    assert!(r[1].starts_with("a OK"), "{r:?}");
    let r = c.cmd("b", "UID SEARCH RETURN () ALL").await;
    assert_eq!(r[0], "* ESEARCH (TAG \"b\") UID ALL 1:3\r\n");
    // No match: only COUNT is given (RFC 4731 3.1).
    let r = c
        .cmd("c", "SEARCH RETURN (MIN MAX COUNT ALL) SUBJECT nothing")
        .await;
    assert_eq!(r[0], "* ESEARCH (TAG \"c\") COUNT 0\r\n");
    let r = c.cmd("d", "SEARCH RETURN (BOGUS) ALL").await;
    assert!(r[0].starts_with("d BAD"), "{r:?}");
    let r = c.cmd("e", "SEARCH RETURN MIN ALL").await;
    assert!(r[0].starts_with("e BAD"), "{r:?}");
    // Without RETURN an IMAP4rev1 session gets the old SEARCH reply.
    let r = c.cmd("f", "SEARCH BODY apple").await;
    assert_eq!(r[0], "* SEARCH 1 3\r\n");
    let r = c.cmd("g", "SEARCH RETURN (COUNT) CHARSET KOI8-R ALL").await;
    assert!(r[0].starts_with("g NO [BADCHARSET"), "{r:?}");
}

#[tokio::test]
async fn searchres_saved_result() {
    let (_d, store, account) = setup().await;
    let mut c = selected_three(&store, account).await;
    // Before any SAVE, `$` is empty.
    let r = c.cmd("a", "FETCH $ (UID)").await;
    assert_eq!(r.len(), 1);
    assert!(r[0].starts_with("a OK"), "{r:?}");
    // SAVE alone: no ESEARCH reply.
    let r = c.cmd("b", "UID SEARCH RETURN (SAVE) BODY apple").await;
    assert_eq!(r.len(), 1, "{r:?}");
    let r = c.cmd("c", "FETCH $ (UID)").await;
    assert_eq!(r[0], "* 1 FETCH (UID 1)\r\n");
    assert_eq!(r[1], "* 3 FETCH (UID 3)\r\n");
    let r = c.cmd("d", "UID STORE $ +FLAGS.SILENT (\\Flagged)").await;
    assert!(r[0].starts_with("d OK"), "{r:?}");
    let r = c.cmd("e", "SEARCH FLAGGED").await;
    assert_eq!(r[0], "* SEARCH 1 3\r\n");
    // `$` inside SEARCH, as a message set and as a UID set.
    let r = c.cmd("f", "SEARCH $ SUBJECT three").await;
    assert_eq!(r[0], "* SEARCH 3\r\n");
    let r = c.cmd("g", "SEARCH NOT UID $").await;
    assert_eq!(r[0], "* SEARCH 2\r\n");
    // A `$` search string is a string.
    let r = c.cmd("h", "SEARCH SUBJECT $").await;
    assert_eq!(r[0], "* SEARCH\r\n");
    // SAVE with MIN only keeps the minimum (RFC 5182 2.4).
    let r = c.cmd("i", "SEARCH RETURN (SAVE MIN) ALL").await;
    assert_eq!(r[0], "* ESEARCH (TAG \"i\") MIN 1\r\n");
    let r = c.cmd("j", "UID FETCH $ (FLAGS)").await;
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(r[0].starts_with("* 1 FETCH (UID 1"), "{r:?}");
    // COPY and MOVE take `$` too; the moved message leaves `$`.
    assert!(c.cmd("k", "COPY $ Archive").await[0].starts_with("k OK [COPYUID"));
    let r = c.cmd("l", "MOVE $ Trash").await;
    assert_eq!(r[1], "* 1 EXPUNGE\r\n", "{r:?}");
    let r = c.cmd("m", "FETCH $ (UID)").await;
    assert_eq!(r.len(), 1, "{r:?}");
    // A failed SEARCH empties `$`.
    c.cmd("n", "SEARCH RETURN (SAVE) ALL").await;
    let r = c.cmd("o", "SEARCH RETURN (SAVE) CHARSET KOI8-R ALL").await;
    assert!(r[0].starts_with("o NO"), "{r:?}");
    let r = c.cmd("p", "FETCH $ (UID)").await;
    assert_eq!(r.len(), 1, "{r:?}");
    // Outside the selected state `$` means nothing.
    c.cmd("q", "UNSELECT").await;
    let r = c.cmd("r", "FETCH $ (UID)").await;
    assert!(r[0].starts_with("r BAD"), "{r:?}");
}

#[tokio::test]
async fn unauthenticate() {
    let (_d, store, _) = setup().await;
    let mut c = connect(&store, true).await;
    let r = c.cmd("a", "UNAUTHENTICATE").await;
    assert!(r[0].starts_with("a BAD"), "{r:?}");
    let r = c.cmd("b", &format!("LOGIN {USER} \"{PASS}\"")).await;
    assert!(r[0].contains("UNAUTHENTICATE"), "{r:?}");
    c.cmd("c", "SELECT INBOX").await;
    let r = c.cmd("d", "UNAUTHENTICATE").await;
    assert!(r[0].starts_with("d OK"), "{r:?}");
    let r = c.cmd("e", "SELECT INBOX").await;
    assert!(r[0].starts_with("e BAD"), "{r:?}");
    let r = c.cmd("f", "CAPABILITY").await;
    assert!(r[0].contains("AUTH=PLAIN"), "{r:?}");
    let r = c.cmd("g", &format!("LOGIN {USER} \"{PASS}\"")).await;
    assert!(r[0].starts_with("g OK"), "{r:?}");
}

#[tokio::test]
async fn list_extended_and_status() {
    let (_d, store, account) = setup().await;
    deliver(&store, account, "INBOX", msg("one", "apple")).await;
    let mut c = logged_in(&store).await;
    assert!(c.cmd("a", "CREATE Work/Projects").await[0].starts_with("a OK"));
    // CREATE subscribes nothing (RFC 3501 6.3.3); the client subscribes
    // the child only.
    assert!(c.cmd("b", "SUBSCRIBE Work/Projects").await[0].starts_with("b OK"));
    // Selection SUBSCRIBED: only subscribed names, marked \Subscribed.
    let r = c.cmd("c", "LIST (SUBSCRIBED) \"\" *").await;
    let all = r.concat();
    assert!(
        all.contains("* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Work/Projects\""),
        "{all}"
    );
    assert!(!all.contains("\"Work\"\r\n"), "{all}");
    // RECURSIVEMATCH: the unsubscribed parent with CHILDINFO.
    let r = c.cmd("d", "LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %").await;
    assert!(
        r.concat()
            .contains("* LIST (\\HasChildren) \"/\" \"Work\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"),
        "{r:?}"
    );
    // Several patterns, RETURN (SUBSCRIBED CHILDREN STATUS …) (RFC 5819).
    let r = c
        .cmd(
            "e",
            "LIST \"\" (INBOX \"Work/*\") RETURN (SUBSCRIBED CHILDREN STATUS (MESSAGES SIZE))",
        )
        .await;
    assert_eq!(
        r[0], "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n",
        "{r:?}"
    );
    let size = msg("one", "apple").len();
    assert_eq!(
        r[1],
        format!("* STATUS \"INBOX\" (MESSAGES 1 SIZE {size})\r\n")
    );
    assert_eq!(
        r[2],
        "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Work/Projects\"\r\n"
    );
    assert!(r[3].starts_with("* STATUS \"Work/Projects\" (MESSAGES 0 SIZE 0)"));
    assert!(r[4].starts_with("e OK"), "{r:?}");
    // SPECIAL-USE selection (RFC 6154).
    let r = c
        .cmd("f", "LIST (SPECIAL-USE) \"\" * RETURN (SPECIAL-USE)")
        .await;
    let all = r.concat();
    assert!(all.contains("\\Sent) \"/\" \"Sent\""), "{all}");
    assert!(!all.contains("INBOX") && !all.contains("Work"), "{all}");
    // Errors.
    let r = c.cmd("g", "LIST (BOGUS) \"\" *").await;
    assert!(r[0].starts_with("g BAD"), "{r:?}");
    let r = c.cmd("h", "LIST (RECURSIVEMATCH) \"\" *").await;
    assert!(r[0].starts_with("h BAD"), "{r:?}");
    let r = c.cmd("i", "LIST \"\" * RETURN (STATUS (BOGUS))").await;
    assert!(r[0].starts_with("i BAD"), "{r:?}");
    let r = c.cmd("j", "LIST \"\" * RETURN (CHILDREN) extra").await;
    assert!(r[0].starts_with("j BAD"), "{r:?}");
    // STATUS=SIZE (RFC 8438).
    let r = c.cmd("k", "STATUS INBOX (SIZE MESSAGES)").await;
    assert_eq!(
        r[0],
        format!("* STATUS \"INBOX\" (SIZE {size} MESSAGES 1)\r\n")
    );
    // LSUB with `%`: an unsubscribed parent of a subscribed name is \Noselect.
    let r = c.cmd("l", "LSUB \"\" %").await;
    assert!(
        r.concat().contains("* LSUB (\\Noselect) \"/\" \"Work\""),
        "{r:?}"
    );
}

#[tokio::test]
async fn create_special_use() {
    let (_d, store, _) = setup().await;
    let mut c = logged_in(&store).await;
    let r = c.cmd("a", "CREATE Old (USE (\\Archive))").await;
    assert!(r[0].starts_with("a OK"), "{r:?}");
    let r = c.cmd("b", "LIST \"\" Old").await;
    assert_eq!(r[0], "* LIST (\\HasNoChildren \\Archive) \"/\" \"Old\"\r\n");
    let r = c.cmd("c", "CREATE V (USE (\\All))").await;
    assert!(r[0].starts_with("c NO [USEATTR]"), "{r:?}");
    let r = c.cmd("d", "CREATE W (USE (\\Junk \\Trash))").await;
    assert!(r[0].starts_with("d NO [USEATTR]"), "{r:?}");
    let r = c.cmd("e", "CREATE X (FOO (\\Junk))").await;
    assert!(r[0].starts_with("e BAD"), "{r:?}");
    let r = c.cmd("f", "CAPABILITY").await;
    for cap in [
        "LIST-EXTENDED",
        "LIST-STATUS",
        "STATUS=SIZE",
        "CREATE-SPECIAL-USE",
    ] {
        assert!(r[0].contains(cap), "{r:?}");
    }
}

#[tokio::test]
async fn enable_imap4rev2() {
    let (_d, store, account) = setup().await;
    deliver(&store, account, "INBOX", msg("one", "apple")).await;
    deliver(&store, account, "INBOX", msg("two", "pear")).await;
    let mut c = logged_in(&store).await;
    let r = c.cmd("a", "CAPABILITY").await;
    assert!(
        r[0].starts_with("* CAPABILITY IMAP4rev1 IMAP4rev2 "),
        "{r:?}"
    );
    // Unknown capabilities are not listed as enabled.
    let r = c.cmd("b", "ENABLE X-UNKNOWN IMAP4rev2").await;
    assert_eq!(r[0], "* ENABLED IMAP4rev2\r\n");
    let r = c.cmd("b2", "ENABLE IMAP4rev2").await;
    assert_eq!(r[0], "* ENABLED\r\n", "already enabled");
    // SELECT: LIST instead of RECENT and UNSEEN (RFC 9051 6.3.2).
    let r = c.cmd("c", "SELECT INBOX").await;
    let all = r.concat();
    assert!(
        all.contains("* 2 EXISTS\r\n* LIST () \"/\" \"INBOX\"\r\n"),
        "{all}"
    );
    assert!(!all.contains("RECENT") && !all.contains("UNSEEN"), "{all}");
    // SEARCH answers ESEARCH.
    let r = c.cmd("d", "SEARCH BODY pear").await;
    assert_eq!(r[0], "* ESEARCH (TAG \"d\") ALL 2\r\n");
    let r = c.cmd("e", "UID SEARCH SUBJECT nothing").await;
    assert_eq!(r[0], "* ESEARCH (TAG \"e\") UID\r\n");
    // UTF-8 mailbox names, no modified UTF-7.
    let r = c.cmd("f", "CREATE \"Entwürfe\"").await;
    assert!(r[0].starts_with("f OK"), "{r:?}");
    let r = c.cmd("g", "LIST \"\" \"Entw*\"").await;
    assert_eq!(r[0], "* LIST (\\HasNoChildren) \"/\" \"Entwürfe\"\r\n");
    let r = c.cmd("h", "CREATE a&b").await;
    assert!(r[0].starts_with("h OK"), "{r:?}");
    let r = c.cmd("i", "STATUS \"Entwürfe\" (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"Entwürfe\" (MESSAGES 0)\r\n");
    // A new SELECT announces that the previous mailbox closed.
    let r = c.cmd("j", "EXAMINE \"a&b\"").await;
    assert_eq!(r[0], "* OK [CLOSED] previous mailbox closed\r\n");
    // An IMAP4rev1 session sees the same names in modified UTF-7.
    let mut old = logged_in(&store).await;
    let r = old.cmd("k", "LIST \"\" \"Entw*\"").await;
    assert_eq!(r[0], "* LIST (\\HasNoChildren) \"/\" \"Entw&APw-rfe\"\r\n");
    let r = old.cmd("l", "LIST \"\" a*").await;
    assert_eq!(r[0], "* LIST (\\HasNoChildren) \"/\" \"a&-b\"\r\n");
    let r = old.cmd("m", "SELECT \"Entwürfe\"").await;
    assert!(r[0].starts_with("m BAD"), "{r:?}");
    // UNAUTHENTICATE forgets IMAP4rev2.
    c.cmd("n", "UNAUTHENTICATE").await;
    c.cmd("o", &format!("LOGIN {USER} \"{PASS}\"")).await;
    let r = c.cmd("p", "ENABLE IMAP4rev2").await;
    assert_eq!(r[0], "* ENABLED IMAP4rev2\r\n");
}

/// The `MODSEQ (n)` of an untagged FETCH line.
fn modseq_of(line: &str) -> u64 {
    let i = line.find("MODSEQ (").expect("MODSEQ in line") + 8;
    line[i..].split(')').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn condstore() {
    let (_d, store, account) = setup().await;
    let mut c = selected_three(&store, account).await;
    // FETCH MODSEQ turns CONDSTORE on (announcing HIGHESTMODSEQ, RFC 7162
    // 3.1); flags then carry MODSEQ.
    let r = c.cmd("a", "FETCH 1:3 (UID MODSEQ)").await;
    assert!(r[0].starts_with("* OK [HIGHESTMODSEQ "), "{r:?}");
    let r = &r[1..];
    let m3 = modseq_of(&r[2]);
    assert!(r[0].starts_with("* 1 FETCH (UID 1 MODSEQ ("), "{r:?}");
    let r = c.cmd("b", "STORE 2 +FLAGS (\\Seen)").await;
    let m2 = modseq_of(&r[0]);
    assert!(m2 > m3, "{r:?}");
    assert!(
        r[0].starts_with("* 2 FETCH (FLAGS (\\Recent \\Seen) MODSEQ ("),
        "{r:?}"
    );
    // CHANGEDSINCE: only what changed after.
    let r = c
        .cmd("c", &format!("FETCH 1:* (FLAGS) (CHANGEDSINCE {m3})"))
        .await;
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(
        r[0],
        format!("* 2 FETCH (FLAGS (\\Recent \\Seen) MODSEQ ({m2}))\r\n")
    );
    // UNCHANGEDSINCE: message 2 changed after m3, so it is MODIFIED.
    let r = c
        .cmd(
            "d",
            &format!("STORE 1:2 (UNCHANGEDSINCE {m3}) +FLAGS (\\Flagged)"),
        )
        .await;
    assert!(
        r[0].starts_with("* 1 FETCH (FLAGS (\\Recent \\Flagged) MODSEQ ("),
        "{r:?}"
    );
    assert!(r[1].starts_with("d OK [MODIFIED 2]"), "{r:?}");
    let r = c
        .cmd(
            "d2",
            &format!("UID STORE 2 (UNCHANGEDSINCE {m2}) +FLAGS.SILENT (\\Draft)"),
        )
        .await;
    assert!(r[0].starts_with("* 2 FETCH (UID 2 MODSEQ ("), "{r:?}");
    assert!(r[1].starts_with("d2 OK STORE"), "{r:?}");
    // SEARCH MODSEQ reports the highest MODSEQ of the matches.
    let r = c.cmd("e", &format!("SEARCH MODSEQ {}", m2 + 1)).await;
    assert!(r[0].starts_with("* SEARCH 1 2 (MODSEQ "), "{r:?}");
    let r = c.cmd("f", "SEARCH RETURN (COUNT) MODSEQ 1").await;
    assert!(
        r[0].starts_with("* ESEARCH (TAG \"f\") COUNT 3 MODSEQ "),
        "{r:?}"
    );
    // SELECT reports HIGHESTMODSEQ; STATUS too.
    let r = c.cmd("g", "SELECT INBOX").await;
    assert!(r.concat().contains("* OK [HIGHESTMODSEQ "), "{r:?}");
    let r = c.cmd("h", "STATUS INBOX (HIGHESTMODSEQ)").await;
    assert!(
        r[0].starts_with("* STATUS \"INBOX\" (HIGHESTMODSEQ "),
        "{r:?}"
    );
    // Another session's flag change comes with its MODSEQ.
    let mut other = logged_in(&store).await;
    other.cmd("s", "SELECT INBOX").await;
    other.cmd("t", "STORE 3 +FLAGS (\\Answered)").await;
    let r = c.cmd("i", "NOOP").await;
    assert!(
        r[0].starts_with("* 3 FETCH (UID 3 FLAGS (\\Answered) MODSEQ ("),
        "{r:?}"
    );
    // SELECT (CONDSTORE) enables it in a fresh session.
    let mut fresh = logged_in(&store).await;
    let r = fresh.cmd("j", "EXAMINE INBOX (CONDSTORE)").await;
    assert!(r.concat().contains("[HIGHESTMODSEQ "), "{r:?}");
    let r = fresh.cmd("k", "ENABLE CONDSTORE").await;
    assert_eq!(r[0], "* ENABLED\r\n", "already on");
}

#[tokio::test]
async fn qresync() {
    let (_d, store, account) = setup().await;
    let mut c = selected_three(&store, account).await;
    let r = c.cmd("a", "SELECT INBOX (QRESYNC (1 1))").await;
    assert!(r[0].starts_with("a BAD"), "before ENABLE QRESYNC: {r:?}");
    // With a mailbox selected, the CONDSTORE that QRESYNC implies comes
    // with HIGHESTMODSEQ (RFC 7162 3.1).
    let r = c.cmd("b", "ENABLE QRESYNC").await;
    assert_eq!(r[0], "* OK [HIGHESTMODSEQ 4] highest\r\n", "{r:?}");
    assert_eq!(r[1], "* ENABLED QRESYNC\r\n");
    let r = c.cmd("c", "SELECT INBOX").await;
    let all = r.concat();
    let hms: u64 = all
        .split("[HIGHESTMODSEQ ")
        .nth(1)
        .and_then(|x| x.split(']').next())
        .unwrap()
        .parse()
        .unwrap();
    let uv: u32 = all
        .split("[UIDVALIDITY ")
        .nth(1)
        .and_then(|x| x.split(']').next())
        .unwrap()
        .parse()
        .unwrap();
    // Changes the client will have missed: a flag, an expunge.
    let mut other = logged_in(&store).await;
    other.cmd("s", "SELECT INBOX").await;
    other.cmd("t", "STORE 2 +FLAGS (\\Flagged)").await;
    other.cmd("u", "STORE 1 +FLAGS (\\Deleted)").await;
    other.cmd("v", "EXPUNGE").await;
    // Not during FETCH, STORE or SEARCH (RFC 7162 3.2.10, RFC 9051 7.5.1) …
    let r = c.cmd("d0", "FETCH 1:* (FLAGS)").await;
    assert!(!r.concat().contains("VANISHED"), "{r:?}");
    let r = c.cmd("d1", "SEARCH ALL").await;
    assert!(!r.concat().contains("VANISHED"), "{r:?}");
    // … but VANISHED instead of EXPUNGE at NOOP in a QRESYNC session.
    let r = c.cmd("d", "NOOP").await;
    assert!(r.contains(&"* VANISHED 1\r\n".to_string()), "{r:?}");
    // Resync from the old state: VANISHED (EARLIER) and the changed flags.
    let r = c
        .cmd("e", &format!("SELECT INBOX (QRESYNC ({uv} {hms} 1:3))"))
        .await;
    let all = r.concat();
    assert!(all.starts_with("* OK [CLOSED]"), "{all}");
    assert!(all.contains("* VANISHED (EARLIER) 1\r\n"), "{all}");
    assert!(
        all.contains("* 1 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ ("),
        "{all}"
    );
    assert!(!all.contains("UID 3 FLAGS"), "{all}");
    // A stale UIDVALIDITY gets a plain SELECT.
    let r = c
        .cmd("f", &format!("SELECT INBOX (QRESYNC ({} {hms}))", uv + 1))
        .await;
    assert!(!r.concat().contains("VANISHED"), "{r:?}");
    // UID FETCH … (CHANGEDSINCE n VANISHED).
    let r = c
        .cmd(
            "g",
            &format!("UID FETCH 1:* (FLAGS) (CHANGEDSINCE {hms} VANISHED)"),
        )
        .await;
    assert_eq!(r[0], "* VANISHED (EARLIER) 1\r\n", "{r:?}");
    assert!(
        r[1].starts_with("* 1 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ"),
        "{r:?}"
    );
    let r = c
        .cmd("h", "FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)")
        .await;
    assert!(r[0].starts_with("h BAD"), "VANISHED needs UID FETCH: {r:?}");
    // UID EXPUNGE answers VANISHED too.
    c.cmd("i", "UID STORE 3 +FLAGS.SILENT (\\Deleted)").await;
    let r = c.cmd("j", "UID EXPUNGE 3").await;
    assert_eq!(r[0], "* VANISHED 3\r\n", "{r:?}");
}

#[tokio::test]
async fn appendlimit() {
    let (_d, store, _) = setup().await;
    let mut c = logged_in(&store).await;
    // RFC 7889: the literal limit (100000 in these tests) for every mailbox.
    let r = c.cmd("a", "CAPABILITY").await;
    assert!(r[0].contains(" APPENDLIMIT=100000"), "{r:?}");
    let r = c.cmd("b", "STATUS INBOX (MESSAGES APPENDLIMIT)").await;
    assert_eq!(
        r[0],
        "* STATUS \"INBOX\" (MESSAGES 0 APPENDLIMIT 100000)\r\n"
    );
    let r = c.cmd("c", "STATUS INBOX (APPENDLIMIT)").await;
    assert_eq!(r[0], "* STATUS \"INBOX\" (APPENDLIMIT 100000)\r\n");
    let r = c
        .cmd("d", "LIST \"\" INBOX RETURN (STATUS (APPENDLIMIT))")
        .await;
    assert_eq!(r[1], "* STATUS \"INBOX\" (APPENDLIMIT 100000)\r\n", "{r:?}");
    // Beyond it: a synchronizing literal is refused before it is read …
    let r = c.cmd("e", "APPEND INBOX {100001}").await;
    assert!(r[0].starts_with("e NO [TOOBIG]"), "{r:?}");
    // … a non-synchronizing one ends the connection (RFC 7888 4).
    c.send("f APPEND INBOX {100001+}\r\n").await;
    assert!(c.line().await.starts_with("* BYE"));
}

#[tokio::test]
async fn utf8_accept() {
    let (_d, store, _) = setup().await;
    let mut c = logged_in(&store).await;
    let r = c.cmd("a", "CAPABILITY").await;
    assert!(r[0].contains(" UTF8=ACCEPT"), "{r:?}");
    // The UTF8 APPEND form needs UTF8=ACCEPT.
    let r = c.cmd("b", "APPEND INBOX UTF8 (~{3+}\r\nabc)").await;
    assert!(r[0].starts_with("b BAD"), "{r:?}");
    let r = c.cmd("c", "ENABLE UTF8=ACCEPT").await;
    assert_eq!(r[0], "* ENABLED UTF8=ACCEPT\r\n");
    // Mailbox names are UTF-8 now, without IMAP4rev2.
    let r = c.cmd("d", "CREATE \"Größe\"").await;
    assert!(r[0].starts_with("d OK"), "{r:?}");
    let r = c.cmd("e", "LIST \"\" \"Gr*\"").await;
    assert_eq!(r[0], "* LIST (\\HasNoChildren) \"/\" \"Größe\"\r\n");
    let m = "Subject: Grüße\r\nFrom: a@example.org\r\n\r\nhé\r\n";
    let r = c
        .cmd(
            "f",
            &format!("APPEND \"Größe\" UTF8 (~{{{}+}}\r\n{m})", m.len()),
        )
        .await;
    assert!(r[0].starts_with("f OK [APPENDUID"), "{r:?}");
    let r = c.cmd("g", "STATUS \"Größe\" (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"Größe\" (MESSAGES 1)\r\n");
    // SEARCH with UTF-8 strings, case-insensitive beyond ASCII.
    c.cmd("h", "SELECT \"Größe\"").await;
    let r = c.cmd("i", "SEARCH CHARSET UTF-8 SUBJECT \"GRÜSSE\"").await;
    assert_eq!(r[0], "* SEARCH\r\n", "ß is not SS here: {r:?}");
    let r = c
        .cmd("j", "SEARCH CHARSET UTF-8 SUBJECT \"GRÜ\" BODY \"HÉ\"")
        .await;
    assert_eq!(r[0], "* SEARCH 1\r\n", "{r:?}");
}

#[tokio::test]
async fn rename_inbox_and_hierarchy() {
    let (_d, store, account) = setup().await;
    deliver(&store, account, "INBOX", msg("one", "1")).await;
    deliver(&store, account, "INBOX", msg("two", "2")).await;
    let mut c = logged_in(&store).await;
    // RFC 9051 6.3.6: renaming INBOX moves its messages; INBOX stays, empty.
    let r = c.cmd("a", "RENAME INBOX \"Old Mail\"").await;
    assert!(r[0].starts_with("a OK"), "{r:?}");
    let r = c.cmd("b", "STATUS INBOX (MESSAGES UIDNEXT)").await;
    assert!(r[0].starts_with("* STATUS \"INBOX\" (MESSAGES 0 "), "{r:?}");
    let r = c.cmd("c", "STATUS \"Old Mail\" (MESSAGES)").await;
    assert_eq!(r[0], "* STATUS \"Old Mail\" (MESSAGES 2)\r\n");
    // A mailbox renamed with its children.
    c.cmd("d", "CREATE Work/Projects").await;
    let r = c.cmd("e", "RENAME Work Jobs").await;
    assert!(r[0].starts_with("e OK"), "{r:?}");
    let r = c.cmd("f", "LIST \"\" Jobs*").await;
    let all = r.concat();
    assert!(
        all.contains("\"Jobs\"\r\n") && all.contains("\"Jobs/Projects\"\r\n"),
        "{all}"
    );
    // Errors: an existing target, a missing source.
    let r = c.cmd("g", "RENAME Jobs Sent").await;
    assert!(r[0].starts_with("g NO [ALREADYEXISTS]"), "{r:?}");
    let r = c.cmd("h", "RENAME Nope Other").await;
    assert!(r[0].starts_with("h NO [NONEXISTENT]"), "{r:?}");
}

#[tokio::test]
async fn saved_result_in_sort_and_thread() {
    let (_d, store, account) = setup().await;
    let mut c = selected_three(&store, account).await;
    c.cmd("a", "SEARCH RETURN (SAVE) BODY apple").await;
    let r = c.cmd("b", "SORT (REVERSE SUBJECT) UTF-8 $").await;
    assert_eq!(r[0], "* SORT 3 1\r\n", "{r:?}");
    let r = c.cmd("c", "UID THREAD ORDEREDSUBJECT UTF-8 UID $").await;
    assert!(r[0].starts_with("* THREAD "), "{r:?}");
    assert!(!r[0].contains('2'), "{r:?}");
}

/// A connection that has not logged in may not stall: one that stops in
/// the middle of a command is closed after the login timeout, while a
/// logged-in session waits out its (30-minute) autologout timer.
#[tokio::test]
async fn a_stalled_connection_before_login_is_closed() {
    let (_dir, store, _) = setup().await;
    let quick = Options {
        login_timeout: Duration::from_millis(200),
        ..opts()
    };
    let mut c = connect_with(&store, true, quick.clone()).await;
    c.send("a LOGIN alice").await;
    let bye = c.line().await;
    assert!(bye.starts_with("* BYE"), "{bye}");
    assert_eq!(c.line().await, "", "closed");

    let mut c = connect_with(&store, true, quick).await;
    let r = c.cmd("l", &format!("LOGIN {USER} \"{PASS}\"")).await;
    assert!(r.last().unwrap().starts_with("l OK"), "{r:?}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = c.cmd("n", "NOOP").await;
    assert!(r.last().unwrap().starts_with("n OK"), "{r:?}");
}
