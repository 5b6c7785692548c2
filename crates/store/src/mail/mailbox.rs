//! Mailboxes: create, list, rename, delete (RFC 9051 6.3), their
//! subscriptions (RFC 3501 6.3.6) and the \Recent claim (RFC 3501 2.3.2).
//! A mailbox's folder on disk is named by its id, never by its name.

use sqlx::{AssertSqlSafe, Row};
use tern_common::time::now_secs;

use crate::blob;
use crate::db::Backend;
use crate::events::{Change, ChangeKind};
use crate::{AccountId, MailboxId, Result, Store, StoreError};

/// The mailboxes every account starts with, and their RFC 6154 roles.
pub const SPECIAL_MAILBOXES: &[(&str, Option<&str>)] = &[
    ("INBOX", None),
    ("Sent", Some("\\Sent")),
    ("Drafts", Some("\\Drafts")),
    ("Trash", Some("\\Trash")),
    ("Junk", Some("\\Junk")),
    ("Archive", Some("\\Archive")),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub id: MailboxId,
    pub account_id: AccountId,
    /// Full name, levels separated by `/`, UTF-8.
    pub name: String,
    pub special_use: Option<String>,
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub highestmodseq: u64,
    /// The first UID no IMAP session has claimed as \Recent (RFC 3501
    /// 2.3.2): messages from it on are recent; see
    /// [`Store::recent_claim`].
    pub recent_uid: u32,
}

/// A mailbox name must be non-empty UTF-8 without control characters, with
/// non-empty `/`-separated levels. `INBOX` is case-insensitive (RFC 9051 5.1).
pub fn canonical_mailbox_name(name: &str) -> Result<String> {
    let bad = name.is_empty()
        || name.len() > 512
        || name.chars().any(|c| c.is_control())
        || name.split('/').any(|l| l.is_empty());
    if bad {
        return Err(StoreError::Invalid(format!(
            "invalid mailbox name {name:?}"
        )));
    }
    if name.eq_ignore_ascii_case("INBOX") {
        return Ok("INBOX".into());
    }
    if let Some(rest) = name.get(..6)
        && rest.eq_ignore_ascii_case("INBOX/")
    {
        return Ok(format!("INBOX/{}", &name[6..]));
    }
    Ok(name.to_string())
}

const MAILBOX_COLS: &str =
    "id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq, recent_uid";

fn mailbox_from(r: &sqlx::any::AnyRow) -> Result<Mailbox> {
    Ok(Mailbox {
        id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        name: r.try_get(2)?,
        special_use: r.try_get(3)?,
        uidvalidity: r.try_get::<i64, _>(4)? as u32,
        uidnext: r.try_get::<i64, _>(5)? as u32,
        highestmodseq: r.try_get::<i64, _>(6)? as u64,
        recent_uid: r.try_get::<i64, _>(7)? as u32,
    })
}

impl Store {
    pub async fn mailbox_create(
        &self,
        account: AccountId,
        name: &str,
        special_use: Option<&str>,
    ) -> Result<Mailbox> {
        let name = canonical_mailbox_name(name)?;
        let mut tx = self.write_tx().await?;
        // UIDVALIDITY must differ from any earlier mailbox of the same name
        // (RFC 9051 2.3.1.1): the clock, or one past the last one handed out.
        let last: i64 = sqlx::query_scalar("SELECT last_uidvalidity FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_one(&mut *tx)
            .await?;
        let uidvalidity = (now_secs() & 0xffff_ffff)
            .max(last + 1)
            .clamp(1, u32::MAX as i64);
        sqlx::query("UPDATE accounts SET last_uidvalidity = $1 WHERE id = $2")
            .bind(uidvalidity)
            .bind(account)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO mailboxes (account_id, name, dir, special_use, uidvalidity) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (account_id, name) DO NOTHING RETURNING {MAILBOX_COLS}"
        )))
        .bind(account)
        .bind(&name)
        .bind("")
        .bind(special_use)
        .bind(uidvalidity)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::Duplicate(format!("mailbox {name}")))?;
        let mb = mailbox_from(&row)?;
        // The folder on disk is named by the mailbox id, known only now.
        let dir = if name == "INBOX" {
            String::new()
        } else {
            blob::mailbox_dir(mb.id)
        };
        sqlx::query("UPDATE mailboxes SET dir = $1 WHERE id = $2")
            .bind(&dir)
            .bind(mb.id)
            .execute(&mut *tx)
            .await?;
        let change = Change {
            account_id: account,
            mailbox_id: mb.id,
            kind: ChangeKind::Mailboxes,
            modseq: 1,
        };
        self.emit(&mut tx, &change).await?;
        if self.backend() == Backend::Sqlite {
            blob::ensure_maildir(&blob::folder_path(self.data_dir(), account, &dir))?;
        }
        tx.commit().await?;
        self.emitted(change);
        Ok(mb)
    }

    pub async fn mailbox_list(&self, account: AccountId) -> Result<Vec<Mailbox>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MAILBOX_COLS} FROM mailboxes WHERE account_id = $1 ORDER BY name"
        )))
        .bind(account)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(mailbox_from).collect()
    }

    pub async fn mailbox_get(&self, account: AccountId, name: &str) -> Result<Option<Mailbox>> {
        let Ok(name) = canonical_mailbox_name(name) else {
            return Ok(None);
        };
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MAILBOX_COLS} FROM mailboxes WHERE account_id = $1 AND name = $2"
        )))
        .bind(account)
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(mailbox_from).transpose()
    }

    pub async fn mailbox_by_id(&self, id: MailboxId) -> Result<Option<Mailbox>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MAILBOX_COLS} FROM mailboxes WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(mailbox_from).transpose()
    }

    /// The names the account subscribed to, sorted (RFC 3501 6.3.6): kept
    /// apart from its mailboxes, as a subscription outlives its mailbox and
    /// may name one that does not exist.
    pub async fn subscriptions(&self, account: AccountId) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar(
                "SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name",
            )
            .bind(account)
            .fetch_all(self.pool())
            .await?,
        )
    }

    /// Subscribes to a name or unsubscribes from it; either is idempotent.
    pub async fn subscription_set(&self, account: AccountId, name: &str, on: bool) -> Result<()> {
        let name = canonical_mailbox_name(name)?;
        let sql = if on {
            "INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM subscriptions WHERE account_id = $1 AND name = $2"
        };
        let mut tx = self.write_tx().await?;
        sqlx::query(sql)
            .bind(account)
            .bind(&name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `recent_claim` for a session whose list of the mailbox ends below
    /// UID `seen_next` (after a change event): when this process already
    /// knows all of those were claimed, the database is not asked. The
    /// sessions one delivery wakes together take turns, so the first
    /// claims and the others learn it here — not ten thousand queries.
    pub async fn recent_claim_seen(
        &self,
        mailbox: MailboxId,
        seen_next: u32,
    ) -> Result<std::ops::Range<u32>> {
        let snaps = &self.inner.snapshots;
        if snaps.recent_known(mailbox) >= seen_next {
            return Ok(0..0);
        }
        let turn = snaps.turn(mailbox);
        let _turn = turn.lock().await;
        if snaps.recent_known(mailbox) >= seen_next {
            return Ok(0..0);
        }
        self.recent_claim(mailbox).await
    }

    /// Claims the mailbox's recent messages for one session (RFC 3501
    /// 2.3.2: each message is \Recent in one session only, the first to
    /// select the mailbox after it arrived): the UIDs `from..to` that no
    /// session claimed before, empty when there are none or when another
    /// session claimed them at the same moment.
    pub async fn recent_claim(&self, mailbox: MailboxId) -> Result<std::ops::Range<u32>> {
        // Every session with the mailbox selected asks after each delivery,
        // and one gets them: the others learn it without the write lock.
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT recent_uid, uidnext FROM mailboxes WHERE id = $1")
                .bind(mailbox)
                .fetch_optional(self.pool())
                .await?;
        if let Some((from, to)) = row
            && from >= to
        {
            self.inner.snapshots.recent_note(mailbox, from as u32);
            return Ok(0..0);
        }
        let mut tx = self.write_tx().await?;
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT recent_uid, uidnext FROM mailboxes WHERE id = $1")
                .bind(mailbox)
                .fetch_optional(&mut *tx)
                .await?;
        let (from, to) = row.ok_or_else(|| StoreError::NotFound(format!("mailbox #{mailbox}")))?;
        if from >= to {
            self.inner.snapshots.recent_note(mailbox, from as u32);
            return Ok(0..0);
        }
        // Compare and set: on PostgreSQL two sessions may read the same
        // value; the second update then changes nothing and claims nothing.
        let r =
            sqlx::query("UPDATE mailboxes SET recent_uid = $1 WHERE id = $2 AND recent_uid = $3")
                .bind(to)
                .bind(mailbox)
                .bind(from)
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        if r.rows_affected() == 0 {
            return Ok(0..0);
        }
        self.inner.snapshots.recent_note(mailbox, to as u32);
        Ok(from as u32..to as u32)
    }

    /// Delete a mailbox and its messages. INBOX cannot be deleted.
    pub async fn mailbox_delete(&self, account: AccountId, name: &str) -> Result<()> {
        let name = canonical_mailbox_name(name)?;
        if name == "INBOX" {
            return Err(StoreError::Invalid("INBOX cannot be deleted".into()));
        }
        let mb = self
            .mailbox_get(account, &name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("mailbox {name}")))?;
        let uids: Vec<i64> = sqlx::query_scalar("SELECT uid FROM messages WHERE mailbox_id = $1")
            .bind(mb.id)
            .fetch_all(self.pool())
            .await?;
        let uids: Vec<u32> = uids.into_iter().map(|u| u as u32).collect();
        self.expunge_uids(mb.id, &uids).await?;
        let dir: String = sqlx::query_scalar("SELECT dir FROM mailboxes WHERE id = $1")
            .bind(mb.id)
            .fetch_one(self.pool())
            .await?;
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM expunged WHERE mailbox_id = $1")
            .bind(mb.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM mailboxes WHERE id = $1")
            .bind(mb.id)
            .execute(&mut *tx)
            .await?;
        let change = Change {
            account_id: account,
            mailbox_id: mb.id,
            kind: ChangeKind::Mailboxes,
            modseq: 0,
        };
        self.emit(&mut tx, &change).await?;
        tx.commit().await?;
        self.emitted(change);
        if self.backend() == Backend::Sqlite && !dir.is_empty() {
            let _ = std::fs::remove_dir_all(blob::folder_path(self.data_dir(), account, &dir));
        }
        Ok(())
    }

    /// Rename a mailbox and its children. (Renaming INBOX moves its messages
    /// into a new mailbox; RFC 9051 6.3.6.)
    pub async fn mailbox_rename(&self, account: AccountId, from: &str, to: &str) -> Result<()> {
        let from = canonical_mailbox_name(from)?;
        let to = canonical_mailbox_name(to)?;
        if self.mailbox_get(account, &to).await?.is_some() {
            return Err(StoreError::Duplicate(format!("mailbox {to}")));
        }
        let src = self
            .mailbox_get(account, &from)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("mailbox {from}")))?;
        if from == "INBOX" {
            let dest = self.mailbox_create(account, &to, None).await?;
            let uids: Vec<u32> = self.messages(src.id).await?.iter().map(|m| m.uid).collect();
            self.move_messages(src.id, &uids, dest.id).await?;
            return Ok(());
        }
        // Folders on disk are named by mailbox id: a rename moves no file.
        let prefix = format!("{from}/");
        let all = self.mailbox_list(account).await?;
        let mut tx = self.write_tx().await?;
        for mb in all
            .iter()
            .filter(|m| m.name == from || m.name.starts_with(&prefix))
        {
            let new_name = format!("{to}{}", &mb.name[from.len()..]);
            sqlx::query("UPDATE mailboxes SET name = $1 WHERE id = $2")
                .bind(&new_name)
                .bind(mb.id)
                .execute(&mut *tx)
                .await?;
        }
        let change = Change {
            account_id: account,
            mailbox_id: src.id,
            kind: ChangeKind::Mailboxes,
            modseq: 0,
        };
        self.emit(&mut tx, &change).await?;
        tx.commit().await?;
        self.emitted(change);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_names() {
        assert_eq!(canonical_mailbox_name("inbox").unwrap(), "INBOX");
        assert_eq!(canonical_mailbox_name("Inbox/x").unwrap(), "INBOX/x");
        assert!(canonical_mailbox_name("a//b").is_err());
        assert!(canonical_mailbox_name("").is_err());
        assert!(canonical_mailbox_name("a\nb").is_err());
    }
}
