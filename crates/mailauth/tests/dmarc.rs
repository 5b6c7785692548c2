//! DMARC (RFC 7489): alignment, policies and tern's verdicts, with SPF and
//! DKIM evaluated against the in-process DNS server.

mod common;

use common::*;
use tern_mailauth::{Checker, Disposition, Outcome};

const IP: &str = "192.0.2.1";

fn zone(key: &Key) -> Zone {
    let spf = "v=spf1 ip4:192.0.2.0/24 -all";
    Zone::default()
        // d1: everything aligned, p=reject.
        .txt("d1.test", spf)
        .txt("_dmarc.d1.test", "v=DMARC1; p=reject")
        .txt("k._domainkey.d1.test", &key.txt())
        // d2: SPF only.
        .txt("d2.test", spf)
        .txt("_dmarc.d2.test", "v=DMARC1; p=reject")
        // d3: DKIM only; the envelope is another domain's.
        .txt("_dmarc.d3.test", "v=DMARC1; p=reject")
        .txt("k._domainkey.d3.test", &key.txt())
        .txt("bounces.test", spf)
        // d4 relaxed and d5 strict: the envelope is a subdomain.
        .txt("_dmarc.d4.test", "v=DMARC1; p=reject; aspf=r")
        .txt("bounce.d4.test", spf)
        .txt("_dmarc.d5.test", "v=DMARC1; p=reject; aspf=s; adkim=s")
        .txt("bounce.d5.test", spf)
        .txt("k._domainkey.sub.d5.test", &key.txt())
        // d6: p=none for the domain, sp=reject for its subdomains.
        .txt("_dmarc.d6.test", "v=DMARC1; p=none; sp=reject")
        .a("sub.d6.test", "198.51.100.1")
        .a("d6.test", "198.51.100.1")
        // d7: reject, but only for 0 % of the mail.
        .txt("_dmarc.d7.test", "v=DMARC1; p=reject; pct=0")
        // d8: quarantine.
        .txt("_dmarc.d8.test", "v=DMARC1; p=quarantine")
        // d9: the policy cannot be looked up.
        .servfail("_dmarc.d9.test")
        // nodmarc: SPF fails, no DMARC policy.
        .txt("nodmarc.test", "v=spf1 -all")
        .txt("fail.test", "v=spf1 -all")
}

async fn run(c: &Checker, from: &str, mail_from: &str, sign: Option<(&Key, &str)>) -> Outcome {
    let mut msg = message(from, "dmarc");
    if let Some((key, d)) = sign {
        msg = dkim_sign(&msg, key, d, "k");
    }
    c.check(IP.parse().unwrap(), "client.test", mail_from, &msg)
        .await
}

fn dmarc(o: &Outcome) -> String {
    result_of(&o.header, "dmarc", "header.from")
}

#[tokio::test]
async fn alignment() {
    let key = Key::ed25519();
    let dns = DnsServer::start(zone(&key));
    let c = checker(&dns, "");

    let o = run(&c, "a@d1.test", "a@d1.test", Some((&key, "d1.test"))).await;
    assert_eq!(dmarc(&o), "pass", "{}", o.header);
    assert_eq!(o.disposition, Disposition::Accept);
    let r = o.report.unwrap();
    assert!(r.spf_aligned && r.dkim_aligned, "{r:?}");
    assert_eq!(
        (r.header_from.as_str(), r.policy.as_str()),
        ("d1.test", "reject")
    );
    assert_eq!(r.source_ip, IP);

    // SPF alone aligns.
    let o = run(&c, "a@d2.test", "a@d2.test", None).await;
    assert_eq!(dmarc(&o), "pass", "{}", o.header);
    let r = o.report.unwrap();
    assert!(r.spf_aligned && !r.dkim_aligned, "{r:?}");

    // DKIM alone aligns; SPF passes for an unrelated domain.
    let o = run(&c, "a@d3.test", "b@bounces.test", Some((&key, "d3.test"))).await;
    assert_eq!(dmarc(&o), "pass", "{}", o.header);
    let r = o.report.unwrap();
    assert!(!r.spf_aligned && r.dkim_aligned, "{r:?}");
    assert_eq!(r.spf_result, "pass");

    // Relaxed: a subdomain of the From domain aligns.
    let o = run(&c, "a@d4.test", "b@bounce.d4.test", None).await;
    assert_eq!(dmarc(&o), "pass", "{}", o.header);

    // Strict: it does not, for SPF nor DKIM.
    let o = run(
        &c,
        "a@d5.test",
        "b@bounce.d5.test",
        Some((&key, "sub.d5.test")),
    )
    .await;
    assert_eq!(dmarc(&o), "fail", "{}", o.header);
    assert!(
        matches!(&o.disposition, Disposition::Reject(t) if t.starts_with("550 5.7.1")),
        "{:?}",
        o.disposition
    );
}

#[tokio::test]
async fn policies() {
    let key = Key::ed25519();
    let dns = DnsServer::start(zone(&key));
    let c = checker(&dns, "");

    // p=reject fails: refused at the end of DATA.
    let o = run(&c, "a@d1.test", "x@fail.test", None).await;
    assert_eq!(dmarc(&o), "fail", "{}", o.header);
    assert!(
        matches!(&o.disposition, Disposition::Reject(t) if t.starts_with("550 5.7.1")),
        "{:?}",
        o.disposition
    );
    assert_eq!(o.report.unwrap().disposition, "reject");

    // p=quarantine fails: Junk.
    let o = run(&c, "a@d8.test", "x@fail.test", None).await;
    assert_eq!(o.disposition, Disposition::Junk, "{}", o.header);

    // Subdomain policy: sp=reject applies to sub.d6.test, p=none to d6.test.
    let o = run(&c, "a@sub.d6.test", "x@fail.test", None).await;
    assert!(
        matches!(o.disposition, Disposition::Reject(_)),
        "{}",
        o.header
    );
    let o = run(&c, "a@d6.test", "x@fail.test", None).await;
    assert_eq!(o.disposition, Disposition::Accept, "{}", o.header);

    // pct=0: never selected, so reject becomes quarantine (RFC 7489 6.6.4).
    let o = run(&c, "a@d7.test", "x@fail.test", None).await;
    assert_eq!(o.disposition, Disposition::Junk, "{}", o.header);
    assert_eq!(o.report.unwrap().override_reason, "sampled_out");

    // The policy lookup fails temporarily: 451 4.7.5.
    let o = run(&c, "a@d9.test", "x@fail.test", None).await;
    assert!(
        matches!(&o.disposition, Disposition::Defer(t) if t.starts_with("451 4.7.5")),
        "{:?} {}",
        o.disposition,
        o.header
    );

    // SPF fails and there is no DMARC policy: Junk by default.
    let o = run(&c, "a@nodmarc.test", "a@nodmarc.test", None).await;
    assert_eq!(result_of(&o.header, "spf", "smtp.mailfrom"), "fail");
    assert_eq!(o.disposition, Disposition::Junk, "{}", o.header);
    assert!(o.report.is_none());
}

#[tokio::test]
async fn verdicts_are_configurable_and_trusted_networks_skip() {
    let key = Key::ed25519();
    let dns = DnsServer::start(zone(&key));
    let c = checker(
        &dns,
        "[checks]\ndmarc_reject = \"junk\"\ndmarc_quarantine = \"accept\"\n\
         spf_fail_without_dmarc = \"reject\"\ntemperror = \"accept\"\n",
    );
    let o = run(&c, "a@d1.test", "x@fail.test", None).await;
    assert_eq!(o.disposition, Disposition::Junk);
    let o = run(&c, "a@d8.test", "x@fail.test", None).await;
    assert_eq!(o.disposition, Disposition::Accept);
    let o = run(&c, "a@nodmarc.test", "a@nodmarc.test", None).await;
    assert!(matches!(o.disposition, Disposition::Reject(_)));
    let o = run(&c, "a@d9.test", "x@fail.test", None).await;
    assert_eq!(o.disposition, Disposition::Accept);

    let c = checker(&dns, "[checks]\ntrusted_networks = [\"192.0.2.0/24\"]\n");
    let o = run(&c, "a@d1.test", "x@fail.test", None).await;
    assert_eq!(o.disposition, Disposition::Accept);
    assert!(o.header.contains("none"), "{}", o.header);
}

#[tokio::test]
async fn header_shape() {
    let key = Key::ed25519();
    let dns = DnsServer::start(zone(&key).ptr(IP, "client.test").a("client.test", IP));
    let c = checker(&dns, "");
    let o = run(&c, "a@d1.test", "a@d1.test", Some((&key, "d1.test"))).await;
    println!("{}", o.header);
    assert!(
        o.header
            .starts_with(&format!("Authentication-Results: {HOST};"))
    );
    assert!(o.header.ends_with("\r\n") && !o.header[..o.header.len() - 2].contains("\r\n\r\n"));
    let methods: Vec<String> = clauses(&o.header)
        .into_iter()
        .map(|(m, r, _)| format!("{m}={r}"))
        .collect();
    for want in [
        "dkim=pass",
        "iprev=pass",
        "spf=pass",
        "dmarc=pass",
        "arc=none",
    ] {
        assert!(methods.contains(&want.to_string()), "{want} in {methods:?}");
    }
}

#[tokio::test]
async fn iprev_results() {
    let key = Key::ed25519();
    let dns = DnsServer::start(
        zone(&key)
            // Forward-confirmed.
            .ptr("192.0.2.1", "good.client.test")
            .a("good.client.test", "192.0.2.1")
            // The name does not lead back to the address.
            .ptr("192.0.2.2", "liar.client.test")
            .a("liar.client.test", "198.51.100.1")
            .servfail("3.2.0.192.in-addr.arpa"),
    );
    let c = checker(&dns, "");
    for (ip, want) in [
        ("192.0.2.1", "pass"),
        ("192.0.2.2", "fail"),
        ("192.0.2.3", "temperror"),
        ("192.0.2.4", "permerror"),
    ] {
        let o = c
            .check(
                ip.parse().unwrap(),
                "client.test",
                "",
                &message("a@d2.test", "iprev"),
            )
            .await;
        assert_eq!(
            result_of(&o.header, "iprev", "policy.iprev"),
            want,
            "{ip}: {}",
            o.header
        );
    }
}

/// Zones for policy discovery through the public suffix list (RFC 7489
/// 3.2, 6.6.3).
fn psl_zone(key: &Key) -> Zone {
    let spf = "v=spf1 ip4:192.0.2.0/24 -all";
    Zone::default()
        // A policy at the Organizational Domain under a two-label suffix;
        // `sp` governs its subdomains. Nothing is published at co.uk.
        .txt("_dmarc.example.co.uk", "v=DMARC1; p=reject; sp=quarantine")
        .txt("example.co.uk", spf)
        // A subdomain with its own policy, signed by its parent, which
        // publishes none: the same Organizational Domain, so relaxed
        // alignment holds.
        .txt("_dmarc.sub.org1.test", "v=DMARC1; p=reject")
        .txt("k._domainkey.org1.test", &key.txt())
        .txt("_dmarc.strict.org2.test", "v=DMARC1; p=reject; adkim=s")
        .txt("k._domainkey.org2.test", &key.txt())
        // github.io is a public suffix (private section): alice and bob are
        // different organizations.
        .txt("_dmarc.alice.github.io", "v=DMARC1; p=reject")
        .txt("k._domainkey.bob.github.io", &key.txt())
        .txt("bob.github.io", spf)
        // Two DMARC records at one name: no policy at all.
        .txt("_dmarc.twice.test", "v=DMARC1; p=reject")
        .txt("_dmarc.twice.test", "v=DMARC1; p=none")
        // A TXT that is not DMARC beside one that is: the other is used.
        .txt("_dmarc.mixed.test", "some verification token")
        .txt("_dmarc.mixed.test", "v=DMARC1; p=reject")
        // No `p`, but `rua`: counts as p=none.
        .txt(
            "_dmarc.rua-only.test",
            "v=DMARC1; rua=mailto:r@rua-only.test",
        )
        .txt("fail.test", "v=spf1 -all")
        .txt("twice.test", "v=spf1 -all")
}

#[tokio::test]
async fn organizational_domain_from_the_public_suffix_list() {
    let key = Key::ed25519();
    let dns = DnsServer::start(psl_zone(&key));
    let c = checker(&dns, "");

    // The From domain publishes nothing: the record of its Organizational
    // Domain (example.co.uk, not co.uk) applies, with `sp`.
    let o = run(&c, "a@news.example.co.uk", "x@fail.test", None).await;
    assert_eq!(dmarc(&o), "fail", "{}", o.header);
    assert!(o.header.contains("policy.dmarc=quarantine"), "{}", o.header);
    assert_eq!(o.disposition, Disposition::Junk, "{}", o.header);
    let r = o.report.unwrap();
    assert_eq!(
        (r.header_from.as_str(), r.policy.as_str()),
        ("news.example.co.uk", "quarantine")
    );

    // The Organizational Domain itself: `p`.
    let o = run(&c, "a@example.co.uk", "x@fail.test", None).await;
    assert!(
        matches!(o.disposition, Disposition::Reject(_)),
        "{}",
        o.header
    );
    // SPF of the Organizational Domain aligns (relaxed) with a subdomain.
    let o = run(&c, "a@news.example.co.uk", "b@example.co.uk", None).await;
    assert_eq!(dmarc(&o), "pass", "{}", o.header);

    // d=org1.test aligns with From sub.org1.test: same Organizational
    // Domain, though org1.test publishes no record of its own.
    let o = run(
        &c,
        "a@sub.org1.test",
        "x@fail.test",
        Some((&key, "org1.test")),
    )
    .await;
    assert_eq!(dmarc(&o), "pass", "{}", o.header);
    assert_eq!(o.disposition, Disposition::Accept);
    // ... but not under adkim=s.
    let o = run(
        &c,
        "a@strict.org2.test",
        "x@fail.test",
        Some((&key, "org2.test")),
    )
    .await;
    assert_eq!(dmarc(&o), "fail", "{}", o.header);

    // Two tenants of a public suffix do not align with each other, by
    // DKIM or by SPF.
    let o = run(
        &c,
        "a@alice.github.io",
        "b@bob.github.io",
        Some((&key, "bob.github.io")),
    )
    .await;
    assert_eq!(
        result_of(&o.header, "dkim", "header.i"),
        "pass",
        "{}",
        o.header
    );
    assert_eq!(
        result_of(&o.header, "spf", "smtp.mailfrom"),
        "pass",
        "{}",
        o.header
    );
    assert_eq!(dmarc(&o), "fail", "{}", o.header);
    assert!(
        matches!(o.disposition, Disposition::Reject(_)),
        "{}",
        o.header
    );
}

#[tokio::test]
async fn record_selection() {
    let key = Key::ed25519();
    let dns = DnsServer::start(psl_zone(&key));
    let c = checker(&dns, "");

    // Several v=DMARC1 records: discovery ends with no policy, so the SPF
    // failure is judged without DMARC (Junk by default).
    let o = run(&c, "a@twice.test", "a@twice.test", None).await;
    assert_eq!(dmarc(&o), "none", "{}", o.header);
    assert!(o.report.is_none());
    assert_eq!(o.disposition, Disposition::Junk, "{}", o.header);

    // Other TXT records at _dmarc are ignored.
    let o = run(&c, "a@mixed.test", "x@fail.test", None).await;
    assert!(
        matches!(o.disposition, Disposition::Reject(_)),
        "{}",
        o.header
    );

    // A record without `p` but with `rua` is p=none: evaluated and
    // reported, never enforced.
    let o = run(&c, "a@rua-only.test", "x@fail.test", None).await;
    assert_eq!(dmarc(&o), "fail", "{}", o.header);
    assert_eq!(o.disposition, Disposition::Accept, "{}", o.header);
    assert_eq!(o.report.unwrap().policy, "none");
}

#[tokio::test]
async fn checks_are_bounded_in_time() {
    // A DNS server that never answers for slow.test; each query may wait
    // 2 s and is tried twice, the checks together get 1 s.
    let dns = DnsServer::start(
        Zone::default()
            .silent("slow.test")
            .silent("_dmarc.slow.test")
            .silent("k._domainkey.slow.test"),
    );
    let c = checker(&dns, "[checks]\ntime_limit_secs = 1\n");
    let o = run(&c, "a@slow.test", "a@slow.test", None).await;
    assert!(
        matches!(&o.disposition, Disposition::Defer(t) if t.starts_with("451 4.7.5")),
        "{:?}",
        o.disposition
    );
    assert!(o.header.contains("dmarc=temperror"), "{}", o.header);
    assert!(o.report.is_none());

    // With temperror = "accept" the message goes through, marked.
    let c = checker(
        &dns,
        "[checks]\ntime_limit_secs = 1\ntemperror = \"accept\"\n",
    );
    let o = run(&c, "a@slow.test", "a@slow.test", None).await;
    assert_eq!(o.disposition, Disposition::Accept);
    assert!(o.header.contains("dmarc=temperror"), "{}", o.header);
}

/// RFC 7489 6.6.1: several From fields give no single author domain, so the
/// message is refused, even when one of them would pass SPF alignment (a
/// reader may be shown the other). Every spelling of the field name counts.
#[tokio::test]
async fn several_from_fields_are_refused() {
    let key = Key::ed25519();
    let dns = DnsServer::start(zone(&key).ptr(IP, "client.test").a("client.test", IP));
    let c = checker(&dns, "");
    for second in ["From: a@d1.test", "FROM: b@fail.test", "from : b@fail.test"] {
        let base = message("a@d1.test", "dmarc");
        let mut msg = format!("{second}\r\n").into_bytes();
        msg.extend_from_slice(&base);
        let o = c
            .check(IP.parse().unwrap(), "client.test", "a@d1.test", &msg)
            .await;
        match &o.disposition {
            Disposition::Reject(line) => {
                assert!(line.starts_with("550 5.6.0 The message has"), "{line}")
            }
            other => panic!("{second}: {other:?} {}", o.header),
        }
    }
}
