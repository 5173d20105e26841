//! Tasks (MS-ASTASK) <-> `model::Task`, per protocol version.
//!
//! Dates use the long form `2026-11-27T10:00:00.000Z`. StartDate / DueDate
//! are the device's local wall-clock times written with a `Z`; when the
//! backend only knows the UTC instant they are computed in the user's zone.

use super::body::{self, BodyPreference};
use super::eas_calendar::{read_recurrence, recurrence_fields, write_recurrence, RecurrenceTags};
use super::eas_fields::{
    bool_field, code_field, compound, long, long_local, merge_properties, num_field, parse_naive,
    read_categories, read_fields, text_field, time_field, write_categories, write_fields, Access,
    Compound, Field, ItemError, ItemRules,
};
use super::timezone;
use crate::eas::version::Version;
use crate::model::event::{Recurrence, Sensitivity};
use crate::model::Task;
use crate::wbxml::codepages::{airsync, tasks as t};
use crate::wbxml::{Element, Tag};
use chrono_tz::Tz;

const TASK_RECURRENCE: RecurrenceTags = RecurrenceTags {
    recurrence: t::Recurrence,
    kind: t::Type,
    interval: t::Interval,
    occurrences: t::Occurrences,
    until: t::Until,
    day_of_week: t::DayOfWeek,
    day_of_month: t::DayOfMonth,
    week_of_month: t::WeekOfMonth,
    month_of_year: t::MonthOfYear,
    calendar_type: t::CalendarType,
    is_leap_month: t::IsLeapMonth,
    first_day_of_week: t::FirstDayOfWeek,
};

/// Getter/setter for a local wall-clock date (`Option<NaiveDateTime>`).
macro_rules! local_field {
    ($f:ident) => {
        (
            |i| i.$f.map(long_local),
            |i, v| {
                i.$f = Some(parse_naive(v)?);
                Some(())
            },
            |i| i.$f = None,
        )
    };
}

fn task_fields() -> Vec<Field<Task>> {
    use Version::V2_5;
    let f = |tag: Tag, pair: Access<Task>| Field::new(tag, V2_5, pair);
    vec![
        f(t::Subject, text_field!(subject)),
        f(t::Importance, num_field!(importance)),
        f(t::UtcStartDate, time_field!(utc_start_date, long)),
        f(t::StartDate, local_field!(start_date)),
        f(t::UtcDueDate, time_field!(utc_due_date, long)),
        f(t::DueDate, local_field!(due_date)),
        f(t::Complete, bool_field!(complete)),
        f(t::DateCompleted, time_field!(date_completed, long)),
        f(t::Sensitivity, code_field!(sensitivity, Sensitivity)),
        f(t::ReminderSet, bool_field!(reminder_set)),
        f(t::ReminderTime, time_field!(reminder_time, long)),
    ]
}

fn task_recurrence_fields() -> Vec<Field<Recurrence>> {
    let mut fields = recurrence_fields(&TASK_RECURRENCE, time_field!(until, long));
    let f = |tag: Tag, pair: Access<Recurrence>| Field::new(tag, Version::V2_5, pair);
    fields.push(f(t::Start, time_field!(start, long)));
    fields.push(f(t::Regenerate, bool_field!(regenerate)));
    fields.push(f(t::DeadOccur, bool_field!(dead_occur)));
    fields
}

/// The ApplicationData element for a task. `zone` is the user's zone, used
/// for StartDate / DueDate when only the UTC instant is known.
pub fn to_application_data(
    task: &Task,
    rules: ItemRules,
    prefs: &[BodyPreference],
    zone: Tz,
) -> Element {
    let mut task = task.clone();
    let local =
        |utc: Option<chrono::DateTime<chrono::Utc>>| utc.map(|u| timezone::to_local(zone, u));
    task.start_date = task.start_date.or_else(|| local(task.utc_start_date));
    task.due_date = task.due_date.or_else(|| local(task.utc_due_date));
    let mut out = Element::new(airsync::ApplicationData);
    if let Some(text) = &task.body {
        if rules.airsyncbase_body() {
            out.push(body::plain_body(text, prefs));
        } else {
            out.push_text(t::Body, text.as_str());
            out.push_text(t::BodyTruncated, "0");
        }
    }
    write_fields(&mut out, &task, &task_fields(), rules, false);
    write_categories(&mut out, &task.categories, t::Categories, t::Category);
    write_recurrence(
        &mut out,
        &task.recurrence,
        &TASK_RECURRENCE,
        &task_recurrence_fields(),
        rules,
    );
    out
}

/// Read a device's ApplicationData for a task.
pub fn from_application_data(app: &Element, rules: ItemRules) -> Result<Task, ItemError> {
    let mut task = Task::default();
    read_fields(app, &mut task, &task_fields(), rules, false)?;
    task.body = if rules.airsyncbase_body() {
        body::read_body(app)
    } else {
        app.text_of(t::Body).map(str::to_string)
    };
    task.categories = read_categories(app, t::Categories, t::Category);
    task.recurrence = read_recurrence(app, &TASK_RECURRENCE, &task_recurrence_fields(), rules)?;
    Ok(task)
}

fn compound_properties() -> Vec<Compound<Task>> {
    use crate::wbxml::codepages::airsyncbase as asb;
    use Version::*;
    vec![
        compound!(t::Body, V2_5, Some(V12_0), body),
        compound!(asb::Body, V12_0, None, body),
        compound!(t::Categories, V2_5, None, categories),
        compound!(t::Recurrence, V2_5, None, recurrence),
    ]
}

/// The stored task after a device's Change (MS-ASCMD `Supported` ghosting;
/// rules in `convert::ghost`).
pub fn merge_change(
    existing: &Task,
    sent: &Task,
    supported: Option<&[Tag]>,
    version: Version,
) -> Task {
    merge_properties(
        &task_fields(),
        &compound_properties(),
        existing,
        sent,
        supported,
        version,
    )
}
