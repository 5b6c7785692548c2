//! The administration CLI, end to end against a SQLite data dir.

mod common;

use std::path::Path;

use common::checks::{fails, ok};
use common::cli;

fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_config(dir.path(), &[], "");
    (dir, cfg)
}

fn snapshot(cfg: &Path) -> (String, String, String) {
    (
        ok(&cli(cfg, &["domain", "list"])),
        ok(&cli(cfg, &["user", "list"])),
        ok(&cli(cfg, &["alias", "list"])),
    )
}

#[test]
fn walk_domain_user_alias_lifecycle() {
    let (_d, cfg) = setup();
    ok(&cli(&cfg, &["domain", "add", "Example.ORG"]));
    ok(&cli(
        &cfg,
        &[
            "user",
            "add",
            "alice@example.org",
            "-p",
            "first",
            "--allow-weak",
            "--quota",
            "10M",
        ],
    ));
    ok(&cli(
        &cfg,
        &[
            "user",
            "create",
            "-e",
            "bob@example.org",
            "-p",
            "pw",
            "--allow-weak",
        ],
    ));
    let generated = ok(&cli(&cfg, &["user", "add", "carol@example.org"]));
    assert!(
        generated.contains("password: "),
        "a generated password is printed once: {generated}"
    );
    ok(&cli(
        &cfg,
        &[
            "alias",
            "add",
            "team@example.org",
            "alice@example.org",
            "bob@example.org",
        ],
    ));

    let domains = ok(&cli(&cfg, &["domain", "list"]));
    assert!(domains.contains("example.org\t3 account(s)"), "{domains}");
    let users = ok(&cli(&cfg, &["user", "list", "-d", "example.org"]));
    assert!(
        users.contains("alice@example.org\tused 0 of 10485760"),
        "{users}"
    );
    assert!(users.contains("bob@example.org"));
    let aliases = ok(&cli(&cfg, &["alias", "list"]));
    assert!(
        aliases.contains("team@example.org\talice@example.org bob@example.org"),
        "{aliases}"
    );

    ok(&cli(
        &cfg,
        &[
            "user",
            "passwd",
            "alice@example.org",
            "-p",
            "second",
            "--allow-weak",
        ],
    ));
    ok(&cli(
        &cfg,
        &[
            "user",
            "send-as",
            "add",
            "alice@example.org",
            "sales@example.org",
        ],
    ));
    assert_eq!(
        ok(&cli(
            &cfg,
            &["user", "send-as", "list", "alice@example.org"]
        )),
        "sales@example.org\n"
    );
    fails(
        &cli(
            &cfg,
            &[
                "user",
                "send-as",
                "add",
                "alice@example.org",
                "sales@example.org",
            ],
        ),
        2,
        "already",
    );
    ok(&cli(
        &cfg,
        &[
            "user",
            "send-as",
            "remove",
            "alice@example.org",
            "sales@example.org",
        ],
    ));
    ok(&cli(&cfg, &["alias", "remove", "team@example.org"]));
    ok(&cli(&cfg, &["user", "remove", "bob@example.org"]));
    let users = ok(&cli(&cfg, &["user", "list"]));
    assert!(!users.contains("bob@"), "{users}");
    fails(
        &cli(&cfg, &["domain", "remove", "example.org"]),
        2,
        "still has 2 account(s)",
    );
    ok(&cli(&cfg, &["domain", "remove", "example.org", "--force"]));
    assert_eq!(ok(&cli(&cfg, &["domain", "list"])), "");
}

#[test]
fn password_from_stdin() {
    use std::io::Write;
    let (_d, cfg) = setup();
    ok(&cli(&cfg, &["domain", "add", "example.org"]));
    let mut child = std::process::Command::new(common::BIN)
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "user",
            "add",
            "a@example.org",
            "--password-stdin",
            "--allow-weak",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from-stdin\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let s = ok(&out);
    assert!(!s.contains("password:"), "a given password is not echoed");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let (_d, cfg) = setup();
    ok(&cli(&cfg, &["domain", "add", "example.org"]));
    ok(&cli(
        &cfg,
        &[
            "user",
            "add",
            "alice@example.org",
            "-p",
            "pw",
            "--allow-weak",
        ],
    ));
    ok(&cli(
        &cfg,
        &["alias", "add", "info@example.org", "alice@example.org"],
    ));
    let before = snapshot(&cfg);

    fails(
        &cli(
            &cfg,
            &["user", "add", "not-an-address", "-p", "pw", "--allow-weak"],
        ),
        2,
        "not-an-address",
    );
    fails(
        &cli(
            &cfg,
            &[
                "user",
                "add",
                "alice@example.org",
                "-p",
                "pw",
                "--allow-weak",
            ],
        ),
        2,
        "already exists",
    );
    fails(
        &cli(
            &cfg,
            &[
                "user",
                "add",
                "x@unknown.example",
                "-p",
                "pw",
                "--allow-weak",
            ],
        ),
        2,
        "domain unknown.example not found",
    );
    fails(
        &cli(
            &cfg,
            &[
                "user",
                "add",
                "info@example.org",
                "-p",
                "pw",
                "--allow-weak",
            ],
        ),
        2,
        "already exists",
    );
    fails(
        &cli(
            &cfg,
            &[
                "user",
                "add",
                "y@example.org",
                "-p",
                "pw",
                "--allow-weak",
                "--quota",
                "lots",
            ],
        ),
        2,
        "invalid size",
    );
    fails(
        &cli(&cfg, &["domain", "add", "example.org"]),
        2,
        "already exists",
    );
    fails(
        &cli(&cfg, &["domain", "add", "bad domain"]),
        2,
        "invalid domain",
    );
    fails(
        &cli(&cfg, &["domain", "remove", "example.org"]),
        2,
        "--force",
    );
    fails(
        &cli(&cfg, &["domain", "remove", "nope.example"]),
        2,
        "not found",
    );
    fails(
        &cli(
            &cfg,
            &["alias", "add", "x@unknown.example", "alice@example.org"],
        ),
        2,
        "not found",
    );
    fails(
        &cli(
            &cfg,
            &["alias", "add", "alice@example.org", "bob@example.org"],
        ),
        2,
        "account address",
    );
    fails(
        &cli(&cfg, &["alias", "add", "x@example.org", "bad target"]),
        2,
        "bad target",
    );
    fails(
        &cli(&cfg, &["alias", "remove", "nope@example.org"]),
        2,
        "not found",
    );
    fails(
        &cli(&cfg, &["user", "remove", "nope@example.org"]),
        2,
        "not found",
    );
    fails(
        &cli(
            &cfg,
            &[
                "user",
                "passwd",
                "nope@example.org",
                "-p",
                "x",
                "--allow-weak",
            ],
        ),
        2,
        "not found",
    );
    fails(&cli(&cfg, &["user", "add"]), 2, "required");
    fails(&cli(&cfg, &["frobnicate"]), 2, "unrecognized subcommand");

    assert_eq!(snapshot(&cfg), before, "refused commands changed nothing");
}

#[test]
fn quickstart_writes_config_creates_postmaster_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out_cfg = dir.path().join("etc/tern.toml");
    let data = dir.path().join("data");
    let args = [
        "quickstart",
        "example.org",
        "--data-dir",
        data.to_str().unwrap(),
        "--config-out",
        out_cfg.to_str().unwrap(),
    ];
    let run = |extra: &[&str]| {
        std::process::Command::new(common::BIN)
            .args(args)
            .args(extra)
            .env_remove("TERN_CONFIG")
            .output()
            .unwrap()
    };
    let s = ok(&run(&[]));
    assert!(
        s.contains("postmaster@example.org created with password: "),
        "{s}"
    );
    assert!(s.contains("example.org. MX 10 mail.example.org."), "{s}");
    assert!(s.contains("v=spf1 mx -all"), "{s}");
    assert!(s.contains("_dmarc.example.org."), "{s}");
    for r in [
        "_mta-sts.example.org. TXT \"v=STSv1; id=",
        "_smtp._tls.example.org. TXT \"v=TLSRPTv1; rua=mailto:postmaster@example.org\"",
        "mta-sts.example.org. CNAME mail.example.org.",
        "autoconfig.example.org. CNAME mail.example.org.",
        "autodiscover.example.org. CNAME mail.example.org.",
        "_imaps._tcp.example.org. SRV 0 1 993 mail.example.org.",
        "_submissions._tcp.example.org. SRV 0 1 465 mail.example.org.",
        "_submission._tcp.example.org. SRV 0 1 587 mail.example.org.",
        "_pop3s._tcp.example.org. SRV 0 1 995 mail.example.org.",
        "_sieve._tcp.example.org. SRV 0 1 4190 mail.example.org.",
        "_caldavs._tcp.example.org. SRV 0 1 443 mail.example.org.",
        "_carddavs._tcp.example.org. SRV 0 1 443 mail.example.org.",
        "_caldavs._tcp.example.org. TXT \"path=/dav/\"",
    ] {
        assert!(s.contains(r), "quickstart prints {r}: {s}");
    }
    // Both keys sign: RSA for every verifier, Ed25519 for those that know it.
    for k in ["k=rsa; p=MIIB", "k=ed25519; p="] {
        assert!(
            s.contains(&format!("._domainkey.example.org. TXT \"v=DKIM1; {k}")),
            "quickstart prints the {k} DKIM record: {s}"
        );
    }
    let text = std::fs::read_to_string(&out_cfg).unwrap();
    assert!(text.contains("hostname = \"mail.example.org\""));
    assert!(
        text.contains("addr = \"::\""),
        "public binds (dual-stack) are written explicitly"
    );
    assert!(
        text.contains(&format!("data_dir = \"{}\"", data.display())),
        "{text}"
    );
    assert!(text.contains("cert = \"/etc/tern/fullchain.pem\""));
    for kind in ["http", "https"] {
        assert!(text.contains(&format!("kind = \"{kind}\"")), "{text}");
    }

    fails(&run(&[]), 2, "already exists");
    let again = ok(&run(&["--force"]));
    assert!(again.contains("already existed"), "{again}");

    // The written file is a valid configuration apart from the certificate,
    // which the operator still has to put in place: config-check names it.
    fails(&cli(&out_cfg, &["config-check"]), 2, "tls.cert");
}

#[test]
fn dkim_keygen_list_and_bad_input() {
    let (_d, cfg) = setup();
    fails(
        &cli(&cfg, &["dkim", "keygen", "example.org"]),
        2,
        "domain example.org not found",
    );
    ok(&cli(&cfg, &["domain", "add", "example.org", "--no-dkim"]));
    let ed = ok(&cli(
        &cfg,
        &["dkim", "keygen", "example.org", "--selector", "s1"],
    ));
    assert!(
        ed.contains("s1._domainkey.example.org. TXT \"v=DKIM1; k=ed25519; p="),
        "{ed}"
    );
    let rsa = ok(&cli(
        &cfg,
        &[
            "dkim",
            "keygen",
            "example.org",
            "--selector",
            "s2",
            "--algo",
            "rsa",
        ],
    ));
    assert!(
        rsa.contains("s2._domainkey.example.org. TXT \"v=DKIM1; k=rsa; p=MIIB"),
        "{rsa}"
    );
    fails(
        &cli(&cfg, &["dkim", "keygen", "example.org", "--selector", "s1"]),
        2,
        "already exists",
    );
    fails(
        &cli(&cfg, &["dkim", "keygen", "example.org", "--algo", "dsa"]),
        2,
        "unknown algorithm",
    );
    fails(
        &cli(
            &cfg,
            &[
                "dkim",
                "keygen",
                "example.org",
                "--selector",
                "bad selector",
            ],
        ),
        2,
        "invalid selector",
    );
    let list = ok(&cli(&cfg, &["dkim", "list"]));
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(list.contains("example.org\ts1\ted25519"), "{list}");
}

/// `tern --version` says which build this is: the version, the git commit
/// and the build date.
#[test]
fn version_names_the_commit_and_the_build_date() {
    let out = std::process::Command::new(common::BIN)
        .arg("--version")
        .output()
        .unwrap();
    let v = ok(&out);
    assert!(
        v.starts_with(&format!("tern {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    let date = v
        .split("built ")
        .nth(1)
        .unwrap_or_default()
        .trim_end_matches([')', '\n']);
    assert_eq!(date.len(), 10, "{v}");
    assert_eq!(date.as_bytes()[4], b'-', "{v}");
}

/// `quickstart --data-dir data --config-out conf/tern.toml` from some
/// folder: the server started on the written config finds the domain and
/// the postmaster quickstart made (the data dir is written absolute; a
/// relative one would be read relative to conf/).
#[test]
fn quickstart_with_relative_paths_writes_where_the_server_will_look() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::BIN)
        .args(["quickstart", "example.test", "--data-dir", "data"])
        .args(["--config-out", "conf/tern.toml"])
        .current_dir(dir.path())
        .env_remove("TERN_CONFIG")
        .output()
        .unwrap();
    ok(&out);
    let cfg = dir.path().join("conf/tern.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let want = dir.path().canonicalize().unwrap().join("data");
    assert!(
        text.contains(&format!("data_dir = \"{}\"", want.display())),
        "{text}"
    );
    // The operator puts the certificate in place; then, run from
    // elsewhere against the written config: the same store.
    let (c, k) =
        tern_common::tls::self_signed(&dir.path().join("tls"), "mail.example.test").unwrap();
    let text = text
        .replace("/etc/tern/fullchain.pem", c.to_str().unwrap())
        .replace("/etc/tern/privkey.pem", k.to_str().unwrap());
    std::fs::write(&cfg, text).unwrap();
    let users = ok(&cli(&cfg, &["user", "list"]));
    assert!(users.contains("postmaster@example.test"), "{users}");
    assert!(!dir.path().join("conf/data").exists());
}

/// A new domain gets an RSA-2048 and an Ed25519 key, both signing, and
/// their records are printed; `--no-dkim` makes none.
#[test]
fn domain_add_makes_rsa_and_ed25519_keys() {
    let (_d, cfg) = setup();
    let out = ok(&cli(&cfg, &["domain", "add", "example.org"]));
    for k in ["k=rsa; p=MIIB", "k=ed25519; p="] {
        assert!(
            out.contains(&format!("._domainkey.example.org. TXT \"v=DKIM1; {k}")),
            "{out}"
        );
    }
    let list = ok(&cli(&cfg, &["dkim", "list", "-d", "example.org"]));
    assert_eq!(
        list.lines().filter(|l| l.contains("example.org")).count(),
        2,
        "{list}"
    );
    let out = ok(&cli(&cfg, &["domain", "add", "other.org", "--no-dkim"]));
    assert!(!out.contains("DKIM"), "{out}");
    let list = ok(&cli(&cfg, &["dkim", "list", "-d", "other.org"]));
    assert_eq!(
        list.lines().filter(|l| l.contains("other.org")).count(),
        0,
        "{list}"
    );
}

/// In a folder with no configuration file and no data dir, an admin
/// command refuses (exit 2, naming where it looked) instead of creating an
/// empty store nobody serves.
#[test]
fn admin_commands_refuse_an_accidental_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(common::BIN)
            .args(args)
            .current_dir(dir.path())
            .env_remove("TERN_CONFIG")
            .output()
            .unwrap()
    };
    fails(
        &run(&["domain", "add", "example.test"]),
        2,
        "no configuration file",
    );
    fails(&run(&["user", "list"]), 2, "tern-data");
    assert!(!dir.path().join("tern-data").exists());
}

/// A new password must be strong enough (12 characters, some variety, not
/// a common one, not the user name) unless `--allow-weak`; a generated one
/// always is.
#[test]
fn weak_passwords_are_refused_with_a_reason() {
    let (_d, cfg) = setup();
    ok(&cli(&cfg, &["domain", "add", "example.org", "--no-dkim"]));
    fails(
        &cli(&cfg, &["user", "add", "a@example.org", "-p", "x"]),
        2,
        "at least 12 characters",
    );
    fails(
        &cli(
            &cfg,
            &["user", "add", "a@example.org", "-p", "password1234"],
        ),
        2,
        "most common",
    );
    ok(&cli(
        &cfg,
        &[
            "user",
            "add",
            "a@example.org",
            "-p",
            "correct horse battery",
        ],
    ));
    fails(
        &cli(&cfg, &["user", "passwd", "a@example.org", "-p", "short"]),
        2,
        "--allow-weak",
    );
    ok(&cli(
        &cfg,
        &[
            "user",
            "passwd",
            "a@example.org",
            "-p",
            "short",
            "--allow-weak",
        ],
    ));
    let generated = ok(&cli(&cfg, &["user", "add", "b@example.org"]));
    let pw = generated
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap();
    assert!(
        tern_common::password::check_new(pw, "b@example.org").is_ok(),
        "{pw}"
    );
}

/// `tern domain mta-sts`: publish, change (a new id each time), refuse bad
/// values, and `--off`.
#[test]
fn domain_mta_sts_sets_changes_and_removes_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::write_config(dir.path(), &[], "");
    ok(&cli(&cfg, &["domain", "add", "example.org", "--no-dkim"]));
    let id = |s: &str| {
        s.split("id=")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_string()
    };
    let a = ok(&cli(
        &cfg,
        &["domain", "mta-sts", "example.org", "--mode", "testing"],
    ));
    assert!(
        a.contains("mode testing, max_age 604800, mx mx.test.example"),
        "{a}"
    );
    assert!(
        a.contains("_mta-sts.example.org. TXT \"v=STSv1; id="),
        "{a}"
    );
    let b = ok(&cli(
        &cfg,
        &[
            "domain",
            "mta-sts",
            "example.org",
            "--mode",
            "enforce",
            "--max-age",
            "86400",
            "--mx",
            "mx1.example.org",
            "--mx",
            "*.mx.example.org",
        ],
    ));
    assert!(
        b.contains("mode enforce, max_age 86400, mx mx1.example.org, *.mx.example.org"),
        "{b}"
    );
    assert_ne!(id(&a), id(&b), "a changed policy has a new id");
    fails(
        &cli(
            &cfg,
            &["domain", "mta-sts", "example.org", "--mode", "none"],
        ),
        2,
        "invalid value",
    );
    fails(
        &cli(
            &cfg,
            &[
                "domain",
                "mta-sts",
                "example.org",
                "--mode",
                "enforce",
                "--max-age",
                "99999999",
            ],
        ),
        2,
        "RFC 8461",
    );
    fails(
        &cli(
            &cfg,
            &["domain", "mta-sts", "nowhere.example", "--mode", "enforce"],
        ),
        2,
        "not found",
    );
    fails(
        &cli(&cfg, &["domain", "mta-sts", "example.org"]),
        2,
        "--mode",
    );
    ok(&cli(&cfg, &["domain", "mta-sts", "example.org", "--off"]));
    fails(
        &cli(&cfg, &["domain", "mta-sts", "example.org", "--off"]),
        2,
        "no MTA-STS policy",
    );
}
