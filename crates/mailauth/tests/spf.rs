//! SPF (RFC 7208) through a real resolver asking the in-process DNS server.

mod common;

use common::*;

const IP: &str = "192.0.2.1";

fn zone() -> Zone {
    let mut z = Zone::default()
        .txt("pass.test", "v=spf1 ip4:192.0.2.0/24 -all")
        .txt("fail.test", "v=spf1 ip4:198.51.100.0/24 -all")
        .txt("soft.test", "v=spf1 ~all")
        .txt("neutral.test", "v=spf1 ?all")
        .a("none.test", "192.0.2.1")
        .servfail("temp.test")
        .txt("perm.test", "v=spf1 ip4:192.0.2.1 include -all")
        // RFC 7208 4.5: two SPF records are a permanent error.
        .txt("two.test", "v=spf1 -all")
        .txt("two.test", "v=spf1 +all")
        .txt("include.test", "v=spf1 include:pass.test -all")
        .txt("redirect.test", "v=spf1 redirect=pass.test")
        .txt("amx.test", "v=spf1 a:host.amx.test mx -all")
        .a("host.amx.test", "198.51.100.7")
        .mx("amx.test", 10, "mx.amx.test")
        .a("mx.amx.test", "192.0.2.1")
        // RFC 7208 7: %{i} the client IP, %{l} the local part.
        .txt(
            "macro.test",
            "v=spf1 exists:%{i}.%{l}.allow.macro.test -all",
        )
        .a("192.0.2.1.alice.allow.macro.test", "127.0.0.2")
        .txt(
            "void.test",
            "v=spf1 a:nx1.void.test a:nx2.void.test a:nx3.void.test ip4:192.0.2.1 -all",
        )
        .txt(
            "void2.test",
            "v=spf1 a:nx1.void.test a:nx2.void.test ip4:192.0.2.1 -all",
        )
        .txt("helo.client.test", "v=spf1 ip4:192.0.2.1 -all");
    // Eleven nested includes: over the 10-lookup limit (RFC 7208 4.6.4).
    for i in 0..11 {
        z = z.txt(
            &format!("l{i}.limit.test"),
            &format!("v=spf1 include:l{}.limit.test -all", i + 1),
        );
    }
    z.txt("l11.limit.test", "v=spf1 ip4:192.0.2.1 -all")
        .txt("limit.test", "v=spf1 include:l0.limit.test -all")
}

async fn spf(checker: &tern_mailauth::Checker, mail_from: &str) -> String {
    let o = checker
        .check(
            IP.parse().unwrap(),
            "helo.client.test",
            mail_from,
            &message("a@other.test", "spf"),
        )
        .await;
    result_of(&o.header, "spf", &format!("smtp.mailfrom={mail_from}"))
}

#[tokio::test]
async fn spf_matrix() {
    let dns = DnsServer::start(zone());
    let c = checker(&dns, "");
    for (from, want) in [
        ("x@pass.test", "pass"),
        ("x@fail.test", "fail"),
        ("x@soft.test", "softfail"),
        ("x@neutral.test", "neutral"),
        ("x@none.test", "none"),
        ("x@nowhere.test", "none"),
        ("x@temp.test", "temperror"),
        ("x@perm.test", "permerror"),
        ("x@two.test", "permerror"),
        ("x@include.test", "pass"),
        ("x@redirect.test", "pass"),
        ("x@amx.test", "pass"),
        ("alice@macro.test", "pass"),
        ("bob@macro.test", "fail"),
        ("x@limit.test", "permerror"),
        ("x@void.test", "permerror"),
        ("x@void2.test", "pass"),
    ] {
        assert_eq!(spf(&c, from).await, want, "MAIL FROM {from}");
    }
}

#[tokio::test]
async fn helo_identity_and_null_sender() {
    let dns = DnsServer::start(zone());
    let c = checker(&dns, "");
    let o = c
        .check(
            IP.parse().unwrap(),
            "helo.client.test",
            "",
            &message("a@other.test", "null"),
        )
        .await;
    // RFC 7208 2.4: the null sender is checked as postmaster@<HELO>.
    assert_eq!(
        result_of(&o.header, "spf", "smtp.helo=helo.client.test"),
        "pass"
    );
    assert_eq!(result_of(&o.header, "spf", "smtp.mailfrom=<>"), "pass");
    let o = c
        .check(
            "198.51.100.9".parse().unwrap(),
            "helo.client.test",
            "",
            &message("a@other.test", "null"),
        )
        .await;
    assert_eq!(result_of(&o.header, "spf", "smtp.helo"), "fail");
    // An address literal is no HELO identity to check.
    let o = c
        .check(
            IP.parse().unwrap(),
            "[192.0.2.1]",
            "x@pass.test",
            &message("a@other.test", "lit"),
        )
        .await;
    assert!(!o.header.contains("smtp.helo"), "{}", o.header);
}
