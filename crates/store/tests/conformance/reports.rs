//! DMARC and TLS reports on both backends: a kind, day and domain is taken
//! once — the second taker queues nothing —, https reports wait with their
//! payload until posted, finished days are remembered, received reports
//! are kept once and listed by domain, and old outcomes are dropped.

use tern_store::{
    DmarcRecord, KIND_DMARC, KIND_TLSRPT, QueueNew, QueueRcptNew, ReportIn, ReportSent, TlsResult,
};

use crate::Fixture;

fn sent(kind: &str, domain: &str, state: &str) -> ReportSent {
    ReportSent {
        kind: kind.into(),
        period: 86_400 * 100,
        domain: domain.into(),
        report_id: format!("{kind}.{domain}"),
        destinations: "mailto:r@example.com".into(),
        state: state.into(),
        detail: String::new(),
        attempts: 0,
        at: 0,
    }
}

fn mail() -> QueueNew {
    QueueNew {
        sender: "reports@example.org".into(),
        recipients: vec![QueueRcptNew {
            rcpt: "r@example.com".into(),
            orcpt: None,
            notify: "NEVER".into(),
        }],
        data: b"Subject: report\r\n\r\nx\r\n".to_vec(),
        ..Default::default()
    }
}

pub(crate) async fn report_state(f: Fixture) {
    let s = &f.store;
    let row = sent(KIND_DMARC, "example.com", "queued");
    assert!(s.report_send(&row, Some(&mail()), None).await.unwrap());
    // The same kind, day and domain again: refused, nothing queued.
    assert!(!s.report_send(&row, Some(&mail()), None).await.unwrap());
    assert_eq!(s.queue_list().await.unwrap().len(), 1);
    // Another kind for the same domain and day is its own report.
    let tls = sent(KIND_TLSRPT, "example.com", "posting");
    assert!(s.report_send(&tls, None, Some(b"gz")).await.unwrap());
    let posting = s.reports_posting().await.unwrap();
    assert_eq!(posting.len(), 1);
    assert_eq!(posting[0].1, b"gz".to_vec());
    s.report_posted(KIND_TLSRPT, tls.period, "example.com", "posting", "refused")
        .await
        .unwrap();
    assert_eq!(s.reports_posting().await.unwrap().len(), 1, "kept to retry");
    s.report_posted(KIND_TLSRPT, tls.period, "example.com", "sent", "")
        .await
        .unwrap();
    assert!(s.reports_posting().await.unwrap().is_empty());
    let all = s.reports_sent(0).await.unwrap();
    assert_eq!(all.len(), 2);
    let t = all.iter().find(|r| r.kind == KIND_TLSRPT).unwrap();
    assert_eq!((t.state.as_str(), t.attempts), ("sent", 2));

    assert_eq!(s.report_last_day(KIND_DMARC).await.unwrap(), None);
    s.report_day_done(KIND_DMARC, 86_400 * 3).await.unwrap();
    s.report_day_done(KIND_DMARC, 86_400 * 4).await.unwrap();
    s.report_day_done(KIND_DMARC, 86_400 * 4).await.unwrap();
    assert_eq!(
        s.report_last_day(KIND_DMARC).await.unwrap(),
        Some(86_400 * 4)
    );
    assert_eq!(s.report_last_day(KIND_TLSRPT).await.unwrap(), None);

    // What reports are made from is dropped once old.
    for at in [100, 5_000] {
        s.dmarc_record_insert(&DmarcRecord {
            at,
            header_from: "example.com".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        s.tls_result_insert(&TlsResult {
            at,
            domain: "example.com".into(),
            mx: String::new(),
            policy: "none".into(),
            outcome: "tls".into(),
            detail: String::new(),
        })
        .await
        .unwrap();
    }
    assert_eq!(s.report_data_prune(1_000).await.unwrap(), 2);
    assert_eq!(
        s.dmarc_records_list(0, i64::MAX, None).await.unwrap().len(),
        1
    );
    assert_eq!(s.tls_results(0).await.unwrap().len(), 1);
}

pub(crate) async fn reports_received(f: Fixture) {
    let s = &f.store;
    let r = |domain: &str, id: &str| ReportIn {
        kind: KIND_DMARC.into(),
        domain: domain.into(),
        org_name: "Receiver".into(),
        report_id: id.into(),
        begin_at: 10,
        end_at: 20,
        messages: 9,
        passed: 7,
        failed: 2,
        detail: "[{\"source_ip\":\"192.0.2.1\"}]".into(),
        ..Default::default()
    };
    let a = s.report_in_insert(&r("example.org", "1")).await.unwrap();
    assert!(a.is_some());
    assert_eq!(
        s.report_in_insert(&r("example.org", "1")).await.unwrap(),
        None,
        "kept once"
    );
    s.report_in_insert(&r("example.net", "1"))
        .await
        .unwrap()
        .unwrap();
    s.report_in_insert(&r("example.org", "2"))
        .await
        .unwrap()
        .unwrap();
    let mine = s
        .reports_in_list(Some(&["example.org".to_string()]), None, 0, 10)
        .await
        .unwrap();
    assert_eq!(mine.len(), 2);
    assert!(mine[0].id > mine[1].id, "newest first");
    assert!(mine[0].detail.is_empty(), "rows only in the one report");
    let older = s
        .reports_in_list(Some(&["example.org".to_string()]), None, mine[0].id, 10)
        .await
        .unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!(s.reports_in_list(None, None, 0, 10).await.unwrap().len(), 3);
    assert!(
        s.reports_in_list(None, Some(KIND_TLSRPT), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let one = s.report_in_get(a.unwrap()).await.unwrap().unwrap();
    assert_eq!((one.messages, one.passed, one.failed), (9, 7, 2));
    assert!(one.detail.contains("192.0.2.1"));
    assert!(one.received > 0);
}
