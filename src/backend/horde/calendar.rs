//! Kronolith (calendars): bulk read, and events to and from Kronolith's
//! iCalendar through `convert::ical`.
//!
//! Bulk read: Kronolith's `export` reads one uid per call and its JSON-RPC
//! takes no batches; `listEvents` returns PHP event objects, not a stable wire
//! format. `calendar.exportCalendar(calendar, "text/calendar")` returns the
//! whole calendar as one VCALENDAR in one call; the session reads it once and
//! serves every `fetch` of the request from it (see `HordeSession::export_of`),
//! so a Sync window costs one call whatever its size. The price is that the
//! export carries the whole calendar (measured: see tests/horde_backend.rs).

use super::items_from_export;
use crate::backend::{BackendError, Result};
use crate::convert::ical;
use crate::model::{Event, Item};
use std::collections::HashMap;

/// The events `uids` out of a split export (uid → VCALENDAR text); uids
/// that are not in it are left out.
pub fn fetch(export: &HashMap<String, String>, uids: &[String]) -> Vec<(String, Item)> {
    items_from_export(export, uids, |text| {
        ical::parse_event(text).map(Item::Event)
    })
}

/// Event → VCALENDAR text with `uid`; an event iCalendar cannot hold as
/// given (e.g. a recurrence without an RRULE form) is refused, not changed.
pub fn to_ical(event: &Event, uid: &str) -> Result<String> {
    ical::check_event(event).map_err(|e| BackendError::Invalid(format!("event: {e:#}")))?;
    Ok(ical::write_event(event, uid))
}
