//! ARC sealing (RFC 8617 5.1) of mail tern forwards to another domain, so
//! that the next hop can rely on our verdicts when SPF and DMARC break.

use anyhow::{Context, bail};
use mail_auth::arc::ArcSealer;
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256, SigningKey};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::{ArcOutput, AuthenticatedMessage, AuthenticationResults};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tern_store::DkimKey;

use crate::checks::{Checker, Outcome, results};

/// Header fields the ARC-Message-Signature covers (those of them present).
pub const SEALED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "DKIM-Signature",
];

impl Checker {
    /// Add an ARC set (ARC-Authentication-Results, ARC-Message-Signature,
    /// ARC-Seal) to `message`, signed with `key` (an RSA key is the one
    /// every verifier knows; ed25519 works with those that follow RFC
    /// 8463). `outcome` is what [`Checker::check`] found on arrival; the
    /// DKIM and ARC verdicts are established again on `message` itself.
    /// A message whose chain already failed is returned unchanged (RFC
    /// 8617 5.1.2: a failed chain is not continued).
    pub async fn arc_seal(
        &self,
        message: &[u8],
        outcome: &Outcome,
        key: &DkimKey,
    ) -> anyhow::Result<Vec<u8>> {
        let Some(env) = &outcome.envelope else {
            bail!("no verdicts to seal: the checks were skipped");
        };
        let msg = AuthenticatedMessage::parse(message)
            .context("ARC sealing: the message has no header")?;
        let dkim = self.auth.verify_dkim(&msg).await;
        let arc = self.auth.verify_arc(&msg).await;
        if !arc.can_be_sealed() {
            tracing::info!("ARC chain failed before us; forwarding without a seal");
            return Ok(message.to_vec());
        }
        // The ARC-Authentication-Results carries the same verdicts on one
        // line: mail-auth signs the authserv-id part as written, so it must
        // already be in relaxed canonical form (single spaces, no folding).
        let value = flatten(&results(&self.hostname, env, &dkim, &arc, msg.from()));
        let results = AuthenticationResults::new(&value);
        let set = match key.algorithm.as_str() {
            "ed25519" => {
                let k = Ed25519Key::from_pkcs8_der(&key.private_key)
                    .map_err(|e| anyhow::anyhow!("DKIM key {}: {e}", key.selector))?;
                seal_with(k, key, &msg, &results, &arc)?
            }
            _ => {
                let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.private_key.clone()));
                let k = RsaKey::<Sha256>::from_key_der(der)
                    .map_err(|e| anyhow::anyhow!("DKIM key {}: {e}", key.selector))?;
                seal_with(k, key, &msg, &results, &arc)?
            }
        };
        let mut out = set.into_bytes();
        out.extend_from_slice(message);
        Ok(out)
    }
}

fn seal_with<K: SigningKey<Hasher = Sha256>>(
    k: K,
    key: &DkimKey,
    msg: &AuthenticatedMessage<'_>,
    results: &AuthenticationResults<'_>,
    arc: &ArcOutput<'_>,
) -> anyhow::Result<String> {
    let set = ArcSealer::from_key(k)
        .domain(&key.domain)
        .selector(&key.selector)
        .headers(SEALED_HEADERS.iter().copied())
        .seal(msg, results, arc)
        .map_err(|e| anyhow::anyhow!("ARC sealing with {}: {e}", key.selector))?;
    Ok(set.to_header())
}

/// `value` unfolded with every run of white space made one space (RFC 6376
/// 3.4.2, relaxed header canonicalization).
fn flatten(value: &str) -> String {
    value.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// The key to seal with among a domain's DKIM keys: RSA first (RFC 8617
/// verifiers all know rsa-sha256), else ed25519; the newest of its kind.
pub fn seal_key(keys: &[DkimKey]) -> Option<&DkimKey> {
    keys.iter()
        .filter(|k| k.algorithm == "rsa")
        .max_by_key(|k| k.created)
        .or_else(|| keys.iter().max_by_key(|k| k.created))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(algorithm: &str, created: i64) -> DkimKey {
        DkimKey {
            domain: "example.org".into(),
            selector: format!("{algorithm}{created}"),
            algorithm: algorithm.into(),
            private_key: Vec::new(),
            public_key: String::new(),
            created,
        }
    }

    #[test]
    fn results_are_flattened_for_sealing() {
        assert_eq!(
            flatten("mx.example;\r\n\tdkim=none;\r\n\tspf=pass  smtp.mailfrom=a@b.example"),
            "mx.example; dkim=none; spf=pass smtp.mailfrom=a@b.example"
        );
    }

    #[test]
    fn rsa_keys_seal_first() {
        let keys = [key("ed25519", 3), key("rsa", 1), key("rsa", 2)];
        assert_eq!(seal_key(&keys).unwrap().selector, "rsa2");
        let keys = [key("ed25519", 3), key("ed25519", 4)];
        assert_eq!(seal_key(&keys).unwrap().selector, "ed255194");
        assert!(seal_key(&[]).is_none());
    }
}
