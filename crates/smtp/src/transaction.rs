//! What a mail transaction carries to delivery: the envelope with its
//! accepted recipients, the session facts the trace field and the checks
//! need, and the envelope sender of a copy that leaves (SRS). Shared by
//! local delivery (`deliver.rs`) and Sieve (`sieve.rs`).

use std::net::IpAddr;

use tern_common::Address;
use tern_common::listener::TlsInfo;
use tern_store::Target;

use crate::Shared;

/// An accepted recipient and what it resolved to.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub address: Address,
    pub orcpt: Option<String>,
    pub notify: String,
    pub accounts: Vec<Target>,
    pub remote: Vec<Address>,
}

/// The transaction's envelope (RFC 3461 parameters kept with it).
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// Empty for the null sender.
    pub sender: String,
    pub smtputf8: bool,
    pub eightbit: bool,
    pub requiretls: bool,
    pub ret: Option<String>,
    pub envid: Option<String>,
    pub rcpts: Vec<Accepted>,
}

pub struct SessionInfo {
    pub helo: String,
    pub esmtp: bool,
    pub ip: IpAddr,
    pub tls: Option<TlsInfo>,
    /// Submission by an authenticated user (RFC 3848 ESMTPA/ESMTPSA).
    pub authenticated: bool,
    /// Leave the client's address out of Received (submission privacy).
    pub hide_ip: bool,
    /// Deliver at most once under this key (a message fetched by
    /// SOURCE/GET, keyed by its identifier).
    pub once: Option<String>,
}

/// The envelope sender of a forwarded copy: rewritten with SRS (store
/// `srs.rs`) so that the next hop's SPF check passes for this server,
/// unless it is the null sender or of a domain hosted here (whose SPF
/// already names this server).
pub(crate) async fn srs_sender(
    shared: &Shared,
    sender: &str,
    alias_domain: &str,
) -> tern_store::Result<String> {
    let Some((_, domain)) = sender.rsplit_once('@') else {
        return Ok(sender.to_string());
    };
    if shared.store.is_local_domain(domain).await? {
        return Ok(sender.to_string());
    }
    let srs = shared.store.srs().await?;
    Ok(srs
        .forward(sender, alias_domain, tern_common::time::now_secs())
        .unwrap_or_else(|| sender.to_string()))
}
