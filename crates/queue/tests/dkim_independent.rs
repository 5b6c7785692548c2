//! DKIM signatures made by tern verify with an independent implementation:
//! Debian's python3-dkim (dkimpy), given the published TXT records offline.

use std::process::Command;

use tern_common::Address;
use tern_queue::dkim::{Algorithm, generate, sign, txt_record};
use tern_store::{DkimKey, Store};

const VERIFY: &str = r#"
import sys, dkim
msg = open(sys.argv[1], 'rb').read()
records = {}
for line in open(sys.argv[2]):
    name, txt = line.rstrip('\n').split(' ', 1)
    records[name] = txt.encode()
def dnsfunc(name, timeout=5):
    return records.get(name.decode() if isinstance(name, bytes) else name)
d = dkim.DKIM(msg)
n = len([l for l in msg.split(b'\r\n') if l.lower().startswith(b'dkim-signature:')])
print('signatures', n)
for i in range(n):
    try:
        ok = d.verify(idx=i, dnsfunc=dnsfunc)
    except dkim.DKIMException as e:
        ok = False
        print('error', type(e).__name__, e)
    print(i, ok)
"#;

async fn signed(
    keys: &[(Algorithm, &str)],
    message: &[u8],
) -> (Vec<u8>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_for_tests(dir.path()).await.unwrap();
    store.domain_add("example.org").await.unwrap();
    let mut records = String::new();
    for (algo, selector) in keys {
        let (private_key, public_key) = generate(*algo).unwrap();
        records.push_str(&format!(
            "{selector}._domainkey.example.org. {}\n",
            txt_record(algo.name(), &public_key)
        ));
        store
            .dkim_key_add(&DkimKey {
                domain: "example.org".into(),
                selector: selector.to_string(),
                algorithm: algo.name().into(),
                private_key,
                public_key,
                created: 0,
            })
            .await
            .unwrap();
    }
    let _ = Address::parse("a@example.org").unwrap();
    (sign(&store, message.to_vec()).await.unwrap(), records, dir)
}

fn dkimpy(message: &[u8], records: &str, dir: &std::path::Path) -> String {
    let m = dir.join("msg.eml");
    let r = dir.join("records.txt");
    std::fs::write(&m, message).unwrap();
    std::fs::write(&r, records).unwrap();
    // Debian's modules live with Debian's interpreter, not the one on PATH.
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(VERIFY)
        .arg(&m)
        .arg(&r)
        .output()
        .expect("/usr/bin/python3");
    assert!(
        out.status.success(),
        "dkimpy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\r\nTo: bob@remote.example\r\nSubject: signed\r\n\
Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <s1@example.org>\r\n\r\nHello,\r\n\r\nthis is signed.\r\n";

#[tokio::test]
async fn ed25519_and_rsa_signatures_verify_with_dkimpy() {
    let (msg, records, dir) = signed(
        &[(Algorithm::Ed25519, "ed1"), (Algorithm::Rsa, "rsa1")],
        MESSAGE,
    )
    .await;
    let out = dkimpy(&msg, &records, dir.path());
    assert!(out.contains("signatures 2"), "{out}");
    assert!(out.contains("0 True") && out.contains("1 True"), "{out}");
    let text = String::from_utf8_lossy(&msg);
    assert!(
        text.contains("a=ed25519-sha256") && text.contains("a=rsa-sha256"),
        "{text}"
    );
}

#[tokio::test]
async fn tampering_breaks_the_signature_and_from_is_oversigned() {
    let (msg, records, dir) = signed(&[(Algorithm::Ed25519, "ed1")], MESSAGE).await;
    let tampered = String::from_utf8(msg.clone())
        .unwrap()
        .replace("this is signed.", "this is forged.");
    let out = dkimpy(tampered.as_bytes(), &records, dir.path());
    assert!(out.contains("0 False"), "altered body fails: {out}");
    // A second From added after signing must break it too (From is over-signed).
    let extra = String::from_utf8(msg).unwrap().replacen(
        "From: Alice",
        "From: Mallory <m@evil.example>\r\nFrom: Alice",
        1,
    );
    let out = dkimpy(extra.as_bytes(), &records, dir.path());
    assert!(out.contains("0 False"), "an added From fails: {out}");
}

#[tokio::test]
async fn a_domain_without_keys_is_left_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite_for_tests(dir.path()).await.unwrap();
    assert_eq!(sign(&store, MESSAGE.to_vec()).await.unwrap(), MESSAGE);
}
