//! Abuse protection end to end, on POP3 over implicit TLS (pop3s): the
//! zombie reconnect loop, per-user limits, login throttling, the audit log.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::Tern;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpSocket;

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// Connect from `src` (any 127.0.0.0/8 address), TLS, read the greeting.
async fn connect(src: &str, addr: SocketAddr) -> Result<BufReader<Tls>, String> {
    let sock = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    sock.bind(SocketAddr::new(src.parse::<IpAddr>().unwrap(), 0))
        .map_err(|e| e.to_string())?;
    let tcp = sock
        .connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let cfg = tern_queue::tls::opportunistic_config()?;
    let tls = tokio_rustls::TlsConnector::from(cfg)
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let mut io = BufReader::new(tls);
    let greeting = line(&mut io).await?;
    if !greeting.starts_with("+OK") {
        return Err(greeting);
    }
    Ok(io)
}

async fn line(io: &mut BufReader<Tls>) -> Result<String, String> {
    let mut l = String::new();
    let n = tokio::time::timeout(Duration::from_secs(30), io.read_line(&mut l))
        .await
        .map_err(|_| "timeout".to_string())?
        .map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("closed".into());
    }
    Ok(l.trim_end().to_string())
}

async fn cmd(io: &mut BufReader<Tls>, c: &str) -> Result<String, String> {
    io.get_mut()
        .write_all(format!("{c}\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    line(io).await
}

/// Log in; Ok(session) or Err(the server's answer).
async fn login(
    src: &str,
    addr: SocketAddr,
    user: &str,
    pass: &str,
) -> Result<BufReader<Tls>, String> {
    let mut io = connect(src, addr).await?;
    cmd(&mut io, &format!("USER {user}")).await?;
    let r = cmd(&mut io, &format!("PASS {pass}")).await?;
    if r.starts_with("+OK") { Ok(io) } else { Err(r) }
}

fn limits_config() -> String {
    // Connection-rate limiting is tested on its own; here the hierarchy of
    // concurrent limits is what must hold the zombie.
    "[limits.pop3]\nper_ip = 200\nper_user = 8\nper_user_ip = 3\n\
     [rate]\nconnections_per_minute_per_ip = 0\n\
     [auth_throttle]\nbase_delay_ms = 100\nmax_delay_secs = 1\naccount_lock_after = 5\nip_lock_after = 1000\n"
        .to_string()
}

/// Log in and keep the connection whatever the answer (a client that
/// never lets go); Err only when the server refuses to go on with it.
async fn login_and_hold(
    src: &str,
    addr: SocketAddr,
    user: &str,
    pass: &str,
) -> Result<(String, BufReader<Tls>), String> {
    let mut io = connect(src, addr).await?;
    cmd(&mut io, &format!("USER {user}")).await?;
    let r = cmd(&mut io, &format!("PASS {pass}")).await?;
    if r.starts_with("-ERR [SYS/TEMP]") {
        return Err(r);
    }
    Ok((r, io))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_zombie_loop_does_not_lock_out_the_same_user_elsewhere_or_other_users() {
    let t = Tern::start_with(&["pop3s"], &limits_config());
    t.add_user("a@example.org", "pw-a");
    t.add_user("b@example.org", "pw-b");
    let addr = t.addr("pop3s");
    // User A's desktop is logged in from 127.0.0.3.
    let mut desktop = login("127.0.0.3", addr, "a@example.org", "pw-a")
        .await
        .expect("A's desktop");

    // A's phone, stuck in a loop on 127.0.0.2: reconnects and logs in as A a
    // bounded few thousand times, never letting go of a connection.
    let zombie = tokio::spawn(async move {
        let (mut held, mut refused) = (Vec::new(), 0u32);
        let deadline = Instant::now() + Duration::from_secs(6);
        for _ in 0..2000 {
            if Instant::now() > deadline {
                break;
            }
            match login_and_hold("127.0.0.2", addr, "a@example.org", "pw-a").await {
                Ok((_, s)) => held.push(s),
                Err(_) => refused += 1,
            }
        }
        (held.len(), refused, held)
    });
    tokio::time::sleep(Duration::from_millis(800)).await;

    // Meanwhile A's desktop keeps working, and B behind the zombie's IP logs in.
    for _ in 0..3 {
        assert!(
            cmd(&mut desktop, "STAT").await.unwrap().starts_with("+OK"),
            "A's desktop still works"
        );
        let mut other = login("127.0.0.2", addr, "b@example.org", "pw-b")
            .await
            .expect("B from the zombie's IP logs in");
        assert!(cmd(&mut other, "STAT").await.unwrap().starts_with("+OK"));
        let _ = cmd(&mut other, "QUIT").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (held, refused, sessions) = zombie.await.unwrap();
    assert!(
        held <= 3,
        "the per user+IP limit holds the zombie to 3 connections: {held}"
    );
    assert!(refused > 10, "the rest were refused: {refused}");
    assert!(cmd(&mut desktop, "STAT").await.unwrap().starts_with("+OK"));
    drop(sessions);

    let audit = t.cli(&["audit", "list", "--kind", "limit"]);
    let audit = String::from_utf8_lossy(&audit.stdout);
    assert!(
        audit.contains("pop3\t127.0.0.2\ta@example.org\tlogin refused: user_ip limit"),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_refuses_with_sys_temp_and_admits_again_below_it() {
    let t = Tern::start_with(&["pop3s"], &limits_config());
    t.add_user("a@example.org", "pw-a");
    let addr = t.addr("pop3s");
    let mut held = Vec::new();
    for _ in 0..3 {
        // The first gets the maildrop, the others [IN-USE]: all count.
        held.push(
            login_and_hold("127.0.0.4", addr, "a@example.org", "pw-a")
                .await
                .expect("under the limit"),
        );
    }
    assert!(held[0].0.starts_with("+OK"));
    assert!(held[1].0.starts_with("-ERR [IN-USE]"));
    let refused = login_and_hold("127.0.0.4", addr, "a@example.org", "pw-a")
        .await
        .expect_err("over the limit");
    assert!(refused.starts_with("-ERR [SYS/TEMP]"), "{refused}");
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (r, _) = login_and_hold("127.0.0.4", addr, "a@example.org", "pw-a")
        .await
        .expect("admitted again below the limit");
    assert!(
        r.starts_with("-ERR [IN-USE]"),
        "past the limit, on to the maildrop lock: {r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_throttling_slows_locks_and_spares_the_owner_elsewhere() {
    let t = Tern::start_with(&["pop3s"], &limits_config());
    t.add_user("a@example.org", "pw-a");
    let addr = t.addr("pop3s");
    let mut io = connect("127.0.0.5", addr).await.unwrap();
    let mut delays = Vec::new();
    for i in 0..5 {
        if i % 3 == 0 && i > 0 {
            io = connect("127.0.0.5", addr).await.unwrap();
        }
        cmd(&mut io, "USER a@example.org").await.unwrap();
        let start = Instant::now();
        let r = cmd(&mut io, "PASS wrong").await.unwrap();
        delays.push(start.elapsed());
        assert_eq!(r, "-ERR [AUTH] invalid user name or password");
    }
    assert!(delays[2] > delays[0], "delays grow: {delays:?}");
    // Locked now from this network, even with the right password...
    let r = login("127.0.0.5", addr, "a@example.org", "pw-a")
        .await
        .expect_err("locked");
    assert_eq!(
        r, "-ERR [AUTH] invalid user name or password",
        "a lock answers like a wrong password"
    );
    // ...but the owner from a clean network gets in.
    login("127.0.0.6", addr, "a@example.org", "pw-a")
        .await
        .expect("owner elsewhere");
    // Unknown users get the very same answer.
    let r = login("127.0.0.7", addr, "nobody@example.org", "x")
        .await
        .err()
        .unwrap();
    assert_eq!(r, "-ERR [AUTH] invalid user name or password");
    let audit = t.cli(&["audit", "list", "--kind", "login_failure"]);
    assert!(String::from_utf8_lossy(&audit.stdout).lines().count() >= 5);
}

/// IMAP over implicit TLS from `src`: Ok(session) after LOGIN, or Err(the
/// server's answer).
async fn imap_login(
    src: &str,
    addr: SocketAddr,
    user: &str,
    pass: &str,
) -> Result<BufReader<Tls>, String> {
    let sock = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    sock.bind(SocketAddr::new(src.parse::<IpAddr>().unwrap(), 0))
        .map_err(|e| e.to_string())?;
    let tcp = sock
        .connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let cfg = tern_queue::tls::opportunistic_config()?;
    let tls = tokio_rustls::TlsConnector::from(cfg)
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let mut io = BufReader::new(tls);
    let greeting = line(&mut io).await?;
    if !greeting.starts_with("* OK") {
        return Err(greeting);
    }
    io.get_mut()
        .write_all(format!("a LOGIN {user} {pass}\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    loop {
        let l = line(&mut io).await?;
        if l.starts_with("a OK") {
            return Ok(io);
        }
        if l.starts_with("a ") || l.starts_with("* BYE") {
            return Err(l);
        }
    }
}

async fn imap_noop(io: &mut BufReader<Tls>) -> bool {
    if io.get_mut().write_all(b"n NOOP\r\n").await.is_err() {
        return false;
    }
    loop {
        match line(io).await {
            Ok(l) if l.starts_with("n OK") => return true,
            Ok(l) if l.starts_with("n ") => return false,
            Ok(_) => continue,
            Err(_) => return false,
        }
    }
}

/// The zombie, on IMAP where one user may hold many sessions: the
/// phone's loop is held to its per user+IP limit while the same user from
/// another IP and another user from the same IP log in and work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_imap_zombie_loop_spares_the_same_user_elsewhere_and_other_users() {
    let cfg = "[limits.imap]\nper_ip = 200\nper_user = 10\nper_user_ip = 3\n[rate]\nconnections_per_minute_per_ip = 0\n";
    let t = Tern::start_with(&["imaps"], cfg);
    t.add_user("a@example.org", "pw-a");
    t.add_user("b@example.org", "pw-b");
    let addr = t.addr("imaps");
    let zombie = tokio::spawn(async move {
        let (mut held, mut refused, mut last) = (Vec::new(), 0u32, String::new());
        let deadline = Instant::now() + Duration::from_secs(6);
        for _ in 0..2000 {
            if Instant::now() > deadline {
                break;
            }
            match imap_login("127.0.0.2", addr, "a@example.org", "pw-a").await {
                Ok(s) => held.push(s),
                Err(e) => {
                    refused += 1;
                    last = e;
                }
            }
        }
        (held.len(), refused, last, held)
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    for _ in 0..3 {
        let mut a = imap_login("127.0.0.3", addr, "a@example.org", "pw-a")
            .await
            .expect("A from another IP");
        assert!(imap_noop(&mut a).await, "A works");
        let mut b = imap_login("127.0.0.2", addr, "b@example.org", "pw-b")
            .await
            .expect("B from the zombie's IP");
        assert!(imap_noop(&mut b).await, "B works");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (held, refused, last, sessions) = zombie.await.unwrap();
    assert_eq!(held, 3, "the zombie holds exactly its per user+IP limit");
    assert!(refused > 10, "{refused}");
    assert!(last.starts_with("* BYE [UNAVAILABLE]"), "{last}");
    drop(sessions);
    let audit =
        String::from_utf8_lossy(&t.cli(&["audit", "list", "--kind", "limit"]).stdout).into_owned();
    assert!(
        audit.contains("imap\t127.0.0.2\ta@example.org\tlogin refused: user_ip limit"),
        "{audit}"
    );
}

/// The zombie with the **default** configuration: a device behind a NAT
/// (127.0.0.2) reconnects and logs in as A well past the per-IP connection
/// rate (120 a minute). Each of its connections proves who it is, so its
/// rate token moves from the shared IP to A's user+IP: B behind the same
/// NAT still connects and logs in, during the loop and after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_defaults_a_looping_device_spares_its_neighbours_rate() {
    let t = Tern::start(&["imaps"]);
    t.add_user("a@example.org", "pw-a");
    t.add_user("b@example.org", "pw-b");
    let addr = t.addr("imaps");
    let zombie = tokio::spawn(async move {
        let (mut attempts, mut held) = (0u32, Vec::new());
        let deadline = Instant::now() + Duration::from_secs(60);
        while attempts < 200 && Instant::now() < deadline {
            attempts += 1;
            // It keeps at most a few; the rest it drops at once, as a
            // reconnect loop does.
            if let Ok(s) = imap_login("127.0.0.2", addr, "a@example.org", "pw-a").await
                && held.len() < 3
            {
                held.push(s);
            }
        }
        attempts
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut b = imap_login("127.0.0.2", addr, "b@example.org", "pw-b")
        .await
        .expect("B from the zombie's IP during the loop");
    assert!(imap_noop(&mut b).await);
    let attempts = zombie.await.unwrap();
    assert_eq!(attempts, 200, "the loop went past the per-IP rate of 120");
    let mut b = imap_login("127.0.0.2", addr, "b@example.org", "pw-b")
        .await
        .expect("B from the zombie's IP after 200 connections from it");
    assert!(imap_noop(&mut b).await);
    let audit =
        String::from_utf8_lossy(&t.cli(&["audit", "list", "--kind", "limit"]).stdout).into_owned();
    assert!(
        !audit.contains("connection refused: ip limit"),
        "nobody was refused for the IP's rate: {audit}"
    );
}
