//! Running a compiled script against one message for one account: the
//! events sieve-rs hands back are answered through the `Host` (mailboxes,
//! duplicate ids, included scripts) and turned into an `Outcome` — plain
//! data that delivery carries out. Nothing here touches the store, the
//! queue or the network, and nothing here awaits: the caller runs it on
//! the blocking pool (a regex or `body` test on a large message is CPU).
//!
//! RFC 5228 2.10.6: a runtime error cancels every action the script took
//! and keeps the message (into INBOX), with the error named; so does a
//! resource limit (instructions, included scripts, events).

use std::collections::HashMap;
use std::sync::Arc;

use sieve::{Envelope, Event, Input, Mailbox, Recipient, Runtime, Script, Sieve};

use crate::outcome::{FileInto, Outcome, RunError, Send, SendKind};

/// What a script sees of the delivery (RFC 5228 5.4 `envelope`, RFC 5183
/// `environment`).
#[derive(Debug, Clone, Default)]
pub struct Delivery<'a> {
    /// The message as it is stored (our Received field first).
    pub message: &'a [u8],
    /// The envelope sender; empty for the null sender.
    pub sender: &'a str,
    /// The envelope recipient as addressed (with any `+detail`).
    pub recipient: &'a str,
    /// RFC 3461 ORCPT, NOTIFY, RET and ENVID, when the client gave them.
    pub orcpt: Option<&'a str>,
    pub notify: Option<&'a str>,
    pub ret: Option<&'a str>,
    pub envid: Option<&'a str>,
    /// The account's own address (vacation replies come from it).
    pub user: &'a str,
    /// The client's address and name, for `environment`.
    pub remote_ip: &'a str,
    pub remote_host: &'a str,
    /// The probability (0..=1) that the message is spam, when a spam
    /// check judged it: what `spamtest` (RFC 5235) reports.
    pub spam: Option<f64>,
}

/// What the running script asks of the server.
pub trait Host {
    /// Whether the account has a mailbox of this name.
    fn mailbox_exists(&mut self, name: &str) -> bool;
    /// Whether the account has a mailbox with this special use (`\Junk`).
    fn special_use_exists(&mut self, special_use: &str) -> bool;
    /// Whether `id` was recorded (and has not expired) for the account —
    /// RFC 7352 `duplicate`, and vacation's per-sender window.
    fn seen(&mut self, id: &str) -> bool;
    /// The text of the account's script `name` (`include :personal`).
    fn personal_script(&mut self, name: &str) -> Option<String>;
}

/// The limits a run is held to; the defaults are `[sieve]`'s.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This server's name, in the Message-ID fields of replies.
    pub hostname: String,
    /// Instructions one delivery may execute (includes count).
    pub max_instructions: usize,
    /// `redirect` actions per message.
    pub max_redirects: usize,
    /// Trace fields (`Received`) past which a message is neither
    /// redirected nor answered: it is looping.
    pub max_hops: usize,
    /// Folder of the scripts `include :global` names (`<name>.sieve`).
    pub global_dir: Option<std::path::PathBuf>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            hostname: "localhost".into(),
            max_instructions: 20_000,
            max_redirects: 4,
            max_hops: 30,
            global_dir: None,
        }
    }
}

/// Events one run may produce before it is stopped (every action is an
/// event; the instruction limit bounds the rest).
const MAX_EVENTS: usize = 1_000;
/// Compiled scripts kept, by text.
const CACHE_ENTRIES: usize = 512;
/// RFC 5230 4.1: the default vacation window is 7 days.
const VACATION_DAYS: u64 = 7;

/// The runtime with tern's settings, and a cache of compiled scripts.
pub struct Filter {
    runtime: Runtime,
    settings: Settings,
    cache: std::sync::Mutex<HashMap<String, Arc<Sieve>>>,
}

impl Filter {
    pub fn new(settings: Settings) -> Filter {
        let mut runtime = Runtime::new()
            .with_cpu_limit(settings.max_instructions)
            .with_max_redirects(settings.max_redirects)
            // A vacation reply and a notification besides the redirects.
            .with_max_out_messages(settings.max_redirects + 2)
            .with_max_received_headers(settings.max_hops)
            .with_max_nested_includes(4)
            .with_max_variable_size(16 * 1024)
            .with_local_hostname(settings.hostname.clone())
            .with_valid_notification_uri("mailto")
            .with_default_vacation_expiry(VACATION_DAYS * 86_400)
            .with_vacation_default_subject("Automated reply")
            .with_vacation_subject_prefix("Auto: ")
            // RFC 5293 6: the trace and the auto-reply markers stay.
            .with_protected_headers(["Received", "Auto-Submitted"])
            .with_env_variable("name", "tern")
            .with_env_variable("version", env!("CARGO_PKG_VERSION"))
            .with_env_variable("domain", settings.hostname.clone())
            .with_env_variable("host", settings.hostname.clone())
            .with_env_variable("location", "MDA")
            .with_env_variable("phase", "during");
        for name in crate::compile::NOT_OFFERED {
            runtime.unset_capability(*name);
        }
        Filter {
            runtime,
            settings,
            cache: std::sync::Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// `text` compiled, from the cache when it was compiled before. The
    /// text was checked when it was stored; a script that no longer
    /// compiles (a global script edited on disk) is an error here.
    pub fn compiled(&self, text: &str) -> Result<Arc<Sieve>, String> {
        if let Ok(cache) = self.cache.lock()
            && let Some(s) = cache.get(text)
        {
            return Ok(s.clone());
        }
        let script = crate::compile::compiled(text.as_bytes()).map_err(|e| e.to_string())?;
        let script = Arc::new(script);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(text.to_string(), script.clone());
        }
        Ok(script)
    }

    /// A global script's text: `<global_dir>/<name>.sieve`, the name
    /// checked like every script name (no `/`, no leading dot).
    fn global_script(&self, name: &str) -> Option<String> {
        let dir = self.settings.global_dir.as_ref()?;
        if !crate::valid_global_name(name) {
            return None;
        }
        std::fs::read_to_string(dir.join(format!("{name}.sieve"))).ok()
    }

    /// Run `script` (the account's active script, named `name`) for one
    /// delivery. Never fails: a failure is an `Outcome` that keeps the
    /// message and says why.
    pub fn run(&self, name: &str, script: &str, d: &Delivery<'_>, host: &mut dyn Host) -> Outcome {
        let compiled = match self.compiled(script) {
            Ok(c) => c,
            Err(e) => return Outcome::fallback(RunError::new(name, None, e)),
        };
        // sieve-rs may panic on input it did not expect; a panic is a
        // runtime error of this script, never a lost message.
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run_events(name, script, compiled, d, host)
        }));
        run.unwrap_or_else(|_| {
            Outcome::fallback(RunError::new(name, None, "the interpreter failed"))
        })
    }

    fn run_events(
        &self,
        name: &str,
        text: &str,
        compiled: Arc<Sieve>,
        d: &Delivery<'_>,
        host: &mut dyn Host,
    ) -> Outcome {
        let mut ctx = self
            .runtime
            .filter(d.message)
            .with_envelope(Envelope::From, d.sender)
            .with_envelope(Envelope::To, d.recipient)
            .with_user_address(d.user);
        // RFC 5235 3.1: 1 is certainly not spam, 10 certainly spam, 2..9
        // between; no test ran: 0.
        if let Some(p) = d.spam {
            ctx.set_spam_status(if p <= 0.05 {
                sieve::SpamStatus::Ham
            } else if p >= 0.95 {
                sieve::SpamStatus::Spam
            } else {
                sieve::SpamStatus::MaybeSpam(p)
            });
        }
        for (part, value) in [
            (Envelope::Orcpt, d.orcpt),
            (Envelope::Notify, d.notify),
            (Envelope::Ret, d.ret),
            (Envelope::Envid, d.envid),
        ] {
            if let Some(v) = value {
                ctx.set_envelope(part, v);
            }
        }
        ctx.set_env_variable("remote-ip", d.remote_ip.to_string());
        ctx.set_env_variable("remote-host", d.remote_host.to_string());

        let mut out = Outcome::default();
        let mut created: HashMap<usize, Vec<u8>> = HashMap::new();
        let mut vacation_armed = false;
        let mut vacation_ids = Vec::new();
        let mut input = Input::script(Script::Personal(name.to_string()), compiled);
        let mut events = 0;
        while let Some(result) = ctx.run(input) {
            input = Input::True;
            events += 1;
            if events > MAX_EVENTS {
                return Outcome::fallback(RunError::new(
                    name,
                    None,
                    format!("more than {MAX_EVENTS} actions"),
                ));
            }
            let event = match result {
                Ok(e) => e,
                Err(e) => return Outcome::fallback(RunError::runtime(name, text, e)),
            };
            match event {
                Event::IncludeScript {
                    name: inc,
                    optional,
                } => {
                    let source = match &inc {
                        Script::Personal(n) => host.personal_script(n),
                        Script::Global(n) => self.global_script(n),
                    };
                    match source.map(|s| self.compiled(&s)) {
                        Some(Ok(script)) => input = Input::script(inc, script),
                        Some(Err(e)) => {
                            return Outcome::fallback(RunError::new(
                                name,
                                None,
                                format!("included script {} does not compile: {e}", inc.as_str()),
                            ));
                        }
                        // RFC 6609 3.2: a missing `:optional` script is
                        // skipped; any other is a runtime error.
                        None if optional => input = Input::False,
                        None => {
                            return Outcome::fallback(RunError::new(
                                name,
                                None,
                                format!("included script {} does not exist", inc.as_str()),
                            ));
                        }
                    }
                }
                Event::MailboxExists {
                    mailboxes,
                    special_use,
                } => {
                    // Mailboxes this run will create (`fileinto :create`)
                    // exist from then on (RFC 5490 3.1).
                    let all = mailboxes.iter().all(|m| match m {
                        Mailbox::Name(n) => {
                            host.mailbox_exists(n)
                                || out
                                    .files
                                    .iter()
                                    .any(|f| f.create && f.mailbox.as_deref() == Some(n))
                        }
                        Mailbox::Id(_) => false,
                    }) && special_use.iter().all(|u| host.special_use_exists(u));
                    input = all.into();
                }
                Event::ListContains { .. } => input = Input::False,
                Event::DuplicateId { id, expiry, last } => {
                    let seen = host.seen(&id);
                    // Vacation asks with ids of its own (`_v` + sender),
                    // just before it acts.
                    vacation_armed = id.starts_with("_v") && !seen;
                    // Seen before, the id is recorded again only when
                    // `:last` starts its window anew.
                    if !seen || last {
                        out.remember.push(crate::outcome::Remember {
                            id,
                            expiry_secs: expiry,
                            refresh: last,
                            vacation: vacation_armed,
                        });
                    }
                    input = seen.into();
                }
                Event::SetEnvelope { .. } | Event::Function { .. } => {}
                Event::Keep { flags, message_id } => out.files.push(FileInto {
                    mailbox: None,
                    special_use: None,
                    create: false,
                    flags,
                    message: message_id,
                }),
                Event::FileInto {
                    folder,
                    flags,
                    special_use,
                    create,
                    message_id,
                    ..
                } => out.files.push(FileInto {
                    mailbox: Some(folder),
                    special_use,
                    create,
                    flags,
                    message: message_id,
                }),
                Event::Discard => out.discarded = true,
                Event::Reject { extended, reason } => {
                    out.reject = Some(crate::outcome::Reject { extended, reason });
                }
                Event::CreatedMessage {
                    message_id,
                    message,
                } => {
                    if vacation_armed {
                        vacation_ids.push(message_id);
                        vacation_armed = false;
                    }
                    created.insert(message_id, message);
                }
                Event::SendMessage {
                    recipient,
                    message_id,
                    notify,
                    return_of_content,
                    ..
                } => {
                    let (to, kind) = match recipient {
                        Recipient::Address(a) if vacation_ids.contains(&message_id) => {
                            (vec![a], SendKind::Vacation)
                        }
                        Recipient::Address(a) => (vec![a], SendKind::Redirect),
                        Recipient::Group(g) => (g, SendKind::Notify),
                        Recipient::List(_) => continue,
                    };
                    out.sends.push(Send {
                        to,
                        kind,
                        message: message_id,
                        notify: redirect_notify(&notify),
                        ret: redirect_ret(&return_of_content),
                    });
                }
                Event::Notify { method, .. } => {
                    tracing::debug!(method, "sieve: notification method not offered");
                }
            }
        }
        // The messages the actions name: 0 is the message as delivered;
        // others were made by editheader, vacation or enotify.
        // RFC 5429 2.1: reject does not go with keep or fileinto; like
        // Pigeonhole, such a script fails, and the message is kept.
        if out.reject.is_some() && !out.files.is_empty() {
            return Outcome::fallback(RunError::new(
                name,
                None,
                "reject cannot be combined with keep or fileinto (RFC 5429 2.1)",
            ));
        }
        out.messages = created;
        // RFC 3834 2 / RFC 5230 4.5, read here from every field however
        // sieve-rs parsed them: automatic and list mail gets no reply.
        if out.sends.iter().any(|s| s.kind == SendKind::Vacation)
            && !crate::may_auto_reply(d.message)
        {
            out.sends.retain(|s| s.kind != SendKind::Vacation);
            out.remember.retain(|r| !r.vacation);
        }
        out.normalize();
        out
    }
}

fn redirect_notify(
    n: &sieve::compiler::grammar::actions::action_redirect::Notify,
) -> Option<String> {
    use sieve::compiler::grammar::actions::action_redirect::Notify as N;
    match n {
        N::Never => Some("NEVER".into()),
        N::Default => None,
        N::Items(items) => {
            use sieve::compiler::grammar::actions::action_redirect::NotifyItem as I;
            let words: Vec<&str> = items
                .iter()
                .map(|i| match i {
                    I::Success => "SUCCESS",
                    I::Failure => "FAILURE",
                    I::Delay => "DELAY",
                })
                .collect();
            Some(words.join(","))
        }
    }
}

fn redirect_ret(r: &sieve::compiler::grammar::actions::action_redirect::Ret) -> Option<String> {
    use sieve::compiler::grammar::actions::action_redirect::Ret as R;
    match r {
        R::Full => Some("FULL".into()),
        R::Hdrs => Some("HDRS".into()),
        R::Default => None,
    }
}
