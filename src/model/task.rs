//! A task (MS-ASTASK). Filled in by the tasks conversion work.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub subject: Option<String>,
}
