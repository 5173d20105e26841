//! [`EmbeddedBackend`]: the `Backend`/`Session` traits over the SQLite file.
//!
//! Semantics, the same as the Horde backend's:
//! - Every user has one collection of each PIM class, created on their first
//!   login ("Contacts", "Calendar", "Tasks", "Notes", `is_default`). Those
//!   can be renamed but not deleted (`PermissionDenied`); other collections
//!   can be created, renamed and deleted (with their items and sub-collections).
//!   The store keeps no mail: `Class::Email` collections are `Invalid`.
//! - Each user has one change counter (like Horde's modseq). Every add,
//!   replace, delete and move takes the next value and records it for the
//!   item in the collection's change log (one row per item: its last change,
//!   with a tombstone flag). A collection's cursor is the highest value in its
//!   log, so `changes(since)` is one indexed range query, and an item added
//!   and deleted inside the window shows only as deleted. Tombstones stay
//!   (one small row per item ever deleted) so that any old cursor still gets
//!   its deletions; they go with their collection or user.
//! - Moves keep the item id: the source logs a deletion, the target a change.
//! - Every statement is keyed by the session's user: collection ids of other
//!   users are `NotFound`, exactly like ids that never existed. The
//!   exceptions are reading the directory (address books named in `[gal]
//!   sources`, as `owner/name` or by id, can be searched by every user) and
//!   free/busy (when a user's events keep them busy, not what they are).
//! - Writes run in `BEGIN IMMEDIATE` transactions (see `db`), so concurrent
//!   processes and threads queue instead of failing, and counter values are
//!   committed in the order they are taken.
//! - `calls()` counts the session's database transactions; each runs a fixed
//!   number of statements whatever the number of items involved.

use super::login_cache::LoginCache;
use super::{db, random};
use crate::backend::{
    directory, free_busy, Backend, BackendError, ChangeSet, Collection, Cursor, Result, Session,
    Window,
};
use crate::model::span::{in_window, span_of, Span};
use crate::model::{Class, Contact, Item};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The classes the store keeps; each default collection is named as its class.
const PIM_CLASSES: [Class; 4] = [Class::Contacts, Class::Calendar, Class::Tasks, Class::Notes];

/// Idle connections kept for the next session (FastCGI and `serve` threads)
/// and for the polls of held Pings, which take one only while they look.
const MAX_IDLE_CONNECTIONS: usize = 32;

/// The embedded SQLite store.
pub struct EmbeddedBackend {
    pool: Pool,
    logins: LoginCache,
}

/// The store's connections: opened on demand, a few kept idle for the next
/// session (or the next poll of a held Ping).
#[derive(Clone)]
struct Pool {
    path: std::path::PathBuf,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl Pool {
    fn take(&self) -> Result<PooledConnection> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match idle {
            Some(c) => c,
            None => {
                db::open(&self.path).map_err(|e| BackendError::Unavailable(format!("{e:#}")))?
            }
        };
        Ok(PooledConnection {
            conn: Some(conn),
            idle: Arc::clone(&self.idle),
        })
    }
}

impl EmbeddedBackend {
    /// Open the store at `path`, creating the file (0600), its folder and
    /// schema if needed.
    pub fn open_path(path: &Path) -> anyhow::Result<EmbeddedBackend> {
        let first = db::open(path)?;
        Ok(EmbeddedBackend {
            pool: Pool {
                path: path.to_path_buf(),
                idle: Arc::new(Mutex::new(vec![first])),
            },
            logins: LoginCache::new()?,
        })
    }
}

impl Backend for EmbeddedBackend {
    fn open(&self, user: &str, password: &str) -> Result<Box<dyn Session>> {
        let conn = self.pool.take()?;
        self.logins.verify(&conn, user, password)?;
        let mut session = EmbeddedSession {
            pool: self.pool.clone(),
            conn: Some(conn),
            user: user.to_string(),
            calls: 0,
            gal: Vec::new(),
        };
        session.ensure_default_collections()?;
        Ok(Box::new(session))
    }
}

/// A connection that goes back to the backend's idle list when dropped.
struct PooledConnection {
    conn: Option<Connection>,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl std::ops::Deref for PooledConnection {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        if let (Some(conn), Ok(mut idle)) = (self.conn.take(), self.idle.lock()) {
            if idle.len() < MAX_IDLE_CONNECTIONS {
                idle.push(conn);
            }
        }
    }
}

/// Busy or locked after the busy timeout means "try again later"; anything
/// else is a fault of the store.
impl From<rusqlite::Error> for BackendError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
        match e.sqlite_error_code() {
            Some(DatabaseBusy | DatabaseLocked) => BackendError::Unavailable(e.to_string()),
            _ => BackendError::Other(e.into()),
        }
    }
}

/// One user's session on the store.
pub struct EmbeddedSession {
    pool: Pool,
    /// `None` while the session idles (a held Ping): taken again on the next call.
    conn: Option<PooledConnection>,
    user: String,
    calls: u32,
    /// Row ids of the directory books found by `gal_collections`, which
    /// `search_contacts` may read whoever owns them.
    gal: Vec<i64>,
}

/// The session's connection, taken from the pool again after an idle spell.
fn connection<'a>(
    slot: &'a mut Option<PooledConnection>,
    pool: &Pool,
) -> Result<&'a mut PooledConnection> {
    let conn = match slot.take() {
        Some(c) => c,
        None => pool.take()?,
    };
    Ok(slot.insert(conn))
}

impl EmbeddedSession {
    /// Run `f` in a read transaction (one consistent snapshot).
    fn read<T>(&mut self, f: impl FnOnce(&Transaction, &str) -> Result<T>) -> Result<T> {
        self.transaction(TransactionBehavior::Deferred, f)
    }

    /// Run `f` in a write transaction; nothing is kept if it fails.
    fn write<T>(&mut self, f: impl FnOnce(&Transaction, &str) -> Result<T>) -> Result<T> {
        self.transaction(TransactionBehavior::Immediate, f)
    }

    fn transaction<T>(
        &mut self,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Transaction, &str) -> Result<T>,
    ) -> Result<T> {
        self.calls += 1;
        let tx = connection(&mut self.conn, &self.pool)?.transaction_with_behavior(behavior)?;
        let out = f(&tx, &self.user)?;
        tx.commit()?;
        Ok(out)
    }

    /// Create the default collections the user lacks (all of them on the
    /// first login). Costs one read when they exist.
    fn ensure_default_collections(&mut self) -> Result<()> {
        if self.read(|c, user| missing_defaults(c, user))?.is_empty() {
            return Ok(());
        }
        self.write(|tx, user| {
            for class in missing_defaults(tx, user)? {
                tx.execute(
                    "INSERT INTO collections (user, class, name, is_default) VALUES (?1, ?2, ?2, 1)",
                    params![user, class.as_str()],
                )?;
            }
            Ok(())
        })
    }
}

/// The PIM classes the user has no default collection of.
fn missing_defaults(c: &Connection, user: &str) -> Result<Vec<Class>> {
    let mut stmt =
        c.prepare_cached("SELECT class FROM collections WHERE user = ?1 AND is_default")?;
    let have: Vec<String> = stmt
        .query_map([user], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(PIM_CLASSES
        .into_iter()
        .filter(|class| !have.iter().any(|h| h == class.as_str()))
        .collect())
}

/// Collection ids are row ids; anything else names no collection.
fn row_id(id: &str) -> Result<i64> {
    id.parse()
        .map_err(|_| BackendError::NotFound(format!("collection {id}")))
}

fn parse_class(s: &str) -> rusqlite::Result<Class> {
    PIM_CLASSES
        .into_iter()
        .find(|c| c.as_str() == s)
        .ok_or_else(|| {
            rusqlite::Error::InvalidColumnType(1, s.to_string(), rusqlite::types::Type::Text)
        })
}

/// The class of the user's collection `id`, or `NotFound`.
fn owned_class(c: &Connection, user: &str, id: &str) -> Result<Class> {
    c.prepare_cached("SELECT class FROM collections WHERE id = ?1 AND user = ?2")?
        .query_row(params![row_id(id)?, user], |r| {
            parse_class(&r.get::<_, String>(0)?)
        })
        .optional()?
        .ok_or_else(|| BackendError::NotFound(format!("collection {id}")))
}

/// The cursor of the user's collection `id`, or `NotFound`.
fn owned_cursor(c: &Connection, user: &str, id: &str) -> Result<i64> {
    c.prepare_cached(
        "SELECT COALESCE((SELECT MAX(seq) FROM changes WHERE collection = c.id), 0)
           FROM collections c WHERE c.id = ?1 AND c.user = ?2",
    )?
    .query_row(params![row_id(id)?, user], |r| r.get(0))
    .optional()?
    .ok_or_else(|| BackendError::NotFound(format!("collection {id}")))
}

/// The user's collection `id` of the same class as `item`.
fn check_item_class(c: &Connection, user: &str, collection: &str, item: &Item) -> Result<()> {
    let class = owned_class(c, user, collection)?;
    if item.class() != class {
        return Err(BackendError::Invalid(format!(
            "a {:?} item cannot go into a {} collection",
            item.class(),
            class.as_str()
        )));
    }
    Ok(())
}

/// Take the user's next change counter value.
fn next_seq(c: &Connection, user: &str) -> Result<i64> {
    c.prepare_cached("UPDATE users SET modseq = modseq + 1 WHERE name = ?1 RETURNING modseq")?
        .query_row([user], |r| r.get(0))
        .optional()?
        .ok_or_else(|| BackendError::NotFound(format!("user {user}")))
}

fn log_change(c: &Connection, collection: &str, id: &str, seq: i64, deleted: bool) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO changes (collection, id, seq, deleted) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (collection, id) DO UPDATE SET seq = excluded.seq, deleted = excluded.deleted",
    )?
    .execute(params![row_id(collection)?, id, seq, deleted])?;
    Ok(())
}

fn to_json(item: &Item) -> Result<String> {
    serde_json::to_string(item).map_err(|e| BackendError::Invalid(format!("item: {e}")))
}

fn not_found(collection: &str, id: &str) -> BackendError {
    BackendError::NotFound(format!("item {id} in collection {collection}"))
}

impl Session for EmbeddedSession {
    fn collections(&mut self) -> Result<Vec<Collection>> {
        self.read(|c, user| {
            let mut stmt = c.prepare_cached(
                "SELECT id, class, name, is_default, parent FROM collections
                  WHERE user = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([user], |r| {
                Ok(Collection {
                    id: r.get::<_, i64>(0)?.to_string(),
                    class: parse_class(&r.get::<_, String>(1)?)?,
                    name: r.get(2)?,
                    is_default: r.get(3)?,
                    parent: r.get::<_, Option<i64>>(4)?.map(|p| p.to_string()),
                    role: None,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    fn create_collection(
        &mut self,
        class: Class,
        name: &str,
        parent: Option<&str>,
    ) -> Result<Collection> {
        if !PIM_CLASSES.contains(&class) {
            return Err(BackendError::Invalid(format!(
                "the embedded store keeps no {} collections",
                class.as_str()
            )));
        }
        let name = checked_name(name)?;
        self.write(|tx, user| {
            if let Some(p) = parent {
                owned_class(tx, user, p)?;
            }
            let parent_id = parent.map(row_id).transpose()?;
            tx.execute(
                "INSERT INTO collections (user, class, name, is_default, parent)
                 VALUES (?1, ?2, ?3, 0, ?4)",
                params![user, class.as_str(), name, parent_id],
            )?;
            Ok(Collection {
                id: tx.last_insert_rowid().to_string(),
                class,
                name: name.to_string(),
                is_default: false,
                parent: parent.map(str::to_string),
                role: None,
            })
        })
    }

    fn rename_collection(&mut self, id: &str, name: &str) -> Result<()> {
        let name = checked_name(name)?;
        self.write(|tx, user| {
            let renamed = tx.execute(
                "UPDATE collections SET name = ?3 WHERE id = ?1 AND user = ?2",
                params![row_id(id)?, user, name],
            )?;
            match renamed {
                0 => Err(BackendError::NotFound(format!("collection {id}"))),
                _ => Ok(()),
            }
        })
    }

    fn delete_collection(&mut self, id: &str) -> Result<()> {
        self.write(|tx, user| {
            let is_default: bool = tx
                .query_row(
                    "SELECT is_default FROM collections WHERE id = ?1 AND user = ?2",
                    params![row_id(id)?, user],
                    |r| r.get(0),
                )
                .optional()?
                .ok_or_else(|| BackendError::NotFound(format!("collection {id}")))?;
            if is_default {
                return Err(BackendError::PermissionDenied(format!(
                    "collection {id} is a default collection"
                )));
            }
            // Items, change log and sub-collections go by ON DELETE CASCADE.
            tx.execute("DELETE FROM collections WHERE id = ?1", [row_id(id)?])?;
            Ok(())
        })
    }

    fn cursor(&mut self, collection: &Collection) -> Result<Cursor> {
        self.calls += 1;
        let conn = connection(&mut self.conn, &self.pool)?;
        Ok(owned_cursor(conn, &self.user, &collection.id)?.to_string())
    }

    fn list(&mut self, collection: &Collection, window: Window) -> Result<Vec<String>> {
        self.read(|c, user| {
            owned_cursor(c, user, &collection.id)?;
            let mut stmt = c.prepare_cached(
                "SELECT id, start, end FROM items WHERE collection = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([row_id(&collection.id)?], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Span {
                        start: r.get(1)?,
                        end: r.get(2)?,
                    },
                ))
            })?;
            let mut ids = Vec::new();
            for row in rows {
                let (id, span) = row?;
                if in_window(span, window) {
                    ids.push(id);
                }
            }
            Ok(ids)
        })
    }

    fn changes(&mut self, collection: &Collection, since: &Cursor) -> Result<ChangeSet> {
        let since: i64 = since
            .parse()
            .ok()
            .filter(|s| *s >= 0)
            .ok_or_else(|| BackendError::Invalid(format!("cursor {since:?}")))?;
        self.read(|c, user| {
            let now = owned_cursor(c, user, &collection.id)?;
            if since > now {
                // Only possible when the store was replaced by an older copy:
                // the caller must start over rather than miss changes.
                return Err(BackendError::Invalid(format!(
                    "cursor {since} is ahead of the store ({now})"
                )));
            }
            let mut set = ChangeSet {
                cursor: now.to_string(),
                ..ChangeSet::default()
            };
            let mut stmt = c.prepare_cached(
                "SELECT id, deleted FROM changes WHERE collection = ?1 AND seq > ?2 ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![row_id(&collection.id)?, since], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
            })?;
            for row in rows {
                let (id, deleted) = row?;
                if deleted {
                    set.deleted.push(id);
                } else {
                    set.changed.push(id);
                }
            }
            Ok(set)
        })
    }

    fn fetch(&mut self, collection: &Collection, ids: &[String]) -> Result<Vec<(String, Item)>> {
        let wanted = serde_json::to_string(ids).map_err(anyhow::Error::from)?;
        self.read(|c, user| {
            owned_cursor(c, user, &collection.id)?;
            let mut stmt = c.prepare_cached(
                "SELECT id, data FROM items
                  WHERE collection = ?1 AND id IN (SELECT value FROM json_each(?2))",
            )?;
            let rows = stmt.query_map(params![row_id(&collection.id)?, wanted], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut items = Vec::with_capacity(ids.len());
            for row in rows {
                let (id, data) = row?;
                match serde_json::from_str(&data) {
                    Ok(item) => items.push((id, item)),
                    // Left out like a vanished item, so one bad row does not
                    // stop the folder from syncing; the log says which.
                    Err(e) => log::error!(
                        "embedded store: item {id} of {user} is unreadable ({e}); left out"
                    ),
                }
            }
            Ok(items)
        })
    }

    fn add(&mut self, collection: &Collection, item: &Item) -> Result<String> {
        let data = to_json(item)?;
        let span = span_of(item);
        let id = random::uuid()?;
        self.write(|tx, user| {
            check_item_class(tx, user, &collection.id, item)?;
            let seq = next_seq(tx, user)?;
            tx.prepare_cached(
                "INSERT INTO items (collection, id, data, start, end) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                row_id(&collection.id)?,
                id,
                data,
                span.start,
                span.end
            ])?;
            log_change(tx, &collection.id, &id, seq, false)?;
            Ok(id)
        })
    }

    fn replace(&mut self, collection: &Collection, id: &str, item: &Item) -> Result<()> {
        let data = to_json(item)?;
        let span = span_of(item);
        self.write(|tx, user| {
            check_item_class(tx, user, &collection.id, item)?;
            let seq = next_seq(tx, user)?;
            let replaced = tx
                .prepare_cached(
                    "UPDATE items SET data = ?3, start = ?4, end = ?5
                      WHERE collection = ?1 AND id = ?2",
                )?
                .execute(params![
                    row_id(&collection.id)?,
                    id,
                    data,
                    span.start,
                    span.end
                ])?;
            if replaced == 0 {
                return Err(not_found(&collection.id, id));
            }
            log_change(tx, &collection.id, id, seq, false)
        })
    }

    fn delete(&mut self, collection: &Collection, id: &str) -> Result<()> {
        self.write(|tx, user| {
            owned_class(tx, user, &collection.id)?;
            let seq = next_seq(tx, user)?;
            let deleted = tx
                .prepare_cached("DELETE FROM items WHERE collection = ?1 AND id = ?2")?
                .execute(params![row_id(&collection.id)?, id])?;
            if deleted == 0 {
                return Err(not_found(&collection.id, id));
            }
            log_change(tx, &collection.id, id, seq, true)
        })
    }

    /// Keeps the id; the source logs a deletion, the target a change.
    fn move_item(&mut self, from: &Collection, id: &str, to: &Collection) -> Result<String> {
        self.write(|tx, user| {
            let from_class = owned_class(tx, user, &from.id)?;
            let to_class = owned_class(tx, user, &to.id)?;
            if from_class != to_class {
                return Err(BackendError::Invalid(format!(
                    "cannot move a {} item into a {} collection",
                    from_class.as_str(),
                    to_class.as_str()
                )));
            }
            let seq = next_seq(tx, user)?;
            let moved = tx
                .prepare_cached(
                    "UPDATE items SET collection = ?3 WHERE collection = ?1 AND id = ?2",
                )?
                .execute(params![row_id(&from.id)?, id, row_id(&to.id)?])?;
            if moved == 0 {
                return Err(not_found(&from.id, id));
            }
            if from.id != to.id {
                log_change(tx, &from.id, id, seq, true)?;
            }
            log_change(tx, &to.id, id, seq, false)?;
            Ok(id.to_string())
        })
    }

    fn gal_collections(&mut self, sources: &[String]) -> Result<Vec<Collection>> {
        let found = self.read(|c, _| {
            let mut stmt = c.prepare_cached(
                "SELECT id, class, name, is_default, parent FROM collections
                  WHERE class = ?2 AND (CAST(id AS TEXT) = ?1 OR user || '/' || name = ?1)
                  ORDER BY id",
            )?;
            let mut out: Vec<Collection> = Vec::new();
            for source in sources {
                let rows =
                    stmt.query_map(params![source.trim(), Class::Contacts.as_str()], |r| {
                        Ok(Collection {
                            id: r.get::<_, i64>(0)?.to_string(),
                            class: parse_class(&r.get::<_, String>(1)?)?,
                            name: r.get(2)?,
                            is_default: false,
                            parent: None,
                            role: None,
                        })
                    })?;
                for row in rows {
                    let collection = row?;
                    if !out.iter().any(|o| o.id == collection.id) {
                        out.push(collection);
                    }
                }
            }
            Ok(out)
        })?;
        self.gal = found.iter().filter_map(|c| c.id.parse().ok()).collect();
        Ok(found)
    }

    fn search_contacts(
        &mut self,
        collections: &[Collection],
        query: &str,
        limit: usize,
    ) -> Result<Vec<(String, Contact)>> {
        // A pre-filter on the stored JSON: SQLite's LIKE folds ASCII case
        // only, and a query with a space may span two fields, so other
        // queries go to the full match below without it.
        let plain = query
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '-'));
        let filter = if plain {
            format!("%{query}%")
        } else {
            "%".to_string()
        };
        let gal = self.gal.clone();
        self.read(|c, user| {
            let mut found = Vec::new();
            for collection in collections {
                let id = row_id(&collection.id)?;
                if !gal.contains(&id) {
                    owned_cursor(c, user, &collection.id)?;
                }
                let mut stmt = c.prepare_cached(
                    "SELECT id, data FROM items WHERE collection = ?1 AND data LIKE ?2 ORDER BY id",
                )?;
                let rows = stmt.query_map(params![id, filter], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?;
                for row in rows {
                    let (item_id, data) = row?;
                    if let Ok(Item::Contact(contact)) = serde_json::from_str(&data) {
                        if directory::matches(&contact, query) {
                            found.push((item_id, contact));
                            if found.len() >= limit {
                                return Ok(found);
                            }
                        }
                    }
                }
            }
            Ok(found)
        })
    }

    /// Free/busy is readable by every user, like Horde's published
    /// free/busy: the events of all of `user`'s calendars whose stored span
    /// meets the window (one query), expanded into occurrences.
    fn free_busy(
        &mut self,
        user: &str,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<free_busy::FreeBusy>> {
        let events = self.read(|c, _| {
            let known = c
                .prepare_cached("SELECT 1 FROM users WHERE name = ?1")?
                .exists([user])?;
            if !known {
                return Ok(None);
            }
            let mut stmt = c.prepare_cached(
                "SELECT i.data FROM items i JOIN collections c ON c.id = i.collection
                  WHERE c.user = ?1 AND c.class = ?2
                    AND (i.start IS NULL OR i.start < ?4) AND (i.end IS NULL OR i.end > ?3)",
            )?;
            let rows = stmt.query_map(
                params![
                    user,
                    Class::Calendar.as_str(),
                    start.timestamp(),
                    end.timestamp()
                ],
                |r| r.get::<_, String>(0),
            )?;
            let mut events = Vec::new();
            for row in rows {
                if let Ok(Item::Event(event)) = serde_json::from_str(&row?) {
                    events.push(event);
                }
            }
            Ok(Some(events))
        })?;
        Ok(events.map(|events| free_busy::from_events(&events, start, end)))
    }

    fn calls(&self) -> u32 {
        self.calls
    }

    /// Back to the pool while a held Ping waits: thousands of held Pings
    /// share a few connections instead of keeping one (and its cache) each.
    fn idle(&mut self) {
        self.conn = None;
    }
}

/// Collection names are shown on phones: non-empty, one line, bounded.
fn checked_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(BackendError::Invalid(format!("collection name {name:?}")));
    }
    Ok(name)
}
