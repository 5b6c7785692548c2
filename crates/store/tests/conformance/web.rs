//! What the web admin keeps, on both backends: the admin role, a TOTP
//! enrolment that leaves the active secret in force until confirmed, a
//! time step and a recovery code each good once (also when two stores race
//! for them), browser sessions found by cookie but stored as digests, and
//! the day's message counts added up across nodes.

use tern_store::{Stage, Store};

use super::{Fixture, addr};

async fn account(s: &Store, name: &str) -> tern_store::Account {
    s.account_add(&addr(name), "Some-Strong-Pass-1", 0)
        .await
        .unwrap()
}

pub(crate) async fn web_admin_role_and_second_factor(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = account(s, "a@example.org").await;
    assert!(!a.admin);
    s.account_set_admin(&addr("a@example.org"), true)
        .await
        .unwrap();
    assert!(
        s.account_get(&addr("a@example.org"))
            .await
            .unwrap()
            .unwrap()
            .admin
    );
    assert!(
        s.account_set_admin(&addr("nobody@example.org"), true)
            .await
            .is_err()
    );

    // Enrolment: pending until confirmed; a second enrolment replaces it.
    assert_eq!(s.totp_get(a.id).await.unwrap(), tern_store::Totp::default());
    s.totp_set_pending(a.id, "FIRSTSECRET").await.unwrap();
    s.totp_set_pending(a.id, "SECONDSECRET").await.unwrap();
    let t = s.totp_get(a.id).await.unwrap();
    assert_eq!(
        (t.secret, t.pending.as_deref()),
        (None, Some("SECONDSECRET"))
    );
    assert!(
        !s.totp_confirm(a.id, "FIRSTSECRET", 10, &[]).await.unwrap(),
        "stale"
    );
    let codes: Vec<String> = (0..3).map(|i| format!("code{i}-abcde")).collect();
    assert!(
        s.totp_confirm(a.id, "SECONDSECRET", 10, &codes)
            .await
            .unwrap()
    );
    let t = s.totp_get(a.id).await.unwrap();
    assert_eq!(
        (t.secret.as_deref(), t.pending),
        (Some("SECONDSECRET"), None)
    );
    // Re-enrolling keeps the active secret until the new one is confirmed.
    s.totp_set_pending(a.id, "THIRDSECRET").await.unwrap();
    assert_eq!(
        s.totp_get(a.id).await.unwrap().secret.as_deref(),
        Some("SECONDSECRET")
    );

    // A step is good once, and never an earlier one.
    assert!(
        !s.totp_take_step(a.id, 10).await.unwrap(),
        "the enrolment's step"
    );
    assert!(s.totp_take_step(a.id, 11).await.unwrap());
    assert!(!s.totp_take_step(a.id, 11).await.unwrap());
    assert!(!s.totp_take_step(a.id, 9).await.unwrap());
    // Two racers for one step: exactly one wins.
    let (x, y) = tokio::join!(s.totp_take_step(a.id, 12), s.totp_take_step(a.id, 12));
    assert_eq!(u8::from(x.unwrap()) + u8::from(y.unwrap()), 1);

    // Recovery codes: kept as digests, each good once.
    assert_eq!(s.recovery_left(a.id).await.unwrap(), 3);
    assert!(s.recovery_take(a.id, "code1-abcde").await.unwrap());
    assert!(!s.recovery_take(a.id, "code1-abcde").await.unwrap());
    assert!(!s.recovery_take(a.id, "nope").await.unwrap());
    assert_eq!(s.recovery_left(a.id).await.unwrap(), 2);
    let b = account(s, "b@example.org").await;
    assert!(
        !s.recovery_take(b.id, "code0-abcde").await.unwrap(),
        "another account's"
    );
    assert!(
        !s.totp_take_step(b.id, 99).await.unwrap(),
        "no secret, no step"
    );

    s.totp_remove(a.id).await.unwrap();
    assert_eq!(s.totp_get(a.id).await.unwrap(), tern_store::Totp::default());
    assert_eq!(s.recovery_left(a.id).await.unwrap(), 0);
}

pub(crate) async fn web_sessions(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = account(s, "a@example.org").await;
    let cookie = "ab".repeat(32);
    s.web_session_create(&cookie, a.id, "csrf1", Stage::Password, "192.0.2.1")
        .await
        .unwrap();
    let w = s.web_session_get(&cookie).await.unwrap().unwrap();
    assert_eq!(
        (w.account_id, w.csrf.as_str(), w.stage),
        (a.id, "csrf1", Stage::Password)
    );
    assert!(s.web_session_get(&"cd".repeat(32)).await.unwrap().is_none());
    let other = "ef".repeat(32);
    s.web_session_create(&other, a.id, "csrf2", Stage::Full, "192.0.2.1")
        .await
        .unwrap();
    s.web_session_touch(&other, w.seen + 100).await.unwrap();
    assert_eq!(
        s.web_session_get(&other).await.unwrap().unwrap().seen,
        w.seen + 100
    );
    // Expiry: idle before a time, or opened before another.
    assert_eq!(s.web_sessions_expire(w.seen + 1, 0).await.unwrap(), 1);
    assert!(s.web_session_get(&cookie).await.unwrap().is_none());
    assert!(s.web_session_get(&other).await.unwrap().is_some());
    // Logout everywhere; an account's removal takes its sessions.
    s.web_session_create(&cookie, a.id, "c", Stage::Full, "")
        .await
        .unwrap();
    assert_eq!(s.web_sessions_end_all(a.id).await.unwrap(), 2);
    s.web_session_create(&cookie, a.id, "c", Stage::Full, "")
        .await
        .unwrap();
    s.web_session_delete(&cookie).await.unwrap();
    assert!(s.web_session_get(&cookie).await.unwrap().is_none());
    s.web_session_create(&cookie, a.id, "c", Stage::Full, "")
        .await
        .unwrap();
    s.account_remove(&addr("a@example.org")).await.unwrap();
    assert!(s.web_session_get(&cookie).await.unwrap().is_none());
}

pub(crate) async fn daily_tally(f: Fixture) {
    let s = &f.store;
    s.tally_add(20_000, "received", 3).await.unwrap();
    s.tally_add(20_000, "received", 4).await.unwrap();
    s.tally_add(20_000, "sent", 1).await.unwrap();
    s.tally_add(20_001, "received", 9).await.unwrap();
    assert_eq!(
        s.tally_get(20_000).await.unwrap(),
        vec![("received".to_string(), 7), ("sent".to_string(), 1)]
    );
    // Two nodes adding at once lose nothing.
    let (x, y) = tokio::join!(
        s.tally_add(20_002, "sent", 5),
        s.tally_add(20_002, "sent", 6)
    );
    x.unwrap();
    y.unwrap();
    assert_eq!(
        s.tally_get(20_002).await.unwrap(),
        vec![("sent".to_string(), 11)]
    );
}

pub(crate) async fn domain_policies(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let none = tern_store::DomainPolicy::default();
    assert_eq!(s.domain_policy("example.org").await.unwrap(), Some(none));
    assert_eq!(
        s.domain_policy("Example.ORG").await.unwrap(),
        Some(none),
        "normalised"
    );
    assert_eq!(s.domain_policy("nowhere.example").await.unwrap(), None);
    let p = tern_store::DomainPolicy {
        greylist_secs: Some(120),
        tarpit_ms: Some(0),
    };
    s.domain_set_policy("example.org", &p).await.unwrap();
    assert_eq!(s.domain_policy("example.org").await.unwrap(), Some(p));
    s.domain_set_policy("example.org", &none).await.unwrap();
    assert_eq!(s.domain_policy("example.org").await.unwrap(), Some(none));
    assert!(s.domain_set_policy("nowhere.example", &p).await.is_err());
}

pub(crate) async fn spam_models(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = account(s, "a@example.org").await;
    let b = account(s, "b@example.org").await;
    // Nothing learned: empty models, and no token is read.
    let (own, global) = s.spam_models(a.id, &[1, 2, 3]).await.unwrap();
    assert_eq!((own.totals, global.totals), ((0, 0), (0, 0)));
    // Tokens as the hashes are: the full u64 range, sign bit included.
    let big = u64::MAX - 7;
    assert!(
        s.spam_train(a.id, "id:<1>", true, &[1, 2, big])
            .await
            .unwrap()
    );
    assert!(
        !s.spam_train(a.id, "id:<1>", true, &[1, 2, big])
            .await
            .unwrap(),
        "once"
    );
    assert!(s.spam_train(a.id, "id:<2>", false, &[2, 3]).await.unwrap());
    assert!(s.spam_train(b.id, "id:<1>", false, &[1]).await.unwrap());
    let (own, global) = s.spam_models(a.id, &[1, 2, 3, big, 99]).await.unwrap();
    assert_eq!(own.totals, (1, 1));
    assert_eq!(own.tokens.get(&1), Some(&(1, 0)));
    assert_eq!(own.tokens.get(&2), Some(&(1, 1)));
    assert_eq!(own.tokens.get(&big), Some(&(1, 0)));
    assert_eq!(own.tokens.get(&99), None);
    assert_eq!(global.totals, (1, 2), "every account's decisions");
    assert_eq!(global.tokens.get(&1), Some(&(1, 1)));
    // Trained the other way: it counts once, as the last move says.
    assert!(
        s.spam_train(a.id, "id:<1>", false, &[1, 2, big])
            .await
            .unwrap()
    );
    let (own, global) = s.spam_models(a.id, &[1, 2, big]).await.unwrap();
    assert_eq!(own.totals, (0, 2));
    assert_eq!(own.tokens.get(&1), Some(&(0, 1)));
    assert_eq!(own.tokens.get(&2), Some(&(0, 2)));
    assert_eq!(global.totals, (0, 3));
    // Many tokens (more than one statement's worth), and two trainers at
    // once lose nothing.
    let many: Vec<u64> = (1000..2500).collect();
    let (x, y) = tokio::join!(
        s.spam_train(a.id, "id:<3>", true, &many),
        s.spam_train(b.id, "id:<3>", true, &many)
    );
    assert!(x.unwrap() && y.unwrap());
    let (own, global) = s.spam_models(a.id, &many).await.unwrap();
    assert_eq!(own.tokens.len(), many.len());
    assert!(global.tokens.values().all(|c| *c == (2, 0)));
    // An account's removal takes its model; the global one keeps it.
    s.account_remove(&addr("a@example.org")).await.unwrap();
    let (own, global) = s.spam_models(a.id, &many).await.unwrap();
    assert_eq!(own.totals, (0, 0));
    assert_eq!(global.totals, (2, 3));
}

pub(crate) async fn screener_and_vips(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = account(s, "a@example.org").await;
    assert!(!s.screener_enabled(a.id).await.unwrap(), "off by default");
    s.screener_set(a.id, true).await.unwrap();
    s.screener_set(a.id, true).await.unwrap();
    assert!(s.screener_enabled(a.id).await.unwrap());
    assert!(s.mailbox_get(a.id, "Screener").await.unwrap().is_some());
    // Decisions: the last one counts; sending approves only the unknown.
    assert_eq!(
        s.screener_decision(a.id, "x@remote.example").await.unwrap(),
        None
    );
    s.screener_decide(a.id, "x@remote.example", false, "moved")
        .await
        .unwrap();
    s.screener_approve_new(
        a.id,
        &["x@remote.example".into(), "y@remote.example".into()],
        "sent",
    )
    .await
    .unwrap();
    assert_eq!(
        s.screener_decision(a.id, "x@remote.example").await.unwrap(),
        Some(false)
    );
    assert_eq!(
        s.screener_decision(a.id, "y@remote.example").await.unwrap(),
        Some(true)
    );
    s.screener_decide(a.id, "x@remote.example", true, "api")
        .await
        .unwrap();
    let list = s.screener_list(a.id).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list[0].approved && list[0].source == "api");
    assert!(s.screener_forget(a.id, "y@remote.example").await.unwrap());
    assert!(!s.screener_forget(a.id, "y@remote.example").await.unwrap());
    // VIPs by address or by domain.
    assert!(s.vip_add(a.id, "boss@work.example").await.unwrap());
    assert!(!s.vip_add(a.id, "boss@work.example").await.unwrap());
    assert!(s.vip_add(a.id, "@family.example").await.unwrap());
    assert!(s.vip_matches(a.id, "boss@work.example").await.unwrap());
    assert!(s.vip_matches(a.id, "mum@family.example").await.unwrap());
    assert!(!s.vip_matches(a.id, "other@work.example").await.unwrap());
    assert_eq!(
        s.vip_list(a.id).await.unwrap(),
        vec!["@family.example", "boss@work.example"]
    );
    assert!(s.vip_remove(a.id, "@family.example").await.unwrap());
    assert!(!s.vip_matches(a.id, "mum@family.example").await.unwrap());
    // Sent Message-IDs approve replies.
    s.sent_ids_add(a.id, &["<m1@example.org>".into()])
        .await
        .unwrap();
    assert!(
        s.sent_ids_any(a.id, &["<zz@x>".into(), "<m1@example.org>".into()])
            .await
            .unwrap()
    );
    assert!(!s.sent_ids_any(a.id, &["<zz@x>".into()]).await.unwrap());
    let many: Vec<String> = (0..120).map(|i| format!("<n{i}@x>")).collect();
    assert!(!s.sent_ids_any(a.id, &many).await.unwrap());
    s.screener_set(a.id, false).await.unwrap();
    assert!(!s.screener_enabled(a.id).await.unwrap());
}

pub(crate) async fn snoozed_messages(f: Fixture) {
    let s = &f.store;
    s.domain_add("example.org").await.unwrap();
    let a = account(s, "a@example.org").await;
    assert_eq!(
        s.snooze_settings(a.id).await.unwrap(),
        (false, String::new())
    );
    s.snooze_set(a.id, true).await.unwrap();
    s.time_zone_set(a.id, "Europe/Berlin").await.unwrap();
    assert_eq!(
        s.snooze_settings(a.id).await.unwrap(),
        (true, "Europe/Berlin".to_string())
    );
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    let snoozed = s.mailbox_create(a.id, "Snoozed", None).await.unwrap();
    s.snooze_add(a.id, snoozed.id, 7, inbox.id, 1_000)
        .await
        .unwrap();
    s.snooze_add(a.id, snoozed.id, 8, inbox.id, 3_000)
        .await
        .unwrap();
    s.snooze_add(a.id, snoozed.id, 7, inbox.id, 2_000)
        .await
        .unwrap();
    assert!(
        s.snooze_due(1_999, 10).await.unwrap().is_empty(),
        "replaced"
    );
    let due = s.snooze_due(2_500, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].uid, due[0].back_to, due[0].until),
        (7, inbox.id, 2_000)
    );
    assert_eq!(s.snooze_list(a.id).await.unwrap().len(), 2);
    let here: Vec<u32> = s
        .snooze_in(snoozed.id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.uid)
        .collect();
    assert_eq!(here, [7, 8], "one mailbox's rows, by UID");
    assert!(s.snooze_in(inbox.id).await.unwrap().is_empty());
    s.snooze_remove(snoozed.id, 7).await.unwrap();
    assert_eq!(s.snooze_due(i64::MAX, 10).await.unwrap().len(), 1);
    // A wake-up's move happens once, whatever step a crash interrupted:
    // after the copy alone (the source still there), a repeat only
    // expunges; with the source gone, nothing happens.
    s.deliver(vec![super::msg(a.id, "wake")]).await.unwrap();
    let inbox_uid = s.messages(inbox.id).await.unwrap()[0].uid;
    let waiting = s
        .move_messages(inbox.id, &[inbox_uid], snoozed.id)
        .await
        .unwrap()[0]
        .1;
    let key = format!("snooze:{}:{waiting}", snoozed.id);
    let copied = s
        .copy_messages_once(snoozed.id, &[waiting], inbox.id, Some(key.clone()))
        .await
        .unwrap();
    assert_eq!(copied.len(), 1);
    for _ in 0..2 {
        assert_eq!(
            s.move_message_once(snoozed.id, waiting, inbox.id, &key)
                .await
                .unwrap(),
            None,
            "copied before"
        );
        assert_eq!(s.messages(inbox.id).await.unwrap().len(), 1, "one copy");
        assert!(s.messages(snoozed.id).await.unwrap().is_empty());
    }
    // Done: the row goes, and the move's key with it (keys are not kept
    // for wake-ups that can no longer repeat).
    s.snooze_add(a.id, snoozed.id, waiting, inbox.id, 1)
        .await
        .unwrap();
    s.snooze_woken(snoozed.id, waiting, &key).await.unwrap();
    let rows = s.snooze_in(snoozed.id).await.unwrap();
    assert!(rows.iter().all(|r| r.uid != waiting), "its row is gone");
    assert_eq!(
        s.delivery_keys_prune(i64::MAX).await.unwrap(),
        0,
        "no key left"
    );
    // The mailbox's removal takes its snoozed rows.
    s.mailbox_delete(a.id, "Snoozed").await.unwrap();
    assert!(s.snooze_list(a.id).await.unwrap().is_empty());
}
