//! The answers to an ACME CA's validation requests while an order is open:
//! tls-alpn-01 (RFC 8737) certificates by name, served to a handshake that
//! offers ALPN `acme-tls/1`, and http-01 (RFC 8555 8.3) key
//! authorizations by token, served at `/.well-known/acme-challenge/`.
//!
//! With several nodes, the CA may ask a node that did not order: the
//! ordering node publishes each tls-alpn-01 digest in the store too, and a
//! `Lookup` finds it there when this node has no certificate for the name.
//!
//! The rule: `acme-tls/1` is negotiated only with a ClientHello that
//! offers it, only with a challenge certificate for the name asked, and
//! such a connection carries no application data (RFC 8737 4): the
//! listener closes it after the handshake.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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
fn challenge_config(
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

/// Where a tls-alpn-01 challenge another node opened is found (the store).
pub trait Lookup: Send + Sync + 'static {
    /// The SHA-256 digest of the key authorization of the open tls-alpn-01
    /// challenge for `name`, if there is one.
    fn alpn_digest(&self, name: &str)
    -> Pin<Box<dyn Future<Output = Option<Vec<u8>>> + Send + '_>>;
}

/// What a listener answers tls-alpn-01 handshakes with.
#[derive(Clone)]
pub struct ChallengeTls {
    challenges: Arc<Challenges>,
    config: Arc<rustls::ServerConfig>,
    lookup: Option<Arc<dyn Lookup>>,
}

impl ChallengeTls {
    pub fn new(
        challenges: Arc<Challenges>,
        lookup: Option<Arc<dyn Lookup>>,
    ) -> Result<ChallengeTls, rustls::Error> {
        Ok(ChallengeTls {
            config: challenge_config(challenges.clone())?,
            challenges,
            lookup,
        })
    }

    /// The configuration for a hello offering `acme-tls/1` and naming
    /// `sni`: this node's challenges, else one found by the lookup (a
    /// certificate made for this handshake alone), else this node's
    /// (which has nothing for the name: the handshake fails).
    pub async fn config_for(&self, sni: Option<&str>) -> Arc<rustls::ServerConfig> {
        let (Some(name), Some(lookup)) = (sni, &self.lookup) else {
            return self.config.clone();
        };
        if self.challenges.alpn(name).is_some() {
            return self.config.clone();
        }
        let Some(digest) = lookup.alpn_digest(name).await else {
            return self.config.clone();
        };
        match alpn_cert(name, &digest).and_then(single_config) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(name, error = %e, "acme tls-alpn-01 certificate not made");
                self.config.clone()
            }
        }
    }
}

/// RFC 8737 3: a self-signed certificate for `name` alone with the
/// critical acmeIdentifier extension holding the SHA-256 digest of the
/// key authorization.
pub fn alpn_cert(name: &str, digest: &[u8]) -> Result<CertifiedKey, rustls::Error> {
    let err = |e: rcgen::Error| rustls::Error::General(format!("challenge certificate: {e}"));
    let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).map_err(err)?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let pair = rcgen::KeyPair::generate().map_err(err)?;
    let cert = params.self_signed(&pair).map_err(err)?;
    let key = PrivateKeyDer::Pkcs8(pair.serialize_der().into());
    // Not `tls::certified_from`: its check that key and certificate match
    // parses the certificate with webpki, which refuses the critical
    // extension this certificate exists for. Both were made just above.
    let signing = rustls::crypto::aws_lc_rs::default_provider()
        .key_provider
        .load_private_key(key)?;
    Ok(CertifiedKey::new(
        vec![CertificateDer::from(cert.der().to_vec())],
        signing,
    ))
}

/// One certificate, whatever the hello.
#[derive(Debug)]
struct One(Arc<CertifiedKey>);

impl rustls::server::ResolvesServerCert for One {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A configuration serving `cert` to `acme-tls/1` alone.
fn single_config(cert: CertifiedKey) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(One(Arc::new(cert))));
    cfg.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    Ok(Arc::new(cfg))
}

/// Whether a ClientHello offers `acme-tls/1`.
pub fn offers_acme_alpn(hello: &rustls::server::ClientHello<'_>) -> bool {
    hello
        .alpn()
        .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::pki_types::{ServerName, UnixTime};

    /// The CA's side: any certificate, kept for the test to look at.
    #[derive(Debug, Default)]
    struct Seen(std::sync::Mutex<Vec<u8>>);

    impl ServerCertVerifier for Seen {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            *self.0.lock().unwrap() = end_entity.to_vec();
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            rustls::crypto::aws_lc_rs::default_provider()
                .signature_verification_algorithms
                .supported_schemes()
        }
    }

    /// Drive a handshake for `name` offering acme-tls/1 in memory: the
    /// served leaf, or the error.
    fn handshake(server: Arc<rustls::ServerConfig>, name: &str) -> Result<Vec<u8>, String> {
        let seen = Arc::new(Seen::default());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(seen.clone())
            .with_no_client_auth();
        cfg.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
        let sn = ServerName::try_from(name.to_string()).unwrap();
        let mut client = rustls::ClientConnection::new(Arc::new(cfg), sn).unwrap();
        let mut srv = rustls::ServerConnection::new(server).unwrap();
        for _ in 0..10 {
            let mut buf = Vec::new();
            client.write_tls(&mut buf).unwrap();
            srv.read_tls(&mut &buf[..]).unwrap();
            srv.process_new_packets().map_err(|e| e.to_string())?;
            let mut buf = Vec::new();
            srv.write_tls(&mut buf).unwrap();
            client.read_tls(&mut &buf[..]).unwrap();
            client.process_new_packets().map_err(|e| e.to_string())?;
            if !client.is_handshaking() {
                assert_eq!(client.alpn_protocol(), Some(ACME_TLS_ALPN));
                return Ok(seen.0.lock().unwrap().clone());
            }
        }
        Err("handshake did not finish".into())
    }

    struct Fixed;
    impl Lookup for Fixed {
        fn alpn_digest(
            &self,
            name: &str,
        ) -> Pin<Box<dyn Future<Output = Option<Vec<u8>>> + Send + '_>> {
            let d = (name == "b.example").then(|| vec![7u8; 32]);
            Box::pin(async move { d })
        }
    }

    /// RFC 8737 3: the id-pe-acmeIdentifier extension (1.3.6.1.5.5.7.1.31),
    /// critical, holding the digest as an OCTET STRING.
    fn has_acme_identifier(der: &[u8], digest: &[u8]) -> bool {
        let oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x1f];
        let mut value = vec![0x04, 0x20];
        value.extend_from_slice(digest);
        der.windows(oid.len()).any(|w| w == oid) && der.windows(value.len()).any(|w| w == value)
    }

    #[tokio::test]
    async fn a_challenge_is_answered_from_this_node_or_the_lookup_and_nothing_else() {
        let ch = Challenges::new();
        ch.put_alpn("A.example", alpn_cert("a.example", &[9u8; 32]).unwrap());
        let t = ChallengeTls::new(ch.clone(), Some(Arc::new(Fixed))).unwrap();
        let here = handshake(t.config_for(Some("a.example")).await, "a.example").unwrap();
        assert!(has_acme_identifier(&here, &[9u8; 32]));
        let there = handshake(t.config_for(Some("b.example")).await, "b.example").unwrap();
        assert!(has_acme_identifier(&there, &[7u8; 32]));
        // No challenge open for the name: no certificate, no handshake.
        assert!(handshake(t.config_for(Some("c.example")).await, "c.example").is_err());
        ch.remove_alpn("a.example");
        assert!(handshake(t.config_for(Some("a.example")).await, "a.example").is_err());
    }
}
