//! The answers to an ACME CA's validation requests while an order is open:
//! tls-alpn-01 (RFC 8737) certificates by name, served to a handshake that
//! offers ALPN `acme-tls/1`, and http-01 (RFC 8555 8.3) key
//! authorizations by token, served at `/.well-known/acme-challenge/`.
//!
//! The rule: `acme-tls/1` is negotiated only with a ClientHello that
//! offers it, only with a challenge certificate for the name asked, and
//! such a connection carries no application data (RFC 8737 4): the
//! listener closes it after the handshake.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rustls::sign::CertifiedKey;

/// RFC 8737 6.2: the ALPN protocol name of tls-alpn-01.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// At most this many answers at once: only tern's own orders put any in,
/// a few names each.
const MAX_ENTRIES: usize = 256;

/// The open challenges of this process; cheap to share.
#[derive(Debug, Default)]
pub struct Challenges {
    alpn: RwLock<HashMap<String, Arc<CertifiedKey>>>,
    http: RwLock<HashMap<String, String>>,
}

impl Challenges {
    pub fn new() -> Arc<Challenges> {
        Arc::new(Challenges::default())
    }

    /// Answer tls-alpn-01 for `name` with `cert` (RFC 8737 3).
    pub fn put_alpn(&self, name: &str, cert: CertifiedKey) {
        let mut m = self.alpn.write().unwrap_or_else(|p| p.into_inner());
        if m.len() < MAX_ENTRIES || m.contains_key(name) {
            m.insert(name.to_ascii_lowercase(), Arc::new(cert));
        }
    }

    pub fn remove_alpn(&self, name: &str) {
        let mut m = self.alpn.write().unwrap_or_else(|p| p.into_inner());
        m.remove(&name.to_ascii_lowercase());
    }

    /// The tls-alpn-01 certificate for `name`, while its challenge is open.
    pub fn alpn(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        let m = self.alpn.read().unwrap_or_else(|p| p.into_inner());
        m.get(&name.to_ascii_lowercase()).cloned()
    }

    /// Answer http-01 for `token` with `key_authorization` (RFC 8555 8.3).
    pub fn put_http(&self, token: &str, key_authorization: &str) {
        let mut m = self.http.write().unwrap_or_else(|p| p.into_inner());
        if m.len() < MAX_ENTRIES || m.contains_key(token) {
            m.insert(token.to_string(), key_authorization.to_string());
        }
    }

    pub fn remove_http(&self, token: &str) {
        let mut m = self.http.write().unwrap_or_else(|p| p.into_inner());
        m.remove(token);
    }

    /// The key authorization for `token`, while its challenge is open here.
    pub fn http(&self, token: &str) -> Option<String> {
        let m = self.http.read().unwrap_or_else(|p| p.into_inner());
        m.get(token).cloned()
    }
}

/// Resolves only challenge certificates, by SNI (RFC 8737 3: the name
/// being validated is in the SNI extension).
#[derive(Debug)]
struct AlpnResolver(Arc<Challenges>);

impl rustls::server::ResolvesServerCert for AlpnResolver {
    fn resolve(&self, hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.alpn(hello.server_name()?)
    }
}

/// The server configuration for a handshake that offers `acme-tls/1`:
/// that protocol only, the challenge certificates only.
pub fn challenge_config(
    challenges: Arc<Challenges>,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(AlpnResolver(challenges)));
    cfg.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    Ok(Arc::new(cfg))
}

/// Whether a ClientHello offers `acme-tls/1`.
pub fn offers_acme_alpn(hello: &rustls::server::ClientHello<'_>) -> bool {
    hello
        .alpn()
        .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN))
}
