//! SOURCE/GET state on both backends: recipients awaiting a fetch under an
//! identifier, fetchable until released or expired, released once; and the
//! receiver's envelopes claimed under a lease, retried, stored, removed.

use tern_store::{QueueNew, QueueRcptNew, RcptState};

use crate::Fixture;

const ID: &str = "AbCdEfGhIjKlMnOpQrStUvWxYz012345";

pub(crate) async fn source_get_sender(f: Fixture) {
    let s = &f.store;
    let m = s
        .queue_insert(&QueueNew {
            sender: "alice@a.example".into(),
            recipients: vec![
                QueueRcptNew {
                    rcpt: "bob@b.example".into(),
                    ..Default::default()
                },
                QueueRcptNew {
                    rcpt: "carol@b.example".into(),
                    ..Default::default()
                },
            ],
            data: b"Subject: x\r\n\r\ny\r\n".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap();
    let rcpts: Vec<i64> = s
        .queue_message(m)
        .await
        .unwrap()
        .unwrap()
        .recipients
        .iter()
        .map(|r| r.id)
        .collect();
    let now = tern_common::time::now_secs();
    s.source_issue(&rcpts, ID, now + 100, "awaiting")
        .await
        .unwrap();
    let q = s.queue_message(m).await.unwrap().unwrap();
    assert!(q.recipients.iter().all(|r| r.state == RcptState::Awaiting));
    // Not claimed before it expires; the message is kept for the GET.
    assert!(s.queue_claim("n", 10, 60).await.unwrap().is_empty());
    assert_eq!(s.queue_purge_done().await.unwrap(), 0);
    assert_eq!(s.queue_list().await.unwrap().len(), 1);
    assert_eq!(s.source_message(ID).await.unwrap(), Some(m));
    assert_eq!(
        s.source_message("x".repeat(32).as_str()).await.unwrap(),
        None
    );
    assert_eq!(s.source_release(ID, "released").await.unwrap(), 2);
    assert_eq!(s.source_release(ID, "released").await.unwrap(), 0, "once");
    assert_eq!(s.source_message(ID).await.unwrap(), None);
    let q = s.queue_message(m).await.unwrap().unwrap();
    assert!(q.recipients.iter().all(|r| r.state == RcptState::Delivered));

    // Expired: no longer fetchable, and the queue takes it back (to bounce).
    let m2 = s
        .queue_insert(&QueueNew {
            sender: "alice@a.example".into(),
            recipients: vec![QueueRcptNew {
                rcpt: "dan@b.example".into(),
                ..Default::default()
            }],
            data: b"Subject: x\r\n\r\ny\r\n".to_vec(),
            ..Default::default()
        })
        .await
        .unwrap();
    let r2 = s.queue_message(m2).await.unwrap().unwrap().recipients[0].id;
    let other = "Z".repeat(32);
    s.source_issue(&[r2], &other, now - 1, "awaiting")
        .await
        .unwrap();
    assert_eq!(s.source_message(&other).await.unwrap(), None);
    assert_eq!(s.source_release(&other, "late").await.unwrap(), 0);
    let claimed = s.queue_claim("n", 10, 60).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].state, RcptState::Awaiting);
}

pub(crate) async fn source_get_receiver(f: Fixture) {
    let s = &f.store;
    let rcpts = vec!["bob@b.example".to_string(), "carol@b.example".to_string()];
    assert!(
        s.source_in_add(
            ID,
            "alice@a.example",
            &rcpts,
            "mx.a.example",
            "192.0.2.1",
            true
        )
        .await
        .unwrap()
    );
    assert!(
        !s.source_in_add(ID, "alice@a.example", &rcpts, "x", "192.0.2.1", false)
            .await
            .unwrap(),
        "an id once"
    );
    let due = s.source_in_claim(10, 600).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].rcpts, rcpts);
    assert!(due[0].tls);
    assert_eq!(due[0].state, "waiting");
    // Leased: another node does not take it meanwhile.
    assert!(s.source_in_claim(10, 600).await.unwrap().is_empty());
    s.source_in_retry(due[0].id, 0, "unreachable")
        .await
        .unwrap();
    let again = s.source_in_claim(10, 600).await.unwrap();
    assert_eq!(
        (again[0].attempts, again[0].last_error.as_str()),
        (1, "unreachable")
    );
    s.source_in_stored(again[0].id).await.unwrap();
    assert_eq!(s.source_in_list().await.unwrap()[0].state, "stored");
    s.source_in_remove(again[0].id).await.unwrap();
    assert!(s.source_in_list().await.unwrap().is_empty());
}

pub(crate) async fn deliveries_once_by_key(f: Fixture) {
    let s = &f.store;
    s.domain_add("b.example").await.unwrap();
    let a = s
        .account_add(&crate::addr("bob@b.example"), "Some-Strong-Pass-1", 0)
        .await
        .unwrap();
    let key = Some(format!("source-get:{ID}"));
    let first = s
        .deliver_once(vec![crate::msg(a.id, "once")], key.clone())
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    let again = s.deliver_once(vec![crate::msg(a.id, "once")], key).await;
    assert!(
        matches!(again, Err(tern_store::StoreError::AlreadyDelivered)),
        "{again:?}"
    );
    let inbox = s.mailbox_get(a.id, "INBOX").await.unwrap().unwrap();
    assert_eq!(s.messages(inbox.id).await.unwrap().len(), 1, "stored once");
    // Without a key, deliveries are as before.
    s.deliver_once(vec![crate::msg(a.id, "twice")], None)
        .await
        .unwrap();
    s.deliver_once(vec![crate::msg(a.id, "twice")], None)
        .await
        .unwrap();
    assert_eq!(s.messages(inbox.id).await.unwrap().len(), 3);
    assert_eq!(s.delivery_keys_prune(i64::MAX).await.unwrap(), 1);
}
