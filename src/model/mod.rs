//! Domain items, independent of how ActiveSync encodes them and of how a
//! backend stores them. `convert::eas` maps them to and from WBXML; the
//! backends map them to and from vCard / iCalendar / SQLite rows.
//!
//! Every field is optional: `None` means "not known / not sent", which the
//! sync engine needs for ghosted properties (MS-ASCMD 2.2.3.179 `Supported`).

pub mod contact;
pub mod email;
pub mod event;
pub mod note;
pub mod span;
pub mod task;

pub use contact::Contact;
pub use email::Email;
pub use event::Event;
pub use note::Note;
pub use task::Task;

use serde::{Deserialize, Serialize};

/// The ActiveSync data classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Class {
    Contacts,
    Calendar,
    Tasks,
    Notes,
    Email,
}

impl Class {
    /// The `Class` element value of MS-ASCMD (`Contacts`, `Calendar`, `Tasks`, `Notes`, `Email`).
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Contacts => "Contacts",
            Class::Calendar => "Calendar",
            Class::Tasks => "Tasks",
            Class::Notes => "Notes",
            Class::Email => "Email",
        }
    }
}

/// One PIM item of any class.
// Items are moved rarely and one at a time; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Item {
    Contact(Contact),
    Event(Event),
    Task(Task),
    Note(Note),
    Email(Email),
}

impl Item {
    pub fn class(&self) -> Class {
        match self {
            Item::Contact(_) => Class::Contacts,
            Item::Event(_) => Class::Calendar,
            Item::Task(_) => Class::Tasks,
            Item::Note(_) => Class::Notes,
            Item::Email(_) => Class::Email,
        }
    }
}
