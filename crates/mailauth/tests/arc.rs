//! ARC (RFC 8617): chains sealed by python3-dkim verify in tern, and
//! tern's seals verify with python3-dkim's `arc_verify`.

mod common;

use common::*;

const IP: &str = "192.0.2.1";

/// python3-dkim adds an ARC set as `srv_id` (which must have written the
/// Authentication-Results it seals).
fn python_seal(message: &[u8], key: &Key, domain: &str, selector: &str) -> Vec<u8> {
    let script = format!(
        r#"
import sys, dkim
key = open(sys.argv[1], 'rb').read()
msg = sys.stdin.buffer.read()
sig = dkim.arc_sign(msg, b'{selector}', b'{domain}', key, b'{domain}',
                    include_headers=[b'from', b'to', b'subject', b'date', b'message-id'])
sys.stdout.buffer.write(b''.join(sig) + msg)
"#
    );
    dkimpy(&script, &key.for_dkimpy, message)
}

/// python3-dkim's verdict on the chain, with the keys given offline.
fn python_verify(message: &[u8], keys: &[(&str, &Key)]) -> String {
    let mut table = String::from("{");
    for (name, key) in keys {
        table.push_str(&format!("b'{name}.': b'{}', ", key.txt()));
    }
    table.push('}');
    let script = format!(
        r#"
import sys, dkim
keys = {table}
def dnsfunc(name, timeout=5):
    n = name if name.endswith(b'.') else name + b'.'
    return keys.get(n)
msg = sys.stdin.buffer.read()
cv, results, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
sys.stdout.write(cv.decode() + ' ' + str(reason))
"#
    );
    String::from_utf8(dkimpy(&script, b"", message)).unwrap()
}

fn with_results(message: &[u8], authserv_id: &str) -> Vec<u8> {
    let mut m =
        format!("Authentication-Results: {authserv_id}; spf=pass smtp.mailfrom=a@signer.test\r\n")
            .into_bytes();
    m.extend_from_slice(message);
    m
}

#[tokio::test]
async fn chain_sealed_by_python_dkim_verifies() {
    let fwd = Key::rsa(2048);
    let dns = DnsServer::start(Zone::default().txt("arc._domainkey.fwd.test", &fwd.txt()));
    let c = checker(&dns, "");
    let sealed = python_seal(
        &with_results(&message("a@signer.test", "arc"), "fwd.test"),
        &fwd,
        "fwd.test",
        "arc",
    );
    assert!(String::from_utf8_lossy(&sealed).contains("ARC-Seal: i=1"));
    assert!(python_verify(&sealed, &[("arc._domainkey.fwd.test", &fwd)]).starts_with("pass"));
    let o = c.check(IP.parse().unwrap(), "fwd.test", "", &sealed).await;
    assert_eq!(
        result_of(&o.header, "arc", "smtp.remote-ip"),
        "pass",
        "{}",
        o.header
    );

    // Altered after sealing: the chain fails.
    let altered = String::from_utf8(sealed)
        .unwrap()
        .replace("This is the body.", "Changed.");
    let o = c
        .check(IP.parse().unwrap(), "fwd.test", "", altered.as_bytes())
        .await;
    // mail-auth reports a broken body hash as "neutral" (with the reason in
    // a comment); either way the chain does not pass.
    let r = result_of(&o.header, "arc", "smtp.remote-ip");
    assert!(r == "fail" || r == "neutral", "{}", o.header);
}

#[tokio::test]
async fn tern_seal_verifies_with_python_dkim() {
    let fwd = Key::rsa(2048);
    let ours = Key::rsa(2048);
    let ours_ed = Key::ed25519();
    let dns = DnsServer::start(
        Zone::default()
            .txt("arc._domainkey.fwd.test", &fwd.txt())
            .txt("tern._domainkey.tern.test", &ours.txt())
            .txt("ed._domainkey.tern.test", &ours_ed.txt()),
    );
    let c = checker(&dns, "");
    let keys = [
        ("arc._domainkey.fwd.test", &fwd),
        ("tern._domainkey.tern.test", &ours),
    ];

    // First hop: tern receives a plain message and forwards it.
    let plain = message("a@signer.test", "seal");
    let o = c
        .check(IP.parse().unwrap(), "client.test", "a@signer.test", &plain)
        .await;
    let delivered = tern_mailauth::apply(&plain, c.authserv_id(), &o.header);
    let sealed = c
        .arc_seal(&delivered, &o, &ours.store_key("tern.test", "tern"))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&sealed).into_owned();
    assert!(
        text.starts_with("ARC-Seal: i=1; a=rsa-sha256; s=tern; d=tern.test; cv=none;")
            || text.contains("ARC-Seal: i=1;"),
        "{text}"
    );
    assert!(
        text.contains("ARC-Authentication-Results: i=1; mx.tern.test;"),
        "{text}"
    );
    assert!(python_verify(&sealed, &keys).starts_with("pass"), "{text}");
    // And tern itself accepts its own chain.
    let o2 = c
        .check(IP.parse().unwrap(), "mx.tern.test", "", &sealed)
        .await;
    assert_eq!(
        result_of(&o2.header, "arc", "smtp.remote-ip"),
        "pass",
        "{}",
        o2.header
    );

    // Second hop: a chain started by python3-dkim, continued by tern (i=2).
    let first = python_seal(
        &with_results(&message("a@signer.test", "hop"), "fwd.test"),
        &fwd,
        "fwd.test",
        "arc",
    );
    let o = c.check(IP.parse().unwrap(), "fwd.test", "", &first).await;
    let delivered = tern_mailauth::apply(&first, c.authserv_id(), &o.header);
    let sealed = c
        .arc_seal(&delivered, &o, &ours.store_key("tern.test", "tern"))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&sealed).into_owned();
    assert!(text.contains("i=2") && text.contains("cv=pass"), "{text}");
    assert!(python_verify(&sealed, &keys).starts_with("pass"), "{text}");

    // An ed25519 seal verifies in tern (RFC 8463 keys).
    let sealed = c
        .arc_seal(&delivered, &o, &ours_ed.store_key("tern.test", "ed"))
        .await
        .unwrap();
    let o3 = c
        .check(IP.parse().unwrap(), "mx.tern.test", "", &sealed)
        .await;
    assert_eq!(
        result_of(&o3.header, "arc", "smtp.remote-ip"),
        "pass",
        "{}",
        o3.header
    );
}

#[tokio::test]
async fn forged_results_with_our_id_are_removed() {
    let dns = DnsServer::start(Zone::default().txt("signer.test", "v=spf1 -all"));
    let c = checker(&dns, "");
    let mut forged = format!(
        "Authentication-Results: {HOST}; dkim=pass header.d=bank.test; dmarc=pass\r\n\
Authentication-Results: other.test; spf=pass\r\n"
    )
    .into_bytes();
    forged.extend_from_slice(&message("a@signer.test", "forged"));
    let o = c
        .check(IP.parse().unwrap(), "client.test", "a@signer.test", &forged)
        .await;
    let out = String::from_utf8(tern_mailauth::apply(&forged, c.authserv_id(), &o.header)).unwrap();
    assert!(out.starts_with(&o.header), "{out}");
    assert_eq!(
        out.matches(&format!("Authentication-Results: {HOST}"))
            .count(),
        1,
        "{out}"
    );
    assert!(!out.contains("bank.test"), "{out}");
    assert!(
        out.contains("Authentication-Results: other.test; spf=pass\r\n"),
        "{out}"
    );
}
