//! SOURCE/GET identifiers (docs/source-get.md 3): 32 characters of
//! `A-Za-z0-9`, each drawn uniformly (rejection sampling) from the
//! operating system's RNG: 32 × log2(62) ≈ 190.5 bits.

use rand::distr::Alphanumeric;
use rand::{Rng, TryRngCore};

/// The length of an identifier.
pub const ID_LEN: usize = 32;

/// A new identifier.
pub fn new_id() -> String {
    rand::rngs::OsRng
        .unwrap_err()
        .sample_iter(&Alphanumeric)
        .take(ID_LEN)
        .map(char::from)
        .collect()
}

/// Whether `s` is an identifier's form.
pub fn is_id(s: &str) -> bool {
    s.len() == ID_LEN && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_have_the_form_and_do_not_repeat() {
        let mut seen = std::collections::HashSet::new();
        let mut counts = [0u32; 128];
        for _ in 0..2000 {
            let id = new_id();
            assert!(is_id(&id), "{id}");
            for b in id.bytes() {
                counts[b as usize] += 1;
            }
            assert!(seen.insert(id));
        }
        // Every one of the 62 characters turns up (64,000 draws: each is
        // expected ~1,032 times); none of the rest does.
        let used = counts.iter().filter(|c| **c > 0).count();
        assert_eq!(used, 62);
        assert!(
            counts
                .iter()
                .filter(|c| **c > 0)
                .all(|c| *c > 700 && *c < 1400)
        );
        assert!(!is_id("short"));
        assert!(!is_id(&"a".repeat(31)));
        assert!(!is_id(&format!("{}-", "a".repeat(31))));
    }
}
