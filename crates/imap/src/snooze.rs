//! Snooze by moving mail: a message moved into one of the four
//! `Snoozed/…` mailboxes waits there until that mailbox's time (read in
//! the account's time zone, `tern_manage::wake_time`), marked `$snoozed`,
//! and then goes back to the mailbox it came from (`tern serve` wakes it).
//! Recorded before the command's reply.

use tern_store::{FlagOp, Mailbox, MailboxId, Store};

pub(crate) async fn snoozed_by_move(
    store: &Store,
    account: i64,
    from: MailboxId,
    target: &Mailbox,
    uids: &[u32],
) {
    let tz = match store.snooze_settings(account).await {
        Ok((_, tz)) => tern_manage::zone_of(&tz),
        Err(e) => {
            tracing::warn!(account, error = %e, "snooze: cannot read the settings");
            return;
        }
    };
    let now = jiff::Timestamp::now();
    // The four names are ASCII; a client may have changed their case.
    let folder = tern_manage::SNOOZE_FOLDERS
        .iter()
        .find(|f| f.eq_ignore_ascii_case(&target.name))
        .copied()
        .unwrap_or_default();
    let Some(until) = tern_manage::wake_time(folder, now, &tz) else {
        return;
    };
    let until = until.as_second();
    if let Err(e) = store
        .store_flags(
            target.id,
            uids,
            FlagOp::Add,
            &[tern_manage::SNOOZE_KEYWORD.to_string()],
            None,
        )
        .await
    {
        tracing::warn!(account, error = %e, "snooze: cannot mark the messages");
    }
    for &uid in uids {
        if let Err(e) = store.snooze_add(account, target.id, uid, from, until).await {
            tracing::warn!(account, uid, error = %e, "snooze: cannot record a wake-up");
        }
    }
    tracing::info!(account, mailbox = %target.name, messages = uids.len(), until, "snooze: by a move");
}
