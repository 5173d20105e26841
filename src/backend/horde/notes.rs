//! Mnemo (notepads): notes as vNote (`text/x-vnote`).
//!
//! Bulk read: Mnemo 4.2's API has no call that reads several notes (no
//! `listNotes`, no notepad export; `notes.export` takes one uid) and Horde's
//! JSON-RPC takes no batches, so [`fetch`] costs one call per note, plus one
//! `listUids` first: Mnemo's `export` of a uid that is gone is a PHP fatal
//! error (HTTP 200 with an HTML page), not a "not found". This is the one
//! place where a Sync window of W items costs W (+1) calls.

use super::rpc::RpcClient;
use crate::backend::{BackendError, Result};
use crate::convert::note;
use crate::model::Item;
use serde_json::json;
use std::collections::HashSet;

/// Read `uids` from `notepad` (see the module doc); notes that are gone are left out.
pub fn fetch(rpc: &mut RpcClient, notepad: &str, uids: &[String]) -> Result<Vec<(String, Item)>> {
    let present = rpc.call("notes.listUids", json!([[notepad]]))?;
    let present: HashSet<&str> = present
        .as_array()
        .map(|a| a.iter().filter_map(|u| u.as_str()).collect())
        .unwrap_or_default();
    let mut notes = Vec::with_capacity(uids.len());
    for uid in uids.iter().filter(|u| present.contains(u.as_str())) {
        match rpc.call("notes.export", json!([uid, "text/x-vnote"])) {
            Ok(v) => match note::parse_vnote(v.as_str().unwrap_or_default()) {
                Ok(parsed) => notes.push((uid.clone(), Item::Note(parsed))),
                Err(e) => log::warn!("horde: note {uid} is not a readable vNote, skipped: {e:#}"),
            },
            Err(BackendError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(notes)
}
