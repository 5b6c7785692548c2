//! An rspamd client over its HTTP protocol (no milter): `/checkv2` for a
//! verdict on a message, `/learnspam` and `/learnham` on the controller
//! when a user moves mail into or out of Junk. Plain HTTP: rspamd runs on
//! the same machine or a private network (its own protocol has no TLS of
//! its own either); every call is bounded by a time-out.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

/// The largest answer read from rspamd.
const MAX_ANSWER: usize = 1024 * 1024;

/// What rspamd says to do with a message (its `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Reject,
    SoftReject,
    Greylist,
    AddHeader,
    RewriteSubject,
    NoAction,
}

impl Action {
    fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "reject" => Action::Reject,
            "soft reject" => Action::SoftReject,
            "greylist" => Action::Greylist,
            "add header" => Action::AddHeader,
            "rewrite subject" => Action::RewriteSubject,
            "no action" => Action::NoAction,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Action::Reject => "reject",
            Action::SoftReject => "soft reject",
            Action::Greylist => "greylist",
            Action::AddHeader => "add header",
            Action::RewriteSubject => "rewrite subject",
            Action::NoAction => "no action",
        }
    }
}

/// rspamd's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub action: Action,
    pub score: f64,
    pub required: f64,
    /// The symbols that fired, by name (for the log).
    pub symbols: Vec<String>,
}

/// Who sent the message, as rspamd's request headers carry it.
#[derive(Debug, Clone, Default)]
pub struct Envelope<'a> {
    pub ip: String,
    pub helo: &'a str,
    pub from: &'a str,
    pub rcpts: Vec<String>,
    /// The authenticated account, for submissions.
    pub user: Option<&'a str>,
    pub queue_id: &'a str,
}

#[derive(Debug)]
pub enum Error {
    Timeout,
    Http(String),
    Status(u16),
    Answer(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Timeout => f.write_str("rspamd did not answer in time"),
            Error::Http(e) => write!(f, "rspamd: {e}"),
            Error::Status(s) => write!(f, "rspamd answered HTTP {s}"),
            Error::Answer(e) => write!(f, "rspamd's answer: {e}"),
        }
    }
}

#[derive(Deserialize)]
struct CheckAnswer {
    action: String,
    #[serde(default)]
    score: f64,
    #[serde(default)]
    required_score: f64,
    #[serde(default)]
    symbols: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone)]
pub struct Rspamd {
    check: String,
    controller: String,
    password: Option<String>,
    timeout: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
}

fn header(s: &str) -> HeaderValue {
    // Values come from the session (names, addresses): anything a header
    // cannot carry is dropped rather than failing the check.
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

impl Rspamd {
    /// `url` answers `/checkv2`; `controller` (default: `url`) the learn
    /// calls, with `password` when it has one.
    pub fn new(
        url: &str,
        controller: Option<&str>,
        password: Option<String>,
        timeout: Duration,
    ) -> Rspamd {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(timeout));
        http.set_nodelay(true);
        let base = |u: &str| u.trim_end_matches('/').to_string();
        Rspamd {
            check: base(url),
            controller: base(controller.unwrap_or(url)),
            password,
            timeout,
            client: Client::builder(TokioExecutor::new()).build(http),
        }
    }

    async fn post(&self, req: Request<Full<Bytes>>) -> Result<Bytes, Error> {
        let call = async {
            let res = self
                .client
                .request(req)
                .await
                .map_err(|e| Error::Http(e.to_string()))?;
            let status = res.status().as_u16();
            let body = Limited::new(res.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| Error::Http(e.to_string()))?
                .to_bytes();
            if status != 200 {
                return Err(Error::Status(status));
            }
            Ok(body)
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| Error::Timeout)?
    }

    /// rspamd's verdict on `message` (RFC 5322 bytes).
    pub async fn check(&self, env: &Envelope<'_>, message: Bytes) -> Result<Verdict, Error> {
        let mut req = Request::post(format!("{}/checkv2", self.check))
            .header(CONTENT_LENGTH, message.len())
            .header("Ip", header(&env.ip))
            .header("Helo", header(env.helo))
            .header("From", header(env.from))
            .header("Queue-Id", header(env.queue_id))
            .header("Pass", "all");
        for r in &env.rcpts {
            req = req.header("Rcpt", header(r));
        }
        if let Some(u) = env.user {
            req = req.header("User", header(u));
        }
        let req = req
            .body(Full::new(message))
            .map_err(|e| Error::Http(e.to_string()))?;
        let body = self.post(req).await?;
        let a: CheckAnswer =
            serde_json::from_slice(&body).map_err(|e| Error::Answer(e.to_string()))?;
        let action = Action::parse(&a.action)
            .ok_or_else(|| Error::Answer(format!("unknown action {:?}", a.action)))?;
        let mut symbols: Vec<String> = a.symbols.keys().take(50).cloned().collect();
        symbols.sort();
        Ok(Verdict {
            action,
            score: a.score,
            required: a.required_score,
            symbols,
        })
    }

    /// Teach rspamd that `message` is spam (or ham).
    pub async fn learn(&self, spam: bool, message: Bytes) -> Result<(), Error> {
        let path = if spam { "learnspam" } else { "learnham" };
        let mut req = Request::post(format!("{}/{path}", self.controller))
            .header(CONTENT_LENGTH, message.len());
        if let Some(p) = &self.password {
            req = req.header(HeaderName::from_static("password"), header(p));
        }
        let req = req
            .body(Full::new(message))
            .map_err(|e| Error::Http(e.to_string()))?;
        match self.post(req).await {
            Ok(body) => {
                // `{"success":true}`; anything else is a refusal (a message
                // with too few words, the classifier not ready).
                let ok = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("success").and_then(|s| s.as_bool()))
                    .unwrap_or(false);
                if ok {
                    Ok(())
                } else {
                    Err(Error::Answer(
                        String::from_utf8_lossy(&body).chars().take(200).collect(),
                    ))
                }
            }
            // rspamd answers 208 for a message it already learned: fine.
            Err(Error::Status(208)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_rspamd_names_is_known() {
        for a in [
            Action::Reject,
            Action::SoftReject,
            Action::Greylist,
            Action::AddHeader,
            Action::RewriteSubject,
            Action::NoAction,
        ] {
            assert_eq!(Action::parse(a.name()), Some(a));
        }
        assert_eq!(Action::parse("discard"), None);
    }
}
