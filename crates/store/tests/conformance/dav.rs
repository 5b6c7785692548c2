//! Calendars and address books (CalDAV, CardDAV), on both backends:
//! collections per account, kind and name; members kept byte for byte
//! under RFC 7232 conditions, one per UID; their bytes in the account's
//! quota; RFC 6578 changes with tombstones and truncation; MOVE and COPY;
//! the time-range prefilter; and everything gone with its account.

use tern_store::{
    DavChange, DavCondition, DavKind, DavProps, DavPut, MAX_DAV_RESOURCE, Store, StoreError,
};

use super::{Fixture, addr};

async fn account(s: &Store, name: &str, quota: u64) -> i64 {
    if s.domain_list().await.unwrap().is_empty() {
        s.domain_add("example.org").await.unwrap();
    }
    s.account_add(&addr(&format!("{name}@example.org")), "pw", quota)
        .await
        .unwrap()
        .id
}

async fn used(s: &Store, account: i64) -> u64 {
    s.account_by_id(account).await.unwrap().unwrap().used
}

fn card<'a>(name: &'a str, uid: &'a str, content: &'a [u8]) -> DavPut<'a> {
    DavPut {
        name,
        uid,
        component: None,
        first_start: None,
        last_end: None,
        content,
    }
}

fn event<'a>(name: &'a str, uid: &'a str, span: (Option<i64>, Option<i64>)) -> DavPut<'a> {
    DavPut {
        name,
        uid,
        component: Some("VEVENT"),
        first_start: span.0,
        last_end: span.1,
        content: b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
    }
}

fn names(changes: &[DavChange]) -> Vec<(&str, bool)> {
    changes
        .iter()
        .map(|c| (c.name.as_str(), c.deleted))
        .collect()
}

pub(crate) async fn dav_collections(f: Fixture) {
    let s = &f.store;
    let alice = account(s, "alice", 0).await;
    let bob = account(s, "bob", 0).await;
    let home = s
        .dav_collection_create(
            alice,
            DavKind::Calendar,
            "home",
            Some("Home"),
            &["VEVENT", "VTODO"],
        )
        .await
        .unwrap();
    assert_eq!(
        (home.kind, home.account_id, home.sync),
        (DavKind::Calendar, alice, 0)
    );
    assert_eq!(home.components, ["VEVENT", "VTODO"]);
    assert_eq!(home.display_name.as_deref(), Some("Home"));
    assert!(matches!(
        s.dav_collection_create(alice, DavKind::Calendar, "home", None, &["VEVENT"])
            .await,
        Err(StoreError::Duplicate(_))
    ));
    // The same name is free in the other kind and in another account.
    let book = s
        .dav_collection_create(alice, DavKind::AddressBook, "home", None, &[])
        .await
        .unwrap();
    assert!(book.components.is_empty());
    s.dav_collection_create(bob, DavKind::Calendar, "home", None, &["VEVENT"])
        .await
        .unwrap();
    assert!(matches!(
        s.dav_collection_create(alice, DavKind::AddressBook, "x", None, &["VEVENT"])
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.dav_collection_create(999_999, DavKind::Calendar, "x", None, &[])
            .await,
        Err(StoreError::NotFound(_))
    ));

    // Names as clients choose them; '/' and dot segments never.
    for name in ["a@b.example", "x+y", "with space", "Käse €", "日本語"] {
        let c = s
            .dav_collection_create(alice, DavKind::Calendar, name, None, &["VEVENT"])
            .await
            .unwrap();
        let got = s
            .dav_collection_get(alice, DavKind::Calendar, name)
            .await
            .unwrap();
        assert_eq!(got.as_ref(), Some(&c), "{name:?}");
    }
    for bad in ["a/b", "", ".", "..", "a\nb"] {
        assert!(
            matches!(
                s.dav_collection_create(alice, DavKind::Calendar, bad, None, &[])
                    .await,
                Err(StoreError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
    let listed: Vec<String> = s
        .dav_collections(alice, DavKind::Calendar)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    // By name, byte order on both backends.
    assert_eq!(
        listed,
        [
            "Käse €",
            "a@b.example",
            "home",
            "with space",
            "x+y",
            "日本語"
        ]
    );
    assert_eq!(
        s.dav_collections(alice, DavKind::AddressBook)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        s.dav_collection_get(alice, DavKind::Calendar, "Home")
            .await
            .unwrap()
            .is_none(),
        "names keep their case"
    );

    // PROPPATCH: set, remove, leave.
    let props = DavProps {
        display_name: Some(None),
        description: Some(Some("Family things".into())),
        color: Some(Some("#FF0000FF".into())),
        timezone: Some(Some("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".into())),
    };
    let updated = s.dav_collection_update(home.id, &props).await.unwrap();
    assert_eq!(updated.display_name, None);
    assert_eq!(updated.description.as_deref(), Some("Family things"));
    assert_eq!(updated.sync, 0, "properties are not member changes");
    let only_color = DavProps {
        color: Some(Some("#00FF00".into())),
        ..DavProps::default()
    };
    let updated = s.dav_collection_update(home.id, &only_color).await.unwrap();
    assert_eq!(updated.color.as_deref(), Some("#00FF00"));
    assert_eq!(updated.description.as_deref(), Some("Family things"));
    assert_eq!(
        s.dav_collection_get(alice, DavKind::Calendar, "home")
            .await
            .unwrap()
            .unwrap(),
        updated
    );
    let nul = DavProps {
        description: Some(Some("a\0b".into())),
        ..DavProps::default()
    };
    assert!(matches!(
        s.dav_collection_update(home.id, &nul).await,
        Err(StoreError::Invalid(_))
    ));

    // Delete, with what it holds; once.
    s.dav_resource_put(
        home.id,
        &event("e.ics", "e", (None, None)),
        &DavCondition::Any,
    )
    .await
    .unwrap();
    s.dav_collection_delete(home.id).await.unwrap();
    assert!(
        s.dav_collection_get(alice, DavKind::Calendar, "home")
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.dav_resources(home.id).await.unwrap().is_empty());
    assert!(matches!(
        s.dav_collection_delete(home.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.dav_collection_update(home.id, &only_color).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.dav_changes(home.id, 0, None).await,
        Err(StoreError::NotFound(_))
    ));
    // Recreated, it starts afresh.
    let again = s
        .dav_collection_create(alice, DavKind::Calendar, "home", None, &["VEVENT"])
        .await
        .unwrap();
    assert_ne!(again.id, home.id);
    assert_eq!(again.sync, 0);
}

pub(crate) async fn dav_resources_and_conditions(f: Fixture) {
    let s = &f.store;
    let alice = account(s, "alice", 0).await;
    let book = s
        .dav_collection_create(alice, DavKind::AddressBook, "contacts", None, &[])
        .await
        .unwrap();
    // Bytes an Apple client sends: folded lines, odd parameters, a NUL-free
    // but non-UTF-8 byte, no final CRLF.
    let v1: &[u8] = b"BEGIN:VCARD\r\nVERSION:3.0\r\nitem1.EMAIL;type=INTERNET;type=pref:a@b\r\n \
                      folded\r\nX-ODD:\xe9\r\nEND:VCARD";
    let (r, created) = s
        .dav_resource_put(
            book.id,
            &card("a.vcf", "uid-a", v1),
            &DavCondition::IfNoneMatch,
        )
        .await
        .unwrap();
    assert!(created);
    assert_eq!((r.size, r.modseq), (v1.len() as i64, 1));
    assert!(
        r.etag.starts_with('"') && r.etag.ends_with('"'),
        "{}",
        r.etag
    );
    let (got, bytes) = s
        .dav_resource_content(book.id, "a.vcf")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bytes, v1, "byte-exact");
    assert_eq!(got, r);
    assert_eq!(
        s.dav_resource(book.id, "a.vcf").await.unwrap(),
        Some(r.clone())
    );

    // If-None-Match: * on an existing member fails; so does a wrong If-Match,
    // or one on a missing member.
    assert!(matches!(
        s.dav_resource_put(
            book.id,
            &card("a.vcf", "uid-a", b"x"),
            &DavCondition::IfNoneMatch
        )
        .await,
        Err(StoreError::DavPreconditionFailed)
    ));
    assert!(matches!(
        s.dav_resource_put(
            book.id,
            &card("a.vcf", "uid-a", b"x"),
            &DavCondition::IfMatch("\"0000\"".into())
        )
        .await,
        Err(StoreError::DavPreconditionFailed)
    ));
    assert!(matches!(
        s.dav_resource_put(
            book.id,
            &card("new.vcf", "uid-n", b"x"),
            &DavCondition::IfMatch(r.etag.clone())
        )
        .await,
        Err(StoreError::DavPreconditionFailed)
    ));
    // Refused writes change nothing.
    let (_, bytes) = s
        .dav_resource_content(book.id, "a.vcf")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bytes, v1);
    assert!(s.dav_resource(book.id, "new.vcf").await.unwrap().is_none());
    assert_eq!(
        s.dav_collection_get(alice, DavKind::AddressBook, "contacts")
            .await
            .unwrap()
            .unwrap()
            .sync,
        1
    );

    // The right If-Match replaces: a new ETag for new bytes.
    let v2: &[u8] = b"BEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\n";
    let (r2, created) = s
        .dav_resource_put(
            book.id,
            &card("a.vcf", "uid-a", v2),
            &DavCondition::IfMatch(r.etag.clone()),
        )
        .await
        .unwrap();
    assert!(!created);
    assert_ne!(r2.etag, r.etag);
    assert_eq!((r2.size, r2.modseq), (v2.len() as i64, 2));
    // The same bytes again: the same ETag, still a change.
    let (r3, _) = s
        .dav_resource_put(book.id, &card("a.vcf", "uid-a", v2), &DavCondition::Any)
        .await
        .unwrap();
    assert_eq!(r3.etag, r2.etag);
    assert_eq!(r3.modseq, 3);
    // If-Match: * is any current member.
    s.dav_resource_put(
        book.id,
        &card("a.vcf", "uid-a", v2),
        &DavCondition::IfMatch("*".into()),
    )
    .await
    .unwrap();

    // One member per UID.
    match s
        .dav_resource_put(book.id, &card("b.vcf", "uid-a", v2), &DavCondition::Any)
        .await
    {
        Err(StoreError::DavUidConflict(other)) => assert_eq!(other, "a.vcf"),
        other => panic!("{other:?}"),
    }
    // Its own UID is no conflict; a new one for an existing member is fine.
    s.dav_resource_put(book.id, &card("a.vcf", "uid-a2", v2), &DavCondition::Any)
        .await
        .unwrap();
    s.dav_resource_put(book.id, &card("b.vcf", "uid-a", v2), &DavCondition::Any)
        .await
        .unwrap();

    // Member names as clients choose them.
    for name in [
        "x@y.example.vcf",
        "a+b.vcf",
        "with space.vcf",
        "Müller €.vcf",
    ] {
        let uid = format!("uid {name}");
        s.dav_resource_put(book.id, &card(name, &uid, v2), &DavCondition::IfNoneMatch)
            .await
            .unwrap();
        assert_eq!(
            s.dav_resource(book.id, name).await.unwrap().unwrap().uid,
            uid
        );
    }
    for bad in ["a/b.vcf", "..", "", "a\rb"] {
        assert!(
            matches!(
                s.dav_resource_put(book.id, &card(bad, "u", v2), &DavCondition::Any)
                    .await,
                Err(StoreError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        s.dav_resource_put(book.id, &card("e.vcf", "", v2), &DavCondition::Any)
            .await,
        Err(StoreError::Invalid(_))
    ));
    let listed: Vec<String> = s
        .dav_resources(book.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        listed,
        [
            "Müller €.vcf",
            "a+b.vcf",
            "a.vcf",
            "b.vcf",
            "with space.vcf",
            "x@y.example.vcf"
        ]
    );

    // Delete under the same conditions.
    let b = s.dav_resource(book.id, "b.vcf").await.unwrap().unwrap();
    assert!(matches!(
        s.dav_resource_delete(book.id, "b.vcf", &DavCondition::IfMatch("\"1\"".into()))
            .await,
        Err(StoreError::DavPreconditionFailed)
    ));
    assert!(matches!(
        s.dav_resource_delete(book.id, "b.vcf", &DavCondition::IfNoneMatch)
            .await,
        Err(StoreError::DavPreconditionFailed)
    ));
    s.dav_resource_delete(book.id, "b.vcf", &DavCondition::IfMatch(b.etag))
        .await
        .unwrap();
    assert!(matches!(
        s.dav_resource_delete(book.id, "b.vcf", &DavCondition::Any)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(s.dav_resource(book.id, "b.vcf").await.unwrap().is_none());
    assert!(matches!(
        s.dav_resource_put(999_999, &card("a.vcf", "u", v2), &DavCondition::Any)
            .await,
        Err(StoreError::NotFound(_))
    ));
}

pub(crate) async fn dav_quota(f: Fixture) {
    let s = &f.store;
    let alice = account(s, "alice", 1000).await;
    let cal = s
        .dav_collection_create(alice, DavKind::Calendar, "cal", None, &["VEVENT"])
        .await
        .unwrap();
    let other = s
        .dav_collection_create(alice, DavKind::Calendar, "other", None, &["VEVENT"])
        .await
        .unwrap();
    let put = |name: &'static str, uid: &'static str, content: &'static [u8]| DavPut {
        name,
        uid,
        component: Some("VEVENT"),
        first_start: None,
        last_end: None,
        content,
    };
    static K6: [u8; 600] = [b'a'; 600];
    static K3: [u8; 300] = [b'b'; 300];
    static K5: [u8; 500] = [b'c'; 500];
    s.dav_resource_put(cal.id, &put("a.ics", "a", &K6), &DavCondition::Any)
        .await
        .unwrap();
    assert_eq!(used(s, alice).await, 600);
    // 600 + 500 > 1000: refused, nothing changes.
    match s
        .dav_resource_put(cal.id, &put("b.ics", "b", &K5), &DavCondition::Any)
        .await
    {
        Err(StoreError::OverQuota { account }) => assert_eq!(account, "alice@example.org"),
        other => panic!("{other:?}"),
    }
    assert_eq!(used(s, alice).await, 600);
    assert!(s.dav_resource(cal.id, "b.ics").await.unwrap().is_none());
    assert_eq!(s.dav_changes(cal.id, 0, None).await.unwrap().token, 1);
    // A replacement counts the difference.
    s.dav_resource_put(cal.id, &put("a.ics", "a", &K3), &DavCondition::Any)
        .await
        .unwrap();
    assert_eq!(used(s, alice).await, 300);
    s.dav_resource_put(cal.id, &put("b.ics", "b", &K5), &DavCondition::Any)
        .await
        .unwrap();
    assert_eq!(used(s, alice).await, 800);
    // COPY adds bytes and may not exceed the quota; MOVE adds none.
    assert!(matches!(
        s.dav_resource_transfer(cal.id, "b.ics", other.id, "b.ics", true, false)
            .await,
        Err(StoreError::OverQuota { .. })
    ));
    s.dav_resource_transfer(cal.id, "b.ics", other.id, "b.ics", false, false)
        .await
        .unwrap();
    assert_eq!(used(s, alice).await, 800);
    // Deleting frees.
    s.dav_resource_delete(cal.id, "a.ics", &DavCondition::Any)
        .await
        .unwrap();
    assert_eq!(used(s, alice).await, 500);
    // Mail and DAV share the quota.
    assert!(matches!(
        s.deliver(vec![super::msg(alice, &"m".repeat(600))]).await,
        Err(StoreError::OverQuota { .. })
    ));
    s.deliver(vec![super::msg(alice, &"m".repeat(100))])
        .await
        .unwrap();
    let mail = used(s, alice).await - 500;
    assert!(matches!(
        s.dav_resource_put(cal.id, &put("c.ics", "c", &K5), &DavCondition::Any)
            .await,
        Err(StoreError::OverQuota { .. })
    ));
    s.dav_collection_delete(other.id).await.unwrap();
    assert_eq!(
        used(s, alice).await,
        mail,
        "a collection's bytes go with it"
    );

    // The largest resource, and one byte more.
    let unlimited = account(s, "big", 0).await;
    let big = s
        .dav_collection_create(unlimited, DavKind::AddressBook, "b", None, &[])
        .await
        .unwrap();
    let max = vec![b'x'; MAX_DAV_RESOURCE];
    s.dav_resource_put(big.id, &card("max.vcf", "m", &max), &DavCondition::Any)
        .await
        .unwrap();
    let (_, back) = s
        .dav_resource_content(big.id, "max.vcf")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.len(), MAX_DAV_RESOURCE);
    let over = vec![b'x'; MAX_DAV_RESOURCE + 1];
    assert!(matches!(
        s.dav_resource_put(big.id, &card("over.vcf", "o", &over), &DavCondition::Any)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(used(s, unlimited).await, MAX_DAV_RESOURCE as u64);
}

pub(crate) async fn dav_sync_changes(f: Fixture) {
    let s = &f.store;
    let alice = account(s, "alice", 0).await;
    let cal = s
        .dav_collection_create(alice, DavKind::Calendar, "cal", None, &["VEVENT"])
        .await
        .unwrap();
    let empty = s.dav_changes(cal.id, 0, None).await.unwrap();
    assert_eq!(
        (empty.changes.len(), empty.token, empty.truncated),
        (0, 0, false)
    );
    for (name, uid) in [("a.ics", "a"), ("b.ics", "b"), ("c.ics", "c")] {
        s.dav_resource_put(cal.id, &event(name, uid, (None, None)), &DavCondition::Any)
            .await
            .unwrap();
    }
    let all = s.dav_changes(cal.id, 0, None).await.unwrap();
    assert_eq!(
        names(&all.changes),
        [("a.ics", false), ("b.ics", false), ("c.ics", false)]
    );
    assert_eq!((all.token, all.truncated), (3, false));
    assert_eq!(
        s.dav_collection_get(alice, DavKind::Calendar, "cal")
            .await
            .unwrap()
            .unwrap()
            .sync,
        3,
        "the CTag is the token"
    );
    // Nothing after the current token.
    let none = s.dav_changes(cal.id, 3, None).await.unwrap();
    assert!(none.changes.is_empty());
    assert_eq!(none.token, 3);

    // A modification and a deletion after token 3.
    s.dav_resource_put(
        cal.id,
        &event("a.ics", "a", (Some(1), None)),
        &DavCondition::Any,
    )
    .await
    .unwrap();
    s.dav_resource_delete(cal.id, "b.ics", &DavCondition::Any)
        .await
        .unwrap();
    let after = s.dav_changes(cal.id, 3, None).await.unwrap();
    assert_eq!(after.changes.len(), 2);
    assert_eq!(
        after.changes[0],
        DavChange {
            name: "a.ics".into(),
            deleted: false,
            modseq: 4
        }
    );
    assert_eq!(
        after.changes[1],
        DavChange {
            name: "b.ics".into(),
            deleted: true,
            modseq: 5
        }
    );
    assert_eq!(after.token, 5);
    // An old token still sees the deletion as a tombstone, and each name
    // once, at its latest change.
    let old = s.dav_changes(cal.id, 1, None).await.unwrap();
    assert_eq!(
        names(&old.changes),
        [("c.ics", false), ("a.ics", false), ("b.ics", true)]
    );
    // The initial sync lists what is there now, no deletions.
    let initial = s.dav_changes(cal.id, 0, None).await.unwrap();
    assert_eq!(
        names(&initial.changes),
        [("c.ics", false), ("a.ics", false)]
    );
    // A name deleted and created again is present.
    s.dav_resource_put(
        cal.id,
        &event("b.ics", "b2", (None, None)),
        &DavCondition::Any,
    )
    .await
    .unwrap();
    assert_eq!(
        names(&s.dav_changes(cal.id, 3, None).await.unwrap().changes),
        [("a.ics", false), ("b.ics", false)]
    );

    // Limits truncate; the token continues where the answer stopped.
    for i in 0..5 {
        let (name, uid) = (format!("n{i}.ics"), format!("n{i}"));
        s.dav_resource_put(
            cal.id,
            &event(&name, &uid, (None, None)),
            &DavCondition::Any,
        )
        .await
        .unwrap();
    }
    s.dav_resource_delete(cal.id, "n1.ics", &DavCondition::Any)
        .await
        .unwrap();
    // After 6: n0, n2, n3, n4 (7, 9, 10, 11), n1 deleted (12).
    let mut token = 6;
    let mut seen = Vec::new();
    let mut rounds = 0;
    loop {
        let page = s.dav_changes(cal.id, token, Some(2)).await.unwrap();
        assert!(page.changes.len() <= 2);
        seen.extend(page.changes.iter().map(|c| (c.name.clone(), c.deleted)));
        token = page.token;
        rounds += 1;
        if !page.truncated {
            break;
        }
        assert_eq!(token, page.changes.last().unwrap().modseq);
    }
    assert_eq!(rounds, 3);
    assert_eq!(token, 12);
    let seen: Vec<(&str, bool)> = seen.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    assert_eq!(
        seen,
        [
            ("n0.ics", false),
            ("n2.ics", false),
            ("n3.ics", false),
            ("n4.ics", false),
            ("n1.ics", true)
        ]
    );
    // A limit exactly the number of changes does not truncate.
    let exact = s.dav_changes(cal.id, 10, Some(2)).await.unwrap();
    assert_eq!(
        (exact.changes.len(), exact.truncated, exact.token),
        (2, false, 12)
    );
    // The initial sync truncates too.
    let first = s.dav_changes(cal.id, 0, Some(1)).await.unwrap();
    assert!(first.truncated);
    assert_eq!(first.changes.len(), 1);
    assert_eq!(first.token, first.changes[0].modseq);
    // A token from the future is no token of this collection.
    assert!(matches!(
        s.dav_changes(cal.id, 13, None).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.dav_changes(cal.id, -1, None).await,
        Err(StoreError::Invalid(_))
    ));
}

pub(crate) async fn dav_move_and_copy(f: Fixture) {
    let s = &f.store;
    let alice = account(s, "alice", 0).await;
    let bob = account(s, "bob", 0).await;
    let new = |name: &'static str| async move {
        s.dav_collection_create(alice, DavKind::Calendar, name, None, &["VEVENT"])
            .await
            .unwrap()
            .id
    };
    let (work, home) = (new("work").await, new("home").await);
    let body = |n: u8| vec![b'0' + n; 10 + n as usize];
    let put = |c, name: &'static str, uid: &'static str, n: u8| async move {
        let content = body(n);
        let p = DavPut {
            name,
            uid,
            component: Some("VEVENT"),
            first_start: None,
            last_end: None,
            content: &content,
        };
        s.dav_resource_put(c, &p, &DavCondition::Any)
            .await
            .unwrap()
            .0
    };
    let bytes = |c, name: &'static str| async move {
        s.dav_resource_content(c, name)
            .await
            .unwrap()
            .map(|(_, b)| b)
    };
    let a = put(work, "a.ics", "a", 1).await;
    put(work, "b.ics", "b", 2).await;
    put(home, "x.ics", "x", 3).await;

    // MOVE to another calendar: gone here, there with its bytes and ETag.
    assert!(
        s.dav_resource_transfer(work, "a.ics", home, "a.ics", false, false)
            .await
            .unwrap()
    );
    assert!(bytes(work, "a.ics").await.is_none());
    assert_eq!(bytes(home, "a.ics").await.unwrap(), body(1));
    let moved = s.dav_resource(home, "a.ics").await.unwrap().unwrap();
    assert_eq!((moved.etag, moved.uid), (a.etag.clone(), "a".into()));
    // Both collections changed: a tombstone here, a member there.
    assert_eq!(
        names(&s.dav_changes(work, 2, None).await.unwrap().changes),
        [("a.ics", true)]
    );
    assert_eq!(
        names(&s.dav_changes(home, 1, None).await.unwrap().changes),
        [("a.ics", false)]
    );
    assert_eq!(used(s, alice).await, 11 + 12 + 13);

    // COPY back under another name.
    assert!(
        s.dav_resource_transfer(home, "a.ics", work, "a-copy.ics", true, false)
            .await
            .unwrap()
    );
    assert_eq!(bytes(home, "a.ics").await.unwrap(), body(1));
    assert_eq!(bytes(work, "a-copy.ics").await.unwrap(), body(1));
    assert_eq!(used(s, alice).await, 11 + 12 + 13 + 11);

    // Overwrite: F refuses an existing target; T replaces it.
    assert!(matches!(
        s.dav_resource_transfer(home, "x.ics", work, "b.ics", true, false)
            .await,
        Err(StoreError::DavPreconditionFailed)
    ));
    assert!(matches!(
        s.dav_resource_transfer(home, "x.ics", work, "b.ics", false, false)
            .await,
        Err(StoreError::DavPreconditionFailed)
    ));
    assert_eq!(bytes(work, "b.ics").await.unwrap(), body(2));
    assert!(
        !s.dav_resource_transfer(home, "x.ics", work, "b.ics", true, true)
            .await
            .unwrap(),
        "overwritten, not created"
    );
    assert_eq!(bytes(work, "b.ics").await.unwrap(), body(3));
    assert_eq!(
        s.dav_resource(work, "b.ics").await.unwrap().unwrap().uid,
        "x"
    );
    assert_eq!(used(s, alice).await, 11 + 13 + 13 + 11);
    // The target gives way, but no other member with the UID does: home
    // has "a" in a.ics already.
    match s
        .dav_resource_transfer(work, "a-copy.ics", home, "x.ics", false, true)
        .await
    {
        Err(StoreError::DavUidConflict(n)) => assert_eq!(n, "a.ics"),
        other => panic!("{other:?}"),
    }
    let before = s.dav_changes(home, 0, None).await.unwrap().token;
    assert!(
        !s.dav_resource_transfer(work, "a-copy.ics", home, "a.ics", false, true)
            .await
            .unwrap()
    );
    assert_eq!(bytes(home, "a.ics").await.unwrap(), body(1));
    assert!(bytes(work, "a-copy.ics").await.is_none());
    assert_eq!(used(s, alice).await, 11 + 13 + 13);
    assert_eq!(
        names(&s.dav_changes(home, before, None).await.unwrap().changes),
        [("a.ics", false)]
    );

    // Rename within a collection: two changes, two sync values.
    let sync = s.dav_changes(work, 0, None).await.unwrap().token;
    assert!(
        s.dav_resource_transfer(work, "b.ics", work, "renamed.ics", false, false)
            .await
            .unwrap()
    );
    let ch = s.dav_changes(work, sync, None).await.unwrap();
    assert_eq!(
        names(&ch.changes),
        [("b.ics", true), ("renamed.ics", false)]
    );
    assert_eq!(ch.token, sync + 2);
    assert_eq!(bytes(work, "renamed.ics").await.unwrap(), body(3));
    // A COPY within a collection always meets its own UID.
    match s
        .dav_resource_transfer(work, "renamed.ics", work, "twin.ics", true, false)
        .await
    {
        Err(StoreError::DavUidConflict(n)) => assert_eq!(n, "renamed.ics"),
        other => panic!("{other:?}"),
    }
    // Source and destination the same, a missing source, another kind or
    // another account's collection: refused.
    assert!(matches!(
        s.dav_resource_transfer(work, "renamed.ics", work, "renamed.ics", false, true)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.dav_resource_transfer(work, "nope.ics", home, "nope.ics", false, false)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let book = s
        .dav_collection_create(alice, DavKind::AddressBook, "book", None, &[])
        .await
        .unwrap()
        .id;
    let bobs = s
        .dav_collection_create(bob, DavKind::Calendar, "work", None, &["VEVENT"])
        .await
        .unwrap()
        .id;
    for to in [book, bobs] {
        assert!(matches!(
            s.dav_resource_transfer(work, "renamed.ics", to, "r.ics", false, false)
                .await,
            Err(StoreError::Invalid(_))
        ));
    }
    assert!(matches!(
        s.dav_resource_transfer(work, "renamed.ics", home, "a/b", false, false)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(bytes(work, "renamed.ics").await.unwrap(), body(3));
}

pub(crate) async fn dav_time_ranges(f: Fixture) {
    let s = &f.store;
    let alice = account(s, "alice", 0).await;
    let cal = s
        .dav_collection_create(alice, DavKind::Calendar, "cal", None, &["VEVENT", "VTODO"])
        .await
        .unwrap()
        .id;
    for (name, uid, span) in [
        ("all.ics", "1", (None, None)),
        ("open-end.ics", "2", (Some(100), None)),
        ("open-start.ics", "3", (None, Some(50))),
        ("mid.ics", "4", (Some(100), Some(200))),
        ("point.ics", "5", (Some(300), Some(300))),
        ("late.ics", "6", (Some(1000), Some(2000))),
    ] {
        s.dav_resource_put(cal, &event(name, uid, span), &DavCondition::Any)
            .await
            .unwrap();
    }
    let range = |start, end| async move {
        s.dav_in_range(cal, start, end)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(range(None, None).await.len(), 6);
    assert_eq!(
        range(Some(0), Some(60)).await,
        ["all.ics", "open-start.ics"]
    );
    // Spans that only touch the range are candidates (RFC 4791 9.9 takes
    // a zero-length event at the range's end… or start): the caller refines.
    assert_eq!(
        range(Some(200), Some(300)).await,
        ["all.ics", "mid.ics", "open-end.ics", "point.ics"]
    );
    assert_eq!(
        range(Some(301), None).await,
        ["all.ics", "late.ics", "open-end.ics"]
    );
    assert_eq!(
        range(Some(300), None).await,
        ["all.ics", "late.ics", "open-end.ics", "point.ics"]
    );
    assert_eq!(range(None, Some(99)).await, ["all.ics", "open-start.ics"]);
    assert_eq!(
        range(None, Some(100)).await,
        ["all.ics", "mid.ics", "open-end.ics", "open-start.ics"]
    );
    assert_eq!(
        range(Some(150), Some(160)).await,
        ["all.ics", "mid.ics", "open-end.ics"]
    );
    let (stored, _) = s
        .dav_resource_put(
            cal,
            &event("short.ics", "7", (Some(5), Some(9))),
            &DavCondition::Any,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            stored.component.as_deref(),
            stored.first_start,
            stored.last_end
        ),
        (Some("VEVENT"), Some(5), Some(9))
    );
    assert!(matches!(
        s.dav_resource_put(
            cal,
            &event("bad.ics", "8", (Some(9), Some(5))),
            &DavCondition::Any
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
}

pub(crate) async fn dav_concurrent_writers(f: Fixture) {
    let s = &f.store;
    let alice = account(s, "alice", 0).await;
    let cal = s
        .dav_collection_create(alice, DavKind::Calendar, "cal", None, &["VEVENT"])
        .await
        .unwrap()
        .id;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..16 {
        let s = s.clone();
        set.spawn(async move {
            let (name, uid) = (format!("{i}.ics"), format!("{i}"));
            s.dav_resource_put(cal, &event(&name, &uid, (None, None)), &DavCondition::Any)
                .await
                .unwrap();
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let all = s.dav_changes(cal, 0, None).await.unwrap();
    let modseqs: Vec<i64> = all.changes.iter().map(|c| c.modseq).collect();
    assert_eq!(modseqs, (1..=16).collect::<Vec<_>>(), "one sync value each");
    assert_eq!(all.token, 16);
    let size = event("x", "x", (None, None)).content.len() as u64;
    assert_eq!(used(s, alice).await, 16 * size);
}

pub(crate) async fn dav_account_removal_cascades(f: Fixture) {
    let s = &f.store;
    let alice = account(s, "alice", 0).await;
    let bob = account(s, "bob", 0).await;
    let mut ids = Vec::new();
    for who in [alice, bob] {
        let cal = s
            .dav_collection_create(who, DavKind::Calendar, "cal", None, &["VEVENT"])
            .await
            .unwrap()
            .id;
        let book = s
            .dav_collection_create(who, DavKind::AddressBook, "book", None, &[])
            .await
            .unwrap()
            .id;
        s.dav_resource_put(cal, &event("e.ics", "e", (None, None)), &DavCondition::Any)
            .await
            .unwrap();
        s.dav_resource_put(
            book,
            &card("c.vcf", "c", b"BEGIN:VCARD\r\n"),
            &DavCondition::Any,
        )
        .await
        .unwrap();
        s.dav_resource_delete(book, "c.vcf", &DavCondition::Any)
            .await
            .unwrap();
        ids.push((cal, book));
    }
    s.account_remove(&addr("alice@example.org")).await.unwrap();
    let (cal, book) = ids[0];
    for kind in [DavKind::Calendar, DavKind::AddressBook] {
        assert!(s.dav_collections(alice, kind).await.unwrap().is_empty());
    }
    assert!(s.dav_resources(cal).await.unwrap().is_empty());
    assert!(
        s.dav_resource_content(cal, "e.ics")
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        s.dav_changes(book, 0, None).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.dav_resource_put(cal, &event("n.ics", "n", (None, None)), &DavCondition::Any)
            .await,
        Err(StoreError::NotFound(_))
    ));
    // Bob keeps his.
    let (cal, book) = ids[1];
    assert_eq!(s.dav_resources(cal).await.unwrap().len(), 1);
    assert_eq!(
        names(&s.dav_changes(book, 1, None).await.unwrap().changes),
        [("c.vcf", true)]
    );
    // A new account of the same name starts with nothing.
    let again = account(s, "alice", 0).await;
    assert!(
        s.dav_collections(again, DavKind::Calendar)
            .await
            .unwrap()
            .is_empty()
    );
}
