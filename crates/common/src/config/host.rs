//! The two keys outside any table: `hostname`, the name tern gives itself
//! (EHLO, Received, Message-ID), and `data_dir`, where it keeps everything.
//! The hostname is normalised like every domain (IDNA A-label, lower case).

use std::path::{Path, PathBuf};

use toml::Spanned;

use super::check::Checker;
use crate::address::normalize_domain;

/// The machine's name, or `localhost` when it has none usable.
pub fn system_hostname() -> String {
    let name = gethostname::gethostname()
        .to_string_lossy()
        .trim()
        .to_ascii_lowercase();
    normalize_domain(&name).unwrap_or_else(|_| "localhost".to_string())
}

/// `hostname`: a fully qualified name (or `localhost`); the system's name
/// when absent.
pub(super) fn hostname(c: &mut Checker<'_>, raw: &Option<Spanned<String>>) -> String {
    let Some(h) = raw else {
        return system_hostname();
    };
    match normalize_domain(h.get_ref()) {
        Ok(n) if n.contains('.') || n == "localhost" => n,
        Ok(_) => {
            c.err_at(
                "hostname",
                h,
                "must be a fully qualified domain name such as mail.example.org",
            );
            String::new()
        }
        Err(e) => {
            c.err_at("hostname", h, e.to_string());
            String::new()
        }
    }
}

/// `data_dir`, resolved against `base`; `tern-data` when absent.
pub(super) fn data_dir(
    c: &mut Checker<'_>,
    raw: &Option<Spanned<PathBuf>>,
    base: &Path,
) -> PathBuf {
    match raw {
        Some(d) if d.get_ref().as_os_str().is_empty() => {
            c.err_at("data_dir", d, "must not be empty");
            PathBuf::new()
        }
        Some(d) => base.join(d.get_ref()),
        None => PathBuf::from("tern-data"),
    }
}
