//! FilterType (MS-ASCMD 2.2.3.69.2): which items belong on the device.

use crate::backend::Window;
use crate::model::Class;
use std::time::{SystemTime, UNIX_EPOCH};

/// FilterType 8: only incomplete tasks.
pub const INCOMPLETE_TASKS: u32 = 8;

/// How far back a FilterType reaches, in seconds (`None` = no limit).
fn reach(filter_type: u32) -> Option<i64> {
    const DAY: i64 = 86_400;
    match filter_type {
        1 => Some(DAY),
        2 => Some(3 * DAY),
        3 => Some(7 * DAY),
        4 => Some(14 * DAY),
        5 => Some(31 * DAY),
        6 => Some(92 * DAY),
        7 => Some(183 * DAY),
        _ => None,
    }
}

/// The time window of a FilterType for a class. Contacts, tasks and notes
/// have none; for calendars an event is in the window when it ends after the
/// start (recurring events: while the series has not ended).
pub fn window(class: Class, filter_type: u32, now: SystemTime) -> Window {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    match class {
        Class::Calendar | Class::Email => Window {
            start: reach(filter_type).map(|r| now - r),
            end: None,
        },
        _ => Window::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn calendar_windows_reach_back() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(window(Class::Calendar, 0, now), Window::default());
        assert_eq!(
            window(Class::Calendar, 3, now).start,
            Some(1_000_000_000 - 7 * 86_400)
        );
        assert_eq!(window(Class::Contacts, 3, now), Window::default());
    }
}
