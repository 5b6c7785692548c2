//! QUOTA (RFC 9208) with the STORAGE resource: an account with a quota
//! has one quota root, "", shared by all its mailboxes; its usage is what
//! the store counts against the quota on every delivery. Limits are set by
//! the administrator (`tern user create --quota`), so SETQUOTA is refused
//! and QUOTASET not advertised.

use imap_codec::imap_types::core::AString;
use imap_codec::imap_types::mailbox::Mailbox as ImapMailbox;

use crate::client_names::{name_of, raw_name};
use crate::protocol::io::Io;
use crate::protocol::io::Wire;
use crate::session::{Flow, Session};

/// The name of every account's quota root.
const ROOT: &str = "";

/// RFC 9208 5.1: STORAGE is counted in units of 1024 octets.
fn kib_up(bytes: u64) -> u64 {
    bytes.div_ceil(1024)
}

impl Session {
    /// `(used, limit)` in bytes, `None` for an account without a quota.
    async fn quota(&self, account: i64) -> Result<Option<(u64, u64)>, String> {
        match self.store.account_by_id(account).await {
            Ok(Some(a)) if a.quota > 0 => Ok(Some((a.used, a.quota))),
            Ok(_) => Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "imap: reading the quota failed");
                Err("NO [SERVERBUG] cannot read the quota; try again later".into())
            }
        }
    }

    fn quota_line<S: Wire>(io: &mut Io<S>, used: u64, limit: u64) {
        io.push_str(&format!(
            "* QUOTA \"{ROOT}\" (STORAGE {} {})\r\n",
            kib_up(used),
            limit / 1024
        ));
    }

    pub(crate) async fn get_quota_root<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        mailbox: &ImapMailbox<'_>,
    ) -> Flow {
        let Some(name) = name_of(mailbox, self.utf8_names()) else {
            return self.bad_name(io, tag, raw_name(mailbox));
        };
        match self.store.mailbox_get(account, &name).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                io.push_str(&format!("{tag} NO [NONEXISTENT] no such mailbox\r\n"));
                return Flow::Continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "imap: mailbox lookup failed");
                io.push_str(&format!("{tag} NO [SERVERBUG] try again later\r\n"));
                return Flow::Continue;
            }
        }
        let mut quoted = Vec::new();
        quoted.extend_from_slice(&self.name_out(&name));
        let quoted = String::from_utf8_lossy(&quoted).into_owned();
        match self.quota(account).await {
            Ok(Some((used, limit))) => {
                io.push_str(&format!("* QUOTAROOT {quoted} \"{ROOT}\"\r\n"));
                Self::quota_line(io, used, limit);
            }
            // RFC 9208 4.3: a mailbox without a quota root.
            Ok(None) => io.push_str(&format!("* QUOTAROOT {quoted}\r\n")),
            Err(no) => {
                io.push_str(&format!("{tag} {no}\r\n"));
                return Flow::Continue;
            }
        }
        io.push_str(&format!("{tag} OK GETQUOTAROOT completed\r\n"));
        Flow::Continue
    }

    pub(crate) async fn get_quota<S: Wire>(
        &mut self,
        io: &mut Io<S>,
        tag: &str,
        account: i64,
        root: &AString<'_>,
    ) -> Flow {
        let root: &[u8] = root.as_ref();
        match self.quota(account).await {
            Ok(Some((used, limit))) if root == ROOT.as_bytes() => {
                Self::quota_line(io, used, limit);
                io.push_str(&format!("{tag} OK GETQUOTA completed\r\n"));
            }
            Ok(_) => io.push_str(&format!("{tag} NO [NONEXISTENT] no such quota root\r\n")),
            Err(no) => io.push_str(&format!("{tag} {no}\r\n")),
        }
        Flow::Continue
    }

    pub(crate) fn set_quota<S: Wire>(&mut self, io: &mut Io<S>, tag: &str) -> Flow {
        io.push_str(&format!(
            "{tag} NO [NOPERM] quotas are set by the administrator\r\n"
        ));
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn storage_units() {
        assert_eq!(super::kib_up(0), 0);
        assert_eq!(super::kib_up(1), 1);
        assert_eq!(super::kib_up(1024), 1);
        assert_eq!(super::kib_up(1025), 2);
    }
}
