//! The store conformance suite: every test runs against SQLite and against
//! PostgreSQL. PostgreSQL is found at `TERN_TEST_PG` (default
//! `postgres://tern:tern@127.0.0.1:5432/postgres`, which
//! `scripts/ci-deps.sh` sets up); each test creates and drops its own
//! database. A missing PostgreSQL fails these tests — it is never skipped.

use std::path::PathBuf;
use std::time::Duration;

use tern_common::Address;
use tern_common::config::{StoreConfig, StoreKind};
use tern_store::{ChangeKind, FlagOp, MailboxSel, NewMessage, Resolution, Store, StoreError};

#[path = "conformance/credentials.rs"]
mod credentials;
use credentials::{api_tokens, app_passwords, disabled_accounts, srs_secrets};
#[path = "conformance/sieve.rs"]
mod sieve;
use sieve::{sieve_scripts, sieve_seen_ids};
#[path = "conformance/web.rs"]
mod web;
use web::{
    daily_tally, domain_policies, screener_and_vips, snoozed_messages, spam_models,
    web_admin_role_and_second_factor, web_sessions,
};
#[path = "conformance/reports.rs"]
mod reports;
use reports::{report_state, reports_received};
#[path = "conformance/source_get.rs"]
mod source_get;
use source_get::{deliveries_once_by_key, source_get_receiver, source_get_sender};
#[path = "conformance/dav.rs"]
mod dav;
use dav::{
    dav_account_removal_cascades, dav_collections, dav_concurrent_writers, dav_move_and_copy,
    dav_quota, dav_resources_and_conditions, dav_sync_changes, dav_time_ranges,
};

fn addr(s: &str) -> Address {
    Address::parse(s).unwrap()
}

/// A store of one backend, torn down when dropped.
struct Fixture {
    store: Store,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Fixture {
    fn pg_admin_url() -> String {
        std::env::var("TERN_TEST_PG")
            .unwrap_or_else(|_| "postgres://tern:tern@127.0.0.1:5432/postgres".into())
    }

    async fn new(kind: StoreKind) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        match kind {
            StoreKind::Sqlite => {
                let store = Store::open_sqlite_for_tests(dir.path()).await.unwrap();
                Fixture {
                    store,
                    _dir: dir,
                    pg: None,
                }
            }
            StoreKind::Postgres => {
                let (admin, url) = create_pg_db().await;
                let store = open_pg(&url, dir.path().to_path_buf()).await;
                Fixture {
                    store,
                    _dir: dir,
                    pg: Some((admin, url)),
                }
            }
        }
    }

    /// A second node on the same database (PostgreSQL only).
    async fn second_node(&self) -> Store {
        let (_, url) = self.pg.as_ref().expect("postgres fixture");
        open_pg(url, self._dir.path().to_path_buf()).await
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some((admin, url)) = self.pg.take() {
            let db = url.rsplit('/').next().unwrap().to_string();
            // A fresh runtime: Drop may run after the test's runtime is gone.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
                        )))
                        .execute(&mut c)
                        .await;
                    }
                });
            })
            .join()
            .ok();
        }
    }
}

async fn create_pg_db() -> (String, String) {
    use sqlx::Connection;
    let admin = Fixture::pg_admin_url();
    let mut c = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is required for the store conformance suite ({admin}): {e}; run scripts/ci-deps.sh")
    });
    let db = format!("tern_test_{}_{:08x}", std::process::id(), rand_u32());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut c)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0;
    (admin.clone(), format!("{base}/{db}"))
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    h.finish() as u32
}

async fn open_pg(url: &str, dir: PathBuf) -> Store {
    let cfg = StoreConfig {
        kind: StoreKind::Postgres,
        url: Some(url.to_string()),
        max_connections: 4,
    };
    Store::open(&cfg, &dir).await.unwrap()
}

fn msg(account_id: i64, body: &str) -> NewMessage {
    NewMessage {
        account_id,
        mailbox: MailboxSel::Name("INBOX".into()),
        bytes: format!("Subject: t\r\n\r\n{body}\r\n").into_bytes(),
        flags: vec![],
        internal_date: 1_700_000_000,
        internal_zone: 0,
        summary: None,
    }
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Fixture::new(tern_common::config::StoreKind::Sqlite).await).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Fixture::new(tern_common::config::StoreKind::Postgres).await).await }
            )*
        }
    };
}

conformance!(
    spooled_delivery_is_byte_exact,
    domains,
    accounts_and_credentials,
    aliases_catch_all_and_plus,
    delivery_assigns_ascending_uids,
    concurrent_deliveries_group_commit,
    quota_refuses_whole_delivery,
    flags_and_modseq,
    concurrent_flag_changes_all_apply,
    message_lists_are_shared_while_unchanged,
    message_lists_catch_up_from_the_held_one,
    message_lists_after_a_change_event,
    expunge_and_vanished,
    copy_and_move,
    mailboxes_lifecycle,
    change_events,
    audit_log,
    greylisting,
    queue_lifecycle,
    queue_pause_gives_back_without_an_attempt,
    queue_claims_are_exclusive,
    leases_are_exclusive_across_nodes,
    sender_identities,
    dmarc_records,
    message_summaries,
    concurrent_writers,
    crossing_writers_on_two_nodes_never_deadlock,
    new_addresses_are_never_paths_or_look_alikes,
    login_keys_name_the_account,
    messages_read_in_chunks,
    recent_messages_are_claimed_once,
    internal_dates_keep_their_zone,
    mta_sts_policies,
    health_queries,
    api_tokens,
    app_passwords,
    disabled_accounts,
    srs_secrets,
    sieve_scripts,
    sieve_seen_ids,
    dav_collections,
    dav_resources_and_conditions,
    dav_quota,
    dav_sync_changes,
    dav_move_and_copy,
    dav_time_ranges,
    dav_concurrent_writers,
    dav_account_removal_cascades,
    web_admin_role_and_second_factor,
    web_sessions,
    daily_tally,
    domain_policies,
    spam_models,
    screener_and_vips,
    snoozed_messages,
    report_state,
    reports_received,
    source_get_sender,
    source_get_receiver,
    deliveries_once_by_key,
);

async fn domains(f: Fixture) {
    let s = &f.store;
    assert_eq!(s.domain_add("Example.ORG").await.unwrap(), "example.org");
    assert!(matches!(
        s.domain_add("example.org").await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(matches!(
        s.domain_add("bad domain").await,
        Err(StoreError::Invalid(_))
    ));
    s.domain_add("bücher.example").await.unwrap();
    let names: Vec<String> = s
        .domain_list()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(names, vec!["example.org", "xn--bcher-kva.example"]);
    assert!(s.is_local_domain("EXAMPLE.org").await.unwrap());
    s.account_add(&addr("a@example.org"), "pw", 0)
        .await
        .unwrap();
    assert!(matches!(
        s.domain_remove("example.org", false).await,
        Err(StoreError::DomainNotEmpty { .. })
    ));
    assert_eq!(
        s.domain_list().await.unwrap().len(),
        2,
        "refused removal changes nothing"
    );
    s.domain_remove("example.org", true).await.unwrap();
    assert!(!s.is_local_domain("example.org").await.unwrap());
    assert!(
        s.account_get(&addr("a@example.org"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        s.domain_remove("nope.example", false).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn accounts_and_credentials(f: Fixture) {
    let s = &f.store;
    assert!(matches!(
        s.account_add(&addr("a@example.org"), "pw", 0).await,
        Err(StoreError::NotFound(_))
    ));
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("Alice@Example.org"), "s3cret", 1000)
        .await
        .unwrap();
    assert_eq!(a.name, "alice@example.org");
    assert_eq!(a.quota, 1000);
    assert!(matches!(
        s.account_add(&addr("alice@example.org"), "x", 0).await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(matches!(
        s.account_add(&addr("bob@example.org"), "", 0).await,
        Err(StoreError::Invalid(_))
    ));
    let boxes: Vec<(String, Option<String>)> = s
        .mailbox_list(a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.special_use))
        .collect();
    for (n, su) in tern_store::SPECIAL_MAILBOXES {
        assert!(
            boxes.contains(&(n.to_string(), su.map(str::to_string))),
            "{n} missing: {boxes:?}"
        );
    }
    assert_eq!(
        s.authenticate("ALICE@example.org", "s3cret")
            .await
            .unwrap()
            .map(|l| (l.account.id, l.credential)),
        Some((a.id, tern_store::Credential::Password))
    );
    assert!(
        s.authenticate("alice@example.org", "wrong")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.authenticate("nobody@example.org", "s3cret")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.authenticate("not an address", "s3cret")
            .await
            .unwrap()
            .is_none()
    );
    s.account_set_password(&addr("alice@example.org"), "new")
        .await
        .unwrap();
    assert!(
        s.authenticate("alice@example.org", "s3cret")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.authenticate("alice@example.org", "new")
            .await
            .unwrap()
            .is_some()
    );
    s.address_add(&addr("alice@example.org"), &addr("al@example.org"))
        .await
        .unwrap();
    assert!(
        s.authenticate("al@example.org", "new")
            .await
            .unwrap()
            .is_some(),
        "any address logs in"
    );
    s.account_add(&addr("bob@example.org"), "pw", 0)
        .await
        .unwrap();
    assert_eq!(s.account_list(Some("example.org")).await.unwrap().len(), 2);
    s.account_remove(&addr("bob@example.org")).await.unwrap();
    assert_eq!(s.account_list(None).await.unwrap().len(), 1);
    assert!(matches!(
        s.account_remove(&addr("bob@example.org")).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn aliases_catch_all_and_plus(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    let b = s
        .account_add(&addr("bob@example.org"), "pw", 0)
        .await
        .unwrap();
    s.alias_add(
        &addr("team@example.org"),
        &[
            addr("alice@example.org"),
            addr("bob@example.org"),
            addr("x@remote.example"),
        ],
    )
    .await
    .unwrap();
    s.alias_add(
        &addr("all@example.org"),
        &[addr("team@example.org"), addr("alice@example.org")],
    )
    .await
    .unwrap();
    assert!(matches!(
        s.alias_add(&addr("alice@example.org"), &[addr("bob@example.org")])
            .await,
        Err(StoreError::Duplicate(_))
    ));
    let ids = |r: Resolution| match r {
        Resolution::Local { accounts, remote } => (
            accounts
                .into_iter()
                .map(|t| t.account_id)
                .collect::<Vec<_>>(),
            remote.len(),
        ),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        ids(s.resolve(&addr("ALICE@example.org")).await.unwrap()),
        (vec![a.id], 0)
    );
    assert_eq!(
        ids(s.resolve(&addr("team@example.org")).await.unwrap()),
        (vec![a.id, b.id], 1)
    );
    assert_eq!(
        ids(s.resolve(&addr("all@example.org")).await.unwrap()),
        (vec![a.id, b.id], 1),
        "deduplicated"
    );
    assert_eq!(
        ids(s.resolve(&addr("alice+lists@example.org")).await.unwrap()),
        (vec![a.id], 0)
    );
    assert_eq!(
        s.resolve(&addr("carol@example.org")).await.unwrap(),
        Resolution::UnknownUser
    );
    assert_eq!(
        s.resolve(&addr("alice@other.example")).await.unwrap(),
        Resolution::NotLocal
    );
    s.domain_set_catch_all("example.org", Some(&addr("bob@example.org")))
        .await
        .unwrap();
    assert_eq!(
        ids(s.resolve(&addr("carol@example.org")).await.unwrap()),
        (vec![b.id], 0)
    );
    let list = s.alias_list(Some("example.org")).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].targets.len(), 3);
    s.alias_remove(&addr("team@example.org")).await.unwrap();
    assert!(matches!(
        s.alias_remove(&addr("team@example.org")).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn delivery_assigns_ascending_uids(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    let d1 = s.deliver(vec![msg(a.id, "one")]).await.unwrap();
    let d2 = s
        .deliver(vec![msg(a.id, "two"), msg(a.id, "three")])
        .await
        .unwrap();
    assert_eq!(d1[0].uid, 1);
    assert_eq!((d2[0].uid, d2[1].uid), (2, 3));
    let inbox = s.mailbox_get(a.id, "inbox").await.unwrap().unwrap();
    assert_eq!(inbox.uidnext, 4);
    let m = s.messages(inbox.id).await.unwrap();
    assert_eq!(m.iter().map(|m| m.uid).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(
        s.message_bytes(inbox.id, 2).await.unwrap(),
        b"Subject: t\r\n\r\ntwo\r\n"
    );
    let acc = s
        .account_get(&addr("alice@example.org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acc.used, m.iter().map(|m| m.size).sum::<u64>());
    assert!(matches!(
        s.message_bytes(inbox.id, 99).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn concurrent_deliveries_group_commit(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.deliver(vec![msg(a.id, &format!("m{i}"))]).await.unwrap()[0].uid
        }));
    }
    let mut uids = Vec::new();
    for t in tasks {
        uids.push(t.await.unwrap());
    }
    uids.sort();
    assert_eq!(uids, (1..=40).collect::<Vec<u32>>(), "every UID once");
}

/// A message whose body is in a spool file (SMTP's large messages): each
/// copy is its own header bytes and then the body octets, exactly; over
/// quota, nothing of it is stored and the spool file stays the caller's.
async fn spooled_delivery_is_byte_exact(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    let b = s
        .account_add(&addr("bob@example.org"), "pw", 1000)
        .await
        .unwrap();
    let mut file = b"skipped Subject: big\r\n".to_vec();
    for i in 0..20_000u32 {
        file.extend_from_slice(format!("\r\nline {i} .. \x01").as_bytes());
        file.push(0xff);
    }
    let spool = f._dir.path().join("spool-file");
    std::fs::write(&spool, &file).unwrap();
    let body = tern_store::SpooledBody {
        path: spool.clone(),
        offset: 8,
        len: file.len() as u64 - 8,
    };
    let copy = |account_id: i64, head: &str| NewMessage {
        bytes: head.as_bytes().to_vec(),
        ..msg(account_id, "")
    };
    let d = s
        .deliver_spooled(vec![copy(a.id, "Delivered-To: alice\r\n")], &body)
        .await
        .unwrap();
    let got = s.message_bytes(d[0].mailbox_id, d[0].uid).await.unwrap();
    let mut want = b"Delivered-To: alice\r\n".to_vec();
    want.extend_from_slice(&file[8..]);
    assert!(
        got == want,
        "byte-exact ({} vs {} octets)",
        got.len(),
        want.len()
    );
    let r = s
        .deliver_spooled(
            vec![
                copy(a.id, "Delivered-To: alice\r\n"),
                copy(b.id, "X: bob\r\n"),
            ],
            &body,
        )
        .await;
    assert!(matches!(r, Err(StoreError::OverQuota { .. })), "{r:?}");
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    assert_eq!(
        s.messages(inbox.id).await.unwrap().len(),
        1,
        "no partial copy"
    );
    assert!(spool.exists(), "the spool file is the caller's to remove");
    if let Some((_, url)) = &f.pg {
        // The large objects the body went through are gone, delivered or not.
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_largeobject_metadata")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(left, 0);
    }
}

async fn quota_refuses_whole_delivery(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 60)
        .await
        .unwrap();
    let b = s
        .account_add(&addr("bob@example.org"), "pw", 0)
        .await
        .unwrap();
    s.deliver(vec![msg(a.id, "fits")]).await.unwrap();
    let r = s
        .deliver(vec![
            msg(b.id, "x"),
            msg(a.id, "this one is too big for what is left"),
        ])
        .await;
    assert!(matches!(r, Err(StoreError::OverQuota { .. })), "{r:?}");
    let binbox = s.mailbox_get(b.id, "INBOX").await.unwrap().unwrap();
    assert!(
        s.messages(binbox.id).await.unwrap().is_empty(),
        "no partial copy"
    );
    assert_eq!(
        s.account_get(&addr("bob@example.org"))
            .await
            .unwrap()
            .unwrap()
            .used,
        0
    );
}

async fn flags_and_modseq(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    s.deliver(vec![msg(a.id, "one"), msg(a.id, "two")])
        .await
        .unwrap();
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let before = s.messages(inbox.id).await.unwrap();
    let (changed, failed) = s
        .store_flags(
            inbox.id,
            &[1],
            FlagOp::Add,
            &["\\seen".into(), "$Work".into()],
            None,
        )
        .await
        .unwrap();
    assert!(failed.is_empty());
    assert_eq!(changed[0].1.flags, vec!["$Work", "\\Seen"]);
    assert!(changed[0].1.modseq > before[0].modseq);
    let (_, failed) = s
        .store_flags(
            inbox.id,
            &[1, 2],
            FlagOp::Add,
            &["\\Flagged".into()],
            Some(before[1].modseq),
        )
        .await
        .unwrap();
    assert_eq!(
        failed,
        vec![1],
        "UNCHANGEDSINCE refuses the message changed since"
    );
    s.store_flags(inbox.id, &[1], FlagOp::Remove, &["$work".into()], None)
        .await
        .unwrap();
    s.store_flags(inbox.id, &[2], FlagOp::Replace, &["\\Draft".into()], None)
        .await
        .unwrap();
    let after = s.messages(inbox.id).await.unwrap();
    assert_eq!(after[0].flags, vec!["\\Seen"]);
    assert_eq!(after[1].flags, vec!["\\Draft"]);
    let mb = s.mailbox_by_id(inbox.id).await.unwrap().unwrap();
    assert_eq!(
        mb.highestmodseq,
        after.iter().map(|m| m.modseq).max().unwrap()
    );
}

/// Many sessions changing flags of one mailbox at once: none fails (no
/// SQLite busy error on a read-then-write transaction) and none is lost
/// (each read-modify-write of a message's flags sees the one before).
async fn concurrent_flag_changes_all_apply(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    s.deliver((0..4).map(|i| msg(a.id, &format!("m{i}"))).collect())
        .await
        .unwrap();
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let mut tasks = Vec::new();
    for k in 0..16u32 {
        let s = s.clone();
        let id = inbox.id;
        tasks.push(tokio::spawn(async move {
            for round in 0..5u32 {
                let uid = 1 + (k + round) % 4;
                s.store_flags(id, &[uid], FlagOp::Add, &[format!("$k{k}")], None)
                    .await
                    .map_err(|e| format!("session {k}: {e}"))?;
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let msgs = s.messages(inbox.id).await.unwrap();
    for k in 0..16u32 {
        for round in 0..5u32 {
            let uid = 1 + (k + round) % 4;
            let m = &msgs[uid as usize - 1];
            assert!(
                m.flags.contains(&format!("$k{k}")),
                "$k{k} lost on message {uid}: {:?}",
                m.flags
            );
        }
    }
}

/// Sessions in the same state of a mailbox share one message list; any
/// change gives the next reader a new one.
async fn message_lists_are_shared_while_unchanged(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    s.deliver(vec![msg(a.id, "one"), msg(a.id, "two")])
        .await
        .unwrap();
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let first = s.messages_shared(inbox.id).await.unwrap();
    let second = s.messages_shared(inbox.id).await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &second));
    assert_eq!(*first, s.messages(inbox.id).await.unwrap());
    s.store_flags(inbox.id, &[2], FlagOp::Add, &["\\Seen".into()], None)
        .await
        .unwrap();
    let third = s.messages_shared(inbox.id).await.unwrap();
    assert!(!std::sync::Arc::ptr_eq(&first, &third));
    assert_eq!(third[1].flags, vec!["\\Seen"]);
    assert!(first[1].flags.is_empty(), "a held list never changes");
    s.deliver(vec![msg(a.id, "three")]).await.unwrap();
    assert_eq!(s.messages_shared(inbox.id).await.unwrap().len(), 3);
}

/// Sessions woken together by one delivery's change event: each asks for
/// the list at least as new as the event's HIGHESTMODSEQ; all get the same
/// list, which holds the new message.
async fn message_lists_after_a_change_event(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    s.deliver(vec![msg(a.id, "one")]).await.unwrap();
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let held = s.messages_shared(inbox.id).await.unwrap();
    let mut events = s.subscribe(a.id);
    s.deliver(vec![msg(a.id, "two")]).await.unwrap();
    let change = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event in time")
        .expect("the delivery's event");
    assert_eq!(change.mailbox_id, inbox.id);
    let woken: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.messages_shared_since(inbox.id, change.modseq).await })
        })
        .collect();
    let mut lists = Vec::new();
    for w in woken {
        lists.push(w.await.unwrap().unwrap());
    }
    assert_eq!(lists[0].len(), 2, "the new message is in");
    assert!(
        lists.iter().all(|l| std::sync::Arc::ptr_eq(l, &lists[0])),
        "one list for all of them"
    );
    assert_eq!(*lists[0], s.messages(inbox.id).await.unwrap());
    assert_eq!(held.len(), 1, "a held list never changes");
    // A list at least that new answers later callers, and plain
    // `messages_shared` agrees.
    assert!(std::sync::Arc::ptr_eq(
        &s.messages_shared(inbox.id).await.unwrap(),
        &lists[0]
    ));
    // They all claim what is \Recent: one gets both messages, the others
    // nothing, and later askers learn it.
    let claims: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.recent_claim_seen(inbox.id, 3).await })
        })
        .collect();
    let mut got = Vec::new();
    for c in claims {
        got.push(c.await.unwrap().unwrap());
    }
    assert_eq!(got.iter().filter(|r| **r == (1..3)).count(), 1, "{got:?}");
    assert!(got.iter().all(|r| *r == (1..3) || r.is_empty()), "{got:?}");
    assert_eq!(s.recent_claim_seen(inbox.id, 3).await.unwrap(), 0..0);
    assert_eq!(s.recent_claim(inbox.id).await.unwrap(), 0..0);
    // A newer message is claimed again by the first to see it.
    s.deliver(vec![msg(a.id, "three")]).await.unwrap();
    assert_eq!(s.recent_claim_seen(inbox.id, 4).await.unwrap(), 3..4);
}

/// A newer list is made from the one still held plus what changed since
/// (flags, appends, expunges), and always equals a fresh read — also while
/// other writers go on concurrently.
async fn message_lists_catch_up_from_the_held_one(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    let bodies: Vec<NewMessage> = (0..20).map(|i| msg(a.id, &format!("m{i}"))).collect();
    s.deliver(bodies).await.unwrap();
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let mut held = s.messages_shared(inbox.id).await.unwrap();
    s.store_flags(inbox.id, &[3, 4], FlagOp::Add, &["\\Deleted".into()], None)
        .await
        .unwrap();
    s.store_flags(inbox.id, &[7], FlagOp::Add, &["$Work".into()], None)
        .await
        .unwrap();
    s.expunge_deleted(inbox.id, None).await.unwrap();
    s.deliver(vec![msg(a.id, "new")]).await.unwrap();
    let caught_up = s.messages_shared(inbox.id).await.unwrap();
    assert_eq!(*caught_up, s.messages(inbox.id).await.unwrap());
    assert_eq!(caught_up.len(), 19);
    assert_eq!(caught_up[4].flags, ["$Work"], "uid 7 is now the fifth");
    assert_eq!(held.len(), 20, "a held list never changes");
    held = caught_up;
    // Writers and a reader at once: every list read is a state the
    // mailbox was in, and the last one is the final state.
    let writers: Vec<_> = (0..4u32)
        .map(|w| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in 0..10u32 {
                    let uid = 1 + (w * 5 + i) % 21;
                    let flag = format!("$k{}", i % 3);
                    s.store_flags(inbox.id, &[uid], FlagOp::Add, &[flag], None)
                        .await
                        .unwrap();
                    if i % 4 == 0 {
                        s.deliver(vec![msg(a.id, &format!("w{w}-{i}"))])
                            .await
                            .unwrap();
                    }
                    if i == 5 {
                        s.expunge_uids(inbox.id, &[10 + w]).await.unwrap();
                    }
                }
            })
        })
        .collect();
    for _ in 0..50 {
        let list = s.messages_shared(inbox.id).await.unwrap();
        assert!(list.windows(2).all(|p| p[0].uid < p[1].uid));
        held = list;
        tokio::task::yield_now().await;
    }
    for w in writers {
        w.await.unwrap();
    }
    let last = s.messages_shared(inbox.id).await.unwrap();
    assert_eq!(*last, s.messages(inbox.id).await.unwrap());
    assert!(!last.iter().any(|m| (10..14).contains(&m.uid)));
    drop(held);
}

/// Deliveries that write to the same two mailboxes in opposite orders, from
/// two nodes, while a third writer expunges: every write completes (on
/// PostgreSQL, rows locked in different orders would deadlock and one
/// transaction would be aborted).
async fn crossing_writers_on_two_nodes_never_deadlock(f: Fixture) {
    let s = f.store.clone();
    let other = if f.pg.is_some() {
        f.second_node().await
    } else {
        s.clone()
    };
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    let b = s
        .account_add(&addr("bob@example.org"), "pw", 0)
        .await
        .unwrap();
    let a_inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let mut tasks = Vec::new();
    for (node, first, second) in [(s.clone(), a.id, b.id), (other.clone(), b.id, a.id)] {
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                node.deliver(vec![
                    msg(first, &format!("{i}")),
                    msg(second, &format!("{i}")),
                ])
                .await
                .expect("delivery");
            }
        }));
    }
    let expunger = other.clone();
    tasks.push(tokio::spawn(async move {
        for _ in 0..25 {
            let uids: Vec<u32> = expunger
                .messages(a_inbox.id)
                .await
                .unwrap()
                .iter()
                .map(|m| m.uid)
                .take(1)
                .collect();
            expunger
                .expunge_uids(a_inbox.id, &uids)
                .await
                .expect("expunge");
            tokio::task::yield_now().await;
        }
    }));
    for t in tasks {
        t.await.unwrap();
    }
    let total = |id| {
        let s = s.clone();
        async move {
            let mb = s.mailbox_get(id, "INBOX").await.unwrap().unwrap();
            s.messages(mb.id).await.unwrap().len() + s.expunged_since(mb.id, 0).await.unwrap().len()
        }
    };
    assert_eq!(total(a.id).await, 50);
    assert_eq!(total(b.id).await, 50);
}

async fn expunge_and_vanished(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    s.deliver(vec![msg(a.id, "1"), msg(a.id, "2"), msg(a.id, "3")])
        .await
        .unwrap();
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let mark = s
        .mailbox_by_id(inbox.id)
        .await
        .unwrap()
        .unwrap()
        .highestmodseq;
    s.store_flags(inbox.id, &[1, 3], FlagOp::Add, &["\\Deleted".into()], None)
        .await
        .unwrap();
    assert_eq!(
        s.expunge_deleted(inbox.id, Some(&[3])).await.unwrap(),
        vec![3]
    );
    assert_eq!(s.expunge_deleted(inbox.id, None).await.unwrap(), vec![1]);
    assert_eq!(
        s.messages(inbox.id)
            .await
            .unwrap()
            .iter()
            .map(|m| m.uid)
            .collect::<Vec<_>>(),
        vec![2]
    );
    assert_eq!(s.expunged_since(inbox.id, mark).await.unwrap(), vec![1, 3]);
    let left = s.messages(inbox.id).await.unwrap()[0].size;
    assert_eq!(
        s.account_get(&addr("alice@example.org"))
            .await
            .unwrap()
            .unwrap()
            .used,
        left
    );
    // UIDs are never reused.
    assert_eq!(s.deliver(vec![msg(a.id, "4")]).await.unwrap()[0].uid, 4);
}

async fn copy_and_move(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    s.deliver(vec![msg(a.id, "1"), msg(a.id, "2")])
        .await
        .unwrap();
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let archive = s.mailbox_get(a.id, "Archive").await.unwrap().unwrap();
    s.store_flags(inbox.id, &[1], FlagOp::Add, &["\\Seen".into()], None)
        .await
        .unwrap();
    assert_eq!(
        s.copy_messages(inbox.id, &[1], archive.id).await.unwrap(),
        vec![(1, 1)]
    );
    assert_eq!(
        s.move_messages(inbox.id, &[2], archive.id).await.unwrap(),
        vec![(2, 2)]
    );
    let arch = s.messages(archive.id).await.unwrap();
    assert_eq!(arch[0].flags, vec!["\\Seen"], "flags travel with the copy");
    assert_eq!(
        s.message_bytes(archive.id, 2).await.unwrap(),
        b"Subject: t\r\n\r\n2\r\n"
    );
    assert_eq!(s.messages(inbox.id).await.unwrap().len(), 1);
    // The original stays readable after its copy is expunged.
    s.expunge_uids(archive.id, &[1]).await.unwrap();
    assert_eq!(
        s.message_bytes(inbox.id, 1).await.unwrap(),
        b"Subject: t\r\n\r\n1\r\n"
    );
}

async fn message_summaries(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    s.deliver(vec![msg(a.id, "1"), msg(a.id, "2"), msg(a.id, "3")])
        .await
        .unwrap();
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    assert!(
        s.message_summaries(inbox.id, &[1, 2, 3])
            .await
            .unwrap()
            .is_empty()
    );
    let bytes: Vec<u8> = (0..=255u8).collect();
    s.message_summary_set(inbox.id, 1, &bytes).await.unwrap();
    s.message_summary_set(inbox.id, 3, b"three").await.unwrap();
    // Only those asked for, byte-exact.
    let mut got = s.message_summaries(inbox.id, &[1, 3]).await.unwrap();
    got.sort();
    assert_eq!(got, vec![(1, bytes.clone()), (3, b"three".to_vec())]);
    assert_eq!(s.message_summaries(inbox.id, &[2]).await.unwrap(), vec![]);
    assert_eq!(s.message_summaries(inbox.id, &[]).await.unwrap(), vec![]);
    // Expunged messages take theirs with them.
    s.expunge_uids(inbox.id, &[1]).await.unwrap();
    assert_eq!(
        s.message_summaries(inbox.id, &[1, 2, 3]).await.unwrap(),
        vec![(3, b"three".to_vec())]
    );
    // Given with the message, it is kept with it; a copy or a move keeps it.
    let with = NewMessage {
        summary: Some(b"given".to_vec()),
        ..msg(a.id, "4")
    };
    let uid = s.deliver(vec![with]).await.unwrap()[0].uid;
    assert_eq!(
        s.message_summaries(inbox.id, &[uid]).await.unwrap(),
        vec![(uid, b"given".to_vec())]
    );
    let archive = s.mailbox_get(a.id, "Archive").await.unwrap().unwrap();
    let moved = s
        .move_messages(inbox.id, &[2, 3], archive.id)
        .await
        .unwrap();
    let mut got = s
        .message_summaries(archive.id, &[moved[0].1, moved[1].1])
        .await
        .unwrap();
    got.sort();
    assert_eq!(
        got,
        vec![(moved[1].1, b"three".to_vec())],
        "2 had none, 3 keeps its own"
    );
    // With a summarizer set, a message delivered without a summary gets
    // one computed from its bytes; one given is kept as given.
    fn size_of(bytes: &[u8]) -> Option<Vec<u8>> {
        Some(format!("{} octets", bytes.len()).into_bytes())
    }
    s.set_summarizer(size_of);
    let d = s
        .deliver(vec![
            msg(a.id, "5"),
            NewMessage {
                summary: Some(b"given".to_vec()),
                ..msg(a.id, "6")
            },
        ])
        .await
        .unwrap();
    let mut got = s
        .message_summaries(inbox.id, &[d[0].uid, d[1].uid])
        .await
        .unwrap();
    got.sort();
    assert_eq!(
        got,
        vec![
            (d[0].uid, b"17 octets".to_vec()),
            (d[1].uid, b"given".to_vec())
        ]
    );
}

/// Transactions that read before they write must wait their turn, not
/// fail with "database is locked" because another connection wrote first.
async fn concurrent_writers(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let s = s.clone();
        let id = a.id;
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                s.mailbox_create(id, &format!("T{t}/M{i}"), None).await?;
                s.deliver(vec![msg(id, "x")]).await?;
            }
            Ok::<_, tern_store::StoreError>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let names = s.mailbox_list(a.id).await.unwrap();
    assert_eq!(names.iter().filter(|m| m.name.contains("/M")).count(), 80);
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    assert_eq!(s.messages(inbox.id).await.unwrap().len(), 80);
}

async fn mailboxes_lifecycle(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    let p = s.mailbox_create(a.id, "Projects", None).await.unwrap();
    s.mailbox_create(a.id, "Projects/tern", None).await.unwrap();
    assert!(matches!(
        s.mailbox_create(a.id, "Projects", None).await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(matches!(
        s.mailbox_create(a.id, "a//b", None).await,
        Err(StoreError::Invalid(_))
    ));
    s.deliver(vec![NewMessage {
        mailbox: MailboxSel::Name("Projects/tern".into()),
        ..msg(a.id, "x")
    }])
    .await
    .unwrap();
    s.mailbox_rename(a.id, "Projects", "Work").await.unwrap();
    let child = s
        .mailbox_get(a.id, "Work/tern")
        .await
        .unwrap()
        .expect("child renamed too");
    assert_eq!(
        s.message_bytes(child.id, 1).await.unwrap(),
        b"Subject: t\r\n\r\nx\r\n"
    );
    // Subscriptions are names, apart from mailboxes (RFC 3501 6.3.6): the
    // starting mailboxes are subscribed, a created one is not, and one
    // outlives its mailbox.
    assert_eq!(
        s.subscriptions(a.id).await.unwrap(),
        ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"]
    );
    s.subscription_set(a.id, "Work", true).await.unwrap();
    s.subscription_set(a.id, "Work", true).await.unwrap();
    s.subscription_set(a.id, "Gone/Away", true).await.unwrap();
    s.subscription_set(a.id, "Trash", false).await.unwrap();
    s.subscription_set(a.id, "Never", false).await.unwrap();
    assert_eq!(
        s.subscriptions(a.id).await.unwrap(),
        [
            "Archive",
            "Drafts",
            "Gone/Away",
            "INBOX",
            "Junk",
            "Sent",
            "Work"
        ]
    );
    assert!(matches!(
        s.mailbox_delete(a.id, "INBOX").await,
        Err(StoreError::Invalid(_))
    ));
    s.mailbox_delete(a.id, "Work").await.unwrap();
    let subs = s.subscriptions(a.id).await.unwrap();
    assert!(subs.contains(&"Work".to_string()), "outlives its mailbox");
    let again = s.mailbox_create(a.id, "Work", None).await.unwrap();
    assert_ne!(
        again.uidvalidity, p.uidvalidity,
        "a recreated name gets a new UIDVALIDITY"
    );
    // Renaming INBOX moves its mail and leaves INBOX empty (RFC 9051 6.3.6).
    s.deliver(vec![msg(a.id, "in")]).await.unwrap();
    s.mailbox_rename(a.id, "INBOX", "Old").await.unwrap();
    let old = s.mailbox_get(a.id, "Old").await.unwrap().unwrap();
    assert_eq!(s.messages(old.id).await.unwrap().len(), 1);
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    assert!(s.messages(inbox.id).await.unwrap().is_empty());
}

async fn change_events(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    let mut rx = s.subscribe(a.id);
    // With PostgreSQL the delivery happens on another node.
    let deliverer = if f.pg.is_some() {
        f.second_node().await
    } else {
        s.clone()
    };
    deliverer.deliver(vec![msg(a.id, "hi")]).await.unwrap();
    let c = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let c = rx.recv().await.unwrap();
            if c.kind == ChangeKind::Appended {
                return c;
            }
        }
    })
    .await
    .expect("change event arrives");
    assert_eq!(c.account_id, a.id);
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    assert_eq!(c.mailbox_id, inbox.id);
    deliverer.expunge_uids(inbox.id, &[1]).await.unwrap();
    let c = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let c = rx.recv().await.unwrap();
            if c.kind == ChangeKind::Expunged {
                return c;
            }
        }
    })
    .await
    .expect("expunge event arrives");
    assert_eq!(c.mailbox_id, inbox.id);
}

async fn audit_log(f: Fixture) {
    use tern_common::security::{AuditEvent, AuditKind};
    let s = &f.store;
    let ev = |kind: AuditKind, detail: &str| AuditEvent {
        kind,
        protocol: "imap",
        ip: Some("127.0.0.2".parse().unwrap()),
        account: Some("a@example.org".into()),
        detail: detail.into(),
    };
    s.audit_insert(&ev(AuditKind::LoginFailure, "bad password"))
        .await
        .unwrap();
    s.audit_insert(&ev(AuditKind::Limit, "ip limit"))
        .await
        .unwrap();
    let all = s.audit_list(0, None, 100).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].kind, "login_failure");
    assert_eq!(all[0].ip.as_deref(), Some("127.0.0.2"));
    let limits = s.audit_list(0, Some("limit"), 100).await.unwrap();
    assert_eq!(limits.len(), 1);
    assert_eq!(limits[0].detail, "ip limit");
    assert!(s.audit_list(i64::MAX, None, 100).await.unwrap().is_empty());
}

async fn greylisting(f: Fixture) {
    use tern_store::{Greylist, GreylistPolicy};
    let s = &f.store;
    let net: std::net::IpAddr = "192.0.2.0".parse().unwrap();
    let (delay, window, ttl) = (300, 86_400, 30 * 86_400);
    let t0 = 1_000_000;
    let check = |at: i64, from: &'static str| {
        let s = s.clone();
        async move {
            s.greylist_check(
                net,
                from,
                "rcpt@example.org",
                at,
                GreylistPolicy {
                    delay,
                    retry_window: window,
                    pass_ttl: ttl,
                },
            )
            .await
            .unwrap()
        }
    };
    assert_eq!(
        check(t0, "a@remote.example").await,
        Greylist::Defer,
        "first sight"
    );
    assert_eq!(
        check(t0 + 60, "a@remote.example").await,
        Greylist::Defer,
        "too early"
    );
    assert_eq!(
        check(t0 + 301, "a@remote.example").await,
        Greylist::Pass,
        "after the delay"
    );
    assert_eq!(
        check(t0 + 5000, "A@remote.example").await,
        Greylist::Pass,
        "whitelisted"
    );
    assert_eq!(
        check(t0 + 5000, "b@remote.example").await,
        Greylist::Defer,
        "another sender"
    );
    // Long after the pass expired and the window closed, it starts over.
    assert_eq!(
        check(t0 + 5000 + ttl + window + 1, "a@remote.example").await,
        Greylist::Defer
    );
    let removed = s
        .greylist_cleanup(t0 + 10 * window + 2 * ttl, window)
        .await
        .unwrap();
    assert!(removed >= 1);
}

fn queued(rcpts: &[&str]) -> tern_store::QueueNew {
    tern_store::QueueNew {
        sender: "alice@example.org".into(),
        recipients: rcpts
            .iter()
            .map(|r| tern_store::QueueRcptNew {
                rcpt: r.to_string(),
                orcpt: None,
                notify: String::new(),
            })
            .collect(),
        envid: Some("env-1".into()),
        ret: Some("HDRS".into()),
        requiretls: false,
        data: b"Subject: q\r\n\r\nbody\r\n".to_vec(),
    }
}

async fn queue_lifecycle(f: Fixture) {
    use tern_store::RcptState;
    let s = &f.store;
    let id = s
        .queue_insert(&queued(&["a@remote.example", "b@Other.example"]))
        .await
        .unwrap();
    let m = s.queue_message(id).await.unwrap().unwrap();
    assert_eq!(m.recipients.len(), 2);
    assert_eq!(m.recipients[1].domain, "other.example");
    assert_eq!(m.envid.as_deref(), Some("env-1"));
    assert_eq!(
        s.queue_data(id).await.unwrap(),
        b"Subject: q\r\n\r\nbody\r\n"
    );
    let claimed = s.queue_claim("node-a", 10, 60).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(
        s.queue_claim("node-b", 10, 60).await.unwrap().is_empty(),
        "leased recipients are not claimed twice"
    );
    s.queue_update(claimed[0].id, RcptState::Delivered, 0, "250 ok", false)
        .await
        .unwrap();
    s.queue_update(
        claimed[1].id,
        RcptState::Pending,
        i64::MAX / 2,
        "451 later",
        false,
    )
    .await
    .unwrap();
    assert!(
        s.queue_claim("node-a", 10, 60).await.unwrap().is_empty(),
        "deferred until next_attempt"
    );
    assert_eq!(s.queue_retry_now(Some(id)).await.unwrap(), 1);
    let again = s.queue_claim("node-a", 10, 60).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error, "451 later");
    assert_eq!(s.queue_list().await.unwrap().len(), 1);
    s.queue_update(again[0].id, RcptState::Failed, 0, "550 no", false)
        .await
        .unwrap();
    assert!(s.queue_list().await.unwrap().is_empty());
    assert_eq!(s.queue_purge_done().await.unwrap(), 1);
    assert!(s.queue_message(id).await.unwrap().is_none());
    assert!(matches!(
        s.queue_remove(id).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn queue_pause_gives_back_without_an_attempt(f: Fixture) {
    let s = &f.store;
    let id = s
        .queue_insert(&queued(&["a@remote.example"]))
        .await
        .unwrap();
    let claimed = s.queue_claim("node-a", 10, 60).await.unwrap();
    assert_eq!(claimed.len(), 1);
    s.queue_pause(claimed[0].id, i64::MAX / 2, "paused for a while")
        .await
        .unwrap();
    let m = s.queue_message(id).await.unwrap().unwrap();
    assert_eq!(m.recipients[0].attempts, 0, "a pause is not an attempt");
    assert_eq!(m.recipients[0].last_error, "paused for a while");
    assert_eq!(m.recipients[0].next_attempt, i64::MAX / 2);
    assert!(
        s.queue_claim("node-b", 10, 60).await.unwrap().is_empty(),
        "not due before the pause ends"
    );
    assert_eq!(s.queue_retry_now(Some(id)).await.unwrap(), 1);
    assert_eq!(
        s.queue_claim("node-b", 10, 60).await.unwrap().len(),
        1,
        "the lease was given back"
    );
}

async fn queue_claims_are_exclusive(f: Fixture) {
    let s = &f.store;
    for i in 0..20 {
        s.queue_insert(&queued(&[&format!("r{i}@remote.example")]))
            .await
            .unwrap();
    }
    // Two nodes (two store handles with PostgreSQL) claim at once.
    let other = if f.pg.is_some() {
        f.second_node().await
    } else {
        s.clone()
    };
    let (a, b) = tokio::join!(s.queue_claim("a", 15, 60), other.queue_claim("b", 15, 60));
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut ids: Vec<i64> = a.iter().chain(b.iter()).map(|r| r.id).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "no recipient claimed by both");
    assert_eq!(n, 20);
}

async fn leases_are_exclusive_across_nodes(f: Fixture) {
    let s = &f.store;
    let other = if f.pg.is_some() {
        f.second_node().await
    } else {
        s.clone()
    };
    let ttl = Duration::from_secs(60);
    let a = s.lease_try("pop3:1", ttl).await.unwrap().expect("free");
    assert!(
        other.lease_try("pop3:1", ttl).await.unwrap().is_none(),
        "held elsewhere"
    );
    assert!(
        other.lease_try("pop3:2", ttl).await.unwrap().is_some(),
        "another name"
    );
    a.release().await;
    assert!(
        other.lease_try("pop3:1", ttl).await.unwrap().is_some(),
        "free again"
    );
    // An expired lease (its node died) can be taken.
    let b = s
        .lease_try("pop3:3", Duration::from_secs(1))
        .await
        .unwrap()
        .unwrap();
    b.abandon();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(other.lease_try("pop3:3", ttl).await.unwrap().is_some());
}

async fn sender_identities(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    s.account_add(&addr("bob@example.org"), "pw", 0)
        .await
        .unwrap();
    s.address_add(&addr("alice@example.org"), &addr("al@example.org"))
        .await
        .unwrap();
    s.alias_add(&addr("info@example.org"), &[addr("alice@example.org")])
        .await
        .unwrap();
    for ok in [
        "alice@example.org",
        "Alice+news@example.org",
        "al@example.org",
        "info@example.org",
    ] {
        assert!(s.may_send_as(a.id, &addr(ok)).await.unwrap(), "{ok}");
    }
    for no in [
        "bob@example.org",
        "sales@example.org",
        "alice@other.example",
    ] {
        assert!(!s.may_send_as(a.id, &addr(no)).await.unwrap(), "{no}");
    }
    s.send_as_add(&addr("alice@example.org"), &addr("sales@example.org"))
        .await
        .unwrap();
    assert!(
        s.may_send_as(a.id, &addr("sales@example.org"))
            .await
            .unwrap()
    );
    assert!(matches!(
        s.send_as_add(&addr("alice@example.org"), &addr("sales@example.org"))
            .await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(
        s.send_as_list(&addr("alice@example.org")).await.unwrap(),
        vec!["sales@example.org"]
    );
    s.send_as_remove(&addr("alice@example.org"), &addr("sales@example.org"))
        .await
        .unwrap();
    assert!(
        !s.may_send_as(a.id, &addr("sales@example.org"))
            .await
            .unwrap()
    );
}

async fn dmarc_records(f: Fixture) {
    use tern_store::DmarcRecord;
    let s = &f.store;
    let r = DmarcRecord {
        at: 1000,
        source_ip: "192.0.2.1".into(),
        header_from: "example.org".into(),
        envelope_from: "example.org".into(),
        policy: "reject".into(),
        dmarc_result: "pass".into(),
        spf_result: "pass".into(),
        spf_domain: "example.org".into(),
        spf_aligned: true,
        dkim_results: "d=example.org pass".into(),
        dkim_aligned: false,
        disposition: "accept".into(),
        override_reason: String::new(),
    };
    s.dmarc_record_insert(&r).await.unwrap();
    let other = DmarcRecord {
        at: 2000,
        header_from: "example.net".into(),
        disposition: "reject".into(),
        ..r.clone()
    };
    s.dmarc_record_insert(&other).await.unwrap();
    let all = s.dmarc_records_list(0, 3000, None).await.unwrap();
    assert_eq!(all, vec![r.clone(), other.clone()]);
    let one = s
        .dmarc_records_list(0, 3000, Some("example.org"))
        .await
        .unwrap();
    assert_eq!(one, vec![r]);
    assert_eq!(
        s.dmarc_records_list(1500, 3000, None).await.unwrap(),
        vec![other]
    );
    let now = DmarcRecord {
        at: 0,
        ..DmarcRecord::default()
    };
    s.dmarc_record_insert(&now).await.unwrap();
    let recent = s.dmarc_records_list(3000, i64::MAX, None).await.unwrap();
    assert_eq!(recent.len(), 1);
    assert!(recent[0].at > 3000);
}

/// Issue: `tern user add /elsewhere/evil@…` made a Maildir outside the data
/// dir, `a/b@` and `a//b@` shared one, and `аlice@` (Cyrillic а) or
/// `al\u{200b}ice@` sat beside `alice@` receiving mail. None of these is an
/// address tern creates: not as an account, an extra address or an alias.
async fn new_addresses_are_never_paths_or_look_alikes(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.test").await.unwrap();
    let alice = s
        .account_add(&addr("alice@example.test"), "pw", 0)
        .await
        .unwrap();
    for bad in [
        "/elsewhere/evil@example.test",
        "a/b@example.test",
        "a//b@example.test",
        "a/./b@example.test",
    ] {
        let a = addr(bad);
        let refused =
            |r: Result<(), StoreError>| matches!(r, Err(StoreError::Invalid(m)) if m.contains('/'));
        assert!(
            refused(s.account_add(&a, "pw", 0).await.map(|_| ())),
            "account {bad}"
        );
        assert!(
            refused(s.address_add(&addr("alice@example.test"), &a).await),
            "address {bad}"
        );
        assert!(
            refused(s.alias_add(&a, &[addr("alice@example.test")]).await),
            "alias {bad}"
        );
    }
    // Invisible characters never even parse as an address.
    assert!(Address::parse("al\u{200b}ice@example.test").is_err());
    // Look-alikes of an existing address, in every kind of address.
    let cyrillic = addr("\u{430}lice@example.test");
    let look_alike = |r: Result<(), StoreError>| matches!(r, Err(StoreError::Invalid(m)) if m.contains("looks like"));
    assert!(look_alike(
        s.account_add(&cyrillic, "pw", 0).await.map(|_| ())
    ));
    s.alias_add(&addr("sales@example.test"), &[addr("alice@example.test")])
        .await
        .unwrap();
    assert!(look_alike(
        s.address_add(&addr("alice@example.test"), &addr("sa1es@example.test"))
            .await
    ));
    s.address_add(&addr("alice@example.test"), &addr("mary@example.test"))
        .await
        .unwrap();
    assert!(look_alike(
        s.alias_add(&addr("rnary@example.test"), &[addr("alice@example.test")])
            .await
    ));
    // An alias gaining a target is not a look-alike of itself; other
    // domains are other name spaces.
    s.alias_add(&addr("sales@example.test"), &[addr("mary@example.test")])
        .await
        .unwrap();
    s.domain_add("other.test").await.unwrap();
    s.account_add(&addr("alice@other.test"), "pw", 0)
        .await
        .unwrap();
    s.account_add(&addr("\u{430}lice@other.test"), "pw", 0)
        .await
        .expect_err("a look-alike in the other domain too");
    assert_eq!(s.account_list(Some("example.test")).await.unwrap().len(), 1);
    assert_eq!(alice.name, "alice@example.test");
}

/// Every spelling of any address of an account is one name to the login
/// throttle: the account's.
async fn login_keys_name_the_account(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.test").await.unwrap();
    s.account_add(&addr("alice@example.test"), "pw", 0)
        .await
        .unwrap();
    s.address_add(&addr("alice@example.test"), &addr("al@example.test"))
        .await
        .unwrap();
    for spelling in [
        " alice@example.test",
        "ALICE@EXAMPLE.TEST",
        "al@example.test",
        "al@\u{ff45}xample.test",
    ] {
        assert_eq!(
            s.login_key(spelling).await.unwrap(),
            "alice@example.test",
            "{spelling:?}"
        );
    }
    assert_eq!(
        s.login_key(" Nobody@Example.Test").await.unwrap(),
        "nobody@example.test"
    );
}

/// A SQLite store written by an older tern (`accounts/<address>/`,
/// `.<Mailbox.Name>` folders) opens in the id-based layout with every
/// message in place, even when an old folder's name is another mailbox's
/// new one (a mailbox named by a number).
#[tokio::test]
async fn sqlite_stores_of_the_old_layout_move_to_ids() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open_sqlite_for_tests(dir.path()).await.unwrap();
    s.domain_add("example.test").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.test"), "pw", 0)
        .await
        .unwrap();
    let boxes = s.mailbox_list(a.id).await.unwrap();
    let next_id = boxes.iter().map(|m| m.id).max().unwrap() + 2;
    // Mailbox "N" whose old folder `.N` is the new folder of mailbox N.
    let numbered = s
        .mailbox_create(a.id, &next_id.to_string(), None)
        .await
        .unwrap();
    let other = s.mailbox_create(a.id, "Lists/Rust", None).await.unwrap();
    assert_eq!(other.id, next_id);
    for mb in [numbered.id, other.id] {
        let mut m = msg(a.id, &format!("in {mb}"));
        m.mailbox = MailboxSel::Id(mb);
        s.deliver(vec![m]).await.unwrap();
    }
    s.deliver(vec![msg(a.id, "in the inbox")]).await.unwrap();
    drop(s);
    // Make it the old layout, as an older tern wrote it.
    let accounts = dir.path().join("accounts");
    std::fs::rename(
        accounts.join(a.id.to_string()),
        accounts.join("alice@example.test"),
    )
    .unwrap();
    let root = accounts.join("alice@example.test");
    std::fs::rename(root.join(format!(".{}", numbered.id)), root.join(".tmp-n")).unwrap();
    std::fs::rename(
        root.join(format!(".{}", other.id)),
        root.join(".Lists.Rust"),
    )
    .unwrap();
    std::fs::rename(root.join(".tmp-n"), root.join(format!(".{next_id}"))).unwrap();
    let url = format!("sqlite://{}", dir.path().join("tern.sqlite").display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for (id, old) in [
        (numbered.id, format!(".{next_id}")),
        (other.id, ".Lists.Rust".into()),
    ] {
        sqlx::query("UPDATE mailboxes SET dir = ? WHERE id = ?")
            .bind(old)
            .bind(id)
            .execute(&mut c)
            .await
            .unwrap();
    }
    c.close().await.unwrap();

    let s = Store::open_sqlite_for_tests(dir.path()).await.unwrap();
    assert!(!root.exists(), "the name-based folder is gone");
    let new_root = accounts.join(a.id.to_string());
    for (mb, body) in [
        (numbered.id, format!("in {}", numbered.id)),
        (other.id, format!("in {}", other.id)),
    ] {
        assert!(new_root.join(format!(".{mb}")).join("cur").is_dir());
        let bytes = s.message_bytes(mb, 1).await.unwrap();
        assert!(
            String::from_utf8_lossy(&bytes).contains(&body),
            "mailbox {mb}"
        );
    }
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    assert!(
        String::from_utf8_lossy(&s.message_bytes(inbox.id, 1).await.unwrap())
            .contains("in the inbox")
    );
    drop(s);
    // Opening again changes nothing.
    let s = Store::open_sqlite_for_tests(dir.path()).await.unwrap();
    assert!(
        String::from_utf8_lossy(&s.message_bytes(other.id, 1).await.unwrap())
            .contains(&format!("in {}", other.id))
    );
}

/// A message read in chunks (POP3 RETR) is the message, byte for byte,
/// from a Maildir file or a PostgreSQL blob, whatever the chunk size.
async fn messages_read_in_chunks(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("a@example.org"), "pw", 0)
        .await
        .unwrap();
    let body: String = (0..20_000).map(|i| format!("line {i}\r\n")).collect();
    s.deliver(vec![msg(a.id, &body)]).await.unwrap();
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let whole = s.message_bytes(inbox.id, 1).await.unwrap();
    for size in [1000, 65536, 1 << 20] {
        let mut r = s.message_reader(inbox.id, 1).await.unwrap();
        assert_eq!(r.len(), whole.len() as u64);
        let mut got = Vec::new();
        while let Some(c) = r.next_chunk(size).await.unwrap() {
            assert!(c.len() <= size);
            got.extend_from_slice(&c);
        }
        assert!(got == whole, "chunks of {size}");
    }
    assert!(matches!(
        s.message_reader(inbox.id, 99).await,
        Err(StoreError::NotFound(_))
    ));
}

/// RFC 3501 2.3.2: each message is recent in one IMAP session only; the
/// store hands each UID out once, also to two nodes at the same moment.
async fn recent_messages_are_claimed_once(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap();
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    assert_eq!(s.recent_claim(inbox.id).await.unwrap(), 0..0, "nothing yet");
    s.deliver(vec![msg(a.id, "1"), msg(a.id, "2")])
        .await
        .unwrap();
    let mb = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    assert_eq!(mb.recent_uid, 1, "both unclaimed");
    assert_eq!(s.recent_claim(inbox.id).await.unwrap(), 1..3);
    assert_eq!(s.recent_claim(inbox.id).await.unwrap(), 0..0, "taken");
    let mb = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    assert_eq!(mb.recent_uid, 3);
    // Claims racing from many connections: every UID goes to one.
    for round in 0..5 {
        s.deliver(vec![msg(a.id, &round.to_string())])
            .await
            .unwrap();
        let claims = (0..4).map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.recent_claim(inbox.id).await.unwrap() })
        });
        let mut got = Vec::new();
        for c in claims {
            got.push(c.await.unwrap());
        }
        let uid = 3 + round;
        let winners: Vec<_> = got.iter().filter(|r| r.contains(&uid)).collect();
        assert_eq!(winners.len(), 1, "round {round}: {got:?}");
    }
}

/// An INTERNALDATE given with a zone (IMAP APPEND) comes back with it, and
/// a copy keeps it (RFC 3501 6.4.4 compares dates in that zone).
async fn internal_dates_keep_their_zone(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = s
        .account_add(&addr("a@example.org"), "pw", 0)
        .await
        .unwrap();
    let mut m = msg(a.id, "zoned");
    m.internal_zone = -300;
    s.deliver(vec![m, msg(a.id, "utc")]).await.unwrap();
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let zones: Vec<i32> = s
        .messages(inbox.id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.internal_zone)
        .collect();
    assert_eq!(zones, vec![-300, 0]);
    let kept = s.mailbox_create(a.id, "Kept", None).await.unwrap();
    s.copy_messages(inbox.id, &[1], kept.id).await.unwrap();
    let copied = s.messages(kept.id).await.unwrap();
    assert_eq!(copied[0].internal_zone, -300);
}

/// A domain's MTA-STS policy: checked values, a new id at every change,
/// gone with `--off` and with its domain (RFC 8461 3.1, 3.2).
async fn mta_sts_policies(f: Fixture) {
    let s = &f.store;
    assert!(matches!(
        s.mta_sts_set("example.org", "enforce", 86400, &[]).await,
        Err(StoreError::NotFound(_))
    ));
    s.domain_add("example.org").await.unwrap();
    for (mode, age, mx) in [
        ("none", 86400, vec![]),
        ("enforce", 0, vec![]),
        ("enforce", 31_557_601, vec![]),
        ("enforce", 86400, vec!["bad host".to_string()]),
    ] {
        assert!(
            matches!(
                s.mta_sts_set("example.org", mode, age, &mx).await,
                Err(StoreError::Invalid(_))
            ),
            "{mode} {age} {mx:?}"
        );
    }
    let a = s
        .mta_sts_set(
            "Example.ORG",
            "testing",
            3600,
            &["MX1.Example.org".into(), "*.mx.example.org".into()],
        )
        .await
        .unwrap();
    assert_eq!(a.mx, vec!["mx1.example.org", "*.mx.example.org"]);
    assert!(
        !a.id.is_empty() && a.id.len() <= 32 && a.id.bytes().all(|b| b.is_ascii_alphanumeric())
    );
    assert_eq!(s.mta_sts_get("example.org").await.unwrap(), Some(a.clone()));
    let b = s
        .mta_sts_set("example.org", "enforce", 86400, &[])
        .await
        .unwrap();
    assert_ne!(a.id, b.id, "a changed policy has a new id");
    assert_eq!(
        s.domains_with_mta_sts().await.unwrap(),
        vec![("example.org".to_string(), true)]
    );
    let got = s.mta_sts_get("example.org").await.unwrap().unwrap();
    assert_eq!(
        (got.mode.as_str(), got.max_age, got.mx.len()),
        ("enforce", 86400, 0)
    );
    assert!(s.mta_sts_remove("example.org").await.unwrap());
    assert!(!s.mta_sts_remove("example.org").await.unwrap());
    assert_eq!(s.mta_sts_get("example.org").await.unwrap(), None);
    s.mta_sts_set("example.org", "enforce", 86400, &[])
        .await
        .unwrap();
    s.domain_remove("example.org", true).await.unwrap();
    s.domain_add("example.org").await.unwrap();
    assert_eq!(
        s.mta_sts_get("example.org").await.unwrap(),
        None,
        "not inherited"
    );
    assert_eq!(
        s.domains_with_mta_sts().await.unwrap(),
        vec![("example.org".to_string(), false)],
        "not inherited"
    );
}

/// The health check's queries: a round trip, and the queue's depth and
/// oldest pending message.
async fn health_queries(f: Fixture) {
    let s = &f.store;
    s.ping().await.unwrap();
    assert_eq!(
        s.queue_stats().await.unwrap(),
        tern_store::QueueStats::default()
    );
    s.queue_insert(&tern_store::QueueNew {
        sender: "a@example.org".into(),
        recipients: vec![
            tern_store::QueueRcptNew {
                rcpt: "b@remote.example".into(),
                orcpt: None,
                notify: String::new(),
            },
            tern_store::QueueRcptNew {
                rcpt: "c@remote.example".into(),
                orcpt: None,
                notify: String::new(),
            },
        ],
        data: b"Subject: x\r\n\r\nx\r\n".to_vec(),
        ..Default::default()
    })
    .await
    .unwrap();
    let q = s.queue_stats().await.unwrap();
    assert_eq!(q.depth, 2);
    let now = tern_common::time::now_secs();
    assert!(q.oldest.is_some_and(|t| t <= now && t > now - 60), "{q:?}");
}
