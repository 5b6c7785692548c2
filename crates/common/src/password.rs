//! How strong a new password must be. A mail password is tried over the
//! network by every botnet that finds the server; throttling slows them,
//! but a short or common password falls anyway. New passwords set through
//! the CLI (and later the API) must pass `check_new`; tests and migrations
//! pass `--allow-weak`. Existing hashes are never judged.

/// Fewer characters than this is refused.
pub const MIN_LEN: usize = 12;

/// Passwords that pass the length rule and are still the first ones tried.
const COMMON: &[&str] = &[
    "password1234",
    "passwordpassword",
    "123456789012",
    "1234567890123",
    "qwertyuiopasdfgh",
    "qwertyuiop123",
    "letmeinletmein",
    "administrator",
    "changemechangeme",
    "iloveyou1234",
];

/// Why a new password is refused, in words for the person choosing it.
pub fn check_new(password: &str, login: &str) -> Result<(), String> {
    let chars: Vec<char> = password.chars().collect();
    if chars.len() < MIN_LEN {
        return Err(format!(
            "the password is too short: at least {MIN_LEN} characters (a passphrase of a few \
             words is easiest)"
        ));
    }
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 5 {
        return Err("the password repeats too few characters; choose a passphrase".into());
    }
    let lower = password.to_lowercase();
    if COMMON.iter().any(|c| lower == *c) {
        return Err("the password is one of the most common ones; choose another".into());
    }
    let local = login.split('@').next().unwrap_or_default().to_lowercase();
    if local.len() >= 3 && lower.contains(&local) && lower.len() < local.len() + MIN_LEN {
        return Err("the password is mostly the user name; choose another".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        for weak in [
            "x",
            "pw",
            "12345678901",
            "aaaaaaaaaaaaaaaa",
            "abababababab",
            "Password1234",
            "alice2024alice",
        ] {
            assert!(check_new(weak, "alice@example.org").is_err(), "{weak:?}");
        }
        for strong in [
            "correct horse battery",
            "tern-bench-Passw0rd",
            "ünïcödé pässwörd",
        ] {
            assert!(check_new(strong, "alice@example.org").is_ok(), "{strong:?}");
        }
        assert!(check_new("pw", "a@b").unwrap_err().contains("at least 12"));
    }
}
