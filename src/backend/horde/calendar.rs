//! Kronolith (calendars): bulk read and the iCalendar form of an event.
//!
//! Bulk read: Kronolith's `export` reads one uid per call and its JSON-RPC
//! takes no batches; `listEvents` returns PHP event objects, not a stable wire
//! format. `calendar.exportCalendar(calendar, "text/calendar")` returns the
//! whole calendar as one VCALENDAR in one call; the session reads it once and
//! serves every `fetch` of the request from it (see `HordeSession::export_of`),
//! so a Sync window costs one call whatever its size. The price is that the
//! export carries the whole calendar (measured: see tests/horde_backend.rs).

use super::icalendar;
use crate::backend::Result;
use crate::model::{Event, Item};
use std::collections::HashMap;

/// The events `uids` out of a split export (uid → VCALENDAR text); uids
/// that are not in it are left out.
pub fn fetch(export: &HashMap<String, String>, uids: &[String]) -> Result<Vec<(String, Item)>> {
    Ok(uids
        .iter()
        .filter_map(|uid| Some((uid.clone(), Item::Event(from_ical(export.get(uid)?)))))
        .collect())
}

/// VCALENDAR text → event: the fields `model::Event` has.
pub fn from_ical(text: &str) -> Event {
    Event {
        subject: icalendar::first_text(text, "SUMMARY"),
        ..Default::default()
    }
}

/// Event → VCALENDAR text with `uid`: the fields `model::Event` has.
pub fn to_ical(event: &Event, uid: &str) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        "PRODID:-//horde-activesync//EN".to_string(),
        "BEGIN:VEVENT".to_string(),
        format!("UID:{uid}"),
    ];
    if let Some(subject) = &event.subject {
        lines.push(format!("SUMMARY:{}", icalendar::escape(subject)));
    }
    lines.extend(["END:VEVENT".to_string(), "END:VCALENDAR".to_string()]);
    lines.join("\r\n") + "\r\n"
}
