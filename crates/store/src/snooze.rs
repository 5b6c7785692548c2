//! Snooze: an account's switch and time zone, and each snoozed message —
//! where it waits (mailbox and UID), the mailbox it goes back to, and when.
//! The wake-ups themselves (one node at a time, under a lease) are
//! `tern serve`'s. A move out of a Snoozed mailbox removes the message's
//! row (IMAP); a row whose message is gone anyway is dropped by the
//! wake-up.

use crate::{AccountId, MailboxId, Result, Store};

/// One snoozed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snoozed {
    pub account_id: AccountId,
    pub mailbox_id: MailboxId,
    pub uid: u32,
    pub back_to: MailboxId,
    /// Seconds since the epoch.
    pub until: i64,
}

type Row = (i64, i64, i64, i64, i64);

fn snoozed((account_id, mailbox_id, uid, back_to, until): Row) -> Snoozed {
    Snoozed {
        account_id,
        mailbox_id,
        uid: uid.clamp(0, u32::MAX as i64) as u32,
        back_to,
        until,
    }
}

impl Store {
    /// Whether Snooze is on, and the account's time zone ("" = server's).
    pub async fn snooze_settings(&self, account: AccountId) -> Result<(bool, String)> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT snooze, time_zone FROM accounts WHERE id = $1")
                .bind(account)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map_or((false, String::new()), |(s, tz)| (s != 0, tz)))
    }

    pub async fn snooze_set(&self, account: AccountId, on: bool) -> Result<()> {
        sqlx::query("UPDATE accounts SET snooze = $1 WHERE id = $2")
            .bind(i64::from(on))
            .bind(account)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The account's time zone (an IANA name the caller checked; "" for
    /// the server's).
    pub async fn time_zone_set(&self, account: AccountId, tz: &str) -> Result<()> {
        sqlx::query("UPDATE accounts SET time_zone = $1 WHERE id = $2")
            .bind(tz)
            .bind(account)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Snooze the message `uid` of `mailbox` until `until`; it goes back to
    /// `back_to`. A second snooze of the same message replaces the first.
    pub async fn snooze_add(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        uid: u32,
        back_to: MailboxId,
        until: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO snoozed (mailbox_id, uid, account_id, back_to, until) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (mailbox_id, uid) DO UPDATE SET back_to = $4, until = $5",
        )
        .bind(mailbox)
        .bind(i64::from(uid))
        .bind(account)
        .bind(back_to)
        .bind(until)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Snoozed messages due at `now`, earliest first, at most `limit`.
    pub async fn snooze_due(&self, now: i64, limit: i64) -> Result<Vec<Snoozed>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT account_id, mailbox_id, uid, back_to, until FROM snoozed \
             WHERE until <= $1 ORDER BY until LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(snoozed).collect())
    }

    /// The account's snoozed messages, earliest first.
    pub async fn snooze_list(&self, account: AccountId) -> Result<Vec<Snoozed>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT account_id, mailbox_id, uid, back_to, until FROM snoozed \
             WHERE account_id = $1 ORDER BY until",
        )
        .bind(account)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(snoozed).collect())
    }

    /// The snoozed messages of one mailbox (to carry a wake-up along when
    /// a message moves on).
    pub async fn snooze_in(&self, mailbox: MailboxId) -> Result<Vec<Snoozed>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT account_id, mailbox_id, uid, back_to, until FROM snoozed \
             WHERE mailbox_id = $1 ORDER BY uid",
        )
        .bind(mailbox)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(snoozed).collect())
    }

    /// A wake-up is done: its row goes, and with it the delivery key its
    /// move was made once under (`move_message_once`), which nothing can
    /// repeat once the row is gone.
    pub async fn snooze_woken(&self, mailbox: MailboxId, uid: u32, key: &str) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM snoozed WHERE mailbox_id = $1 AND uid = $2")
            .bind(mailbox)
            .bind(i64::from(uid))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM delivery_keys WHERE name = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn snooze_remove(&self, mailbox: MailboxId, uid: u32) -> Result<()> {
        sqlx::query("DELETE FROM snoozed WHERE mailbox_id = $1 AND uid = $2")
            .bind(mailbox)
            .bind(i64::from(uid))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
