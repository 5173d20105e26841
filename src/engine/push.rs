//! Waiting for changes: the machinery behind Ping and Sync with Wait /
//! HeartbeatInterval (MS-ASCMD 2.2.1.13, 2.2.3.198).
//!
//! A held request sleeps on its own wake-up signal, not in a polling loop:
//! it wakes when its watched collections' cursors are due again (once per
//! poll interval, shared with the user's other held requests through
//! [`poll_hub`]), at the end of its heartbeat, or at once when a newer Ping
//! or Sync of the same device claims the [`latest`] token or the server
//! stops ([`shutdown`]). So thousands of idle held requests cost no CPU
//! between polls. It holds no lock while it waits. A write made through
//! this process ([`written`]) wakes the user's held requests watching the
//! written collection at once instead of at the next poll.
//!
//! A moved cursor is looked at closely with the device's own session: only
//! deletions of items the device has, changes that are not echoes of its own
//! writes, and (calendars with a FilterType) new events inside the synced
//! window end the wait.

use crate::backend::{self, Session};
use crate::engine::collection::CollectionState;
use crate::engine::hierarchy::Folder;
use crate::engine::{filter, poll_hub};
use crate::model::{span, Class};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Set on SIGTERM (see [`shutdown`]): held requests answer at once.
pub static SHUTDOWN: AtomicBool = AtomicBool::new(false);

/// The server stops: every held request of this process answers now (a
/// device re-sends its Ping to the restarted server instead of timing out).
pub fn shutdown() {
    SHUTDOWN.store(true, Ordering::SeqCst);
    latest::wake_all();
}

/// A request of `user` wrote to `collections` (Sync Add/Change/Delete,
/// MoveItems, ...): the user's held requests in this process that watch one
/// of them look at it now rather than at the next poll. Each looks with its
/// own device's state, so the writing device is not told of its own write.
/// Called by commands after the write, with no lock held on anything shared.
pub fn written(user: &str, collections: &[backend::Collection]) {
    poll_hub::global().written(user, collections);
}

/// One folder being watched, with the device's view of it.
#[derive(Debug, Clone)]
pub struct Watched {
    pub folder: Folder,
    /// The folder's latest sync state, if the device synced it.
    pub state: Option<CollectionState>,
}

/// Why a wait ended.
#[derive(Debug, PartialEq, Eq)]
pub enum WaitEnd {
    /// These folders (ServerIds) have changes for the device.
    Changed(Vec<String>),
    /// The heartbeat interval passed without changes.
    Expired,
    /// A newer request of the same device arrived, or the server stops.
    Interrupted,
}

/// How long a wait may last and how often it looks at the backend.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub heartbeat: Duration,
    pub poll: Duration,
}

/// How often a wait reads the "latest request" file when requests of the
/// same device may reach other processes (CGI: one process per request).
const FILE_CHECK: Duration = Duration::from_secs(2);
/// The same in a long-running process, which sees its own requests in
/// memory at once: only a safety net for a second process (lighttpd
/// `max-procs` above 1), rare enough not to cost thousands of held requests
/// a file read each per poll.
const FILE_CHECK_SHARED: Duration = Duration::from_secs(60);

/// Whether the watched folder has something new for the device, given its
/// collection's `current` cursor; one `changes` call when the cursor moved
/// (plus one bulk fetch for new calendar events under a FilterType).
/// A move that brings nothing for the device becomes the new baseline.
fn has_news(
    session: &mut dyn Session,
    w: &mut Watched,
    current: &backend::Cursor,
    now: SystemTime,
) -> backend::Result<bool> {
    let Some(state) = w.state.as_mut() else {
        return Ok(false);
    };
    let Some(since) = state.cursor.clone().filter(|c| c != current) else {
        return Ok(false);
    };
    let collection = w.folder.collection();
    let changes = session.changes(&collection, &since)?;
    let mut relevant = changes.deleted.iter().any(|id| state.known.contains(id));
    let foreign: Vec<String> = changes
        .changed
        .into_iter()
        .filter(|id| !state.own_writes.contains(id))
        .collect();
    // A changed item the device has is news (a Change, or a SoftDelete when
    // it left the window); a new one only when it belongs on the device.
    relevant |= foreign.iter().any(|id| state.known.contains(id));
    let new: Vec<String> = foreign
        .into_iter()
        .filter(|id| !state.known.contains(id))
        .collect();
    if !relevant && !new.is_empty() {
        let window = filter::window(collection.class, state.filter_type, now);
        relevant = if collection.class == Class::Calendar && window != backend::Window::default() {
            let fetched = session.fetch(&collection, &new)?;
            // An item the fetch did not return cannot be judged: it counts.
            fetched.len() < new.len()
                || fetched
                    .iter()
                    .any(|(_, item)| span::in_window(span::span_of(item), window))
        } else {
            true
        };
    }
    if !relevant {
        state.cursor = Some(changes.cursor);
    }
    Ok(relevant)
}

/// Wait until a watched folder has news for the device, the heartbeat
/// passes, or a newer request of the device (or [`shutdown`]) interrupts.
/// `user` keys the polls shared with the user's other held requests.
pub fn wait(
    session: &mut dyn Session,
    user: &str,
    watched: &mut [Watched],
    schedule: Schedule,
    claim: &latest::Claim,
) -> backend::Result<WaitEnd> {
    let start = Instant::now();
    let deadline = start + schedule.heartbeat;
    let pending: Vec<String> = watched
        .iter()
        .filter(|w| w.state.as_ref().is_some_and(|s| !s.pending.is_empty()))
        .map(|w| w.folder.server_id.clone())
        .collect();
    if !pending.is_empty() {
        return Ok(WaitEnd::Changed(pending));
    }
    // Folders never synced have nothing the device waits for.
    let polled: Vec<usize> = (0..watched.len())
        .filter(|&i| {
            watched[i]
                .state
                .as_ref()
                .is_some_and(|s| s.cursor.is_some())
        })
        .collect();
    let collections: Vec<backend::Collection> = polled
        .iter()
        .map(|&i| watched[i].folder.collection())
        .collect();
    let member = poll_hub::global().join(user, &collections, claim.waker());
    let file_every = if latest::shared_process() {
        FILE_CHECK_SHARED
    } else {
        FILE_CHECK
    };
    loop {
        // Taken first: a wake-up from here on ends the sleep below at once.
        let events = claim.events();
        if SHUTDOWN.load(Ordering::SeqCst) || claim.superseded(file_every) {
            return Ok(WaitEnd::Interrupted);
        }
        let now = Instant::now();
        {
            let current = member.cursors(&collections, now, schedule.poll, &mut |cs| {
                session.cursors(cs)
            })?;
            let mut changed = Vec::new();
            for (&i, cursor) in polled.iter().zip(&current) {
                if has_news(session, &mut watched[i], cursor, SystemTime::now())? {
                    changed.push(watched[i].folder.server_id.clone());
                }
            }
            if !changed.is_empty() {
                return Ok(WaitEnd::Changed(changed));
            }
        }
        if now >= deadline {
            return Ok(WaitEnd::Expired);
        }
        // The leader polls for the user; the others are woken when one of
        // their collections moved (or when they become the leader).
        let mut wake = if member.is_leader() {
            member.next_due(now, schedule.poll).min(deadline)
        } else {
            deadline
        };
        if !latest::shared_process() {
            wake = wake.min(now + FILE_CHECK);
        }
        session.idle();
        claim.sleep_until(wake.max(now + Duration::from_millis(1)), events);
    }
}

/// "Which request of this device is the newest": a token each Ping and Sync
/// claims on arrival, kept in memory for requests of this process (FastCGI,
/// serve) and in a small file for other processes (CGI). A claim replaced in
/// memory wakes its held request at once; one replaced through the file is
/// noticed at the next file check.
pub mod latest {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Condvar, Mutex, MutexGuard};
    use std::time::{Duration, Instant};

    /// The current claim of each device seen by this process.
    static IN_PROCESS: Mutex<Option<HashMap<PathBuf, Holder>>> = Mutex::new(None);
    /// Set by the long-running front ends (see [`set_shared_process`]).
    static SHARED_PROCESS: AtomicBool = AtomicBool::new(false);
    const FILE: &str = "latest-request";

    struct Holder {
        token: u64,
        wakeup: Arc<Wakeup>,
    }

    /// A held request's wake-up call: a count of events (newer claim,
    /// shutdown, a watched collection moved) the request looks at again.
    #[derive(Default)]
    struct Wakeup {
        events: Mutex<u64>,
        signal: Condvar,
    }

    impl Wakeup {
        fn wake(&self) {
            *self.events.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            self.signal.notify_all();
        }
    }

    /// A claimed token and where to look for newer ones.
    pub struct Claim {
        file: PathBuf,
        token: u64,
        wakeup: Arc<Wakeup>,
        checked_file: std::cell::Cell<Instant>,
    }

    fn in_process() -> MutexGuard<'static, Option<HashMap<PathBuf, Holder>>> {
        IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn random() -> u64 {
        let mut b = [0u8; 8];
        getrandom::getrandom(&mut b).unwrap_or(());
        u64::from_le_bytes(b)
    }

    /// Called once by FastCGI and `serve`: all requests of a device reach
    /// this process, so newer requests are seen in memory at once and the
    /// file is read only at polls (it still catches a second process).
    pub fn set_shared_process() {
        SHARED_PROCESS.store(true, Ordering::SeqCst);
    }

    pub fn shared_process() -> bool {
        SHARED_PROCESS.load(Ordering::SeqCst)
    }

    /// Wake every held request of this process (shutdown).
    pub fn wake_all() {
        for holder in in_process().iter().flat_map(|m| m.values()) {
            holder.wakeup.wake();
        }
    }

    /// Claim "newest request" for the device whose folder is `dir`; an older
    /// held request of the device in this process wakes up at once.
    pub fn claim(dir: &Path) -> Claim {
        let file = dir.join(FILE);
        let token = random();
        let wakeup = Arc::new(Wakeup::default());
        let older = in_process().get_or_insert_with(HashMap::new).insert(
            file.clone(),
            Holder {
                token,
                wakeup: wakeup.clone(),
            },
        );
        if let Some(older) = older {
            older.wakeup.wake();
        }
        // Best effort: a lost write only delays the older request's end to its heartbeat.
        let _ = std::fs::create_dir_all(dir);
        let tmp = dir.join(format!("{FILE}.{token:x}.tmp"));
        if std::fs::write(&tmp, token.to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, &file);
        }
        Claim {
            file,
            token,
            wakeup,
            checked_file: std::cell::Cell::new(Instant::now()),
        }
    }

    impl Claim {
        /// True once a newer request of the same device claimed the token.
        /// The memory check is free; the file is read at most every `file_every`.
        pub fn superseded(&self, file_every: Duration) -> bool {
            let in_memory = in_process()
                .as_ref()
                .and_then(|m| m.get(&self.file).map(|h| h.token));
            if in_memory.is_some_and(|t| t != self.token) {
                return true;
            }
            if self.checked_file.get().elapsed() < file_every {
                return false;
            }
            self.checked_file.set(Instant::now());
            std::fs::read_to_string(&self.file)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .is_some_and(|t| t != self.token)
        }

        /// Events so far; pass to [`Claim::sleep_until`].
        pub fn events(&self) -> u64 {
            *self.wakeup.events.lock().unwrap_or_else(|e| e.into_inner())
        }

        /// A way to wake this claim's request from elsewhere (shared polls).
        pub fn waker(&self) -> crate::engine::poll_hub::Wake {
            let wakeup = self.wakeup.clone();
            Arc::new(move || wakeup.wake())
        }

        /// Sleep until `until`, or less when an event arrives after `seen`
        /// (a newer request, shutdown, a watched collection moved).
        pub fn sleep_until(&self, until: Instant, seen: u64) {
            let mut events = self.wakeup.events.lock().unwrap_or_else(|e| e.into_inner());
            while *events == seen {
                let now = Instant::now();
                if now >= until {
                    return;
                }
                events = self
                    .wakeup
                    .signal
                    .wait_timeout(events, until - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        }
    }

    impl Drop for Claim {
        /// Forget the claim when it is still the device's current one (the
        /// map keeps only devices with a request in progress).
        fn drop(&mut self) {
            let mut map = in_process();
            if let Some(m) = map.as_mut() {
                if m.get(&self.file).is_some_and(|h| h.token == self.token) {
                    m.remove(&self.file);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{BackendError, ChangeSet, Collection, Cursor, Result, Window};
    use crate::engine::collection::{Op, Pending};
    use crate::model::event::{Event, When};
    use crate::model::{Contact, Item};
    use chrono::{TimeZone, Utc};
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    /// A one-collection backend with a change counter; other users of the
    /// same `Shared` (another device) write into it while a wait runs.
    #[derive(Default)]
    struct Store {
        items: BTreeMap<String, Item>,
        log: Vec<(u64, String)>,
        seq: u64,
        cursor_calls: u32,
    }
    type Shared = Arc<Mutex<Store>>;

    impl Store {
        fn put(&mut self, id: &str, item: Item) {
            self.seq += 1;
            self.items.insert(id.into(), item);
            self.log.push((self.seq, id.into()));
        }
    }

    struct Fake(Shared);

    fn unused<T>() -> Result<T> {
        Err(BackendError::Invalid("not used by waits".into()))
    }

    impl Session for Fake {
        fn collections(&mut self) -> Result<Vec<Collection>> {
            unused()
        }
        fn create_collection(&mut self, _: Class, _: &str, _: Option<&str>) -> Result<Collection> {
            unused()
        }
        fn rename_collection(&mut self, _: &str, _: &str) -> Result<()> {
            unused()
        }
        fn delete_collection(&mut self, _: &str) -> Result<()> {
            unused()
        }
        fn cursor(&mut self, _: &Collection) -> Result<Cursor> {
            let mut s = self.0.lock().unwrap();
            s.cursor_calls += 1;
            Ok(s.seq.to_string())
        }
        fn list(&mut self, _: &Collection, _: Window) -> Result<Vec<String>> {
            unused()
        }
        fn changes(&mut self, _: &Collection, since: &Cursor) -> Result<ChangeSet> {
            let s = self.0.lock().unwrap();
            let since: u64 = since.parse().unwrap_or(0);
            Ok(ChangeSet {
                changed: s
                    .log
                    .iter()
                    .filter(|(n, _)| *n > since)
                    .map(|(_, id)| id.clone())
                    .collect(),
                deleted: Vec::new(),
                cursor: s.seq.to_string(),
            })
        }
        fn fetch(&mut self, _: &Collection, ids: &[String]) -> Result<Vec<(String, Item)>> {
            let s = self.0.lock().unwrap();
            Ok(ids
                .iter()
                .filter_map(|id| s.items.get(id).map(|i| (id.clone(), i.clone())))
                .collect())
        }
        fn add(&mut self, _: &Collection, _: &Item) -> Result<String> {
            unused()
        }
        fn replace(&mut self, _: &Collection, _: &str, _: &Item) -> Result<()> {
            unused()
        }
        fn delete(&mut self, _: &Collection, _: &str) -> Result<()> {
            unused()
        }
        fn move_item(&mut self, _: &Collection, _: &str, _: &Collection) -> Result<String> {
            unused()
        }
    }

    fn watched(class: Class, collection_id: &str, cursor: u64, filter_type: u32) -> Watched {
        Watched {
            folder: Folder {
                server_id: format!("F{collection_id}"),
                parent_id: "0".into(),
                display_name: collection_id.into(),
                folder_type: 9,
                class,
                collection_id: collection_id.into(),
            },
            state: Some(CollectionState {
                cursor: Some(cursor.to_string()),
                filter_type,
                ..Default::default()
            }),
        }
    }

    fn contact(name: &str) -> Item {
        Item::Contact(Contact {
            first_name: Some(name.into()),
            ..Default::default()
        })
    }

    fn event_in(year: i32) -> Item {
        let at = |h| When::At(Utc.with_ymd_and_hms(year, 6, 1, h, 0, 0).unwrap());
        Item::Event(Event {
            subject: Some(format!("in {year}")),
            start: Some(at(10)),
            end: Some(at(11)),
            ..Default::default()
        })
    }

    fn schedule(heartbeat_ms: u64) -> Schedule {
        Schedule {
            heartbeat: Duration::from_millis(heartbeat_ms),
            poll: Duration::from_millis(20),
        }
    }

    fn claim() -> (tempfile::TempDir, latest::Claim) {
        let dir = tempfile::tempdir().unwrap();
        let c = latest::claim(dir.path());
        (dir, c)
    }

    #[test]
    fn expires_without_changes_polling_once_per_interval() {
        let store = Shared::default();
        let (_dir, claim) = claim();
        let mut w = [watched(Class::Contacts, "book", 0, 0)];
        let end = wait(
            &mut Fake(store.clone()),
            "u-expire",
            &mut w,
            schedule(200),
            &claim,
        )
        .unwrap();
        assert_eq!(end, WaitEnd::Expired);
        let calls = store.lock().unwrap().cursor_calls;
        // 200 ms at one poll per 20 ms: about 11 calls, never a busy loop.
        assert!((2..=20).contains(&calls), "{calls} cursor calls");
    }

    #[test]
    fn a_change_by_another_device_ends_the_wait_but_own_writes_do_not() {
        let store = Shared::default();
        store.lock().unwrap().put("mine", contact("mine"));
        let (_dir, claim) = claim();
        let mut w = [watched(Class::Contacts, "book", 0, 0)];
        w[0].state
            .as_mut()
            .unwrap()
            .own_writes
            .insert("mine".into());
        let end = wait(
            &mut Fake(store.clone()),
            "u-own",
            &mut w,
            schedule(100),
            &claim,
        )
        .unwrap();
        assert_eq!(end, WaitEnd::Expired, "an echo of the device's own write");
        assert_eq!(
            w[0].state.as_ref().unwrap().cursor.as_deref(),
            Some("1"),
            "baseline moved on"
        );

        let writer = {
            let store = store.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                store.lock().unwrap().put("theirs", contact("theirs"));
            })
        };
        let end = wait(
            &mut Fake(store.clone()),
            "u-own",
            &mut w,
            schedule(5000),
            &claim,
        )
        .unwrap();
        writer.join().unwrap();
        assert_eq!(end, WaitEnd::Changed(vec!["Fbook".into()]));
    }

    /// A write through this process: wait (blocking the thread) until the
    /// wait under test has read its cursors once, then write `id` and report it.
    fn write_here_once_watched(
        store: &Shared,
        user: &'static str,
        id: &'static str,
    ) -> std::thread::JoinHandle<()> {
        let store = store.clone();
        std::thread::spawn(move || {
            while store.lock().unwrap().cursor_calls == 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
            store.lock().unwrap().put(id, contact(id));
            let book = watched(Class::Contacts, "book", 0, 0).folder.collection();
            written(user, &[book]);
        })
    }

    #[test]
    fn a_write_here_ends_the_wait_without_waiting_for_the_poll() {
        let store = Shared::default();
        let (_dir, claim) = claim();
        let mut w = [watched(Class::Contacts, "book", 0, 0)];
        // Polls every 2 min, heartbeat 30 s: only the write's wake-up reads
        // the cursor again before the wait would expire.
        let long = Schedule {
            heartbeat: Duration::from_secs(30),
            poll: Duration::from_secs(120),
        };
        let writer = write_here_once_watched(&store, "u-here", "theirs");
        let end = wait(&mut Fake(store.clone()), "u-here", &mut w, long, &claim).unwrap();
        writer.join().unwrap();
        assert_eq!(end, WaitEnd::Changed(vec!["Fbook".into()]));
        assert_eq!(store.lock().unwrap().cursor_calls, 2);
    }

    #[test]
    fn a_woken_wait_sleeps_on_when_the_write_was_the_devices_own() {
        let store = Shared::default();
        let (_dir, claim) = claim();
        let mut w = [watched(Class::Contacts, "book", 0, 0)];
        w[0].state
            .as_mut()
            .unwrap()
            .own_writes
            .insert("mine".into());
        let short = Schedule {
            heartbeat: Duration::from_secs(2),
            poll: Duration::from_secs(120),
        };
        let writer = write_here_once_watched(&store, "u-here-own", "mine");
        let end = wait(
            &mut Fake(store.clone()),
            "u-here-own",
            &mut w,
            short,
            &claim,
        )
        .unwrap();
        writer.join().unwrap();
        assert_eq!(end, WaitEnd::Expired, "its own write is no news");
        assert_eq!(
            store.lock().unwrap().cursor_calls,
            2,
            "woken once, looked, slept on"
        );
        assert_eq!(w[0].state.as_ref().unwrap().cursor.as_deref(), Some("1"));
    }

    #[test]
    fn pending_changes_answer_at_once() {
        let (_dir, claim) = claim();
        let mut w = [watched(Class::Contacts, "book", 0, 0)];
        w[0].state.as_mut().unwrap().pending.push_back(Pending {
            op: Op::Add,
            id: "x".into(),
        });
        let end = wait(
            &mut Fake(Shared::default()),
            "u-pending",
            &mut w,
            schedule(5000),
            &claim,
        )
        .unwrap();
        assert_eq!(end, WaitEnd::Changed(vec!["Fbook".into()]));
    }

    #[test]
    fn calendar_changes_outside_the_filter_window_do_not_wake() {
        let store = Shared::default();
        store.lock().unwrap().put("old", event_in(2020));
        let (_dir, claim) = claim();
        // FilterType 4: two weeks back.
        let mut w = [watched(Class::Calendar, "cal", 0, 4)];
        let end = wait(
            &mut Fake(store.clone()),
            "u-cal",
            &mut w,
            schedule(100),
            &claim,
        )
        .unwrap();
        assert_eq!(
            end,
            WaitEnd::Expired,
            "an event edited in 2020 is outside the window"
        );

        let this_year: i32 = Utc::now().format("%Y").to_string().parse().unwrap();
        store.lock().unwrap().put("soon", event_in(this_year + 1));
        let end = wait(
            &mut Fake(store.clone()),
            "u-cal",
            &mut w,
            schedule(5000),
            &claim,
        )
        .unwrap();
        assert_eq!(end, WaitEnd::Changed(vec!["Fcal".into()]));

        // Without a FilterType every event counts.
        let mut all = [watched(Class::Calendar, "cal", 0, 0)];
        store.lock().unwrap().put("old", event_in(2020));
        let end = wait(
            &mut Fake(store.clone()),
            "u-cal2",
            &mut all,
            schedule(5000),
            &claim,
        )
        .unwrap();
        assert_eq!(end, WaitEnd::Changed(vec!["Fcal".into()]));
    }

    #[test]
    fn a_newer_claim_of_the_device_wakes_the_held_wait_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = latest::claim(dir.path());
        let newer = {
            let path = dir.path().to_path_buf();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                latest::claim(&path)
            })
        };
        let mut w = [watched(Class::Contacts, "book", 0, 0)];
        let start = Instant::now();
        // A 60 s heartbeat: only the wake-up can end this wait in time.
        let end = wait(
            &mut Fake(Shared::default()),
            "u-claim",
            &mut w,
            schedule(60_000),
            &first,
        )
        .unwrap();
        let _newer = newer.join().unwrap();
        assert_eq!(end, WaitEnd::Interrupted);
        assert!(start.elapsed() < Duration::from_secs(30));
    }
}
