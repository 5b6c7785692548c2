//! LOGIN and AUTHENTICATE PLAIN (RFC 9051 6.2.2, 6.2.3; RFC 4616; SASL-IR
//! RFC 4959). Only reached over TLS: the session refuses both before.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::protocol::io::Io;
use crate::protocol::io::Wire;
use crate::session::{Flow, Session, capabilities};
use crate::state::Login;

const BAD_LOGIN: &str = "NO [AUTHENTICATIONFAILED] invalid user name or password";

/// `[authzid] NUL authcid NUL passwd` (`tern_common::sasl`); an authzid
/// other than the authcid is refused (no proxy login).
pub(crate) fn decode_plain(b64: &[u8]) -> Option<(String, String)> {
    tern_common::sasl::decode_plain(b64).map(|p| (p.authcid, p.password))
}

impl Session {
    pub(crate) async fn authenticate<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        mechanism: &str,
        initial: Option<Vec<u8>>,
    ) -> Flow {
        if !mechanism.eq_ignore_ascii_case("PLAIN") {
            io.push_str(&format!(
                "{tag} NO unsupported authentication mechanism\r\n"
            ));
            return Flow::Continue;
        }
        let response = match initial {
            // imap-codec hands over the decoded initial response ("=" is empty).
            Some(ir) => STANDARD.encode(ir).into_bytes(),
            None => {
                io.push(b"+ \r\n");
                if io.flush().await.is_err() {
                    return Flow::Close;
                }
                let line = match io.read_line().await {
                    Ok(Ok(Some(l))) => l,
                    Ok(Err(_)) => return self.bad(io, tag, "response too long"),
                    _ => return Flow::Close,
                };
                let line = line.strip_suffix(b"\r\n").unwrap_or(&line).to_vec();
                if line == b"*" {
                    // RFC 9051 6.2.2: the client cancelled.
                    return self.bad(io, tag, "authentication cancelled");
                }
                line
            }
        };
        match decode_plain(&response) {
            Some((user, pass)) => self.login(io, tag, &user, &pass).await,
            None => self.failed(io, tag, "").await,
        }
    }

    async fn failed<S: Wire>(&mut self, io: &mut Io<S>, tag: &str, user: &str) -> Flow {
        let delay = self.gate.failure(user, self.opts.auth_failure_delay);
        tokio::time::sleep(delay).await;
        self.auth_failures += 1;
        io.push_str(&format!("{tag} {BAD_LOGIN}\r\n"));
        if self.auth_failures >= self.opts.max_auth_failures {
            io.push(b"* BYE too many failed logins\r\n");
            return Flow::Close;
        }
        Flow::Continue
    }

    pub(crate) async fn login<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        user: &str,
        pass: &str,
    ) -> Flow {
        // Every spelling of one account is one name to the throttle.
        let key = match self.store.login_key(user).await {
            Ok(k) => k,
            Err(_) => tern_common::address::login_key(user),
        };
        if !self.gate.check(&key) {
            return self.failed(io, tag, &key).await;
        }
        let (account, credential) = match self.store.authenticate(user, pass).await {
            Ok(Some(login)) => (login.account, login.credential),
            Ok(None) => {
                tracing::info!(peer = %self.peer, user = %key, "imap login failed");
                return self.failed(io, tag, &key).await;
            }
            Err(e) => {
                tracing::warn!(peer = %self.peer, error = %e, "imap authentication unavailable");
                io.push_str(&format!(
                    "{tag} NO [UNAVAILABLE] authentication unavailable; try later\r\n"
                ));
                return Flow::Continue;
            }
        };
        let app_password = credential.app_password();
        if self.gate.success_with(&account.name, app_password).is_err() {
            // The connection limits' refusal: untagged BYE, then close
            // (RFC 9051 7.1.5 UNAVAILABLE).
            io.push_str(
                "* BYE [UNAVAILABLE] too many connections for this account; try again later\r\n",
            );
            return Flow::Close;
        }
        let events = self.store.subscribe(account.id);
        self.state.log_in(Login::new(account, events));
        io.push_str(&format!(
            "{tag} OK [CAPABILITY {}] logged in\r\n",
            capabilities(self.tls, true, &self.opts)
        ));
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain() {
        let b = STANDARD.encode(b"\0bob@x\0pw");
        assert_eq!(
            decode_plain(b.as_bytes()),
            Some(("bob@x".into(), "pw".into()))
        );
        let b = STANDARD.encode(b"eve\0bob@x\0pw");
        assert_eq!(decode_plain(b.as_bytes()), None);
        assert_eq!(decode_plain(b"!!"), None);
    }
}
