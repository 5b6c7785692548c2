//! The systemd unit shipped in contrib/ is one systemd accepts, and keeps
//! the hardening README promises.

mod common;

#[test]
fn the_systemd_unit_verifies_and_is_hardened() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contrib/tern.service"
    ))
    .expect("contrib/tern.service");
    for line in [
        "User=tern",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/tern",
        "NoNewPrivileges=yes",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.lines().any(|l| l == line), "missing {line}");
    }
    // systemd checks that ExecStart is executable: point it at this build.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tern.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/tern", common::BIN)).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze (Debian systemd; run scripts/ci-deps.sh)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
