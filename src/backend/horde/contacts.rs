//! Turba (contacts): bulk read and the Turba attribute hash ↔ `model::Contact`.
//!
//! Bulk read, measured on Horde 5.2 / Turba 4.2.29: `contacts.export` reads
//! one uid per call, and Horde's JSON-RPC takes no batches, so a window of W
//! contacts would cost W calls. `contacts.getContacts(source, keys)` reads
//! many contacts in one call but wants Turba's internal object keys, while
//! every other call (listUids, history, replace, delete) speaks uids. So
//! [`fetch`] makes two calls for any W (four when a remembered key went stale):
//! 1. `contacts.search(uids, {fields: {source: ["__uid"]}, customStrict: ["__uid"],
//!    returnFields: ["__uid"]})` → uid → key (exact match, one SQL query per uid
//!    inside Horde, one HTTP round trip);
//! 2. `contacts.getContacts(source, keys)` → the full attribute hashes, the
//!    same hashes `contacts.export(uid, "array")` gives.
//!
//! A contact's key never changes while it stays in its address book, so the
//! keys are remembered per process ([`KeyCache`]): [`list`] fetches the keys
//! of the whole book (`search` for the empty name) side by side with
//! `listUids`, and the windows after it skip step 1. In a FastCGI or `serve`
//! process an initial sync of W-item windows then costs one call per window.
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
use std::sync::{Mutex, OnceLock};

/// Turba object keys by uid, per address book (`url source`), for this
/// process. Bounded: past [`KeyCache::LIMIT`] keys the other books are
/// forgotten (they are read again on their next sync).
#[derive(Default)]
struct KeyCache {
    books: HashMap<String, HashMap<String, String>>,
}

impl KeyCache {
    const LIMIT: usize = 50_000;

    fn get() -> &'static Mutex<KeyCache> {
        static CACHE: OnceLock<Mutex<KeyCache>> = OnceLock::new();
        CACHE.get_or_init(Default::default)
    }

    /// Remember `keys` (uid → key) of `book`.
    fn remember(book: &str, keys: impl IntoIterator<Item = (String, String)>) {
        let Ok(mut cache) = Self::get().lock() else {
            return;
        };
        let entry = cache.books.entry(book.to_string()).or_default();
        entry.extend(keys);
        if cache.books.values().map(HashMap::len).sum::<usize>() > Self::LIMIT {
            cache.books.retain(|name, _| name == book);
        }
    }

    /// The remembered keys of `uids` in `book`; uids without one are left out.
    fn lookup(book: &str, uids: &[String]) -> HashMap<String, String> {
        let Ok(cache) = Self::get().lock() else {
            return HashMap::new();
        };
        let Some(keys) = cache.books.get(book) else {
            return HashMap::new();
        };
        uids.iter()
            .filter_map(|uid| Some((uid.clone(), keys.get(uid)?.clone())))
            .collect()
    }

    fn forget(book: &str, uids: &[String]) {
        if let Ok(mut cache) = Self::get().lock() {
            if let Some(keys) = cache.books.get_mut(book) {
                for uid in uids {
                    keys.remove(uid);
                }
            }
        }
    }
}

/// The cache name of `source` on the Horde `rpc` talks to.
fn book(rpc: &RpcClient, source: &str) -> String {
    format!("{} {source}", rpc.url())
}

/// `search` options that match `__uid` exactly and return only uid and key.
fn uid_search(source: &str) -> Value {
    json!({
        "sources": [source],
        "fields": {source: ["__uid"]},
        "customStrict": ["__uid"],
        "returnFields": ["__uid"],
        "forceSource": true,
    })
}

/// uid → key pairs of a `search` answer (`{name: [rows]}`). A contact with
/// several addresses comes once per address; distribution lists carry no uid
/// and are left out (they are found by uid when fetched).
fn keys_of(found: &Value) -> Vec<(String, String)> {
    let Some(by_name) = found.as_object() else {
        return Vec::new();
    };
    by_name
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|row| {
            let uid = row.get("__uid")?.as_str()?;
            let key = row.get("__key")?.as_str()?;
            Some((uid.to_string(), key.to_string()))
        })
        .collect()
}

/// All uids of the address book (`listUids`), and, in the same round trip
/// time, the keys of all its contacts for the windows that follow.
pub fn list(rpc: &mut RpcClient, source: &str) -> Result<Value> {
    let mut answers = rpc
        .call_all(vec![
            ("contacts.listUids".into(), json!([[source]])),
            ("contacts.search".into(), json!([[""], uid_search(source)])),
        ])
        .into_iter();
    let uids = answers.next().expect("two answers")?;
    match answers.next().expect("two answers") {
        Ok(found) => KeyCache::remember(&book(rpc, source), keys_of(&found)),
        // Only a shortcut: the windows look their keys up instead.
        Err(e) => log::info!("horde: reading the keys of {source} failed: {e}"),
    }
    Ok(uids)
}

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

/// The contacts `uids` of `source` (see the module doc for the calls).
pub fn fetch(rpc: &mut RpcClient, source: &str, uids: &[String]) -> Result<Vec<(String, Item)>> {
    let book = book(rpc, source);
    let cached = KeyCache::lookup(&book, uids);
    let unknown: Vec<String> = uids
        .iter()
        .filter(|uid| !cached.contains_key(*uid))
        .cloned()
        .collect();
    let mut keys: Vec<String> = cached.values().cloned().collect();
    keys.extend(look_up_keys(rpc, source, &book, &unknown)?);
    let Some(mut hashes) = read_hashes(rpc, source, keys)? else {
        return fetch_as_vcards(rpc, source, uids);
    };
    // A remembered key that found nothing: the contact was deleted, or moved
    // away and back under a new key. Look it up again by uid.
    let stale: Vec<String> = cached
        .into_keys()
        .filter(|uid| !hashes.contains_key(uid))
        .collect();
    if !stale.is_empty() {
        KeyCache::forget(&book, &stale);
        let keys = look_up_keys(rpc, source, &book, &stale)?;
        match read_hashes(rpc, source, keys)? {
            Some(found) => hashes.extend(found),
            None => return fetch_as_vcards(rpc, source, uids),
        }
    }
    Ok(uids
        .iter()
        .filter_map(|uid| {
            let hash = hashes.get(uid.as_str())?;
            Some((uid.clone(), Item::Contact(from_turba(hash))))
        })
        .collect())
}

/// The keys of `uids` by an exact `search` (no call for none), remembered.
fn look_up_keys(
    rpc: &mut RpcClient,
    source: &str,
    book: &str,
    uids: &[String],
) -> Result<Vec<String>> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let found = rpc.call("contacts.search", json!([uids, uid_search(source)]))?;
    let keys = keys_of(&found);
    KeyCache::remember(book, keys.iter().cloned());
    // Distribution lists have no uid in a search row: their key comes from
    // the row of the name (the uid) they were searched under.
    let mut all: Vec<String> = keys.into_iter().map(|(_, key)| key).collect();
    all.extend(group_keys(&found));
    Ok(all)
}

/// Keys of the rows without a uid (distribution lists) in a `search` answer.
fn group_keys(found: &Value) -> Vec<String> {
    let Some(by_name) = found.as_object() else {
        return Vec::new();
    };
    by_name
        .values()
        .filter_map(Value::as_array)
        .filter_map(|rows| rows.first())
        .filter(|row| row.get("__uid").is_none())
        .filter_map(|row| Some(row.get("__key")?.as_str()?.to_string()))
        .collect()
}

/// `getContacts(source, keys)` as uid → attribute hash. `None` when Turba
/// cannot answer in JSON: it fails to encode a contact with a photo (binary
/// data: "Serialization failed", an HTML 500), so such a window is read
/// contact by contact as vCard, where the photo is base64.
fn read_hashes(
    rpc: &mut RpcClient,
    source: &str,
    keys: Vec<String>,
) -> Result<Option<HashMap<String, Value>>> {
    if keys.is_empty() {
        return Ok(Some(HashMap::new()));
    }
    let hashes = match rpc.call("contacts.getContacts", json!([source, keys])) {
        Ok(h) => h,
        Err(BackendError::AuthFailed) => return Err(BackendError::AuthFailed),
        Err(e) => {
            log::info!("horde: getContacts failed ({e}); reading the window one by one");
            return Ok(None);
        }
    };
    let Value::Array(all) = hashes else {
        return Ok(Some(HashMap::new()));
    };
    Ok(Some(
        all.into_iter()
            .filter_map(|h| Some((h.get("__uid")?.as_str()?.to_string(), h)))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_rows_give_keys_by_uid_and_distribution_lists_by_name() {
        let found = json!({
            "a@x": [{"__key": "k1", "__uid": "a@x", "email": "one@x"},
                    {"__key": "k1", "__uid": "a@x", "email": "two@x"}],
            "list@x": [{"__key": "k2", "__type": "Group", "name": "Team"}],
        });
        let mut keys = keys_of(&found);
        keys.dedup();
        assert_eq!(keys, vec![("a@x".to_string(), "k1".to_string())]);
        assert_eq!(group_keys(&found), vec!["k2".to_string()]);
        assert!(
            keys_of(&json!([])).is_empty(),
            "Horde's empty answer is a list"
        );
    }

    #[test]
    fn the_key_cache_forgets_what_it_is_told_to() {
        let book = "http://test/rpc.php forget-book";
        KeyCache::remember(book, [("u1".to_string(), "k1".to_string())]);
        let uids = ["u1".to_string(), "u2".to_string()];
        assert_eq!(KeyCache::lookup(book, &uids).len(), 1);
        KeyCache::forget(book, &uids[..1]);
        assert!(KeyCache::lookup(book, &uids).is_empty());
    }

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
