//! Horde over its JSON-RPC API (`rpc.php`): Turba contacts, Kronolith
//! calendars, Nag task lists and Mnemo notepads.
//!
//! The device's own credentials go to Horde on every call, so Horde decides
//! who may log in and what they see. Every app has the same shape of API
//! (`<interface>.sources`, `listUids`, `getHighestModSeq`, `getChangesByModSeq`,
//! `import`/`replace`/`delete`); what differs per app (bulk reads, item formats,
//! collection management) lives in one file per app.
//!
//! Cost per session method, in JSON-RPC calls (measured on Horde 5.2 / Debian 12,
//! see tests/horde_backend.rs):
//! - `open`: 1 (`horde.listApps`: checks the password and which apps exist),
//!   0 when this process saw the same login succeed within the last minute.
//! - `collections`: 1 per app (`sources`), 2 for an app where the user has
//!   several collections (+ `getDefaultShare`); the apps' calls run side by
//!   side, so it takes the time of one or two calls. With the Horde
//!   extension (`backend.horde_extension`, see `extension`): 1 in all.
//! - `cursor`: 1 (`getHighestModSeq`), `cursors`: 1 per collection side by side,
//!   1 in all with the extension (a `changes` right after reuses its answer);
//!   `changes`: 1 when nothing changed, else 2.
//! - `list`: 1 (`listUids`); contacts 2 side by side (+ the keys of the
//!   whole address book for the windows that follow).
//! - `fetch` of W items: contacts 2 (1 when `list` or an earlier window
//!   of this process learnt the keys), calendar 1, tasks 1 (per session), notes W
//!   + 1 (Mnemo has no bulk read); see each app's `fetch`.
//! - `add`, `replace`, `delete`: 1; `move_item`: 3.

pub mod calendar;
mod certificates;
pub mod contacts;
mod extension;
mod icalendar;
pub mod notes;
pub mod rpc;
pub mod tasks;

use super::{Backend, BackendError, ChangeSet, Collection, Cursor, Result, Session, Window};
use crate::config::Config;
use crate::convert::note;
use crate::model::event::{Exception, When};
use crate::model::{Class, Event, Item};
use rpc::RpcClient;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// Opens sessions against one Horde `rpc.php`.
pub struct HordeBackend {
    url: String,
    timeout: Duration,
    /// `backend.horde_extension`: the admin installed the Horde extension.
    extension: bool,
}

impl HordeBackend {
    pub fn new(config: &Config) -> HordeBackend {
        HordeBackend {
            url: config.backend.horde_rpc_url.clone(),
            timeout: Duration::from_secs(config.backend.horde_timeout.max(1)),
            extension: config.backend.horde_extension,
        }
    }
}

impl Backend for HordeBackend {
    /// One call, `horde.listApps`: a wrong password comes back as 401 →
    /// `AuthFailed`, and the answer says which data classes this Horde serves.
    /// A login Horde accepted in the last minute in this process is not
    /// checked again (no call): Horde checks the password on every call
    /// anyway, so a changed password still fails the first real call.
    fn open(&self, user: &str, password: &str) -> Result<Box<dyn Session>> {
        let mut rpc = RpcClient::new(&self.url, user, password, self.timeout);
        let apps = match rpc.recent_login() {
            Some(apps) => apps,
            None => {
                let apps = rpc.call("horde.listApps", json!([]))?;
                rpc.remember_login(&apps);
                apps
            }
        };
        let installed: Vec<&str> = apps
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let classes = App::ALL
            .iter()
            .filter(|app| installed.contains(&app.horde_app()))
            .map(|app| app.class())
            .collect();
        Ok(Box::new(HordeSession {
            extension: self.extension && extension::usable(&self.url),
            rpc,
            classes,
            class_of: HashMap::new(),
            exports: HashMap::new(),
            just_read: HashMap::new(),
        }))
    }
}

/// A Horde application and its JSON-RPC interface name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum App {
    Contacts,
    Calendar,
    Tasks,
    Notes,
}

impl App {
    const ALL: [App; 4] = [App::Contacts, App::Calendar, App::Tasks, App::Notes];

    fn of(class: Class) -> Result<App> {
        match class {
            Class::Contacts => Ok(App::Contacts),
            Class::Calendar => Ok(App::Calendar),
            Class::Tasks => Ok(App::Tasks),
            Class::Notes => Ok(App::Notes),
            Class::Email => Err(BackendError::Invalid(
                "Horde JSON-RPC serves no email".into(),
            )),
        }
    }

    fn class(self) -> Class {
        match self {
            App::Contacts => Class::Contacts,
            App::Calendar => Class::Calendar,
            App::Tasks => Class::Tasks,
            App::Notes => Class::Notes,
        }
    }

    /// The registry interface: `contacts.listUids` etc.
    fn interface(self) -> &'static str {
        match self {
            App::Contacts => "contacts",
            App::Calendar => "calendar",
            App::Tasks => "tasks",
            App::Notes => "notes",
        }
    }

    /// The application name `horde.listApps` reports.
    fn horde_app(self) -> &'static str {
        match self {
            App::Contacts => "turba",
            App::Calendar => "kronolith",
            App::Tasks => "nag",
            App::Notes => "mnemo",
        }
    }

    fn method(self, name: &str) -> String {
        format!("{}.{name}", self.interface())
    }

    /// `(create, rename, delete)` collection methods. The rename methods
    /// take `(id, {"name": ...})`.
    fn collection_methods(self) -> (&'static str, &'static str, &'static str) {
        match self {
            App::Contacts => ("addAddressbook", "updateAddressbook", "deleteAddressbook"),
            App::Calendar => ("addCalendar", "updateCalendar", "deleteCalendar"),
            App::Tasks => ("addTasklist", "updateTasklist", "deleteTasklist"),
            App::Notes => ("addNotepad", "updateNotepad", "deleteNotepad"),
        }
    }
}

/// One user's session: the RPC client plus what this request already learnt.
pub struct HordeSession {
    rpc: RpcClient,
    /// Data classes whose Horde app is installed.
    classes: Vec<Class>,
    /// Ask the Horde extension first (configured, and not found missing lately).
    extension: bool,
    /// Collection id → class, for the calls that only get an id.
    class_of: HashMap<String, Class>,
    /// Whole-collection exports (calendar, tasks) read once per session:
    /// collection id → (item uid → that item's iCalendar text).
    exports: HashMap<String, HashMap<String, String>>,
    /// Collection id → the modseq the last `cursors` round read for it, so
    /// a `changes` right after (GetItemEstimate, a woken Ping) does not ask
    /// for the same modseq again. Taken by the first `changes`; an older
    /// value than Horde's current one only means the rest comes next time.
    just_read: HashMap<String, u64>,
}

impl HordeSession {
    fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.rpc.call(method, params)
    }

    fn app(&self, collection: &Collection) -> Result<App> {
        App::of(collection.class)
    }

    /// The collections of `apps`, from one `activesync.sources` call with
    /// the extension, else from each app's own calls ([`Self::listings`]).
    /// An app's default collection is the one Horde names when the user has
    /// several; a user's only collection of a class is their default (Horde
    /// creates it as such, and a device needs a default folder of every class
    /// anyway).
    fn collections_of(&mut self, apps: &[App]) -> Result<Vec<Collection>> {
        let from_extension = if self.extension {
            extension::sources(&mut self.rpc, apps)?
        } else {
            None
        };
        let listings = match from_extension {
            Some(listings) => listings,
            None => {
                self.extension = false;
                self.listings(apps)?
            }
        };
        let mut found = Vec::new();
        for listing in listings {
            let map = listing.sources;
            let default = match listing.default {
                Some(default) if map.len() > 1 => default,
                _ => map.keys().next().cloned().unwrap_or_default(),
            };
            let class = listing.app.class();
            for (id, name) in &map {
                self.class_of.insert(id.clone(), class);
                found.push(Collection {
                    id: id.clone(),
                    class,
                    name: name.as_str().unwrap_or(id).to_string(),
                    is_default: *id == default,
                    parent: None,
                    role: None,
                });
            }
        }
        Ok(found)
    }

    /// Each app's own answers: one `sources` call per app, plus
    /// `getDefaultShare` for an app where the user has more than one
    /// collection to choose from. The calls of each round run side by side.
    fn listings(&mut self, apps: &[App]) -> Result<Vec<extension::Listing>> {
        let calls = apps
            .iter()
            .map(|app| (app.method("sources"), json!([false, false])))
            .collect();
        let mut listings = Vec::with_capacity(apps.len());
        for (app, answer) in apps.iter().zip(self.rpc.call_all(calls)) {
            listings.push(extension::Listing {
                app: *app,
                sources: extension::source_map(&answer?),
                default: None,
            });
        }
        let several: Vec<usize> = (0..listings.len())
            .filter(|i| listings[*i].sources.len() > 1)
            .collect();
        let calls = several
            .iter()
            .map(|i| (listings[*i].app.method("getDefaultShare"), json!([])))
            .collect();
        for (i, answer) in several.into_iter().zip(self.rpc.call_all(calls)) {
            listings[i].default = answer?.as_str().map(str::to_string);
        }
        Ok(listings)
    }

    /// The app a bare collection id belongs to (share ids are unique across apps).
    fn app_of_id(&mut self, id: &str) -> Result<App> {
        if !self.class_of.contains_key(id) {
            self.collections()?;
        }
        match self.class_of.get(id) {
            Some(class) => App::of(*class),
            None => Err(BackendError::NotFound(format!("collection {id}"))),
        }
    }

    /// Forget a cached export after this session changed the collection.
    fn changed(&mut self, collection: &Collection) {
        self.exports.remove(&collection.id);
    }

    /// The item's stored form, for moving it.
    fn export_native(&mut self, app: App, from: &Collection, id: &str) -> Result<Value> {
        match app {
            App::Contacts => self.call("contacts.export", json!([id, "array", from.id])),
            App::Calendar => self.call(
                "calendar.export",
                json!([id, "text/calendar", {}, [from.id]]),
            ),
            App::Tasks => self.call("tasks.export", json!([id, "text/calendar"])),
            App::Notes => self.call("notes.export", json!([id, "text/x-vnote"])),
        }
    }
}

/// Parse a cursor this backend handed out (a Horde modseq).
fn modseq(cursor: &Cursor) -> Result<u64> {
    if cursor.is_empty() {
        return Ok(0);
    }
    cursor
        .parse()
        .map_err(|_| BackendError::Invalid(format!("not a Horde modseq cursor: {cursor:?}")))
}

/// `getHighestModSeq` answers an integer, a numeric string, or `false` when
/// the collection has no history yet.
fn modseq_value(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

fn uid_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|u| u.as_str().map(str::to_string))
            .collect(),
        // PHP arrays with non-sequential keys arrive as objects.
        Value::Object(o) => o
            .values()
            .filter_map(|u| u.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Reconcile Horde's `{"add": [...], "modify": [...], "delete": [...]}`.
/// Turba, Nag and Mnemo list an item that was added, changed and deleted in
/// the window in all three lists; Kronolith leaves deleted items out of add
/// and modify. Either way: an id in `delete` is deleted, everything else in
/// add/modify is changed (once, in Horde's order).
fn reconcile(changes: &Value) -> (Vec<String>, Vec<String>) {
    let deleted = uid_list(&changes["delete"]);
    let gone: BTreeSet<&String> = deleted.iter().collect();
    let mut seen = BTreeSet::new();
    let changed = uid_list(&changes["add"])
        .into_iter()
        .chain(uid_list(&changes["modify"]))
        .filter(|id| !gone.contains(id) && seen.insert(id.clone()))
        .collect();
    (changed, deleted)
}

/// The uid `import` returns: a string (Kronolith's docblock says an array).
fn imported_uid(v: Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s),
        Value::Array(a) => a
            .into_iter()
            .find_map(|u| u.as_str().map(str::to_string))
            .ok_or_else(|| BackendError::Invalid("import returned no uid".into())),
        other => Err(BackendError::Invalid(format!("import returned {other}"))),
    }
}

impl Session for HordeSession {
    fn collections(&mut self) -> Result<Vec<Collection>> {
        let apps = self
            .classes
            .iter()
            .map(|class| App::of(*class))
            .collect::<Result<Vec<App>>>()?;
        self.collections_of(&apps)
    }

    fn create_collection(
        &mut self,
        class: Class,
        name: &str,
        parent: Option<&str>,
    ) -> Result<Collection> {
        if parent.is_some() {
            return Err(BackendError::Invalid(
                "Horde collections cannot be nested".into(),
            ));
        }
        let app = App::of(class)?;
        let (create, _, _) = app.collection_methods();
        let params = match app {
            App::Tasks => json!([name, "", "", {}]),
            _ => json!([name, {}]),
        };
        let id = self.call(&app.method(create), params)?;
        let id = id
            .as_str()
            .ok_or_else(|| BackendError::Invalid(format!("{create} returned {id}")))?
            .to_string();
        self.class_of.insert(id.clone(), class);
        Ok(Collection {
            id,
            class,
            name: name.to_string(),
            is_default: false,
            parent: None,
            role: None,
        })
    }

    fn rename_collection(&mut self, id: &str, name: &str) -> Result<()> {
        let app = self.app_of_id(id)?;
        let (_, rename, _) = app.collection_methods();
        self.call(&app.method(rename), json!([id, {"name": name}]))?;
        Ok(())
    }

    fn delete_collection(&mut self, id: &str) -> Result<()> {
        let app = self.app_of_id(id)?;
        let (_, _, delete) = app.collection_methods();
        self.call(&app.method(delete), json!([id]))?;
        self.class_of.remove(id);
        self.exports.remove(id);
        Ok(())
    }

    fn cursor(&mut self, collection: &Collection) -> Result<Cursor> {
        let mut points = self.modseqs(std::slice::from_ref(collection))?;
        Ok(points.pop().unwrap_or_default().to_string())
    }

    fn cursors(&mut self, collections: &[Collection]) -> Result<Vec<Cursor>> {
        let points = self.modseqs(collections)?;
        self.just_read = collections
            .iter()
            .map(|c| c.id.clone())
            .zip(points.iter().copied())
            .collect();
        Ok(points.iter().map(u64::to_string).collect())
    }

    fn list(&mut self, collection: &Collection, window: Window) -> Result<Vec<String>> {
        let app = self.app(collection)?;
        if app == App::Contacts {
            return Ok(uid_list(&contacts::list(&mut self.rpc, &collection.id)?));
        }
        let params = match app {
            App::Calendar => json!([
                [collection.id],
                window.start.unwrap_or(0),
                window.end.unwrap_or(0)
            ]),
            _ => json!([[collection.id]]),
        };
        Ok(uid_list(&self.call(&app.method("listUids"), params)?))
    }

    /// The highest modseq first, then the changes up to exactly it
    /// (`getChangesByModSeq` covers `(since, highest]`), so a change landing
    /// between the two calls is picked up next time, never lost.
    fn changes(&mut self, collection: &Collection, since: &Cursor) -> Result<ChangeSet> {
        let app = self.app(collection)?;
        let since = modseq(since)?;
        let highest = match self.just_read.remove(&collection.id) {
            Some(point) => point,
            None => modseq(&self.cursor(collection)?)?,
        };
        if highest <= since {
            return Ok(ChangeSet {
                cursor: since.to_string(),
                ..ChangeSet::default()
            });
        }
        // A long session (a held Ping) may hold an export older than these changes.
        self.exports.remove(&collection.id);
        // Nag and Mnemo take one list id (an array becomes "nag:Array" and
        // matches nothing); Turba and Kronolith take a list.
        let lists = match app {
            App::Tasks | App::Notes => json!(collection.id),
            App::Contacts | App::Calendar => json!([collection.id]),
        };
        let v = self.call(
            &app.method("getChangesByModSeq"),
            json!([since, highest, lists]),
        )?;
        let (changed, deleted) = reconcile(&v);
        Ok(ChangeSet {
            changed,
            deleted,
            cursor: highest.to_string(),
        })
    }

    fn fetch(&mut self, collection: &Collection, ids: &[String]) -> Result<Vec<(String, Item)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        match self.app(collection)? {
            App::Contacts => contacts::fetch(&mut self.rpc, &collection.id, ids),
            App::Calendar => Ok(calendar::fetch(
                self.export_of(App::Calendar, collection)?,
                ids,
            )),
            App::Tasks => Ok(tasks::fetch(self.export_of(App::Tasks, collection)?, ids)),
            App::Notes => notes::fetch(&mut self.rpc, &collection.id, ids),
        }
    }

    fn add(&mut self, collection: &Collection, item: &Item) -> Result<String> {
        let app = self.app(collection)?;
        let (content, content_type) = encode(app, item, None)?;
        self.changed(collection);
        let uid = self.call(
            &app.method("import"),
            json!([content, content_type, collection.id]),
        )?;
        imported_uid(uid)
    }

    fn replace(&mut self, collection: &Collection, id: &str, item: &Item) -> Result<()> {
        let app = self.app(collection)?;
        let (content, content_type) = encode(app, item, Some(id))?;
        let params = match app {
            App::Contacts | App::Calendar => json!([id, content, content_type, collection.id]),
            App::Tasks | App::Notes => json!([id, content, content_type]),
        };
        self.changed(collection);
        if let (App::Calendar, Item::Event(event)) = (app, item) {
            return self.replace_event(collection, id, event, content.as_str().unwrap_or_default());
        }
        self.call(&app.method("replace"), params)?;
        Ok(())
    }

    fn delete(&mut self, collection: &Collection, id: &str) -> Result<()> {
        let app = self.app(collection)?;
        let params = match app {
            App::Contacts => json!([id, collection.id]),
            _ => json!([id]),
        };
        self.changed(collection);
        // Turba answers `true` also for a uid that is already gone, `false`
        // when its driver failed; the others answer null or an error.
        match self.call(&app.method("delete"), params)? {
            Value::Bool(false) => Err(BackendError::Other(anyhow::anyhow!(
                "Horde could not delete {id}"
            ))),
            _ => Ok(()),
        }
    }

    /// Horde has no move call: export from `from`, import the stored form
    /// into `to` under a new uid, then delete the original. The new uid keeps
    /// the uid-only calls (`calendar.delete`, `tasks.delete`) unambiguous.
    /// If the import fails nothing was changed; if the final delete fails the
    /// item exists twice, never zero times.
    fn move_item(&mut self, from: &Collection, id: &str, to: &Collection) -> Result<String> {
        let app = self.app(from)?;
        if App::of(to.class)? != app {
            return Err(BackendError::Invalid(
                "cannot move an item to another class".into(),
            ));
        }
        let stored = self.export_native(app, from, id)?;
        let (content, content_type) = match app {
            App::Contacts => (contacts::for_import(stored), "array"),
            App::Calendar | App::Tasks => {
                let text = stored.as_str().unwrap_or_default();
                let fresh = icalendar::new_uid();
                (
                    Value::String(icalendar::replace_uid(text, &fresh)),
                    "text/calendar",
                )
            }
            App::Notes => (stored, "text/x-vnote"),
        };
        self.changed(to);
        let new_id =
            imported_uid(self.call(&app.method("import"), json!([content, content_type, to.id]))?)?;
        self.delete(from, id)?;
        Ok(new_id)
    }

    /// Turba's `smimePublicKey` of the contact (one call).
    fn certificates(&mut self, books: &[Collection], address: &str) -> Result<Vec<Vec<u8>>> {
        certificates::certificates(&mut self.rpc, books, address)
    }

    /// Kronolith's published free/busy of `user` (one HTTP GET); the
    /// window is what Horde publishes, whatever `start` and `end` ask.
    fn free_busy(
        &mut self,
        user: &str,
        _start: chrono::DateTime<chrono::Utc>,
        _end: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<crate::backend::free_busy::FreeBusy>> {
        if !self.classes.contains(&Class::Calendar) {
            return Ok(None);
        }
        calendar::free_busy(&mut self.rpc, user)
    }

    fn calls(&self) -> u32 {
        self.rpc.calls()
    }
}

impl HordeSession {
    /// The whole calendar or task list as uid → iCalendar text, one call per
    /// collection per session (`exportCalendar` / `exportTasklist`).
    /// Kronolith's replace takes one VEVENT, and a VEVENT with RECURRENCE-ID
    /// *adds* an exception event (a second one if the occurrence already has
    /// one). So: the series first, then only the changed occurrences that are
    /// new or differ from what Kronolith has, each after deleting its old
    /// exception event; exceptions that are gone are deleted too.
    fn replace_event(
        &mut self,
        collection: &Collection,
        id: &str,
        event: &Event,
        text: &str,
    ) -> Result<()> {
        let old: Vec<Exception> = calendar::fetch(
            self.export_of(App::Calendar, collection)?,
            &[id.to_string()],
        )
        .into_iter()
        .find_map(|(_, item)| match item {
            Item::Event(e) => e.exceptions,
            _ => None,
        })
        .unwrap_or_default();
        let new = event.exceptions.clone().unwrap_or_default();
        let moved = |list: &[Exception], start| {
            list.iter()
                .find(|x| x.original_start == Some(start) && x.deleted != Some(true))
                .cloned()
        };
        let mut parts = calendar::one_event_each(text).into_iter();
        if let Some(series) = parts.next() {
            self.call(
                "calendar.replace",
                json!([id, series, "text/calendar", collection.id]),
            )?;
        }
        for (x, part) in new.iter().filter(|x| x.deleted != Some(true)).zip(parts) {
            let Some(start) = x.original_start else {
                continue;
            };
            match moved(&old, start) {
                Some(before) if before.changes == x.changes => continue,
                Some(_) => self.delete_exception(id, start)?,
                None => {}
            }
            self.call(
                "calendar.replace",
                json!([id, part, "text/calendar", collection.id]),
            )?;
        }
        for x in old.iter().filter(|x| x.deleted != Some(true)) {
            if let Some(start) = x.original_start {
                if moved(&new, start).is_none() {
                    self.delete_exception(id, start)?;
                }
            }
        }
        self.exports.remove(&collection.id);
        Ok(())
    }

    /// Delete the exception event of one occurrence (`calendar.delete(uid, recurrenceId)`).
    fn delete_exception(&mut self, id: &str, start: When) -> Result<()> {
        let recurrence_id = match start {
            When::At(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            When::Day(d) => d.format("%Y-%m-%d").to_string(),
        };
        match self.call("calendar.delete", json!([id, recurrence_id])) {
            Ok(_) | Err(BackendError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The highest modseq of each collection, in their order: one
    /// `activesync.highestModSeqs` call with the extension, else one
    /// `getHighestModSeq` per collection, side by side.
    fn modseqs(&mut self, collections: &[Collection]) -> Result<Vec<u64>> {
        if collections.is_empty() {
            return Ok(Vec::new());
        }
        let apps = collections
            .iter()
            .map(|c| Ok((self.app(c)?, c.id.as_str())))
            .collect::<Result<Vec<_>>>()?;
        if self.extension {
            match extension::highest_modseqs(&mut self.rpc, &apps)? {
                Some(points) => return Ok(points),
                None => self.extension = false,
            }
        }
        let calls = apps
            .iter()
            .map(|(app, id)| (app.method("getHighestModSeq"), json!([id])))
            .collect();
        self.rpc
            .call_all(calls)
            .into_iter()
            .map(|answer| Ok(modseq_value(&answer?)))
            .collect()
    }

    fn export_of(&mut self, app: App, collection: &Collection) -> Result<&HashMap<String, String>> {
        if !self.exports.contains_key(&collection.id) {
            let method = match app {
                App::Calendar => "calendar.exportCalendar",
                _ => "tasks.exportTasklist",
            };
            let text = self.call(method, json!([collection.id, "text/calendar"]))?;
            let by_uid = icalendar::split_by_uid(text.as_str().unwrap_or_default());
            self.exports.insert(collection.id.clone(), by_uid);
        }
        Ok(&self.exports[&collection.id])
    }
}

/// Parse the items `uids` out of a split whole-collection export. An item
/// the converter cannot read is logged and left out rather than failing the
/// whole window (the device would otherwise never get past it).
fn items_from_export(
    export: &HashMap<String, String>,
    uids: &[String],
    parse: impl Fn(&str) -> anyhow::Result<Item>,
) -> Vec<(String, Item)> {
    uids.iter()
        .filter_map(|uid| match parse(export.get(uid)?) {
            Ok(item) => Some((uid.clone(), item)),
            Err(e) => {
                log::warn!("horde: item {uid} is not readable iCalendar, skipped: {e:#}");
                None
            }
        })
        .collect()
}

/// The item in the app's import format: (content, content type). `uid` is the
/// existing id on replace; a new item gets a fresh uid where we choose it.
fn encode(app: App, item: &Item, uid: Option<&str>) -> Result<(Value, &'static str)> {
    // A new event keeps the UID its client generated (MS-ASCAL; meeting
    // invitations match on it); everything else gets a fresh one.
    let client_uid = match item {
        Item::Event(e) => e.uid.clone().or_else(|| e.client_uid.clone()),
        _ => None,
    };
    let uid = uid
        .map(str::to_string)
        .or(client_uid)
        .unwrap_or_else(icalendar::new_uid);
    match (app, item) {
        (App::Contacts, Item::Contact(c)) => Ok((contacts::to_turba(c), "array")),
        (App::Calendar, Item::Event(e)) => {
            Ok((Value::String(calendar::to_ical(e, &uid)?), "text/calendar"))
        }
        (App::Tasks, Item::Task(t)) => {
            Ok((Value::String(tasks::to_ical(t, &uid)?), "text/calendar"))
        }
        (App::Notes, Item::Note(n)) => Ok((Value::String(note::write_vnote(n)), "text/x-vnote")),
        _ => Err(BackendError::Invalid(format!(
            "a {:?} item cannot go into a {:?} collection",
            item.class(),
            app.class()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deleted_wins_over_add_and_modify() {
        let turba = json!({"add": ["a", "b"], "modify": ["a", "c"], "delete": ["a"]});
        assert_eq!(
            reconcile(&turba),
            (
                vec!["b".to_string(), "c".to_string()],
                vec!["a".to_string()]
            )
        );
        let kronolith = json!({"add": [], "modify": [], "delete": ["x"]});
        assert_eq!(reconcile(&kronolith), (vec![], vec!["x".to_string()]));
    }

    #[test]
    fn php_object_arrays_are_lists_too() {
        assert_eq!(uid_list(&json!({"3": "u"})), vec!["u".to_string()]);
        assert_eq!(modseq_value(&json!(false)), 0);
        assert_eq!(modseq_value(&json!("17")), 17);
    }

    /// A stand-in for a Horde without the extension for this user:
    /// `horde.listApps` lists Turba, `contacts.sources` one book,
    /// `contacts.getHighestModSeq` 7, and every other method gets Horde's
    /// error `refusal` ("{method}" stands for the method's name).
    fn horde_without_extension(refusal: &'static str) -> String {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/rpc.php", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut length = 0;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    if let Some(n) = line.to_lowercase().strip_prefix("content-length:") {
                        length = n.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let request: Value = serde_json::from_slice(&body).unwrap_or_default();
                let method = request["method"].as_str().unwrap_or_default();
                let (status, reply) = match method {
                    "horde.listApps" => ("200 OK", json!({"result": ["turba"]})),
                    "contacts.sources" => ("200 OK", json!({"result": {"b1": "Book"}})),
                    "contacts.getHighestModSeq" => ("200 OK", json!({"result": 7})),
                    _ => {
                        let message = refusal.replace("{method}", method);
                        let error = json!({"error": {"code": 999, "message": message}});
                        ("500 Internal Server Error", error)
                    }
                };
                let reply = reply.to_string();
                let _ = write!(
                    reader.get_mut(),
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        url
    }

    fn backend_with_extension_at(url: String) -> HordeBackend {
        let mut config = Config::default();
        config.backend.horde_rpc_url = url;
        config.backend.horde_extension = true;
        HordeBackend::new(&config)
    }

    #[test]
    fn without_the_extension_in_horde_the_per_app_calls_answer() {
        let url = horde_without_extension("Method \"{method}\" is not defined");
        let backend = backend_with_extension_at(url);
        let mut session = backend.open("u", "p").unwrap();
        let opened = session.calls();
        let books = session.collections().unwrap();
        assert_eq!(books.len(), 1);
        assert!(books[0].is_default);
        assert_eq!(session.calls() - opened, 2, "the extension, then sources");
        assert_eq!(session.cursors(&books).unwrap(), vec!["7".to_string()]);
        assert_eq!(session.calls() - opened, 3, "the session stopped asking");
        // Later sessions of the process do not ask for it either.
        let mut later = backend.open("u", "p").unwrap();
        let opened = later.calls();
        assert_eq!(later.cursor(&books[0]).unwrap(), "7");
        assert_eq!(later.calls() - opened, 1);
    }

    #[test]
    fn a_user_horde_keeps_from_the_extension_gets_the_per_app_calls() {
        let url = horde_without_extension(
            "User u is not authorized for horde-activesync extension (Host: 127.0.0.1).",
        );
        let backend = backend_with_extension_at(url.clone());
        let mut session = backend.open("u", "p").unwrap();
        let opened = session.calls();
        let books = session.collections().unwrap();
        assert_eq!(books.len(), 1);
        assert_eq!(session.cursor(&books[0]).unwrap(), "7");
        assert_eq!(session.calls() - opened, 3, "asked once, then per app");
        // Other users of this Horde may still use it.
        assert!(extension::usable(&url));
    }

    #[test]
    fn bad_cursor_is_invalid() {
        assert!(matches!(
            modseq(&"abc".to_string()),
            Err(BackendError::Invalid(_))
        ));
        assert_eq!(modseq(&String::new()).unwrap(), 0);
    }
}
