//! A test certificate authority, and leaf certificates it signs, for the
//! tests that check servers' certificates (MTA-STS, the TLS-RPT POST).

pub struct Ca {
    pub cert: rcgen::Certificate,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

pub fn ca() -> Ca {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "tern test CA");
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    Ca {
        cert,
        issuer: rcgen::Issuer::new(p, key),
    }
}

/// A leaf for `name` signed by the CA: (cert PEM, key PEM).
pub fn leaf(ca: &Ca, name: &str) -> (String, String) {
    leaf_for(ca, &[name])
}

/// A leaf for several names signed by the CA: (cert PEM, key PEM).
pub fn leaf_for(ca: &Ca, names: &[&str]) -> (String, String) {
    let mut p =
        rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    // rcgen's default subject is what tern takes for its own old
    // self-signed certificate (and makes again): name the host instead.
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, names[0]);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &ca.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}
