//! What iCalendar (RFC 5545) and vCard (RFC 6350, and 3.0) data says about
//! itself: checked and indexed with calcard, never rewritten — the bytes a
//! client PUT are the bytes it GETs.
//!
//! A calendar object resource (RFC 4791 4.1) is one VCALENDAR whose
//! components (other than VTIMEZONE) share one UID and one type. Its span
//! for time-range queries runs from the first instance's start to the last
//! instance's end, recurrences expanded (at most `MAX_INSTANCES`; an
//! unbounded rule leaves the end open).

use calcard::common::timezone::Tz;
use calcard::icalendar::{ICalendar, ICalendarComponentType};
use calcard::vcard::VCard;

/// Run parsing and expansion on the blocking pool: a 1 MiB calendar with
/// thousands of instances is CPU that an async worker serving other
/// connections must not spend. `None` if the task failed.
pub async fn off_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

/// Instances expanded to find a span or to test a time range.
const MAX_INSTANCES: usize = 3_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indexed {
    pub uid: String,
    pub component: Option<String>,
    pub first_start: Option<i64>,
    pub last_end: Option<i64>,
}

/// Why data is refused, as the precondition that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// `valid-calendar-data` / `valid-address-data`, with why.
    Invalid(String),
    /// `supported-calendar-component`.
    Component(String),
}

fn component_name(t: &ICalendarComponentType) -> Option<&'static str> {
    Some(match t {
        ICalendarComponentType::VEvent => "VEVENT",
        ICalendarComponentType::VTodo => "VTODO",
        ICalendarComponentType::VJournal => "VJOURNAL",
        ICalendarComponentType::VFreebusy => "VFREEBUSY",
        _ => return None,
    })
}

fn text(bytes: &[u8]) -> Result<&str, Refused> {
    std::str::from_utf8(bytes).map_err(|_| Refused::Invalid("the data is not UTF-8".into()))
}

/// Check and index a calendar object resource; `allowed` are the
/// collection's components.
pub fn calendar(bytes: &[u8], allowed: &[String]) -> Result<Indexed, Refused> {
    let ical = ICalendar::parse(text(bytes)?)
        .map_err(|_| Refused::Invalid("not an iCalendar object".into()))?;
    if ical.components.first().map(|c| &c.component_type)
        != Some(&ICalendarComponentType::VCalendar)
    {
        return Err(Refused::Invalid("not a VCALENDAR".into()));
    }
    let mut uid: Option<&str> = None;
    let mut kind: Option<&'static str> = None;
    for c in &ical.components {
        let Some(name) = component_name(&c.component_type) else {
            continue;
        };
        match kind {
            None => kind = Some(name),
            Some(k) if k != name => {
                return Err(Refused::Invalid("components of more than one type".into()));
            }
            _ => {}
        }
        let Some(u) = c.uid() else {
            return Err(Refused::Invalid(format!("a {name} without UID")));
        };
        match uid {
            None => uid = Some(u),
            Some(x) if x != u => return Err(Refused::Invalid("more than one UID".into())),
            _ => {}
        }
    }
    let (Some(uid), Some(kind)) = (uid, kind) else {
        return Err(Refused::Invalid("no VEVENT, VTODO or VJOURNAL".into()));
    };
    if !allowed.iter().any(|a| a.eq_ignore_ascii_case(kind)) {
        return Err(Refused::Component(kind.to_string()));
    }
    let (first_start, last_end) = span(&ical);
    Ok(Indexed {
        uid: uid.to_string(),
        component: Some(kind.to_string()),
        first_start,
        last_end,
    })
}

/// The span of all instances, as seconds since the epoch; `None` on a side
/// that is open (no date, or more instances than are expanded).
fn span(ical: &ICalendar) -> (Option<i64>, Option<i64>) {
    let expanded = ical.expand_dates(Tz::UTC, MAX_INSTANCES);
    if expanded.events.is_empty() {
        return (None, None);
    }
    let mut first = i64::MAX;
    let mut last = i64::MIN;
    for e in &expanded.events {
        let start = e.start.timestamp();
        let end = match &e.end {
            calcard::icalendar::dates::TimeOrDelta::Time(t) => t.timestamp(),
            calcard::icalendar::dates::TimeOrDelta::Delta(d) => start + d.num_seconds(),
        };
        first = first.min(start);
        last = last.max(end.max(start));
    }
    let open_end = expanded.events.len() >= MAX_INSTANCES;
    (Some(first), (!open_end).then_some(last))
}

/// Whether any instance of the calendar data overlaps [start, end) (RFC
/// 4791 9.9); instances with no end are points.
pub fn overlaps(bytes: &[u8], component: &str, start: Option<i64>, end: Option<i64>) -> bool {
    let Ok(t) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Ok(ical) = ICalendar::parse(t) else {
        return false;
    };
    let expanded = ical.expand_dates(Tz::UTC, MAX_INSTANCES);
    let limit_hit = expanded.events.len() >= MAX_INSTANCES;
    let hit = expanded.events.iter().any(|e| {
        let kind = ical
            .components
            .get(e.comp_id as usize)
            .and_then(|c| component_name(&c.component_type));
        if kind != Some(component) {
            return false;
        }
        let s = e.start.timestamp();
        let en = match &e.end {
            calcard::icalendar::dates::TimeOrDelta::Time(t) => t.timestamp(),
            calcard::icalendar::dates::TimeOrDelta::Delta(d) => s + d.num_seconds(),
        };
        let en = en.max(s);
        let after_start = start.is_none_or(|st| en > st || (en == s && s >= st));
        let before_end = end.is_none_or(|e| s < e);
        after_start && before_end
    });
    // Past the expansion limit, a rule that goes on may still match.
    hit || (limit_hit && end.is_none())
}

/// The busy periods of a calendar object within [start, end) for a
/// free-busy query (RFC 4791 7.10): every VEVENT instance that is neither
/// `TRANSP:TRANSPARENT` nor `STATUS:CANCELLED`, clipped to the range.
pub fn busy(bytes: &[u8], start: i64, end: i64) -> Vec<(i64, i64)> {
    let Ok(t) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    let Ok(ical) = ICalendar::parse(t) else {
        return Vec::new();
    };
    let expanded = ical.expand_dates(Tz::UTC, MAX_INSTANCES);
    let mut out = Vec::new();
    for e in &expanded.events {
        let Some(c) = ical.components.get(e.comp_id as usize) else {
            continue;
        };
        if c.component_type != ICalendarComponentType::VEvent {
            continue;
        }
        let text_of = |name: &str| {
            c.entries.iter().find_map(|entry| {
                entry
                    .name
                    .as_str()
                    .eq_ignore_ascii_case(name)
                    .then(|| entry.values.first().and_then(|v| v.as_text()))
                    .flatten()
            })
        };
        if text_of("TRANSP").is_some_and(|v| v.eq_ignore_ascii_case("TRANSPARENT"))
            || text_of("STATUS").is_some_and(|v| v.eq_ignore_ascii_case("CANCELLED"))
        {
            continue;
        }
        let s = e.start.timestamp();
        let en = match &e.end {
            calcard::icalendar::dates::TimeOrDelta::Time(t) => t.timestamp(),
            calcard::icalendar::dates::TimeOrDelta::Delta(d) => s + d.num_seconds(),
        };
        let (s, en) = (s.max(start), en.min(end));
        if s < en {
            out.push((s, en));
        }
    }
    out
}

/// The values of parameter `param` on every instance of property `name`
/// (for a param-filter, RFC 4791 9.7.3, RFC 6352 10.5.2).
pub fn param_values(bytes: &[u8], name: &str, param: &str) -> Vec<String> {
    let Ok(t) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    let unfolded = t
        .replace("\r\n ", "")
        .replace("\r\n\t", "")
        .replace("\n ", "");
    let mut out = Vec::new();
    for l in unfolded.lines() {
        let Some((head, _)) = l.split_once(':') else {
            continue;
        };
        let mut parts = head.split(';');
        let prop = parts.next().unwrap_or("");
        let prop = prop.rsplit('.').next().unwrap_or(prop);
        if !prop.eq_ignore_ascii_case(name) {
            continue;
        }
        for p in parts {
            if let Some((k, v)) = p.split_once('=')
                && k.eq_ignore_ascii_case(param)
            {
                out.extend(v.split(',').map(|x| x.trim_matches('"').to_string()));
            }
        }
    }
    out
}

/// Check and index a vCard (RFC 6352 5.1: one vCard, with a UID).
pub fn vcard(bytes: &[u8]) -> Result<Indexed, Refused> {
    let card = VCard::parse(text(bytes)?).map_err(|_| Refused::Invalid("not a vCard".into()))?;
    let uid = card
        .uid()
        .ok_or_else(|| Refused::Invalid("a vCard without UID".into()))?;
    Ok(Indexed {
        uid: uid.to_string(),
        component: None,
        first_start: None,
        last_end: None,
    })
}

/// The text of a vCard or iCalendar property, for text-match filters:
/// every value of every instance of `name`, unfolded.
pub fn property_values(bytes: &[u8], name: &str) -> Vec<String> {
    let Ok(t) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    let unfolded = t
        .replace("\r\n ", "")
        .replace("\r\n\t", "")
        .replace("\n ", "");
    unfolded
        .lines()
        .filter_map(|l| {
            let (head, value) = l.split_once(':')?;
            let prop = head.split(';').next()?;
            let prop = prop.rsplit('.').next().unwrap_or(prop);
            prop.eq_ignore_ascii_case(name)
                .then(|| value.trim_end_matches('\r').to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240301T100000Z\r\nDTEND:20240301T110000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\nSUMMARY:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn events_are_indexed_by_uid_type_and_span() {
        let all = vec!["VEVENT".to_string(), "VTODO".to_string()];
        let i = calendar(EVENT.as_bytes(), &all).unwrap();
        assert_eq!(i.uid, "e1");
        assert_eq!(i.component.as_deref(), Some("VEVENT"));
        // 1 March 10:00 to 3 March 11:00 UTC.
        assert_eq!(i.first_start, Some(1_709_287_200));
        assert_eq!(i.last_end, Some(1_709_287_200 + 2 * 86_400 + 3_600));
        assert!(overlaps(
            EVENT.as_bytes(),
            "VEVENT",
            Some(1_709_287_200 + 86_400),
            Some(1_709_287_200 + 86_400 + 60)
        ));
        // Between two instances: no overlap.
        assert!(!overlaps(
            EVENT.as_bytes(),
            "VEVENT",
            Some(1_709_287_200 + 7_200),
            Some(1_709_287_200 + 80_000)
        ));
        assert_eq!(
            calendar(EVENT.as_bytes(), &["VTODO".to_string()]),
            Err(Refused::Component("VEVENT".into()))
        );
        assert!(matches!(
            calendar(b"BEGIN:VCARD\r\nEND:VCARD\r\n", &all),
            Err(Refused::Invalid(_))
        ));
    }

    #[test]
    fn vcards_need_a_uid() {
        let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jo\r\nUID:c1\r\nEMAIL;TYPE=INTERNET:jo@x.example\r\nEND:VCARD\r\n";
        assert_eq!(vcard(card.as_bytes()).unwrap().uid, "c1");
        assert!(vcard(b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jo\r\nEND:VCARD\r\n").is_err());
        assert_eq!(property_values(card.as_bytes(), "email"), ["jo@x.example"]);
    }

    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;

    const LINES: &[&str] = &[
        "BEGIN:VCALENDAR\r\n",
        "END:VCALENDAR\r\n",
        "VERSION:2.0\r\n",
        "BEGIN:VEVENT\r\n",
        "END:VEVENT\r\n",
        "BEGIN:VTODO\r\n",
        "END:VTODO\r\n",
        "BEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\n",
        "UID:a\r\n",
        "UID:b\r\n",
        "DTSTART:20240101T000000Z\r\n",
        "DTSTART;TZID=Europe/Berlin:20240331T023000\r\n",
        "DTSTART;VALUE=DATE:20240229\r\n",
        "DTEND:20231231T000000Z\r\n",
        "DURATION:-P1D\r\n",
        "RRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30\r\n",
        "RRULE:FREQ=DAILY;COUNT=100000\r\n",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n",
        "RRULE:FREQ=WEEKLY;INTERVAL=0\r\n",
        "EXDATE:20240102T000000Z\r\n",
        "RDATE;VALUE=PERIOD:20240105T000000Z/PT1H\r\n",
        "RECURRENCE-ID:20240103T000000Z\r\n",
        "TRANSP:TRANSPARENT\r\n",
        " folded\r\n",
        "X-Y;A=\"b:c\":d\r\n",
        "BEGIN:VCARD\r\n",
        "END:VCARD\r\n",
        "VERSION:3.0\r\n",
        "FN:Jo\r\n",
        "item1.EMAIL;TYPE=INTERNET:jo@x.example\r\n",
        "garbage",
        "\r\n",
        ":",
        ";",
    ];

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 1500,
            rng_seed: RngSeed::Fixed(20_261_130),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Seeded fuzzing on stable: any mix of lines is checked, indexed,
        /// expanded and filtered without a panic, and an accepted object
        /// has a span that is not inverted.
        #[test]
        fn any_calendar_or_card_is_checked_without_panic(
            lines in proptest::collection::vec(proptest::sample::select(LINES), 0..40)
        ) {
            let text = lines.concat();
            let all = vec!["VEVENT".to_string(), "VTODO".to_string(), "VJOURNAL".to_string()];
            if let Ok(i) = calendar(text.as_bytes(), &all)
                && let (Some(s), Some(e)) = (i.first_start, i.last_end)
            {
                prop_assert!(s <= e);
            }
            let _ = vcard(text.as_bytes());
            let _ = overlaps(text.as_bytes(), "VEVENT", Some(0), Some(2_000_000_000));
            let _ = busy(text.as_bytes(), 1_700_000_000, 1_800_000_000);
            let _ = property_values(text.as_bytes(), "EMAIL");
            let _ = param_values(text.as_bytes(), "DTSTART", "TZID");
        }
    }
}
