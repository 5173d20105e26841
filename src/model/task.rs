//! A task (MS-ASTASK), independent of WBXML and iCalendar.
//!
//! MS-ASTASK sends each date twice: in UTC (UtcStartDate, UtcDueDate) and
//! as the device's local wall-clock time (StartDate, DueDate, written with a
//! `Z` but not in UTC). Both are kept so that a round trip gives back what
//! was sent; iCalendar stores the UTC instant.
use super::event::{Recurrence, Sensitivity};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

/// Importance: 0 low, 1 normal, 2 high.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub subject: Option<String>,
    /// Plain text body.
    pub body: Option<String>,
    pub utc_start_date: Option<DateTime<Utc>>,
    pub start_date: Option<NaiveDateTime>,
    pub utc_due_date: Option<DateTime<Utc>>,
    pub due_date: Option<NaiveDateTime>,
    pub complete: Option<bool>,
    pub date_completed: Option<DateTime<Utc>>,
    /// 0 low, 1 normal, 2 high.
    pub importance: Option<u8>,
    pub sensitivity: Option<Sensitivity>,
    pub reminder_set: Option<bool>,
    pub reminder_time: Option<DateTime<Utc>>,
    pub categories: Option<Vec<String>>,
    pub recurrence: Option<Recurrence>,
    /// The iCalendar UID (not an EAS field: the backend's identity).
    pub uid: Option<String>,
}
