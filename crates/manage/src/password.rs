//! Passwords chosen by the operator are checked for strength (unless they
//! say otherwise); passwords made here are random.

use crate::error::{Error, Result};

/// 20 characters from an alphabet without look-alikes (no 0/O, 1/l/I):
/// about 116 bits.
pub fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The password to set: the one given (checked by
/// `tern_common::password::check_new` unless `allow_weak`), or a random
/// one; and whether it was made here (so it must be shown once).
pub(crate) fn choose(given: Option<&str>, login: &str, allow_weak: bool) -> Result<(String, bool)> {
    match given {
        Some("") => Err(Error::invalid("password", "the password is empty")),
        Some(p) => {
            if !allow_weak {
                tern_common::password::check_new(p, login)
                    .map_err(|why| Error::invalid("password", why))?;
            }
            Ok((p.to_string(), false))
        }
        None => Ok((random_password(), true)),
    }
}
