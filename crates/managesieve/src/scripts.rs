//! The commands of the authenticated state (RFC 5804 2.3, 2.5–2.12):
//! HAVESPACE, PUTSCRIPT (compiled first, by the management layer's
//! compiler; errors with their line and column), LISTSCRIPTS, SETACTIVE,
//! GETSCRIPT, DELETESCRIPT (not the active script: ACTIVE),
//! RENAMESCRIPT, CHECKSCRIPT, on the account's scripts in the store.

use tern_manage::{PutError, check_script_blocking, put_script};
use tern_store::{AccountId, SieveLimit, StoreError};

use crate::auth::text;
use crate::framing::Arg;
use crate::reply::string;
use crate::state::{Flow, Session};

/// The octets of a string argument (a script need not be valid UTF-8 to
/// be judged; the compiler says where it is not).
fn octets(arg: Option<&Arg>) -> Option<&[u8]> {
    match arg {
        Some(Arg::Str(s)) => Some(s),
        _ => None,
    }
}

impl Session {
    /// A store error as ManageSieve's response codes say it (RFC 5804 1.3).
    fn store_no(&mut self, e: StoreError) -> Flow {
        match e {
            StoreError::NotFound(_) => self.no(Some("NONEXISTENT"), &e.to_string()),
            StoreError::Duplicate(_) => self.no(Some("ALREADYEXISTS"), &e.to_string()),
            StoreError::Active(_) => self.no(Some("ACTIVE"), &e.to_string()),
            StoreError::Limit(SieveLimit::Scripts, m) => self.no(Some("QUOTA/MAXSCRIPTS"), &m),
            StoreError::Limit(SieveLimit::Size, m) => self.no(Some("QUOTA/MAXSIZE"), &m),
            StoreError::Invalid(m) => self.no(None, &m),
            e => {
                let user = match &self.state {
                    crate::state::State::Authenticated(u) => u.name.as_str(),
                    _ => "",
                };
                tracing::warn!(peer = %self.peer, user, error = %e, "managesieve: store error");
                self.no(
                    Some("TRYLATER"),
                    "the store is unavailable; try again later",
                )
            }
        }
    }

    pub(crate) async fn scripts(&mut self, account: AccountId, name: &str, rest: &[Arg]) -> Flow {
        match (name, rest.len()) {
            ("HAVESPACE", 2) => {
                let size = match &rest[1] {
                    Arg::Atom(n) => n.parse::<u64>().ok(),
                    Arg::Str(_) => None,
                };
                let (Some(script), Some(size)) = (text(rest.first()), size) else {
                    return self.error("HAVESPACE takes a name and a number");
                };
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                match self.store.sieve_have_space(account, script, size).await {
                    Ok(()) => self.ok(""),
                    Err(e) => self.store_no(e),
                }
            }
            ("PUTSCRIPT", 2) => {
                let (Some(script), Some(body)) = (text(rest.first()), octets(rest.get(1))) else {
                    return self.error("PUTSCRIPT takes a name and a script");
                };
                match put_script(&self.store, account, script, body).await {
                    Ok(_) => self.ok(""),
                    Err(PutError::Script(e)) => self.no(None, &e.to_string()),
                    Err(PutError::Store(e)) => self.store_no(e),
                }
            }
            ("CHECKSCRIPT", 1) => {
                let Some(body) = octets(rest.first()) else {
                    return self.error("CHECKSCRIPT takes a script");
                };
                match check_script_blocking(body).await {
                    Ok(_) => self.ok(""),
                    Err(e) => self.no(None, &e.to_string()),
                }
            }
            ("LISTSCRIPTS", 0) => match self.store.sieve_list(account).await {
                Ok(list) => {
                    for s in list {
                        let mut line = string(s.name.as_bytes());
                        if s.active {
                            line.extend_from_slice(b" ACTIVE");
                        }
                        line.extend_from_slice(b"\r\n");
                        self.push(&line);
                    }
                    self.ok("")
                }
                Err(e) => self.store_no(e),
            },
            ("SETACTIVE", 1) => {
                let Some(script) = text(rest.first()) else {
                    return self.error("SETACTIVE takes a name");
                };
                // RFC 5804 2.8: the empty name leaves no script active.
                let r = if script.is_empty() {
                    self.store.sieve_deactivate(account).await.map(|_| ())
                } else {
                    self.store.sieve_activate(account, script).await
                };
                match r {
                    Ok(()) => self.ok(""),
                    Err(e) => self.store_no(e),
                }
            }
            ("GETSCRIPT", 1) => {
                let Some(script) = text(rest.first()) else {
                    return self.error("GETSCRIPT takes a name");
                };
                match self.store.sieve_get(account, script).await {
                    Ok(Some(s)) => {
                        // RFC 5804 2.9: always a literal.
                        let body = s.content.as_bytes();
                        self.push(format!("{{{}}}\r\n", body.len()).as_bytes());
                        self.push(body);
                        self.push(b"\r\n");
                        self.ok("")
                    }
                    Ok(None) => self.no(Some("NONEXISTENT"), "no such script"),
                    Err(e) => self.store_no(e),
                }
            }
            ("DELETESCRIPT", 1) => {
                let Some(script) = text(rest.first()) else {
                    return self.error("DELETESCRIPT takes a name");
                };
                match self.store.sieve_remove(account, script).await {
                    Ok(()) => self.ok(""),
                    Err(e) => self.store_no(e),
                }
            }
            ("RENAMESCRIPT", 2) => {
                let (Some(from), Some(to)) = (text(rest.first()), text(rest.get(1))) else {
                    return self.error("RENAMESCRIPT takes two names");
                };
                match self.store.sieve_rename(account, from, to).await {
                    Ok(()) => self.ok(""),
                    Err(e) => self.store_no(e),
                }
            }
            _ => self.error("wrong arguments"),
        }
    }

    /// A literal over the limit (its octets skipped): a script too large
    /// for PUTSCRIPT (QUOTA/MAXSIZE), a protocol error otherwise; before
    /// login, the end of the connection.
    pub(crate) fn too_large(&mut self, args: &[Arg], size: u64) -> Flow {
        if self.account().is_none() {
            self.push(&crate::reply::response("BYE", None, "literal too large"));
            return Flow::Close;
        }
        match args.first() {
            Some(Arg::Atom(a))
                if a.eq_ignore_ascii_case("PUTSCRIPT") || a.eq_ignore_ascii_case("CHECKSCRIPT") =>
            {
                self.no(
                    Some("QUOTA/MAXSIZE"),
                    &format!(
                        "the script is {size} bytes; the most a script may have is {}",
                        tern_store::MAX_SIEVE_SCRIPT_SIZE
                    ),
                )
            }
            _ => self.error("literal too large"),
        }
    }
}
