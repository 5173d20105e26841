//! A contact (MS-ASCNTC + Contacts2). Filled in by the contacts conversion work.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub file_as: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}
