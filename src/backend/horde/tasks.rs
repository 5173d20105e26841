//! Nag (task lists): bulk read, and tasks to and from Nag's iCalendar
//! through `convert::ical`.
//!
//! Bulk read: as for calendars, `tasks.exportTasklist(tasklist, "text/calendar")`
//! returns the whole list (completed tasks included) in one call, read once per
//! session; `tasks.export` would cost one call per task.
//!
//! Nag's `replace` resets every property the new VTODO leaves out (PRIORITY 3
//! became 5 in the transcript), so a replace always sends the full task.

use super::items_from_export;
use crate::backend::{BackendError, Result};
use crate::convert::ical;
use crate::model::{Item, Task};
use std::collections::HashMap;

/// The tasks `uids` out of a split export; uids not in it are left out.
pub fn fetch(export: &HashMap<String, String>, uids: &[String]) -> Vec<(String, Item)> {
    items_from_export(export, uids, |text| ical::parse_task(text).map(Item::Task))
}

/// Task → VCALENDAR text with `uid`, or a refusal when iCalendar cannot hold it.
pub fn to_ical(task: &Task, uid: &str) -> Result<String> {
    ical::check_task(task).map_err(|e| BackendError::Invalid(format!("task: {e:#}")))?;
    Ok(ical::write_task(task, uid))
}
