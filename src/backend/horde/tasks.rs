//! Nag (task lists): bulk read and the iCalendar form of a task.
//!
//! Bulk read: as for calendars, `tasks.exportTasklist(tasklist, "text/calendar")`
//! returns the whole list (completed tasks included) in one call, read once per
//! session; `tasks.export` would cost one call per task.
//!
//! Nag's `replace` resets every property the new VTODO leaves out (PRIORITY 3
//! became 5 in the transcript), so `to_ical` always writes the full task.

use super::icalendar;
use crate::backend::Result;
use crate::model::{Item, Task};
use std::collections::HashMap;

/// The tasks `uids` out of a split export; uids not in it are left out.
pub fn fetch(export: &HashMap<String, String>, uids: &[String]) -> Result<Vec<(String, Item)>> {
    Ok(uids
        .iter()
        .filter_map(|uid| Some((uid.clone(), Item::Task(from_ical(export.get(uid)?)))))
        .collect())
}

/// VCALENDAR text → task: the fields `model::Task` has.
pub fn from_ical(text: &str) -> Task {
    Task {
        subject: icalendar::first_text(text, "SUMMARY"),
        ..Default::default()
    }
}

/// Task → VCALENDAR text with `uid`, every field `model::Task` has.
pub fn to_ical(task: &Task, uid: &str) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//horde-activesync//EN".to_string(),
        "BEGIN:VTODO".to_string(),
        format!("UID:{uid}"),
    ];
    if let Some(subject) = &task.subject {
        lines.push(format!("SUMMARY:{}", icalendar::escape(subject)));
    }
    lines.extend(["END:VTODO".to_string(), "END:VCALENDAR".to_string()]);
    lines.join("\r\n") + "\r\n"
}
