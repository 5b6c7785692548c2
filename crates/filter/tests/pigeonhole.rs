//! tern's Sieve beside Dovecot Pigeonhole's: every script in
//! `tests/pigeonhole/` (with the message and envelope its `#` header
//! names) runs through `Filter::run` and through Pigeonhole's
//! `sieve-test`, and both results, put in one comparable form (a sorted
//! list of `store MAILBOX [flags]`, `redirect ADDR`, `reject REASON`,
//! `vacation`, `notify ADDR`, `discard` when nothing is stored, `error`;
//! the keep is `store INBOX`), must be equal. `sieve-test` comes from the
//! Debian package dovecot-sieve (`scripts/ci-deps.sh`); without it the
//! test fails.
//!
//! A case file starts with a `#` line saying what it checks, then optional
//! `# message: NAME.eml` (default `plain.eml`), `# from: ADDR` and
//! `# to: ADDR` (the envelope; `alice@b.example` and `bob@x.example`).
//! `personal/` holds the scripts `include :personal` finds, `global/`
//! those of `include :global`.
//!
//! Vacation: `sieve-test` lists a `vacation` action before it checks
//! whether a reply may be sent (lists, bulk, auto-submitted, the user not
//! addressed), so when it lists one, the case runs again with `-e`
//! (execute, sending nothing) and counts the reply only when it says
//! "sent vacation response".
//!
//! Left out, where tern differs on purpose or `sieve-test` cannot say:
//! - `ereject`: Pigeonhole 0.5 does not implement it.
//! - `environment` `location`, `phase`, `name`, `version`: tern runs
//!   during SMTP as the MDA ("MDA", "during", "tern"); sieve-test says
//!   "MS", "post", "Pigeonhole Sieve".
//! - the null sender: `sieve-test -f` refuses an empty address.
//! - `fileinto "INBOX"` with `keep`: tern's outcome has the two copies
//!   apart (the keep may be Junk), where Pigeonhole stores one.
//! - `redirect` to the account's own address: sieve-rs does not send it
//!   (a loop) and keeps the message; Pigeonhole lists the redirect.
//! - an empty group (`To: undisclosed-recipients:;`): Pigeonhole takes it
//!   for one address (`address :all` is the whole text), sieve-rs for none.
//! - `spamtest`/`virustest`: sieve-test has no verdict to give without
//!   a configured header, tern none at all; both compile, neither means
//!   anything here.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tern_filter::{Delivery, Filter, Host, Outcome, SendKind, Settings};

const SIEVE_TEST: &str = "sieve-test";
/// A run of sieve-test that takes longer than this is killed (and fails).
const TIMEOUT: Duration = Duration::from_secs(30);
/// The account the scripts run for (sieve-test's `-a`/`-r`).
const DEFAULT_TO: &str = "bob@x.example";
const DEFAULT_FROM: &str = "alice@b.example";

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pigeonhole")
}

/// One script with its message and envelope.
struct Case {
    name: String,
    script: String,
    message_name: String,
    message: Vec<u8>,
    from: String,
    to: String,
}

/// Every `*.sieve` of the corpus, by name.
fn cases() -> Vec<Case> {
    let dir = corpus();
    let mut names: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sieve"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|path| {
            // RFC 5228 2.2: a script's lines end in CRLF (sieve-rs keeps a
            // bare LF in a multi-line string; Pigeonhole makes it CRLF).
            let script = crlf(&fs::read_to_string(&path).unwrap());
            let mut header: HashMap<String, String> = HashMap::new();
            for line in script.lines().take_while(|l| l.starts_with('#')) {
                if let Some((k, v)) = line[1..].split_once(':')
                    && ["message", "from", "to"].contains(&k.trim())
                {
                    header.insert(k.trim().to_string(), v.trim().to_string());
                }
            }
            let message_name = header.get("message").cloned().unwrap_or("plain.eml".into());
            let text = fs::read_to_string(dir.join(&message_name))
                .unwrap_or_else(|e| panic!("{}: {message_name}: {e}", path.display()));
            Case {
                name: path.file_stem().unwrap().to_string_lossy().into_owned(),
                script,
                message_name,
                // As SMTP hands it over: CRLF line ends.
                message: crlf(&text).into_bytes(),
                from: header.get("from").cloned().unwrap_or(DEFAULT_FROM.into()),
                to: header.get("to").cloned().unwrap_or(DEFAULT_TO.into()),
            }
        })
        .collect()
}

fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

// ---------------------------------------------------------------- tern

/// The account as the corpus has it: no mailboxes, nothing seen, the
/// scripts of `personal/`.
struct CorpusHost {
    personal: PathBuf,
}

impl Host for CorpusHost {
    fn mailbox_exists(&mut self, _name: &str) -> bool {
        false
    }

    fn special_use_exists(&mut self, _special_use: &str) -> bool {
        false
    }

    fn seen(&mut self, _id: &str) -> bool {
        false
    }

    fn personal_script(&mut self, name: &str) -> Option<String> {
        fs::read_to_string(self.personal.join(format!("{name}.sieve"))).ok()
    }
}

fn tern(filter: &Filter, case: &Case) -> Vec<String> {
    let mut host = CorpusHost {
        personal: corpus().join("personal"),
    };
    let d = Delivery {
        message: &case.message,
        sender: &case.from,
        recipient: &case.to,
        // The account is the recipient without its detail.
        user: DEFAULT_TO,
        ..Default::default()
    };
    normal_tern(&filter.run(&case.name, &case.script, &d, &mut host))
}

fn normal_tern(o: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    for f in &o.files {
        let name = match f.mailbox.as_deref() {
            None => "INBOX",
            Some(m) if m.eq_ignore_ascii_case("INBOX") => "INBOX",
            Some(m) => m,
        };
        let flags: Vec<&str> = f.flags.iter().flat_map(|f| f.split_whitespace()).collect();
        out.push(store(name, f.create, f.special_use.as_deref(), &flags));
    }
    if let Some(r) = &o.reject {
        // sieve-test prints a control character as `?`.
        let shown: String = r
            .reason
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        out.push(format!("reject {}", shown.trim()));
    }
    if o.discarded {
        out.push("discard".into());
    }
    for s in &o.sends {
        out.push(match s.kind {
            SendKind::Redirect => format!("redirect {}", s.to.join(",")),
            SendKind::Vacation => "vacation".into(),
            SendKind::Notify => format!("notify {}", s.to.join(",")),
        });
    }
    if o.error.is_some() {
        out.push("error".into());
    }
    finish(out)
}

/// The list sorted, with `discard` only where it threw the message away:
/// after `discard; keep;` Pigeonhole lists both, tern's outcome has the
/// keep alone, and both store the message.
fn finish(mut out: Vec<String>) -> Vec<String> {
    if out.iter().any(|a| a.starts_with("store ")) {
        out.retain(|a| a != "discard");
    }
    out.sort();
    out
}

/// One copy in the comparable form: flags lower-cased (RFC 5232 2: they
/// are case-insensitive), sorted, once each.
fn store(mailbox: &str, create: bool, special_use: Option<&str>, flags: &[&str]) -> String {
    let mut s = format!("store {mailbox}");
    if create {
        s.push_str(" :create");
    }
    if let Some(u) = special_use {
        s.push_str(&format!(" :specialuse {}", u.to_ascii_lowercase()));
    }
    let mut flags: Vec<String> = flags.iter().map(|f| f.to_ascii_lowercase()).collect();
    flags.sort();
    flags.dedup();
    if !flags.is_empty() {
        s.push_str(&format!(" [{}]", flags.join(" ")));
    }
    s
}

// ---------------------------------------------------------------- Pigeonhole

/// A folder for sieve-test's files, removed when dropped. When the test
/// runs as root, sieve-test drops to `nobody`: everything it reads is
/// world-readable, and the folders it writes in world-writable.
struct Work {
    dir: PathBuf,
    root: bool,
}

impl Work {
    fn new() -> Work {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let mut base = std::env::temp_dir();
        if !reachable_by_all(&base) {
            base = PathBuf::from("/tmp");
        }
        let dir = base.join(format!("tern-pigeonhole-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        open_dir(&dir);
        let probe = dir.join("owner");
        fs::write(&probe, b"").unwrap();
        let root = fs::metadata(&probe).unwrap().uid() == 0;
        let work = Work { dir, root };
        for sub in ["cases", "messages", "personal", "global", "mail"] {
            fs::create_dir_all(work.dir.join(sub)).unwrap();
            open_dir(&work.dir.join(sub));
        }
        for sub in ["personal", "global"] {
            for entry in fs::read_dir(corpus().join(sub)).unwrap() {
                let path = entry.unwrap().path();
                let text = fs::read(&path).unwrap();
                work.file(
                    &format!("{sub}/{}", path.file_name().unwrap().to_string_lossy()),
                    &text,
                );
            }
        }
        work.file("dovecot.conf", work.config().as_bytes());
        work
    }

    /// sieve-test's configuration: the mail store (folders as
    /// directories, so that `-e` can find those made here), where the
    /// included scripts are, and the extensions the corpus uses beyond
    /// the default set.
    fn config(&self) -> String {
        let d = self.dir.display();
        let user = if self.root {
            "mail_uid = nobody\nmail_gid = nogroup\n"
        } else {
            ""
        };
        format!(
            "{user}mail_location = maildir:{d}/mail:LAYOUT=fs\n\
             plugin {{\n\
             \x20 sieve = file:{d}/personal;active={d}/personal/.active.sieve\n\
             \x20 sieve_global = {d}/global\n\
             \x20 sieve_extensions = +editheader +vacation-seconds +special-use +duplicate\n\
             }}\n"
        )
    }

    fn file(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.join(rel);
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        path
    }

    /// Make mailbox `name` for an `-e` run to store into.
    fn mailbox(&self, name: &str) {
        for sub in ["cur", "new", "tmp"] {
            let mut path = self.dir.join("mail");
            for part in name.split('/').chain([sub]) {
                path.push(part);
                fs::create_dir_all(&path).unwrap();
                open_dir(&path);
            }
        }
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn open_dir(path: &Path) {
    fs::set_permissions(path, fs::Permissions::from_mode(0o777)).unwrap();
}

/// Whether every folder above `path` lets others through.
fn reachable_by_all(path: &Path) -> bool {
    path.ancestors()
        .all(|p| fs::metadata(p).is_ok_and(|m| m.mode() & 0o001 != 0))
}

/// What sieve-test printed, and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn text(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// sieve-test on `case`, `execute` with `-e`; waited for, at most
/// `TIMEOUT`.
fn sieve_test(work: &Work, case: &Case, execute: bool) -> Run {
    let script = work.file(
        &format!("cases/{}.sieve", case.name),
        case.script.as_bytes(),
    );
    let message = work.file(&format!("messages/{}.eml", case.name), &case.message);
    let tag = if execute { "e" } else { "r" };
    let out_path = work.dir.join(format!("{}.{tag}.out", case.name));
    let err_path = work.dir.join(format!("{}.{tag}.err", case.name));
    let mut cmd = Command::new(SIEVE_TEST);
    cmd.arg("-c").arg(work.dir.join("dovecot.conf"));
    if execute {
        cmd.arg("-e");
    }
    cmd.arg(&script)
        .arg(&message)
        .args(["-f", &case.from, "-a", &case.to, "-r", &case.to])
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path).unwrap())
        .stderr(fs::File::create(&err_path).unwrap());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "{SIEVE_TEST} is missing: install the Debian package dovecot-sieve (scripts/ci-deps.sh installs what the tests need)"
        ),
        Err(e) => panic!("{SIEVE_TEST}: {e}"),
    };
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{}: {SIEVE_TEST} ran longer than {TIMEOUT:?}", case.name);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        code: status.code(),
        stdout: fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: fs::read_to_string(&err_path).unwrap_or_default(),
    }
}

/// Pigeonhole's result for `case` in the comparable form, and what
/// sieve-test printed; `Err` when it did not run the script at all.
fn pigeonhole(work: &Work, case: &Case) -> Result<(Vec<String>, String), String> {
    let run = sieve_test(work, case, false);
    let mut shown = run.text();
    let mut out = match run.code {
        Some(0) => parse_result(&run.stdout),
        // A runtime error: the keep (RFC 5228 2.10.6).
        Some(1)
            if run
                .stderr
                .contains("resolved with successful implicit keep") =>
        {
            vec!["error".to_string(), "store INBOX".to_string()]
        }
        _ => return Err(format!("sieve-test did not run the script:\n{shown}")),
    };
    if out.iter().any(|a| a == "vacation") {
        for a in &out {
            if let Some(name) = a.strip_prefix("store ") {
                let name = name.split(" :").next().unwrap_or(name);
                work.mailbox(name.split(" [").next().unwrap_or(name));
            }
        }
        let executed = sieve_test(work, case, true);
        shown.push_str(&format!("--- with -e\n{}", executed.text()));
        let all = format!("{}{}", executed.stdout, executed.stderr);
        if !all.contains("sent vacation response") {
            out.retain(|a| a != "vacation");
        }
    }
    Ok((finish(out), shown))
}

/// The actions of sieve-test's "Performed actions" and "Implicit keep"
/// sections.
fn parse_result(stdout: &str) -> Vec<String> {
    struct Action {
        text: String,
        details: Vec<String>,
    }
    let mut actions: Vec<Action> = Vec::new();
    let mut in_message = false;
    for line in stdout.lines() {
        match line.trim() {
            "START MESSAGE" => in_message = true,
            "END MESSAGE" => in_message = false,
            _ if in_message => {}
            l if line.starts_with(" * ") => actions.push(Action {
                text: l[2..].to_string(),
                details: Vec::new(),
            }),
            l if l.starts_with("+ ") || l.starts_with("=> ") => {
                if let Some(a) = actions.last_mut() {
                    a.details.push(l.to_string());
                }
            }
            _ => {}
        }
    }
    actions
        .iter()
        .filter_map(|a| action(&a.text, &a.details))
        .collect()
}

fn action(text: &str, details: &[String]) -> Option<String> {
    if let Some(mailbox) = text.strip_prefix("store message in folder: ") {
        let mailbox = if mailbox.eq_ignore_ascii_case("INBOX") {
            "INBOX"
        } else {
            mailbox
        };
        let mut flags: Vec<&str> = Vec::new();
        let mut create = false;
        let mut special_use = None;
        for d in details {
            if let Some(f) = d.strip_prefix("+ add IMAP flags: ") {
                flags.extend(f.split_whitespace());
            } else if d.starts_with("+ create mailbox") {
                create = true;
            } else if let Some(rest) = d.strip_prefix("+ use mailbox with special-use flag `") {
                special_use = rest.split('\'').next();
            }
        }
        return Some(store(mailbox, create, special_use, &flags));
    }
    if let Some(addr) = text.strip_prefix("redirect message to: ") {
        return Some(format!("redirect {}", addr.trim_matches(['<', '>'])));
    }
    if let Some(reason) = text.strip_prefix("reject message with reason: ") {
        return Some(format!("reject {}", reason.trim()));
    }
    if text.starts_with("send vacation message") {
        return Some("vacation".into());
    }
    if text.starts_with("send notification with method 'mailto:'") {
        let to: Vec<&str> = details
            .iter()
            .filter_map(|d| d.strip_prefix("+ To: "))
            .collect();
        return Some(format!("notify {}", to.join(",")));
    }
    match text {
        "discard" => Some("discard".into()),
        // The duplicate id, recorded at delivery: not an action on the
        // message.
        "track duplicate" => None,
        other => Some(format!("unknown action: {other}")),
    }
}

// ---------------------------------------------------------------- the test

#[test]
fn tern_decides_as_pigeonhole_does() {
    let cases = cases();
    assert!(cases.len() >= 30, "the corpus has {} cases", cases.len());
    let work = Work::new();
    let filter = Filter::new(Settings {
        global_dir: Some(corpus().join("global")),
        ..Settings::default()
    });
    let mut mismatches: BTreeMap<String, String> = BTreeMap::new();
    for case in &cases {
        let ours = tern(&filter, case);
        let (theirs, shown) = match pigeonhole(&work, case) {
            Ok(r) => r,
            Err(why) => {
                mismatches.insert(case.name.clone(), format!("=== {}\n{why}", case.name));
                continue;
            }
        };
        if ours != theirs {
            mismatches.insert(
                case.name.clone(),
                format!(
                    "=== {}\n--- script\n{}--- message {}\n{}\n--- tern\n{ours:#?}\n--- pigeonhole\n{theirs:#?}\n{shown}",
                    case.name,
                    case.script,
                    case.message_name,
                    String::from_utf8_lossy(&case.message),
                ),
            );
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.into_values().collect::<Vec<_>>().join("\n")
    );
}
