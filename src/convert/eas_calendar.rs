//! Calendar items (MS-ASCAL) <-> `model::Event`, per protocol version.
//!
//! Times: a timed event's StartTime/EndTime are UTC; the TimeZone blob is
//! turned into the best IANA zone and kept. An all-day event is stored as
//! dates of its zone: before 16.0 the device sends midnight of its zone in
//! UTC, from 16.0 a local midnight without `Z`; both read back as the same
//! date, and the date is written back the way the version expects, so the
//! day never moves east or west of UTC.

use super::body::{self, BodyPreference};
use super::eas_fields::{
    bool_field, code_field, compact, compound, merge_properties, num_field, parse_naive,
    read_categories, read_fields, text_field, time_field, write_categories, write_fields, Access,
    Compound, Field, ItemError, ItemRules,
};
use super::recurrence;
use super::timezone::{self, TimeZoneInfo};
use crate::eas::version::Version;
use crate::model::event::{
    Attendee, AttendeeType, BusyStatus, Event, Exception, Location, Recurrence, RecurrenceType,
    ResponseStatus, Sensitivity, When,
};
use crate::wbxml::codepages::{airsync, airsyncbase as asb, calendar as cal};
use crate::wbxml::{Element, Tag};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use chrono_tz::Tz;

fn field(tag: Tag, since: Version, pair: Access<Event>) -> Field<Event> {
    Field::new(tag, since, pair)
}

/// The simple Calendar elements, in the order they are written.
fn event_fields() -> Vec<Field<Event>> {
    use Version::*;
    vec![
        field(cal::OrganizerName, V2_5, text_field!(organizer_name)),
        field(cal::OrganizerEmail, V2_5, text_field!(organizer_email)),
        field(cal::DtStamp, V2_5, time_field!(dtstamp, compact)).in_exception(),
        field(cal::Subject, V2_5, text_field!(subject)).in_exception(),
        field(cal::UID, V2_5, text_field!(uid)),
        field(
            cal::Sensitivity,
            V2_5,
            code_field!(sensitivity, Sensitivity),
        )
        .in_exception(),
        field(cal::BusyStatus, V2_5, code_field!(busy_status, BusyStatus)).in_exception(),
        field(cal::Reminder, V2_5, num_field!(reminder)).in_exception(),
        field(cal::MeetingStatus, V2_5, num_field!(meeting_status)).in_exception(),
        field(
            cal::AppointmentReplyTime,
            V14_0,
            time_field!(appointment_reply_time, compact),
        )
        .in_exception(),
        field(
            cal::ResponseType,
            V14_0,
            code_field!(response_type, ResponseStatus),
        )
        .in_exception(),
        field(
            cal::ResponseRequested,
            V14_0,
            bool_field!(response_requested),
        ),
        field(
            cal::DisallowNewTimeProposal,
            V14_0,
            bool_field!(disallow_new_time_proposal),
        ),
        field(
            cal::OnlineMeetingConfLink,
            V14_0,
            text_field!(online_meeting_conf_link),
        )
        .in_exception(),
        field(
            cal::OnlineMeetingExternalLink,
            V14_0,
            text_field!(online_meeting_external_link),
        )
        .in_exception(),
        field(cal::ClientUid, V16_0, text_field!(client_uid)),
    ]
}

fn attendee_fields() -> Vec<Field<Attendee>> {
    use Version::*;
    let f = |tag, since, pair: Access<Attendee>| Field::new(tag, since, pair);
    vec![
        f(cal::Email, V2_5, text_field!(email)),
        f(cal::Name, V2_5, text_field!(name)),
        f(
            cal::AttendeeStatus,
            V12_0,
            code_field!(status, ResponseStatus),
        ),
        f(
            cal::AttendeeType,
            V12_0,
            code_field!(attendee_type, AttendeeType),
        ),
    ]
}

fn location_fields() -> Vec<Field<Location>> {
    use Version::V16_0;
    let f = |tag, pair: Access<Location>| Field::new(tag, V16_0, pair);
    vec![
        f(asb::DisplayName, text_field!(display_name)),
        f(asb::Annotation, text_field!(annotation)),
        f(asb::Street, text_field!(street)),
        f(asb::City, text_field!(city)),
        f(asb::State, text_field!(state)),
        f(asb::Country, text_field!(country)),
        f(asb::PostalCode, text_field!(postal_code)),
        f(asb::Latitude, num_field!(latitude)),
        f(asb::Longitude, num_field!(longitude)),
        f(asb::Accuracy, num_field!(accuracy)),
        f(asb::Altitude, num_field!(altitude)),
        f(asb::AltitudeAccuracy, num_field!(altitude_accuracy)),
        f(asb::LocationUri, text_field!(location_uri)),
    ]
}

/// The Recurrence children of the Calendar and the Tasks code pages.
pub(crate) struct RecurrenceTags {
    pub recurrence: Tag,
    pub kind: Tag,
    pub interval: Tag,
    pub occurrences: Tag,
    pub until: Tag,
    pub day_of_week: Tag,
    pub day_of_month: Tag,
    pub week_of_month: Tag,
    pub month_of_year: Tag,
    pub calendar_type: Tag,
    pub is_leap_month: Tag,
    pub first_day_of_week: Tag,
}

pub(crate) const CALENDAR_RECURRENCE: RecurrenceTags = RecurrenceTags {
    recurrence: cal::Recurrence,
    kind: cal::Type,
    interval: cal::Interval,
    occurrences: cal::Occurrences,
    until: cal::Until,
    day_of_week: cal::DayOfWeek,
    day_of_month: cal::DayOfMonth,
    week_of_month: cal::WeekOfMonth,
    month_of_year: cal::MonthOfYear,
    calendar_type: cal::CalendarType,
    is_leap_month: cal::IsLeapMonth,
    first_day_of_week: cal::FirstDayOfWeek,
};

/// The pattern elements shared by both pages; `until` is the page's date form.
pub(crate) fn recurrence_fields(
    t: &RecurrenceTags,
    until: Access<Recurrence>,
) -> Vec<Field<Recurrence>> {
    use Version::*;
    let f = |tag, since, pair: Access<Recurrence>| Field::new(tag, since, pair);
    vec![
        f(t.kind, V2_5, code_field!(kind, RecurrenceType)),
        f(t.interval, V2_5, num_field!(interval)),
        f(t.occurrences, V2_5, num_field!(occurrences)),
        f(t.until, V2_5, until),
        f(t.day_of_week, V2_5, num_field!(day_of_week)),
        f(t.day_of_month, V2_5, num_field!(day_of_month)),
        f(t.week_of_month, V2_5, num_field!(week_of_month)),
        f(t.month_of_year, V2_5, num_field!(month_of_year)),
        f(t.calendar_type, V14_0, num_field!(calendar_type)),
        f(t.is_leap_month, V14_0, bool_field!(is_leap_month)),
        f(t.first_day_of_week, V14_1, num_field!(first_day_of_week)),
    ]
}

/// Append the Recurrence element of a pattern.
pub(crate) fn write_recurrence(
    out: &mut Element,
    r: &Option<Recurrence>,
    tags: &RecurrenceTags,
    fields: &[Field<Recurrence>],
    rules: ItemRules,
) {
    if let Some(r) = r {
        let mut e = Element::new(tags.recurrence);
        write_fields(&mut e, r, fields, rules, false);
        out.push(e);
    }
}

/// Read the Recurrence element, if any, and check that it can be stored
/// (refusing, with the reason, what has no RRULE).
pub(crate) fn read_recurrence(
    from: &Element,
    tags: &RecurrenceTags,
    fields: &[Field<Recurrence>],
    rules: ItemRules,
) -> Result<Option<Recurrence>, ItemError> {
    let Some(e) = from.child(tags.recurrence) else {
        return Ok(None);
    };
    let mut r = Recurrence::default();
    read_fields(e, &mut r, fields, rules, false)?;
    recurrence::to_rrule(&r, recurrence::UntilStyle::Utc)?;
    Ok(Some(r))
}

/// What the converter needs besides the item.
pub struct WriteOptions<'a> {
    pub rules: ItemRules,
    /// The device's BodyPreference list for this collection.
    pub body_preferences: &'a [BodyPreference],
    /// The zone for events that have none (e.g. created in Horde without
    /// one): the user's zone.
    pub default_zone: Tz,
}

/// The ApplicationData element for an event.
pub fn to_application_data(event: &Event, opts: &WriteOptions) -> Element {
    let rules = opts.rules;
    let zone = event
        .time_zone
        .as_deref()
        .and_then(timezone::parse_iana)
        .unwrap_or(opts.default_zone);
    let mut out = Element::new(airsync::ApplicationData);
    let anchor = first_instant(event, zone).unwrap_or_else(Utc::now);
    // 16.0+: an all-day event has no Timezone; its dates hold everywhere.
    if !(event.is_all_day() && rules.floating_all_day()) {
        out.push_text(
            cal::Timezone,
            TimeZoneInfo::for_zone(zone, anchor).to_base64(),
        );
    }
    write_times(&mut out, event, zone, rules);
    write_body(&mut out, &event.body, opts);
    write_location(&mut out, event, rules);
    write_fields(&mut out, event, &event_fields(), rules, false);
    write_categories(&mut out, &event.categories, cal::Categories, cal::Category);
    write_attendees(&mut out, &event.attendees, rules);
    write_recurrence(
        &mut out,
        &event.recurrence,
        &CALENDAR_RECURRENCE,
        &calendar_recurrence_fields(),
        rules,
    );
    if let Some(list) = event.exceptions.as_ref().filter(|l| !l.is_empty()) {
        let mut e = Element::new(cal::Exceptions);
        for ex in list {
            e.push(write_exception(ex, zone, opts));
        }
        out.push(e);
    }
    out
}

fn calendar_recurrence_fields() -> Vec<Field<Recurrence>> {
    recurrence_fields(&CALENDAR_RECURRENCE, time_field!(until, compact))
}

fn first_instant(event: &Event, zone: Tz) -> Option<DateTime<Utc>> {
    match event.start? {
        When::At(t) => Some(t),
        When::Day(d) => Some(midnight(d, zone)),
    }
}

fn midnight(d: NaiveDate, zone: Tz) -> DateTime<Utc> {
    timezone::from_local(zone, d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// AllDayEvent, StartTime, EndTime (top level or in an Exception).
fn write_times(out: &mut Element, event: &Event, zone: Tz, rules: ItemRules) {
    if let Some(start) = event.start {
        out.push_text(
            cal::AllDayEvent,
            if matches!(start, When::Day(_)) {
                "1"
            } else {
                "0"
            },
        );
    }
    for (tag, when) in [(cal::StartTime, event.start), (cal::EndTime, event.end)] {
        if let Some(w) = when {
            out.push_text(tag, format_when(w, zone, rules));
        }
    }
}

fn format_when(w: When, zone: Tz, rules: ItemRules) -> String {
    match w {
        When::At(t) => compact(t),
        When::Day(d) if rules.floating_all_day() => d.format("%Y%m%dT000000Z").to_string(),
        When::Day(d) => compact(midnight(d, zone)),
    }
}

fn write_body(out: &mut Element, text: &Option<String>, opts: &WriteOptions) {
    let Some(text) = text else { return };
    if opts.rules.airsyncbase_body() {
        out.push(body::plain_body(text, opts.body_preferences));
    } else {
        out.push_text(cal::Body, text.as_str());
        out.push_text(cal::BodyTruncated, "0");
    }
}

fn write_location(out: &mut Element, event: &Event, rules: ItemRules) {
    if !rules.structured_location() {
        if let Some(l) = &event.location {
            out.push_text(cal::Location, l.as_str());
        }
        return;
    }
    if event.location.is_none() && event.location_details.is_none() {
        return;
    }
    let mut details = event.location_details.clone().unwrap_or_default();
    if details.display_name.is_none() {
        details.display_name = event.location.clone();
    }
    let mut e = Element::new(asb::Location);
    write_fields(&mut e, &details, &location_fields(), rules, false);
    out.push(e);
}

fn write_attendees(out: &mut Element, attendees: &Option<Vec<Attendee>>, rules: ItemRules) {
    let Some(list) = attendees else { return };
    let fields = attendee_fields();
    let mut e = Element::new(cal::Attendees);
    for a in list {
        let mut ae = Element::new(cal::Attendee);
        write_fields(&mut ae, a, &fields, rules, false);
        e.push(ae);
    }
    out.push(e);
}

fn write_exception(ex: &Exception, zone: Tz, opts: &WriteOptions) -> Element {
    let rules = opts.rules;
    let mut e = Element::new(cal::Exception);
    if let Some(original) = ex.original_start {
        // The original start is an instant in every version (InstanceId is UTC).
        let instant = match original {
            When::At(t) => t,
            When::Day(d) => midnight(d, zone),
        };
        let tag = if rules.instance_id() {
            asb::InstanceId
        } else {
            cal::ExceptionStartTime
        };
        e.push_text(tag, compact(instant));
    }
    if ex.deleted == Some(true) {
        e.push_text(cal::Deleted, "1");
        return e;
    }
    let changes = &ex.changes;
    write_times(&mut e, changes, zone, rules);
    write_body(&mut e, &changes.body, opts);
    write_location(&mut e, changes, rules);
    write_fields(&mut e, &**changes, &event_fields(), rules, true);
    write_categories(&mut e, &changes.categories, cal::Categories, cal::Category);
    write_attendees(&mut e, &changes.attendees, rules);
    e
}

/// How a device's times are read: with the rules of the blob it sent.
struct DeviceZone {
    blob: Option<TimeZoneInfo>,
    /// 16.0+: all-day dates are the dates written, whatever the zone.
    dates_as_written: bool,
}

impl DeviceZone {
    /// The rules of the Timezone element an ApplicationData carries, if any.
    fn of(app: &Element, rules: ItemRules) -> Result<DeviceZone, ItemError> {
        let blob = app
            .text_of(cal::Timezone)
            .filter(|t| !t.trim().is_empty())
            .map(TimeZoneInfo::from_base64)
            .transpose()?;
        Ok(DeviceZone {
            blob,
            dates_as_written: rules.floating_all_day(),
        })
    }

    fn offset_minutes(&self, utc: NaiveDateTime) -> i64 {
        self.blob
            .as_ref()
            .map_or(0, |b| i64::from(b.offset_at(utc)))
    }

    fn local(&self, utc: DateTime<Utc>) -> NaiveDateTime {
        utc.naive_utc() + Duration::minutes(self.offset_minutes(utc.naive_utc()))
    }

    /// A date or date-time element: UTC with `Z`, local wall time without.
    fn instant(&self, text: &str) -> Option<DateTime<Utc>> {
        let naive = parse_naive(text)?;
        if text.trim().ends_with('Z') {
            Some(naive.and_utc())
        } else {
            Some(match &self.blob {
                Some(b) => b.local_to_utc(naive).and_utc(),
                None => naive.and_utc(),
            })
        }
    }

    /// The date of an all-day start / end. A start off midnight goes back to
    /// the midnight before it, an end forward to the midnight after it
    /// (as Exchange does), so the event still covers what the device sent.
    fn day(&self, text: &str, is_end: bool) -> Option<NaiveDate> {
        let local = if text.trim().ends_with('Z') && !self.dates_as_written {
            self.local(parse_naive(text)?.and_utc())
        } else {
            parse_naive(text)?
        };
        let off_midnight = local.num_seconds_from_midnight() != 0;
        Some(if is_end && off_midnight {
            local.date().succ_opt()?
        } else {
            local.date()
        })
    }
}

/// Read a device's ApplicationData for a calendar item.
pub fn from_application_data(app: &Element, rules: ItemRules) -> Result<Event, ItemError> {
    let zone = DeviceZone::of(app, rules)?;
    let mut event = Event::default();
    read_times(app, &mut event, &zone, None)?;
    if let Some(blob) = &zone.blob {
        let year = match event.start {
            Some(When::At(t)) => t.year(),
            Some(When::Day(d)) => d.year(),
            None => Utc::now().year(),
        };
        event.time_zone = Some(timezone::zone_for(blob, year).zone().name().to_string());
    }
    read_common(app, &mut event, rules, false)?;
    event.recurrence = read_recurrence(
        app,
        &CALENDAR_RECURRENCE,
        &calendar_recurrence_fields(),
        rules,
    )?;
    if let Some(list) = app.child(cal::Exceptions) {
        let mut exceptions = Vec::new();
        for e in list.children_with(cal::Exception) {
            exceptions.push(read_exception(e, &event, &zone, rules)?);
        }
        event.exceptions = Some(exceptions);
    }
    Ok(event)
}

/// The fields an event and an exception share.
fn read_common(
    from: &Element,
    event: &mut Event,
    rules: ItemRules,
    exception: bool,
) -> Result<(), ItemError> {
    read_fields(from, event, &event_fields(), rules, exception)?;
    event.body = if rules.airsyncbase_body() {
        body::read_body(from)
    } else {
        from.text_of(cal::Body).map(str::to_string)
    };
    read_location(from, event, rules)?;
    event.categories = read_categories(from, cal::Categories, cal::Category);
    if let Some(list) = from.child(cal::Attendees) {
        let fields = attendee_fields();
        let mut attendees = Vec::new();
        for a in list.children_with(cal::Attendee) {
            let mut attendee = Attendee::default();
            read_fields(a, &mut attendee, &fields, rules, false)?;
            attendees.push(attendee);
        }
        event.attendees = Some(attendees);
    }
    Ok(())
}

fn read_location(from: &Element, event: &mut Event, rules: ItemRules) -> Result<(), ItemError> {
    if !rules.structured_location() {
        event.location = from.text_of(cal::Location).map(str::to_string);
        return Ok(());
    }
    if let Some(e) = from.child(asb::Location) {
        let mut details = Location::default();
        read_fields(e, &mut details, &location_fields(), rules, false)?;
        event.location = details.display_name.clone();
        event.location_details = Some(details);
    }
    Ok(())
}

/// AllDayEvent / StartTime / EndTime. In an exception, a missing
/// AllDayEvent is the series' value (MS-ASCAL 2.2.2.1).
fn read_times(
    from: &Element,
    event: &mut Event,
    zone: &DeviceZone,
    series: Option<&Event>,
) -> Result<(), ItemError> {
    let all_day = match from.text_of(cal::AllDayEvent) {
        Some(v) if !v.trim().is_empty() => super::eas_fields::parse_bool(v)
            .ok_or_else(|| ItemError::invalid(cal::AllDayEvent, v))?,
        _ => series.is_some_and(Event::is_all_day),
    };
    for (tag, is_end) in [(cal::StartTime, false), (cal::EndTime, true)] {
        let Some(text) = from.text_of(tag) else {
            continue;
        };
        let when = if all_day {
            zone.day(text, is_end).map(When::Day)
        } else {
            zone.instant(text).map(When::At)
        };
        let when = when.ok_or_else(|| ItemError::invalid(tag, text))?;
        if is_end {
            event.end = Some(when);
        } else {
            event.start = Some(when);
        }
    }
    // An all-day event ends at least one day after it starts.
    if let (Some(When::Day(s)), Some(When::Day(e))) = (event.start, event.end) {
        if e <= s {
            event.end = s.succ_opt().map(When::Day);
        }
    }
    Ok(())
}

fn read_exception(
    e: &Element,
    series: &Event,
    zone: &DeviceZone,
    rules: ItemRules,
) -> Result<Exception, ItemError> {
    let tag = if rules.instance_id() {
        asb::InstanceId
    } else {
        cal::ExceptionStartTime
    };
    let text = e.text_of(tag).ok_or_else(|| ItemError::invalid(tag, ""))?;
    let original = if series.is_all_day() {
        zone.day(text, false).map(When::Day)
    } else {
        zone.instant(text).map(When::At)
    }
    .ok_or_else(|| ItemError::invalid(tag, text))?;
    let deleted = match e.text_of(cal::Deleted) {
        Some(v) => Some(
            super::eas_fields::parse_bool(v).ok_or_else(|| ItemError::invalid(cal::Deleted, v))?,
        ),
        None => None,
    };
    let mut changes = Event::default();
    if deleted != Some(true) {
        read_times(e, &mut changes, zone, Some(series))?;
        read_common(e, &mut changes, rules, true)?;
    }
    Ok(Exception {
        original_start: Some(original),
        deleted: deleted.filter(|d| *d),
        changes: Box::new(changes),
    })
}

fn compound_properties() -> Vec<Compound<Event>> {
    use Version::*;
    vec![
        compound!(cal::Timezone, V2_5, None, time_zone),
        compound!(cal::StartTime, V2_5, None, start),
        compound!(cal::EndTime, V2_5, None, end),
        compound!(cal::Body, V2_5, Some(V12_0), body),
        compound!(asb::Body, V12_0, None, body),
        compound!(cal::Location, V2_5, Some(V16_0), location),
        compound!(asb::Location, V16_0, None, location, location_details),
        compound!(cal::Categories, V2_5, None, categories),
        compound!(cal::Attendees, V2_5, None, attendees),
        compound!(cal::Recurrence, V2_5, None, recurrence),
        compound!(cal::Exceptions, V2_5, None, exceptions),
    ]
}

/// The stored event after a device's Change (MS-ASCMD 2.2.3.179
/// `Supported`; the rules are in `convert::ghost`). `supported` is the tag
/// list of the folder's initial Sync, `None` when it had none.
pub fn merge_change(
    existing: &Event,
    sent: &Event,
    supported: Option<&[Tag]>,
    version: Version,
) -> Event {
    let simple = event_fields();
    let compound = compound_properties();
    let supported = if ItemRules::new(version).omitted_calendar_properties_kept() {
        Some(&[][..])
    } else {
        supported
    };
    let mut merged = merge_properties(&simple, &compound, existing, sent, supported, version);
    // The UID is the client's, fixed at creation (PROTOCOL-NOTES): some
    // clients (TbSync) send the ServerId as UID on later Changes.
    if existing.uid.is_some() {
        merged.uid = existing.uid.clone();
    }
    merged
}

/// The occurrence an AirSyncBase:InstanceId names (16.0+ Sync Change or
/// Delete of one occurrence; MeetingResponse InstanceId from 14.1), as the
/// series stores original starts.
pub fn occurrence(series: &Event, instance_id: &str) -> Result<When, ItemError> {
    let instant = super::eas_fields::parse_time(instance_id)
        .ok_or_else(|| ItemError::invalid(asb::InstanceId, instance_id))?;
    Ok(match series.start {
        Some(When::Day(_)) => {
            let zone = series
                .time_zone
                .as_deref()
                .and_then(timezone::parse_iana)
                .unwrap_or(Tz::UTC);
            When::Day(timezone::to_local(zone, instant).date())
        }
        _ => When::At(instant),
    })
}

/// A 16.0+ Sync `Delete` with an InstanceId: the occurrence becomes a
/// deleted exception of its series (an earlier change to it is replaced).
pub fn delete_occurrence(series: &mut Event, instance_id: &str) -> Result<(), ItemError> {
    let original = occurrence(series, instance_id)?;
    let exceptions = series.exceptions.get_or_insert_with(Vec::new);
    exceptions.retain(|e| e.original_start != Some(original));
    exceptions.push(Exception {
        original_start: Some(original),
        deleted: Some(true),
        changes: Box::default(),
    });
    Ok(())
}

/// A 16.0+ Sync `Change` with an InstanceId: the ApplicationData holds the
/// occurrence's own fields, which become (or replace) its exception.
pub fn change_occurrence(
    series: &mut Event,
    instance_id: &str,
    app: &Element,
    rules: ItemRules,
) -> Result<(), ItemError> {
    let original = occurrence(series, instance_id)?;
    let zone = DeviceZone::of(app, rules)?;
    let mut changes = Event::default();
    read_times(app, &mut changes, &zone, Some(series))?;
    read_common(app, &mut changes, rules, true)?;
    let exceptions = series.exceptions.get_or_insert_with(Vec::new);
    exceptions.retain(|e| e.original_start != Some(original));
    exceptions.push(Exception {
        original_start: Some(original),
        deleted: None,
        changes: Box::new(changes),
    });
    Ok(())
}
