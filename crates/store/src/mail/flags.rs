//! STORE: changing the flags of messages (RFC 9051 6.4.6), with the
//! RFC 7162 3.1.3 UNCHANGEDSINCE condition.

use crate::events::{Change, ChangeKind};
use crate::mail::meta::{FlagOp, MessageMeta, normalize_flags, split_flags};
use crate::{MailboxId, Result, Store};

impl Store {
    /// Change flags. With `unchanged_since` (CONDSTORE), messages modified
    /// after that MODSEQ are left alone and returned in the second list.
    pub async fn store_flags(
        &self,
        mailbox: MailboxId,
        uids: &[u32],
        op: FlagOp,
        flags: &[String],
        unchanged_since: Option<u64>,
    ) -> Result<(Vec<(u32, MessageMeta)>, Vec<u32>)> {
        let flags = normalize_flags(flags);
        let (mut tx, account) = self.begin_mailbox_write(mailbox).await?;
        let mut changed = Vec::new();
        let mut failed = Vec::new();
        let mut modseq = 0u64;
        for &uid in uids {
            let Some((cur, cur_modseq, size, date, zone)) = sqlx::query_as::<_, (String, i64, i64, i64, i64)>(
                "SELECT flags, modseq, size, internal_date, internal_zone FROM messages WHERE mailbox_id = $1 AND uid = $2",
            )
            .bind(mailbox)
            .bind(uid as i64)
            .fetch_optional(&mut *tx)
            .await?
            else {
                continue;
            };
            if let Some(since) = unchanged_since
                && cur_modseq as u64 > since
            {
                failed.push(uid);
                continue;
            }
            let cur = split_flags(&cur);
            let new = match op {
                FlagOp::Replace => flags.clone(),
                FlagOp::Add => normalize_flags(&[cur.clone(), flags.clone()].concat()),
                FlagOp::Remove => cur
                    .iter()
                    .filter(|f| !flags.iter().any(|x| x.eq_ignore_ascii_case(f)))
                    .cloned()
                    .collect(),
            };
            let new = normalize_flags(&new);
            if new == cur {
                continue;
            }
            modseq = sqlx::query_scalar::<_, i64>(
                "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING highestmodseq",
            )
            .bind(mailbox)
            .fetch_one(&mut *tx)
            .await? as u64;
            sqlx::query(
                "UPDATE messages SET flags = $1, modseq = $2 WHERE mailbox_id = $3 AND uid = $4",
            )
            .bind(new.join(" "))
            .bind(modseq as i64)
            .bind(mailbox)
            .bind(uid as i64)
            .execute(&mut *tx)
            .await?;
            changed.push((
                uid,
                MessageMeta {
                    uid,
                    size: size as u64,
                    internal_date: date,
                    internal_zone: zone as i32,
                    flags: new,
                    modseq,
                },
            ));
        }
        let change = Change {
            account_id: account,
            mailbox_id: mailbox,
            kind: ChangeKind::Flags,
            modseq,
        };
        if !changed.is_empty() {
            self.emit(&mut tx, &change).await?;
        }
        tx.commit().await?;
        if !changed.is_empty() {
            self.emitted(change);
        }
        Ok((changed, failed))
    }
}
