//! Where PIM data lives: Horde over JSON-RPC or the embedded SQLite store,
//! behind one trait in the domain's terms. The sync engine only sees this.

pub mod combined;
pub mod directory;
pub mod embedded;
pub mod free_busy;
pub mod horde;
pub mod mail;
pub mod occurrences;
mod select;
pub use select::from_config;

use crate::model::{Class, Contact, Item};

/// Errors a backend reports; the request layer maps them to statuses.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Wrong user name or password (HTTP 401).
    #[error("authentication failed")]
    AuthFailed,
    /// The backend is down or too slow; the device should retry (HTTP 503 /
    /// the command's "server error, retry" status). Nothing was changed.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The item or request cannot be stored as given.
    #[error("invalid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub type Result<T> = std::result::Result<T, BackendError>;

/// A collection: an address book, calendar, task list or notepad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    /// The backend's stable id (Horde share name, embedded row id).
    pub id: String,
    pub class: Class,
    pub name: String,
    /// The user's default collection of its class (EAS default folder types).
    pub is_default: bool,
    pub parent: Option<String>,
    /// What a mail folder is for (IMAP SPECIAL-USE, RFC 6154); `None` for
    /// PIM collections and ordinary mail folders.
    pub role: Option<Role>,
}

/// The special mail folders a device shows with their own folder types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Inbox,
    Drafts,
    Trash,
    Sent,
    Outbox,
}

/// An opaque change point of one collection (e.g. a Horde modseq or the
/// embedded store's change counter), stored in the folder sync state.
pub type Cursor = String;

/// What changed in a collection since a cursor. An id may appear in both
/// lists when it was changed and then deleted in the window; `deleted` wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// Ids added or modified since the cursor.
    pub changed: Vec<String>,
    pub deleted: Vec<String>,
    /// The change point these changes bring the caller up to.
    pub cursor: Cursor,
}

/// A time window for calendar FilterType (unix seconds, `None` = open).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// Opens per-request sessions with the device's own credentials.
pub trait Backend: Send + Sync {
    /// Check the credentials and open a session (one per request).
    fn open(&self, user: &str, password: &str) -> Result<Box<dyn Session>>;
}

/// One authenticated user's view of their data, for the length of a request.
pub trait Session: Send {
    /// Every collection the user may sync, of every class the backend serves.
    fn collections(&mut self) -> Result<Vec<Collection>>;
    fn create_collection(
        &mut self,
        class: Class,
        name: &str,
        parent: Option<&str>,
    ) -> Result<Collection>;
    fn rename_collection(&mut self, id: &str, name: &str) -> Result<()>;
    fn delete_collection(&mut self, id: &str) -> Result<()>;

    /// The collection's current change point; one cheap call.
    fn cursor(&mut self, collection: &Collection) -> Result<Cursor>;
    /// The cursors of several collections (what held Pings poll and
    /// GetItemEstimate asks for), in order; one `cursor` call each unless a
    /// backend can answer them together (Horde: side by side).
    fn cursors(&mut self, collections: &[Collection]) -> Result<Vec<Cursor>> {
        collections.iter().map(|c| self.cursor(c)).collect()
    }
    /// Ids of all items (inside `window` for calendars and tasks).
    fn list(&mut self, collection: &Collection, window: Window) -> Result<Vec<String>>;
    /// What changed since `since`.
    fn changes(&mut self, collection: &Collection, since: &Cursor) -> Result<ChangeSet>;
    /// Many items in one round trip; ids that no longer exist are left out.
    fn fetch(&mut self, collection: &Collection, ids: &[String]) -> Result<Vec<(String, Item)>>;
    /// Store a new item; returns its id.
    fn add(&mut self, collection: &Collection, item: &Item) -> Result<String>;
    /// Replace an item with this full object.
    fn replace(&mut self, collection: &Collection, id: &str, item: &Item) -> Result<()>;
    fn delete(&mut self, collection: &Collection, id: &str) -> Result<()>;
    /// Delete without keeping a copy (Sync DeletesAsMoves=0). Only mail
    /// keeps deleted items (in Trash); elsewhere this is `delete`.
    fn delete_permanently(&mut self, collection: &Collection, id: &str) -> Result<()> {
        self.delete(collection, id)
    }
    /// Delete every item of a collection for good (ItemOperations
    /// EmptyFolderContents); its subfolders stay. By default item by item;
    /// mail does it in one go.
    fn empty_collection(&mut self, collection: &Collection) -> Result<()> {
        for id in self.list(collection, Window::default())? {
            self.delete_permanently(collection, &id)?;
        }
        Ok(())
    }
    /// Move an item to another collection of the same class; returns its new id.
    fn move_item(&mut self, from: &Collection, id: &str, to: &Collection) -> Result<String>;

    /// Send a message the device composed (SendMail) byte for byte and keep
    /// a copy in the Sent folder when asked. Backends without mail refuse.
    fn send_mail(&mut self, _message: &[u8], _save_in_sent: bool) -> Result<()> {
        Err(BackendError::Invalid("this server has no mail".into()))
    }

    /// SmartReply/SmartForward: send `message` with the original item `id`
    /// of `collection` attached (unless `replace_mime`: the device included
    /// it already) and mark the original answered or forwarded.
    fn send_with_original(
        &mut self,
        message: &[u8],
        original: (&Collection, &str),
        forward: bool,
        replace_mime: bool,
        save_in_sent: bool,
    ) -> Result<()> {
        let _ = (message, original, forward, replace_mime, save_in_sent);
        Err(BackendError::Invalid("this server has no mail".into()))
    }

    /// Ids of the items of a mail folder that contain `text` (all when
    /// empty), received inside `window` (Search, Store=Mailbox).
    fn search(
        &mut self,
        collection: &Collection,
        text: &str,
        window: Window,
    ) -> Result<Vec<String>> {
        let _ = (text, window);
        Err(BackendError::Invalid(format!(
            "{} cannot be searched",
            collection.name
        )))
    }

    /// An attachment by the FileReference the backend gave it: content type
    /// and content (GetAttachment, ItemOperations Fetch). Content too large
    /// to hold in memory goes to a file of `spool`.
    fn fetch_attachment(
        &mut self,
        file_reference: &str,
        spool: &crate::blob::Spool,
    ) -> Result<(String, crate::blob::Blob)> {
        let _ = spool;
        Err(BackendError::NotFound(file_reference.to_string()))
    }

    /// The address books named in `[gal] sources` that this user may read,
    /// forming the directory (GAL). By default: the user's own contact
    /// collections with those ids (a Horde address book shared with the user
    /// is among them).
    fn gal_collections(&mut self, sources: &[String]) -> Result<Vec<Collection>> {
        Ok(self
            .collections()?
            .into_iter()
            .filter(|c| c.class == Class::Contacts && sources.contains(&c.id))
            .collect())
    }

    /// Contacts of `collections` that match `query` (see
    /// [`directory::matches`]), at most `limit`, in collection order. By
    /// default every contact is listed and fetched; backends with an index
    /// do better.
    fn search_contacts(
        &mut self,
        collections: &[Collection],
        query: &str,
        limit: usize,
    ) -> Result<Vec<(String, Contact)>> {
        let mut found = Vec::new();
        for collection in collections.iter().filter(|c| c.class == Class::Contacts) {
            let ids = self.list(collection, Window::default())?;
            for (id, item) in self.fetch(collection, &ids)? {
                if let Item::Contact(contact) = item {
                    if directory::matches(&contact, query) {
                        found.push((id, contact));
                        if found.len() >= limit {
                            return Ok(found);
                        }
                    }
                }
            }
        }
        Ok(found)
    }

    /// The S/MIME certificates (DER) stored for the contact with this
    /// address in these address books, for ResolveRecipients. By default
    /// none: the contact model keeps no certificates.
    fn certificates(&mut self, books: &[Collection], address: &str) -> Result<Vec<Vec<u8>>> {
        let _ = (books, address);
        Ok(Vec::new())
    }

    /// When `user` (a user of this server, not necessarily the session's)
    /// is busy between `start` and `end`, for ResolveRecipients
    /// Availability; `None` when this backend has no free/busy for them.
    fn free_busy(
        &mut self,
        user: &str,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<free_busy::FreeBusy>> {
        let _ = (user, start, end);
        Ok(None)
    }

    /// The session is about to wait with no call for a while (a held Ping):
    /// give back what the next call can take again (pooled connections).
    fn idle(&mut self) {}

    /// Backend round trips (JSON-RPC calls) made by this session so far, for
    /// the debug log and the benchmarks.
    fn calls(&self) -> u32 {
        0
    }
}
