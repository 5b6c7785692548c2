//! Submission logins go through the login gate shared with IMAP and POP3
//! (`tern_common::gate::Gate`): failures are audited and throttled per
//! account, a locked account is answered exactly like a wrong password
//! (RFC 4954 6: 535 5.7.8), and every spelling of the account is one name
//! to the throttle (`Store::login_key`).

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tern_common::Address;
use tern_common::config::{AuthThrottleConfig, LimitsConfig, RateConfig, Source, parse};
use tern_common::listener::TlsInfo;
use tern_common::security::{AuditEvent, AuditSink, Security};
use tern_smtp::{NoTls, Peer, Session, Shared, Tarpit};
use tern_store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// Keeps (kind, protocol, account) of every audit event.
#[derive(Default, Clone)]
struct Kept(Arc<Mutex<Vec<(String, String, String)>>>);

impl AuditSink for Kept {
    fn record(&self, e: AuditEvent) {
        let mut v = self.0.lock().unwrap_or_else(|p| p.into_inner());
        v.push((
            e.kind.name().into(),
            e.protocol.into(),
            e.account.unwrap_or_default(),
        ));
    }
}

fn plain(user: &str, pass: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"))
}

/// One submission session over TLS (as on port 465) sending `input`.
async fn session(shared: Arc<Shared>, input: String) -> String {
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let task = tokio::spawn(async move {
        let peer = Peer {
            ip: IpAddr::from([192, 0, 2, 7]),
            tls: Some(TlsInfo {
                version: "TLSv1.3".into(),
                cipher: "TEST".into(),
            }),
            can_starttls: false,
        };
        Session::new(shared, server, &NoTls, peer, CancellationToken::new())
            .run()
            .await;
    });
    client.write_all(input.as_bytes()).await.unwrap();
    client.shutdown().await.unwrap();
    let mut out = String::new();
    client.read_to_string(&mut out).await.unwrap();
    task.await.unwrap();
    out
}

/// A submission service's shared state with alice@example.org ("right")
/// and a throttle that locks the account after three failures.
async fn submission(dir: &Path, kept: &Kept) -> Arc<Shared> {
    let cfg = parse(
        "hostname = \"mx.example.org\"\n",
        Source::Embedded,
        Path::new("/"),
        |_| true,
    )
    .unwrap();
    let store = Store::open_sqlite_for_tests(dir).await.unwrap();
    store.domain_add("example.org").await.unwrap();
    store
        .account_add(&Address::parse("alice@example.org").unwrap(), "right", 0)
        .await
        .unwrap();
    let throttle = AuthThrottleConfig {
        base_delay_ms: 1,
        max_delay_secs: 1,
        account_lock_after: 3,
        ..AuthThrottleConfig::default()
    };
    let security = Security::new(
        LimitsConfig::default(),
        &RateConfig::default(),
        throttle,
        Arc::new(kept.clone()),
    );
    Arc::new(Shared {
        filter: tern_smtp::sieve_filter(&cfg),
        rspamd: None,
        tarpit: Tarpit::new(cfg.tarpit.clone()),
        config: Arc::new(cfg),
        store,
        queue: None,
        security,
        submission: true,
        checker: None,
    })
}

#[tokio::test]
async fn a_locked_account_is_refused_like_a_wrong_password_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let kept = Kept::default();
    let shared = submission(dir.path(), &kept).await;
    // Three wrong passwords, each under another spelling of the account.
    let mut input = String::from("EHLO c\r\n");
    for user in [
        "alice@example.org",
        "ALICE@example.org",
        "Alice@Example.Org",
    ] {
        input.push_str(&format!("AUTH PLAIN {}\r\n", plain(user, "wrong")));
    }
    input.push_str("QUIT\r\n");
    let out = session(shared.clone(), input).await;
    assert_eq!(out.matches("535 5.7.8").count(), 3, "{out}");

    // Now locked: the right password gets the very same answer.
    let right = format!(
        "EHLO c\r\nAUTH PLAIN {}\r\nQUIT\r\n",
        plain("alice@example.org", "right")
    );
    let out = session(shared.clone(), right).await;
    assert!(out.contains("535 5.7.8"), "{out}");
    assert!(!out.contains("235"), "{out}");

    let events = kept.0.lock().unwrap().clone();
    let failures = events
        .iter()
        .filter(|(k, p, a)| k == "login_failure" && p == "submission" && a == "alice@example.org")
        .count();
    assert_eq!(failures, 4, "{events:?}");
    assert!(
        events
            .iter()
            .any(|(k, p, _)| k == "login_locked" && p == "submission"),
        "{events:?}"
    );
}

/// RFC 5321 3.8: shutdown answers a session waiting for an AUTH response
/// with 421 at once, as it does one waiting for a command; only a message
/// in progress gets the grace period.
#[tokio::test]
async fn shutdown_answers_a_pending_auth_with_421_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let shared = submission(dir.path(), &Kept::default()).await;
    let token = CancellationToken::new();
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let stop = token.clone();
    let task = tokio::spawn(async move {
        let peer = Peer {
            ip: IpAddr::from([192, 0, 2, 7]),
            tls: Some(TlsInfo {
                version: "TLSv1.3".into(),
                cipher: "TEST".into(),
            }),
            can_starttls: false,
        };
        Session::new(shared, server, &NoTls, peer, stop).run().await;
    });
    client.write_all(b"EHLO c\r\nAUTH PLAIN\r\n").await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("334 ") {
        let n = tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    token.cancel();
    let mut rest = String::new();
    tokio::time::timeout(Duration::from_secs(2), client.read_to_string(&mut rest))
        .await
        .unwrap()
        .unwrap();
    task.await.unwrap();
    assert!(
        rest.starts_with("421 4.3.2 mx.example.org Service shutting down"),
        "{rest}"
    );
}
