//! `[server]`: how the process as a whole behaves (today: how long
//! sessions may finish after SIGTERM).

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    shutdown_grace_secs: Option<Spanned<u64>>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub shutdown_grace_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            shutdown_grace_secs: 10,
        }
    }
}

impl ServerConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawServer) -> ServerConfig {
        ServerConfig {
            shutdown_grace_secs: c.positive(
                "server.shutdown_grace_secs",
                &raw.shutdown_grace_secs,
                ServerConfig::default().shutdown_grace_secs,
            ),
        }
    }
}
