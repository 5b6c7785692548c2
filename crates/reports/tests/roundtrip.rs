//! What tern writes, read back by mail-auth's parsers (as another server
//! reads it), and by tern's own receiving side: the figures survive.

use std::sync::Arc;

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::dmarc::Dmarc;
use mail_auth::report::Report;
use mail_auth::report::tlsrpt::TlsReport;
use tern_reports::{dmarc, mail, receive, tlsrpt};
use tern_store::{DmarcRecord, TlsResult};

const DAY: i64 = 1_795_996_800; // 2026-11-30

fn rec(ip: &str, from: &str, dkim: bool, spf: bool, disposition: &str) -> DmarcRecord {
    DmarcRecord {
        at: DAY + 100,
        source_ip: ip.into(),
        header_from: from.into(),
        envelope_from: from.into(),
        policy: "reject".into(),
        dmarc_result: if dkim || spf { "pass" } else { "fail" }.into(),
        spf_result: if spf { "pass" } else { "fail" }.into(),
        spf_domain: from.into(),
        spf_aligned: spf,
        dkim_results: format!("d={from} s=s1 {}", if dkim { "pass" } else { "fail" }),
        dkim_aligned: dkim,
        disposition: disposition.into(),
        override_reason: String::new(),
    }
}

fn published(domain: &str, txt: &str) -> tern_mailauth::Published {
    tern_mailauth::Published {
        domain: domain.into(),
        record: Arc::new(Dmarc::parse(txt.as_bytes()).expect("record")),
        pct: 50,
    }
}

#[test]
fn a_dmarc_report_counts_identical_rows_once_and_reads_back() {
    let records = [
        rec("192.0.2.1", "example.com", true, true, "accept"),
        rec("192.0.2.1", "example.com", true, true, "accept"),
        rec("192.0.2.1", "example.com", true, true, "accept"),
        rec("198.51.100.7", "example.com", false, false, "reject"),
        rec("2001:db8::5", "example.com", false, true, "junk"),
    ];
    let refs: Vec<&DmarcRecord> = records.iter().collect();
    let h = dmarc::Header {
        org_name: "tern <test> & co",
        email: "reports@example.org",
        contact: Some("https://example.org/contact"),
        report_id: "dmarc.2026-11-30.example.com@mx.example.org",
        begin: DAY,
        end: DAY + 86_399,
    };
    let p = published(
        "example.com",
        "v=DMARC1; p=reject; sp=quarantine; adkim=s; rua=mailto:d@example.com",
    );
    let report = dmarc::report(&h, &p, &refs);
    assert_eq!(report.record.len(), 3, "identical rows are one record");
    let xml = dmarc::xml(&report, p.pct);
    assert!(
        xml.contains("<pct>50</pct>") && xml.contains("<adkim>s</adkim>"),
        "{xml}"
    );
    assert!(xml.contains("tern &lt;test&gt; &amp; co"), "escaped: {xml}");
    let back = Report::parse_xml(xml.as_bytes()).expect("mail-auth reads it");
    assert_eq!(back.domain(), "example.com");
    assert_eq!(back.report_id(), h.report_id);
    let total: u32 = back.records().iter().map(|r| r.count()).sum();
    assert_eq!(total, 5);

    // The mail as sent, read by the receiving side.
    let gz = mail::gzip(xml.as_bytes()).unwrap();
    let env = mail::Envelope {
        from: "reports@example.org",
        to: &["d@example.com".to_string()],
        submitter: "mx.example.org",
        domain: "example.com",
        report_id: h.report_id,
        begin: DAY,
        end: DAY + 86_400,
        date: DAY + 90_000,
    };
    let msg = mail::dmarc(&env, &gz).unwrap();
    let text = String::from_utf8_lossy(&msg);
    assert!(
        text.contains("mx.example.org!example.com!"),
        "file name: {text}"
    );
    let kept = receive::parse(&msg, 1 << 20).expect("parsed");
    assert_eq!(
        (kept.kind.as_str(), kept.domain.as_str()),
        ("dmarc", "example.com")
    );
    assert_eq!((kept.messages, kept.passed, kept.failed), (5, 4, 1));
}

#[test]
fn a_tls_report_counts_sessions_by_policy_and_reads_back() {
    let r = |policy: &str, outcome: &str, mx: &str| TlsResult {
        at: DAY + 10,
        domain: "example.net".into(),
        mx: mx.into(),
        policy: policy.into(),
        outcome: outcome.into(),
        detail: if outcome == "tls" {
            "TLSv1.3".into()
        } else {
            "handshake failed".into()
        },
    };
    let results = [
        r("sts", "tls", "mx1.example.net"),
        r("sts", "tls", "mx1.example.net"),
        r("sts", "validation-failure", "mx2.example.net"),
        r("none", "plaintext", "mx3.example.net"),
        r("relay", "tls", "smarthost"),
    ];
    let refs: Vec<&TlsResult> = results.iter().collect();
    let h = tlsrpt::Header {
        org_name: "tern",
        contact: "mailto:reports@example.org",
        report_id: "tlsrpt.2026-11-30.example.net@mx.example.org",
        begin: DAY,
        end: DAY + 86_400,
    };
    let report = tlsrpt::report(&h, "example.net", &refs).expect("a report");
    let json = tlsrpt::json(&report);
    assert!(!json.contains("null"), "no null members: {json}");
    let back = TlsReport::parse_json(json.as_bytes()).expect("mail-auth reads it");
    assert_eq!(
        back.policies.len(),
        2,
        "sts and no-policy-found; relay left out"
    );
    let gz = mail::gzip(json.as_bytes()).unwrap();
    let env = mail::Envelope {
        from: "reports@example.org",
        to: &["tls@example.net".to_string()],
        submitter: "mx.example.org",
        domain: "example.net",
        report_id: h.report_id,
        begin: DAY,
        end: DAY + 86_400,
        date: DAY + 90_000,
    };
    let msg = mail::tlsrpt(&env, &gz).unwrap();
    let kept = receive::parse(&msg, 1 << 20).expect("parsed");
    assert_eq!(
        (kept.kind.as_str(), kept.domain.as_str()),
        ("tlsrpt", "example.net")
    );
    assert_eq!((kept.messages, kept.passed, kept.failed), (4, 2, 2));
}

#[test]
fn a_corrupt_or_oversized_report_is_refused_cleanly() {
    let corrupt = b"From: a@example.com\r\nTo: postmaster@example.org\r\nSubject: Report\r\n\
        MIME-Version: 1.0\r\nContent-Type: application/gzip; name=\"r.xml.gz\"\r\n\
        Content-Disposition: attachment; filename=\"r.xml.gz\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nH4sIAAAAAAAAA3N0cnVuY2F0ZWQ=\r\n";
    assert!(receive::parse(corrupt, 1 << 20).is_err());
    // A report that inflates past the cap is not read.
    let big = format!("<feedback>{}</feedback>", " ".repeat(200_000));
    let gz = mail::gzip(big.as_bytes()).unwrap();
    let env = mail::Envelope {
        from: "a@example.com",
        to: &["postmaster@example.org".to_string()],
        submitter: "example.com",
        domain: "example.org",
        report_id: "x",
        begin: DAY,
        end: DAY,
        date: DAY,
    };
    let msg = mail::dmarc(&env, &gz).unwrap();
    assert!(receive::parse(&msg, 64 * 1024).is_err());
    assert!(receive::parse(b"", 1024).is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 256, ..Default::default() })]
    /// Whatever arrives at a report address, parsing answers without a
    /// panic (seeded by proptest, bounded).
    #[test]
    fn any_message_parses_or_is_refused(head in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
                                        xml in "[<>/a-z_ 0-9\"=]{0,400}") {
        let mut msg = b"Content-Type: text/xml\r\n\r\n".to_vec();
        msg.extend_from_slice(xml.as_bytes());
        let _ = receive::parse(&msg, 1 << 16);
        let _ = receive::parse(&head, 1 << 16);
    }
}

/// Hostile reports: elements nested a hundred thousand deep, a gzip bomb
/// (64 MiB of zeros in about 64 KiB), a zip of many entries — each is
/// refused or read within the cap, without recursion or a blow-up.
#[test]
fn hostile_reports_are_refused_within_bounds() {
    let attach = |ct: &str, name: &str, bytes: &[u8]| {
        let mut m = format!(
            "From: a@example.com\r\nTo: postmaster@example.org\r\nSubject: r\r\nMIME-Version: 1.0\r\n\
             Content-Type: {ct}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        )
        .into_bytes();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        for chunk in b64.as_bytes().chunks(76) {
            m.extend_from_slice(chunk);
            m.extend_from_slice(b"\r\n");
        }
        m
    };
    let deep = format!(
        "<feedback><policy_published>{}{}</policy_published></feedback>",
        "<x>".repeat(100_000),
        "</x>".repeat(100_000)
    );
    let msg = attach(
        "application/gzip",
        "r.xml.gz",
        &mail::gzip(deep.as_bytes()).unwrap(),
    );
    let _ = receive::parse(&msg, 10 << 20);
    let bomb = mail::gzip(&vec![0u8; 64 << 20]).unwrap();
    assert!(bomb.len() < 1 << 20);
    let msg = attach("application/gzip", "r.xml.gz", &bomb);
    assert!(
        receive::parse(&msg, 10 << 20).is_err(),
        "inflates past the cap"
    );
    let msg = attach("application/tlsrpt+gzip", "r.json.gz", &bomb);
    assert!(
        receive::parse(&msg, 10 << 20).is_err(),
        "inflates past the cap"
    );
}
