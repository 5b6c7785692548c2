//! `[tls]`: the certificate and key every TLS listener serves. Both must
//! load and match at start: a broken pair is a config error naming the
//! file, never a handshake failure found later by a client.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;
use super::listeners::{ListenerConfig, ListenerKind};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    cert: Spanned<PathBuf>,
    key: Spanned<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsConfig {
    /// Paths are resolved against `base`; the pair is loaded once to check it.
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawTls, base: &Path) -> TlsConfig {
        let cert = base.join(raw.cert.get_ref());
        let key = base.join(raw.key.get_ref());
        if let Err(e) = crate::tls::load_server_config(&cert, &key) {
            let (k, at) = match e.part {
                crate::tls::Part::Cert => ("tls.cert", &raw.cert),
                crate::tls::Part::Key => ("tls.key", &raw.key),
            };
            c.err_at(k, at, e.message);
        }
        TlsConfig { cert, key }
    }

    /// Every configured listener but plain HTTP needs a certificate (the
    /// embedded default, with no listeners written, makes its own).
    pub(super) fn required(
        c: &mut Checker<'_>,
        tls: &Option<TlsConfig>,
        listeners: &[ListenerConfig],
    ) {
        let needs_tls = listeners.iter().any(|l| l.kind != ListenerKind::Http);
        if tls.is_none() && needs_tls && !listeners.is_empty() {
            c.err(
                "tls",
                "a [tls] section with cert and key is required by the configured listeners",
            );
        }
    }
}
