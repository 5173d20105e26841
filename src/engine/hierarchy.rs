//! The folder hierarchy as a device sees it (FolderSync, MS-ASCMD 2.2.1.5).
//!
//! Folder ids are derived from the backend collection (class + id), so they
//! are stable per device and across a FolderSync with SyncKey 0, as MS-ASCMD
//! 2.2.3.25 asks, and every command can map a ServerId back to its collection
//! without extra state.

use crate::backend::{Collection, Role};
use crate::model::Class;
use serde::{Deserialize, Serialize};

/// One folder as announced to the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    pub server_id: String,
    /// "0" for top-level folders.
    pub parent_id: String,
    pub display_name: String,
    /// MS-ASCMD 2.2.3.186.3 folder type.
    pub folder_type: u32,
    /// The backend collection behind it (not sent to the device), so a Sync
    /// finds its collection without asking the backend for the folder list.
    pub class: Class,
    pub collection_id: String,
}

/// MS-ASCMD folder types (2.2.3.186.3).
pub mod folder_type {
    pub const USER_GENERIC: u32 = 1;
    pub const INBOX: u32 = 2;
    pub const DRAFTS: u32 = 3;
    pub const DELETED_ITEMS: u32 = 4;
    pub const SENT_ITEMS: u32 = 5;
    pub const OUTBOX: u32 = 6;
    pub const TASKS: u32 = 7;
    pub const CALENDAR: u32 = 8;
    pub const CONTACTS: u32 = 9;
    pub const NOTES: u32 = 10;
    pub const USER_MAIL: u32 = 12;
    pub const USER_CALENDAR: u32 = 13;
    pub const USER_CONTACTS: u32 = 14;
    pub const USER_TASKS: u32 = 15;
    pub const USER_NOTES: u32 = 17;
}

/// The class a folder type holds, for FolderCreate requests.
pub fn class_of_type(t: u32) -> Option<Class> {
    use folder_type::*;
    match t {
        CONTACTS | USER_CONTACTS => Some(Class::Contacts),
        CALENDAR | USER_CALENDAR => Some(Class::Calendar),
        TASKS | USER_TASKS => Some(Class::Tasks),
        NOTES | USER_NOTES => Some(Class::Notes),
        INBOX | DRAFTS | DELETED_ITEMS | SENT_ITEMS | OUTBOX | USER_MAIL | USER_GENERIC => {
            Some(Class::Email)
        }
        _ => None,
    }
}

fn type_of(c: &Collection) -> u32 {
    use folder_type::*;
    match (c.class, c.is_default) {
        (Class::Contacts, true) => CONTACTS,
        (Class::Contacts, false) => USER_CONTACTS,
        (Class::Calendar, true) => CALENDAR,
        (Class::Calendar, false) => USER_CALENDAR,
        (Class::Tasks, true) => TASKS,
        (Class::Tasks, false) => USER_TASKS,
        (Class::Notes, true) => NOTES,
        (Class::Notes, false) => USER_NOTES,
        (Class::Email, _) => match c.role {
            Some(Role::Inbox) => INBOX,
            Some(Role::Drafts) => DRAFTS,
            Some(Role::Trash) => DELETED_ITEMS,
            Some(Role::Sent) => SENT_ITEMS,
            Some(Role::Outbox) => OUTBOX,
            None => USER_MAIL,
        },
    }
}

fn prefix(class: Class) -> char {
    match class {
        Class::Contacts => 'C',
        Class::Calendar => 'A',
        Class::Tasks => 'T',
        Class::Notes => 'N',
        Class::Email => 'M',
    }
}

/// The device-facing id of a collection: class letter + 64-bit FNV-1a of the
/// backend id, in hex. Short (MS-ASCMD limits ServerId to 64 characters),
/// readable in logs, and the same every time.
pub fn folder_id(class: Class, collection_id: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in collection_id.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{}{:016x}", prefix(class), h)
}

/// The folders of these collections, in a stable order.
pub fn folders(collections: &[Collection]) -> Vec<Folder> {
    let ids: Vec<(String, &Collection)> = collections
        .iter()
        .map(|c| (folder_id(c.class, &c.id), c))
        .collect();
    let mut out: Vec<Folder> = ids
        .iter()
        .map(|(id, c)| Folder {
            server_id: id.clone(),
            parent_id: c
                .parent
                .as_ref()
                .map(|p| folder_id(c.class, p))
                .unwrap_or_else(|| "0".into()),
            display_name: c.name.clone(),
            folder_type: type_of(c),
            class: c.class,
            collection_id: c.id.clone(),
        })
        .collect();
    out.sort_by(|a, b| a.server_id.cmp(&b.server_id));
    out
}

/// The folders below `id` at any depth, deepest first (so they can be
/// deleted in this order).
pub fn descendants<'a>(folders: &'a [Folder], id: &str) -> Vec<&'a Folder> {
    let mut found: Vec<&Folder> = Vec::new();
    let mut frontier = vec![id.to_string()];
    while let Some(parent) = frontier.pop() {
        for f in folders.iter().filter(|f| f.parent_id == parent) {
            if f.server_id != id && !found.iter().any(|x| x.server_id == f.server_id) {
                found.push(f);
                frontier.push(f.server_id.clone());
            }
        }
    }
    found.reverse();
    found
}

/// Find the collection behind a device folder id.
pub fn find<'a>(collections: &'a [Collection], server_id: &str) -> Option<&'a Collection> {
    collections
        .iter()
        .find(|c| folder_id(c.class, &c.id) == server_id)
}

impl Folder {
    /// The backend collection this folder stands for.
    pub fn collection(&self) -> Collection {
        Collection {
            id: self.collection_id.clone(),
            class: self.class,
            name: self.display_name.clone(),
            is_default: false,
            parent: None,
            role: None,
        }
    }
}

/// What FolderSync reports between two snapshots.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    pub added: Vec<Folder>,
    pub updated: Vec<Folder>,
    pub deleted: Vec<String>,
}

impl Diff {
    pub fn len(&self) -> usize {
        self.added.len() + self.updated.len() + self.deleted.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Changes from the device's snapshot `old` to the current folders `new`.
pub fn diff(old: &[Folder], new: &[Folder]) -> Diff {
    let mut d = Diff::default();
    for f in new {
        match old.iter().find(|o| o.server_id == f.server_id) {
            None => d.added.push(f.clone()),
            Some(o) if o != f => d.updated.push(f.clone()),
            Some(_) => {}
        }
    }
    for o in old {
        if !new.iter().any(|f| f.server_id == o.server_id) {
            d.deleted.push(o.server_id.clone());
        }
    }
    // Parents before children, so a device can place every new folder.
    d.added
        .sort_by_key(|f| (f.parent_id != "0", f.server_id.clone()));
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coll(class: Class, id: &str, name: &str, default: bool) -> Collection {
        Collection {
            id: id.into(),
            class,
            name: name.into(),
            is_default: default,
            parent: None,
            role: None,
        }
    }

    #[test]
    fn ids_are_stable_and_distinct_per_class() {
        let a = folder_id(Class::Contacts, "abc");
        assert_eq!(a, folder_id(Class::Contacts, "abc"));
        assert_ne!(a, folder_id(Class::Calendar, "abc"));
        assert_ne!(a, folder_id(Class::Contacts, "abd"));
        assert!(a.starts_with('C') && a.len() == 17);
    }

    #[test]
    fn types_follow_default_flag() {
        let f = folders(&[
            coll(Class::Contacts, "a", "Mine", true),
            coll(Class::Contacts, "b", "Shared", false),
            coll(Class::Calendar, "c", "Cal", true),
            coll(Class::Tasks, "d", "Todo", false),
            coll(Class::Notes, "e", "Notes", true),
        ]);
        let t = |id: &str, class| {
            f.iter()
                .find(|x| x.server_id == folder_id(class, id))
                .unwrap()
                .folder_type
        };
        assert_eq!(t("a", Class::Contacts), 9);
        assert_eq!(t("b", Class::Contacts), 14);
        assert_eq!(t("c", Class::Calendar), 8);
        assert_eq!(t("d", Class::Tasks), 15);
        assert_eq!(t("e", Class::Notes), 10);
    }

    #[test]
    fn mail_folders_take_their_type_from_the_role() {
        let mut sent = coll(Class::Email, "Sent", "Sent", false);
        sent.role = Some(Role::Sent);
        let mut child = coll(Class::Email, "Work/2026", "2026", false);
        child.parent = Some("Work".into());
        let f = folders(&[sent, child]);
        let by = |id: &str| f.iter().find(|x| x.collection_id == id).unwrap();
        assert_eq!(by("Sent").folder_type, folder_type::SENT_ITEMS);
        assert_eq!(by("Work/2026").folder_type, folder_type::USER_MAIL);
        assert_eq!(by("Work/2026").parent_id, folder_id(Class::Email, "Work"));
    }

    #[test]
    fn diff_reports_adds_renames_and_deletes() {
        let old = folders(&[
            coll(Class::Contacts, "a", "A", true),
            coll(Class::Contacts, "b", "B", false),
        ]);
        let new = folders(&[
            coll(Class::Contacts, "a", "A2", true),
            coll(Class::Calendar, "c", "C", true),
        ]);
        let d = diff(&old, &new);
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.added[0].display_name, "C");
        assert_eq!(d.updated.len(), 1);
        assert_eq!(d.updated[0].display_name, "A2");
        assert_eq!(d.deleted, vec![folder_id(Class::Contacts, "b")]);
        assert!(diff(&new, &new).is_empty());
    }

    #[test]
    fn descendants_come_deepest_first() {
        let mut a = coll(Class::Email, "a", "A", false);
        a.parent = None;
        let mut b = coll(Class::Email, "a/b", "B", false);
        b.parent = Some("a".into());
        let mut c = coll(Class::Email, "a/b/c", "C", false);
        c.parent = Some("a/b".into());
        let d = coll(Class::Email, "d", "D", false);
        let f = folders(&[a, b, c, d]);
        let id = |x: &str| folder_id(Class::Email, x);
        let below: Vec<&str> = descendants(&f, &id("a"))
            .iter()
            .map(|f| f.server_id.as_str())
            .collect();
        assert_eq!(below, [id("a/b/c"), id("a/b")]);
        assert!(descendants(&f, &id("d")).is_empty());
    }
}
