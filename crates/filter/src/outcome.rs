//! What a run decided, as plain data for delivery to carry out: where
//! copies go (with which flags, which version of the message), whether the
//! message is refused, what is sent, and which duplicate ids to record
//! once the message is safely stored.

use std::collections::HashMap;

use sieve::runtime::RuntimeError;

/// One copy to store. `mailbox: None` is the keep (INBOX, or Junk when the
/// inbound checks said so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInto {
    pub mailbox: Option<String>,
    /// RFC 8579 `:specialuse`: the account's mailbox with this use first.
    pub special_use: Option<String>,
    /// RFC 5490 3.2 `:create`: make the mailbox when it does not exist.
    pub create: bool,
    /// RFC 5232 flags for this copy.
    pub flags: Vec<String>,
    /// Which version: 0 is the message as delivered, others are in
    /// `Outcome::messages` (editheader).
    pub message: usize,
}

/// Why the message is refused (RFC 5429).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// `ereject`: refuse in the protocol, never by a bounce when it can.
    pub extended: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendKind {
    /// RFC 5228 4.2: the message, to another address, envelope sender
    /// kept (rewritten with SRS when it leaves).
    Redirect,
    /// RFC 5230: an automatic reply to the envelope sender, from the null
    /// sender.
    Vacation,
    /// RFC 5436: a notification by mail.
    Notify,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    pub to: Vec<String>,
    pub kind: SendKind,
    /// As in `FileInto::message`.
    pub message: usize,
    /// RFC 6009 `redirect :notify` / `:ret`, as the DSN parameters.
    pub notify: Option<String>,
    pub ret: Option<String>,
}

/// A duplicate id to record once the message is delivered (RFC 7352 3:
/// only a message that was delivered counts as seen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remember {
    pub id: String,
    pub expiry_secs: u64,
    /// `:last`: the window starts again at this message.
    pub refresh: bool,
    /// Vacation's own id: record it only when the reply was sent.
    pub vacation: bool,
}

/// A script that failed; the message was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError {
    pub script: String,
    /// The line of the script, when the interpreter knows it.
    pub line: Option<usize>,
    pub message: String,
}

impl RunError {
    pub fn new(script: &str, line: Option<usize>, message: impl Into<String>) -> RunError {
        RunError {
            script: script.to_string(),
            line,
            message: message.into(),
        }
    }

    /// A runtime error of sieve-rs, with the line where it can be found:
    /// an `error` command (RFC 5463) is found by its message in the text.
    pub(crate) fn runtime(script: &str, text: &str, e: RuntimeError) -> RunError {
        let (line, message) = match e {
            RuntimeError::CPULimitReached => (None, "the script ran too long".to_string()),
            RuntimeError::TooManyIncludes => (None, "too many nested includes".to_string()),
            RuntimeError::ScriptErrorMessage(m) => (error_line(text, &m), format!("error: {m}")),
            RuntimeError::CapabilityNotAllowed(c) => (None, format!("extension {c} not allowed")),
            RuntimeError::CapabilityNotSupported(c) => {
                (None, format!("extension {c} not supported"))
            }
            RuntimeError::InvalidInstruction(i) => (
                Some(i.line_num()),
                format!("invalid instruction {}", i.name()),
            ),
            RuntimeError::TooManyRedirects => (None, "too many redirects".to_string()),
        };
        RunError {
            script: script.to_string(),
            line,
            message,
        }
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "script {:?} line {l}: {}", self.script, self.message),
            None => write!(f, "script {:?}: {}", self.script, self.message),
        }
    }
}

/// The 1-based line of the first `error` command whose text holds `m`.
fn error_line(text: &str, m: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.starts_with("error") && (m.is_empty() || t.contains(m))
        })
        .map(|i| i + 1)
}

/// Everything one run decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub files: Vec<FileInto>,
    pub reject: Option<Reject>,
    /// An explicit `discard` (and nothing kept).
    pub discarded: bool,
    pub sends: Vec<Send>,
    pub remember: Vec<Remember>,
    /// Messages the script made, by id.
    pub messages: HashMap<usize, Vec<u8>>,
    /// The script failed: everything above is the keep it fell back to.
    pub error: Option<RunError>,
}

impl Outcome {
    /// The implicit keep, and nothing else (RFC 5228 2.10.2).
    pub fn keep() -> Outcome {
        Outcome {
            files: vec![FileInto {
                mailbox: None,
                special_use: None,
                create: false,
                flags: Vec::new(),
                message: 0,
            }],
            ..Outcome::default()
        }
    }

    /// The keep after a failure (RFC 5228 2.10.6): no action the script
    /// took survives.
    pub fn fallback(error: RunError) -> Outcome {
        Outcome {
            error: Some(error),
            ..Outcome::keep()
        }
    }

    /// The bytes of version `id`: `original` for 0.
    pub fn message<'a>(&'a self, id: usize, original: &'a [u8]) -> &'a [u8] {
        if id == 0 {
            return original;
        }
        self.messages.get(&id).map_or(original, Vec::as_slice)
    }

    /// RFC 5228 4.1/4.2: one copy per mailbox (the flags of every action
    /// naming it, the last version), and one send per recipient and kind.
    pub(crate) fn normalize(&mut self) {
        let mut files: Vec<FileInto> = Vec::new();
        for f in self.files.drain(..) {
            match files
                .iter_mut()
                .find(|g| g.mailbox == f.mailbox && g.special_use == f.special_use)
            {
                Some(g) => {
                    for flag in f.flags {
                        if !g.flags.iter().any(|x| x.eq_ignore_ascii_case(&flag)) {
                            g.flags.push(flag);
                        }
                    }
                    g.create |= f.create;
                    g.message = g.message.max(f.message);
                }
                None => files.push(f),
            }
        }
        self.files = files;
        let mut sends: Vec<Send> = Vec::new();
        for s in self.sends.drain(..) {
            if !sends.iter().any(|t| t.kind == s.kind && t.to == s.to) {
                sends.push(s);
            }
        }
        self.sends = sends;
        if self.reject.is_some() {
            // A refusal is the only fate (`run.rs` fails a script that
            // also keeps or files, RFC 5429 2.1).
            self.discarded = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_command_is_found_by_its_message() {
        let text = "require \"ihave\";\r\nif true {\r\n  error \"no way\";\r\n}\r\n";
        assert_eq!(error_line(text, "no way"), Some(3));
    }

    #[test]
    fn one_copy_per_mailbox_with_every_flag() {
        let mut o = Outcome::keep();
        o.files.push(FileInto {
            mailbox: None,
            special_use: None,
            create: false,
            flags: vec!["\\Seen".into()],
            message: 0,
        });
        o.normalize();
        assert_eq!(o.files.len(), 1);
        assert_eq!(o.files[0].flags, ["\\Seen"]);
    }
}
