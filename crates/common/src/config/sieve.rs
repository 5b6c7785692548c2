//! `[sieve]`: the bounds of running an account's Sieve script at delivery,
//! and where global scripts (`include :global`, RFC 6609) live.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::check::Checker;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSieve {
    global_dir: Option<Spanned<PathBuf>>,
    max_instructions: Option<Spanned<usize>>,
    max_redirects: Option<Spanned<usize>>,
    max_hops: Option<Spanned<usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SieveConfig {
    /// The folder of the scripts `include :global "name"` reads
    /// (`<name>.sieve`); none: global includes fail (`:optional` ones are
    /// skipped).
    pub global_dir: Option<PathBuf>,
    /// Instructions one delivery's script may execute before it is stopped
    /// (and the message kept).
    pub max_instructions: usize,
    /// `redirect` actions per message.
    pub max_redirects: usize,
    /// `Received` fields past which a message is neither redirected nor
    /// answered by vacation: it is looping.
    pub max_hops: usize,
}

impl Default for SieveConfig {
    fn default() -> Self {
        SieveConfig {
            global_dir: None,
            max_instructions: 20_000,
            max_redirects: 4,
            max_hops: 30,
        }
    }
}

impl SieveConfig {
    pub(super) fn from_raw(c: &mut Checker<'_>, raw: &RawSieve, base: &Path) -> SieveConfig {
        let d = SieveConfig::default();
        let global_dir = raw.global_dir.as_ref().and_then(|p| {
            let dir = base.join(p.get_ref());
            if dir.is_dir() {
                Some(dir)
            } else {
                c.err_at(
                    "sieve.global_dir",
                    p,
                    format!("{} is not a directory", dir.display()),
                );
                None
            }
        });
        let max_redirects = c.positive("sieve.max_redirects", &raw.max_redirects, d.max_redirects);
        if let Some(r) = &raw.max_redirects
            && *r.get_ref() > 32
        {
            c.err_at("sieve.max_redirects", r, "must be at most 32");
        }
        SieveConfig {
            global_dir,
            max_instructions: c.positive(
                "sieve.max_instructions",
                &raw.max_instructions,
                d.max_instructions,
            ),
            max_redirects,
            max_hops: c.positive("sieve.max_hops", &raw.max_hops, d.max_hops),
        }
    }
}
