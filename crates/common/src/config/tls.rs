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
    watch_secs: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// How often the files are checked for a change, in seconds (a
    /// changed pair is loaded without a restart; SIGHUP checks at once);
    /// 0: only on SIGHUP.
    pub watch_secs: u64,
}

/// `[tls] watch_secs` when absent.
pub const DEFAULT_WATCH_SECS: u64 = 60;

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
        TlsConfig {
            cert,
            key,
            watch_secs: raw.watch_secs.unwrap_or(DEFAULT_WATCH_SECS),
        }
    }

    /// Every configured listener but plain HTTP needs a certificate (the
    /// embedded default, with no listeners written, makes its own; with
    /// `[acme]`, a temporary self-signed one serves until the CA's arrives).
    pub(super) fn required(
        c: &mut Checker<'_>,
        tls: &Option<TlsConfig>,
        acme: bool,
        listeners: &[ListenerConfig],
    ) {
        let needs_tls = listeners.iter().any(|l| l.kind != ListenerKind::Http);
        if tls.is_none() && !acme && needs_tls && !listeners.is_empty() {
            c.err(
                "tls",
                "a [tls] section with cert and key (or an [acme] section) is required by the \
                 configured listeners",
            );
        }
    }
}
