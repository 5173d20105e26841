//! A note (MS-ASNOTE). Filled in by the notes conversion work.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub subject: Option<String>,
}
