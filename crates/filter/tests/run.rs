//! `Filter::run` as a specification: each test runs one script against one
//! message with a fake `Host` (mailboxes in memory, a set of seen ids, a
//! map of personal scripts) and says what the `Outcome` must be — the
//! actions of RFC 5228 4 and its extensions (fileinto with RFC 5490
//! `:create` and RFC 5232 flags, RFC 5429 reject, RFC 3894 `:copy`,
//! RFC 5230 vacation, RFC 5293 editheader, RFC 7352 duplicate, RFC 6609
//! include, RFC 5435 enotify, RFC 5233 subaddress, RFC 5235 spamtest), and
//! RFC 5228 2.10.6: a runtime error or a limit leaves only the keep.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use tern_filter::{Delivery, FileInto, Filter, Host, Outcome, SendKind, Settings};

/// The account as a script sees it.
#[derive(Default)]
struct FakeHost {
    mailboxes: HashSet<String>,
    special_uses: HashSet<String>,
    seen: HashSet<String>,
    scripts: HashMap<String, String>,
    /// Every id the run asked about, in order.
    asked: Vec<String>,
}

impl Host for FakeHost {
    fn mailbox_exists(&mut self, name: &str) -> bool {
        self.mailboxes.contains(name)
    }

    fn special_use_exists(&mut self, special_use: &str) -> bool {
        self.special_uses.contains(special_use)
    }

    fn seen(&mut self, id: &str) -> bool {
        self.asked.push(id.to_string());
        self.seen.contains(id)
    }

    fn personal_script(&mut self, name: &str) -> Option<String> {
        self.scripts.get(name).cloned()
    }
}

const SENDER: &str = "alice@b.example";
const USER: &str = "bob@x.example";

/// A plain message to `bob@x.example` with `extra` header lines (each
/// ending in CRLF) after the usual ones.
fn message(extra: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@b.example>\r\n\
         To: Bob <bob@x.example>\r\n\
         Subject: Lunch on Friday\r\n\
         Date: Tue, 01 Apr 2025 10:00:00 +0200\r\n\
         Message-ID: <lunch-1@b.example>\r\n\
         {extra}\r\n\
         Shall we meet at noon?\r\n"
    )
    .into_bytes()
}

/// `script` run for the usual delivery of `msg` with `host`.
fn run_with(
    filter: &Filter,
    script: &str,
    msg: &[u8],
    sender: &str,
    host: &mut FakeHost,
) -> Outcome {
    run_to(filter, script, msg, sender, USER, host)
}

fn run_to(
    filter: &Filter,
    script: &str,
    msg: &[u8],
    sender: &str,
    recipient: &str,
    host: &mut FakeHost,
) -> Outcome {
    let d = Delivery {
        message: msg,
        sender,
        recipient,
        user: USER,
        ..Default::default()
    };
    filter.run("main", script, &d, host)
}

/// `script` on the plain message, the default settings, an empty account.
/// `script` with the default settings, on a plain message, for `host`.
fn run_on(script: &str, host: &mut FakeHost) -> Outcome {
    run_with(
        &Filter::new(Settings::default()),
        script,
        &message(""),
        SENDER,
        host,
    )
}

fn run(script: &str) -> Outcome {
    run_with(
        &Filter::new(Settings::default()),
        script,
        &message(""),
        SENDER,
        &mut FakeHost::default(),
    )
}

fn keep(flags: &[&str]) -> FileInto {
    file(None, flags)
}

fn file(mailbox: Option<&str>, flags: &[&str]) -> FileInto {
    FileInto {
        mailbox: mailbox.map(str::to_string),
        special_use: None,
        create: false,
        flags: flags.iter().map(|f| f.to_string()).collect(),
        message: 0,
    }
}

/// The outcome holds the keep alone, nothing sent, no error.
fn assert_only_keep(o: &Outcome) {
    assert_eq!(o.files, [keep(&[])], "{o:#?}");
    assert!(
        o.sends.is_empty() && o.reject.is_none() && !o.discarded,
        "{o:#?}"
    );
    assert!(o.error.is_none(), "{o:#?}");
}

/// Flags compared without regard to case or order (RFC 5232 2: flag
/// names are case-insensitive).
fn flags_of(f: &FileInto) -> Vec<String> {
    let mut v: Vec<String> = f.flags.iter().map(|f| f.to_ascii_lowercase()).collect();
    v.sort();
    v
}

fn header_of(o: &Outcome, id: usize) -> String {
    let bytes = o
        .messages
        .get(&id)
        .unwrap_or_else(|| panic!("message {id} in {o:#?}"));
    let text = String::from_utf8_lossy(bytes);
    let end = text.find("\r\n\r\n").unwrap_or(text.len());
    text[..end].to_string()
}

/// A temporary folder of global scripts, removed when dropped.
struct GlobalDir(PathBuf);

impl GlobalDir {
    fn new(scripts: &[(&str, &str)]) -> GlobalDir {
        // Tests run in parallel: a number of this process's own apart.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("tern-filter-global-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in scripts {
            std::fs::write(dir.join(format!("{name}.sieve")), text).unwrap();
        }
        GlobalDir(dir)
    }
}

impl Drop for GlobalDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------- keep

#[test]
fn a_script_that_does_nothing_keeps_the_message() {
    // RFC 5228 2.10.2: the implicit keep.
    assert_only_keep(&run("# nothing to do\r\n"));
    assert_only_keep(&run("if false { discard; }\r\n"));
}

#[test]
fn an_explicit_keep_is_one_copy_in_inbox() {
    let o = run("keep;\r\nkeep;\r\n");
    assert_only_keep(&o);
}

#[test]
fn stop_ends_the_script_with_the_implicit_keep() {
    let o = run("require \"fileinto\";\r\nstop;\r\nfileinto \"Never\";\r\n");
    assert_only_keep(&o);
}

// ---------------------------------------------------------------- fileinto

#[test]
fn fileinto_create_names_the_mailbox_to_make_and_cancels_the_keep() {
    let o = run("require [\"fileinto\", \"mailbox\"];\r\nfileinto :create \"Lists/rust\";\r\n");
    assert_eq!(
        o.files,
        [FileInto {
            create: true,
            ..file(Some("Lists/rust"), &[])
        }],
        "{o:#?}"
    );
    assert!(o.error.is_none(), "{o:#?}");
}

#[test]
fn mailboxexists_sees_the_account_and_what_create_will_make() {
    // RFC 5490 3.1 and 3.2.
    let script = "require [\"fileinto\", \"mailbox\"];\r\n\
                  if mailboxexists \"Archive\" { fileinto \"Archive\"; }\r\n\
                  fileinto :create \"New\";\r\n\
                  if mailboxexists \"New\" { fileinto \"Seen-New\"; }\r\n\
                  if mailboxexists \"Missing\" { fileinto \"Wrong\"; }\r\n";
    let mut host = FakeHost::default();
    host.mailboxes.insert("Archive".into());
    let o = run_on(script, &mut host);
    let names: Vec<_> = o.files.iter().map(|f| f.mailbox.as_deref()).collect();
    assert_eq!(
        names,
        [Some("Archive"), Some("New"), Some("Seen-New")],
        "{o:#?}"
    );
}

#[test]
fn imap4flags_set_the_flags_of_each_copy() {
    // RFC 5232 3: addflag/setflag change the internal variable the later
    // actions use; `:flags` replaces it for one action.
    let script = "require [\"fileinto\", \"mailbox\", \"imap4flags\"];\r\n\
                  addflag \"\\\\Seen\";\r\n\
                  fileinto :create \"Lists\";\r\n\
                  setflag \"\\\\Flagged\";\r\n\
                  addflag [\"$Work\", \"\\\\Answered\"];\r\n\
                  fileinto \"Work\";\r\n\
                  fileinto :flags \"\\\\Deleted\" \"Trash\";\r\n";
    let o = run(script);
    assert!(o.error.is_none(), "{o:#?}");
    let by_box: HashMap<Option<&str>, Vec<String>> = o
        .files
        .iter()
        .map(|f| (f.mailbox.as_deref(), flags_of(f)))
        .collect();
    assert_eq!(by_box[&Some("Lists")], ["\\seen"], "{o:#?}");
    assert_eq!(
        by_box[&Some("Work")],
        ["$work", "\\answered", "\\flagged"],
        "{o:#?}"
    );
    assert_eq!(by_box[&Some("Trash")], ["\\deleted"], "{o:#?}");
    assert!(
        o.files
            .iter()
            .find(|f| f.mailbox == Some("Lists".into()))
            .is_some_and(|f| f.create)
    );
    assert_eq!(o.files.len(), 3, "{o:#?}");
}

#[test]
fn the_implicit_keep_carries_the_flags_set() {
    // RFC 5232 3: the implicit keep uses the internal flags variable too.
    let o = run("require \"imap4flags\";\r\naddflag \"\\\\Flagged\";\r\n");
    assert_eq!(o.files.len(), 1, "{o:#?}");
    assert_eq!(o.files[0].mailbox, None, "{o:#?}");
    assert_eq!(flags_of(&o.files[0]), ["\\flagged"], "{o:#?}");
}

#[test]
fn fileinto_the_same_mailbox_twice_stores_one_copy() {
    // RFC 5228 4.1: a message filed twice into one mailbox is stored once,
    // with the flags of both actions (RFC 5232 5).
    let script = "require [\"fileinto\", \"imap4flags\"];\r\n\
                  fileinto \"Friends\";\r\n\
                  fileinto :flags \"\\\\Seen\" \"Friends\";\r\n";
    let o = run(script);
    assert_eq!(o.files.len(), 1, "{o:#?}");
    assert_eq!(o.files[0].mailbox.as_deref(), Some("Friends"));
    assert_eq!(flags_of(&o.files[0]), ["\\seen"], "{o:#?}");
}

#[test]
fn fileinto_specialuse_names_the_use_and_the_fallback() {
    // RFC 8579 4: the mailbox with that use, else the one named.
    let script = "require [\"fileinto\", \"special-use\"];\r\n\
                  fileinto :specialuse \"\\\\Junk\" \"Spam\";\r\n";
    let o = run(script);
    assert_eq!(o.files.len(), 1, "{o:#?}");
    assert_eq!(o.files[0].mailbox.as_deref(), Some("Spam"));
    assert_eq!(o.files[0].special_use.as_deref(), Some("\\Junk"));
}

#[test]
fn specialuse_exists_asks_the_host() {
    let script = "require [\"fileinto\", \"special-use\"];\r\n\
                  if specialuse_exists \"\\\\Junk\" { fileinto \"HasJunk\"; }\r\n\
                  if specialuse_exists \"\\\\Archive\" { fileinto \"HasArchive\"; }\r\n";
    let mut host = FakeHost::default();
    host.special_uses.insert("\\Junk".into());
    let o = run_on(script, &mut host);
    let names: Vec<_> = o.files.iter().map(|f| f.mailbox.as_deref()).collect();
    assert_eq!(names, [Some("HasJunk")], "{o:#?}");
}

// ---------------------------------------------------------------- discard, reject

#[test]
fn discard_stores_nothing() {
    let o = run("discard;\r\n");
    assert!(o.files.is_empty(), "{o:#?}");
    assert!(
        o.discarded && o.error.is_none() && o.sends.is_empty(),
        "{o:#?}"
    );
}

#[test]
fn an_explicit_keep_stays_whatever_follows_it() {
    // RFC 5228 4.3/4.5: an explicit `keep` is an action of its own that a
    // later `discard`, `fileinto` or `redirect` does not cancel (they
    // cancel the implicit keep only). Upstream sieve-rs 0.7.3 lost it; the
    // vendored copy sends it when it runs (vendor/README.md).
    for script in [
        "keep;\r\ndiscard;\r\n",
        "require \"fileinto\";\r\nkeep;\r\nfileinto \"A\";\r\n",
        "keep;\r\nredirect \"carol@c.example\";\r\n",
    ] {
        let o = run(script);
        assert!(o.files.contains(&keep(&[])), "{script}: {o:#?}");
    }
    let o = run("keep;\r\nredirect \"carol@c.example\";\r\n");
    assert_eq!(o.sends.len(), 1, "{o:#?}");
    let o = run("require \"fileinto\";\r\nkeep;\r\nfileinto \"A\";\r\n");
    assert_eq!(o.files, [keep(&[]), file(Some("A"), &[])], "{o:#?}");
    // After the other action, the keep stays too.
    let o = run("require \"fileinto\";\r\nfileinto \"A\";\r\nkeep;\r\n");
    assert_eq!(o.files, [file(Some("A"), &[]), keep(&[])], "{o:#?}");
}

#[test]
fn reject_refuses_with_its_reason_and_keeps_nothing() {
    let o = run("require \"reject\";\r\nreject \"I do not eat lunch\";\r\n");
    let r = o.reject.as_ref().unwrap_or_else(|| panic!("{o:#?}"));
    assert_eq!(r.reason, "I do not eat lunch");
    assert!(!r.extended);
    assert!(
        o.files.is_empty() && !o.discarded && o.error.is_none(),
        "{o:#?}"
    );
}

#[test]
fn reject_with_keep_or_fileinto_fails_the_script_and_keeps() {
    // RFC 5429 2.1, and what Pigeonhole does.
    for script in [
        "require [\"reject\", \"fileinto\"];\r\nfileinto \"A\";\r\nreject \"no\";\r\n",
        "require \"reject\";\r\nkeep;\r\nreject \"no\";\r\n",
    ] {
        let o = run(script);
        assert!(o.reject.is_none() && o.error.is_some(), "{script}: {o:#?}");
        assert_eq!(o.files, [keep(&[])], "{script}: {o:#?}");
    }
}

#[test]
fn ereject_refuses_in_the_protocol() {
    let o = run("require \"ereject\";\r\nereject \"no thanks\";\r\n");
    let r = o.reject.as_ref().unwrap_or_else(|| panic!("{o:#?}"));
    assert_eq!(r.reason, "no thanks");
    assert!(r.extended);
    assert!(o.files.is_empty() && o.error.is_none(), "{o:#?}");
}

// ---------------------------------------------------------------- redirect

#[test]
fn redirect_sends_the_message_on_instead_of_keeping_it() {
    let o = run("redirect \"carol@c.example\";\r\n");
    assert!(o.files.is_empty(), "{o:#?}");
    assert_eq!(o.sends.len(), 1, "{o:#?}");
    let s = &o.sends[0];
    assert_eq!(
        (s.to.as_slice(), s.kind, s.message),
        (&["carol@c.example".to_string()][..], SendKind::Redirect, 0)
    );
}

#[test]
fn redirect_copy_keeps_the_message_too() {
    // RFC 3894 3: `:copy` does not cancel the implicit keep.
    let o = run("require \"copy\";\r\nredirect :copy \"carol@c.example\";\r\n");
    assert_eq!(o.files, [keep(&[])], "{o:#?}");
    assert_eq!(o.sends.len(), 1, "{o:#?}");
    assert_eq!(o.sends[0].kind, SendKind::Redirect);
}

#[test]
fn redirect_twice_to_one_address_sends_once() {
    // RFC 5228 4.2: duplicate redirects are sent once.
    let o = run("redirect \"carol@c.example\";\r\nredirect \"carol@c.example\";\r\n");
    assert_eq!(o.sends.len(), 1, "{o:#?}");
}

#[test]
fn a_redirect_past_the_limit_fails_the_script_and_keeps() {
    // RFC 5228 2.10.6 and the issue's rule: a resource limit keeps the
    // message, as Pigeonhole does; the redirects before it are not sent.
    let filter = Filter::new(Settings {
        max_redirects: 1,
        ..Settings::default()
    });
    let script = "redirect \"a@c.example\";\r\nredirect \"b@c.example\";\r\n";
    let o = run_with(
        &filter,
        script,
        &message(""),
        SENDER,
        &mut FakeHost::default(),
    );
    assert!(o.sends.is_empty(), "{o:#?}");
    assert_eq!(o.files, [keep(&[])], "{o:#?}");
    let e = o.error.as_ref().unwrap_or_else(|| panic!("{o:#?}"));
    assert!(e.message.contains("redirect"), "{e:?}");
}

#[test]
fn a_looping_message_is_neither_redirected_nor_answered() {
    // RFC 5228 4.2 and RFC 5230 4.6: past `max_hops` Received fields.
    let filter = Filter::new(Settings {
        max_hops: 2,
        ..Settings::default()
    });
    let hops = "Received: from a by b; Tue, 01 Apr 2025 10:00:00 +0200\r\n".repeat(3);
    let msg = message(&hops);
    for script in ["redirect \"carol@c.example\";\r\n", VACATION] {
        let o = run_with(&filter, script, &msg, SENDER, &mut FakeHost::default());
        assert!(o.sends.is_empty(), "{script}: {o:#?}");
    }
}

// ---------------------------------------------------------------- vacation

const VACATION: &str = "require \"vacation\";\r\nvacation :days 3 \"I am away until Monday.\";\r\n";

#[test]
fn vacation_replies_to_the_envelope_sender_and_remembers_it() {
    let mut host = FakeHost::default();
    let o = run_on(VACATION, &mut host);
    assert!(o.error.is_none(), "{o:#?}");
    // RFC 5230 4.6: vacation does not cancel the keep.
    assert_eq!(o.files, [keep(&[])], "{o:#?}");
    assert_eq!(o.sends.len(), 1, "{o:#?}");
    let s = &o.sends[0];
    assert_eq!(s.kind, SendKind::Vacation);
    assert_eq!(s.to, [SENDER]);
    assert_ne!(s.message, 0, "the reply is a message of its own");
    let reply = header_of(&o, s.message);
    // RFC 5230 5.1 (RFC 3834 5): the reply is marked.
    assert!(reply.contains("Auto-Submitted: auto-replied"), "{reply}");
    assert!(reply.contains("alice@b.example"), "{reply}");
    // RFC 5230 4.1: the sender is remembered for `:days`, and only the
    // reply's id is marked as vacation's.
    let ids: Vec<_> = o.remember.iter().filter(|r| r.vacation).collect();
    assert_eq!(ids.len(), 1, "{o:#?}");
    assert!(ids[0].id.starts_with("_v"), "{o:#?}");
    assert_eq!(ids[0].expiry_secs, 3 * 86_400);
    assert_eq!(host.asked, [ids[0].id.clone()], "the host was asked first");
}

#[test]
fn vacation_is_not_sent_twice_within_its_window() {
    let filter = Filter::new(Settings::default());
    let mut host = FakeHost::default();
    let first = run_with(&filter, VACATION, &message(""), SENDER, &mut host);
    let id = first.remember[0].id.clone();
    host.seen.insert(id);
    let again = run_with(&filter, VACATION, &message(""), SENDER, &mut host);
    assert_only_keep(&again);
    assert!(again.remember.is_empty(), "{again:#?}");
}

#[test]
fn vacation_never_answers_the_null_sender() {
    // RFC 5230 4.6 / RFC 3834 2: bounces are not answered.
    let o = run_with(
        &Filter::new(Settings::default()),
        VACATION,
        &message(""),
        "",
        &mut FakeHost::default(),
    );
    assert_only_keep(&o);
    assert!(o.remember.is_empty(), "{o:#?}");
}

#[test]
fn vacation_never_answers_lists_bulk_or_automatic_mail() {
    // RFC 5230 4.6 and RFC 3834 2: one case per marker.
    for extra in [
        "List-Id: <lunch.b.example>\r\n",
        "Precedence: bulk\r\n",
        "Auto-Submitted: auto-generated\r\n",
    ] {
        let o = run_with(
            &Filter::new(Settings::default()),
            VACATION,
            &message(extra),
            SENDER,
            &mut FakeHost::default(),
        );
        assert_only_keep(&o);
        assert!(o.remember.is_empty(), "{extra}: {o:#?}");
    }
}

#[test]
fn vacation_answers_only_mail_addressed_to_the_user() {
    // RFC 5230 4.5: the user's address must be in To or Cc.
    let msg = String::from_utf8(message(""))
        .unwrap()
        .replace("To: Bob <bob@x.example>", "To: someone@list.example");
    let o = run_with(
        &Filter::new(Settings::default()),
        VACATION,
        msg.as_bytes(),
        SENDER,
        &mut FakeHost::default(),
    );
    assert_only_keep(&o);
}

// ---------------------------------------------------------------- editheader

#[test]
fn editheader_files_a_changed_copy() {
    let script = "require [\"editheader\", \"fileinto\"];\r\n\
                  addheader \"X-Sorted\" \"by tern\";\r\n\
                  deleteheader \"Subject\";\r\n\
                  fileinto \"Sorted\";\r\n";
    let msg = message("");
    let o = run_with(
        &Filter::new(Settings::default()),
        script,
        &msg,
        SENDER,
        &mut FakeHost::default(),
    );
    assert!(o.error.is_none(), "{o:#?}");
    assert_eq!(o.files.len(), 1, "{o:#?}");
    let f = &o.files[0];
    assert_eq!(f.mailbox.as_deref(), Some("Sorted"));
    assert_ne!(f.message, 0, "the copy is the changed version: {o:#?}");
    let header = header_of(&o, f.message);
    assert!(header.contains("X-Sorted: by tern"), "{header}");
    assert!(
        !header.to_ascii_lowercase().contains("subject:"),
        "{header}"
    );
    // `Outcome::message` hands out the version a copy names.
    assert_eq!(
        o.message(f.message, &msg),
        o.messages[&f.message].as_slice()
    );
    assert_eq!(o.message(0, &msg), msg.as_slice());
}

#[test]
fn the_keep_after_editheader_is_the_changed_message() {
    let o = run("require \"editheader\";\r\naddheader :last \"X-Seen-By\" \"tern\";\r\n");
    assert_eq!(o.files.len(), 1, "{o:#?}");
    assert_eq!(o.files[0].mailbox, None);
    let header = header_of(&o, o.files[0].message);
    assert!(header.trim_end().ends_with("X-Seen-By: tern"), "{header}");
}

#[test]
fn editheader_leaves_received_fields_alone() {
    // RFC 5293 6: the trace is protected.
    let msg = message("Received: from a by b; Tue, 01 Apr 2025 10:00:00 +0200\r\n");
    let script = "require [\"editheader\", \"fileinto\"];\r\ndeleteheader \"Received\";\r\nfileinto \"X\";\r\n";
    let o = run_with(
        &Filter::new(Settings::default()),
        script,
        &msg,
        SENDER,
        &mut FakeHost::default(),
    );
    let stored = String::from_utf8_lossy(o.message(o.files[0].message, &msg)).into_owned();
    assert!(stored.contains("Received: from a by b"), "{stored}");
}

// ---------------------------------------------------------------- duplicate

#[test]
fn duplicate_answers_from_what_the_host_has_seen() {
    // RFC 7352 3: the Message-ID is the default unique id.
    let script = "require [\"duplicate\", \"fileinto\"];\r\n\
                  if duplicate { fileinto \"Dups\"; }\r\n";
    let filter = Filter::new(Settings::default());
    let mut host = FakeHost::default();
    let first = run_with(&filter, script, &message(""), SENDER, &mut host);
    assert_eq!(first.files, [keep(&[])], "{first:#?}");
    assert_eq!(first.remember.len(), 1, "{first:#?}");
    assert!(!first.remember[0].vacation);
    // Delivery records the id once the message is stored.
    host.seen.insert(first.remember[0].id.clone());
    let second = run_with(&filter, script, &message(""), SENDER, &mut host);
    assert_eq!(second.files, [file(Some("Dups"), &[])], "{second:#?}");
    assert!(
        second.remember.is_empty(),
        "seen, and no :last: {second:#?}"
    );
}

#[test]
fn duplicate_last_records_the_id_again() {
    let script =
        "require \"duplicate\";\r\nif duplicate :last :uniqueid \"k\" :seconds 60 { discard; }\r\n";
    let mut host = FakeHost::default();
    host.seen.insert("k".into());
    let o = run_on(script, &mut host);
    assert!(o.discarded, "{o:#?}");
    assert_eq!(o.remember.len(), 1, "{o:#?}");
    assert!(o.remember[0].refresh, "{o:#?}");
    assert_eq!(o.remember[0].expiry_secs, 60);
}

// ---------------------------------------------------------------- include

#[test]
fn include_personal_runs_the_accounts_script() {
    let mut host = FakeHost::default();
    host.scripts.insert(
        "lists".into(),
        "require \"fileinto\";\r\nfileinto \"From-Lists\";\r\n".into(),
    );
    let script = "require \"include\";\r\ninclude :personal \"lists\";\r\n";
    let o = run_on(script, &mut host);
    assert!(o.error.is_none(), "{o:#?}");
    assert_eq!(o.files, [file(Some("From-Lists"), &[])], "{o:#?}");
}

#[test]
fn include_global_reads_the_global_folder() {
    let dir = GlobalDir::new(&[("spam", "require \"fileinto\";\r\nfileinto \"Junk\";\r\n")]);
    let filter = Filter::new(Settings {
        global_dir: Some(dir.0.clone()),
        ..Settings::default()
    });
    let script = "require \"include\";\r\ninclude :global \"spam\";\r\n";
    let o = run_with(
        &filter,
        script,
        &message(""),
        SENDER,
        &mut FakeHost::default(),
    );
    assert!(o.error.is_none(), "{o:#?}");
    assert_eq!(o.files, [file(Some("Junk"), &[])], "{o:#?}");
}

#[test]
fn a_missing_include_is_an_error_and_the_keep() {
    // RFC 6609 3.2.
    let dir = GlobalDir::new(&[]);
    let filter = Filter::new(Settings {
        global_dir: Some(dir.0.clone()),
        ..Settings::default()
    });
    for script in [
        "require [\"include\", \"fileinto\"];\r\nfileinto \"Before\";\r\ninclude :personal \"nope\";\r\n",
        "require [\"include\", \"fileinto\"];\r\nfileinto \"Before\";\r\ninclude :global \"nope\";\r\n",
    ] {
        let o = run_with(
            &filter,
            script,
            &message(""),
            SENDER,
            &mut FakeHost::default(),
        );
        assert_eq!(o.files, [keep(&[])], "{script}: {o:#?}");
        let e = o
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("{script}: {o:#?}"));
        assert!(e.message.contains("nope"), "{e:?}");
        assert_eq!(e.script, "main");
    }
}

#[test]
fn a_missing_optional_include_is_skipped() {
    let script = "require [\"include\", \"fileinto\"];\r\n\
                  include :personal :optional \"nope\";\r\n\
                  fileinto \"After\";\r\n";
    let o = run(script);
    assert!(o.error.is_none(), "{o:#?}");
    assert_eq!(o.files, [file(Some("After"), &[])], "{o:#?}");
}

#[test]
fn a_global_name_cannot_leave_the_global_folder() {
    let dir = GlobalDir::new(&[]);
    let filter = Filter::new(Settings {
        global_dir: Some(dir.0.join("inner")),
        ..Settings::default()
    });
    std::fs::create_dir_all(dir.0.join("inner")).unwrap();
    std::fs::write(dir.0.join("outside.sieve"), "discard;\r\n").unwrap();
    // sieve-rs may refuse the name itself; either way nothing outside runs.
    let script = "require \"include\";\r\ninclude :global \"../outside\";\r\n";
    let o = run_with(
        &filter,
        script,
        &message(""),
        SENDER,
        &mut FakeHost::default(),
    );
    assert!(!o.discarded, "{o:#?}");
    assert_eq!(o.files, [keep(&[])], "{o:#?}");
}

// ---------------------------------------------------------------- errors and limits

#[test]
fn the_error_command_fails_the_script_at_its_line() {
    // RFC 5463 5: `error` is a runtime error; RFC 5228 2.10.6: the
    // actions taken before it are cancelled.
    let script = "require [\"ihave\", \"fileinto\"];\r\n\
                  fileinto \"Before\";\r\n\
                  if true {\r\n\
                  \x20 error \"out of lunch\";\r\n\
                  }\r\n";
    let o = run(script);
    assert_eq!(o.files, [keep(&[])], "{o:#?}");
    let e = o.error.as_ref().unwrap_or_else(|| panic!("{o:#?}"));
    assert_eq!(e.line, Some(4), "{e:?}");
    assert!(e.message.contains("out of lunch"), "{e:?}");
    assert_eq!(e.to_string(), "script \"main\" line 4: error: out of lunch");
}

#[test]
fn a_script_over_the_instruction_limit_is_an_error_and_the_keep() {
    let filter = Filter::new(Settings {
        max_instructions: 50,
        ..Settings::default()
    });
    let mut script = String::from("require \"fileinto\";\r\nfileinto \"Before\";\r\n");
    for i in 0..200 {
        script.push_str(&format!(
            "if header :contains \"subject\" \"word{i}\" {{ fileinto \"F{i}\"; }}\r\n"
        ));
    }
    let o = run_with(
        &filter,
        &script,
        &message(""),
        SENDER,
        &mut FakeHost::default(),
    );
    assert_eq!(o.files, [keep(&[])], "{o:#?}");
    let e = o.error.as_ref().unwrap_or_else(|| panic!("{o:#?}"));
    assert!(e.message.contains("too long"), "{e:?}");
    // The same script within the default limit runs to the end.
    let o = run(&script);
    assert!(o.error.is_none(), "{o:#?}");
    assert_eq!(o.files, [file(Some("Before"), &[])], "{o:#?}");
}

#[test]
fn a_loop_over_parts_is_bounded_by_the_instruction_limit() {
    let filter = Filter::new(Settings {
        max_instructions: 30,
        ..Settings::default()
    });
    let mut body = String::from(
        "From: a@b.example\r\nTo: bob@x.example\r\nSubject: parts\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n",
    );
    for i in 0..50 {
        body.push_str(&format!(
            "--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"
        ));
    }
    body.push_str("--b--\r\n");
    let script = "require [\"foreverypart\", \"mime\", \"fileinto\", \"variables\"];\r\n\
                  foreverypart {\r\n\
                  \x20 if header :mime :contains \"Content-Type\" \"image\" { fileinto \"Images\"; }\r\n\
                  \x20 if header :mime :contains \"Content-Type\" \"audio\" { fileinto \"Audio\"; }\r\n\
                  }\r\n";
    let o = run_with(
        &filter,
        script,
        body.as_bytes(),
        SENDER,
        &mut FakeHost::default(),
    );
    assert_eq!(o.files, [keep(&[])], "{o:#?}");
    let e = o.error.as_ref().unwrap_or_else(|| panic!("{o:#?}"));
    assert!(e.message.contains("too long"), "{e:?}");
}

#[test]
fn a_script_that_does_not_compile_is_an_error_and_the_keep() {
    let o = run("fileinto \"x\";\r\n");
    assert_eq!(o.files, [keep(&[])], "{o:#?}");
    assert!(o.error.is_some(), "{o:#?}");
}

// ---------------------------------------------------------------- notify, envelope, spamtest

#[test]
fn notify_by_mail_is_a_send_of_its_own_kind() {
    // RFC 5436: the mailto method.
    let script =
        "require \"enotify\";\r\nnotify :message \"Lunch mail\" \"mailto:pager@y.example\";\r\n";
    let o = run(script);
    assert!(o.error.is_none(), "{o:#?}");
    assert_eq!(o.files, [keep(&[])], "notify keeps: {o:#?}");
    assert_eq!(o.sends.len(), 1, "{o:#?}");
    let s = &o.sends[0];
    assert_eq!(s.kind, SendKind::Notify);
    assert_eq!(s.to, ["pager@y.example"]);
    assert!(o.messages.contains_key(&s.message), "{o:#?}");
}

#[test]
fn envelope_detail_sees_the_recipients_subaddress() {
    // RFC 5233 4: `:detail` of `bob+lists@x.example` is `lists`.
    let script = "require [\"envelope\", \"subaddress\", \"fileinto\"];\r\n\
                  if envelope :detail \"to\" \"lists\" { fileinto \"Lists\"; }\r\n";
    let filter = Filter::new(Settings::default());
    let o = run_to(
        &filter,
        script,
        &message(""),
        SENDER,
        "bob+lists@x.example",
        &mut FakeHost::default(),
    );
    assert_eq!(o.files, [file(Some("Lists"), &[])], "{o:#?}");
    let o = run_to(
        &filter,
        script,
        &message(""),
        SENDER,
        "bob@x.example",
        &mut FakeHost::default(),
    );
    assert_eq!(o.files, [keep(&[])], "{o:#?}");
    let user = "require [\"envelope\", \"subaddress\", \"fileinto\"];\r\n\
                if envelope :user \"to\" \"bob\" { fileinto \"Bob\"; }\r\n";
    let o = run_to(
        &filter,
        user,
        &message(""),
        SENDER,
        "bob+lists@x.example",
        &mut FakeHost::default(),
    );
    assert_eq!(o.files, [file(Some("Bob"), &[])], "{o:#?}");
}

#[test]
fn spamtest_runs_with_the_status_unknown() {
    // RFC 5235 3.2: without a verdict the value is 0, "not tested".
    let script = "require [\"spamtest\", \"relational\", \"comparator-i;ascii-numeric\", \"fileinto\"];\r\n\
                  if spamtest :value \"ge\" :comparator \"i;ascii-numeric\" \"1\" { fileinto \"Spam\"; }\r\n\
                  if spamtest :value \"eq\" :comparator \"i;ascii-numeric\" \"0\" { fileinto \"Untested\"; }\r\n";
    let o = run(script);
    assert!(o.error.is_none(), "{o:#?}");
    assert_eq!(o.files, [file(Some("Untested"), &[])], "{o:#?}");
}

/// RFC 5235 `spamtest`: the spam figure tern hands in (the classifier's
/// probability, or rspamd's score over its threshold) on the 1..10 scale;
/// 0 when no test judged the message.
#[test]
fn spamtest_sees_the_spam_figure() {
    let script = r#"require ["spamtest", "relational", "comparator-i;ascii-numeric", "fileinto"];
if spamtest :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "Untested"; stop; }
if spamtest :value "ge" :comparator "i;ascii-numeric" "9" { fileinto "Spam"; stop; }
if spamtest :value "le" :comparator "i;ascii-numeric" "1" { fileinto "Clean"; stop; }
fileinto "Unsure";
"#;
    let filter = Filter::new(Settings::default());
    let msg = message("");
    let mut host = FakeHost::default();
    for (spam, want) in [
        (None, "Untested"),
        (Some(0.99), "Spam"),
        (Some(0.01), "Clean"),
        (Some(0.5), "Unsure"),
    ] {
        let d = Delivery {
            message: &msg,
            sender: SENDER,
            recipient: USER,
            user: USER,
            spam,
            ..Default::default()
        };
        let o = filter.run("main", script, &d, &mut host);
        let to: Vec<_> = o.files.iter().map(|f| f.mailbox.clone()).collect();
        assert_eq!(to, vec![Some(want.to_string())], "{spam:?}: {o:?}");
    }
}
