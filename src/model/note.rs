//! A note (MS-ASNOTE, protocol 14.0+), independent of WBXML and Mnemo.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub subject: Option<String>,
    /// Plain text body.
    pub body: Option<String>,
    pub categories: Option<Vec<String>>,
    pub last_modified: Option<DateTime<Utc>>,
    /// Notes:MessageClass (`IPM.StickyNote` unless the device says otherwise).
    pub message_class: Option<String>,
}
