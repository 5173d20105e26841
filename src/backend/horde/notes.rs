//! Mnemo (notepads): notes as vNote (`text/x-vnote`).
//!
//! Bulk read: Mnemo 4.2's API has no call that reads several notes (no
//! `listNotes`, no notepad export; `notes.export` takes one uid) and Horde's
//! JSON-RPC takes no batches, so [`fetch`] costs one call per note. This is
//! the one place where a Sync window of W items costs W calls.

use super::icalendar;
use super::rpc::RpcClient;
use crate::backend::{BackendError, Result};
use crate::model::{Item, Note};
use serde_json::json;

/// Read `uids` (one `notes.export` each); notes that are gone are left out.
pub fn fetch(rpc: &mut RpcClient, uids: &[String]) -> Result<Vec<(String, Item)>> {
    let mut notes = Vec::with_capacity(uids.len());
    for uid in uids {
        match rpc.call("notes.export", json!([uid, "text/x-vnote"])) {
            Ok(v) => notes.push((
                uid.clone(),
                Item::Note(from_vnote(v.as_str().unwrap_or_default())),
            )),
            Err(BackendError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(notes)
}

/// vNote text → note: the fields `model::Note` has.
pub fn from_vnote(text: &str) -> Note {
    Note {
        subject: icalendar::first_text(text, "SUMMARY"),
        ..Default::default()
    }
}

/// Note → vNote text. Mnemo takes the subject from SUMMARY and the text from
/// BODY; a note without a body gets its subject as body, as Mnemo shows it.
pub fn to_vnote(note: &Note) -> String {
    let subject = note.subject.as_deref().unwrap_or_default();
    [
        "BEGIN:VNOTE".to_string(),
        "VERSION:1.1".to_string(),
        format!("SUMMARY:{}", icalendar::escape(subject)),
        format!("BODY:{}", icalendar::escape(subject)),
        "END:VNOTE".to_string(),
    ]
    .join("\r\n")
        + "\r\n"
}
