//! The session: not authenticated → authenticated → selected → logout
//! (RFC 3501 3), the states and what each carries in `state.rs`. `run`
//! drives it over any byte stream; command groups live in `auth.rs`,
//! `mailboxes.rs`, `select.rs`, `append.rs`, `selected.rs`, `fetch/`,
//! `search/` and `idle.rs`.

use std::sync::Arc;
use std::time::Duration;

use imap_codec::CommandCodec;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::mailbox::Mailbox as ImapMailbox;
use tern_store::Store;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::client_names::{name_of, raw_name};
use crate::enabled::Enabled;
use crate::gate::Gate;
use crate::protocol::io::{Input, Io, Wire};
use crate::protocol::preparse::{Extras, Pre, preparse};
use crate::state::State;
use crate::summary::SummaryCache;

/// How a session behaves; one per service.
#[derive(Debug, Clone)]
pub struct Options {
    pub hostname: String,
    /// Longest command line (RFC 9051 4: at least 8192 is recommended).
    pub max_line: usize,
    /// Largest literal (bounds APPEND).
    pub max_literal: usize,
    /// RFC 9051 5.4: the autologout timer is at least 30 minutes.
    pub idle_timeout: Duration,
    /// How long a connection that has not logged in may take over one
    /// command (RFC 9051 5.4's 30 minutes are for authenticated sessions):
    /// a stalled or dripping connection gives its slot back.
    pub login_timeout: Duration,
    /// A failed login waits this long before its answer.
    pub auth_failure_delay: Duration,
    pub max_auth_failures: u32,
    /// Bad commands before the connection is closed.
    pub max_errors: u32,
    /// ENVELOPE/BODYSTRUCTURE/header summaries, shared by every session.
    pub summaries: Arc<SummaryCache>,
    /// The message bytes all logged-in sessions may hold at once.
    pub budget: crate::budget::Budget,
    /// What moves into and out of Junk teach the spam filter (`spam.rs`);
    /// `None`: nothing is learned.
    pub trainer: Option<Arc<crate::spam::Trainer>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hostname: "localhost".into(),
            max_line: 64 * 1024,
            max_literal: 64 * 1024 * 1024,
            idle_timeout: Duration::from_secs(30 * 60),
            login_timeout: Duration::from_secs(60),
            auth_failure_delay: Duration::from_millis(1500),
            max_auth_failures: 3,
            max_errors: 50,
            summaries: Arc::new(SummaryCache::new(32 << 20)),
            budget: crate::budget::Budget::new(256 << 20),
            trainer: None,
        }
    }
}

pub use tern_common::listener::Upgrade;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    StartTls,
    /// COMPRESS=DEFLATE starts after the tagged OK is flushed.
    Compress,
    /// IDLE with this tag: waited for by the session loop, outside the
    /// command's future, which is as large as the largest command's state
    /// and would otherwise be held by every idling connection.
    Idle(String),
    Close,
}

pub(crate) struct Session {
    pub store: Store,
    pub opts: Arc<Options>,
    pub tls: bool,
    pub peer: String,
    pub gate: Gate,
    pub state: State,
    pub auth_failures: u32,
    pub errors: u32,
    /// What the pre-parser took off the command being executed.
    pub ext: Extras,
}

/// RFC 9051 7.2.2 / RFC 3501 7.2.1: what works, and nothing else.
pub(crate) fn capabilities(tls: bool, authenticated: bool, opts: &Options) -> String {
    let mut c = String::from("IMAP4rev1 IMAP4rev2");
    if !authenticated {
        if tls {
            c.push_str(" AUTH=PLAIN SASL-IR");
        } else {
            // RFC 9051 6.2.3 / RFC 2595 3.2: no password in the clear.
            c.push_str(" STARTTLS LOGINDISABLED");
        }
    }
    c.push_str(" LITERAL+ ENABLE ID IDLE NAMESPACE UNSELECT CHILDREN SPECIAL-USE MOVE UIDPLUS");
    c.push_str(" SORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES QUOTA QUOTA=RES-STORAGE BINARY");
    if authenticated {
        // RFC 4978: COMPRESS is a command of the authenticated state.
        c.push_str(" COMPRESS=DEFLATE");
    }
    c.push_str(" ESEARCH SEARCHRES UNAUTHENTICATE");
    c.push_str(" LIST-EXTENDED LIST-STATUS STATUS=SIZE CREATE-SPECIAL-USE CONDSTORE QRESYNC");
    // RFC 7889 3.1: one limit for every mailbox: the literal limit.
    c.push_str(&format!(" APPENDLIMIT={}", opts.max_literal));
    c.push_str(" UTF8=ACCEPT");
    c
}

impl Session {
    pub(crate) fn new(
        store: Store,
        opts: Arc<Options>,
        tls: bool,
        peer: String,
        gate: Gate,
    ) -> Self {
        Session {
            store,
            opts,
            tls,
            peer,
            gate,
            state: State::NotAuthenticated,
            auth_failures: 0,
            errors: 0,
            ext: Extras::default(),
        }
    }

    pub(crate) fn account_id(&self) -> Option<i64> {
        self.state.login().map(|l| l.account.id)
    }

    pub(crate) fn authenticated(&self) -> bool {
        self.state.login().is_some()
    }

    /// What the client enabled (nothing before login).
    pub(crate) fn enabled(&self) -> Enabled {
        self.state.enabled()
    }

    /// A BAD answer; too many of them end the session.
    /// A mailbox name or pattern that did not decode. In 7-bit it is a
    /// valid astring (RFC 3501 9) naming no possible mailbox (`x&y` is
    /// not modified UTF-7, RFC 3501 5.1.3): `NO`. 8-bit outside
    /// UTF8=ACCEPT is not IMAP4rev1 syntax (quoted strings are 7-bit):
    /// `BAD`.
    pub(crate) fn bad_name<S: Wire>(&mut self, io: &mut Io<S>, tag: &str, raw: &[u8]) -> Flow {
        if raw.is_ascii() {
            io.push_str(&format!("{tag} NO [CANNOT] invalid mailbox name\r\n"));
            return Flow::Continue;
        }
        self.bad(io, tag, "invalid mailbox name")
    }

    /// A mailbox name from a command, or the answer already given to one
    /// that did not decode.
    pub(crate) fn mailbox_name<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        m: &ImapMailbox<'_>,
    ) -> Result<String, Flow> {
        match name_of(m, self.utf8_names()) {
            Some(n) => Ok(n),
            None => Err(self.bad_name(io, tag, raw_name(m))),
        }
    }

    /// Mailbox names are UTF-8 under IMAP4rev2 and UTF8=ACCEPT.
    pub(crate) fn utf8_names(&self) -> bool {
        self.enabled().utf8_names()
    }

    /// A mailbox name as this session writes it.
    pub(crate) fn name_out(&self, name: &str) -> Vec<u8> {
        crate::client_names::name_out(name, self.utf8_names())
    }

    pub(crate) fn bad<S: Wire>(&mut self, io: &mut Io<S>, tag: &str, text: &str) -> Flow {
        io.push_str(&format!("{tag} BAD {text}\r\n"));
        self.errors += 1;
        if self.errors >= self.opts.max_errors {
            io.push(b"* BYE too many errors\r\n");
            return Flow::Close;
        }
        Flow::Continue
    }

    /// One framed command: the pre-parser, then imap-codec, then execution.
    pub(crate) async fn command<S: Wire>(&mut self, io: &mut Io<S>, bytes: &[u8]) -> Flow {
        let (bytes, ext) = match preparse(bytes) {
            Pre::Unauthenticate(tag) => return self.unauthenticate(io, &tag),
            Pre::Bad(tag, text) => {
                let tag = tag.unwrap_or_else(|| "*".into());
                return self.bad(io, &tag, text);
            }
            Pre::Codec(b, ext) => (b, ext),
        };
        match CommandCodec::default().decode(&bytes) {
            Ok((&[], cmd)) => {
                if let Some(sel) = self.state.selected_mut() {
                    sel.use_saved = ext.saved;
                }
                self.ext = ext;
                self.execute(io, cmd).await
            }
            _ => {
                let tag = crate::protocol::io::tag_of(&bytes).unwrap_or_else(|| "*".into());
                self.bad(io, &tag, "syntax error in command")
            }
        }
    }

    /// RFC 8437: back to the not-authenticated state; what was enabled is
    /// forgotten.
    fn unauthenticate<S: Wire>(&mut self, io: &mut Io<S>, tag: &str) -> Flow {
        if !self.authenticated() {
            return self.bad(io, tag, "not authenticated");
        }
        self.state.log_out();
        self.gate.signed_out();
        io.push_str(&format!("{tag} OK UNAUTHENTICATE completed\r\n"));
        Flow::Continue
    }

    async fn execute<S: Wire>(&mut self, io: &mut Io<S>, cmd: Command<'_>) -> Flow {
        let tag = cmd.tag.inner().to_string();
        let tag = tag.as_str();
        match cmd.body {
            // ---- any state ----
            CommandBody::Capability => {
                io.push_str(&format!(
                    "* CAPABILITY {}\r\n",
                    capabilities(self.tls, self.authenticated(), &self.opts)
                ));
                io.push_str(&format!("{tag} OK CAPABILITY completed\r\n"));
                Flow::Continue
            }
            CommandBody::Noop => {
                self.sync(io, true).await;
                io.push_str(&format!("{tag} OK NOOP completed\r\n"));
                Flow::Continue
            }
            CommandBody::Logout => {
                io.push_str("* BYE logging out\r\n");
                io.push_str(&format!("{tag} OK LOGOUT completed\r\n"));
                Flow::Close
            }
            CommandBody::Id { .. } => {
                // RFC 2971 3.
                io.push(b"* ID (\"name\" \"tern\")\r\n");
                io.push_str(&format!("{tag} OK ID completed\r\n"));
                Flow::Continue
            }
            // ---- not authenticated ----
            CommandBody::StartTLS => {
                if self.tls {
                    return self.bad(io, tag, "TLS is already active");
                }
                if self.authenticated() {
                    return self.bad(io, tag, "STARTTLS is only valid before login");
                }
                io.push_str(&format!("{tag} OK begin TLS negotiation now\r\n"));
                Flow::StartTls
            }
            CommandBody::Login { username, password } => {
                if self.authenticated() {
                    return self.bad(io, tag, "already authenticated");
                }
                if !self.tls {
                    return self.privacy_required(io, tag);
                }
                let user = String::from_utf8_lossy(username.as_ref()).into_owned();
                let pass = String::from_utf8_lossy(password.declassify().as_ref()).into_owned();
                self.login(io, tag, &user, &pass).await
            }
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            } => {
                if self.authenticated() {
                    return self.bad(io, tag, "already authenticated");
                }
                if !self.tls {
                    return self.privacy_required(io, tag);
                }
                let ir = initial_response.map(|r| r.declassify().to_vec());
                self.authenticate(io, tag, mechanism.as_ref(), ir).await
            }
            CommandBody::Compress { .. } => {
                // The only algorithm imap-codec parses is DEFLATE.
                if !self.authenticated() {
                    return self.bad(io, tag, "command not valid before login");
                }
                if io.is_compressed() {
                    io.push_str(&format!(
                        "{tag} NO [COMPRESSIONACTIVE] DEFLATE is already active\r\n"
                    ));
                    return Flow::Continue;
                }
                io.push_str(&format!("{tag} OK DEFLATE active\r\n"));
                Flow::Compress
            }
            body => {
                let Some(account) = self.account_id() else {
                    return self.bad(io, tag, "command not valid before login");
                };
                self.authenticated_command(io, tag, account, body).await
            }
        }
    }

    /// RFC 9051 6.2.3: LOGIN on a clear connection; the credential is not
    /// looked at.
    fn privacy_required<S: Wire>(&mut self, io: &mut Io<S>, tag: &str) -> Flow {
        io.push_str(&format!(
            "{tag} NO [PRIVACYREQUIRED] TLS required; use STARTTLS first\r\n"
        ));
        Flow::Continue
    }

    /// A CONDSTORE-enabling command was used (RFC 7162 3.1).
    pub(crate) fn use_condstore(&mut self) {
        if let Some(l) = self.state.login_mut() {
            l.enabled.condstore = true;
        }
    }

    /// A CONDSTORE-enabling command other than SELECT/EXAMINE was used:
    /// the first one while a mailbox is selected gets `* OK
    /// [HIGHESTMODSEQ n]` (RFC 7162 3.1), as the client had no SELECT
    /// reply that carried it.
    pub(crate) fn condstore_used<S: Wire>(&mut self, io: &mut Io<S>) {
        let was = self.enabled().condstore;
        self.use_condstore();
        if let (false, Some(sel)) = (was, self.state.selected()) {
            let highest = sel.msgs.iter().map(|m| m.modseq).max().unwrap_or(0);
            // A mod-sequence is at least 1 (RFC 7162 3.1.2.1).
            let highest = highest.max(sel.mailbox.highestmodseq).max(1);
            io.push_str(&format!("* OK [HIGHESTMODSEQ {highest}] highest\r\n"));
        }
    }

    /// Take in the store's change events; `true` when the selected mailbox
    /// may have changed.
    pub(crate) fn drain_events(&mut self) -> bool {
        let State::Selected(login, sel) = &mut self.state else {
            return false;
        };
        let Some(rx) = &mut login.events else {
            return false;
        };
        loop {
            match rx.try_recv() {
                Ok(c) if c.mailbox_id == sel.mailbox.id => sel.dirty = true,
                Ok(_) => {}
                Err(broadcast::error::TryRecvError::Lagged(_)) => sel.dirty = true,
                Err(broadcast::error::TryRecvError::Empty) => break,
                Err(broadcast::error::TryRecvError::Closed) => {
                    sel.dirty = true;
                    login.events = None;
                    break;
                }
            }
        }
        sel.dirty
    }

    /// Report what other sessions changed in the selected mailbox.
    /// RFC 9051 7.5.1: no EXPUNGE during FETCH, STORE or SEARCH.
    pub(crate) async fn sync<S: Wire>(&mut self, io: &mut Io<S>, expunges: bool) {
        if !self.drain_events() {
            return;
        }
        let State::Selected(login, sel) = &mut self.state else {
            return;
        };
        if let Err(e) = sel.sync(&self.store, io, expunges, login.enabled).await {
            tracing::warn!(peer = %self.peer, error = %e, "imap: mailbox sync failed");
        }
    }
}

/// Said to every session at shutdown, waiting for a command or in IDLE
/// (RFC 9051 7.1.5: UNAVAILABLE, try another server or later).
pub(crate) const SHUTTING_DOWN: &[u8] = b"* BYE [UNAVAILABLE] server shutting down\r\n";

/// Drive one connection until LOGOUT, end of stream, time-out or shutdown.
#[allow(clippy::too_many_arguments)]
pub async fn run<S, U>(
    store: Store,
    opts: Arc<Options>,
    stream: S,
    tls: bool,
    upgrader: &U,
    shutdown: CancellationToken,
    peer: String,
    gate: Gate,
) where
    S: Wire,
    U: Upgrade<S> + ?Sized,
{
    let mut io = Io::new(stream, opts.max_line, opts.max_literal)
        .with_budget(opts.budget.clone())
        .with_shutdown(shutdown.clone());
    let mut s = Session::new(store, opts.clone(), tls, peer, gate);
    io.push_str(&format!(
        "* OK [CAPABILITY {}] {} IMAP server ready\r\n",
        capabilities(tls, false, &opts),
        opts.hostname
    ));
    loop {
        if io.flush().await.is_err() {
            return;
        }
        io.set_guard(!s.tls);
        io.set_authenticated(s.authenticated());
        let wait = if s.authenticated() {
            opts.idle_timeout
        } else {
            opts.login_timeout
        };
        let input = tokio::select! {
            r = tokio::time::timeout(wait, io.read_command()) => r,
            _ = shutdown.cancelled() => {
                io.push(SHUTTING_DOWN);
                let _ = io.flush().await;
                return;
            }
        };
        let input = match input {
            Ok(Ok(i)) => i,
            Ok(Err(_)) => return,
            Err(_) => {
                io.push(b"* BYE autologout; idle for too long\r\n");
                let _ = io.flush().await;
                return;
            }
        };
        let flow = match input {
            Input::Eof => return,
            Input::LiteralTooBig => {
                io.push(b"* BYE literal too large\r\n");
                Flow::Close
            }
            Input::LiteralRefused(tag) => {
                let tag = tag.unwrap_or_else(|| "*".into());
                io.push_str(&format!("{tag} NO [TOOBIG] literal too large\r\n"));
                Flow::Continue
            }
            Input::Busy(tag) => {
                let tag = tag.unwrap_or_else(|| "*".into());
                io.push_str(&format!(
                    "{tag} NO [LIMIT] server busy; try again later\r\n"
                ));
                Flow::Continue
            }
            Input::BusyClose => {
                io.push(b"* BYE [LIMIT] server busy; try again later\r\n");
                Flow::Close
            }
            Input::CredentialClose => {
                io.push(b"* BYE [PRIVACYREQUIRED] no credentials in the clear\r\n");
                Flow::Close
            }
            Input::CredentialRefused(tag) => {
                let tag = tag.unwrap_or_else(|| "*".into());
                s.privacy_required(&mut io, &tag)
            }
            Input::TooLong(tag) => {
                let tag = tag.unwrap_or_else(|| "*".into());
                s.bad(&mut io, &tag, "command line too long")
            }
            // Boxed: between commands a connection holds no command state.
            Input::Command(bytes) => match Box::pin(s.command(&mut io, &bytes)).await {
                Flow::Idle(tag) => s.idle(&mut io, &tag).await,
                flow => flow,
            },
        };
        match flow {
            Flow::Continue | Flow::Idle(_) => {}
            Flow::Close => {
                let _ = io.flush().await;
                return;
            }
            Flow::Compress => {
                // RFC 4978 3: compression begins right after the CRLF of
                // the tagged OK.
                if io.flush().await.is_err() {
                    return;
                }
                io.start_deflate();
            }
            Flow::StartTls => {
                if io.flush().await.is_err() {
                    return;
                }
                // Input pipelined after STARTTLS is dropped with the old
                // buffer (RFC 9051 6.2.1: no plaintext injection).
                let (plain, _) = io.into_parts();
                let Ok(secure) = upgrader.upgrade(plain).await else {
                    return;
                };
                io = Io::new(secure, opts.max_line, opts.max_literal)
                    .with_budget(opts.budget.clone());
                s.tls = true;
            }
        }
    }
}

#[cfg(test)]
mod footprint {
    use super::*;

    struct NoTls;

    impl Upgrade<tokio::io::DuplexStream> for NoTls {
        fn upgrade(
            &self,
            s: tokio::io::DuplexStream,
        ) -> std::pin::Pin<
            Box<
                dyn std::future::Future<Output = std::io::Result<tokio::io::DuplexStream>>
                    + Send
                    + '_,
            >,
        > {
            Box::pin(async move { Ok(s) })
        }
    }

    /// What every connection holds for its whole life — the session, its
    /// I/O, the state of its loop and of IDLE — stays small: ten thousand
    /// idling sessions multiply it. (Sizes of a debug build, which are the
    /// larger; the bounds leave room for small changes, not for a store
    /// read kept inline or a copy of the server's `Security`.)
    #[tokio::test]
    async fn an_idling_session_holds_little() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_sqlite_for_tests(dir.path())
            .await
            .expect("store");
        let opts = Arc::new(Options::default());
        let (_a, b) = tokio::io::duplex(64);
        let mut io = Io::new(b, 4096, 4096);
        let gate = Gate::open("imap");
        let mut s = Session::new(store.clone(), opts.clone(), true, "p".into(), gate);
        assert_eq!(
            std::mem::size_of::<tern_common::security::Security>(),
            std::mem::size_of::<usize>(),
            "Security is shared, not copied"
        );
        assert!(std::mem::size_of::<Session>() <= 512);
        let idle = std::mem::size_of_val(&s.idle(&mut io, "t"));
        assert!(idle <= 800, "IDLE's wait is {idle} bytes");
        let (_a2, b2) = tokio::io::duplex(64);
        let stop = CancellationToken::new();
        let whole = std::mem::size_of_val(&run(
            store,
            opts,
            b2,
            true,
            &NoTls,
            stop,
            "p".into(),
            Gate::open("imap"),
        ));
        assert!(whole <= 2048, "a session's future is {whole} bytes");
    }
}
