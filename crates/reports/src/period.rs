//! Report periods: whole UTC days. The report for a day goes out at the
//! configured hour of the next day; a node that was down catches up on the
//! days it missed, at most `CATCH_UP_DAYS` back (what is recorded is kept a
//! little longer than that, `KEEP_DAYS`).

use tern_common::time::{civil, days_from_civil};

pub const DAY: i64 = 86_400;
/// Days a late node still reports on.
pub const CATCH_UP_DAYS: i64 = 7;
/// Days DMARC evaluations and TLS outcomes are kept.
pub const KEEP_DAYS: i64 = 8;

/// The first second of the UTC day holding `t`.
pub fn day_start(t: i64) -> i64 {
    t - t.rem_euclid(DAY)
}

/// The newest day whose report is due at `now`: yesterday once the hour
/// has come, else the day before.
pub fn latest_due(now: i64, hour: u8) -> i64 {
    let today = day_start(now);
    if now >= today + i64::from(hour) * 3600 {
        today - DAY
    } else {
        today - 2 * DAY
    }
}

/// The days to report on at `now`, oldest first, given the last day
/// finished: every day after it up to the newest due one, at most
/// `CATCH_UP_DAYS` of them; only the newest when none was finished yet.
pub fn due_days(last_done: Option<i64>, now: i64, hour: u8) -> Vec<i64> {
    let latest = latest_due(now, hour);
    let first = match last_done {
        Some(last) => (last + DAY).max(latest - (CATCH_UP_DAYS - 1) * DAY),
        None => latest,
    };
    let mut days = Vec::new();
    let mut d = first;
    while d <= latest {
        days.push(d);
        d += DAY;
    }
    days
}

/// `YYYY-MM-DD` of the day starting at `t`.
pub fn date(t: i64) -> String {
    let c = civil(t);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

/// The day named `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let year: i64 = it.next()?.parse().ok()?;
    let month: u32 = it.next()?.parse().ok()?;
    let day: u32 = it.next()?.parse().ok()?;
    if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let t = days_from_civil(year, month, day) * DAY;
    (date(t) == format!("{year:04}-{month:02}-{day:02}")).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_30: i64 = 1_795_996_800; // 2026-11-30T00:00:00Z

    #[test]
    fn the_day_before_is_due_from_the_hour_on() {
        assert_eq!(date(NOV_30), "2026-11-30");
        assert_eq!(latest_due(NOV_30 + 3600 - 1, 1), NOV_30 - 2 * DAY);
        assert_eq!(latest_due(NOV_30 + 3600, 1), NOV_30 - DAY);
        assert_eq!(due_days(None, NOV_30 + 7200, 1), vec![NOV_30 - DAY]);
    }

    #[test]
    fn a_late_node_catches_up_a_week_at_most() {
        let now = NOV_30 + 7200;
        assert_eq!(due_days(Some(NOV_30 - DAY), now, 1), Vec::<i64>::new());
        assert_eq!(
            due_days(Some(NOV_30 - 3 * DAY), now, 1),
            vec![NOV_30 - 2 * DAY, NOV_30 - DAY]
        );
        let long = due_days(Some(NOV_30 - 40 * DAY), now, 1);
        assert_eq!(long.len(), CATCH_UP_DAYS as usize);
        assert_eq!(long.last(), Some(&(NOV_30 - DAY)));
    }

    #[test]
    fn dates_read_back() {
        assert_eq!(parse_date("2026-11-30"), Some(NOV_30));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("yesterday"), None);
    }
}
