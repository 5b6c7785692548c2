//! Snooze by moving mail: a message moved into one of the four
//! `Snoozed/…` mailboxes waits there until that mailbox's time (read in
//! the account's time zone, `tern_manage::wake_time`), marked `$snoozed`,
//! and then goes back to the mailbox it came from (`tern serve` wakes it).
//! Recorded before the command's reply.
//!
//! The rule not to break: a message never wakes into a Snoozed mailbox.
//! Moved from one Snoozed mailbox to another, it keeps the mailbox its
//! first snooze would have taken it back to (`tern_manage::snooze_back_to`).
//! Moved out of Snoozed anywhere else, by hand, its wake-up is cancelled
//! and `$snoozed` removed. With Snooze off for the account, the Snoozed
//! mailboxes (kept when it is turned off) are ordinary mailboxes: a move
//! into one sets no wake-up; what was snoozed before still wakes.

use tern_store::{FlagOp, Mailbox, Store};

/// A COPY or MOVE (`moved`) from `source` to `target` just stored `pairs`
/// (source UID, target UID): carry, set or cancel the wake-ups.
pub(crate) async fn after_copy(
    store: &Store,
    account: i64,
    source: &Mailbox,
    target: &Mailbox,
    pairs: &[(u32, u32)],
    moved: bool,
) {
    let into = tern_manage::SNOOZE_FOLDERS
        .iter()
        .find(|f| f.eq_ignore_ascii_case(&target.name))
        .copied();
    let from_snoozed = tern_manage::is_snoozed(&source.name);
    if into.is_none() && !from_snoozed {
        return;
    }
    let earlier = match store.snooze_in(source.id).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(account, error = %e, "snooze: cannot read the wake-ups");
            Vec::new()
        }
    };
    let earlier_of = |uid: u32| earlier.iter().find(|r| r.uid == uid).map(|r| r.back_to);
    // A moved message takes its wake-up along (below) or loses it.
    if moved {
        for &(src, _) in pairs {
            if earlier_of(src).is_some()
                && let Err(e) = store.snooze_remove(source.id, src).await
            {
                tracing::warn!(account, uid = src, error = %e, "snooze: cannot cancel a wake-up");
            }
        }
    }
    let on = match store.snooze_settings(account).await {
        Ok((on, tz)) => on.then(|| tern_manage::zone_of(&tz)),
        Err(e) => {
            tracing::warn!(account, error = %e, "snooze: cannot read the settings");
            None
        }
    };
    let dest: Vec<u32> = pairs.iter().map(|p| p.1).collect();
    let until = match (into, on) {
        (Some(folder), Some(tz)) => tern_manage::wake_time(folder, jiff::Timestamp::now(), &tz),
        _ => None,
    };
    let Some(until) = until else {
        // Out of Snoozed by hand (or into it with Snooze off): not snoozed.
        flag(store, account, target, &dest, FlagOp::Remove).await;
        return;
    };
    let until = until.as_second();
    let inbox = match store.mailbox_get(account, "INBOX").await {
        Ok(m) => m.map_or(0, |m| m.id),
        Err(e) => {
            tracing::warn!(account, error = %e, "snooze: cannot find INBOX");
            0
        }
    };
    flag(store, account, target, &dest, FlagOp::Add).await;
    for &(src, dst) in pairs {
        let back = tern_manage::snooze_back_to(earlier_of(src), source, inbox);
        if let Err(e) = store.snooze_add(account, target.id, dst, back, until).await {
            tracing::warn!(account, uid = dst, error = %e, "snooze: cannot record a wake-up");
        }
    }
    tracing::info!(account, mailbox = %target.name, messages = pairs.len(), until, "snooze: by a move");
}

/// Add or remove `$snoozed` on `uids` of `mailbox`.
async fn flag(store: &Store, account: i64, mailbox: &Mailbox, uids: &[u32], op: FlagOp) {
    let keyword = [tern_manage::SNOOZE_KEYWORD.to_string()];
    if let Err(e) = store
        .store_flags(mailbox.id, uids, op, &keyword, None)
        .await
    {
        tracing::warn!(account, error = %e, "snooze: cannot mark the messages");
    }
}
