//! DANE for SMTP (RFC 7672): which TLSA records are usable, and a
//! certificate verifier that authenticates the server by them instead of by
//! the web PKI.

use std::sync::Arc;

use aws_lc_rs::digest;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Certificate usage DANE-TA (RFC 6698 2.1.1, RFC 7218).
pub const DANE_TA: u8 = 2;
/// Certificate usage DANE-EE.
pub const DANE_EE: u8 = 3;

/// One TLSA record (RFC 6698 2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

impl Tlsa {
    /// RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP;
    /// RFC 7671 4.1: so are unknown selectors and matching types.
    pub fn usable(&self) -> bool {
        matches!(self.usage, DANE_TA | DANE_EE)
            && matches!(self.selector, 0 | 1)
            && matches!(self.matching, 0..=2)
    }

    /// Whether the certificate `der` matches this record's selector and
    /// matching type (RFC 6698 2.1.2, 2.1.3).
    pub fn matches(&self, der: &[u8]) -> bool {
        let selected = match self.selector {
            0 => der.to_vec(),
            1 => match spki(der) {
                Some(s) => s,
                None => return false,
            },
            _ => return false,
        };
        match self.matching {
            0 => selected == self.data,
            1 => digest::digest(&digest::SHA256, &selected).as_ref() == self.data.as_slice(),
            2 => digest::digest(&digest::SHA512, &selected).as_ref() == self.data.as_slice(),
            _ => false,
        }
    }
}

impl std::fmt::Display for Tlsa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.usage, self.selector, self.matching)
    }
}

/// The DER SubjectPublicKeyInfo of a certificate.
fn spki(der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.tbs_certificate.subject_pki.raw.to_vec())
}

/// Keep the usable records; `None` when there were records but none usable.
pub fn usable(records: Vec<Tlsa>) -> Option<Vec<Tlsa>> {
    let u: Vec<Tlsa> = records.into_iter().filter(Tlsa::usable).collect();
    (!u.is_empty()).then_some(u)
}

/// Authenticates a server by its usable TLSA records.
#[derive(Debug)]
pub struct DaneVerifier {
    records: Vec<Tlsa>,
    provider: Arc<CryptoProvider>,
}

impl DaneVerifier {
    pub fn new(records: Vec<Tlsa>, provider: Arc<CryptoProvider>) -> DaneVerifier {
        DaneVerifier { records, provider }
    }

    /// The check itself, apart from the rustls plumbing.
    pub fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<&Tlsa, String> {
        // RFC 7672 3.1.1: DANE-EE binds the key (or certificate) itself; no
        // name check and no validity period.
        if let Some(r) = self
            .records
            .iter()
            .find(|r| r.usage == DANE_EE && r.matches(end_entity))
        {
            return Ok(r);
        }
        // RFC 7672 3.1.2: DANE-TA names a trust anchor, which the server
        // sends in its chain (RFC 7671 5.2.2); the chain to it and the name
        // check against the MX host (RFC 7672 3.2.2) are done as in PKIX.
        let mut why = String::from("the certificate matches no TLSA record");
        for r in self.records.iter().filter(|r| r.usage == DANE_TA) {
            let mut anchors: Vec<CertificateDer<'_>> = intermediates
                .iter()
                .filter(|c| r.matches(c))
                .cloned()
                .collect();
            if r.selector == 0 && r.matching == 0 {
                anchors.push(CertificateDer::from(r.data.as_slice()));
            }
            for ta in anchors {
                let mut roots = rustls::RootCertStore::empty();
                if roots.add(ta.into_owned()).is_err() {
                    continue;
                }
                let verifier = WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    self.provider.clone(),
                )
                .build()
                .map_err(|e| format!("DANE-TA verifier: {e}"))?;
                match verifier.verify_server_cert(end_entity, intermediates, server_name, &[], now)
                {
                    Ok(_) => return Ok(r),
                    Err(e) => why = format!("DANE-TA {r} trust anchor found, but: {e}"),
                }
            }
        }
        Err(why)
    }
}

impl ServerCertVerifier for DaneVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity, intermediates, server_name, now)
            .map(|_| ServerCertVerified::assertion())
            .map_err(|e| rustls::Error::General(format!("DANE: {e}")))
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client configuration that accepts only a server matching `records`.
pub fn client_config(records: &[Tlsa]) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(DaneVerifier::new(records.to_vec(), provider.clone()));
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| {
            Arc::new(
                b.dangerous()
                    .with_custom_certificate_verifier(verifier)
                    .with_no_client_auth(),
            )
        })
        .map_err(|e| format!("TLS client set-up: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, PublicKeyData};

    fn sha256(b: &[u8]) -> Vec<u8> {
        digest::digest(&digest::SHA256, b).as_ref().to_vec()
    }

    fn sha512(b: &[u8]) -> Vec<u8> {
        digest::digest(&digest::SHA512, b).as_ref().to_vec()
    }

    fn rec(usage: u8, selector: u8, matching: u8, data: Vec<u8>) -> Tlsa {
        Tlsa {
            usage,
            selector,
            matching,
            data,
        }
    }

    struct Pki {
        ca: CertificateDer<'static>,
        leaf: CertificateDer<'static>,
        leaf_key: KeyPair,
    }

    /// A CA and a leaf for `name` that it issued; `expired` dates the leaf
    /// in the past.
    fn pki(name: &str, expired: bool) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap().der().clone();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
        if expired {
            params.not_before = rcgen::date_time_ymd(2001, 1, 1);
            params.not_after = rcgen::date_time_ymd(2002, 1, 1);
        }
        let leaf = params.signed_by(&leaf_key, &issuer).unwrap().der().clone();
        Pki { ca, leaf, leaf_key }
    }

    fn verifier(records: Vec<Tlsa>) -> DaneVerifier {
        DaneVerifier::new(
            records,
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        )
    }

    fn check(records: Vec<Tlsa>, p: &Pki, chain: &[CertificateDer<'_>], host: &str) -> bool {
        let name = ServerName::try_from(host.to_string()).unwrap();
        verifier(records)
            .check(&p.leaf, chain, &name, UnixTime::now())
            .is_ok()
    }

    #[test]
    fn only_dane_usages_with_known_selector_and_matching_are_usable() {
        assert!(rec(3, 1, 1, vec![]).usable());
        assert!(rec(2, 0, 2, vec![]).usable());
        assert!(rec(3, 0, 0, vec![]).usable());
        // RFC 7672 3.1.3: PKIX-TA and PKIX-EE mean nothing for SMTP.
        assert!(!rec(0, 0, 1, vec![]).usable());
        assert!(!rec(1, 1, 1, vec![]).usable());
        assert!(!rec(4, 1, 1, vec![]).usable());
        assert!(!rec(3, 2, 1, vec![]).usable());
        assert!(!rec(3, 1, 3, vec![]).usable());
        assert_eq!(
            usable(vec![rec(1, 1, 1, vec![]), rec(0, 0, 1, vec![])]),
            None
        );
        assert_eq!(
            usable(vec![rec(1, 1, 1, vec![]), rec(3, 1, 1, vec![7])]),
            Some(vec![rec(3, 1, 1, vec![7])])
        );
    }

    #[test]
    fn spki_is_the_keys_subject_public_key_info() {
        let p = pki("mx.example", false);
        assert_eq!(spki(&p.leaf).unwrap(), p.leaf_key.subject_public_key_info());
        assert_eq!(spki(b"not a certificate"), None);
    }

    #[test]
    fn selectors_and_matching_types() {
        let p = pki("mx.example", false);
        let key = p.leaf_key.subject_public_key_info();
        for (r, want) in [
            (rec(3, 1, 1, sha256(&key)), true),
            (rec(3, 1, 2, sha512(&key)), true),
            (rec(3, 1, 0, key.clone()), true),
            (rec(3, 0, 1, sha256(&p.leaf)), true),
            (rec(3, 0, 2, sha512(&p.leaf)), true),
            (rec(3, 0, 0, p.leaf.to_vec()), true),
            (rec(3, 0, 1, sha256(&key)), false),
            (rec(3, 1, 1, sha256(&p.leaf)), false),
            (rec(3, 1, 2, sha256(&key)), false),
        ] {
            assert_eq!(r.matches(&p.leaf), want, "{r}");
        }
    }

    #[test]
    fn dane_ee_checks_neither_name_nor_dates() {
        let p = pki("some.other.name", true);
        let r = rec(3, 1, 1, sha256(&p.leaf_key.subject_public_key_info()));
        assert!(check(vec![r], &p, &[], "mx.example"));
    }

    #[test]
    fn a_certificate_matching_no_record_is_refused() {
        let p = pki("mx.example", false);
        let other = pki("mx.example", false);
        let r = rec(3, 1, 1, sha256(&other.leaf_key.subject_public_key_info()));
        assert!(!check(
            vec![r],
            &p,
            std::slice::from_ref(&p.ca),
            "mx.example"
        ));
        // DANE-EE matches the end entity only, never a CA in the chain.
        let r = rec(3, 0, 1, sha256(&p.ca));
        assert!(!check(
            vec![r],
            &p,
            std::slice::from_ref(&p.ca),
            "mx.example"
        ));
    }

    #[test]
    fn dane_ta_chains_to_the_matching_ca_and_checks_the_name() {
        let p = pki("mx.example", false);
        let ta = rec(2, 0, 1, sha256(&p.ca));
        assert!(check(
            vec![ta.clone()],
            &p,
            std::slice::from_ref(&p.ca),
            "mx.example"
        ));
        // RFC 7672 3.2.2: the name must match the MX host.
        assert!(!check(
            vec![ta.clone()],
            &p,
            std::slice::from_ref(&p.ca),
            "mx.elsewhere"
        ));
        // The server must send the trust anchor (RFC 7671 5.2.2).
        assert!(!check(vec![ta], &p, &[], "mx.example"));
        // SPKI of the CA works too.
        let ca_spki = spki(&p.ca).unwrap();
        let ta = rec(2, 1, 1, sha256(&ca_spki));
        assert!(check(
            vec![ta],
            &p,
            std::slice::from_ref(&p.ca),
            "mx.example"
        ));
        // A full-certificate record is itself the anchor.
        let ta = rec(2, 0, 0, p.ca.to_vec());
        assert!(check(vec![ta], &p, &[], "mx.example"));
    }

    #[test]
    fn dane_ta_of_another_ca_is_refused() {
        let p = pki("mx.example", false);
        let other = pki("mx.example", false);
        let ta = rec(2, 0, 1, sha256(&other.ca));
        assert!(!check(
            vec![ta],
            &p,
            &[p.ca.clone(), other.ca.clone()],
            "mx.example"
        ));
    }
}
