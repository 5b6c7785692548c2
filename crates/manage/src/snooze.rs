//! Snooze: an account turns it on and gets four mailboxes; moving a
//! message into one snoozes it until that mailbox's time, read in the
//! account's time zone (an IANA name; empty: the server's). The API takes
//! any time (`snooze_message`). `snooze_wake` moves what is due back where
//! it came from — unseen, `$snoozed` removed — and is run by `tern serve`
//! on one node at a time.
//!
//! Times come from `jiff` with its time zone database built in (the same
//! answers on every machine, daylight saving changes included).

use jiff::Timestamp;
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use serde::Serialize;
use tern_store::FlagOp;
use utoipa::ToSchema;

use crate::Manager;
use crate::error::{Error, Result};
use crate::scope::Scope;

/// The mailbox that holds snoozed messages (and, under it, the four).
pub const SNOOZED: &str = "Snoozed";
/// The four mailboxes a move into which snoozes, by their wake-up rule.
pub const FOLDERS: [&str; 4] = [
    "Snoozed/Later today",
    "Snoozed/Tomorrow",
    "Snoozed/This weekend",
    "Snoozed/Next week",
];
/// The keyword a snoozed message carries.
pub const KEYWORD: &str = "$snoozed";
/// The hour the day-based folders wake at, local time.
const MORNING: i8 = 8;

/// When a message moved into `folder` at `now` wakes up, in `tz`; `None`
/// for a mailbox that is not one of the four.
pub fn wake_time(folder: &str, now: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    let local = now.to_zoned_datetime(tz.clone());
    let today = local.date();
    let day = match folder {
        "Snoozed/Later today" => return now.checked_add(jiff::SignedDuration::from_hours(3)).ok(),
        "Snoozed/Tomorrow" => today.tomorrow().ok()?,
        // The next Saturday and the next Monday after today.
        "Snoozed/This weekend" => today.nth_weekday(1, Weekday::Saturday).ok()?,
        "Snoozed/Next week" => today.nth_weekday(1, Weekday::Monday).ok()?,
        _ => return None,
    };
    let at = day.to_datetime(Time::new(MORNING, 0, 0, 0).ok()?);
    // A morning that does not exist (a daylight saving gap) is the first
    // moment after it (`compatible` disambiguation).
    Some(at.to_zoned_datetime(tz.clone()).ok()?.timestamp())
}

/// Whether `name` is `Snoozed` or a mailbox under it (ASCII names; a
/// client may have changed their case).
pub fn is_snoozed(name: &str) -> bool {
    name.get(..SNOOZED.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(SNOOZED))
        && matches!(name.as_bytes().get(SNOOZED.len()), None | Some(b'/'))
}

/// Where a message snoozed from `from` goes back to: where its earlier
/// snooze would have taken it (`earlier`, a move from one Snoozed mailbox
/// to another), else `from` itself — unless that is a Snoozed mailbox,
/// which would keep it snoozed for ever: then `inbox`.
pub fn back_to(
    earlier: Option<tern_store::MailboxId>,
    from: &tern_store::Mailbox,
    inbox: tern_store::MailboxId,
) -> tern_store::MailboxId {
    match earlier {
        Some(b) => b,
        None if is_snoozed(&from.name) => inbox,
        None => from.id,
    }
}

/// The account's time zone: its own, else the server's.
pub fn zone_of(name: &str) -> TimeZone {
    if name.is_empty() {
        return TimeZone::system();
    }
    TimeZone::get(name).unwrap_or_else(|_| TimeZone::system())
}

/// One snoozed message, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SnoozedInfo {
    pub mailbox: String,
    pub uid: u32,
    /// Seconds since the epoch.
    pub until: i64,
    /// Where it goes back.
    pub back_to: String,
}

impl Manager {
    /// Turn Snooze on (creating its mailboxes) or off (the mailboxes stay,
    /// and what is snoozed still wakes up).
    pub async fn snooze_set(&self, scope: &Scope, user: &str, on: bool) -> Result<()> {
        let id = self.account_id(scope, user).await?;
        if on {
            for name in std::iter::once(SNOOZED).chain(FOLDERS) {
                if self.store.mailbox_get(id, name).await?.is_none() {
                    match self.store.mailbox_create(id, name, None).await {
                        Ok(_) | Err(tern_store::StoreError::Duplicate(_)) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(self.store.snooze_set(id, on).await?)
    }

    /// The account's time zone (an IANA name such as `Europe/Berlin`;
    /// empty: the server's).
    pub async fn time_zone_set(&self, scope: &Scope, user: &str, tz: &str) -> Result<()> {
        let id = self.account_id(scope, user).await?;
        let tz = tz.trim();
        if !tz.is_empty() && TimeZone::get(tz).is_err() {
            return Err(Error::invalid(
                "time_zone",
                format!("{tz:?} is not a time zone (an IANA name, e.g. Europe/Berlin)"),
            ));
        }
        Ok(self.store.time_zone_set(id, tz).await?)
    }

    /// Snooze the message `uid` of `mailbox` until `until` (seconds since
    /// the epoch, in the future): it moves into `Snoozed` now and back
    /// into `mailbox` then — or, when it is snoozed already, where that
    /// snooze would have taken it (`back_to`).
    pub async fn snooze_message(
        &self,
        scope: &Scope,
        user: &str,
        mailbox: &str,
        uid: u32,
        until: i64,
    ) -> Result<()> {
        let id = self.account_id(scope, user).await?;
        if until <= tern_common::time::now_secs() {
            return Err(Error::invalid("until", "a time in the future"));
        }
        let from = self.store.mailbox_get(id, mailbox).await?.ok_or_else(|| {
            Error::not_found(format!("mailbox {mailbox:?} not found")).on("mailbox")
        })?;
        let into = match self.store.mailbox_get(id, SNOOZED).await? {
            Some(m) => m,
            None => self.store.mailbox_create(id, SNOOZED, None).await?,
        };
        let earlier = self
            .store
            .snooze_in(from.id)
            .await?
            .into_iter()
            .find(|s| s.uid == uid)
            .map(|s| s.back_to);
        let inbox = self
            .store
            .mailbox_get(id, "INBOX")
            .await?
            .map_or(0, |m| m.id);
        let back = back_to(earlier, &from, inbox);
        let moved = self.store.move_messages(from.id, &[uid], into.id).await?;
        let Some(&(_, new)) = moved.first() else {
            return Err(Error::not_found(format!("no message {uid} in {mailbox:?}")).on("uid"));
        };
        if earlier.is_some() {
            self.store.snooze_remove(from.id, uid).await?;
        }
        self.store
            .store_flags(into.id, &[new], FlagOp::Add, &[KEYWORD.to_string()], None)
            .await?;
        Ok(self.store.snooze_add(id, into.id, new, back, until).await?)
    }

    /// Whether Snooze is on, and the account's own time zone ("" = the
    /// server's).
    pub async fn snooze_settings(&self, scope: &Scope, user: &str) -> Result<(bool, String)> {
        let id = self.account_id(scope, user).await?;
        Ok(self.store.snooze_settings(id).await?)
    }

    pub async fn snooze_list(&self, scope: &Scope, user: &str) -> Result<Vec<SnoozedInfo>> {
        let id = self.account_id(scope, user).await?;
        let boxes = self.store.mailbox_list(id).await?;
        let name = |m: i64| {
            boxes
                .iter()
                .find(|b| b.id == m)
                .map_or_else(|| "INBOX".to_string(), |b| b.name.clone())
        };
        Ok(self
            .store
            .snooze_list(id)
            .await?
            .into_iter()
            .map(|s| SnoozedInfo {
                mailbox: name(s.mailbox_id),
                uid: s.uid,
                until: s.until,
                back_to: name(s.back_to),
            })
            .collect())
    }

    /// Wake what is due at `now`: each message goes back to the mailbox
    /// it came from (INBOX when that is gone), unseen, without `$snoozed`.
    /// A message no longer where it was snoozed (moved out by hand) is
    /// forgotten. Returns how many came back. Run on one node at a time.
    ///
    /// Each step can be repeated, so a crash anywhere is finished by the
    /// next round: the flags are changed first, in Snoozed (the copy
    /// takes them along); the move copies at most once (keyed by where the
    /// message waits: a mailbox's UIDs are never reused) and then
    /// expunges; the row goes last, with the move's key.
    pub async fn snooze_wake(&self, now: i64) -> Result<usize> {
        let mut woke = 0;
        for s in self.store.snooze_due(now, 200).await? {
            let back = match self.store.mailbox_by_id(s.back_to).await? {
                Some(m) => m.id,
                None => match self.store.mailbox_get(s.account_id, "INBOX").await? {
                    Some(m) => m.id,
                    None => {
                        self.store.snooze_remove(s.mailbox_id, s.uid).await?;
                        continue;
                    }
                },
            };
            self.store
                .store_flags(
                    s.mailbox_id,
                    &[s.uid],
                    FlagOp::Remove,
                    &[KEYWORD.to_string(), "\\Seen".to_string()],
                    None,
                )
                .await?;
            let key = format!("snooze:{}:{}", s.mailbox_id, s.uid);
            match self
                .store
                .move_message_once(s.mailbox_id, s.uid, back, &key)
                .await
            {
                Ok(Some(_)) => woke += 1,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(account = s.account_id, uid = s.uid, error = %e, "snooze: cannot move back");
                    continue;
                }
            }
            self.store.snooze_woken(s.mailbox_id, s.uid, &key).await?;
        }
        Ok(woke)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn snoozed_mailboxes_are_snoozed_and_those_under_it() {
        assert!(is_snoozed("Snoozed"));
        assert!(is_snoozed("snoozed/Next week"));
        // A sibling that only starts with the same letters is not.
        assert!(!is_snoozed("Snoozedx"));
        assert!(!is_snoozed("INBOX"));
        assert!(!is_snoozed("Snooz"));
    }

    #[test]
    fn the_four_folders_wake_at_their_times() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        // Wednesday 2026-11-25, 21:30 in Berlin (UTC+1).
        let now = at("2026-11-25T20:30:00Z");
        let w = |f| wake_time(f, now, &tz).unwrap();
        assert_eq!(w("Snoozed/Later today"), at("2026-11-25T23:30:00Z"));
        assert_eq!(w("Snoozed/Tomorrow"), at("2026-11-26T07:00:00Z"));
        assert_eq!(w("Snoozed/This weekend"), at("2026-11-28T07:00:00Z"));
        assert_eq!(w("Snoozed/Next week"), at("2026-11-30T07:00:00Z"));
        assert_eq!(wake_time("INBOX", now, &tz), None);
    }

    #[test]
    fn tomorrow_morning_is_right_across_a_daylight_saving_change() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        // Saturday 2026-03-28 22:00 CET; clocks go forward that night.
        let now = at("2026-03-28T21:00:00Z");
        assert_eq!(
            wake_time("Snoozed/Tomorrow", now, &tz).unwrap(),
            at("2026-03-29T06:00:00Z"),
            "08:00 CEST is 06:00 UTC"
        );
        // And back in October: 08:00 CET is 07:00 UTC.
        let now = at("2026-10-24T20:00:00Z");
        assert_eq!(
            wake_time("Snoozed/Tomorrow", now, &tz).unwrap(),
            at("2026-10-25T07:00:00Z")
        );
        // Later today is three hours of real time, whatever the clocks do.
        let now = at("2026-03-29T00:30:00Z");
        assert_eq!(
            wake_time("Snoozed/Later today", now, &tz).unwrap(),
            at("2026-03-29T03:30:00Z")
        );
    }

    #[test]
    fn on_a_saturday_this_weekend_is_the_next_one() {
        let tz = TimeZone::get("America/New_York").unwrap();
        // Saturday 2026-11-28 10:00 in New York.
        let now = at("2026-11-28T15:00:00Z");
        assert_eq!(
            wake_time("Snoozed/This weekend", now, &tz).unwrap(),
            at("2026-12-05T13:00:00Z")
        );
        assert_eq!(
            wake_time("Snoozed/Next week", now, &tz).unwrap(),
            at("2026-11-30T13:00:00Z")
        );
    }
}
