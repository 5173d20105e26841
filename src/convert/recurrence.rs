//! EAS recurrence patterns (MS-ASCAL / MS-ASTASK Recurrence) <-> RFC 5545 RRULE.
//!
//! Every EAS pattern has an exact RRULE. The reverse is partial: an RRULE
//! that EAS cannot express (BYHOUR, several BYMONTHs, "every Monday of the
//! month", RSCALE other than Gregorian, ...) is refused with an error that
//! names the part, never approximated, so a device never shows a series that
//! differs from the server's.

use crate::model::event::{Recurrence, RecurrenceType};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};

/// Why a pattern cannot be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecurrenceError {
    #[error("recurrence cannot be expressed: {0}")]
    Unsupported(String),
    #[error("invalid recurrence: {0}")]
    Invalid(String),
}

fn unsupported(what: impl Into<String>) -> RecurrenceError {
    RecurrenceError::Unsupported(what.into())
}
fn invalid(what: impl Into<String>) -> RecurrenceError {
    RecurrenceError::Invalid(what.into())
}

/// iCalendar weekday names, index 0 = Sunday (the EAS mask bit order).
const DAYS: [&str; 7] = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];
/// DayOfWeek mask for "day" (every day of the week) in nth patterns.
const ANY_DAY: u8 = 127;

/// The iCalendar name of a weekday index (0 = Sunday).
pub fn ical_weekday(index: u16) -> &'static str {
    DAYS[usize::from(index % 7)]
}

/// The weekday index (0 = Sunday) of an iCalendar weekday name.
pub fn weekday_index(name: &str) -> Option<u16> {
    DAYS.iter()
        .position(|d| d.eq_ignore_ascii_case(name.trim()))
        .map(|i| i as u16)
}

/// Calendar types that are the Gregorian calendar (MS-ASCAL CalendarType):
/// 0 default, 1 Gregorian, 2 Gregorian US English, 9-12 Gregorian
/// localized. Only these can be stored as RRULE without RSCALE support.
fn is_gregorian(calendar_type: u8) -> bool {
    matches!(calendar_type, 0..=2 | 9..=12)
}

/// How UNTIL is written: a UTC date-time for timed events, the local date
/// for all-day events (RFC 5545: UNTIL has DTSTART's value type).
#[derive(Debug, Clone, Copy)]
pub enum UntilStyle {
    Utc,
    Date(chrono_tz::Tz),
}

/// The RRULE value for an EAS pattern.
pub fn to_rrule(r: &Recurrence, until_style: UntilStyle) -> Result<String, RecurrenceError> {
    let kind = r.kind.ok_or_else(|| invalid("Recurrence without Type"))?;
    if let Some(ct) = r.calendar_type.filter(|ct| !is_gregorian(*ct)) {
        return Err(unsupported(format!(
            "CalendarType {ct} (non-Gregorian calendar)"
        )));
    }
    if r.is_leap_month == Some(true) {
        return Err(unsupported("IsLeapMonth (lunar leap month)"));
    }
    let mut parts: Vec<String> = Vec::new();
    if r.calendar_type == Some(1) {
        parts.push("RSCALE=GREGORIAN".into());
    }
    let freq = match kind {
        RecurrenceType::Daily => "DAILY",
        RecurrenceType::Weekly => "WEEKLY",
        RecurrenceType::Monthly | RecurrenceType::MonthlyNth => "MONTHLY",
        RecurrenceType::Yearly | RecurrenceType::YearlyNth => "YEARLY",
    };
    parts.push(format!("FREQ={freq}"));
    if let Some(interval) = r.interval {
        if !(1..=999).contains(&interval) {
            return Err(invalid(format!("Interval {interval}")));
        }
        parts.push(format!("INTERVAL={interval}"));
    }
    match kind {
        RecurrenceType::Daily => {
            if let Some(mask) = r.day_of_week.filter(|m| *m != 0 && *m != ANY_DAY) {
                parts.push(format!("BYDAY={}", day_list(mask)?));
            }
        }
        RecurrenceType::Weekly => {
            let mask = r
                .day_of_week
                .ok_or_else(|| invalid("weekly Recurrence without DayOfWeek"))?;
            parts.push(format!("BYDAY={}", day_list(mask)?));
        }
        RecurrenceType::Monthly => parts.push(format!("BYMONTHDAY={}", day_of_month(r)?)),
        RecurrenceType::MonthlyNth => parts.extend(nth_parts(r)?),
        RecurrenceType::Yearly => {
            parts.push(format!("BYMONTH={}", month_of_year(r)?));
            parts.push(format!("BYMONTHDAY={}", day_of_month(r)?));
        }
        RecurrenceType::YearlyNth => {
            parts.push(format!("BYMONTH={}", month_of_year(r)?));
            parts.extend(nth_parts(r)?);
        }
    }
    match (r.occurrences, r.until) {
        (Some(_), Some(_)) => return Err(invalid("both Occurrences and Until")),
        (Some(n), None) => parts.push(format!("COUNT={n}")),
        (None, Some(until)) => parts.push(format!("UNTIL={}", format_until(until, until_style))),
        (None, None) => {}
    }
    if let Some(first) = r.first_day_of_week {
        if first > 6 {
            return Err(invalid(format!("FirstDayOfWeek {first}")));
        }
        parts.push(format!("WKST={}", DAYS[usize::from(first)]));
    }
    Ok(parts.join(";"))
}

fn format_until(until: DateTime<Utc>, style: UntilStyle) -> String {
    match style {
        UntilStyle::Utc => until.format("%Y%m%dT%H%M%SZ").to_string(),
        UntilStyle::Date(tz) => until.with_timezone(&tz).format("%Y%m%d").to_string(),
    }
}

fn day_list(mask: u8) -> Result<String, RecurrenceError> {
    if mask == 0 || mask > ANY_DAY {
        return Err(invalid(format!("DayOfWeek {mask}")));
    }
    Ok((0..7)
        .filter(|i| mask & (1 << i) != 0)
        .map(|i| DAYS[i])
        .collect::<Vec<_>>()
        .join(","))
}

fn day_of_month(r: &Recurrence) -> Result<u8, RecurrenceError> {
    r.day_of_month
        .filter(|d| (1..=31).contains(d))
        .ok_or_else(|| invalid("DayOfMonth missing or out of range"))
}

fn month_of_year(r: &Recurrence) -> Result<u8, RecurrenceError> {
    r.month_of_year
        .filter(|m| (1..=12).contains(m))
        .ok_or_else(|| invalid("MonthOfYear missing or out of range"))
}

/// "The nth <days> of the month": one weekday as `BYDAY=2TU`, several (or
/// "day", mask 127) as `BYDAY=MO,...;BYSETPOS=n`. Week 5 is the last.
fn nth_parts(r: &Recurrence) -> Result<Vec<String>, RecurrenceError> {
    let week = r
        .week_of_month
        .filter(|w| (1..=5).contains(w))
        .ok_or_else(|| invalid("WeekOfMonth missing or out of range"))?;
    let n: i8 = if week == 5 { -1 } else { week as i8 };
    let mask = r
        .day_of_week
        .ok_or_else(|| invalid("nth Recurrence without DayOfWeek"))?;
    let days = day_list(mask)?;
    Ok(if mask.count_ones() == 1 {
        vec![format!("BYDAY={n}{days}")]
    } else {
        vec![format!("BYDAY={days}"), format!("BYSETPOS={n}")]
    })
}

/// The UNTIL of an RRULE, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    Date(NaiveDate),
    Utc(DateTime<Utc>),
    Floating(NaiveDateTime),
}

/// Parse an UNTIL value.
pub fn parse_until(value: &str) -> Option<Until> {
    let v = value.trim();
    if let Some(utc) = v.strip_suffix('Z') {
        return NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
            .ok()
            .map(|t| Until::Utc(t.and_utc()));
    }
    if v.len() == 8 {
        return NaiveDate::parse_from_str(v, "%Y%m%d").ok().map(Until::Date);
    }
    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S")
        .ok()
        .map(Until::Floating)
}

/// The EAS pattern for an RRULE. `first` is DTSTART's local date (it
/// supplies the day, weekday or month an RRULE may leave out); `until_utc`
/// turns a date or floating UNTIL into the instant of the event's zone.
pub fn from_rrule(
    value: &str,
    first: NaiveDate,
    until_utc: impl Fn(Until) -> DateTime<Utc>,
) -> Result<Recurrence, RecurrenceError> {
    let mut parts: Vec<(String, String)> = Vec::new();
    for part in value.trim().split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| invalid(format!("RRULE part {part:?}")))?;
        let k = k.trim().to_ascii_uppercase();
        if parts.iter().any(|(seen, _)| *seen == k) {
            return Err(invalid(format!("RRULE repeats {k}")));
        }
        parts.push((k, v.trim().to_ascii_uppercase()));
    }
    let get = |k: &str| parts.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    for (k, _) in &parts {
        match k.as_str() {
            "FREQ" | "INTERVAL" | "COUNT" | "UNTIL" | "BYDAY" | "BYMONTHDAY" | "BYMONTH"
            | "BYSETPOS" | "WKST" | "RSCALE" => {}
            other => return Err(unsupported(format!("RRULE part {other}"))),
        }
    }
    let mut r = Recurrence::default();
    match get("RSCALE") {
        None => {}
        Some("GREGORIAN") => r.calendar_type = Some(1),
        Some(other) => return Err(unsupported(format!("RSCALE={other}"))),
    }
    if let Some(i) = get("INTERVAL") {
        r.interval = Some(parse_num(i, "INTERVAL", 1, 999)? as u16);
    }
    match (get("COUNT"), get("UNTIL")) {
        (Some(_), Some(_)) => return Err(invalid("RRULE has both COUNT and UNTIL")),
        (Some(c), None) => r.occurrences = Some(parse_num(c, "COUNT", 1, 999)? as u16),
        (None, Some(u)) => {
            let until = parse_until(u).ok_or_else(|| invalid(format!("UNTIL={u}")))?;
            r.until = Some(until_utc(until));
        }
        (None, None) => {}
    }
    if let Some(w) = get("WKST") {
        r.first_day_of_week =
            Some(weekday_index(w).ok_or_else(|| invalid(format!("WKST={w}")))? as u8);
    }
    let by_day = get("BYDAY").map(parse_by_day).transpose()?;
    let by_month_day = get("BYMONTHDAY")
        .map(|v| single_num(v, "BYMONTHDAY", -1, 31))
        .transpose()?;
    let by_set_pos = get("BYSETPOS")
        .map(|v| single_num(v, "BYSETPOS", -1, 4))
        .transpose()?;
    let first_mask = 1u8 << first.weekday().num_days_from_sunday();
    let freq = get("FREQ").ok_or_else(|| invalid("RRULE without FREQ"))?;
    let no = |what: &str, present: bool| {
        if present {
            Err(unsupported(format!("{what} with FREQ={freq}")))
        } else {
            Ok(())
        }
    };
    match freq {
        "DAILY" | "WEEKLY" => {
            no("BYMONTHDAY", by_month_day.is_some())?;
            no("BYMONTH", get("BYMONTH").is_some())?;
            no("BYSETPOS", by_set_pos.is_some())?;
            let mask = match &by_day {
                Some(days) if days.iter().any(|(n, _)| n.is_some()) => {
                    return Err(unsupported(format!("numbered BYDAY with FREQ={freq}")))
                }
                Some(days) => Some(mask_of(days)),
                None => None,
            };
            if freq == "DAILY" {
                r.kind = Some(RecurrenceType::Daily);
                r.day_of_week = mask;
            } else {
                r.kind = Some(RecurrenceType::Weekly);
                r.day_of_week = Some(mask.unwrap_or(first_mask));
            }
        }
        "MONTHLY" | "YEARLY" => {
            let yearly = freq == "YEARLY";
            if yearly {
                let month = match get("BYMONTH") {
                    Some(m) => single_num(m, "BYMONTH", 1, 12)?,
                    None => first.month() as i32,
                };
                r.month_of_year = Some(month as u8);
            } else {
                no("BYMONTH", get("BYMONTH").is_some())?;
            }
            let (nth_kind, day_kind) = if yearly {
                (RecurrenceType::YearlyNth, RecurrenceType::Yearly)
            } else {
                (RecurrenceType::MonthlyNth, RecurrenceType::Monthly)
            };
            match (by_day, by_month_day, by_set_pos) {
                (None, None, None) => {
                    r.kind = Some(day_kind);
                    r.day_of_month = Some(first.day() as u8);
                }
                (None, Some(-1), None) => {
                    r.kind = Some(nth_kind);
                    r.day_of_week = Some(ANY_DAY);
                    r.week_of_month = Some(5);
                }
                (None, Some(d), None) if d > 0 => {
                    r.kind = Some(day_kind);
                    r.day_of_month = Some(d as u8);
                }
                (Some(days), None, None) => match days.as_slice() {
                    [(Some(n), day)] => {
                        r.kind = Some(nth_kind);
                        r.day_of_week = Some(1 << day);
                        r.week_of_month = Some(week_of(*n)?);
                    }
                    _ => {
                        return Err(unsupported(format!(
                            "BYDAY without a single position with FREQ={freq}"
                        )))
                    }
                },
                (Some(days), None, Some(pos)) if days.iter().all(|(n, _)| n.is_none()) => {
                    r.kind = Some(nth_kind);
                    r.day_of_week = Some(mask_of(&days));
                    r.week_of_month = Some(week_of(pos)?);
                }
                _ => {
                    return Err(unsupported(format!(
                        "this BYDAY/BYMONTHDAY/BYSETPOS combination with FREQ={freq}"
                    )))
                }
            }
        }
        other => return Err(unsupported(format!("FREQ={other}"))),
    }
    Ok(r)
}

fn week_of(n: i32) -> Result<u8, RecurrenceError> {
    match n {
        1..=4 => Ok(n as u8),
        -1 => Ok(5),
        _ => Err(unsupported(format!(
            "position {n} (EAS has 1st-4th and last)"
        ))),
    }
}

fn mask_of(days: &[(Option<i32>, u16)]) -> u8 {
    days.iter().fold(0, |m, (_, d)| m | (1 << d))
}

fn parse_num(v: &str, what: &str, min: i32, max: i32) -> Result<i32, RecurrenceError> {
    v.parse::<i32>()
        .ok()
        .filter(|n| (min..=max).contains(n) && *n != 0)
        .ok_or_else(|| invalid(format!("{what}={v}")))
}

fn single_num(v: &str, what: &str, min: i32, max: i32) -> Result<i32, RecurrenceError> {
    if v.contains(',') {
        return Err(unsupported(format!("several values in {what}={v}")));
    }
    parse_num(v, what, min, max).map_err(|_| unsupported(format!("{what}={v}")))
}

/// `BYDAY=2TU,-1FR,MO` -> [(Some(2), 2), (Some(-1), 5), (None, 1)].
fn parse_by_day(v: &str) -> Result<Vec<(Option<i32>, u16)>, RecurrenceError> {
    v.split(',')
        .map(|item| {
            let item = item.trim();
            let split = item
                .len()
                .checked_sub(2)
                .filter(|i| item.is_char_boundary(*i))
                .ok_or_else(|| invalid(format!("BYDAY item {item:?}")))?;
            let (n, day) = item.split_at(split);
            let day = weekday_index(day).ok_or_else(|| invalid(format!("BYDAY item {item:?}")))?;
            let n = match n.trim_start_matches('+') {
                "" => None,
                num => Some(
                    num.parse::<i32>()
                        .map_err(|_| invalid(format!("BYDAY item {item:?}")))?,
                ),
            };
            Ok((n, day))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn weekly_without_byday_takes_the_start_weekday() {
        // 2026-11-27 is a Friday.
        let r = from_rrule("FREQ=WEEKLY", d(2026, 11, 27), |_| Utc::now()).unwrap();
        assert_eq!(r.day_of_week, Some(32));
    }

    #[test]
    fn byday_items_parse_with_signs() {
        assert_eq!(
            parse_by_day("+2TU,-1FR,MO").unwrap(),
            vec![(Some(2), 2), (Some(-1), 5), (None, 1)]
        );
        assert!(parse_by_day("X").is_err());
        assert!(parse_by_day("1é").is_err());
    }
}
