//! Item conversions: model <-> ActiveSync WBXML, model <-> vCard / iCalendar.
pub mod body;
pub mod contentline;
pub mod eas;
pub mod eas_calendar;
pub mod eas_contact;
pub mod eas_email;
pub mod eas_fields;
pub mod eas_note;
pub mod eas_task;
pub mod ghost;
pub mod ical;
pub mod itip;
pub mod mime;
pub mod note;
pub mod recurrence;
pub mod timezone;
pub mod vcard;

pub use body::BodyPreference;
pub use eas::{apply_change, change_occurrence, from_app_data, to_app_data, ConvertError};
