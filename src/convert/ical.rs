//! iCalendar (RFC 5545) <-> model: VEVENT for events, VTODO for tasks, in
//! the shape Kronolith and Nag import and export.
//!
//! - A timed event is written in its zone (`DTSTART;TZID=...` plus a
//!   VTIMEZONE), so recurring events follow the zone's DST; an event without
//!   a zone is written in UTC.
//! - An all-day event is written with `VALUE=DATE`; its zone, which EAS
//!   needs to place the day, travels as `X-ACTIVESYNC-TIMEZONE`.
//! - Exceptions follow RFC 5545 / Kronolith: deleted occurrences as EXDATE,
//!   changed ones as extra VEVENTs with the same UID and a RECURRENCE-ID.
//! - EAS fields with no iCalendar property are kept in `X-ACTIVESYNC-*` or
//!   the `X-MICROSOFT-*` properties Outlook uses (see the README for which
//!   of them Horde drops).

use super::contentline::{escape_text, split_text_list, Component, ContentLine};
use super::recurrence::{self, Until, UntilStyle};
use super::timezone::{self, parse_iana, vtimezone, zone_of_vtimezone};
use crate::model::event::{
    Attendee, AttendeeType, BusyStatus, Event, Exception, Location, Recurrence, ResponseStatus,
    Sensitivity, When,
};
use crate::model::Task;
use anyhow::{anyhow, bail, Context as _};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

const PRODID: &str = "-//horde-activesync//NONSGML horde-activesync//EN";
const UTC_FORMAT: &str = "%Y%m%dT%H%M%SZ";
const LOCAL_FORMAT: &str = "%Y%m%dT%H%M%S";
const DATE_FORMAT: &str = "%Y%m%d";

// ---------------------------------------------------------------- events

/// A VCALENDAR with the event's VEVENT, one VEVENT per changed occurrence,
/// and the VTIMEZONE of a timed event's zone.
pub fn write_event(event: &Event, uid: &str) -> String {
    event_calendar(event, uid).to_text()
}

/// The event as a meeting request (iTIP `METHOD:REQUEST`, RFC 5546 3.2.2),
/// what SmartForward of a calendar item attaches: the whole event, or with
/// `instance` (the original start of one occurrence of a series) only that
/// occurrence (the caller checks the series has it), as a VEVENT with
/// RECURRENCE-ID carrying its changes. `None` when that occurrence was
/// deleted from the series.
pub fn write_request(event: &Event, uid: &str, instance: Option<When>) -> Option<String> {
    let mut cal = match instance {
        None => event_calendar(event, uid),
        Some(original) => {
            let changed = event
                .exceptions
                .iter()
                .flatten()
                .find(|e| e.original_start == Some(original));
            if changed.is_some_and(|e| e.deleted == Some(true)) {
                return None;
            }
            let unchanged = Exception {
                original_start: Some(original),
                ..Exception::default()
            };
            let zone = event_zone(event);
            let mut cal = calendar_with_zone(event, zone);
            cal.components.push(exception_vevent(
                event,
                changed.unwrap_or(&unchanged),
                original,
                uid,
                zone,
            ));
            cal
        }
    };
    cal.push(ContentLine::new("METHOD", "REQUEST"));
    Some(cal.to_text())
}

/// A VCALENDAR holding the VTIMEZONE of a timed event's zone (none for UTC
/// or an all-day event).
fn calendar_with_zone(event: &Event, zone: Option<Tz>) -> Component {
    let mut cal = calendar();
    let first = match event.start {
        Some(When::At(t)) => t,
        Some(When::Day(d)) => day_start(d, zone.unwrap_or(Tz::UTC)),
        None => Utc::now(),
    };
    if let Some(tz) = zone.filter(|tz| *tz != Tz::UTC && !event.is_all_day()) {
        cal.components.push(vtimezone(tz, first));
    }
    cal
}

fn event_calendar(event: &Event, uid: &str) -> Component {
    let zone = event_zone(event);
    let mut cal = calendar_with_zone(event, zone);
    let mut master = vevent(event, uid, zone);
    if let Some(rule) = &event.recurrence {
        let style = match (event.is_all_day(), zone) {
            (true, z) => UntilStyle::Date(z.unwrap_or(Tz::UTC)),
            (false, _) => UntilStyle::Utc,
        };
        // Refusal happens in `check_event`; here a bad rule is left out
        // rather than written wrong.
        if let Ok(value) = recurrence::to_rrule(rule, style) {
            master.push(ContentLine::new("RRULE", value));
        }
    }
    let exceptions = event.exceptions.as_deref().unwrap_or_default();
    for ex in exceptions.iter().filter(|e| e.deleted == Some(true)) {
        if let Some(original) = ex.original_start {
            master.push(when_line("EXDATE", original, zone));
        }
    }
    cal.components.push(master);
    for ex in exceptions.iter().filter(|e| e.deleted != Some(true)) {
        if let Some(original) = ex.original_start {
            cal.components
                .push(exception_vevent(event, ex, original, uid, zone));
        }
    }
    cal
}

/// Check that an event can be stored as iCalendar without change:
/// its recurrence must have an RRULE. Callers answer a device with a
/// clear status when this fails, instead of storing something else.
pub fn check_event(event: &Event) -> anyhow::Result<()> {
    if let Some(rule) = &event.recurrence {
        recurrence::to_rrule(rule, UntilStyle::Utc)?;
    }
    Ok(())
}

fn calendar() -> Component {
    let mut cal = Component::new("VCALENDAR");
    cal.push(ContentLine::new("VERSION", "2.0"));
    cal.push(ContentLine::new("PRODID", PRODID));
    cal
}

fn event_zone(event: &Event) -> Option<Tz> {
    event.time_zone.as_deref().and_then(parse_iana)
}

fn day_start(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    timezone::from_local(tz, day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// `NAME:20261201T100000Z`, `NAME;TZID=Europe/Berlin:20261201T110000` or `NAME;VALUE=DATE:20261201`.
fn when_line(name: &str, when: When, zone: Option<Tz>) -> ContentLine {
    match (when, zone) {
        (When::Day(d), _) => {
            ContentLine::new(name, d.format(DATE_FORMAT).to_string()).param("VALUE", "DATE")
        }
        (When::At(t), Some(tz)) if tz != Tz::UTC => ContentLine::new(
            name,
            timezone::to_local(tz, t).format(LOCAL_FORMAT).to_string(),
        )
        .param("TZID", tz.name()),
        (When::At(t), _) => ContentLine::new(name, t.format(UTC_FORMAT).to_string()),
    }
}

fn vevent(event: &Event, uid: &str, zone: Option<Tz>) -> Component {
    let mut v = Component::new("VEVENT");
    v.push(ContentLine::new("UID", uid));
    let stamp = event.dtstamp.unwrap_or_else(Utc::now);
    v.push(ContentLine::new(
        "DTSTAMP",
        stamp.format(UTC_FORMAT).to_string(),
    ));
    write_event_fields(&mut v, event, zone);
    if let Some(client_uid) = &event.client_uid {
        v.push(ContentLine::text("X-ACTIVESYNC-CLIENTUID", client_uid));
    }
    if event.is_all_day() {
        if let Some(tz) = &event.time_zone {
            v.push(ContentLine::text("X-ACTIVESYNC-TIMEZONE", tz));
        }
    }
    v
}

/// The properties shared by a series and an exception VEVENT.
fn write_event_fields(v: &mut Component, event: &Event, zone: Option<Tz>) {
    if let Some(start) = event.start {
        v.push(when_line("DTSTART", start, zone));
    }
    if let Some(end) = event.end {
        v.push(when_line("DTEND", end, zone));
    }
    let text = |v: &mut Component, name: &str, value: &Option<String>| {
        if let Some(s) = value {
            v.push(ContentLine::text(name, s));
        }
    };
    text(v, "SUMMARY", &event.subject);
    text(v, "LOCATION", &event.location);
    text(v, "DESCRIPTION", &event.body);
    write_categories(v, &event.categories);
    if let Some(s) = event.sensitivity {
        v.push(ContentLine::new("CLASS", class_of(s)));
    }
    if let Some(b) = event.busy_status {
        let transp = if b == BusyStatus::Free {
            "TRANSPARENT"
        } else {
            "OPAQUE"
        };
        v.push(ContentLine::new("TRANSP", transp));
        v.push(ContentLine::new("X-MICROSOFT-CDO-BUSYSTATUS", busy_name(b)));
    }
    let cancelled = event.meeting_status.is_some_and(|m| m & 4 != 0);
    match (cancelled, event.busy_status) {
        (true, _) => v.push(ContentLine::new("STATUS", "CANCELLED")),
        (false, Some(BusyStatus::Tentative)) => v.push(ContentLine::new("STATUS", "TENTATIVE")),
        (false, Some(_)) => v.push(ContentLine::new("STATUS", "CONFIRMED")),
        (false, None) => {}
    }
    if let Some(m) = event.meeting_status {
        v.push(ContentLine::new(
            "X-ACTIVESYNC-MEETINGSTATUS",
            m.to_string(),
        ));
    }
    if event.organizer_email.is_some() || event.organizer_name.is_some() {
        let mut line = ContentLine::new(
            "ORGANIZER",
            format!(
                "mailto:{}",
                event.organizer_email.as_deref().unwrap_or_default()
            ),
        );
        if let Some(name) = &event.organizer_name {
            line = line.param("CN", name.as_str());
        }
        v.push(line);
    }
    for a in event.attendees.as_deref().unwrap_or_default() {
        v.push(attendee_line(a, event.response_requested));
    }
    if let Some(b) = event.disallow_new_time_proposal {
        v.push(ContentLine::new(
            "X-MICROSOFT-DISALLOW-COUNTER",
            if b { "TRUE" } else { "FALSE" },
        ));
    }
    if let Some(r) = event.response_type {
        v.push(ContentLine::new(
            "X-ACTIVESYNC-RESPONSETYPE",
            r.code().to_string(),
        ));
    }
    if let Some(t) = event.appointment_reply_time {
        v.push(ContentLine::new(
            "X-ACTIVESYNC-REPLYTIME",
            t.format(UTC_FORMAT).to_string(),
        ));
    }
    text(
        v,
        "X-MICROSOFT-ONLINEMEETINGCONFLINK",
        &event.online_meeting_conf_link,
    );
    text(
        v,
        "X-MICROSOFT-ONLINEMEETINGEXTERNALLINK",
        &event.online_meeting_external_link,
    );
    if let Some(loc) = &event.location_details {
        if let (Some(lat), Some(lon)) = (loc.latitude, loc.longitude) {
            v.push(ContentLine::new("GEO", format!("{lat};{lon}")));
        }
        if let Ok(json) = serde_json::to_string(loc) {
            v.push(ContentLine::text("X-ACTIVESYNC-LOCATION", &json));
        }
    }
    if let Some(minutes) = event.reminder {
        let mut alarm = Component::new("VALARM");
        alarm.push(ContentLine::new("ACTION", "DISPLAY"));
        alarm.push(ContentLine::new("TRIGGER", format!("-PT{minutes}M")).param("RELATED", "START"));
        alarm.push(ContentLine::text(
            "DESCRIPTION",
            event.subject.as_deref().unwrap_or("Reminder"),
        ));
        v.components.push(alarm);
    }
}

fn exception_vevent(
    series: &Event,
    ex: &Exception,
    original: When,
    uid: &str,
    zone: Option<Tz>,
) -> Component {
    // RFC 5545 overrides replace the whole occurrence (Kronolith stores them
    // as events of their own), so the series' fields are written too;
    // `only_changes` takes them out again when reading.
    let mut changed = overlay(series, &ex.changes);
    if ex.changes.start.is_none() {
        changed.start = Some(original);
        changed.end = shift(original, series_duration(series));
    }
    let mut v = Component::new("VEVENT");
    v.push(ContentLine::new("UID", uid));
    let stamp = series.dtstamp.unwrap_or_else(Utc::now);
    v.push(ContentLine::new(
        "DTSTAMP",
        stamp.format(UTC_FORMAT).to_string(),
    ));
    v.push(when_line("RECURRENCE-ID", original, zone));
    write_event_fields(&mut v, &changed, zone);
    v
}

/// The series' own fields (not its identity, recurrence or exceptions)
/// with an exception's changes laid over them.
fn overlay(series: &Event, changes: &Event) -> Event {
    let base = Event {
        uid: None,
        client_uid: None,
        time_zone: None,
        recurrence: None,
        exceptions: None,
        ..series.clone()
    };
    let (Ok(serde_json::Value::Object(mut fields)), Ok(serde_json::Value::Object(changed))) =
        (serde_json::to_value(&base), serde_json::to_value(changes))
    else {
        return base;
    };
    fields.extend(changed.into_iter().filter(|(_, v)| !v.is_null()));
    serde_json::from_value(serde_json::Value::Object(fields)).unwrap_or(base)
}

/// End minus start of the series, as a duration in its own kind (days for all-day).
fn series_duration(e: &Event) -> Option<Duration> {
    match (e.start?, e.end?) {
        (When::At(s), When::At(t)) => Some(t - s),
        (When::Day(s), When::Day(t)) => Some(t - s),
        _ => None,
    }
}

fn shift(w: When, d: Option<Duration>) -> Option<When> {
    let d = d?;
    match w {
        When::At(t) => Some(When::At(t + d)),
        When::Day(day) => day.checked_add_signed(d).map(When::Day),
    }
}

fn write_categories(v: &mut Component, categories: &Option<Vec<String>>) {
    if let Some(c) = categories.as_ref().filter(|c| !c.is_empty()) {
        let value = c
            .iter()
            .map(|s| escape_text(s))
            .collect::<Vec<_>>()
            .join(",");
        v.push(ContentLine::new("CATEGORIES", value));
    }
}

fn class_of(s: Sensitivity) -> &'static str {
    match s {
        Sensitivity::Normal => "PUBLIC",
        Sensitivity::Personal => "X-PERSONAL",
        Sensitivity::Private => "PRIVATE",
        Sensitivity::Confidential => "CONFIDENTIAL",
    }
}

fn sensitivity_of(class: &str) -> Sensitivity {
    match class.trim().to_ascii_uppercase().as_str() {
        "PUBLIC" => Sensitivity::Normal,
        "X-PERSONAL" => Sensitivity::Personal,
        "CONFIDENTIAL" => Sensitivity::Confidential,
        // RFC 5545 3.8.1.3: an unknown class is treated as PRIVATE.
        _ => Sensitivity::Private,
    }
}

const BUSY_NAMES: [(BusyStatus, &str); 5] = [
    (BusyStatus::Free, "FREE"),
    (BusyStatus::Tentative, "TENTATIVE"),
    (BusyStatus::Busy, "BUSY"),
    (BusyStatus::OutOfOffice, "OOF"),
    (BusyStatus::WorkingElsewhere, "WORKINGELSEWHERE"),
];

fn busy_name(b: BusyStatus) -> &'static str {
    BUSY_NAMES
        .iter()
        .find(|(s, _)| *s == b)
        .map_or("BUSY", |(_, n)| n)
}

const PARTSTATS: [(ResponseStatus, &str); 4] = [
    (ResponseStatus::Tentative, "TENTATIVE"),
    (ResponseStatus::Accepted, "ACCEPTED"),
    (ResponseStatus::Declined, "DECLINED"),
    (ResponseStatus::NotResponded, "NEEDS-ACTION"),
];

fn attendee_line(a: &Attendee, rsvp: Option<bool>) -> ContentLine {
    let mut line = ContentLine::new(
        "ATTENDEE",
        format!("mailto:{}", a.email.as_deref().unwrap_or_default()),
    );
    if let Some(name) = &a.name {
        line = line.param("CN", name.as_str());
    }
    line = match a.attendee_type {
        Some(AttendeeType::Required) => line.param("ROLE", "REQ-PARTICIPANT"),
        Some(AttendeeType::Optional) => line.param("ROLE", "OPT-PARTICIPANT"),
        Some(AttendeeType::Resource) => line
            .param("CUTYPE", "RESOURCE")
            .param("ROLE", "NON-PARTICIPANT"),
        None => line,
    };
    if let Some((_, stat)) = PARTSTATS.iter().find(|(s, _)| Some(*s) == a.status) {
        line = line.param("PARTSTAT", *stat);
    }
    if let Some(r) = rsvp {
        line = line.param("RSVP", if r { "TRUE" } else { "FALSE" });
    }
    line
}

fn parse_attendee(line: &ContentLine) -> Attendee {
    let role = line
        .param_value("ROLE")
        .unwrap_or_default()
        .to_ascii_uppercase();
    let cutype = line
        .param_value("CUTYPE")
        .unwrap_or_default()
        .to_ascii_uppercase();
    let attendee_type = if cutype == "RESOURCE" || cutype == "ROOM" {
        Some(AttendeeType::Resource)
    } else {
        match role.as_str() {
            "OPT-PARTICIPANT" | "NON-PARTICIPANT" => Some(AttendeeType::Optional),
            "REQ-PARTICIPANT" | "CHAIR" => Some(AttendeeType::Required),
            _ => None,
        }
    };
    let status = match line.param_value("PARTSTAT") {
        None => Some(ResponseStatus::Unknown),
        Some(p) => PARTSTATS
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(p))
            .map(|(s, _)| *s)
            .or(Some(ResponseStatus::Unknown)),
    };
    Attendee {
        email: mail_address(&line.value),
        name: line.param_value("CN").map(str::to_string),
        attendee_type,
        status,
    }
}

fn mail_address(value: &str) -> Option<String> {
    let v = value.trim();
    let v = v
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .map_or(v, |_| &v[7..]);
    (!v.is_empty()).then(|| v.to_string())
}

/// The time zones a calendar's DTSTART / DTEND / EXDATE lines refer to.
struct Zones<'a> {
    vtimezones: Vec<&'a Component>,
    year: i32,
}

impl Zones<'_> {
    fn resolve(&self, tzid: &str) -> Option<Tz> {
        if let Some(tz) = parse_iana(tzid).or_else(|| timezone::windows_zone(tzid)) {
            return Some(tz);
        }
        self.vtimezones
            .iter()
            .find(|v| {
                v.property("TZID")
                    .is_some_and(|p| p.value.trim() == tzid.trim())
            })
            .and_then(|v| zone_of_vtimezone(v, self.year))
            .map(|m| m.zone())
    }

    /// A date or date-time property: the value and, for a TZID, its zone.
    fn when(&self, line: &ContentLine, floating: Tz) -> anyhow::Result<(When, Option<Tz>)> {
        let value = line.value.trim();
        // EXDATE / RDATE may list several values; the caller splits them.
        let is_date = line
            .param_value("VALUE")
            .is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
            || value.len() == 8;
        if is_date {
            let d = NaiveDate::parse_from_str(value, DATE_FORMAT)
                .with_context(|| format!("{}: bad date {value:?}", line.name))?;
            return Ok((When::Day(d), None));
        }
        if let Some(utc) = value.strip_suffix('Z') {
            let t = NaiveDateTime::parse_from_str(utc, LOCAL_FORMAT)
                .with_context(|| format!("{}: bad date-time {value:?}", line.name))?;
            return Ok((When::At(t.and_utc()), Some(Tz::UTC)));
        }
        let local = NaiveDateTime::parse_from_str(value, LOCAL_FORMAT)
            .with_context(|| format!("{}: bad date-time {value:?}", line.name))?;
        let zone = match line.param_value("TZID") {
            Some(tzid) => self
                .resolve(tzid)
                .ok_or_else(|| anyhow!("{}: unknown TZID {tzid:?}", line.name))?,
            None => floating,
        };
        Ok((When::At(timezone::from_local(zone, local)), Some(zone)))
    }
}

/// Parse a VCALENDAR holding one event (its series VEVENT and any
/// RECURRENCE-ID overrides). Errors name the property that is wrong.
pub fn parse_event(text: &str) -> anyhow::Result<Event> {
    let roots = Component::parse_all(text)?;
    let cal = roots
        .iter()
        .find(|c| c.name == "VCALENDAR")
        .ok_or_else(|| anyhow!("no VCALENDAR"))?;
    let vevents: Vec<&Component> = cal.components_named("VEVENT").collect();
    let master = vevents
        .iter()
        .find(|v| v.property("RECURRENCE-ID").is_none())
        .or_else(|| vevents.first())
        .ok_or_else(|| anyhow!("no VEVENT"))?;
    let year = master
        .property("DTSTART")
        .and_then(|p| p.value.get(..4))
        .and_then(|y| y.parse().ok())
        .unwrap_or(2000);
    let zones = Zones {
        vtimezones: cal.components_named("VTIMEZONE").collect(),
        year,
    };
    let floating = cal
        .property("X-WR-TIMEZONE")
        .and_then(|p| parse_iana(&p.value))
        .unwrap_or(Tz::UTC);
    let mut event = parse_vevent(master, &zones, floating)?;
    if event.time_zone.as_deref() == Some("UTC") && master.property("RRULE").is_some() {
        if let Some(tz) = series_zone_hint(master, &vevents, &zones) {
            event.time_zone = Some(tz.name().to_string());
        }
    }
    let zone = event_zone(&event).unwrap_or(floating);
    if let Some(rrule) = master.property("RRULE") {
        event.recurrence = Some(parse_rrule(&rrule.value, &event, zone)?);
    }
    let mut exceptions = Vec::new();
    for exdate in master.properties_named("EXDATE") {
        for value in exdate.value.split(',') {
            let line = ContentLine {
                value: value.to_string(),
                ..exdate.clone()
            };
            let (when, _) = zones.when(&line, zone)?;
            exceptions.push(Exception {
                original_start: Some(when),
                deleted: Some(true),
                changes: Box::default(),
            });
        }
    }
    let uid = master.property("UID").map(|p| p.value.trim());
    for v in vevents
        .iter()
        .filter(|v| v.property("RECURRENCE-ID").is_some())
    {
        if v.property("UID").map(|p| p.value.trim()) != uid {
            continue;
        }
        let rid = v.property("RECURRENCE-ID").context("RECURRENCE-ID")?;
        let (original, _) = zones.when(rid, zone)?;
        let changed = parse_vevent(v, &zones, zone)?;
        exceptions.push(Exception {
            original_start: Some(original),
            deleted: None,
            changes: Box::new(only_changes(&event, changed, original)),
        });
    }
    if !exceptions.is_empty() {
        event.exceptions = Some(exceptions);
    }
    Ok(event)
}

/// The zone a series written in UTC really lives in, from the TZID of its
/// EXDATEs or overrides. Kronolith without its tz database exports the
/// series in UTC but keeps TZID there; without the zone the device would
/// shift the series by an hour across DST.
fn series_zone_hint(master: &Component, vevents: &[&Component], zones: &Zones) -> Option<Tz> {
    let overrides = vevents
        .iter()
        .filter(|v| v.property("RECURRENCE-ID").is_some());
    master
        .properties_named("EXDATE")
        .chain(overrides.flat_map(|v| v.properties_named("DTSTART")))
        .filter_map(|p| p.param_value("TZID"))
        .find_map(|tzid| zones.resolve(tzid))
        .filter(|tz| *tz != Tz::UTC)
}

fn parse_rrule(value: &str, event: &Event, zone: Tz) -> anyhow::Result<Recurrence> {
    let first = match event.start {
        Some(When::Day(d)) => d,
        Some(When::At(t)) => timezone::to_local(zone, t).date(),
        None => bail!("RRULE without DTSTART"),
    };
    let all_day = event.is_all_day();
    Ok(recurrence::from_rrule(value, first, |until| match until {
        Until::Utc(t) => t,
        // An all-day series ends with the occurrence that starts that day.
        Until::Date(d) if all_day => day_start(d, zone),
        Until::Date(d) => timezone::from_local(zone, d.and_hms_opt(23, 59, 59).unwrap_or_default()),
        Until::Floating(t) => timezone::from_local(zone, t),
    })?)
}

/// An override keeps only what differs from the series; the start and end
/// count as changed only when they differ from the occurrence's own.
fn only_changes(series: &Event, mut changed: Event, original: When) -> Event {
    if changed.start == Some(original) {
        if changed.end == shift(original, series_duration(series)) {
            changed.end = None;
        }
        changed.start = None;
    }
    changed.uid = None;
    changed.dtstamp = None;
    changed.time_zone = None;
    let (Ok(serde_json::Value::Object(series)), Ok(serde_json::Value::Object(mut fields))) =
        (serde_json::to_value(series), serde_json::to_value(&changed))
    else {
        return changed;
    };
    fields.retain(|k, v| !v.is_null() && series.get(k) != Some(v));
    serde_json::from_value(serde_json::Value::Object(fields)).unwrap_or(changed)
}

fn parse_vevent(v: &Component, zones: &Zones, floating: Tz) -> anyhow::Result<Event> {
    let mut e = Event::default();
    let all_day_zone = v.property("X-ACTIVESYNC-TIMEZONE").map(|p| p.text_value());
    if let Some(p) = v.property("DTSTART") {
        let (when, zone) = zones.when(p, floating)?;
        e.start = Some(when);
        e.time_zone = match when {
            When::Day(_) => all_day_zone.clone(),
            When::At(_) => zone.map(|z| z.name().to_string()),
        };
    }
    let start_zone = e
        .time_zone
        .as_deref()
        .and_then(parse_iana)
        .unwrap_or(floating);
    if let Some(p) = v.property("DTEND") {
        e.end = Some(zones.when(p, start_zone)?.0);
    } else if let Some(p) = v.property("DURATION") {
        let d =
            parse_duration(&p.value).ok_or_else(|| anyhow!("DURATION: bad value {:?}", p.value))?;
        e.end = e.start.and_then(|s| shift(s, Some(d)));
    } else if let Some(When::Day(d)) = e.start {
        e.end = d.succ_opt().map(When::Day);
    }
    let text = |name: &str| v.property(name).map(|p| p.text_value());
    e.subject = text("SUMMARY");
    e.location = text("LOCATION");
    e.body = text("DESCRIPTION");
    e.uid = v.property("UID").map(|p| p.value.trim().to_string());
    e.client_uid = text("X-ACTIVESYNC-CLIENTUID");
    e.dtstamp = v
        .property("DTSTAMP")
        .and_then(|p| NaiveDateTime::parse_from_str(p.value.trim(), UTC_FORMAT).ok())
        .map(|t| t.and_utc());
    let categories: Vec<String> = v
        .properties_named("CATEGORIES")
        .flat_map(|p| split_text_list(&p.value))
        .collect();
    e.categories = (!categories.is_empty()).then_some(categories);
    e.sensitivity = v.property("CLASS").map(|p| sensitivity_of(&p.value));
    let status = v
        .property("STATUS")
        .map(|p| p.value.trim().to_ascii_uppercase());
    e.busy_status = match v.property("X-MICROSOFT-CDO-BUSYSTATUS") {
        Some(p) => BUSY_NAMES
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(p.value.trim()))
            .map(|(s, _)| *s),
        None => match (
            v.property("TRANSP")
                .map(|p| p.value.trim().to_ascii_uppercase()),
            status.as_deref(),
        ) {
            (Some(t), _) if t == "TRANSPARENT" => Some(BusyStatus::Free),
            (_, Some("TENTATIVE")) => Some(BusyStatus::Tentative),
            (Some(_), _) | (_, Some(_)) => Some(BusyStatus::Busy),
            (None, None) => None,
        },
    };
    e.meeting_status = text("X-ACTIVESYNC-MEETINGSTATUS").and_then(|s| s.trim().parse().ok());
    if e.meeting_status.is_none() && status.as_deref() == Some("CANCELLED") {
        // A cancelled meeting as received by an attendee.
        e.meeting_status = Some(7);
    }
    if let Some(org) = v.property("ORGANIZER") {
        e.organizer_email = mail_address(&org.value);
        e.organizer_name = org.param_value("CN").map(str::to_string);
    }
    let attendee_lines: Vec<&ContentLine> = v.properties_named("ATTENDEE").collect();
    if !attendee_lines.is_empty() {
        e.attendees = Some(attendee_lines.iter().map(|l| parse_attendee(l)).collect());
        let rsvp: Vec<bool> = attendee_lines
            .iter()
            .filter_map(|l| l.param_value("RSVP"))
            .map(|r| r.eq_ignore_ascii_case("TRUE"))
            .collect();
        e.response_requested = (!rsvp.is_empty()).then(|| rsvp.iter().any(|r| *r));
    }
    e.disallow_new_time_proposal = v
        .property("X-MICROSOFT-DISALLOW-COUNTER")
        .map(|p| p.value.trim().eq_ignore_ascii_case("TRUE"));
    e.response_type = text("X-ACTIVESYNC-RESPONSETYPE")
        .and_then(|s| s.trim().parse().ok())
        .and_then(ResponseStatus::from_code);
    e.appointment_reply_time = text("X-ACTIVESYNC-REPLYTIME")
        .and_then(|s| NaiveDateTime::parse_from_str(s.trim(), UTC_FORMAT).ok())
        .map(|t| t.and_utc());
    e.online_meeting_conf_link = text("X-MICROSOFT-ONLINEMEETINGCONFLINK");
    e.online_meeting_external_link = text("X-MICROSOFT-ONLINEMEETINGEXTERNALLINK");
    e.location_details = text("X-ACTIVESYNC-LOCATION")
        .and_then(|json| serde_json::from_str::<Location>(&json).ok())
        .or_else(|| geo_location(v, &e.location));
    let start_utc = match e.start {
        Some(When::At(t)) => Some(t),
        Some(When::Day(d)) => Some(day_start(d, start_zone)),
        None => None,
    };
    e.reminder = v
        .components_named("VALARM")
        .find_map(|a| alarm_minutes(a, start_utc));
    Ok(e)
}

fn geo_location(v: &Component, name: &Option<String>) -> Option<Location> {
    let geo = v.property("GEO")?;
    let (lat, lon) = geo.value.split_once(';')?;
    Some(Location {
        display_name: name.clone(),
        latitude: lat.trim().parse().ok(),
        longitude: lon.trim().parse().ok(),
        ..Location::default()
    })
}

/// Minutes before the start of a VALARM with a relative (to start) or absolute trigger.
fn alarm_minutes(alarm: &Component, start: Option<DateTime<Utc>>) -> Option<u32> {
    let trigger = alarm.property("TRIGGER")?;
    let before = if trigger
        .param_value("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE-TIME"))
    {
        let at = NaiveDateTime::parse_from_str(trigger.value.trim(), UTC_FORMAT)
            .ok()?
            .and_utc();
        start? - at
    } else if trigger
        .param_value("RELATED")
        .is_some_and(|r| r.eq_ignore_ascii_case("END"))
    {
        return None;
    } else {
        -parse_duration(&trigger.value)?
    };
    u32::try_from(before.num_minutes()).ok()
}

/// An RFC 5545 duration (`-P1DT2H`, `PT15M`, `P2W`).
pub fn parse_duration(value: &str) -> Option<Duration> {
    let v = value.trim();
    let (sign, rest) = match v.as_bytes().first()? {
        b'-' => (-1, &v[1..]),
        b'+' => (1, &v[1..]),
        _ => (1, v),
    };
    let rest = rest.strip_prefix('P')?;
    let mut total = 0i64;
    let mut number = String::new();
    let mut in_time = false;
    let mut any = false;
    for c in rest.chars() {
        match c {
            '0'..='9' => number.push(c),
            'T' if number.is_empty() => in_time = true,
            _ => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                any = true;
                let unit = match (c, in_time) {
                    ('W', false) => 7 * 86_400,
                    ('D', false) => 86_400,
                    ('H', true) => 3_600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
                total = total.checked_add(n.checked_mul(unit)?)?;
            }
        }
    }
    if !number.is_empty() || !any {
        return None;
    }
    Duration::try_seconds(sign * total)
}

// ---------------------------------------------------------------- tasks

/// Nag's priorities run 1 (highest) to 5 (lowest); EAS Importance is 0 low,
/// 1 normal, 2 high.
const PRIORITY_OF_IMPORTANCE: [u8; 3] = [5, 3, 1];

fn importance_of_priority(priority: u8) -> Option<u8> {
    match priority {
        0 => None,
        1..=2 => Some(2),
        3 => Some(1),
        _ => Some(0),
    }
}

/// A VCALENDAR with one VTODO.
pub fn write_task(task: &Task, uid: &str) -> String {
    let mut cal = calendar();
    let mut v = Component::new("VTODO");
    v.push(ContentLine::new("UID", uid));
    v.push(ContentLine::new(
        "DTSTAMP",
        Utc::now().format(UTC_FORMAT).to_string(),
    ));
    let utc = |v: &mut Component, name: &str, t: Option<DateTime<Utc>>| {
        if let Some(t) = t {
            v.push(ContentLine::new(name, t.format(UTC_FORMAT).to_string()));
        }
    };
    let local = |v: &mut Component, name: &str, t: Option<NaiveDateTime>| {
        if let Some(t) = t {
            v.push(ContentLine::new(name, t.format(LOCAL_FORMAT).to_string()));
        }
    };
    if let Some(s) = &task.subject {
        v.push(ContentLine::text("SUMMARY", s));
    }
    if let Some(s) = &task.body {
        v.push(ContentLine::text("DESCRIPTION", s));
    }
    utc(&mut v, "DTSTART", task.utc_start_date);
    utc(&mut v, "DUE", task.utc_due_date);
    local(&mut v, "X-ACTIVESYNC-STARTDATE", task.start_date);
    local(&mut v, "X-ACTIVESYNC-DUEDATE", task.due_date);
    match task.complete {
        Some(true) => {
            v.push(ContentLine::new("STATUS", "COMPLETED"));
            v.push(ContentLine::new("PERCENT-COMPLETE", "100"));
            utc(
                &mut v,
                "COMPLETED",
                Some(task.date_completed.unwrap_or_else(Utc::now)),
            );
        }
        Some(false) => v.push(ContentLine::new("STATUS", "NEEDS-ACTION")),
        None => {}
    }
    if let Some(i) = task
        .importance
        .and_then(|i| PRIORITY_OF_IMPORTANCE.get(usize::from(i)))
    {
        v.push(ContentLine::new("PRIORITY", i.to_string()));
    }
    if let Some(s) = task.sensitivity {
        v.push(ContentLine::new("CLASS", class_of(s)));
    }
    write_categories(&mut v, &task.categories);
    if let Some(r) = &task.recurrence {
        if let Ok(value) = recurrence::to_rrule(r, UntilStyle::Utc) {
            v.push(ContentLine::new("RRULE", value));
        }
        utc(&mut v, "X-ACTIVESYNC-RECURRENCE-START", r.start);
        for (name, flag) in [
            ("X-ACTIVESYNC-REGENERATE", r.regenerate),
            ("X-ACTIVESYNC-DEADOCCUR", r.dead_occur),
        ] {
            if let Some(b) = flag {
                v.push(ContentLine::new(name, if b { "1" } else { "0" }));
            }
        }
    }
    if task.reminder_set == Some(true) {
        if let Some(at) = task.reminder_time {
            v.push(ContentLine::new(
                "AALARM",
                at.format(UTC_FORMAT).to_string(),
            ));
            let mut alarm = Component::new("VALARM");
            alarm.push(ContentLine::new("ACTION", "DISPLAY"));
            alarm.push(
                ContentLine::new("TRIGGER", at.format(UTC_FORMAT).to_string())
                    .param("VALUE", "DATE-TIME"),
            );
            alarm.push(ContentLine::text(
                "DESCRIPTION",
                task.subject.as_deref().unwrap_or("Reminder"),
            ));
            v.components.push(alarm);
        }
    }
    cal.components.push(v);
    cal.to_text()
}

/// Check that a task can be stored as iCalendar without change.
pub fn check_task(task: &Task) -> anyhow::Result<()> {
    if let Some(rule) = &task.recurrence {
        recurrence::to_rrule(rule, UntilStyle::Utc)?;
    }
    Ok(())
}

/// Parse a VCALENDAR holding one VTODO.
pub fn parse_task(text: &str) -> anyhow::Result<Task> {
    let roots = Component::parse_all(text)?;
    let cal = roots
        .iter()
        .find(|c| c.name == "VCALENDAR")
        .ok_or_else(|| anyhow!("no VCALENDAR"))?;
    let v = cal
        .components_named("VTODO")
        .next()
        .ok_or_else(|| anyhow!("no VTODO"))?;
    let zones = Zones {
        vtimezones: cal.components_named("VTIMEZONE").collect(),
        year: 2000,
    };
    let instant = |name: &str| -> anyhow::Result<Option<DateTime<Utc>>> {
        let Some(p) = v.property(name) else {
            return Ok(None);
        };
        Ok(Some(match zones.when(p, Tz::UTC)?.0 {
            When::At(t) => t,
            When::Day(d) => day_start(d, Tz::UTC),
        }))
    };
    let local = |name: &str| {
        v.property(name)
            .and_then(|p| NaiveDateTime::parse_from_str(p.value.trim(), LOCAL_FORMAT).ok())
    };
    let text = |name: &str| v.property(name).map(|p| p.text_value());
    let status = text("STATUS").map(|s| s.trim().to_ascii_uppercase());
    let categories: Vec<String> = v
        .properties_named("CATEGORIES")
        .flat_map(|p| split_text_list(&p.value))
        .collect();
    let mut task = Task {
        subject: text("SUMMARY"),
        body: text("DESCRIPTION"),
        utc_start_date: instant("DTSTART")?,
        start_date: local("X-ACTIVESYNC-STARTDATE"),
        utc_due_date: instant("DUE")?,
        due_date: local("X-ACTIVESYNC-DUEDATE"),
        complete: Some(status.as_deref() == Some("COMPLETED") || v.property("COMPLETED").is_some()),
        date_completed: instant("COMPLETED")?,
        importance: text("PRIORITY")
            .and_then(|p| p.trim().parse::<u8>().ok())
            .and_then(importance_of_priority),
        sensitivity: v.property("CLASS").map(|p| sensitivity_of(&p.value)),
        categories: (!categories.is_empty()).then_some(categories),
        uid: text("UID"),
        ..Task::default()
    };
    let from_nag = cal
        .property("PRODID")
        .is_some_and(|p| p.value.contains("Nag"));
    // Nag reads and writes its alarm as minutes before the due date; its
    // export has no RELATED, its import reads only the vCalendar 1.0 AALARM.
    let aalarm = v
        .property("AALARM")
        .and_then(|p| NaiveDateTime::parse_from_str(p.value.trim(), UTC_FORMAT).ok())
        .map(|t| t.and_utc());
    let alarm_at = aalarm.or_else(|| {
        v.components_named("VALARM").find_map(|a| {
            let trigger = a.property("TRIGGER")?;
            if trigger
                .param_value("VALUE")
                .is_some_and(|x| x.eq_ignore_ascii_case("DATE-TIME"))
            {
                return NaiveDateTime::parse_from_str(trigger.value.trim(), UTC_FORMAT)
                    .ok()
                    .map(|t| t.and_utc());
            }
            let related_end = match trigger.param_value("RELATED") {
                Some(r) => r.eq_ignore_ascii_case("END"),
                None => from_nag,
            };
            let anchor = if related_end {
                task.utc_due_date
            } else {
                task.utc_start_date.or(task.utc_due_date)
            };
            Some(anchor? + parse_duration(&trigger.value)?)
        })
    });
    task.reminder_set = Some(alarm_at.is_some());
    task.reminder_time = alarm_at;
    if let Some(rrule) = v.property("RRULE") {
        let first = task
            .utc_start_date
            .or(task.utc_due_date)
            .ok_or_else(|| anyhow!("RRULE without DTSTART or DUE"))?;
        let mut r = recurrence::from_rrule(&rrule.value, first.date_naive(), |u| match u {
            Until::Utc(t) => t,
            Until::Date(d) => day_start(d, Tz::UTC),
            Until::Floating(t) => t.and_utc(),
        })?;
        r.start = instant("X-ACTIVESYNC-RECURRENCE-START")?;
        let flag = |name: &str| text(name).map(|s| s.trim() == "1");
        r.regenerate = flag("X-ACTIVESYNC-REGENERATE");
        r.dead_occur = flag("X-ACTIVESYNC-DEADOCCUR");
        task.recurrence = Some(r);
    }
    Ok(task)
}
