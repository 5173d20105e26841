//! A calendar event (MS-ASCAL), independent of WBXML and iCalendar.
//!
//! Timed events hold UTC instants plus the zone the client chose
//! (`time_zone`, an IANA name), because a recurring event must follow its
//! zone's DST changes. All-day events hold dates in the event's zone, so a
//! round trip can never move the day east or west of UTC.
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Declares an enum whose variants stand for the small integer codes of
/// the EAS schemas, with `code()` / `from_code()` both ways.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }
        impl $name {
            /// The value on the wire.
            pub fn code(self) -> u8 {
                match self { $($name::$variant => $code),+ }
            }
            /// The variant for a wire value; `None` for values the schema does not define.
            pub fn from_code(code: u8) -> Option<$name> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

/// A start or end: an instant for timed events, a date for all-day events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum When {
    At(DateTime<Utc>),
    Day(NaiveDate),
}

code_enum!(
    /// MS-ASCAL BusyStatus.
    BusyStatus { Free = 0, Tentative = 1, Busy = 2, OutOfOffice = 3, WorkingElsewhere = 4 }
);
code_enum!(
    /// MS-ASCAL / MS-ASTASK Sensitivity.
    Sensitivity { Normal = 0, Personal = 1, Private = 2, Confidential = 3 }
);
code_enum!(
    /// MS-ASCAL AttendeeType.
    AttendeeType { Required = 1, Optional = 2, Resource = 3 }
);
code_enum!(
    /// MS-ASCAL AttendeeStatus (also used for ResponseType 0-5).
    ResponseStatus { Unknown = 0, Organizer = 1, Tentative = 2, Accepted = 3, Declined = 4, NotResponded = 5 }
);
code_enum!(
    /// MS-ASCAL RecurrenceType (there is no 4).
    RecurrenceType { Daily = 0, Weekly = 1, Monthly = 2, MonthlyNth = 3, Yearly = 5, YearlyNth = 6 }
);

/// One attendee (Attendees/Attendee).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attendee {
    pub email: Option<String>,
    pub name: Option<String>,
    pub attendee_type: Option<AttendeeType>,
    pub status: Option<ResponseStatus>,
}

/// The AirSyncBase Location element (16.0+): more than the plain string.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub display_name: Option<String>,
    pub annotation: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
    pub postal_code: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub accuracy: Option<f64>,
    pub altitude: Option<f64>,
    pub altitude_accuracy: Option<f64>,
    pub location_uri: Option<String>,
}

/// A recurrence pattern (MS-ASCAL Recurrence, also MS-ASTASK Recurrence).
///
/// `day_of_week` is the EAS mask: 1 Sunday, 2 Monday, 4 Tuesday, 8
/// Wednesday, 16 Thursday, 32 Friday, 64 Saturday (127 with MonthlyNth /
/// YearlyNth = "day"). `week_of_month` 5 means the last one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recurrence {
    pub kind: Option<RecurrenceType>,
    pub interval: Option<u16>,
    pub occurrences: Option<u16>,
    pub until: Option<DateTime<Utc>>,
    pub day_of_week: Option<u8>,
    pub day_of_month: Option<u8>,
    pub week_of_month: Option<u8>,
    pub month_of_year: Option<u8>,
    /// 14.1+: 0 Sunday .. 6 Saturday.
    pub first_day_of_week: Option<u8>,
    /// 14.0+: 0 default, 1 Gregorian, others non-Gregorian calendars.
    pub calendar_type: Option<u8>,
    /// 14.0+: the month is a leap month of a lunar calendar.
    pub is_leap_month: Option<bool>,
    /// Tasks only: the start of the first occurrence.
    pub start: Option<DateTime<Utc>>,
    /// Tasks only: the next occurrence is computed from the completion date.
    pub regenerate: Option<bool>,
    /// Tasks only: the task recurs without end (no dead occurrence).
    pub dead_occur: Option<bool>,
}

/// An exception to a recurring series: the occurrence that started at
/// `original_start` is deleted or has the fields set in `changes`
/// (every other field inherits from the series).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exception {
    /// ExceptionStartTime (before 16.0) / InstanceId (16.0+): the
    /// occurrence's original, unmodified start.
    pub original_start: Option<When>,
    pub deleted: Option<bool>,
    pub changes: Box<Event>,
}

/// A calendar item; every field `None` when not known / not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub subject: Option<String>,
    /// The plain location string (calendar:Location before 16.0, DisplayName from 16.0).
    pub location: Option<String>,
    /// The structured 16.x location.
    pub location_details: Option<Location>,
    pub start: Option<When>,
    pub end: Option<When>,
    /// The event's zone (IANA name), from the device's TimeZone or the VTIMEZONE.
    pub time_zone: Option<String>,
    pub organizer_name: Option<String>,
    pub organizer_email: Option<String>,
    pub attendees: Option<Vec<Attendee>>,
    pub busy_status: Option<BusyStatus>,
    pub sensitivity: Option<Sensitivity>,
    /// Minutes before the start.
    pub reminder: Option<u32>,
    pub categories: Option<Vec<String>>,
    /// Plain text body.
    pub body: Option<String>,
    /// MeetingStatus: 0 appointment, 1 meeting (organizer), 3 received,
    /// 5 cancelled, 7 cancelled and received, 9/11/13/15 the same for
    /// the organizer's own copies.
    pub meeting_status: Option<u8>,
    pub response_requested: Option<bool>,
    pub disallow_new_time_proposal: Option<bool>,
    /// The client-generated UID (kept as sent, PROTOCOL-NOTES).
    pub uid: Option<String>,
    /// 16.0+ ClientUid.
    pub client_uid: Option<String>,
    pub dtstamp: Option<DateTime<Utc>>,
    pub recurrence: Option<Recurrence>,
    pub exceptions: Option<Vec<Exception>>,
    /// The user's response (ResponseType, 14.0+).
    pub response_type: Option<ResponseStatus>,
    /// AppointmentReplyTime (14.0+).
    pub appointment_reply_time: Option<DateTime<Utc>>,
    /// OnlineMeetingConfLink / OnlineMeetingExternalLink (14.0+).
    pub online_meeting_conf_link: Option<String>,
    pub online_meeting_external_link: Option<String>,
}

impl Event {
    /// True for an all-day event (dates rather than instants).
    pub fn is_all_day(&self) -> bool {
        matches!(self.start, Some(When::Day(_)))
    }
}
