//! The SRS secret (store `srs.rs`): shown to share with Mail::SRS or
//! postsrsd on other hosts, and rotated. Server-wide: admin only.

use crate::Manager;
use crate::error::Result;
use crate::scope::Scope;

impl Manager {
    /// The secret new SRS addresses are signed with; with `rotate`, a new
    /// one (the previous ones keep verifying bounces for
    /// `tern_store::SRS_MAX_AGE_DAYS`).
    pub async fn srs_secret(&self, scope: &Scope, rotate: bool) -> Result<String> {
        scope.admin()?;
        if rotate {
            return Ok(self.store.srs_rotate().await?);
        }
        Ok(self.store.srs_secret().await?)
    }
}
