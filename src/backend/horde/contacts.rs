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
use crate::backend::{BackendError, Result};
use crate::convert::vcard;
use crate::model::contact::CalendarDate;
use crate::model::{Contact, Item};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Turba attributes that hold one `model::Contact` text field each. The
/// pairing follows Horde's own ActiveSync mapping (`Turba_Driver::$_asMap`),
/// so a contact reads the same through Horde's EAS server and ours.
/// Attributes the address book's map lacks (stock `localsql` has no
/// `homeEmail`, `workEmail`, `office`) are ignored by Turba on write and
/// absent on read.
const TEXT_ATTRIBUTES: &[&str] = &[
    "firstname",
    "lastname",
    "middlenames",
    "namePrefix",
    "nameSuffix",
    "alias",
    "yomifirstname",
    "yomilastname",
    "company",
    "department",
    "title",
    "office",
    "manager",
    "assistant",
    "spouse",
    "website",
    "email",
    "homeEmail",
    "workEmail",
    "imaddress",
    "imaddress2",
    "imaddress3",
    "homePhone",
    "homePhone2",
    "workPhone",
    "workPhone2",
    "cellPhone",
    "carPhone",
    "radioPhone",
    "pager",
    "homeFax",
    "fax",
    "assistPhone",
    "companyPhone",
    "homeStreet",
    "homeCity",
    "homeProvince",
    "homePostalCode",
    "homeCountry",
    "workStreet",
    "workCity",
    "workProvince",
    "workPostalCode",
    "workCountry",
    "otherStreet",
    "otherCity",
    "otherProvince",
    "otherPostalCode",
    "otherCountry",
    "notes",
];

fn text_slot<'a>(c: &'a mut Contact, attribute: &str) -> Option<&'a mut Option<String>> {
    Some(match attribute {
        "firstname" => &mut c.first_name,
        "lastname" => &mut c.last_name,
        "middlenames" => &mut c.middle_name,
        "namePrefix" => &mut c.title,
        "nameSuffix" => &mut c.suffix,
        "alias" => &mut c.nick_name,
        "yomifirstname" => &mut c.yomi_first_name,
        "yomilastname" => &mut c.yomi_last_name,
        "company" => &mut c.company_name,
        "department" => &mut c.department,
        "title" => &mut c.job_title,
        "office" => &mut c.office_location,
        "manager" => &mut c.manager_name,
        "assistant" => &mut c.assistant_name,
        "spouse" => &mut c.spouse,
        "website" => &mut c.web_page,
        "email" => &mut c.email1_address,
        "homeEmail" => &mut c.email2_address,
        "workEmail" => &mut c.email3_address,
        "imaddress" => &mut c.im_address,
        "imaddress2" => &mut c.im_address2,
        "imaddress3" => &mut c.im_address3,
        "homePhone" => &mut c.home_phone_number,
        "homePhone2" => &mut c.home2_phone_number,
        "workPhone" => &mut c.business_phone_number,
        "workPhone2" => &mut c.business2_phone_number,
        "cellPhone" => &mut c.mobile_phone_number,
        "carPhone" => &mut c.car_phone_number,
        "radioPhone" => &mut c.radio_phone_number,
        "pager" => &mut c.pager_number,
        "homeFax" => &mut c.home_fax_number,
        "fax" => &mut c.business_fax_number,
        "assistPhone" => &mut c.assistant_phone_number,
        "companyPhone" => &mut c.company_main_phone,
        "homeStreet" => &mut c.home_address.street,
        "homeCity" => &mut c.home_address.city,
        "homeProvince" => &mut c.home_address.state,
        "homePostalCode" => &mut c.home_address.postal_code,
        "homeCountry" => &mut c.home_address.country,
        "workStreet" => &mut c.business_address.street,
        "workCity" => &mut c.business_address.city,
        "workProvince" => &mut c.business_address.state,
        "workPostalCode" => &mut c.business_address.postal_code,
        "workCountry" => &mut c.business_address.country,
        "otherStreet" => &mut c.other_address.street,
        "otherCity" => &mut c.other_address.city,
        "otherProvince" => &mut c.other_address.state,
        "otherPostalCode" => &mut c.other_address.postal_code,
        "otherCountry" => &mut c.other_address.country,
        "notes" => &mut c.body,
        _ => return None,
    })
}

/// Turba keeps dates as `YYYY-MM-DD` text (`0000-00-00` or empty = none).
const DATE_ATTRIBUTES: &[&str] = &["birthday", "anniversary"];

fn date_slot<'a>(c: &'a mut Contact, attribute: &str) -> Option<&'a mut Option<CalendarDate>> {
    match attribute {
        "birthday" => Some(&mut c.birthday),
        "anniversary" => Some(&mut c.anniversary),
        _ => None,
    }
}

/// `model::Contact` → Turba attribute hash for `import`/`replace`: the full
/// object, an empty field as `""` so a replace clears it. Not carried (no
/// Turba attribute in the stock address book, or not readable in bulk):
/// categories (Turba tags), picture (binary `photo` does not survive JSON),
/// children, Yomi company name, customer/government id, account name, MMS.
pub fn to_turba(contact: &Contact) -> Value {
    let mut contact = contact.clone();
    let mut hash = Map::new();
    for attribute in TEXT_ATTRIBUTES {
        let value = text_slot(&mut contact, attribute)
            .and_then(|slot| slot.take())
            .unwrap_or_default();
        hash.insert(attribute.to_string(), Value::String(value));
    }
    for attribute in DATE_ATTRIBUTES {
        let value = date_slot(&mut contact, attribute)
            .and_then(|slot| slot.take())
            .map(|d| d.to_string())
            .unwrap_or_default();
        hash.insert(attribute.to_string(), Value::String(value));
    }
    Value::Object(hash)
}

/// Turba attribute hash → `model::Contact`. Turba has no FileAs: its
/// display name (`name`, built from the name parts) stands in for it, as in
/// Horde's own ActiveSync server.
pub fn from_turba(hash: &Value) -> Contact {
    let mut contact = Contact::default();
    let text = |attribute: &str| {
        hash.get(attribute)
            .and_then(Value::as_str)
            .map(str::trim_end)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    for attribute in TEXT_ATTRIBUTES {
        if let Some(slot) = text_slot(&mut contact, attribute) {
            *slot = text(attribute);
        }
    }
    for attribute in DATE_ATTRIBUTES {
        let date = text(attribute)
            .and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
            .map(CalendarDate::from_naive);
        if let Some(slot) = date_slot(&mut contact, attribute) {
            *slot = date;
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
/// One `contacts.export(uid, "text/vcard")` per contact: the slow path for
/// windows `getContacts` cannot return. Gone contacts are left out.
fn fetch_as_vcards(
    rpc: &mut RpcClient,
    source: &str,
    uids: &[String],
) -> Result<Vec<(String, Item)>> {
    let mut out = Vec::with_capacity(uids.len());
    for uid in uids {
        match rpc.call("contacts.export", json!([uid, "text/vcard", source])) {
            Ok(v) => match vcard::parse(v.as_str().unwrap_or_default()) {
                Ok(c) => out.push((uid.clone(), Item::Contact(c))),
                Err(e) => {
                    log::warn!("horde: contact {uid} is not a readable vCard, skipped: {e:#}")
                }
            },
            Err(BackendError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

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
    let hashes = match rpc.call("contacts.getContacts", json!([source, keys])) {
        Ok(h) => h,
        Err(BackendError::AuthFailed) => return Err(BackendError::AuthFailed),
        // Turba cannot JSON-encode a contact with a photo (binary data:
        // "Serialization failed", an HTML 500), so a window holding one is
        // read contact by contact as vCard, where the photo is base64.
        Err(e) => {
            log::info!(
                "horde: getContacts failed ({e}); reading {} contacts one by one",
                uids.len()
            );
            return fetch_as_vcards(rpc, source, uids);
        }
    };
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
    fn every_mapped_field_survives_the_hash() {
        let mut c = Contact::default();
        for attribute in TEXT_ATTRIBUTES {
            *text_slot(&mut c, attribute).unwrap() = Some(format!("v-{attribute}"));
        }
        c.birthday = CalendarDate::new(1980, 2, 29);
        c.anniversary = CalendarDate::new(2001, 12, 31);
        let hash = to_turba(&c);
        assert_eq!(hash["birthday"], "1980-02-29");
        assert_eq!(hash["cellPhone"], "v-cellPhone");
        let back = from_turba(&hash);
        assert_eq!(back, Contact { file_as: None, ..c });
        assert_eq!(
            from_turba(&json!({"birthday": "0000-00-00"})).birthday,
            None
        );
    }

    #[test]
    fn import_copy_drops_turba_bookkeeping() {
        let stored = json!({"__key": "k", "__uid": "u", "__owner": "alice", "firstname": "A", "notes": null});
        assert_eq!(for_import(stored), json!({"firstname": "A"}));
    }
}
