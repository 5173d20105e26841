//! Time zones: the EAS `TimeZone` element (MS-ASCAL 2.2.2.44, a base64
//! TIME_ZONE_INFORMATION), IANA zones (chrono-tz) and iCalendar VTIMEZONE.
//!
//! A TIME_ZONE_INFORMATION holds one year's rules only (bias plus two
//! SYSTEMTIME transition rules), so every conversion from an IANA zone takes
//! the instant it is for: the rules in force in that year are encoded. The
//! reverse direction matches a blob against candidate zones for a year,
//! common zones first, so that a device's "W. Europe Standard Time" comes
//! back as Europe/Berlin and not as some other zone with equal rules.

use super::contentline::{Component, ContentLine};
use base64::Engine as _;
use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike,
    Utc, Weekday,
};
use chrono_tz::Tz;

/// Size of TIME_ZONE_INFORMATION on the wire.
pub const BLOB_LEN: usize = 172;
/// UTF-16 code units in StandardName / DaylightName (including the NUL).
const NAME_UNITS: usize = 32;

/// A Windows SYSTEMTIME used as a transition rule. With `year == 0` it is a
/// day-of-week rule: `day` is the week of the month (1-4, 5 = last) and
/// `day_of_week` the weekday (0 = Sunday); otherwise an absolute date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemTime {
    pub year: u16,
    pub month: u16,
    pub day_of_week: u16,
    pub day: u16,
    pub hour: u16,
    pub minute: u16,
    pub second: u16,
    pub milliseconds: u16,
}

/// TIME_ZONE_INFORMATION. Biases are minutes *west* of UTC (UTC = local + bias).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeZoneInfo {
    pub bias: i32,
    pub standard_name: String,
    pub standard_date: SystemTime,
    pub standard_bias: i32,
    pub daylight_name: String,
    pub daylight_date: SystemTime,
    pub daylight_bias: i32,
}

/// Why a TimeZone element could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeZoneError {
    #[error("TimeZone is not valid base64")]
    Base64,
    #[error("TimeZone is {0} bytes, expected 172")]
    Length(usize),
    #[error("TimeZone has an invalid transition rule: {0}")]
    Rule(&'static str),
    #[error("TimeZone bias {0} minutes is out of range")]
    Bias(i32),
}

/// Windows zone names (StandardName as Windows writes it) and the IANA zone
/// each one means. The order is also the preference when several zones have
/// the same rules: the most used zone of each offset comes first.
const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("UTC", "UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Nepal Standard Time", "Asia/Kathmandu"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("AUS Central Standard Time", "Australia/Darwin"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("Mountain Standard Time", "America/Denver"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Central Standard Time", "America/Chicago"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Canada Central Standard Time", "America/Regina"),
    ("Eastern Standard Time", "America/New_York"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("Argentina Standard Time", "America/Buenos_Aires"),
    ("Pacific SA Standard Time", "America/Santiago"),
];

impl SystemTime {
    fn is_set(&self) -> bool {
        self.month != 0
    }

    fn read(b: &[u8]) -> SystemTime {
        let w = |i: usize| u16::from_le_bytes([b[2 * i], b[2 * i + 1]]);
        SystemTime {
            year: w(0),
            month: w(1),
            day_of_week: w(2),
            day: w(3),
            hour: w(4),
            minute: w(5),
            second: w(6),
            milliseconds: w(7),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        for v in [
            self.year,
            self.month,
            self.day_of_week,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.milliseconds,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn validate(&self) -> Result<(), TimeZoneError> {
        if !self.is_set() {
            return Ok(());
        }
        if self.month > 12 {
            return Err(TimeZoneError::Rule("month above 12"));
        }
        if self.year == 0 && (self.day_of_week > 6 || !(1..=5).contains(&self.day)) {
            return Err(TimeZoneError::Rule("week rule out of range"));
        }
        if self.year != 0
            && NaiveDate::from_ymd_opt(self.year.into(), self.month.into(), self.day.into())
                .is_none()
        {
            return Err(TimeZoneError::Rule("absolute date does not exist"));
        }
        if self.hour > 23 || self.minute > 59 || self.second > 59 || self.milliseconds > 999 {
            return Err(TimeZoneError::Rule("time of day out of range"));
        }
        Ok(())
    }

    /// The local wall-clock time of this transition in `year`.
    fn in_year(&self, year: i32) -> Option<NaiveDateTime> {
        let time = NaiveTime::from_hms_milli_opt(
            self.hour.into(),
            self.minute.into(),
            self.second.into(),
            self.milliseconds.into(),
        )?;
        let month = u32::from(self.month);
        let date = if self.year != 0 {
            NaiveDate::from_ymd_opt(year, month, self.day.into())?
        } else {
            let weekday = Weekday::try_from(((self.day_of_week + 6) % 7) as u8).ok()?;
            let week = u8::try_from(self.day).ok()?.min(5);
            NaiveDate::from_weekday_of_month_opt(year, month, weekday, week)
                .or_else(|| NaiveDate::from_weekday_of_month_opt(year, month, weekday, week - 1))?
        };
        Some(date.and_time(time))
    }

    /// A day-of-week rule for a transition at this local wall-clock time.
    fn rule_for(local: NaiveDateTime) -> SystemTime {
        let date = local.date();
        let days_in_month = last_day_of_month(date.year(), date.month());
        let week = if date.day() + 7 > days_in_month {
            5
        } else {
            (date.day() - 1) / 7 + 1
        };
        SystemTime {
            year: 0,
            month: date.month() as u16,
            day_of_week: date.weekday().num_days_from_sunday() as u16,
            day: week as u16,
            hour: local.hour() as u16,
            minute: local.minute() as u16,
            second: local.second() as u16,
            milliseconds: 0,
        }
    }
}

fn last_day_of_month(year: i32, month: u32) -> u32 {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day())
}

/// One year's effective rules: offsets in minutes east of UTC and, with
/// DST, the UTC instants DST starts and ends in that year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct YearRules {
    standard: i32,
    daylight: i32,
    transitions: Option<(NaiveDateTime, NaiveDateTime)>,
}

impl TimeZoneInfo {
    /// Decode the base64 `TimeZone` element.
    pub fn from_base64(text: &str) -> Result<TimeZoneInfo, TimeZoneError> {
        let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|_| TimeZoneError::Base64)?;
        TimeZoneInfo::from_bytes(&bytes)
    }

    /// Decode the 172 raw bytes.
    pub fn from_bytes(b: &[u8]) -> Result<TimeZoneInfo, TimeZoneError> {
        if b.len() != BLOB_LEN {
            return Err(TimeZoneError::Length(b.len()));
        }
        let i32_at = |o: usize| i32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let tzi = TimeZoneInfo {
            bias: i32_at(0),
            standard_name: read_name(&b[4..68]),
            standard_date: SystemTime::read(&b[68..84]),
            standard_bias: i32_at(84),
            daylight_name: read_name(&b[88..152]),
            daylight_date: SystemTime::read(&b[152..168]),
            daylight_bias: i32_at(168),
        };
        for bias in [tzi.bias, tzi.standard_bias, tzi.daylight_bias] {
            if bias.abs() > 24 * 60 {
                return Err(TimeZoneError::Bias(bias));
            }
        }
        tzi.standard_date.validate()?;
        tzi.daylight_date.validate()?;
        Ok(tzi)
    }

    /// The 172 raw bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BLOB_LEN);
        out.extend_from_slice(&self.bias.to_le_bytes());
        write_name(&self.standard_name, &mut out);
        self.standard_date.write(&mut out);
        out.extend_from_slice(&self.standard_bias.to_le_bytes());
        write_name(&self.daylight_name, &mut out);
        self.daylight_date.write(&mut out);
        out.extend_from_slice(&self.daylight_bias.to_le_bytes());
        out
    }

    /// The base64 `TimeZone` element value.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.to_bytes())
    }

    /// True when the blob describes daylight saving time.
    pub fn has_dst(&self) -> bool {
        self.standard_date.is_set()
            && self.daylight_date.is_set()
            && self.standard_bias != self.daylight_bias
    }

    /// The rules of `tz` in force in the (local) year of `at`. A year with
    /// regular DST gives day-of-week rules; a year without DST, or one in
    /// which the zone changed its rules, gives the fixed offset in force at `at`.
    pub fn for_zone(tz: Tz, at: DateTime<Utc>) -> TimeZoneInfo {
        let year = at.with_timezone(&tz).year();
        let (standard_name, daylight_name) = names_of(tz);
        let mut tzi = TimeZoneInfo {
            standard_name,
            daylight_name,
            ..TimeZoneInfo::default()
        };
        match regular_dst(tz, year) {
            Some((std, dst, start, end)) => {
                tzi.bias = -std;
                tzi.daylight_bias = -(dst - std);
                tzi.daylight_date = SystemTime::rule_for(start + Duration::minutes(std.into()));
                tzi.standard_date = SystemTime::rule_for(end + Duration::minutes(dst.into()));
            }
            None => tzi.bias = -offset_minutes(tz, at.naive_utc()),
        }
        tzi
    }

    fn year_rules(&self, year: i32) -> YearRules {
        let standard = -(self.bias + self.standard_bias);
        let daylight = -(self.bias + self.daylight_bias);
        let transitions = if self.has_dst() {
            match (
                self.daylight_date.in_year(year),
                self.standard_date.in_year(year),
            ) {
                (Some(start), Some(end)) => Some((
                    start - Duration::minutes(standard.into()),
                    end - Duration::minutes(daylight.into()),
                )),
                _ => None,
            }
        } else {
            None
        };
        YearRules {
            standard,
            daylight,
            transitions,
        }
    }

    /// Offset east of UTC in minutes at a UTC instant, by these rules.
    pub fn offset_at(&self, utc: NaiveDateTime) -> i32 {
        let standard = -(self.bias + self.standard_bias);
        let local_year = (utc + Duration::minutes(standard.into())).year();
        let rules = self.year_rules(local_year);
        match rules.transitions {
            Some((start, end)) if start < end && utc >= start && utc < end => rules.daylight,
            Some((start, end)) if start >= end && (utc >= start || utc < end) => rules.daylight,
            _ => rules.standard,
        }
    }

    /// The UTC instant of a local wall-clock time by these rules (a time in
    /// the spring-forward gap is read with the standard offset).
    pub fn local_to_utc(&self, local: NaiveDateTime) -> NaiveDateTime {
        let rules = self.year_rules(local.year());
        for offset in [rules.standard, rules.daylight] {
            let utc = local - Duration::minutes(offset.into());
            if self.offset_at(utc) == offset {
                return utc;
            }
        }
        local - Duration::minutes(rules.standard.into())
    }

    /// True when both blobs put every instant of `year` at the same offset.
    fn same_rules(&self, other: &TimeZoneInfo, year: i32) -> bool {
        let (a, b) = (self.year_rules(year), other.year_rules(year));
        match (a.transitions, b.transitions) {
            (None, None) => a.standard == b.standard,
            (Some(_), Some(_)) => a == b,
            _ => false,
        }
    }
}

/// Offset of `tz` east of UTC, in minutes, at a UTC instant.
pub fn offset_minutes(tz: Tz, utc: NaiveDateTime) -> i32 {
    tz.offset_from_utc_datetime(&utc).fix().local_minus_utc() / 60
}

/// For a year with exactly one change to DST and one back:
/// (standard, daylight offsets, DST start UTC, DST end UTC).
fn regular_dst(tz: Tz, year: i32) -> Option<(i32, i32, NaiveDateTime, NaiveDateTime)> {
    let from = NaiveDate::from_ymd_opt(year, 1, 1)?.and_hms_opt(0, 0, 0)?;
    let to = NaiveDate::from_ymd_opt(year + 1, 1, 1)?.and_hms_opt(0, 0, 0)?;
    let changes = transitions(tz, from, to);
    let [(first_at, before, first_to), (second_at, mid, second_to)] = changes.as_slice() else {
        return None;
    };
    if *first_to != *mid || *second_to != *before || before == first_to {
        return None;
    }
    let standard = (*before).min(*first_to);
    let daylight = (*before).max(*first_to);
    let (start, end) = if *first_to == daylight {
        (*first_at, *second_at)
    } else {
        (*second_at, *first_at)
    };
    Some((standard, daylight, start, end))
}

/// Offset changes of `tz` in [from, to): (UTC instant, offset before, offset after).
fn transitions(tz: Tz, from: NaiveDateTime, to: NaiveDateTime) -> Vec<(NaiveDateTime, i32, i32)> {
    let mut found = Vec::new();
    let step = Duration::hours(12);
    let mut t = from;
    let mut offset = offset_minutes(tz, t);
    while t < to {
        let next = (t + step).min(to);
        let next_offset = offset_minutes(tz, next);
        if next_offset != offset {
            // Bisect to the second: the first instant with the new offset.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_minutes(tz, mid) == offset {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.push((hi, offset, next_offset));
        }
        t = next;
        offset = next_offset;
    }
    found
}

/// Windows-style names for a zone: the Windows name when the zone is in the
/// table, the IANA name otherwise (truncated to what the blob holds).
fn names_of(tz: Tz) -> (String, String) {
    match WINDOWS_ZONES.iter().find(|(_, iana)| *iana == tz.name()) {
        Some((win, _)) => (
            win.to_string(),
            win.replace("Standard Time", "Daylight Time"),
        ),
        None => (tz.name().to_string(), tz.name().to_string()),
    }
}

fn read_name(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|u| *u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

fn write_name(name: &str, out: &mut Vec<u8>) {
    let mut units: Vec<u16> = name.encode_utf16().take(NAME_UNITS - 1).collect();
    if units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
        units.pop(); // never cut a surrogate pair in half
    }
    units.resize(NAME_UNITS, 0);
    for u in units {
        out.extend_from_slice(&u.to_le_bytes());
    }
}

/// Parse an IANA name, also inside vendor prefixes such as
/// `/mozilla.org/20050126_1/Europe/Berlin` or `/freeassociation.sourceforge.net/Europe/Berlin`.
pub fn parse_iana(name: &str) -> Option<Tz> {
    let name = name.trim().trim_matches('"');
    if let Ok(tz) = name.parse::<Tz>() {
        return Some(tz);
    }
    let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
    (1..parts.len()).find_map(|skip| parts[skip..].join("/").parse::<Tz>().ok())
}

/// The IANA zone for a Windows zone name (StandardName), if known.
pub fn windows_zone(name: &str) -> Option<Tz> {
    let name = name.trim();
    WINDOWS_ZONES
        .iter()
        .find(|(win, _)| {
            win.eq_ignore_ascii_case(name)
                || win
                    .replace("Standard", "Daylight")
                    .eq_ignore_ascii_case(name)
        })
        .and_then(|(_, iana)| iana.parse().ok())
}

/// How a blob was matched to a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The zone has exactly the blob's rules in that year.
    Exact(Tz),
    /// No zone has the blob's rules; this one has its standard offset
    /// (and DST when the blob has DST). Times in DST may be an hour off.
    Approximate(Tz),
}

impl Match {
    pub fn zone(self) -> Tz {
        match self {
            Match::Exact(tz) | Match::Approximate(tz) => tz,
        }
    }
}

/// The IANA zone that best explains a device's blob in `year`: the zone its
/// name stands for when the rules agree, else the first common zone with the
/// same rules, else any zone with the same rules, else an approximation.
pub fn zone_for(tzi: &TimeZoneInfo, year: i32) -> Match {
    let rules = tzi.year_rules(year);
    let plausible = |tz: Tz| {
        let probe = |m| {
            NaiveDate::from_ymd_opt(year, m, 15)
                .and_then(|d| d.and_hms_opt(12, 0, 0))
                .map(|t| offset_minutes(tz, t))
        };
        [probe(1), probe(7)]
            .iter()
            .flatten()
            .all(|o| *o == rules.standard || *o == rules.daylight)
    };
    let matches = |tz: Tz| {
        plausible(tz)
            && NaiveDate::from_ymd_opt(year, 7, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .is_some_and(|t| TimeZoneInfo::for_zone(tz, t.and_utc()).same_rules(tzi, year))
    };
    let named = [&tzi.standard_name, &tzi.daylight_name]
        .into_iter()
        .filter_map(|n| windows_zone(n).or_else(|| parse_iana(n)));
    let common = WINDOWS_ZONES
        .iter()
        .filter_map(|(_, iana)| iana.parse::<Tz>().ok());
    let (geographic, legacy): (Vec<Tz>, Vec<Tz>) = chrono_tz::TZ_VARIANTS
        .iter()
        .partition(|tz| is_geographic(**tz));
    let all = geographic.into_iter().chain(legacy);
    if let Some(tz) = named.chain(common).chain(all).find(|tz| matches(*tz)) {
        return Match::Exact(tz);
    }
    approximate(tzi, year)
}

/// Every zone, `Area/Location` names first.
fn all_zones() -> impl Iterator<Item = Tz> {
    let (geographic, legacy): (Vec<Tz>, Vec<Tz>) = chrono_tz::TZ_VARIANTS
        .iter()
        .partition(|tz| is_geographic(**tz));
    geographic.into_iter().chain(legacy)
}

/// `Area/Location` names (Pacific/Chatham), preferred over legacy aliases
/// such as `NZ-CHAT` or `US/Eastern` that the database also lists.
fn is_geographic(tz: Tz) -> bool {
    const AREAS: [&str; 9] = [
        "Africa/",
        "America/",
        "Antarctica/",
        "Asia/",
        "Atlantic/",
        "Australia/",
        "Europe/",
        "Indian/",
        "Pacific/",
    ];
    AREAS.iter().any(|a| tz.name().starts_with(a))
}

fn approximate(tzi: &TimeZoneInfo, year: i32) -> Match {
    let rules = tzi.year_rules(year);
    let fixed_hours = (rules.transitions.is_none()
        && rules.standard % 60 == 0
        && rules.standard.abs() <= 12 * 60)
        .then_some(rules.standard / 60);
    if let Some(hours) = fixed_hours {
        // Etc/GMT-1 is one hour *east* of UTC (POSIX sign).
        let name = match hours {
            0 => "Etc/UTC".to_string(),
            h => format!("Etc/GMT{:+}", -h),
        };
        if let Ok(tz) = name.parse() {
            return Match::Approximate(tz);
        }
    }
    let want_dst = rules.transitions.is_some();
    let mid_year = NaiveDate::from_ymd_opt(year, 1, 15).and_then(|d| d.and_hms_opt(12, 0, 0));
    all_zones()
        .find(|tz| {
            mid_year.is_some_and(|t| {
                let z = TimeZoneInfo::for_zone(*tz, t.and_utc());
                -z.bias == rules.standard && z.has_dst() == want_dst
            })
        })
        .map_or(Match::Approximate(Tz::UTC), Match::Approximate)
}

/// The iCalendar VTIMEZONE for `tz`, with the rules in force in the year of
/// `at`, named by the IANA name (which is what readers look up first).
pub fn vtimezone(tz: Tz, at: DateTime<Utc>) -> Component {
    let mut vtz = Component::new("VTIMEZONE");
    vtz.push(ContentLine::new("TZID", tz.name()));
    let year = at.with_timezone(&tz).year();
    match regular_dst(tz, year) {
        Some((std, dst, start, end)) => {
            let start_local = start + Duration::minutes(std.into());
            let end_local = end + Duration::minutes(dst.into());
            vtz.components
                .push(observance("DAYLIGHT", start_local, std, dst, tz));
            vtz.components
                .push(observance("STANDARD", end_local, dst, std, tz));
        }
        None => {
            let offset = offset_minutes(tz, at.naive_utc());
            let mut c = Component::new("STANDARD");
            c.push(ContentLine::new("DTSTART", "19700101T000000"));
            c.push(ContentLine::new("TZOFFSETFROM", format_offset(offset)));
            c.push(ContentLine::new("TZOFFSETTO", format_offset(offset)));
            c.push(ContentLine::new("TZNAME", abbreviation(tz, at.naive_utc())));
            vtz.components.push(c);
        }
    }
    vtz
}

fn observance(kind: &str, local: NaiveDateTime, from: i32, to: i32, tz: Tz) -> Component {
    let rule = SystemTime::rule_for(local);
    let byday = if rule.day == 5 {
        -1
    } else {
        i32::from(rule.day)
    };
    let mut c = Component::new(kind);
    c.push(ContentLine::new(
        "DTSTART",
        local.format("%Y%m%dT%H%M%S").to_string(),
    ));
    c.push(ContentLine::new("TZOFFSETFROM", format_offset(from)));
    c.push(ContentLine::new("TZOFFSETTO", format_offset(to)));
    c.push(ContentLine::new(
        "RRULE",
        format!(
            "FREQ=YEARLY;BYMONTH={};BYDAY={}{}",
            rule.month,
            byday,
            super::recurrence::ical_weekday(rule.day_of_week)
        ),
    ));
    c.push(ContentLine::new(
        "TZNAME",
        abbreviation(
            tz,
            local - Duration::minutes(from.into()) + Duration::hours(1),
        ),
    ));
    c
}

fn abbreviation(tz: Tz, utc: NaiveDateTime) -> String {
    tz.from_utc_datetime(&utc).format("%Z").to_string()
}

fn format_offset(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    format!("{sign}{:02}{:02}", minutes.abs() / 60, minutes.abs() % 60)
}

fn parse_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    let (sign, digits) = match s.as_bytes().first()? {
        b'-' => (-1, &s[1..]),
        b'+' => (1, &s[1..]),
        _ => (1, s),
    };
    if digits.len() < 4 || !digits.is_ascii() {
        return None;
    }
    let h: i32 = digits[0..2].parse().ok()?;
    let m: i32 = digits[2..4].parse().ok()?;
    Some(sign * (h * 60 + m))
}

/// The zone a VTIMEZONE stands for in `year`: its TZID when that is an IANA
/// or Windows name, else the zone matching its observances' rules.
pub fn zone_of_vtimezone(vtz: &Component, year: i32) -> Option<Match> {
    let tzid = vtz
        .property("TZID")
        .map(|p| p.value.as_str())
        .unwrap_or_default();
    if let Some(tz) = parse_iana(tzid).or_else(|| windows_zone(tzid)) {
        return Some(Match::Exact(tz));
    }
    let tzi = info_of_vtimezone(vtz)?;
    Some(zone_for(&tzi, year))
}

/// A TIME_ZONE_INFORMATION from a VTIMEZONE's latest STANDARD / DAYLIGHT observances.
fn info_of_vtimezone(vtz: &Component) -> Option<TimeZoneInfo> {
    let standard = latest_observance(vtz, "STANDARD")?;
    let std_offset = parse_offset(&standard.property("TZOFFSETTO")?.value)?;
    let mut tzi = TimeZoneInfo {
        bias: -std_offset,
        standard_name: vtz
            .property("TZID")
            .map(|p| p.value.clone())
            .unwrap_or_default(),
        ..TimeZoneInfo::default()
    };
    if let Some(daylight) = latest_observance(vtz, "DAYLIGHT") {
        let dst_offset = parse_offset(&daylight.property("TZOFFSETTO")?.value)?;
        tzi.daylight_bias = -(dst_offset - std_offset);
        tzi.daylight_date = observance_rule(daylight)?;
        tzi.standard_date = observance_rule(standard)?;
    }
    Some(tzi)
}

fn latest_observance<'a>(vtz: &'a Component, kind: &'a str) -> Option<&'a Component> {
    vtz.components_named(kind)
        .filter_map(|c| Some((c.property("DTSTART")?.value.clone(), c)))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, c)| c)
}

fn observance_rule(c: &Component) -> Option<SystemTime> {
    let start =
        NaiveDateTime::parse_from_str(c.property("DTSTART")?.value.trim(), "%Y%m%dT%H%M%S").ok()?;
    let mut rule = SystemTime::rule_for(start);
    let Some(rrule) = c.property("RRULE") else {
        rule.year = start.year() as u16;
        rule.day = start.day() as u16;
        return Some(rule);
    };
    for part in rrule.value.split(';') {
        match part.split_once('=') {
            Some(("BYMONTH", m)) => rule.month = m.parse().ok()?,
            Some(("BYDAY", d)) => {
                let (n, wd) = d.split_at(d.len().checked_sub(2)?);
                rule.day_of_week = super::recurrence::weekday_index(wd)?;
                rule.day = match n.parse::<i32>().unwrap_or(1) {
                    -1 => 5,
                    n @ 1..=5 => n as u16,
                    _ => return None,
                };
            }
            _ => {}
        }
    }
    Some(rule)
}

/// The local wall-clock time of a UTC instant in a zone.
pub fn to_local(tz: Tz, utc: DateTime<Utc>) -> NaiveDateTime {
    utc.with_timezone(&tz).naive_local()
}

/// The UTC instant of a local wall-clock time in a zone; a time in a
/// spring-forward gap moves forward by the gap, an ambiguous time takes the
/// earlier instant (as RFC 5545 3.3.5 says).
pub fn from_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    use chrono::LocalResult;
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => {
            let before = offset_minutes(tz, local - Duration::hours(3));
            (local - Duration::minutes(before.into())).and_utc()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_format_and_parse() {
        assert_eq!(format_offset(330), "+0530");
        assert_eq!(format_offset(-210), "-0330");
        assert_eq!(parse_offset("-0330"), Some(-210));
        assert_eq!(parse_offset("+01"), None);
    }

    #[test]
    fn names_are_truncated_to_the_blob() {
        let tzi = TimeZoneInfo {
            standard_name: "x".repeat(40),
            ..TimeZoneInfo::default()
        };
        let back = TimeZoneInfo::from_bytes(&tzi.to_bytes()).unwrap();
        assert_eq!(back.standard_name.len(), 31);
    }
}
