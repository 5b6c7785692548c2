//! DKIM verification (RFC 6376, RFC 8463) of messages signed by an
//! independent signer, Debian's python3-dkim.

mod common;

use common::*;

const IP: &str = "192.0.2.1";

async fn dkim_result(c: &tern_mailauth::Checker, message: &[u8]) -> Vec<String> {
    let o = c
        .check(IP.parse().unwrap(), "client.test", "", message)
        .await;
    clauses(&o.header)
        .into_iter()
        .filter(|(m, _, _)| m == "dkim")
        .map(|(_, r, p)| format!("{r} {p}"))
        .collect()
}

#[tokio::test]
async fn signatures_verify_and_tampering_fails() {
    let rsa = Key::rsa(2048);
    let ed = Key::ed25519();
    let dns = DnsServer::start(
        Zone::default()
            .txt("rsa._domainkey.signer.test", &rsa.txt())
            .txt("ed._domainkey.signer.test", &ed.txt()),
    );
    let c = checker(&dns, "");
    let plain = message("a@signer.test", "dkim");

    let by_rsa = dkim_sign(&plain, &rsa, "signer.test", "rsa");
    let r = dkim_result(&c, &by_rsa).await;
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].starts_with("pass ") && r[0].contains("header.s=rsa"),
        "{r:?}"
    );

    let by_ed = dkim_sign(&plain, &ed, "signer.test", "ed");
    let r = dkim_result(&c, &by_ed).await;
    assert!(
        r[0].starts_with("pass ") && r[0].contains("header.s=ed"),
        "{r:?}"
    );

    // Both signatures at once: one result each.
    let both = dkim_sign(&by_rsa, &ed, "signer.test", "ed");
    let r = dkim_result(&c, &both).await;
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(r.iter().all(|x| x.starts_with("pass ")), "{r:?}");

    // The body changed after signing.
    let body = String::from_utf8(by_rsa.clone())
        .unwrap()
        .replace("This is the body.", "This is another body.");
    let r = dkim_result(&c, body.as_bytes()).await;
    assert!(
        r[0].starts_with("fail") || r[0].starts_with("neutral"),
        "{r:?}"
    );
    assert!(!r[0].starts_with("pass"), "{r:?}");

    // A signed header changed after signing.
    let subject = String::from_utf8(by_ed.clone())
        .unwrap()
        .replace("Subject: dkim", "Subject: changed");
    let r = dkim_result(&c, subject.as_bytes()).await;
    assert!(r[0].starts_with("fail"), "{r:?}");

    // No key published for the selector.
    let missing = dkim_sign(&plain, &rsa, "signer.test", "gone");
    let r = dkim_result(&c, &missing).await;
    assert!(r[0].starts_with("permerror"), "{r:?}");

    // No signature at all.
    let r = dkim_result(&c, &plain).await;
    assert_eq!(r, vec!["none ".to_string()]);
}

#[tokio::test]
async fn revoked_and_short_keys() {
    let rsa = Key::rsa(2048);
    let short = Key::rsa(512);
    let dns = DnsServer::start(
        Zone::default()
            // RFC 6376 3.6.1: an empty p= means the key was revoked.
            .txt("rev._domainkey.signer.test", "v=DKIM1; k=rsa; p=")
            .txt("short._domainkey.signer.test", &short.txt()),
    );
    let c = checker(&dns, "");
    let plain = message("a@signer.test", "keys");
    let revoked = dkim_sign(&plain, &rsa, "signer.test", "rev");
    let r = dkim_result(&c, &revoked).await;
    assert!(!r[0].starts_with("pass"), "{r:?}");
    let weak = dkim_sign(&plain, &short, "signer.test", "short");
    let r = dkim_result(&c, &weak).await;
    assert!(!r[0].starts_with("pass"), "{r:?}");
}

#[tokio::test]
async fn body_length_tail_is_not_trusted() {
    let rsa = Key::rsa(2048);
    let dns = DnsServer::start(Zone::default().txt("rsa._domainkey.signer.test", &rsa.txt()));
    let c = checker(&dns, "");
    let script = r#"
import sys, dkim
key = open(sys.argv[1], 'rb').read()
msg = sys.stdin.buffer.read()
sig = dkim.sign(msg, b'rsa', b'signer.test', key, length=True,
                include_headers=[b'from', b'to', b'subject'])
sys.stdout.buffer.write(sig + msg)
"#;
    let signed = dkimpy(script, &rsa.for_dkimpy, &message("a@signer.test", "len"));
    assert!(String::from_utf8_lossy(&signed).contains("l="));
    // Text appended after the signed length (RFC 6376 8.2).
    let mut appended = signed.clone();
    appended.extend_from_slice(b"Click here: http://phish.test/\r\n");
    let r = dkim_result(&c, &appended).await;
    assert!(!r[0].starts_with("pass"), "{r:?}");
}

#[tokio::test]
async fn expired_signature_does_not_pass() {
    use mail_auth::common::crypto::Ed25519Key;
    use mail_auth::common::headers::HeaderWriter;
    use mail_auth::dkim::DkimSigner;
    let ed = Key::ed25519();
    let dns = DnsServer::start(Zone::default().txt("ed._domainkey.signer.test", &ed.txt()));
    let c = checker(&dns, "");
    let plain = message("a@signer.test", "expiry");
    // python3-dkim cannot write x=; this signature expires one second
    // after it is made (RFC 6376 3.5 x=).
    let sig = DkimSigner::from_key(Ed25519Key::from_pkcs8_der(&ed.pkcs8).unwrap())
        .domain("signer.test")
        .selector("ed")
        .headers(["From", "To", "Subject"])
        .expiration(1)
        .sign(&plain)
        .unwrap()
        .to_header();
    let mut signed = sig.into_bytes();
    signed.extend_from_slice(&plain);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = dkim_result(&c, &signed).await;
    assert!(!r[0].starts_with("pass"), "{r:?}");
}

/// A large signed message checked from its header and a body read in
/// pieces (`check_streamed`) gets the verdicts the whole message gets:
/// pass as signed, fail once a byte of the body changes.
#[tokio::test]
async fn a_streamed_body_verifies_like_a_whole_one() {
    let ed = Key::ed25519();
    let rsa = Key::rsa(2048);
    let dns = DnsServer::start(
        Zone::default()
            .txt("ed._domainkey.signer.test", &ed.txt())
            .txt("rsa._domainkey.signer.test", &rsa.txt()),
    );
    let c = checker(&dns, "");
    let mut plain = message("a@signer.test", "big");
    for i in 0..30_000 {
        plain.extend_from_slice(format!("line {i}  with \t space  \r\n").as_bytes());
    }
    let signed = dkim_sign(&plain, &ed, "signer.test", "ed");
    let signed = dkim_sign(&signed, &rsa, "signer.test", "rsa");
    let split = signed.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 2;
    let verdicts = |o: tern_mailauth::Outcome| -> Vec<String> {
        clauses(&o.header)
            .into_iter()
            .filter(|(m, _, _)| m == "dkim")
            .map(|(_, r, _)| r)
            .collect()
    };
    let streamed = |message: Vec<u8>| {
        let c = c.clone();
        async move {
            let (head, body) = message.split_at(split);
            let body = body[2..].to_vec();
            let o = c
                .check_streamed(IP.parse().unwrap(), "client.test", "", head, move || {
                    Ok(std::io::Cursor::new(body.clone()))
                })
                .await;
            verdicts(o)
        }
    };
    let whole = verdicts(
        c.check(IP.parse().unwrap(), "client.test", "", &signed)
            .await,
    );
    assert_eq!(whole, ["pass", "pass"]);
    assert_eq!(streamed(signed.clone()).await, whole);
    let mut tampered = signed.clone();
    let last = tampered.len() - 5;
    tampered[last] = b'X';
    let r = streamed(tampered).await;
    assert!(r.iter().all(|v| v != "pass"), "{r:?}");
}

/// RFC 6376 6.1: a message with hundreds of signatures gets at most
/// `MAX_DKIM_SIGNATURES` of them tried (each is a DNS lookup and a check).
#[tokio::test]
async fn the_signatures_tried_are_bounded() {
    let ed = Key::ed25519();
    let dns = DnsServer::start(Zone::default().txt("ed._domainkey.signer.test", &ed.txt()));
    let c = checker(&dns, "");
    let mut m = message("a@signer.test", "many");
    let b = "A".repeat(88);
    for i in 0..300 {
        m = [
            format!("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=signer.test; s=s{i}; h=from; bh=AAAA; b={b}\r\n").into_bytes(),
            m,
        ]
        .concat();
    }
    let r = dkim_result(&c, &m).await;
    assert!(
        r.len() == tern_mailauth::MAX_DKIM_SIGNATURES,
        "{} results",
        r.len()
    );
}
