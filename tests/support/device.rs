//! A simulated phone on top of [`super::client::Client`]: it remembers its
//! hierarchy and folder sync keys like a real device and offers the steps
//! sync tests are made of.

use super::client::{Client, Reply};
use horde_activesync::wbxml::codepages::{
    airsync as a, folderhierarchy as fh, itemestimate as ie, itemoperations as io, ping as p,
    search as s,
};
use horde_activesync::wbxml::Element;
use std::collections::HashMap;

pub struct Phone {
    pub client: Client,
    pub hierarchy_key: String,
    /// ServerId -> (DisplayName, Type)
    pub folders: HashMap<String, (String, u32)>,
    pub keys: HashMap<String, String>,
    /// FilterType sent in each Sync of a folder (none: no Options).
    pub filters: HashMap<String, u32>,
}

impl Phone {
    pub fn new(url: &str, user: &str, password: &str, device_id: &str, version: &str) -> Phone {
        Phone {
            client: Client::new(url, user, password, device_id, "TestPhone", version),
            hierarchy_key: "0".into(),
            folders: HashMap::new(),
            keys: HashMap::new(),
            filters: HashMap::new(),
        }
    }

    fn ok(reply: Reply, what: &str) -> Element {
        assert_eq!(
            reply.status,
            200,
            "{what}: HTTP {} {}",
            reply.status,
            reply.xml()
        );
        reply.body.unwrap_or_else(|| panic!("{what}: empty body"))
    }

    /// FolderSync from the current key; applies the changes and returns the response.
    pub fn folder_sync(&mut self) -> Element {
        let req = Element::new(fh::FolderSync).with_text(fh::SyncKey, self.hierarchy_key.clone());
        let resp = Self::ok(self.client.post("FolderSync", Some(&req)), "FolderSync");
        assert_eq!(resp.text_of(fh::Status), Some("1"), "FolderSync status");
        self.hierarchy_key = resp.text_of(fh::SyncKey).unwrap().to_string();
        if let Some(changes) = resp.child(fh::Changes) {
            for c in changes.elements() {
                let id = c.text_of(fh::ServerId).unwrap_or_default().to_string();
                if c.tag == fh::Delete {
                    self.folders.remove(&id);
                } else if c.tag == fh::Add || c.tag == fh::Update {
                    let name = c.text_of(fh::DisplayName).unwrap_or_default().to_string();
                    self.folders
                        .insert(id, (name, c.u32_of(fh::Type).unwrap_or(0)));
                }
            }
        }
        resp
    }

    /// The ServerId of the (first) folder of this type.
    pub fn folder(&self, folder_type: u32) -> String {
        let mut ids: Vec<&String> = self
            .folders
            .iter()
            .filter(|(_, (_, t))| *t == folder_type)
            .map(|(id, _)| id)
            .collect();
        ids.sort();
        ids.first()
            .map(|s| s.to_string())
            .unwrap_or_else(|| panic!("no folder of type {folder_type}"))
    }

    /// The Sync request body for one collection.
    pub fn sync_body(
        &self,
        folder: &str,
        key: &str,
        window: Option<u32>,
        commands: Vec<Element>,
    ) -> Element {
        let mut coll = Element::new(a::Collection)
            .with_text(a::SyncKey, key)
            .with_text(a::CollectionId, folder);
        if key != "0" {
            coll.push(Element::new(a::GetChanges));
        }
        if let Some(w) = window {
            coll.push_text(a::WindowSize, w.to_string());
        }
        if let Some(f) = self.filters.get(folder) {
            coll.push(Element::new(a::Options).with_text(a::FilterType, f.to_string()));
        }
        if !commands.is_empty() {
            let mut cmds = Element::new(a::Commands);
            for c in commands {
                cmds.push(c);
            }
            coll.push(cmds);
        }
        Element::new(a::Sync).with(Element::new(a::Collections).with(coll))
    }

    /// One Sync round for `folder` from its current key (0 the first time);
    /// returns the response's Collection and remembers the new key.
    pub fn sync(&mut self, folder: &str, window: Option<u32>, commands: Vec<Element>) -> Element {
        let key = self.keys.get(folder).cloned().unwrap_or_else(|| "0".into());
        let body = self.sync_body(folder, &key, window, commands);
        let coll = self.post_sync(&body);
        if let Some(k) = coll.text_of(a::SyncKey) {
            self.keys.insert(folder.to_string(), k.to_string());
        }
        coll
    }

    /// POST a Sync body and return its (single) response Collection.
    pub fn post_sync(&self, body: &Element) -> Element {
        let resp = Self::ok(self.client.post("Sync", Some(body)), "Sync");
        resp.path(&[a::Collections, a::Collection])
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "Sync without Collection: {}",
                    horde_activesync::wbxml::xml::to_xml(&resp)
                )
            })
    }

    /// Start a folder: key 0 then a first GetChanges; returns that second response.
    pub fn start(&mut self, folder: &str, window: Option<u32>) -> Element {
        let first = self.sync(folder, window, vec![]);
        assert_eq!(first.text_of(a::Status), Some("1"));
        self.sync(folder, window, vec![])
    }

    /// FolderCreate `name` of `folder_type` at the top level; returns its
    /// ServerId and moves the phone's hierarchy key on.
    pub fn create_folder(&mut self, name: &str, folder_type: u32) -> String {
        let req = Element::new(fh::FolderCreate)
            .with_text(fh::SyncKey, self.hierarchy_key.clone())
            .with_text(fh::ParentId, "0")
            .with_text(fh::DisplayName, name)
            .with_text(fh::Type, folder_type.to_string());
        let r = Self::ok(self.client.post("FolderCreate", Some(&req)), "FolderCreate");
        assert_eq!(
            r.text_of(fh::Status),
            Some("1"),
            "{}",
            horde_activesync::wbxml::xml::to_xml(&r)
        );
        self.hierarchy_key = r.text_of(fh::SyncKey).unwrap().to_string();
        let id = r.text_of(fh::ServerId).unwrap().to_string();
        self.folders
            .insert(id.clone(), (name.to_string(), folder_type));
        id
    }

    /// GetItemEstimate for a folder at its current key (14.0+ form).
    pub fn estimate(&self, folder: &str) -> (u32, Option<u32>) {
        let key = self.keys.get(folder).cloned().unwrap_or_else(|| "0".into());
        let req = Element::new(ie::GetItemEstimate).with(
            Element::new(ie::Collections).with(
                Element::new(ie::Collection)
                    .with_text(a::SyncKey, key)
                    .with_text(ie::CollectionId, folder),
            ),
        );
        let resp = Self::ok(
            self.client.post("GetItemEstimate", Some(&req)),
            "GetItemEstimate",
        );
        let r = resp.child(ie::Response).expect("Response");
        (
            r.u32_of(ie::Status).unwrap_or(0),
            r.child(ie::Collection).and_then(|c| c.u32_of(ie::Estimate)),
        )
    }

    /// Search Store=Mailbox (14.0+) for `text` in `folder` (or in every mail
    /// folder) with `range` ("0-9"); the whole Search response.
    pub fn search_mailbox(&self, folder: Option<&str>, text: &str, range: &str) -> Element {
        let mut and = Element::new(s::And).with_text(a::Class, "Email");
        if let Some(folder) = folder {
            and.push_text(a::CollectionId, folder);
        }
        and.push_text(s::FreeText, text);
        let req = Element::new(s::Search).with(
            Element::new(s::Store)
                .with_text(s::Name, "Mailbox")
                .with(Element::new(s::Query).with(and))
                .with(Element::new(s::Options).with_text(s::Range, range)),
        );
        Self::ok(self.client.post("Search", Some(&req)), "Search")
    }

    /// POST an ItemOperations request holding `op`, inline (WBXML) or
    /// multipart (`MS-ASAcceptMultiPart: T`); asserts HTTP 200.
    pub fn item_operations(&self, op: Element, multipart: bool) -> Reply {
        let req = Element::new(io::ItemOperations).with(op);
        let extra: &[(&str, &str)] = if multipart {
            &[("MS-ASAcceptMultiPart", "T")]
        } else {
            &[]
        };
        let reply = self
            .client
            .post_with_headers("ItemOperations", &[], extra, Some(&req));
        assert_eq!(reply.status, 200);
        reply
    }

    /// The LongId of the first message a mailbox search for `text` finds.
    pub fn first_long_id(&self, folder: Option<&str>, text: &str) -> String {
        let found = self.search_mailbox(folder, text, "0-9");
        found
            .path(&[s::Response, s::Store, s::Result])
            .and_then(|r| r.text_of(s::LongId))
            .unwrap_or_else(|| {
                panic!(
                    "no hit for {text}: {}",
                    horde_activesync::wbxml::xml::to_xml(&found)
                )
            })
            .to_string()
    }
}

/// `(op tag name, ServerId)` of each server command in a response Collection.
pub fn commands(coll: &Element) -> Vec<(String, String)> {
    coll.child(a::Commands)
        .map(|c| {
            c.elements()
                .map(|e| {
                    let op = horde_activesync::wbxml::codepages::name_of(e.tag)
                        .map(|(_, n)| n)
                        .unwrap_or("?");
                    (
                        op.to_string(),
                        e.text_of(a::ServerId).unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A device-side Add of a contact (FirstName, LastName, Email1Address).
pub fn contact_add(client_id: &str, first: &str, last: &str, email: &str) -> Element {
    use horde_activesync::wbxml::codepages::contacts as c;
    Element::new(a::Add).with_text(a::ClientId, client_id).with(
        Element::new(a::ApplicationData)
            .with_text(c::FirstName, first)
            .with_text(c::LastName, last)
            .with_text(c::Email1Address, email),
    )
}

/// A Ping request for `folders` (ServerIds, all of `class`) with this heartbeat.
pub fn ping_body(heartbeat: u32, folders: &[&str], class: &str) -> Element {
    let mut watched = Element::new(p::Folders);
    for id in folders {
        watched.push(
            Element::new(p::Folder)
                .with_text(p::Id, *id)
                .with_text(p::Class, class),
        );
    }
    Element::new(p::Ping)
        .with_text(p::HeartbeatInterval, heartbeat.to_string())
        .with(watched)
}
