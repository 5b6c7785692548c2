//! DKIM signing of outgoing mail (RFC 6376, RFC 8463): per-domain keys,
//! ed25519-sha256 by default and rsa-sha256 (2048 bits) on request, both at
//! once when a domain has both; relaxed/relaxed; the header set of RFC 6376
//! 5.4.1 with `From` signed once more than it appears (so no second From can
//! be added without breaking the signature).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use std::io::Read;

use mail_auth::common::crypto::{Ed25519Key, HashContext, HashImpl, RsaKey, Sha256, SigningKey};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, Done, Signature};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tern_store::{DkimKey, Store};

/// RFC 6376 5.4.1, with From twice (over-signing).
pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Resent-Date",
    "Resent-From",
    "Resent-To",
    "Resent-Cc",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Ed25519,
    Rsa,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::Rsa => "rsa",
        }
    }

    pub fn parse(s: &str) -> Option<Algorithm> {
        match s.to_ascii_lowercase().as_str() {
            "ed25519" => Some(Algorithm::Ed25519),
            "rsa" => Some(Algorithm::Rsa),
            _ => None,
        }
    }
}

/// A new key pair: (PKCS#8 DER private key, base64 public key for `p=`).
pub fn generate(algo: Algorithm) -> anyhow::Result<(Vec<u8>, String)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    match algo {
        Algorithm::Ed25519 => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| anyhow::anyhow!("generating an ed25519 key"))?;
            let kp = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
                .map_err(|_| anyhow::anyhow!("reading the new ed25519 key"))?;
            // RFC 8463 4: p= is the raw 32-byte public key.
            Ok((
                pkcs8.as_ref().to_vec(),
                b64.encode(kp.public_key().as_ref()),
            ))
        }
        Algorithm::Rsa => {
            let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| anyhow::anyhow!("generating an RSA key"))?;
            let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp)
                .map_err(|_| anyhow::anyhow!("encoding the RSA key"))?;
            // RFC 6376 3.6.1: p= is the SubjectPublicKeyInfo, base64.
            let spki = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(kp.public_key())
                .map_err(|_| anyhow::anyhow!("encoding the RSA public key"))?;
            Ok((der.as_ref().to_vec(), b64.encode(spki.as_ref())))
        }
    }
}

/// The TXT record to publish at `selector._domainkey.domain`.
pub fn txt_record(algorithm: &str, public_key: &str) -> String {
    let k = if algorithm == "ed25519" {
        "ed25519"
    } else {
        "rsa"
    };
    format!("v=DKIM1; k={k}; p={public_key}")
}

/// The domain of the message's From address, if it has exactly one From
/// field (counted in every spelling, RFC 5322 3.6) holding one mailbox: a
/// message with two From fields is not signed for either, since a reader
/// might be shown the one the signature's domain does not own.
pub fn from_domain(message: &[u8]) -> Option<String> {
    let authors = tern_mailauth::fields::single(message, "from").ok()??;
    let [only] = authors.as_slice() else {
        return None;
    };
    Some(
        only.rsplit_once('@')?
            .1
            .trim_end_matches('.')
            .to_ascii_lowercase(),
    )
}

/// The signer of one key, relaxed/relaxed over `SIGNED_HEADERS`.
fn signer<T: SigningKey>(key: &DkimKey, k: T) -> DkimSigner<T, Done> {
    DkimSigner::from_key(k)
        .domain(&key.domain)
        .selector(&key.selector)
        .headers(SIGNED_HEADERS.iter().copied())
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
}

/// Feed `message` to a streaming signer 64 KiB at a time: the header
/// section is held, the body is hashed as it passes.
fn sign_read<T: SigningKey>(
    signer: &DkimSigner<T, Done>,
    message: &mut dyn Read,
) -> anyhow::Result<Signature>
where
    <<T as SigningKey>::Hasher as HashImpl>::Context: HashContext,
{
    let mut stream = signer.sign_streaming();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = message.read(&mut buf)?;
        if n == 0 {
            break;
        }
        stream.write(&buf[..n]);
    }
    Ok(stream.finish()?)
}

/// `DKIM-Signature` header fields for `message` with one key.
pub fn signature(key: &DkimKey, message: &[u8]) -> anyhow::Result<String> {
    signature_read(key, &mut &message[..])
}

/// [`signature`] for a message read from `message` (a large one is never
/// whole in memory: RFC 6376 3.7, the body hash is computed as it passes).
pub fn signature_read(key: &DkimKey, message: &mut dyn Read) -> anyhow::Result<String> {
    let sig = match key.algorithm.as_str() {
        "ed25519" => {
            let k = Ed25519Key::from_pkcs8_der(&key.private_key)
                .map_err(|e| anyhow::anyhow!("DKIM key {}: {e}", key.selector))?;
            sign_read(&signer(key, k), message)
        }
        _ => {
            let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.private_key.clone()));
            let k = RsaKey::<Sha256>::from_key_der(der)
                .map_err(|e| anyhow::anyhow!("DKIM key {}: {e}", key.selector))?;
            sign_read(&signer(key, k), message)
        }
    }
    .map_err(|e| anyhow::anyhow!("DKIM signing with {}: {e}", key.selector))?;
    Ok(sig.to_header())
}

/// Sign with every key of the From domain (ed25519 first); the message is
/// returned unchanged when the domain has no key.
pub async fn sign(store: &Store, message: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let mut out = signatures(store, &message).await?.into_bytes();
    if out.is_empty() {
        return Ok(message);
    }
    out.extend_from_slice(&message);
    Ok(out)
}

/// The `DKIM-Signature` fields [`sign`] would prepend, CRLF-terminated;
/// empty when the From domain has no key (or no single From).
pub async fn signatures(store: &Store, message: &[u8]) -> anyhow::Result<String> {
    let Some(domain) = from_domain(message) else {
        return Ok(String::new());
    };
    let mut keys = store.dkim_keys(Some(&domain)).await?;
    keys.sort_by_key(|k| (k.algorithm != "ed25519", k.created));
    let mut headers = String::new();
    for k in &keys {
        headers.push_str(&signature(k, message)?);
    }
    Ok(headers)
}

/// [`signatures`] for a message whose header section is `head` and whose
/// whole text `open` reads (once per key), on the blocking pool: the
/// message is never whole in memory.
pub async fn signatures_streamed<R, F>(
    store: &Store,
    head: &[u8],
    open: F,
) -> anyhow::Result<String>
where
    R: Read,
    F: Fn() -> std::io::Result<R> + Send + 'static,
{
    let Some(domain) = from_domain(head) else {
        return Ok(String::new());
    };
    let mut keys = store.dkim_keys(Some(&domain)).await?;
    keys.sort_by_key(|k| (k.algorithm != "ed25519", k.created));
    if keys.is_empty() {
        return Ok(String::new());
    }
    tokio::task::spawn_blocking(move || {
        let mut headers = String::new();
        for k in &keys {
            headers.push_str(&signature_read(k, &mut open()?)?);
        }
        Ok(headers)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_domain_needs_one_author() {
        assert_eq!(
            from_domain(b"From: A <a@Example.ORG>\r\n\r\nx").as_deref(),
            Some("example.org")
        );
        assert_eq!(from_domain(b"From: a@x.org, b@y.org\r\n\r\nx"), None);
        assert_eq!(from_domain(b"Subject: none\r\n\r\nx"), None);
        // Two From fields, in any spelling: no signature for either.
        assert_eq!(
            from_domain(b"From: a@x.org\r\nFROM : a@x.org\r\n\r\nx"),
            None
        );
        assert_eq!(from_domain(b"From: <a@x.org\r\n\r\nx"), None);
    }

    /// The streamed signer (a large message read in pieces) hashes the
    /// same body and signs the same fields as mail-auth's signer given all
    /// the bytes at once.
    #[test]
    fn streamed_signatures_match_whole_ones() {
        let (private_key, public_key) = generate(Algorithm::Ed25519).unwrap();
        let key = DkimKey {
            domain: "example.org".into(),
            selector: "s1".into(),
            algorithm: "ed25519".into(),
            private_key,
            public_key,
            created: 0,
        };
        let mut m = b"From: a@example.org\r\nSubject:  x \r\n\r\n".to_vec();
        for i in 0..50_000 {
            m.extend_from_slice(format!("line {i}  \t with  space \r\n").as_bytes());
        }
        m.extend_from_slice(b"\r\n\r\n");
        let tag = |h: &str, t: &str| {
            let flat = h.replace(['\r', '\n', '\t', ' '], "");
            flat.split(';')
                .find(|p| p.starts_with(&format!("{t}=")))
                .unwrap()
                .to_string()
        };
        let k = Ed25519Key::from_pkcs8_der(&key.private_key).unwrap();
        let whole = signer(&key, k).sign(&m).unwrap().to_header();
        // A reader that hands out odd-sized pieces.
        struct Drip<'a>(&'a [u8]);
        impl Read for Drip<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(777);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let streamed = signature_read(&key, &mut Drip(&m)).unwrap();
        assert_eq!(tag(&whole, "bh"), tag(&streamed, "bh"));
        assert_eq!(tag(&whole, "h"), tag(&streamed, "h"));
    }

    #[test]
    fn keys_sign() {
        for algo in [Algorithm::Ed25519, Algorithm::Rsa] {
            let (private_key, public_key) = generate(algo).unwrap();
            let key = DkimKey {
                domain: "example.org".into(),
                selector: "s1".into(),
                algorithm: algo.name().into(),
                private_key,
                public_key: public_key.clone(),
                created: 0,
            };
            let h = signature(&key, b"From: a@example.org\r\nSubject: x\r\n\r\nbody\r\n").unwrap();
            assert!(h.starts_with("DKIM-Signature: "), "{h}");
            assert!(h.contains("d=example.org") && h.contains("s=s1"));
            assert!(h.contains("c=relaxed/relaxed"));
            assert!(txt_record(algo.name(), &public_key).starts_with("v=DKIM1; k="));
        }
    }
}
