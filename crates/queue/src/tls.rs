//! TLS for outbound SMTP. Opportunistic STARTTLS (RFC 7435) encrypts
//! without authenticating the server, since a server that cannot prove its
//! name is still better reached encrypted than in clear; policies that
//! demand authenticated TLS (MTA-STS, DANE) are decided before this.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsPolicy {
    /// Never STARTTLS (a relay on a trusted network configured so).
    Plain,
    /// STARTTLS when offered; plain text otherwise (logged).
    Opportunistic,
    /// STARTTLS or no delivery (per-domain "require TLS", relay `starttls`).
    Required,
    /// STARTTLS with a certificate valid for the host (MTA-STS enforce).
    Verified,
    /// STARTTLS with a certificate matching the host's TLSA records (DANE,
    /// RFC 7672).
    Dane,
}

impl TlsPolicy {
    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            TlsPolicy::Required | TlsPolicy::Verified | TlsPolicy::Dane
        )
    }
}

/// Accepts any certificate: encryption without authentication.
#[derive(Debug)]
struct Unauthenticated(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unauthenticated {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client configuration for opportunistic and required-but-unverified TLS.
pub fn opportunistic_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CFG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CFG.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map(|b| {
                Arc::new(
                    b.dangerous()
                        .with_custom_certificate_verifier(Arc::new(Unauthenticated(provider)))
                        .with_no_client_auth(),
                )
            })
            .map_err(|e| format!("TLS client set-up: {e}"))
    })
    .clone()
}

/// A client configuration that authenticates servers: the system's trust
/// anchors plus those of `extra` (PEM), for MTA-STS.
pub fn verified_config(
    extra: Option<&std::path::Path>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let _ = roots.add_parsable_certificates(native.certs);
    if let Some(p) = extra {
        use rustls::pki_types::pem::PemObject;
        let pem = std::fs::read(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{} is not PEM: {e:?}", p.display()))?;
        roots.add_parsable_certificates(certs);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
        .map_err(|e| format!("TLS client set-up: {e}"))
}

pub async fn connect(
    tcp: TcpStream,
    host: &str,
    config: Arc<rustls::ClientConfig>,
) -> Result<TlsStream<TcpStream>, String> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| format!("bad server name {host}: {e}"))?;
    let connector = TlsConnector::from(config);
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        connector.connect(name, tcp),
    )
    .await
    .map_err(|_| "TLS handshake timed out".to_string())?
    .map_err(|e| format!("TLS handshake failed: {e}"))
}

/// "TLSv1.3 TLS13_AES_256_GCM_SHA384", for logs and trace headers.
pub fn describe(s: &TlsStream<TcpStream>) -> String {
    let c = s.get_ref().1;
    format!(
        "{} {}",
        c.protocol_version()
            .and_then(|v| v.as_str())
            .unwrap_or("TLS"),
        c.negotiated_cipher_suite()
            .and_then(|c| c.suite().as_str())
            .unwrap_or("?")
    )
}
