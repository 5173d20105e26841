//! A calendar event (MS-ASCAL). Filled in by the calendar conversion work.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub subject: Option<String>,
}
