//! `[store]`: SQLite in the data dir (the default) or PostgreSQL at a URL,
//! and the size of the connection pool.

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Sqlite,
    Postgres,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    #[serde(default)]
    kind: StoreKind,
    url: Option<Spanned<String>>,
    max_connections: Option<Spanned<u32>>,
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub kind: StoreKind,
    pub url: Option<String>,
    pub max_connections: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            kind: StoreKind::Sqlite,
            url: None,
            max_connections: 8,
        }
    }
}

impl StoreConfig {
    /// A URL is required for PostgreSQL and refused for SQLite.
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawStore) -> StoreConfig {
        match (raw.kind, &raw.url) {
            (StoreKind::Postgres, None) => {
                c.err("store.url", "required when store.kind = \"postgres\"")
            }
            (StoreKind::Postgres, Some(u))
                if !(u.get_ref().starts_with("postgres://")
                    || u.get_ref().starts_with("postgresql://")) =>
            {
                c.err_at("store.url", u, "must be a postgres:// URL")
            }
            (StoreKind::Sqlite, Some(u)) => c.err_at(
                "store.url",
                u,
                "not used with store.kind = \"sqlite\" (the database lives in data_dir)",
            ),
            _ => {}
        }
        StoreConfig {
            kind: raw.kind,
            url: raw.url.as_ref().map(|u| u.get_ref().clone()),
            max_connections: c.positive(
                "store.max_connections",
                &raw.max_connections,
                StoreConfig::default().max_connections,
            ),
        }
    }
}
