//! The occurrences of an event inside a time window: its own span for a
//! single event, every instance of an MS-ASCAL recurrence pattern for a
//! series (in the event's zone, so 10:00 stays 10:00 across DST), with
//! deleted exceptions left out and changed ones at their changed times.
//! Free/busy of the embedded store is computed from these.

use crate::convert::timezone::{from_local, parse_iana, to_local};
use crate::model::event::{BusyStatus, Event, Recurrence, RecurrenceType, When};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

/// One occurrence: when it runs and how it shows in free/busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub busy: Option<BusyStatus>,
}

/// Series are followed at most this far (a pattern without end would
/// otherwise be walked day by day forever).
const MAX_DAYS: i64 = 366 * 30;

/// The occurrences of `event` that overlap `[from, to)`.
pub fn between(event: &Event, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Occurrence> {
    let zone = event
        .time_zone
        .as_deref()
        .and_then(parse_iana)
        .unwrap_or(Tz::UTC);
    let (Some(start), Some(end)) = (event.start, event.end.or(event.start)) else {
        return Vec::new();
    };
    let first = span(start, end, zone);
    // Dates a calendar can hold; anything else (a malformed item) has no
    // occurrences rather than overflowing the date arithmetic below.
    if !(1..=9999).contains(&first.0.year()) || !(1..=9999).contains(&first.1.year()) {
        return Vec::new();
    }
    let length = first.1 - first.0;
    let mut found = Vec::new();
    let mut keep = |o: Occurrence| {
        if o.start < to && o.end > from {
            found.push(o);
        }
    };
    let Some(pattern) = &event.recurrence else {
        keep(Occurrence {
            start: first.0,
            end: first.1,
            busy: event.busy_status,
        });
        return found;
    };
    let exceptions = event.exceptions.as_deref().unwrap_or_default();
    let first_day = local_day(start, zone);
    let mut count = 0u32;
    for offset in 0..MAX_DAYS {
        let Some(day) = first_day.checked_add_signed(Duration::days(offset)) else {
            break;
        };
        let original = match start {
            When::Day(_) => When::Day(day),
            When::At(t) => When::At(from_local(zone, day.and_time(to_local(zone, t).time()))),
        };
        let begins = span(original, original, zone).0;
        if begins >= to || pattern.until.is_some_and(|u| begins > u) {
            break;
        }
        if !matches(pattern, first_day, day) {
            continue;
        }
        count += 1;
        if pattern.occurrences.is_some_and(|n| count > u32::from(n)) {
            break;
        }
        match exceptions
            .iter()
            .find(|x| x.original_start == Some(original))
        {
            Some(x) if x.deleted == Some(true) => {}
            Some(x) => {
                let s = x.changes.start.map_or(begins, |s| span(s, s, zone).0);
                let e = x.changes.end.map_or(s + length, |e| span(e, e, zone).0);
                keep(Occurrence {
                    start: s,
                    end: e,
                    busy: x.changes.busy_status.or(event.busy_status),
                });
            }
            None => keep(Occurrence {
                start: begins,
                end: begins + length,
                busy: event.busy_status,
            }),
        }
    }
    found
}

/// Whether the series has an occurrence originally starting at `original`
/// (exceptions aside: a moved or deleted occurrence still counts).
pub fn is_occurrence(event: &Event, original: When) -> bool {
    let zone = event
        .time_zone
        .as_deref()
        .and_then(parse_iana)
        .unwrap_or(Tz::UTC);
    let plain = Event {
        exceptions: None,
        ..event.clone()
    };
    let at = span(original, original, zone).0;
    between(&plain, at, at + Duration::seconds(1))
        .iter()
        .any(|o| o.start == at)
}

/// Start and end instants; an all-day event runs from the start of its
/// first day to the start of its end day in its zone.
fn span(start: When, end: When, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let instant = |w: When| match w {
        When::At(t) => t,
        When::Day(d) => from_local(zone, d.and_time(NaiveTime::MIN)),
    };
    (instant(start), instant(end))
}

fn local_day(w: When, zone: Tz) -> NaiveDate {
    match w {
        When::At(t) => to_local(zone, t).date(),
        When::Day(d) => d,
    }
}

/// The EAS DayOfWeek bit of a date (1 Sunday .. 64 Saturday).
fn day_bit(day: NaiveDate) -> u8 {
    1 << day.weekday().num_days_from_sunday()
}

/// Whether `day` is the `week_of_month`th (5 = last) of its weekday (or,
/// with the "day" mask 127, the nth / last day) of its month.
fn nth_in_month(day: NaiveDate, week_of_month: u8, mask: u8) -> bool {
    let next_month_day = |d: NaiveDate, step: i64| (d + Duration::days(step)).month() != d.month();
    if mask == 127 {
        return match week_of_month {
            5 => next_month_day(day, 1),
            n => day.day() == u32::from(n),
        };
    }
    mask & day_bit(day) != 0
        && match week_of_month {
            5 => next_month_day(day, 7),
            n => (day.day() - 1) / 7 + 1 == u32::from(n),
        }
}

/// Whether the pattern that started on `first` has an occurrence on `day`.
fn matches(p: &Recurrence, first: NaiveDate, day: NaiveDate) -> bool {
    let interval = i64::from(p.interval.unwrap_or(1).max(1));
    let months = i64::from(day.year() - first.year()) * 12 + i64::from(day.month())
        - i64::from(first.month());
    let years = i64::from(day.year() - first.year());
    let mask = p.day_of_week.unwrap_or_else(|| day_bit(first));
    let day_of_month = p.day_of_month.map_or(first.day(), u32::from);
    let month_of_year = p.month_of_year.map_or(first.month(), u32::from);
    match p.kind {
        Some(RecurrenceType::Daily) if p.day_of_week.is_none() => {
            (day - first).num_days() % interval == 0
        }
        // Daily with a DayOfWeek mask ("every weekday") is weekly on those days.
        Some(RecurrenceType::Daily) | Some(RecurrenceType::Weekly) => {
            let week_start = u32::from(p.first_day_of_week.unwrap_or(0));
            let start_of_week = |d: NaiveDate| {
                let back = (d.weekday().num_days_from_sunday() + 7 - week_start) % 7;
                d - Duration::days(i64::from(back))
            };
            let weeks = (start_of_week(day) - start_of_week(first)).num_days() / 7;
            mask & day_bit(day) != 0 && weeks % interval == 0
        }
        Some(RecurrenceType::Monthly) => months % interval == 0 && day.day() == day_of_month,
        Some(RecurrenceType::MonthlyNth) => {
            months % interval == 0 && nth_in_month(day, p.week_of_month.unwrap_or(1), mask)
        }
        Some(RecurrenceType::Yearly) => {
            years % interval == 0 && day.month() == month_of_year && day.day() == day_of_month
        }
        Some(RecurrenceType::YearlyNth) => {
            years % interval == 0
                && day.month() == month_of_year
                && nth_in_month(day, p.week_of_month.unwrap_or(1), mask)
        }
        None => day == first,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Exception;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn series(kind: RecurrenceType, tweak: impl FnOnce(&mut Recurrence)) -> Event {
        let mut r = Recurrence {
            kind: Some(kind),
            ..Recurrence::default()
        };
        tweak(&mut r);
        Event {
            start: Some(When::At(at(2026, 12, 1, 10))),
            end: Some(When::At(at(2026, 12, 1, 11))),
            recurrence: Some(r),
            ..Event::default()
        }
    }

    fn starts(e: &Event, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
        between(e, from, to)
            .iter()
            .map(|o| o.start.format("%m-%d %H").to_string())
            .collect()
    }

    #[test]
    fn single_events_and_all_day_events() {
        let e = Event {
            start: Some(When::At(at(2026, 12, 1, 10))),
            end: Some(When::At(at(2026, 12, 1, 11))),
            busy_status: Some(BusyStatus::Busy),
            ..Event::default()
        };
        assert_eq!(between(&e, at(2026, 12, 1, 0), at(2026, 12, 2, 0)).len(), 1);
        assert!(between(&e, at(2026, 12, 1, 11), at(2026, 12, 2, 0)).is_empty());
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let all_day = Event {
            start: Some(When::Day(day)),
            end: Some(When::Day(day.succ_opt().unwrap())),
            time_zone: Some("Europe/Berlin".into()),
            ..Event::default()
        };
        let o = between(&all_day, at(2026, 11, 30, 0), at(2026, 12, 3, 0));
        assert_eq!(o[0].start, at(2026, 11, 30, 23), "midnight in Berlin");
        assert_eq!(o[0].end - o[0].start, Duration::hours(24));
    }

    #[test]
    fn daily_weekly_with_count_until_and_exceptions() {
        let mut daily = series(RecurrenceType::Daily, |r| {
            r.interval = Some(2);
            r.occurrences = Some(3);
        });
        assert_eq!(
            starts(&daily, at(2026, 11, 1, 0), at(2027, 1, 1, 0)),
            ["12-01 10", "12-03 10", "12-05 10"]
        );
        daily.exceptions = Some(vec![
            Exception {
                original_start: Some(When::At(at(2026, 12, 3, 10))),
                deleted: Some(true),
                changes: Box::default(),
            },
            Exception {
                original_start: Some(When::At(at(2026, 12, 5, 10))),
                deleted: None,
                changes: Box::new(Event {
                    start: Some(When::At(at(2026, 12, 5, 14))),
                    busy_status: Some(BusyStatus::Tentative),
                    ..Event::default()
                }),
            },
        ]);
        let o = between(&daily, at(2026, 11, 1, 0), at(2027, 1, 1, 0));
        assert_eq!(o.len(), 2);
        assert_eq!(o[1].start, at(2026, 12, 5, 14));
        assert_eq!(o[1].end, at(2026, 12, 5, 15), "keeps the series' length");
        assert_eq!(o[1].busy, Some(BusyStatus::Tentative));
        assert!(
            is_occurrence(&daily, When::At(at(2026, 12, 3, 10))),
            "deleted, still one"
        );
        assert!(!is_occurrence(&daily, When::At(at(2026, 12, 2, 10))));
        assert!(!is_occurrence(&daily, When::At(at(2026, 12, 3, 11))));
        assert!(
            !is_occurrence(&daily, When::At(at(2026, 12, 7, 10))),
            "past the count"
        );

        // Tuesdays and Thursdays every other week, until Dec 31.
        let weekly = series(RecurrenceType::Weekly, |r| {
            r.interval = Some(2);
            r.day_of_week = Some(4 | 16);
            r.until = Some(at(2026, 12, 31, 0));
        });
        assert_eq!(
            starts(&weekly, at(2026, 11, 1, 0), at(2027, 2, 1, 0)),
            ["12-01 10", "12-03 10", "12-15 10", "12-17 10", "12-29 10"]
        );
    }

    #[test]
    fn dates_no_calendar_holds_have_no_occurrences() {
        let far = Utc.with_ymd_and_hms(200_000, 1, 1, 0, 0, 0).unwrap();
        let mut e = series(RecurrenceType::Daily, |_| {});
        e.start = Some(When::At(far));
        e.end = Some(When::At(far));
        assert!(between(&e, at(2026, 1, 1, 0), far).is_empty());
    }

    #[test]
    fn monthly_yearly_nth_and_zone() {
        let nth = series(RecurrenceType::MonthlyNth, |r| {
            r.week_of_month = Some(5);
            r.day_of_week = Some(2); // last Monday
        });
        assert_eq!(
            starts(&nth, at(2026, 12, 1, 0), at(2027, 3, 1, 0)),
            ["12-28 10", "01-25 10", "02-22 10"]
        );
        let monthly = series(RecurrenceType::Monthly, |r| r.day_of_month = Some(31));
        assert_eq!(
            starts(&monthly, at(2026, 12, 1, 0), at(2027, 4, 1, 0)),
            ["12-31 10", "01-31 10", "03-31 10"]
        );
        let yearly = series(RecurrenceType::Yearly, |_| {});
        assert_eq!(
            starts(&yearly, at(2027, 1, 1, 0), at(2029, 1, 1, 0)),
            ["12-01 10", "12-01 10"]
        );
        // 10:00 in Berlin stays 10:00 local across the DST change.
        let mut berlin = series(RecurrenceType::Daily, |_| {});
        berlin.time_zone = Some("Europe/Berlin".into());
        berlin.start = Some(When::At(at(2027, 3, 27, 9)));
        berlin.end = Some(When::At(at(2027, 3, 27, 10)));
        assert_eq!(
            starts(&berlin, at(2027, 3, 27, 0), at(2027, 3, 29, 0)),
            ["03-27 09", "03-28 08"]
        );
    }
}
