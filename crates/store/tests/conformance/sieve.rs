//! Sieve scripts, on both backends: named per account, at most one active,
//! the active one not deletable, renames keeping it active, limits on size
//! and count, names as RFC 5804 1.6 allows them.

use tern_store::{MAX_SIEVE_SCRIPT_SIZE, MAX_SIEVE_SCRIPTS, SieveLimit, StoreError};

use super::{Fixture, addr};

pub(crate) async fn sieve_scripts(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let alice = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap()
        .id;
    let bob = s
        .account_add(&addr("bob@example.org"), "pw", 0)
        .await
        .unwrap()
        .id;
    assert!(s.sieve_list(alice).await.unwrap().is_empty());
    assert!(s.sieve_put(alice, "main", "keep;\r\n").await.unwrap());
    assert!(s.sieve_put(alice, "vacation", "discard;").await.unwrap());
    // The same name replaces, and is not new.
    assert!(!s.sieve_put(alice, "main", "stop;").await.unwrap());
    let got = s.sieve_get(alice, "main").await.unwrap().unwrap();
    assert_eq!((got.content.as_str(), got.active), ("stop;", false));
    assert!(
        s.sieve_get(alice, "Main").await.unwrap().is_none(),
        "names keep their case"
    );
    assert!(
        s.sieve_get(bob, "main").await.unwrap().is_none(),
        "scripts are per account"
    );
    assert!(s.sieve_active(alice).await.unwrap().is_none());

    // One active at a time.
    s.sieve_activate(alice, "main").await.unwrap();
    s.sieve_activate(alice, "vacation").await.unwrap();
    let list = s.sieve_list(alice).await.unwrap();
    let active: Vec<_> = list.iter().map(|i| (i.name.as_str(), i.active)).collect();
    assert_eq!(active, [("main", false), ("vacation", true)]);
    assert_eq!(list[1].size, 8);
    assert!(matches!(
        s.sieve_activate(alice, "nope").await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        s.sieve_active(alice).await.unwrap().unwrap().name,
        "vacation"
    );
    // Replacing the active script keeps it active.
    s.sieve_put(alice, "vacation", "keep;").await.unwrap();
    let active = s.sieve_active(alice).await.unwrap().unwrap();
    assert_eq!(
        (active.name.as_str(), active.content.as_str()),
        ("vacation", "keep;")
    );

    // The active one cannot be deleted; renamed, it stays active.
    assert!(matches!(
        s.sieve_remove(alice, "vacation").await,
        Err(StoreError::Active(_))
    ));
    s.sieve_rename(alice, "vacation", "away").await.unwrap();
    assert_eq!(s.sieve_active(alice).await.unwrap().unwrap().name, "away");
    assert!(matches!(
        s.sieve_rename(alice, "away", "main").await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(matches!(
        s.sieve_rename(alice, "gone", "x").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.sieve_rename(alice, "away", "a\nb").await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        s.sieve_deactivate(alice).await.unwrap().as_deref(),
        Some("away")
    );
    assert_eq!(s.sieve_deactivate(alice).await.unwrap(), None);
    s.sieve_remove(alice, "away").await.unwrap();
    assert!(matches!(
        s.sieve_remove(alice, "away").await,
        Err(StoreError::NotFound(_))
    ));
    let names: Vec<_> = s
        .sieve_list(alice)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, ["main"]);

    // Names and limits.
    for bad in ["", "a\tb", "x\u{2028}"] {
        assert!(
            matches!(
                s.sieve_put(bob, bad, "keep;").await,
                Err(StoreError::Invalid(_))
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        s.sieve_put(bob, "nul", "keep;\0").await,
        Err(StoreError::Invalid(_))
    ));
    let big = "#".repeat(MAX_SIEVE_SCRIPT_SIZE + 1);
    assert!(matches!(
        s.sieve_put(bob, "big", &big).await,
        Err(StoreError::Limit(SieveLimit::Size, _))
    ));
    assert!(matches!(
        s.sieve_have_space(bob, "big", MAX_SIEVE_SCRIPT_SIZE + 1)
            .await,
        Err(StoreError::Limit(SieveLimit::Size, _))
    ));
    s.sieve_put(bob, "exact", &big[1..]).await.unwrap();
    for i in 1..MAX_SIEVE_SCRIPTS {
        s.sieve_put(bob, &format!("s{i}"), "keep;").await.unwrap();
    }
    assert!(matches!(
        s.sieve_put(bob, "one more", "keep;").await,
        Err(StoreError::Limit(SieveLimit::Scripts, _))
    ));
    assert!(matches!(
        s.sieve_have_space(bob, "one more", 5).await,
        Err(StoreError::Limit(SieveLimit::Scripts, _))
    ));
    // Replacing one is still allowed at the limit.
    s.sieve_have_space(bob, "s1", 5).await.unwrap();
    s.sieve_put(bob, "s1", "discard;").await.unwrap();
    assert!(matches!(
        s.sieve_put(9_999_999, "x", "keep;").await,
        Err(StoreError::NotFound(_))
    ));

    // Activations racing each other leave exactly one script active.
    let names: Vec<String> = (1..9).map(|i| format!("s{i}")).collect();
    let racers: Vec<_> = names
        .iter()
        .map(|n| {
            let (s, n) = (s.clone(), n.clone());
            tokio::spawn(async move { s.sieve_activate(bob, &n).await })
        })
        .collect();
    for r in racers {
        r.await.unwrap().unwrap();
    }
    let active = s
        .sieve_list(bob)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.active)
        .count();
    assert_eq!(active, 1);
    // Puts racing at the count limit: as many win as there is room for.
    s.sieve_remove(bob, "exact").await.unwrap();
    s.sieve_remove(bob, "s20").await.unwrap();
    let racers: Vec<_> = (0..6)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.sieve_put(bob, &format!("n{i}"), "keep;").await })
        })
        .collect();
    let mut won = 0;
    for r in racers {
        match r.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Limit(SieveLimit::Scripts, _)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won, 2);
    assert_eq!(s.sieve_list(bob).await.unwrap().len(), MAX_SIEVE_SCRIPTS);

    // Scripts go with their account.
    s.account_remove(&addr("bob@example.org")).await.unwrap();
    assert!(s.sieve_list(bob).await.unwrap().is_empty());
}

/// What Sieve remembers between deliveries (RFC 7352 `duplicate`, vacation
/// windows): per account, until it expires; `:last` moves the window.
pub(crate) async fn sieve_seen_ids(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let alice = s
        .account_add(&addr("alice@example.org"), "pw", 0)
        .await
        .unwrap()
        .id;
    let bob = s
        .account_add(&addr("bob@example.org"), "pw", 0)
        .await
        .unwrap()
        .id;
    let t = 1_000_000;
    assert!(!s.sieve_seen(alice, "_vbob@x.example", t).await.unwrap());
    s.sieve_remember(alice, "_vbob@x.example", 100, false, t)
        .await
        .unwrap();
    assert!(
        s.sieve_seen(alice, "_vbob@x.example", t + 99)
            .await
            .unwrap()
    );
    assert!(
        !s.sieve_seen(alice, "_vbob@x.example", t + 100)
            .await
            .unwrap()
    );
    assert!(
        !s.sieve_seen(bob, "_vbob@x.example", t).await.unwrap(),
        "ids are per account"
    );
    // Without :last a second record keeps the first window...
    s.sieve_remember(alice, "_vbob@x.example", 100, false, t + 50)
        .await
        .unwrap();
    assert!(
        !s.sieve_seen(alice, "_vbob@x.example", t + 120)
            .await
            .unwrap()
    );
    // ...with it the window starts again.
    s.sieve_remember(alice, "<m1@x>", 100, false, t)
        .await
        .unwrap();
    s.sieve_remember(alice, "<m1@x>", 100, true, t + 50)
        .await
        .unwrap();
    assert!(s.sieve_seen(alice, "<m1@x>", t + 120).await.unwrap());
    // An expired id is recorded anew.
    s.sieve_remember(alice, "_vbob@x.example", 10, false, t + 500)
        .await
        .unwrap();
    assert!(
        s.sieve_seen(alice, "_vbob@x.example", t + 505)
            .await
            .unwrap()
    );
    // Gone with the account.
    s.account_remove(&addr("alice@example.org")).await.unwrap();
    assert!(!s.sieve_seen(alice, "<m1@x>", t + 120).await.unwrap());
}
