//! What `tern doctor` asks about a domain's own records, with the same
//! rules tern applies to mail from others: SPF as evaluated for a message
//! (RFC 7208, lookup and void limits), and DMARC discovery (RFC 7489 6.6.3).

use std::net::IpAddr;

use mail_auth::spf::verify::SpfParameters;
use mail_auth::{MessageAuthenticator, SpfResult};

/// SPF's verdict for mail from `postmaster@domain` sent by `ip`, which
/// greets as `helo`.
pub async fn spf(auth: &MessageAuthenticator, ip: IpAddr, helo: &str, domain: &str) -> SpfResult {
    let sender = format!("postmaster@{domain}");
    let params = SpfParameters::verify_mail_from(ip, helo, helo, &sender);
    crate::spf::verify(auth, params, domain).await.result()
}

/// The DMARC policy published at `_dmarc.<domain>` itself: `Ok(p=…)`, or
/// why there is none.
pub async fn dmarc(auth: &MessageAuthenticator, domain: &str) -> Result<String, String> {
    crate::dmarc::own_record(auth, domain).await
}
