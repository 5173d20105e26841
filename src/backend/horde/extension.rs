//! The optional Horde extension: a hidden Horde application shipped in this
//! repository (`horde/activesync`, installed by the admin, see the README)
//! whose two JSON-RPC methods answer in one call what otherwise takes one
//! call per app or per collection:
//! - `activesync.sources()`: every app's `sources` and `getDefaultShare`
//!   answers, keyed by interface, computed in Horde through its registry
//!   (Horde's permission rules unchanged);
//! - `activesync.highestModSeqs([parents])`: the `getHighestModSeq` of each
//!   `<app>:<collection id>`, straight from Horde's history.
//!
//! Every rpc.php call costs Horde ~15-20 ms of PHP (boot and a fresh password
//! check) whatever the method, so fewer calls is what makes a FolderSync or a
//! change check cheaper. Used only when `backend.horde_extension` is on; a
//! Horde that answers that the methods do not exist is logged once and used
//! without them (asked again after [`RECHECK_AFTER`], in case the admin
//! installed the extension meanwhile). A user Horde's permissions keep from
//! the extension gets the per-app calls.

use super::rpc::{is_undefined_method, RpcClient};
use super::{modseq_value, App};
use crate::backend::{BackendError, Result};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a Horde found without the extension is not asked for it again.
const RECHECK_AFTER: Duration = Duration::from_secs(600);

/// `rpc.php` URLs that answered "not defined" for an extension method, and when.
fn missing_at() -> &'static Mutex<HashMap<String, Instant>> {
    static MISSING: OnceLock<Mutex<HashMap<String, Instant>>> = OnceLock::new();
    MISSING.get_or_init(Default::default)
}

/// Is the extension worth asking for at `url` (not found missing lately)?
pub(super) fn usable(url: &str) -> bool {
    missing_at()
        .lock()
        .map(|missing| {
            missing
                .get(url)
                .is_none_or(|t| t.elapsed() >= RECHECK_AFTER)
        })
        .unwrap_or(true)
}

/// Call an extension method: `Ok(None)` when this Horde does not have it
/// (logged, and remembered so the next sessions do not ask) or does not
/// let this user use it (logged).
fn call(rpc: &mut RpcClient, method: &str, params: Value) -> Result<Option<Value>> {
    match rpc.call(method, params) {
        Ok(answer) => Ok(Some(answer)),
        Err(e) if is_undefined_method(&e) => {
            log::error!(
                "horde: backend.horde_extension is on but {} has no {method} ({e}); \
                 working without the extension. Install it (README, \"Horde extension\") \
                 or set horde_extension = false",
                rpc.url()
            );
            if let Ok(mut missing) = missing_at().lock() {
                missing.insert(rpc.url().to_string(), Instant::now());
            }
            Ok(None)
        }
        // Horde's permissions for the extension exclude this user: the
        // others may still use it.
        Err(BackendError::PermissionDenied(why)) => {
            log::warn!("horde: the Horde extension is not for this user ({why}); asking each app");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// One app's collections as Horde lists them: `<interface>.sources`
/// (collection id → name) and, when asked, `<interface>.getDefaultShare`.
pub(super) struct Listing {
    pub app: App,
    pub sources: Map<String, Value>,
    pub default: Option<String>,
}

/// The listings of `apps` in one call, or `None` without the extension. An
/// app the extension does not list (not installed or not permitted) has no
/// collections.
pub(super) fn sources(rpc: &mut RpcClient, apps: &[App]) -> Result<Option<Vec<Listing>>> {
    let Some(answer) = call(rpc, "activesync.sources", json!([false, false]))? else {
        return Ok(None);
    };
    Ok(Some(
        apps.iter()
            .map(|app| {
                let entry = &answer[app.interface()];
                Listing {
                    app: *app,
                    sources: source_map(&entry["sources"]),
                    default: entry["default"].as_str().map(str::to_string),
                }
            })
            .collect(),
    ))
}

/// A `sources` answer as a map; Horde answers `[]` instead of `{}` for none.
pub(super) fn source_map(answer: &Value) -> Map<String, Value> {
    match answer {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    }
}

/// The highest modseq of each of `collections` (app and id) in one call, in
/// their order, or `None` without the extension.
pub(super) fn highest_modseqs(
    rpc: &mut RpcClient,
    collections: &[(App, &str)],
) -> Result<Option<Vec<u64>>> {
    let parents: Vec<String> = collections
        .iter()
        .map(|(app, id)| format!("{}:{id}", app.horde_app()))
        .collect();
    let Some(answer) = call(rpc, "activesync.highestModSeqs", json!([parents]))? else {
        return Ok(None);
    };
    parents
        .iter()
        .map(|parent| {
            answer.get(parent).map(modseq_value).ok_or_else(|| {
                BackendError::Invalid(format!("activesync.highestModSeqs left out {parent}"))
            })
        })
        .collect::<Result<Vec<u64>>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_horde_without_the_extension_is_skipped_until_the_recheck() {
        let url = "http://extension-test.invalid/rpc.php";
        assert!(usable(url));
        missing_at()
            .lock()
            .unwrap()
            .insert(url.to_string(), Instant::now());
        assert!(!usable(url));
        let long_ago = Instant::now().checked_sub(RECHECK_AFTER);
        if let Some(long_ago) = long_ago {
            missing_at()
                .lock()
                .unwrap()
                .insert(url.to_string(), long_ago);
            assert!(usable(url));
        }
    }

    #[test]
    fn no_sources_is_an_empty_map() {
        assert!(source_map(&json!([])).is_empty());
        assert_eq!(source_map(&json!({"a": "A"})).len(), 1);
    }
}
