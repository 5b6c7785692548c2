//! The mail index: mailboxes, messages, flags, MODSEQ and the expunge log.

use sqlx::{AnyConnection, AssertSqlSafe, Row};
use tern_common::time::now_secs;

use crate::blob;
use crate::commit::Prepared;
use crate::db::Backend;
pub use crate::delivered::Delivered;
use crate::events::{CHANNEL, Change, ChangeKind};
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    pub uid: u32,
    pub size: u64,
    /// Seconds since the epoch.
    pub internal_date: i64,
    /// The zone the INTERNALDATE was given in, minutes east of UTC.
    pub internal_zone: i32,
    /// System flags (`\Seen` …) and keywords, sorted.
    pub flags: Vec<String>,
    pub modseq: u64,
}

/// Which mailbox a new message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxSel {
    Name(String),
    Id(MailboxId),
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub account_id: AccountId,
    pub mailbox: MailboxSel,
    pub bytes: Vec<u8>,
    pub flags: Vec<String>,
    pub internal_date: i64,
    /// Minutes east of UTC of the INTERNALDATE (an APPEND's date-time); 0
    /// for mail received here.
    pub internal_zone: i32,
    /// What a protocol layer derived from the bytes, if it already has it
    /// (see [`Store::message_summary_set`]); kept with the message.
    pub summary: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    Add,
    Remove,
    Replace,
}

/// Canonical flag list: system flags in their RFC 9051 spelling, duplicates
/// (case-insensitive) removed, sorted.
pub fn normalize_flags(flags: &[String]) -> Vec<String> {
    const SYSTEM: [&str; 5] = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"];
    let mut out: Vec<String> = Vec::new();
    for f in flags {
        let f = SYSTEM
            .iter()
            .find(|s| s.eq_ignore_ascii_case(f))
            .map(|s| s.to_string())
            .unwrap_or_else(|| f.clone());
        if !f.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(&f)) {
            out.push(f);
        }
    }
    out.sort();
    out
}

pub(crate) fn join_flags(flags: &[String]) -> String {
    normalize_flags(flags).join(" ")
}

/// uid, size, internal_date, flags, modseq, internal_zone.
type MetaRow = (i64, i64, i64, String, i64, i64);

fn meta_of_row((uid, size, internal_date, flags, modseq, zone): MetaRow) -> MessageMeta {
    MessageMeta {
        uid: uid as u32,
        size: size as u64,
        internal_date,
        internal_zone: zone as i32,
        flags: split_flags(&flags),
        modseq: modseq as u64,
    }
}

fn split_flags(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect()
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
    async fn emit(&self, conn: &mut AnyConnection, change: &Change) -> Result<()> {
        if self.backend() == Backend::Postgres {
            sqlx::query("SELECT 1 FROM pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(change.encode())
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }

    fn emitted(&self, change: Change) {
        if self.backend() == Backend::Sqlite {
            self.inner.events.publish(change);
        }
    }

    /// A transaction that changes the messages of one mailbox; returns its
    /// account. The mailbox row is written first, which on PostgreSQL takes
    /// its row lock: concurrent read-modify-writes of the mailbox's flags
    /// are serialised and cannot lose an update (READ COMMITTED would let
    /// two sessions read the same flags and each write back its own).
    async fn begin_mailbox_write(
        &self,
        mailbox: MailboxId,
    ) -> Result<(sqlx::Transaction<'static, sqlx::Any>, AccountId)> {
        let mut tx = self.write_tx().await?;
        let account: i64 = sqlx::query_scalar(
            "UPDATE mailboxes SET highestmodseq = highestmodseq WHERE id = $1 RETURNING account_id",
        )
        .bind(mailbox)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("mailbox #{mailbox}")))?;
        Ok((tx, account))
    }

    pub(crate) async fn account_name(&self, account: AccountId) -> Result<String> {
        sqlx::query_scalar("SELECT name FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("account #{account}")))
    }

    // ---- mailboxes ----------------------------------------------------------

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
        if row.is_some_and(|(from, to)| from >= to) {
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

    // ---- messages -------------------------------------------------------------

    /// Store new messages durably: files first (fsynced, in parallel with
    /// other callers), then one group commit for the index rows. All of
    /// `messages` or none.
    pub async fn deliver(&self, messages: Vec<NewMessage>) -> Result<Vec<Delivered>> {
        let mut prepared = Vec::with_capacity(messages.len());
        let mut written: Vec<std::path::PathBuf> = Vec::new();
        let result = async {
            for m in messages {
                let mb = match &m.mailbox {
                    MailboxSel::Id(id) => self.mailbox_by_id(*id).await?,
                    MailboxSel::Name(n) => self.mailbox_get(m.account_id, n).await?,
                }
                .filter(|mb| mb.account_id == m.account_id)
                .ok_or_else(|| StoreError::NotFound(format!("mailbox {:?}", m.mailbox)))?;
                let account = self.account_name(m.account_id).await?;
                let size = m.bytes.len() as i64;
                let (file, data) = match self.backend() {
                    Backend::Sqlite => {
                        let dir: String =
                            sqlx::query_scalar("SELECT dir FROM mailboxes WHERE id = $1")
                                .bind(mb.id)
                                .fetch_one(self.pool())
                                .await?;
                        let folder = blob::folder_path(self.data_dir(), m.account_id, &dir);
                        let bytes = m.bytes;
                        let f2 = folder.clone();
                        let name =
                            tokio::task::spawn_blocking(move || blob::write_message(&f2, &bytes))
                                .await
                                .map_err(|e| StoreError::Other(e.into()))??;
                        written.push(folder.join("cur").join(&name));
                        (Some(name), None)
                    }
                    Backend::Postgres => (None, Some(m.bytes)),
                };
                prepared.push(Prepared {
                    account_id: m.account_id,
                    account,
                    mailbox_id: mb.id,
                    size,
                    flags: join_flags(&m.flags),
                    internal_date: m.internal_date,
                    internal_zone: m.internal_zone,
                    file,
                    data,
                    large_object: None,
                    summary: m.summary,
                });
            }
            self.inner.committer.commit(prepared).await
        }
        .await;
        if result.is_err() {
            // Nothing of a failed delivery stays visible.
            for p in &written {
                blob::remove_file(p);
            }
        }
        result
    }

    /// Every message of a mailbox, by ascending UID.
    pub async fn messages(&self, mailbox: MailboxId) -> Result<Vec<MessageMeta>> {
        let rows: Vec<MetaRow> = sqlx::query_as(
            "SELECT uid, size, internal_date, flags, modseq, internal_zone FROM messages WHERE mailbox_id = $1 ORDER BY uid",
        )
        .bind(mailbox)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(meta_of_row).collect())
    }

    /// The messages of a mailbox added or changed after `modseq`, by
    /// ascending UID.
    pub async fn messages_changed_since(
        &self,
        mailbox: MailboxId,
        modseq: u64,
    ) -> Result<Vec<MessageMeta>> {
        let rows: Vec<MetaRow> = sqlx::query_as(
            "SELECT uid, size, internal_date, flags, modseq, internal_zone FROM messages \
             WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
        )
        .bind(mailbox)
        .bind(modseq as i64)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(meta_of_row).collect())
    }

    /// Where a message's bytes are: its file, or its blob. Read through
    /// `exec`, so that a writer asks inside its own transaction instead of
    /// waiting for a second pooled connection while holding the write lock.
    async fn locate<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
        &self,
        exec: E,
        mailbox: MailboxId,
        uid: u32,
    ) -> Result<(Option<std::path::PathBuf>, Option<i64>)> {
        let row = sqlx::query(
            "SELECT m.file, m.blob_id, b.dir, b.account_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id \
             WHERE m.mailbox_id = $1 AND m.uid = $2",
        )
        .bind(mailbox)
        .bind(uid as i64)
        .fetch_optional(exec)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("message {uid}")))?;
        let file: Option<String> = row.try_get(0)?;
        let blob_id: Option<i64> = row.try_get(1)?;
        let dir: String = row.try_get(2)?;
        let account: i64 = row.try_get(3)?;
        let path = file.map(|f| {
            blob::folder_path(self.data_dir(), account, &dir)
                .join("cur")
                .join(f)
        });
        Ok((path, blob_id))
    }

    /// Where a message's bytes are (see `locate`), through the pool.
    pub(crate) async fn locate_message(
        &self,
        mailbox: MailboxId,
        uid: u32,
    ) -> Result<(Option<std::path::PathBuf>, Option<i64>)> {
        self.locate(self.pool(), mailbox, uid).await
    }

    /// The bytes of one message.
    pub async fn message_bytes(&self, mailbox: MailboxId, uid: u32) -> Result<Vec<u8>> {
        match self.locate(self.pool(), mailbox, uid).await? {
            (Some(path), _) => Ok(tokio::fs::read(&path).await.map_err(|e| {
                StoreError::Other(anyhow::anyhow!("reading {}: {e}", path.display()))
            })?),
            (None, Some(blob)) => Ok(sqlx::query_scalar("SELECT data FROM blobs WHERE id = $1")
                .bind(blob)
                .fetch_one(self.pool())
                .await?),
            (None, None) => Err(StoreError::Other(anyhow::anyhow!(
                "message {uid} has no content"
            ))),
        }
    }

    /// The cached summaries (see [`Store::message_summary_set`]) of the
    /// messages among `uids` that have one.
    pub async fn message_summaries(
        &self,
        mailbox: MailboxId,
        uids: &[u32],
    ) -> Result<Vec<(u32, Vec<u8>)>> {
        let (Some(lo), Some(hi)) = (uids.iter().min(), uids.iter().max()) else {
            return Ok(Vec::new());
        };
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT uid, summary FROM messages WHERE mailbox_id = $1 AND uid >= $2 AND uid <= $3 \
             AND summary IS NOT NULL",
        )
        .bind(mailbox)
        .bind(*lo as i64)
        .bind(*hi as i64)
        .fetch_all(self.pool())
        .await?;
        let wanted: std::collections::HashSet<u32> = uids.iter().copied().collect();
        Ok(rows
            .into_iter()
            .map(|(u, s)| (u as u32, s))
            .filter(|(u, _)| wanted.contains(u))
            .collect())
    }

    /// Keep what a protocol layer derived from a message's bytes (the
    /// IMAP ENVELOPE and BODYSTRUCTURE), so it is computed once, not on
    /// every read. The message is immutable, so the summary never goes
    /// stale; it goes with the message when that is expunged.
    pub async fn message_summary_set(
        &self,
        mailbox: MailboxId,
        uid: u32,
        summary: &[u8],
    ) -> Result<()> {
        sqlx::query("UPDATE messages SET summary = $1 WHERE mailbox_id = $2 AND uid = $3")
            .bind(summary)
            .bind(mailbox)
            .bind(uid as i64)
            .execute(self.pool())
            .await?;
        Ok(())
    }

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

    /// Remove the given messages (whatever their flags), log them for
    /// QRESYNC, and return the UIDs actually removed.
    pub async fn expunge_uids(&self, mailbox: MailboxId, uids: &[u32]) -> Result<Vec<u32>> {
        let mut paths = Vec::new();
        let (mut tx, account) = self.begin_mailbox_write(mailbox).await?;
        let mut removed = Vec::new();
        let mut modseq = 0u64;
        let mut freed = 0i64;
        for &uid in uids {
            let (path, blob_id) = match self.locate(&mut *tx, mailbox, uid).await {
                Ok(x) => x,
                Err(StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let size: Option<i64> = sqlx::query_scalar(
                "DELETE FROM messages WHERE mailbox_id = $1 AND uid = $2 RETURNING size",
            )
            .bind(mailbox)
            .bind(uid as i64)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(size) = size else { continue };
            freed += size;
            modseq = sqlx::query_scalar::<_, i64>(
                "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING highestmodseq",
            )
            .bind(mailbox)
            .fetch_one(&mut *tx)
            .await? as u64;
            sqlx::query("INSERT INTO expunged (mailbox_id, uid, modseq) VALUES ($1, $2, $3)")
                .bind(mailbox)
                .bind(uid as i64)
                .bind(modseq as i64)
                .execute(&mut *tx)
                .await?;
            if let Some(b) = blob_id {
                blob::release_db_blob(&mut tx, b).await?;
            }
            paths.extend(path);
            removed.push(uid);
        }
        sqlx::query("UPDATE accounts SET used = CASE WHEN used > $1 THEN used - $1 ELSE 0 END WHERE id = $2")
            .bind(freed)
            .bind(account)
            .execute(&mut *tx)
            .await?;
        let change = Change {
            account_id: account,
            mailbox_id: mailbox,
            kind: ChangeKind::Expunged,
            modseq,
        };
        if !removed.is_empty() {
            self.emit(&mut tx, &change).await?;
        }
        tx.commit().await?;
        for p in &paths {
            blob::remove_file(p);
        }
        if !removed.is_empty() {
            self.emitted(change);
        }
        Ok(removed)
    }

    /// EXPUNGE: remove the messages flagged `\Deleted` (only among `uids`
    /// when given, for UID EXPUNGE).
    pub async fn expunge_deleted(
        &self,
        mailbox: MailboxId,
        uids: Option<&[u32]>,
    ) -> Result<Vec<u32>> {
        let candidates: Vec<u32> = self
            .messages(mailbox)
            .await?
            .into_iter()
            .filter(|m| m.flags.iter().any(|f| f == "\\Deleted"))
            .map(|m| m.uid)
            .filter(|u| uids.is_none_or(|set| set.contains(u)))
            .collect();
        self.expunge_uids(mailbox, &candidates).await
    }

    /// UIDs expunged from a mailbox after `modseq` (QRESYNC VANISHED).
    pub async fn expunged_since(&self, mailbox: MailboxId, modseq: u64) -> Result<Vec<u32>> {
        let uids: Vec<i64> = sqlx::query_scalar(
            "SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
        )
        .bind(mailbox)
        .bind(modseq as i64)
        .fetch_all(self.pool())
        .await?;
        Ok(uids.into_iter().map(|u| u as u32).collect())
    }

    /// Copy messages to another mailbox of the same account, keeping flags,
    /// dates and summaries. Returns (source UID, new UID) pairs.
    pub async fn copy_messages(
        &self,
        from: MailboxId,
        uids: &[u32],
        to: MailboxId,
    ) -> Result<Vec<(u32, u32)>> {
        let dest = self
            .mailbox_by_id(to)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("mailbox #{to}")))?;
        let src_meta = self.messages(from).await?;
        let mut summaries: std::collections::HashMap<u32, Vec<u8>> = self
            .message_summaries(from, uids)
            .await?
            .into_iter()
            .collect();
        let mut items = Vec::new();
        let mut pairs_src = Vec::new();
        for m in src_meta.iter().filter(|m| uids.contains(&m.uid)) {
            items.push(NewMessage {
                account_id: dest.account_id,
                mailbox: MailboxSel::Id(to),
                bytes: self.message_bytes(from, m.uid).await?,
                flags: m.flags.clone(),
                internal_date: m.internal_date,
                internal_zone: m.internal_zone,
                summary: summaries.remove(&m.uid),
            });
            pairs_src.push(m.uid);
        }
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let delivered = self.deliver(items).await?;
        Ok(pairs_src
            .into_iter()
            .zip(delivered.iter().map(|d| d.uid))
            .collect())
    }

    /// MOVE: copy, then expunge from the source.
    pub async fn move_messages(
        &self,
        from: MailboxId,
        uids: &[u32],
        to: MailboxId,
    ) -> Result<Vec<(u32, u32)>> {
        let pairs = self.copy_messages(from, uids, to).await?;
        let moved: Vec<u32> = pairs.iter().map(|p| p.0).collect();
        self.expunge_uids(from, &moved).await?;
        Ok(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_canonical() {
        let f = normalize_flags(&[
            "\\seen".into(),
            "$Junk".into(),
            "\\SEEN".into(),
            "\\flagged".into(),
        ]);
        assert_eq!(f, vec!["$Junk", "\\Flagged", "\\Seen"]);
    }

    #[test]
    fn mailbox_names() {
        assert_eq!(canonical_mailbox_name("inbox").unwrap(), "INBOX");
        assert_eq!(canonical_mailbox_name("Inbox/x").unwrap(), "INBOX/x");
        assert!(canonical_mailbox_name("a//b").is_err());
        assert!(canonical_mailbox_name("").is_err());
        assert!(canonical_mailbox_name("a\nb").is_err());
    }
}
