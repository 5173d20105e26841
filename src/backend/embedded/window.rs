//! Which items a calendar or task FilterType window keeps.
//!
//! The store saves each item's span in two columns when it is written
//! (`span_of`) and filters with `in_window` when listing. Spans the store
//! cannot tell are `None` and always kept: a sync that sends one item too
//! many is harmless, one that hides an item is not.

use crate::backend::Window;
use crate::model::Item;

/// An item's time span in unix seconds; `None` = unknown (open).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// The span stored beside an item. `model::Event` and `model::Task` carry no
/// times yet, so every span is open and every item is in every window; when
/// they gain start/end (due) fields, this is the one place to read them.
pub fn span_of(_item: &Item) -> Span {
    Span::default()
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
