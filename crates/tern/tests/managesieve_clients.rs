//! ManageSieve with clients nobody here wrote, on loopback over STARTTLS:
//! Python's sievelib and Debian's sieve-connect upload, list, activate,
//! download, rename and delete scripts; a script with a syntax error is
//! refused with its line; credentials are refused before TLS; an app
//! password logs in.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::{Tern, python};

const SIEVELIB: &str = include_str!("scripts/managesieve_sievelib.py");

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "expected success, got {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An app password for alice's device `name`.
fn app_password(t: &Tern, name: &str) -> String {
    let out = ok(&t.cli(&[
        "user",
        "app-password",
        "add",
        "alice@example.org",
        "--name",
        name,
    ]));
    out.lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a password")
        .to_string()
}

#[test]
fn sievelib_manages_scripts_over_starttls() {
    let t = Tern::start(&["managesieve"]);
    t.add_user("alice@example.org", "the main password");
    let app = app_password(&t, "laptop");
    let port = t.port("managesieve").to_string();
    let cert = t.cert_path();
    let out = python(
        SIEVELIB,
        &[
            &port,
            cert.to_str().expect("utf-8 path"),
            "alice@example.org",
            "the main password",
            &app,
        ],
    );
    let want = [
        "greeting sasl \"SASL\" \"\"",
        "cleartext NO (ENCRYPT-NEEDED) \"use STARTTLS first\"",
        "login True",
        "implementation tern",
        "fileinto True",
        "put True",
        "put bad False line 3, column 1: Undeclared capability 'fileinto'",
        "check bad False line 3, column 1: Undeclared capability 'fileinto'",
        "check good True",
        "put other True",
        "activate True",
        "list ('lists', ['other'])",
        "get True",
        "rename True",
        "delete active False ACTIVE",
        "deactivate True",
        "delete True",
        "list (None, ['other'])",
        "app password True",
        "list (None, ['other'])",
        "wrong password False",
    ];
    assert_eq!(out.lines().collect::<Vec<_>>(), want, "{out}");
    // The store holds what the client left.
    let list = ok(&t.cli(&["sieve", "list", "alice@example.org"]));
    assert!(list.starts_with("other\t-\t"), "{list}");
}

/// Run sieve-connect as alice with `args`; the password on fd 3.
fn sieve_connect(t: &Tern, password: &str, args: &[&str]) -> Output {
    let port = t.port("managesieve").to_string();
    let mut child = Command::new("sieve-connect")
        .args(["--server", "127.0.0.1", "--port", &port])
        .args(["--user", "alice@example.org", "--passwordfd", "0"])
        // The self-signed certificate names a host; the test dials an IP.
        .arg("--notlsverify")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sieve-connect (scripts/ci-deps.sh installs it)");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{password}").expect("password");
    drop(stdin);
    child.wait_with_output().expect("sieve-connect runs")
}

#[test]
fn sieve_connect_uploads_activates_downloads_and_deletes() {
    let t = Tern::start(&["managesieve"]);
    t.add_user("alice@example.org", "the main password");
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("vacation.sieve");
    let bad = dir.path().join("bad.sieve");
    let back = dir.path().join("back.sieve");
    let script = "require \"fileinto\";\nif address :is \"from\" \"boss@example.org\" {\n  fileinto \"Boss\";\n}\n";
    std::fs::write(&good, script).expect("write");
    std::fs::write(&bad, "keep;\n\nfileinto \"x\";\n").expect("write");
    let pw = "the main password";
    let path = |p: &std::path::Path| p.to_str().expect("utf-8 path").to_string();

    ok(&sieve_connect(
        &t,
        pw,
        &[
            "--localsieve",
            &path(&good),
            "--remotesieve",
            "boss",
            "--upload",
        ],
    ));
    let out = sieve_connect(
        &t,
        pw,
        &[
            "--localsieve",
            &path(&bad),
            "--remotesieve",
            "bad",
            "--upload",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("line 3, column 1"), "{err}");
    ok(&sieve_connect(
        &t,
        pw,
        &["--remotesieve", "boss", "--activate"],
    ));
    let list = ok(&sieve_connect(&t, pw, &["--list"]));
    assert_eq!(list.trim(), "\"boss\" ACTIVE", "{list}");
    ok(&sieve_connect(
        &t,
        pw,
        &[
            "--remotesieve",
            "boss",
            "--download",
            "--localsieve",
            &path(&back),
        ],
    ));
    assert_eq!(std::fs::read_to_string(&back).expect("downloaded"), script);
    // The active script stays until deactivated.
    let out = sieve_connect(&t, pw, &["--remotesieve", "boss", "--delete"]);
    assert!(!out.status.success());
    ok(&sieve_connect(&t, pw, &["--deactivate"]));
    ok(&sieve_connect(
        &t,
        pw,
        &["--remotesieve", "boss", "--delete"],
    ));
    assert_eq!(ok(&sieve_connect(&t, pw, &["--list"])).trim(), "");
    // A wrong password is refused.
    assert!(!sieve_connect(&t, "wrong", &["--list"]).status.success());
}

/// sievelib over a `managesieves` listener (TLS from the first byte):
/// no STARTTLS is offered, credentials are taken at once, scripts are
/// stored; a client speaking plain text gets no ManageSieve greeting.
#[test]
fn sievelib_over_implicit_tls() {
    let t = Tern::start(&["managesieves"]);
    t.add_user("alice@example.org", "the main password");
    let port = t.port("managesieves").to_string();
    let cert = t.cert_path();
    let out = python(
        "import sys, ssl
from sievelib import managesieve
port, cafile, user, password = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
managesieve.ssllib.create_default_context = lambda *a, **k: ctx
c = managesieve.Client('127.0.0.1', int(port))
print('login', c.connect(user, password, ssl=True, authmech='PLAIN'))
print('starttls offered', c.has_tls_support())
print('put', c.putscript('main', 'keep;\\r\\n'))
print('activate', c.setactive('main'))
print('list', c.listscripts())
c.logout()
",
        &[
            &port,
            cert.to_str().expect("utf-8 path"),
            "alice@example.org",
            "the main password",
        ],
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "login True",
            "starttls offered False",
            "put True",
            "activate True",
            "list ('main', [])",
        ],
        "{out}"
    );
    // Plain text on that port: the server waits for a TLS hello and sends
    // no greeting; the client's garbage ends the connection.
    let plain = python(
        "import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
s.sendall(b'CAPABILITY\\r\\n')
try:
    data = s.recv(100)
except socket.timeout:
    data = b'timeout'
print(repr(data[:4]))
",
        &[&port],
    );
    assert!(!plain.contains("IMPL"), "{plain}");
}
