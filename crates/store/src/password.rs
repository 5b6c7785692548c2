//! Password hashing and verification: argon2id PHC strings, verified in
//! the hashing threads' reused working memory (`hashing.rs`). Only these
//! hashes are stored, never a password.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};

use crate::{Result, StoreError};

fn hasher() -> Argon2<'static> {
    Argon2::default()
}

/// Hash a password into an argon2id PHC string.
pub(crate) fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| StoreError::Other(anyhow::anyhow!("salt: {e}")))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Other(anyhow::anyhow!("hashing password: {e}")))
}

/// A hash nobody's password matches, verified for unknown users so that
/// their answer costs the same as a wrong password (no enumeration oracle).
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY
        .get_or_init(|| hash_password(&format!("{:x}", rand::random::<u128>())).unwrap_or_default())
}

pub(crate) fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| verify_with_reused_memory(password.as_bytes(), &h))
}

/// `PasswordVerifier::verify_password`, but in the hashing thread's working
/// memory (19 MiB with the default parameters; see `hashing::with_memory`).
fn verify_with_reused_memory(password: &[u8], h: &PasswordHash<'_>) -> bool {
    use argon2::password_hash::Output;
    use argon2::{Algorithm, Params, Version};
    let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(h.algorithm) else {
        return false;
    };
    let version = match h.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(h) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    let hashed = crate::hashing::with_memory(blocks, |m| {
        argon
            .hash_password_into_with_memory(password, salt, &mut out, m)
            .is_ok()
    });
    // Output's equality is constant-time.
    hashed && Output::new(&out).is_ok_and(|o| o == expected)
}

pub(crate) fn check_password(password: &str) -> Result<()> {
    if password.is_empty() {
        return Err(StoreError::Invalid("the password must not be empty".into()));
    }
    if password.len() > 1024 {
        return Err(StoreError::Invalid(
            "the password is longer than 1024 bytes".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_reuses_its_memory_and_still_decides_right() {
        let phc = hash_password("correct horse").unwrap();
        for _ in 0..3 {
            assert!(verify("correct horse", &phc));
            assert!(!verify("correct horsf", &phc));
        }
        assert!(!verify("correct horse", "not a hash"));
        // A hash with other parameters (m=8 MiB, t=1) is verified by them.
        let other = Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(8192, 1, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let phc = other.hash_password(b"pw", &salt).unwrap().to_string();
        assert!(verify("pw", &phc));
        assert!(!verify("pv", &phc));
    }
}
