//! Per-folder sync state and the server-to-device half of Sync.
//!
//! A state is saved per sync key. The state stored under key N is what the
//! device has once it holds key N: the ids on the device, the backend cursor
//! those ids reflect, and the changes found but not yet sent (a window that
//! was full, `MoreAvailable`). A device that re-sends key N (its response got
//! lost) is answered from state N again: it gets the same items, never a gap
//! and never a duplicate.

use crate::backend::{self, Collection, Cursor, Session, Window};
use crate::model::{Class, Item};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What a pending change does on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Add,
    Change,
    Delete,
    /// Delete because the item left the FilterType window (MS-ASCMD SoftDelete).
    SoftDelete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub op: Op,
    pub id: String,
}

/// Everything the server remembers about one folder of one device at one key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectionState {
    /// Backend change point that `known` + `pending` reflect; `None` until the
    /// first GetChanges listed the folder.
    pub cursor: Option<Cursor>,
    /// ServerIds the device holds.
    pub known: BTreeSet<String>,
    /// Changes found but not sent yet, oldest first.
    pub pending: VecDeque<Pending>,
    /// FilterType the device last asked for (0 = all).
    pub filter_type: u32,
    /// The `Supported` list of the initial Sync (ghosting, MS-ASCMD 2.2.3.179).
    pub supported: Option<Vec<String>>,
    /// ClientId -> ServerId of the Adds applied by the request that produced
    /// this state, so a re-sent request does not add them twice.
    pub client_ids: BTreeMap<String, String>,
    /// Items written by the device in the request that produced this state;
    /// their backend change must not be echoed back.
    #[serde(default)]
    pub own_writes: BTreeSet<String>,
    /// The BodyPreference options last sent (12.1+ clients may omit them later).
    #[serde(default)]
    pub body_preferences: Vec<crate::convert::BodyPreference>,
}

/// One change for the device, with the item for adds and changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub op: Op,
    pub id: String,
    pub item: Option<Item>,
}

impl CollectionState {
    /// Bring `pending` up to date with the backend: list the folder on the
    /// first call, afterwards ask for the changes since the cursor.
    /// Items the device wrote itself (`own`) are not echoed back.
    pub fn refresh(
        &mut self,
        session: &mut dyn Session,
        collection: &Collection,
        window: Window,
        own: &BTreeSet<String>,
    ) -> backend::Result<()> {
        match self.cursor.clone() {
            None => {
                // The cursor first, then the listing: a change made in between
                // shows up again later as a Change of a known id, never lost.
                let cursor = session.cursor(collection)?;
                let ids: BTreeSet<String> = session.list(collection, window)?.into_iter().collect();
                self.pending.clear();
                // Known items outside the (new) listing left the window or the folder.
                for id in self.known.difference(&ids) {
                    self.pending.push_back(Pending {
                        op: Op::SoftDelete,
                        id: id.clone(),
                    });
                }
                for id in ids {
                    if !self.known.contains(&id) {
                        self.pending.push_back(Pending { op: Op::Add, id });
                    }
                }
                self.cursor = Some(cursor);
            }
            Some(since) => {
                let changes = session.changes(collection, &since)?;
                self.merge(changes.changed, changes.deleted, own);
                self.cursor = Some(changes.cursor);
            }
        }
        Ok(())
    }

    /// Fold backend changes into `pending`. An id both changed and deleted
    /// counts as deleted.
    pub fn merge(&mut self, changed: Vec<String>, deleted: Vec<String>, own: &BTreeSet<String>) {
        let deleted: BTreeSet<String> = deleted.into_iter().collect();
        for id in &deleted {
            let was_pending_add = self.drop_pending(id) == Some(Op::Add);
            if self.known.contains(id) && !was_pending_add {
                self.pending.push_back(Pending {
                    op: Op::Delete,
                    id: id.clone(),
                });
            }
        }
        for id in changed {
            if deleted.contains(&id) || own.contains(&id) {
                continue;
            }
            if self.pending.iter().any(|p| p.id == id) {
                continue;
            }
            let op = if self.known.contains(&id) {
                Op::Change
            } else {
                Op::Add
            };
            self.pending.push_back(Pending { op, id });
        }
    }

    /// Remove pending entries for `id`; returns the op that was pending.
    fn drop_pending(&mut self, id: &str) -> Option<Op> {
        let pos = self.pending.iter().position(|p| p.id == id)?;
        self.pending.remove(pos).map(|p| p.op)
    }

    /// The device changed or deleted `id` itself: forget any pending change
    /// for it (client wins over an unsent server change for deletes; for
    /// changes the conflict rule is decided by the caller before this).
    pub fn device_wrote(&mut self, id: &str, deleted: bool) {
        self.drop_pending(id);
        if deleted {
            self.known.remove(id);
        } else {
            self.known.insert(id.to_string());
        }
    }

    /// Whether a server change is waiting for `id` (a conflict with a client change).
    pub fn has_pending(&self, id: &str) -> bool {
        self.pending.iter().any(|p| p.id == id)
    }

    /// Take up to `window` changes, fetching the items in one backend call.
    /// `keep` decides whether a fetched item belongs on the device (FilterType);
    /// a known item that no longer does is soft-deleted, an unknown one skipped.
    pub fn take_window(
        &mut self,
        session: &mut dyn Session,
        collection: &Collection,
        window: usize,
        keep: &dyn Fn(&Item) -> bool,
    ) -> backend::Result<Vec<Outgoing>> {
        let mut batch = Vec::new();
        while batch.len() < window {
            match self.pending.pop_front() {
                Some(p) => batch.push(p),
                None => break,
            }
        }
        let wanted: Vec<String> = batch
            .iter()
            .filter(|p| matches!(p.op, Op::Add | Op::Change))
            .map(|p| p.id.clone())
            .collect();
        let mut fetched: BTreeMap<String, Item> = if wanted.is_empty() {
            BTreeMap::new()
        } else {
            session.fetch(collection, &wanted)?.into_iter().collect()
        };
        let mut out = Vec::with_capacity(batch.len());
        for p in batch {
            match p.op {
                Op::Delete | Op::SoftDelete => {
                    if self.known.remove(&p.id) {
                        out.push(Outgoing {
                            op: p.op,
                            id: p.id,
                            item: None,
                        });
                    }
                }
                Op::Add | Op::Change => match fetched.remove(&p.id) {
                    Some(item) if keep(&item) => {
                        let op = if self.known.insert(p.id.clone()) {
                            Op::Add
                        } else {
                            Op::Change
                        };
                        out.push(Outgoing {
                            op,
                            id: p.id,
                            item: Some(item),
                        });
                    }
                    Some(_) => {
                        if self.known.remove(&p.id) {
                            out.push(Outgoing {
                                op: Op::SoftDelete,
                                id: p.id,
                                item: None,
                            });
                        }
                    }
                    None => {
                        // Gone since it was listed.
                        if self.known.remove(&p.id) {
                            out.push(Outgoing {
                                op: Op::Delete,
                                id: p.id,
                                item: None,
                            });
                        }
                    }
                },
            }
        }
        Ok(out)
    }

    /// Number of changes the device would get now (GetItemEstimate).
    pub fn estimate(&self) -> usize {
        self.pending.len()
    }
}

/// Whether items of this class are filtered by a time window (FilterType).
pub fn filters_by_time(class: Class) -> bool {
    matches!(class, Class::Calendar | Class::Email)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{ChangeSet, Result};
    use crate::model::Contact;

    /// An in-memory backend with a change counter, enough for the engine.
    #[derive(Default)]
    struct Fake {
        items: BTreeMap<String, Contact>,
        log: Vec<(u64, String, bool)>,
        seq: u64,
        calls: u32,
    }

    impl Fake {
        fn put(&mut self, id: &str) {
            self.seq += 1;
            self.items.insert(
                id.into(),
                Contact {
                    first_name: Some(id.into()),
                    ..Default::default()
                },
            );
            self.log.push((self.seq, id.into(), false));
        }
        fn del(&mut self, id: &str) {
            self.seq += 1;
            self.items.remove(id);
            self.log.push((self.seq, id.into(), true));
        }
    }

    impl Session for Fake {
        fn collections(&mut self) -> Result<Vec<Collection>> {
            Ok(vec![coll()])
        }
        fn create_collection(&mut self, _: Class, _: &str, _: Option<&str>) -> Result<Collection> {
            unreachable!()
        }
        fn rename_collection(&mut self, _: &str, _: &str) -> Result<()> {
            unreachable!()
        }
        fn delete_collection(&mut self, _: &str) -> Result<()> {
            unreachable!()
        }
        fn cursor(&mut self, _: &Collection) -> Result<Cursor> {
            self.calls += 1;
            Ok(self.seq.to_string())
        }
        fn list(&mut self, _: &Collection, _: Window) -> Result<Vec<String>> {
            self.calls += 1;
            Ok(self.items.keys().cloned().collect())
        }
        fn changes(&mut self, _: &Collection, since: &Cursor) -> Result<ChangeSet> {
            self.calls += 1;
            let since: u64 = since.parse().unwrap();
            let mut cs = ChangeSet {
                cursor: self.seq.to_string(),
                ..Default::default()
            };
            for (s, id, del) in &self.log {
                if *s > since {
                    if *del {
                        cs.deleted.push(id.clone())
                    } else {
                        cs.changed.push(id.clone())
                    }
                }
            }
            Ok(cs)
        }
        fn fetch(&mut self, _: &Collection, ids: &[String]) -> Result<Vec<(String, Item)>> {
            self.calls += 1;
            Ok(ids
                .iter()
                .filter_map(|id| {
                    self.items
                        .get(id)
                        .map(|c| (id.clone(), Item::Contact(c.clone())))
                })
                .collect())
        }
        fn add(&mut self, _: &Collection, _: &Item) -> Result<String> {
            unreachable!()
        }
        fn replace(&mut self, _: &Collection, _: &str, _: &Item) -> Result<()> {
            unreachable!()
        }
        fn delete(&mut self, _: &Collection, _: &str) -> Result<()> {
            unreachable!()
        }
        fn move_item(&mut self, _: &Collection, _: &str, _: &Collection) -> Result<String> {
            unreachable!()
        }
    }

    fn coll() -> Collection {
        Collection {
            id: "book".into(),
            class: Class::Contacts,
            name: "Book".into(),
            is_default: true,
            parent: None,
            role: None,
        }
    }

    fn all(_: &Item) -> bool {
        true
    }

    fn sync(st: &mut CollectionState, fake: &mut Fake, window: usize) -> Vec<(Op, String)> {
        st.refresh(fake, &coll(), Window::default(), &BTreeSet::new())
            .unwrap();
        st.take_window(fake, &coll(), window, &all)
            .unwrap()
            .into_iter()
            .map(|o| (o.op, o.id))
            .collect()
    }

    #[test]
    fn initial_sync_pages_through_the_folder_without_gaps() {
        let mut fake = Fake::default();
        for i in 0..25 {
            fake.put(&format!("id{i:02}"));
        }
        let mut st = CollectionState::default();
        let mut seen = Vec::new();
        loop {
            let before = fake.calls;
            let got = sync(&mut st, &mut fake, 10);
            assert!(fake.calls - before <= 3, "O(1) backend calls per window");
            if got.is_empty() {
                break;
            }
            assert!(got.iter().all(|(op, _)| *op == Op::Add));
            seen.extend(got.into_iter().map(|(_, id)| id));
        }
        assert_eq!(seen.len(), 25);
        assert_eq!(st.known.len(), 25);
    }

    #[test]
    fn incremental_changes_and_replay_from_the_previous_state() {
        let mut fake = Fake::default();
        fake.put("a");
        fake.put("b");
        let mut st = CollectionState::default();
        assert_eq!(sync(&mut st, &mut fake, 100).len(), 2);
        fake.put("a");
        fake.put("c");
        fake.del("b");
        let saved = st.clone();
        let first = sync(&mut st, &mut fake, 100);
        let mut replay_state = saved;
        let replay = sync(&mut replay_state, &mut fake, 100);
        assert_eq!(first, replay, "a re-sent key gets the same answer");
        assert!(first.contains(&(Op::Change, "a".into())));
        assert!(first.contains(&(Op::Add, "c".into())));
        assert!(first.contains(&(Op::Delete, "b".into())));
        assert!(sync(&mut st, &mut fake, 100).is_empty());
    }

    #[test]
    fn add_change_delete_in_one_window_sends_nothing_for_unknown_items() {
        let mut fake = Fake::default();
        let mut st = CollectionState::default();
        sync(&mut st, &mut fake, 100);
        fake.put("x");
        fake.put("x");
        fake.del("x");
        assert!(sync(&mut st, &mut fake, 100).is_empty());
    }

    #[test]
    fn own_writes_are_not_echoed() {
        let mut fake = Fake::default();
        let mut st = CollectionState::default();
        sync(&mut st, &mut fake, 100);
        fake.put("mine");
        st.device_wrote("mine", false);
        let own = BTreeSet::from(["mine".to_string()]);
        st.refresh(&mut fake, &coll(), Window::default(), &own)
            .unwrap();
        assert!(st
            .take_window(&mut fake, &coll(), 100, &all)
            .unwrap()
            .is_empty());
        assert!(st.known.contains("mine"));
    }

    #[test]
    fn a_no_change_sync_costs_one_call() {
        let mut fake = Fake::default();
        fake.put("a");
        let mut st = CollectionState::default();
        sync(&mut st, &mut fake, 100);
        let before = fake.calls;
        assert!(sync(&mut st, &mut fake, 100).is_empty());
        assert_eq!(fake.calls - before, 1);
    }

    #[test]
    fn items_leaving_the_filter_window_are_soft_deleted() {
        let mut fake = Fake::default();
        fake.put("a");
        let mut st = CollectionState::default();
        sync(&mut st, &mut fake, 100);
        fake.put("a");
        st.refresh(&mut fake, &coll(), Window::default(), &BTreeSet::new())
            .unwrap();
        let out = st.take_window(&mut fake, &coll(), 100, &|_| false).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].op, Op::SoftDelete);
        assert!(st.known.is_empty());
    }
}
