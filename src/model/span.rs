//! An item's time span, and whether a FilterType window keeps it. The
//! embedded store saves each item's span when it is written (`span_of`) and
//! filters its listings with `in_window`; Sync uses the same rule for items
//! that changed, so both agree on what belongs on the device. Spans the store
//! cannot tell are `None` and always kept, and uncertain bounds are widened:
//! a sync that sends one item too many is harmless, one that hides an item
//! is not. Items stored before their class had times keep NULL spans until
//! they are next written.

use crate::backend::Window;
use crate::model::event::{Event, When};
use crate::model::Item;

/// An item's time span in unix seconds; `None` = unknown (open).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// How far a day of an all-day event can be from the same day in UTC: the
/// event's zone is -12 to +14 hours off.
const ZONE_SLACK: i64 = 14 * 3600;
const DAY: i64 = 86_400;

/// The span stored beside an item: from the start to the end of an event, to
/// the end of its last occurrence for a recurring one (open when the series
/// has no `until`), widened for all-day dates. Only events have one: the
/// other classes' FilterTypes are not about time.
pub fn span_of(item: &Item) -> Span {
    match item {
        Item::Event(event) => event_span(event),
        _ => Span::default(),
    }
}

fn event_span(event: &Event) -> Span {
    let start = event.start.map(earliest);
    let mut end = event.end.or(event.start).map(latest);
    if let Some(recurrence) = &event.recurrence {
        let duration = match (start, end) {
            (Some(s), Some(e)) => (e - s).max(0),
            _ => 0,
        };
        // The last occurrence starts by `until`; without it, no known end.
        end = recurrence.until.map(|until| {
            let last_end = until.timestamp() + duration;
            end.map_or(last_end, |e| e.max(last_end))
        });
    }
    // An exception may move an occurrence past the series' end.
    if let (Some(series_end), Some(exceptions)) = (end, &event.exceptions) {
        let moved = exceptions
            .iter()
            .filter_map(|x| x.changes.end.map(latest))
            .max();
        end = Some(moved.map_or(series_end, |m| m.max(series_end)));
    }
    Span { start, end }
}

fn midnight(day: chrono::NaiveDate) -> i64 {
    day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()
}

fn earliest(when: When) -> i64 {
    match when {
        When::At(t) => t.timestamp(),
        When::Day(d) => midnight(d) - ZONE_SLACK,
    }
}

/// The last instant of `when`; an all-day end counts as the whole day.
fn latest(when: When) -> i64 {
    match when {
        When::At(t) => t.timestamp(),
        When::Day(d) => midnight(d) + DAY + ZONE_SLACK,
    }
}

/// Whether an item spanning `span` overlaps `window` (both half-open; an
/// unknown bound never excludes). Usable by any backend or the sync engine.
pub fn in_window(span: Span, window: Window) -> bool {
    let ends_after_start = match (span.end.or(span.start), window.start) {
        (Some(end), Some(from)) => end >= from,
        _ => true,
    };
    let starts_before_end = match (span.start, window.end) {
        (Some(start), Some(to)) => start < to,
        _ => true,
    };
    ends_after_start && starts_before_end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::{Exception, Recurrence};

    fn span(start: Option<i64>, end: Option<i64>) -> Span {
        Span { start, end }
    }
    fn window(start: Option<i64>, end: Option<i64>) -> Window {
        Window { start, end }
    }

    #[test]
    fn unknown_spans_and_open_windows_keep_everything() {
        assert!(in_window(Span::default(), window(Some(100), Some(200))));
        assert!(in_window(span(Some(5), Some(6)), Window::default()));
    }

    fn at(t: i64) -> When {
        When::At(chrono::DateTime::from_timestamp(t, 0).unwrap())
    }

    fn event(start: Option<When>, end: Option<When>) -> Event {
        Event {
            start,
            end,
            ..Event::default()
        }
    }

    fn span_of_event(e: Event) -> Span {
        span_of(&Item::Event(e))
    }

    #[test]
    fn event_spans() {
        let e = event(Some(at(1000)), Some(at(4600)));
        assert_eq!(span_of_event(e.clone()), span(Some(1000), Some(4600)));
        let point = event(Some(at(1000)), None);
        assert_eq!(span_of_event(point), span(Some(1000), Some(1000)));
        assert_eq!(span_of_event(Event::default()), Span::default());
        assert_eq!(
            span_of(&Item::Task(crate::model::Task::default())),
            Span::default()
        );

        // 2023-11-14 all day, in some zone: the whole UTC day, widened.
        let day = chrono::NaiveDate::from_ymd_opt(2023, 11, 14).unwrap();
        let all_day = event(Some(When::Day(day)), Some(When::Day(day)));
        let m = 1_699_920_000;
        assert_eq!(
            span_of_event(all_day),
            span(Some(m - ZONE_SLACK), Some(m + DAY + ZONE_SLACK))
        );
    }

    #[test]
    fn recurring_events_last_until_their_series_ends() {
        let mut weekly = event(Some(at(1000)), Some(at(4600)));
        weekly.recurrence = Some(Recurrence {
            until: chrono::DateTime::from_timestamp(900_000, 0),
            ..Recurrence::default()
        });
        assert_eq!(
            span_of_event(weekly.clone()),
            span(Some(1000), Some(903_600))
        );

        weekly.exceptions = Some(vec![Exception {
            changes: Box::new(event(Some(at(950_000)), Some(at(960_000)))),
            ..Exception::default()
        }]);
        assert_eq!(
            span_of_event(weekly.clone()),
            span(Some(1000), Some(960_000))
        );

        weekly.recurrence = Some(Recurrence::default());
        assert_eq!(span_of_event(weekly), span(Some(1000), None), "no end");
    }

    #[test]
    fn overlap_rules() {
        let w = window(Some(100), Some(200));
        assert!(!in_window(span(Some(10), Some(99)), w), "ended before");
        assert!(in_window(span(Some(10), Some(100)), w), "ends at start");
        assert!(in_window(span(Some(150), Some(160)), w), "inside");
        assert!(in_window(span(Some(50), Some(500)), w), "covers");
        assert!(!in_window(span(Some(200), Some(300)), w), "starts at end");
        assert!(
            !in_window(span(Some(50), None), window(Some(100), None)),
            "point before"
        );
        assert!(in_window(span(None, Some(150)), w), "unknown start");
    }
}
