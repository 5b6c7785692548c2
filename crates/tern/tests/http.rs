//! The HTTP service end to end: curl and Python's http.client against a
//! real `tern serve` — health and the headers on every response, HTTP/2 by
//! ALPN, the redirect to https, slow clients cut off, the body limit,
//! `/metrics` (promtool, counters that move, who may read it), client
//! autoconfiguration checked against the listeners, and `/health/detailed`
//! following a PostgreSQL server that stops and starts.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::Tern;

/// `curl -s -i ARGS`: status, headers (lower-case names) and body.
fn curl(args: &[&str]) -> (u16, Vec<(String, String)>, String) {
    let out = Command::new("curl")
        .args(["-s", "-i", "--max-time", "60"])
        .args(args)
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn http_url(t: &Tern, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", t.port("http"))
}

fn https_url(t: &Tern, path: &str) -> String {
    format!("https://127.0.0.1:{}{path}", t.port("https"))
}

#[test]
fn health_security_headers_http2_and_the_redirect() {
    let t = Tern::start(&["http", "https"]);
    let cert = t.dir.path().join("tls/self-signed.crt");
    let cert = cert.to_str().unwrap();
    for url in [http_url(&t, "/health"), https_url(&t, "/health")] {
        let (status, h, body) = curl(&["-k", &url]);
        assert_eq!(status, 200, "{url}");
        assert_eq!(body, "{\"status\":\"ok\"}", "{url}");
        assert_eq!(header(&h, "x-content-type-options"), Some("nosniff"));
        assert_eq!(header(&h, "cache-control"), Some("no-store"));
        assert!(
            !h.iter().any(|(k, _)| k.starts_with("access-control-")),
            "no CORS: {h:?}"
        );
    }
    // HTTP/2 by ALPN on https, with the mail listeners' certificate.
    let out = Command::new("curl")
        .args([
            "-s",
            "--http2",
            "--cacert",
            cert,
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
        ])
        .args([
            "--resolve",
            &format!("mx.test.example:{}:127.0.0.1", t.port("https")),
        ])
        .arg(format!(
            "https://mx.test.example:{}/health",
            t.port("https")
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2 200");
    // HTTP/1.1 still works on https for clients that ask for it.
    let (status, _, _) = curl(&["-k", "--http1.1", &https_url(&t, "/health")]);
    assert_eq!(status, 200);
    // Plain http redirects everything else to https, path and query kept.
    let (status, h, _) = curl(&[&http_url(&t, "/api/v1/anything?x=1")]);
    assert_eq!(status, 308);
    assert_eq!(
        header(&h, "location"),
        Some(format!("https://127.0.0.1:{}/api/v1/anything?x=1", t.port("https")).as_str())
    );
    let (status, h, _) = curl(&["-k", &https_url(&t, "/nothing-here")]);
    assert_eq!(status, 404);
    assert_eq!(header(&h, "x-content-type-options"), Some("nosniff"));
    // Autodiscover reads at most 16 KiB before anyone logs in, whatever
    // max_body_kib allows (1 MiB here).
    let big = t.dir.path().join("pox.xml");
    std::fs::write(&big, vec![b'x'; 20 * 1024]).unwrap();
    let (status, _, _) = curl(&[
        "-k",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &format!("@{}", big.display()),
        &https_url(&t, "/autodiscover/autodiscover.xml"),
    ]);
    assert_eq!(status, 413);
}

/// Is the server's end of `s` closed? (A read that times out: still open.)
fn closed(s: &mut TcpStream, seen: &mut Vec<u8>) -> bool {
    let mut buf = [0u8; 1024];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(n) => {
            seen.extend_from_slice(&buf[..n]);
            false
        }
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            false
        }
        Err(_) => true,
    }
}

/// A client dripping its header section (slowloris) is cut off after
/// `header_timeout_secs`, one dripping its body gets 408 after
/// `request_timeout_secs`; other clients are served all the while.
#[test]
fn slow_clients_are_cut_off_and_others_still_served() {
    let t = Tern::start_with(
        &["http"],
        "[http]\nheader_timeout_secs = 2\nrequest_timeout_secs = 3\n",
    );
    let addr = t.addr("http");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
    let mut seen = Vec::new();
    let mut cut = false;
    // Bounded: 200 drips of 300 ms at most (a minute), far beyond 2 s.
    for i in 0..200 {
        if s.write_all(format!("X-Drip-{i}: 1\r\n").as_bytes())
            .is_err()
            || closed(&mut s, &mut seen)
        {
            cut = true;
            break;
        }
        if i == 1 {
            let (status, _, _) = curl(&[&http_url(&t, "/health")]);
            assert_eq!(status, 200, "another client is served meanwhile");
        }
    }
    assert!(cut, "a dripping header section was never cut off");
    assert!(
        !String::from_utf8_lossy(&seen).contains("200 OK"),
        "the dripped request was never answered: {}",
        String::from_utf8_lossy(&seen)
    );

    // A body dripped a byte at a time.
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    s.write_all(
        b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n",
    )
    .unwrap();
    let mut seen = Vec::new();
    for _ in 0..200 {
        if s.write_all(b"x").is_err() || closed(&mut s, &mut seen) {
            break;
        }
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let (status, _, _) = curl(&[&http_url(&t, "/health")]);
    assert_eq!(status, 200);
}

#[test]
fn request_bodies_over_the_limit_are_refused_with_413() {
    let t = Tern::start_with(&["http", "https"], "[http]\nmax_body_kib = 4\n");
    let big = t.dir.path().join("big.xml");
    std::fs::write(&big, vec![b'x'; 10 * 1024]).unwrap();
    let data = format!("@{}", big.display());
    let url = https_url(&t, "/autodiscover/autodiscover.xml");
    // The status curl received. The server answers before it reads the
    // body and then ends the exchange; curl, still sending, may see the
    // end (a reset, an HTTP/2 stream reset) before it reads the answer and
    // then reports no status at all (`000`) — TCP gives no way to be sure
    // the client reads a reply it did not wait for. So each case is tried
    // until the 413 is seen (at most five times), and no attempt may get
    // any other answer: the body is never accepted.
    let refused = |args: &[&str]| -> String {
        let mut seen = Vec::new();
        for _ in 0..5 {
            let out = Command::new("curl")
                .args(["-s", "--max-time", "60", "-D", "-", "-o", "/dev/null"])
                .args(["-w", "\nstatus=%{http_code}"])
                .args(args)
                .output()
                .expect("curl");
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let status = text
                .rsplit("status=")
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            assert!(status == "413" || status == "000", "{text}");
            seen.push(status.clone());
            if status == "413" {
                return text.to_ascii_lowercase();
            }
        }
        panic!("no 413 in five attempts: {seen:?}");
    };
    // Declared length, then a chunked body of unknown length.
    let head = refused(&["-k", "--data-binary", &data, &url]);
    assert!(head.contains("x-content-type-options: nosniff"), "{head}");
    refused(&[
        "-k",
        "--http1.1",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &data,
        &url,
    ]);
    let (status, _, _) = curl(&["-k", &https_url(&t, "/health")]);
    assert_eq!(status, 200);
}

/// The value of one sample line (`name{labels} value`).
fn sample(text: &str, key: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

fn scrape(t: &Tern) -> String {
    let (status, h, body) = curl(&[&http_url(t, "/metrics")]);
    assert_eq!(status, 200, "{body}");
    assert!(
        header(&h, "content-type").is_some_and(|c| c.starts_with("text/plain")),
        "{h:?}"
    );
    body
}

fn promtool(text: &str) {
    let (ok, said) = common::checks::promtool(text);
    assert!(ok, "promtool: {said}\n{text}");
}

#[test]
fn metrics_pass_promtool_and_move_after_a_delivery_and_a_failed_login() {
    let t = Tern::start(&["smtp", "imaps", "http"]);
    t.add_user("alice@example.org", "correct horse battery");
    let before = scrape(&t);
    promtool(&before);
    for name in [
        "tern_messages_received_total",
        "tern_messages_sent_total",
        "tern_messages_bounced_total",
        "tern_quota_exceeded_total",
        "tern_queue_depth",
    ] {
        assert!(
            before.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name} is exported from the start:\n{before}"
        );
    }
    let out = common::python(
        include_str!("scripts/http_metrics_events.py"),
        &[&t.port("smtp").to_string(), &t.port("imaps").to_string()],
    );
    assert_eq!(out.trim(), "ok");
    let after = scrape(&t);
    promtool(&after);
    for (key, more) in [
        ("tern_messages_received_total", 1.0),
        (
            "tern_messages_rejected_total{reason=\"header_too_big\"}",
            1.0,
        ),
        (
            "tern_auth_attempts_total{protocol=\"imap\",result=\"failure\"}",
            1.0,
        ),
        ("tern_tls_handshakes_total{version=\"TLSv1.3\"}", 2.0),
        ("tern_connections_total{protocol=\"smtp\"}", 1.0),
        ("tern_connections_total{protocol=\"http\"}", 1.0),
    ] {
        assert!(
            sample(&after, key) >= sample(&before, key) + more,
            "{key}: {} then {}\n{after}",
            sample(&before, key),
            sample(&after, key)
        );
    }
    // The HTTP connection of the scrape itself is open while it is rendered.
    assert!(
        sample(&after, "tern_active_connections{protocol=\"http\"}") >= 1.0,
        "{after}"
    );
}

/// `/metrics` by client address: 127.0.0.1 allowed, 127.0.0.2 refused (a
/// forged X-Forwarded-For changes nothing), the bearer token from
/// anywhere, and a trusted proxy's X-Forwarded-For believed.
#[test]
fn metrics_are_refused_to_clients_outside_metrics_allow() {
    let token = "0123456789abcdef0123456789abcdef-tern";
    let t = Tern::start_with(
        &["http"],
        &format!(
            "[http]\nmetrics_allow = [\"127.0.0.1/32\"]\nmetrics_token = \"{token}\"\n\
             trusted_proxies = [\"127.0.0.3/32\"]\n"
        ),
    );
    let url = http_url(&t, "/metrics");
    let from = |ip: &str, extra: &[&str]| {
        let mut args = vec!["--interface", ip];
        args.extend_from_slice(extra);
        args.push(&url);
        curl(&args).0
    };
    assert_eq!(from("127.0.0.1", &[]), 200);
    assert_eq!(from("127.0.0.2", &[]), 403);
    assert_eq!(
        from("127.0.0.2", &["-H", "X-Forwarded-For: 127.0.0.1"]),
        403
    );
    let bearer = format!("Authorization: Bearer {token}");
    assert_eq!(from("127.0.0.2", &["-H", &bearer]), 200);
    assert_eq!(
        from("127.0.0.2", &["-H", "Authorization: Bearer wrong"]),
        403
    );
    // A trusted proxy forwards for an allowed client, then for another.
    assert_eq!(
        from("127.0.0.3", &["-H", "X-Forwarded-For: 127.0.0.1"]),
        200
    );
    assert_eq!(
        from("127.0.0.3", &["-H", "X-Forwarded-For: 127.0.0.9"]),
        403
    );
    // Health stays open to everyone.
    let (status, _, _) = curl(&["--interface", "127.0.0.2", &http_url(&t, "/health")]);
    assert_eq!(status, 200);
}

#[test]
fn autoconfig_autodiscover_and_apple_profiles_follow_the_listeners() {
    let kinds = [
        "imap",
        "imaps",
        "pop3",
        "pop3s",
        "submission",
        "submissions",
        "http",
        "https",
    ];
    let t = Tern::start(&kinds);
    t.add_user("alice@example.org", "correct horse battery");
    let mut args = vec![
        t.port("http").to_string(),
        t.port("https").to_string(),
        "mx.test.example".to_string(),
    ];
    for k in [
        "imap",
        "imaps",
        "pop3",
        "pop3s",
        "submission",
        "submissions",
        "https",
    ] {
        args.push(format!("{k}={}", t.port(k)));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::python(include_str!("scripts/http_autoconfig.py"), &args);
    assert_eq!(out.trim(), "ok");
}

/// `/health/detailed` under a PostgreSQL-backed tern: 200 with every
/// component; 503 naming the store once PostgreSQL stops; 200 again once
/// it is back. A private PostgreSQL, so other tests keep theirs.
#[test]
fn detailed_health_follows_postgres_going_down_and_coming_back() {
    let pg = common::pg::PrivatePg::start();
    let t = Tern::start_with(&["smtp", "http", "https"], &pg.config());
    let url = http_url(&t, "/health/detailed");
    let (status, _, body) = curl(&[&url]);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok", "{body}");
    assert_eq!(v["store"]["backend"], "postgres", "{body}");
    assert_eq!(v["queue"]["depth"], 0, "{body}");
    assert!(
        v["disk"]["free_bytes"].as_u64().is_some_and(|b| b > 0),
        "{body}"
    );
    assert!(
        v["certificate"]["days_left"]
            .as_i64()
            .is_some_and(|d| d > 0),
        "{body}"
    );
    let listeners = v["listeners"].as_array().unwrap();
    for kind in ["smtp", "http", "https"] {
        let addr = t.addr(kind).to_string();
        assert!(
            listeners
                .iter()
                .any(|l| l["kind"] == kind && l["addr"] == addr.as_str()),
            "{kind} at {addr}: {body}"
        );
    }

    pg.stop();
    let until = |want: u16| {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (status, _, body) = curl(&[&url]);
            if status == want {
                return body;
            }
            assert!(Instant::now() < deadline, "never {want}: {status} {body}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let body = until(503);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "fail");
    assert!(
        v["failing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "store"),
        "{body}"
    );
    assert_eq!(v["store"]["status"], "fail", "{body}");
    // The process itself still serves.
    let (status, _, _) = curl(&[&http_url(&t, "/health")]);
    assert_eq!(status, 200);

    pg.resume();
    let body = until(200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok", "{body}");
}

/// Send one keep-alive request on `s` and read its response head.
fn one_request(s: &mut TcpStream) -> String {
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..200 {
        let _ = closed(s, &mut seen);
        if String::from_utf8_lossy(&seen).contains("{\"status\":\"ok\"}") {
            break;
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// A kept-alive connection with nothing to do is closed after
/// `idle_timeout_secs`; at SIGTERM an idle one is closed and tern exits.
#[test]
fn idle_connections_are_closed_and_shutdown_is_clean() {
    let mut t = Tern::start_with(&["http"], "[http]\nidle_timeout_secs = 2\n");
    let mut s = TcpStream::connect(t.addr("http")).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(one_request(&mut s).starts_with("HTTP/1.1 200"));
    let mut seen = Vec::new();
    // Bounded: a minute of 300 ms reads, far beyond 2 s.
    let cut = (0..200).any(|_| closed(&mut s, &mut seen));
    assert!(cut, "an idle keep-alive connection stayed open");

    let mut s = TcpStream::connect(t.addr("http")).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(one_request(&mut s).starts_with("HTTP/1.1 200"));
    assert!(
        t.stop().success(),
        "tern exits cleanly with an HTTP connection open"
    );
    let mut seen = Vec::new();
    assert!((0..200).any(|_| closed(&mut s, &mut seen)));
}
