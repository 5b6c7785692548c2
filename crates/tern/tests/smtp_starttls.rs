//! STARTTLS on a real `tern serve` (RFC 3207), driven from Python's `ssl`:
//! commands a client (or an attacker in the path) pipelines behind
//! STARTTLS in plaintext are never executed inside the TLS session.

mod common;

use std::path::Path;

use common::Tern;
use tern_common::Address;
use tern_store::Store;

fn inbox(data: &Path, user: &str) -> Vec<Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = Store::open_sqlite_for_tests(data).await.unwrap();
        let acc = s
            .account_get(&Address::parse(user).unwrap())
            .await
            .unwrap()
            .unwrap();
        let mb = s.mailbox_get(acc.id, "INBOX").await.unwrap().unwrap();
        let mut out = Vec::new();
        for m in s.messages(mb.id).await.unwrap() {
            out.push(s.message_bytes(mb.id, m.uid).await.unwrap());
        }
        out
    })
}

#[test]
fn commands_pipelined_behind_starttls_are_discarded() {
    let t = Tern::start(&["smtp"]);
    t.add_user("alice@example.org", "pw");
    let out = common::python(
        r#"
import socket, ssl, sys
port = int(sys.argv[1])
s = socket.create_connection(('127.0.0.1', port), timeout=20)
def until(sock, marker):
    buf = b''
    while marker not in buf:
        d = sock.recv(4096)
        if not d:
            break
        buf += d
    return buf.decode()
print('greeting', until(s, b'\r\n').split()[0])
# One write: the injected MAIL and RCPT ride behind STARTTLS in plaintext.
s.sendall(b'EHLO client.example\r\nSTARTTLS\r\nMAIL FROM:<evil@remote.example>\r\nRCPT TO:<alice@example.org>\r\n')
pre = until(s, b'220 2.0.0')
print('pre-tls', [l[:3] for l in pre.splitlines() if l[3:4] == ' '])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(s)
print('tls', t.version())
t.sendall(b'RCPT TO:<alice@example.org>\r\n')
print('rcpt-after', until(t, b'\r\n').strip())
t.sendall(b'EHLO client.example\r\n')
ehlo = until(t, b'\r\n250 ')
ehlo += until(t, b'\r\n') if not ehlo.endswith('\r\n') else ''
print('starttls-again', 'STARTTLS' in ehlo, 'requiretls', 'REQUIRETLS' in ehlo)
t.sendall(b'MAIL FROM:<good@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n')
print('txn', until(t, b'354').replace('\r\n', '|'))
t.sendall(b'Subject: after tls\r\n\r\nhi\r\n.\r\nQUIT\r\n')
print('end', until(t, b'221').replace('\r\n', '|'))
"#,
        &[&t.port("smtp").to_string()],
    );
    assert!(out.contains("greeting 220"), "{out}");
    assert!(out.contains("pre-tls ['250', '220']"), "{out}");
    assert!(out.contains("tls TLSv1."), "{out}");
    // The injected MAIL was discarded, so the transaction never began.
    assert!(out.contains("rcpt-after 503 5.5.1"), "{out}");
    assert!(
        out.contains("starttls-again False requiretls True"),
        "{out}"
    );
    assert!(out.contains("250 2.0.0 Ok"), "{out}");
    let a = inbox(&t.data_dir(), "alice@example.org");
    assert_eq!(a.len(), 1, "{out}");
    let m = String::from_utf8_lossy(&a[0]);
    assert!(
        m.starts_with("Return-Path: <good@remote.example>\r\n"),
        "{m}"
    );
    assert!(m.contains("with ESMTPS"), "{m}");
    assert!(m.contains("cipher="), "{m}");
}
