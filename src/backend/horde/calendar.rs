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
use super::rpc::RpcClient;
use crate::backend::free_busy::{self, FreeBusy};
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

/// Largest published free/busy read (a month of busy periods is a few KB).
const MAX_FREE_BUSY_BYTES: u64 = 1024 * 1024;

/// `user`'s free/busy as Kronolith publishes it (`kronolith/fb.php?u=`, the
/// page Horde itself links as a user's free/busy URL). Over JSON-RPC,
/// `calendar.getFreeBusy` answers `{"type":"vFreebusy"}` (the PHP object does
/// not serialize) and `calendar.lookupFreeBusy` needs a free/busy URL in the
/// person's contact, so the published page is the one place with the data.
/// It covers the user's free/busy calendars from today for the user's
/// `freebusy_days` (30 by default) and Horde caches it for six minutes.
pub fn free_busy(rpc: &mut RpcClient, user: &str) -> Result<Option<FreeBusy>> {
    let query = url_escape(user);
    let text = rpc.get_page(&format!("kronolith/fb.php?u={query}"), MAX_FREE_BUSY_BYTES)?;
    Ok(free_busy::from_vfreebusy(&text))
}

/// Percent-encoding of a query value (RFC 3986 unreserved kept).
fn url_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One VCALENDAR per VEVENT of `text` (each with the VTIMEZONEs), the series
/// (no RECURRENCE-ID) first.
pub fn one_event_each(text: &str) -> Vec<String> {
    use crate::convert::contentline::Component;
    let Ok(calendars) = Component::parse_all(text) else {
        return vec![text.to_string()];
    };
    let mut parts: Vec<(bool, String)> = Vec::new();
    for cal in &calendars {
        for event in cal.components_named("VEVENT") {
            let mut one = Component::new("VCALENDAR");
            one.properties = cal.properties.clone();
            one.components = cal.components_named("VTIMEZONE").cloned().collect();
            one.components.push(event.clone());
            parts.push((event.property("RECURRENCE-ID").is_some(), one.to_text()));
        }
    }
    if parts.is_empty() {
        return vec![text.to_string()];
    }
    parts.sort_by_key(|(is_override, _)| *is_override);
    parts.into_iter().map(|(_, text)| text).collect()
}

#[cfg(test)]
mod split_tests {
    #[test]
    fn user_names_are_escaped_in_the_query() {
        assert_eq!(
            super::url_escape("jane.doe@example.com"),
            "jane.doe%40example.com"
        );
        assert_eq!(super::url_escape("a&b c"), "a%26b%20c");
    }

    #[test]
    fn series_first_then_each_override_with_its_zone() {
        let text =
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\n\
                    BEGIN:VEVENT\r\nUID:u\r\nRECURRENCE-ID:20261221T090000Z\r\nEND:VEVENT\r\n\
                    BEGIN:VEVENT\r\nUID:u\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let parts = super::one_event_each(text);
        assert_eq!(parts.len(), 2);
        assert!(parts[0].contains("RRULE") && !parts[0].contains("RECURRENCE-ID"));
        assert!(parts[1].contains("RECURRENCE-ID") && !parts[1].contains("RRULE"));
        assert!(parts
            .iter()
            .all(|p| p.contains("TZID:X") && p.contains("VERSION:2.0")));
    }
}
