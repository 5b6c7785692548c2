//! TLS material: loading a certificate chain and key (checked to match) into
//! a rustls server configuration on aws-lc-rs, and the self-signed
//! certificate of the embedded default.

use std::path::Path;
use std::sync::{Arc, RwLock};

use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Cert,
    Key,
}

#[derive(Debug, Clone)]
pub struct TlsLoadError {
    pub part: Part,
    pub message: String,
}

impl std::fmt::Display for TlsLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = match self.part {
            Part::Cert => "certificate",
            Part::Key => "private key",
        };
        write!(f, "{p}: {}", self.message)
    }
}

impl std::error::Error for TlsLoadError {}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(aws_lc_rs::default_provider())
}

/// Load a PEM chain and key and check that they belong together.
pub fn load_server_config(
    cert: &Path,
    key: &Path,
) -> Result<Arc<rustls::ServerConfig>, TlsLoadError> {
    Ok(load_reloadable(cert, key)?.0)
}

/// `load_server_config`, with the slot that holds its certificate: a new
/// certificate put there serves every handshake from then on (SIGHUP).
pub fn load_reloadable(
    cert: &Path,
    key: &Path,
) -> Result<(Arc<rustls::ServerConfig>, Arc<CertSlot>), TlsLoadError> {
    let slot = Arc::new(CertSlot::new(certified_from_files(cert, key)?, false));
    Ok((server_config_with(slot.clone())?, slot))
}

/// The certificates every TLS listener serves, replaceable while running:
/// the `[tls]` pair (or the self-signed one) and the certificate an ACME
/// CA issued with the names it covers. Every listener's configuration
/// holds this one slot, so a certificate put here serves the next
/// handshake on all of them; open connections keep the one they began
/// with.
#[derive(Debug)]
pub struct CertSlot {
    file: RwLock<Arc<CertifiedKey>>,
    issued: RwLock<Option<Issued>>,
    /// There is no `[tls]` pair, only a temporary self-signed one: the
    /// issued certificate serves every name, and a handshake without SNI.
    issued_first: bool,
}

#[derive(Debug, Clone)]
struct Issued {
    names: Vec<String>,
    key: Arc<CertifiedKey>,
}

impl CertSlot {
    /// `issued_first`: the file pair is only a stand-in until an issued
    /// certificate arrives (`[acme]` without `[tls]`).
    pub fn new(file: CertifiedKey, issued_first: bool) -> CertSlot {
        CertSlot {
            file: RwLock::new(Arc::new(file)),
            issued: RwLock::new(None),
            issued_first,
        }
    }

    /// Load a new chain and key (checked as at start) and serve them from
    /// the next handshake on; on error the current ones stay.
    pub fn replace_from(&self, cert: &Path, key: &Path) -> Result<(), TlsLoadError> {
        let new = Arc::new(certified_from_files(cert, key)?);
        *self.file.write().unwrap_or_else(|p| p.into_inner()) = new;
        Ok(())
    }

    /// Serve an issued certificate for `names` from the next handshake on.
    pub fn set_issued(&self, names: Vec<String>, key: CertifiedKey) {
        *self.issued.write().unwrap_or_else(|p| p.into_inner()) = Some(Issued {
            names,
            key: Arc::new(key),
        });
    }

    /// The issued certificate served now, if any.
    pub fn issued(&self) -> Option<Arc<CertifiedKey>> {
        let g = self.issued.read().unwrap_or_else(|p| p.into_inner());
        g.as_ref().map(|i| i.key.clone())
    }

    /// The certificate a handshake naming `sni` (or none) gets.
    pub fn for_name(&self, sni: Option<&str>) -> Arc<CertifiedKey> {
        let issued = self.issued.read().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = issued.as_ref() {
            let named = sni.is_some_and(|n| i.names.iter().any(|m| m.eq_ignore_ascii_case(n)));
            if named || self.issued_first {
                return i.key.clone();
            }
        }
        self.file.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The certificate served now to a handshake without SNI (health
    /// reports its expiry).
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.for_name(None)
    }
}

impl rustls::server::ResolvesServerCert for CertSlot {
    fn resolve(&self, hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.for_name(hello.server_name()))
    }
}

/// A chain and key in PEM (as the store keeps an issued certificate),
/// checked to belong together.
pub fn certified_from_pem(cert_pem: &str, key_pem: &str) -> Result<CertifiedKey, TlsLoadError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| TlsLoadError {
            part: Part::Cert,
            message: format!("not valid PEM: {e:?}"),
        })?;
    if chain.is_empty() {
        return Err(TlsLoadError {
            part: Part::Cert,
            message: "no certificate".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| TlsLoadError {
        part: Part::Key,
        message: format!("no usable private key: {e:?}"),
    })?;
    certified_from(chain, key)
}

/// A chain and key from PEM files, checked to belong together.
pub fn certified_from_files(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsLoadError> {
    let cert_err = |m: String| TlsLoadError {
        part: Part::Cert,
        message: m,
    };
    let key_err = |m: String| TlsLoadError {
        part: Part::Key,
        message: m,
    };
    let cert_pem = std::fs::read(cert)
        .map_err(|e| cert_err(format!("cannot read {}: {e}", cert.display())))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| cert_err(format!("{} is not valid PEM: {e:?}", cert.display())))?;
    if chain.is_empty() {
        return Err(cert_err(format!("{} holds no certificate", cert.display())));
    }
    let key_pem =
        std::fs::read(key).map_err(|e| key_err(format!("cannot read {}: {e}", key.display())))?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        key_err(format!(
            "{} holds no usable private key: {e:?}",
            key.display()
        ))
    })?;
    certified_from(chain, key_der)
}

/// Build the server configuration from DER parts.
pub fn server_config_from(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, TlsLoadError> {
    let slot = CertSlot::new(certified_from(chain, key)?, false);
    server_config_with(Arc::new(slot))
}

/// A chain and key checked to belong together.
pub fn certified_from(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<CertifiedKey, TlsLoadError> {
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| TlsLoadError {
            part: Part::Key,
            message: format!("unsupported private key: {e}"),
        })?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| TlsLoadError {
        part: Part::Key,
        message: format!("does not match the certificate ({e})"),
    })?;
    Ok(certified)
}

/// A server configuration on aws-lc-rs whose certificates come from `slot`.
pub fn server_config_with(slot: Arc<CertSlot>) -> Result<Arc<rustls::ServerConfig>, TlsLoadError> {
    let cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsLoadError {
            part: Part::Cert,
            message: e.to_string(),
        })?
        .with_no_client_auth()
        .with_cert_resolver(slot);
    Ok(Arc::new(cfg))
}

/// The same configuration (the same hot-swappable certificate) offering
/// `protocols` by ALPN (RFC 7301): HTTPS offers `h2` and `http/1.1`. The mail
/// listeners keep a configuration without ALPN, so a mail client that
/// offers its own protocol name is never refused.
pub fn with_alpn(
    config: &Arc<rustls::ServerConfig>,
    protocols: &[&[u8]],
) -> Arc<rustls::ServerConfig> {
    let mut c = rustls::ServerConfig::clone(config);
    c.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
    Arc::new(c)
}

/// The embedded default's certificate: made once under `dir` and reused, so
/// clients that pinned it on first use keep trusting it.
pub fn self_signed(
    dir: &Path,
    hostname: &str,
) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
    use anyhow::Context;
    let cert = dir.join("self-signed.crt");
    let key = dir.join("self-signed.key");
    if cert.exists() && key.exists() && !made_by_an_older_tern(&cert) {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // The names a client on this machine may dial: the hostname, localhost
    // and the loopback addresses (as IP SANs, RFC 5280 4.2.1.6), so that a
    // client checking names (fetchmail on 127.0.0.1) accepts it once the
    // certificate itself is trusted. The subject's CN is the hostname.
    let names = vec![
        hostname.to_string(),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let mut params =
        rcgen::CertificateParams::new(names).context("the names of a self-signed certificate")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, hostname);
    let pair = rcgen::KeyPair::generate().context("generating a key")?;
    let made = params
        .self_signed(&pair)
        .context("generating a self-signed certificate")?;
    write_private(&key, pair.serialize_pem().as_bytes())?;
    std::fs::write(&cert, made.pem()).with_context(|| format!("writing {}", cert.display()))?;
    Ok((cert, key))
}

/// Older tern made its certificate with rcgen's simple defaults: subject
/// "rcgen self signed cert", no IP names, so a client dialling 127.0.0.1
/// refused it. Such a certificate is made again (once) with the names
/// above; one that does not load is left for the loader to report.
fn made_by_an_older_tern(cert: &Path) -> bool {
    const OLD_SUBJECT: &[u8] = b"rcgen self signed cert";
    let Ok(certs) = CertificateDer::pem_file_iter(cert) else {
        return false;
    };
    certs
        .filter_map(Result::ok)
        .any(|der| der.windows(OLD_SUBJECT.len()).any(|w| w == OLD_SUBJECT))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_loads_and_is_reused() {
        let d = tempfile::tempdir().unwrap();
        let (c, k) = self_signed(d.path(), "mx.example.org").unwrap();
        let first = std::fs::read(&c).unwrap();
        load_server_config(&c, &k).unwrap();
        let (c2, _) = self_signed(d.path(), "mx.example.org").unwrap();
        assert_eq!(first, std::fs::read(c2).unwrap());
    }

    /// A client that trusts the certificate accepts it for every name a
    /// local client may dial: the hostname, localhost, 127.0.0.1 and ::1.
    #[test]
    fn self_signed_names_the_host_and_the_loopback_addresses() {
        use rustls::pki_types::ServerName;
        let d = tempfile::tempdir().unwrap();
        let (c, k) = self_signed(d.path(), "mx.example.org").unwrap();
        let server_cfg = load_server_config(&c, &k).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&c).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let client_cfg = Arc::new(
            rustls::ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );
        for name in [
            "mx.example.org",
            "localhost",
            "127.0.0.1",
            "::1",
            "other.example",
        ] {
            let sn = ServerName::try_from(name).unwrap().to_owned();
            let mut client = rustls::ClientConnection::new(client_cfg.clone(), sn).unwrap();
            let mut server = rustls::ServerConnection::new(server_cfg.clone()).unwrap();
            let mut result = Ok(());
            for _ in 0..10 {
                let mut buf = Vec::new();
                client.write_tls(&mut buf).unwrap();
                server.read_tls(&mut &buf[..]).unwrap();
                if let Err(e) = server.process_new_packets() {
                    result = Err(e.to_string());
                    break;
                }
                let mut buf = Vec::new();
                server.write_tls(&mut buf).unwrap();
                client.read_tls(&mut &buf[..]).unwrap();
                if let Err(e) = client.process_new_packets() {
                    result = Err(e.to_string());
                    break;
                }
                if !client.is_handshaking() {
                    break;
                }
            }
            assert_eq!(
                result.is_ok(),
                name != "other.example",
                "{name}: {result:?}"
            );
        }
    }

    /// A certificate an older tern made (rcgen's default subject, no IP
    /// names) is replaced once by one with the loopback names; the new one
    /// is then kept.
    #[test]
    fn an_old_self_signed_certificate_is_made_again() {
        let d = tempfile::tempdir().unwrap();
        let old = rcgen::generate_simple_self_signed(vec!["mx.example.org".to_string()]).unwrap();
        std::fs::write(d.path().join("self-signed.crt"), old.cert.pem()).unwrap();
        std::fs::write(
            d.path().join("self-signed.key"),
            old.signing_key.serialize_pem(),
        )
        .unwrap();
        let (c, k) = self_signed(d.path(), "mx.example.org").unwrap();
        let first = std::fs::read(&c).unwrap();
        assert_ne!(first, old.cert.pem().into_bytes(), "replaced");
        assert!(!made_by_an_older_tern(&c));
        load_server_config(&c, &k).unwrap();
        let (c2, _) = self_signed(d.path(), "mx.example.org").unwrap();
        assert_eq!(std::fs::read(c2).unwrap(), first, "and then kept");
    }

    #[test]
    fn mismatched_key_is_refused() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let (c, _) = self_signed(a.path(), "a.example.org").unwrap();
        let (_, k) = self_signed(b.path(), "b.example.org").unwrap();
        let e = load_server_config(&c, &k).unwrap_err();
        assert_eq!(e.part, Part::Key);
    }

    #[test]
    fn garbage_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.pem");
        std::fs::write(&p, "hello").unwrap();
        assert_eq!(load_server_config(&p, &p).unwrap_err().part, Part::Cert);
    }
}
