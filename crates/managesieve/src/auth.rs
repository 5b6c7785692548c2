//! The commands of every state and the way in: CAPABILITY (RFC 5804
//! 2.4), STARTTLS (2.2), AUTHENTICATE PLAIN and LOGIN (2.1) only under
//! TLS, UNAUTHENTICATE (2.14.1), NOOP (2.13), LOGOUT (2.3); and the
//! dispatch of a framed command.

use crate::framing::Arg;
use crate::reply::{response, string};
use crate::state::{Flow, Sasl, Session, State, User};
use tern_common::sasl::{decode_plain, decode_text};

const BAD_LOGIN: &str = "invalid user name or password";

/// The text of a string argument.
pub(crate) fn text(arg: Option<&Arg>) -> Option<&str> {
    match arg {
        Some(Arg::Str(s)) => std::str::from_utf8(s).ok(),
        _ => None,
    }
}

impl Session {
    /// The capability lines (RFC 5804 1.7), without the OK.
    pub(crate) fn capabilities(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut line = |name: &str, value: Option<&str>| {
            out.extend_from_slice(&string(name.as_bytes()));
            if let Some(v) = value {
                out.push(b' ');
                out.extend_from_slice(&string(v.as_bytes()));
            }
            out.extend_from_slice(b"\r\n");
        };
        line("IMPLEMENTATION", Some("tern"));
        line("SIEVE", Some(&self.opts.extensions));
        if self.opts.extensions.split(' ').any(|e| e == "enotify") {
            line("NOTIFY", Some("mailto"));
        }
        // No mechanism before TLS: no password crosses in the clear.
        line("SASL", Some(if self.tls { "PLAIN LOGIN" } else { "" }));
        if !self.tls {
            line("STARTTLS", None);
        }
        line("VERSION", Some("1.0"));
        line("UNAUTHENTICATE", None);
        out
    }

    pub(crate) async fn command(&mut self, args: Vec<Arg>) -> Flow {
        let name = match args.first() {
            Some(Arg::Atom(a)) => a.to_ascii_uppercase(),
            _ => return self.error("a command starts with its name"),
        };
        let rest = &args[1..];
        match name.as_str() {
            "CAPABILITY" if rest.is_empty() => {
                let caps = self.capabilities();
                self.push(&caps);
                self.ok("")
            }
            "NOOP" if rest.len() <= 1 => match rest.first() {
                None => self.ok("Done"),
                Some(Arg::Str(tag)) => {
                    // RFC 5804 2.13: the tag is echoed in a TAG code.
                    let mut out = b"OK (TAG ".to_vec();
                    out.extend_from_slice(&string(tag));
                    out.extend_from_slice(b") \"Done\"\r\n");
                    self.push(&out);
                    Flow::Continue
                }
                Some(Arg::Atom(_)) => self.error("NOOP takes a string"),
            },
            "LOGOUT" if rest.is_empty() => {
                self.ok("Logout complete");
                Flow::Close
            }
            "STARTTLS" if rest.is_empty() => {
                if self.tls {
                    return self.error("TLS is already active");
                }
                if self.account().is_some() {
                    return self.error("STARTTLS comes before AUTHENTICATE");
                }
                self.ok("Begin TLS negotiation now");
                Flow::StartTls
            }
            "AUTHENTICATE" if !rest.is_empty() && rest.len() <= 2 => self.authenticate(rest).await,
            "UNAUTHENTICATE" if rest.is_empty() => {
                if self.account().is_none() {
                    return self.error("not authenticated");
                }
                self.state = State::Anonymous;
                self.started = std::time::Instant::now();
                self.gate.signed_out();
                self.ok("")
            }
            "HAVESPACE" | "PUTSCRIPT" | "LISTSCRIPTS" | "SETACTIVE" | "GETSCRIPT"
            | "DELETESCRIPT" | "RENAMESCRIPT" | "CHECKSCRIPT" => match self.account() {
                Some(id) => self.scripts(id, &name, rest).await,
                None => self.error("authenticate first"),
            },
            "CAPABILITY" | "NOOP" | "LOGOUT" | "STARTTLS" | "AUTHENTICATE" | "UNAUTHENTICATE" => {
                self.error("wrong arguments")
            }
            _ => self.error("unknown command"),
        }
    }

    /// RFC 5804 2.1: `AUTHENTICATE mechanism [initial-response]`.
    async fn authenticate(&mut self, rest: &[Arg]) -> Flow {
        if self.account().is_some() {
            return self.error("already authenticated");
        }
        // RFC 5804 2.1 and 1.3: no credentials in the clear; refused before
        // they are read.
        if !self.tls {
            return self.no(Some("ENCRYPT-NEEDED"), "use STARTTLS first");
        }
        let Some(mech) = text(rest.first()) else {
            return self.error("the mechanism is a string");
        };
        let initial = match rest.get(1) {
            None => None,
            Some(a) => match text(Some(a)) {
                Some(t) => Some(t.to_string()),
                None => return self.error("the initial response is a string"),
            },
        };
        match (mech.to_ascii_uppercase().as_str(), initial) {
            ("PLAIN", Some(ir)) => self.plain(&ir).await,
            ("PLAIN", None) => {
                // An empty challenge.
                self.push(b"\"\"\r\n");
                self.state = State::Sasl(Sasl::Plain);
                Flow::Continue
            }
            ("LOGIN", None) => {
                self.push(&string(b"VXNlcm5hbWU6"));
                self.push(b"\r\n");
                self.state = State::Sasl(Sasl::LoginUser);
                Flow::Continue
            }
            ("LOGIN", Some(ir)) => match decode_text(&ir) {
                Some(user) => {
                    self.push(&string(b"UGFzc3dvcmQ6"));
                    self.push(b"\r\n");
                    self.state = State::Sasl(Sasl::LoginPassword(user));
                    Flow::Continue
                }
                None => self.login_failed("").await,
            },
            _ => self.error("unsupported SASL mechanism"),
        }
    }

    /// The client's answer to a challenge: a string, or `"*"` to cancel.
    pub(crate) async fn sasl_response(&mut self, sasl: Sasl, args: Vec<Arg>) -> Flow {
        self.state = State::Anonymous;
        let answer = match args.as_slice() {
            [a @ Arg::Str(_)] => text(Some(a)).map(str::to_string),
            _ => None,
        };
        let Some(answer) = answer else {
            return self.no(None, "malformed SASL response");
        };
        if answer == "*" {
            return self.no(None, "authentication cancelled");
        }
        match sasl {
            Sasl::Plain => self.plain(&answer).await,
            Sasl::LoginUser => match decode_text(&answer) {
                Some(user) => {
                    self.push(&string(b"UGFzc3dvcmQ6"));
                    self.push(b"\r\n");
                    self.state = State::Sasl(Sasl::LoginPassword(user));
                    Flow::Continue
                }
                None => self.login_failed("").await,
            },
            Sasl::LoginPassword(user) => match decode_text(&answer) {
                Some(password) => self.login(&user, &password).await,
                None => self.login_failed("").await,
            },
        }
    }

    async fn plain(&mut self, b64: &str) -> Flow {
        match decode_plain(b64) {
            Some(p) => self.login(&p.authcid, &p.password).await,
            None => self.login_failed("").await,
        }
    }

    /// A failed login of `user`: answered after the throttle's delay, the
    /// same for unknown users, wrong passwords and locks.
    async fn login_failed(&mut self, user: &str) -> Flow {
        let delay = self.gate.failure(user, self.opts.auth_failure_delay);
        tokio::time::sleep(delay).await;
        self.auth_failures += 1;
        if self.auth_failures >= self.opts.max_auth_failures {
            self.push(&response("NO", None, BAD_LOGIN));
            self.push(&response("BYE", None, "too many failed logins"));
            return Flow::Close;
        }
        self.no(None, BAD_LOGIN)
    }

    async fn login(&mut self, user: &str, password: &str) -> Flow {
        // Every spelling of one account is one name to the throttle.
        let key = match self.store.login_key(user).await {
            Ok(k) => k,
            Err(_) => tern_common::address::login_key(user),
        };
        if !self.gate.check(&key) {
            tracing::info!(peer = %self.peer, user = %key, "managesieve login refused: too many failures");
            return self.login_failed(&key).await;
        }
        let login = match self.store.authenticate(user, password).await {
            Ok(Some(l)) => l,
            Ok(None) => {
                tracing::info!(peer = %self.peer, user = %key, "managesieve login failed");
                return self.login_failed(&key).await;
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, error = %e, "managesieve authentication unavailable");
                return self.no(
                    Some("TRYLATER"),
                    "authentication unavailable; try again later",
                );
            }
        };
        let app = login.credential.app_password();
        if self.gate.success_with(&login.account.name, app).is_err() {
            self.push(&response(
                "BYE",
                Some("TRYLATER"),
                "too many connections for this account; try again later",
            ));
            return Flow::Close;
        }
        tracing::info!(peer = %self.peer, user = %login.account.name, "managesieve login");
        self.state = State::Authenticated(User {
            id: login.account.id,
            name: login.account.name,
        });
        self.ok("Logged in")
    }
}
