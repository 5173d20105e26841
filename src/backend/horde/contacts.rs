//! Turba (contacts): bulk read and the Turba attribute hash ↔ `model::Contact`.
//!
//! Bulk read, measured on Horde 5.2 / Turba 4.2.29: `contacts.export` reads
//! one uid per call, and Horde's JSON-RPC takes no batches, so a window of W
//! contacts would cost W calls. `contacts.getContacts(source, keys)` reads
//! many contacts in one call but wants Turba's internal object keys, while
//! every other call (listUids, history, replace, delete) speaks uids. So
//! [`fetch`] makes exactly two calls for any W:
//! 1. `contacts.search(uids, {fields: {source: ["__uid"]}, customStrict: ["__uid"],
//!    returnFields: ["__uid"]})` → uid → key (exact match, one SQL query per uid
//!    inside Horde, one HTTP round trip);
//! 2. `contacts.getContacts(source, keys)` → the full attribute hashes, the
//!    same hashes `contacts.export(uid, "array")` gives.
//!
//! (`search` alone returns attribute hashes too, but it rewrites `email` with
//! the bare address of each match and repeats a contact per address, so it
//! cannot be trusted as the item's content.)
//!
//! Writes use the same hashes (`import`/`replace` with content type `array`):
//! every attribute this module maps is always sent, an empty one as `""`, so
//! Turba's merge-on-replace clears what the device cleared.

use super::rpc::RpcClient;
use crate::backend::Result;
use crate::model::{Contact, Item};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Turba attributes (names from Turba's `attributes.php`, as mapped by the
/// stock `localsql` source) that hold one `model::Contact` text field each.
const TEXT_ATTRIBUTES: &[&str] = &["firstname", "lastname"];

fn text_slot<'a>(contact: &'a mut Contact, attribute: &str) -> Option<&'a mut Option<String>> {
    match attribute {
        "firstname" => Some(&mut contact.first_name),
        "lastname" => Some(&mut contact.last_name),
        _ => None,
    }
}

/// `model::Contact` → Turba attribute hash for `import`/`replace` (full object).
pub fn to_turba(contact: &Contact) -> Value {
    let mut contact = contact.clone();
    let mut hash = Map::new();
    for attribute in TEXT_ATTRIBUTES {
        let value = text_slot(&mut contact, attribute)
            .and_then(|slot| slot.clone())
            .unwrap_or_default();
        hash.insert(attribute.to_string(), Value::String(value));
    }
    Value::Object(hash)
}

/// Turba attribute hash → `model::Contact`. Turba has no FileAs: its
/// display name (`name`, built from the name parts) stands in for it.
pub fn from_turba(hash: &Value) -> Contact {
    let mut contact = Contact::default();
    let text = |attribute: &str| {
        hash.get(attribute)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    for attribute in TEXT_ATTRIBUTES {
        if let Some(slot) = text_slot(&mut contact, attribute) {
            *slot = text(attribute);
        }
    }
    contact.file_as = text("name");
    contact
}

/// A hash from `export(uid, "array")` made fit for `import` into another
/// address book: without Turba's bookkeeping (`__key`, `__uid`, `__owner`…),
/// so Turba gives the copy its own key and uid.
pub fn for_import(stored: Value) -> Value {
    match stored {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, v)| !k.starts_with("__") && !v.is_null())
                .collect(),
        ),
        other => other,
    }
}

/// Read `uids` from address book `source` in two calls (see the module doc).
/// Uids that do not exist (any more) are left out.
pub fn fetch(rpc: &mut RpcClient, source: &str, uids: &[String]) -> Result<Vec<(String, Item)>> {
    let found = rpc.call(
        "contacts.search",
        json!([uids, {
            "sources": [source],
            "fields": {source: ["__uid"]},
            "customStrict": ["__uid"],
            "returnFields": ["__uid"],
            "forceSource": true,
        }]),
    )?;
    let keys: Vec<&str> = found
        .as_object()
        .map(|by_uid| {
            by_uid
                .values()
                .filter_map(|rows| rows.get(0)?.get("__key")?.as_str())
                .collect()
        })
        .unwrap_or_default();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = rpc.call("contacts.getContacts", json!([source, keys]))?;
    let by_uid: HashMap<&str, &Value> = hashes
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|h| Some((h.get("__uid")?.as_str()?, h)))
                .collect()
        })
        .unwrap_or_default();
    Ok(uids
        .iter()
        .filter_map(|uid| {
            let hash = by_uid.get(uid.as_str())?;
            Some((uid.clone(), Item::Contact(from_turba(hash))))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turba_hash_round_trip_and_cleared_fields_are_sent_empty() {
        let c = Contact {
            first_name: Some("Jane".into()),
            last_name: None,
            ..Contact::default()
        };
        let hash = to_turba(&c);
        assert_eq!(hash["firstname"], "Jane");
        assert_eq!(hash["lastname"], "");
        let mut stored = hash.clone();
        stored["name"] = json!("Jane");
        let back = from_turba(&stored);
        assert_eq!(back.first_name.as_deref(), Some("Jane"));
        assert_eq!(back.last_name, None);
        assert_eq!(back.file_as.as_deref(), Some("Jane"));
    }

    #[test]
    fn import_copy_drops_turba_bookkeeping() {
        let stored = json!({"__key": "k", "__uid": "u", "__owner": "alice", "firstname": "A", "notes": null});
        assert_eq!(for_import(stored), json!({"firstname": "A"}));
    }
}
