//! QUOTA (RFC 9208, STORAGE resource) end to end with Python's imaplib:
//! the usage the store counts against `--quota`, in KiB, and APPEND over
//! the limit refused with OVERQUOTA.

mod common;

use common::Tern;

const PASSWORD: &str = "correct horse battery";

/// After `IMAPS_PREAMBLE`; one line per step.
const SCRIPT: &str = r#"
M = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=20)
M.login(user, password)
print("caps", "QUOTA" in M.capabilities, "QUOTA=RES-STORAGE" in M.capabilities, "QUOTASET" in M.capabilities)
def text(d):
    if isinstance(d, bytes):
        return d.decode()
    if isinstance(d, list):
        return " | ".join(text(x) for x in d)
    return str(d)
def show(step, r):
    typ, data = r
    # imaplib gives NO texts twice (tagged and as untagged data): once here.
    print(step, typ, text(data[:1] if typ == "NO" else data))
show("root0", M.getquotaroot("INBOX"))
msg = b"Subject: x\r\n\r\n" + b"y" * 3000 + b"\r\n"
M.append("INBOX", None, None, msg)
M.append("Archive", None, None, msg)
show("root1", M.getquotaroot("Archive"))
show("quota", M.getquota('""'))
show("nosuch", M.getquota("other"))
show("missing", M.getquotaroot("Nope"))
show("set", M._simple_command("SETQUOTA", '""', "(STORAGE 1)"))
typ, data = M.append("INBOX", None, None, b"Subject: big\r\n\r\n" + b"z" * 9000 + b"\r\n")
print("over", typ, data[0].decode().split("]")[0] + "]")
M.select("INBOX")
M.store("1", "+FLAGS", "(\\Deleted)")
show("status", M.status("INBOX", "(DELETED DELETED-STORAGE)"))
M.logout()
"#;

#[test]
fn quota_roots_usage_and_overquota() {
    let mut t = Tern::start(&["imaps"]);
    let _ = t.cli(&["domain", "add", "example.org", "--no-dkim"]);
    // 10 KiB for the quota user; none for the other.
    let out = t.cli(&[
        "user",
        "add",
        "q@example.org",
        "-p",
        PASSWORD,
        "--allow-weak",
        "--quota",
        "10K",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.add_user("free@example.org", PASSWORD);
    let out = t.imaps_script(SCRIPT, "q@example.org", PASSWORD, &[]);
    let lines: Vec<&str> = out.lines().collect();
    let size = 3016; // each message: 14 + 3000 + 2 octets
    assert_eq!(
        lines,
        [
            "caps True True False".to_string(),
            "root0 OK \"INBOX\" \"\" | \"\" (STORAGE 0 10)".into(),
            "root1 OK \"Archive\" \"\" | \"\" (STORAGE 6 10)".into(),
            "quota OK \"\" (STORAGE 6 10)".into(),
            "nosuch NO [NONEXISTENT] no such quota root".into(),
            "missing NO [NONEXISTENT] no such mailbox".into(),
            "set NO [NOPERM] quotas are set by the administrator".into(),
            "over NO [OVERQUOTA]".into(),
            format!("status OK \"INBOX\" (DELETED 1 DELETED-STORAGE {size})"),
        ],
        "{out}"
    );

    // Without a quota the mailbox has no quota root.
    let out = t.imaps_script(SCRIPT, "free@example.org", PASSWORD, &[]);
    assert!(out.contains("root0 OK \"INBOX\" | None"), "{out}");
    assert!(out.contains("nosuch NO [NONEXISTENT]"), "{out}");
    t.stop();
}
