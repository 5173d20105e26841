//! Waiting for changes: the machinery behind Ping and Sync with Wait /
//! HeartbeatInterval (MS-ASCMD 2.2.1.13, 2.2.3.198).
//!
//! A wait polls the backend every `poll_interval` with one cheap call per
//! watched folder (the folder's change cursor) and looks at its own device's
//! "latest request" token every second, so a newer Ping or Sync of the same
//! device ends it at once. It holds no lock while it waits.

use crate::backend::{self, Session};
use crate::engine::collection::CollectionState;
use crate::engine::hierarchy::Folder;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Set by the front end on SIGTERM: held requests answer at once.
pub static SHUTDOWN: AtomicBool = AtomicBool::new(false);

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

/// Folders that have something for the device right now: pending changes in
/// their state, or backend changes since the state's cursor that are not the
/// device's own writes. One cursor call per folder; a `changes` call only
/// when the cursor moved.
pub fn changed_folders(
    session: &mut dyn Session,
    watched: &mut [Watched],
) -> backend::Result<Vec<String>> {
    let mut out = Vec::new();
    for w in watched.iter_mut() {
        let Some(state) = w.state.as_mut() else {
            continue; // never synced: nothing the device is waiting for
        };
        if !state.pending.is_empty() {
            out.push(w.folder.server_id.clone());
            continue;
        }
        let Some(since) = state.cursor.clone() else {
            continue;
        };
        let collection = w.folder.collection();
        if session.cursor(&collection)? == since {
            continue;
        }
        let changes = session.changes(&collection, &since)?;
        let own: BTreeSet<String> = state.own_writes.clone();
        let relevant = changes.deleted.iter().any(|id| state.known.contains(id))
            || changes.changed.iter().any(|id| !own.contains(id));
        if relevant {
            out.push(w.folder.server_id.clone());
        } else {
            // Only echoes of the device's own writes: move the baseline on.
            state.cursor = Some(changes.cursor);
        }
    }
    Ok(out)
}

/// Wait until a watched folder changes, the heartbeat passes, or
/// `interrupted` says a newer request took over.
pub fn wait(
    session: &mut dyn Session,
    watched: &mut [Watched],
    heartbeat: Duration,
    poll: Duration,
    interrupted: &dyn Fn() -> bool,
) -> backend::Result<WaitEnd> {
    let start = Instant::now();
    let deadline = start + heartbeat;
    let tick = Duration::from_millis(250).min(poll);
    let mut next_poll = start;
    loop {
        if SHUTDOWN.load(Ordering::Relaxed) || interrupted() {
            return Ok(WaitEnd::Interrupted);
        }
        let now = Instant::now();
        if now >= next_poll {
            let changed = changed_folders(session, watched)?;
            if !changed.is_empty() {
                return Ok(WaitEnd::Changed(changed));
            }
            next_poll = now + poll;
        }
        if now >= deadline {
            return Ok(WaitEnd::Expired);
        }
        std::thread::sleep(
            tick.min(deadline.saturating_duration_since(now))
                .max(Duration::from_millis(1)),
        );
    }
}

/// "Which request of this device is the newest": a token each Ping and Sync
/// claims on arrival, kept in memory for requests of this process (FastCGI,
/// serve) and in a small file for other processes (CGI). A held request whose
/// token is no longer current was superseded and answers at once.
pub mod latest {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    static IN_PROCESS: Mutex<Option<HashMap<PathBuf, u64>>> = Mutex::new(None);
    const FILE: &str = "latest-request";

    /// A claimed token and where to look for newer ones.
    pub struct Claim {
        file: PathBuf,
        token: u64,
        checked_file: std::cell::Cell<Instant>,
    }

    fn random() -> u64 {
        let mut b = [0u8; 8];
        getrandom::getrandom(&mut b).unwrap_or(());
        u64::from_le_bytes(b)
    }

    /// Claim "newest request" for the device whose folder is `dir`.
    pub fn claim(dir: &Path) -> Claim {
        let file = dir.join(FILE);
        let token = random();
        IN_PROCESS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(HashMap::new)
            .insert(file.clone(), token);
        // Best effort: a lost write only delays the older request's end to its heartbeat.
        let _ = std::fs::create_dir_all(dir);
        let tmp = dir.join(format!("{FILE}.{token:x}.tmp"));
        if std::fs::write(&tmp, token.to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, &file);
        }
        Claim {
            file,
            token,
            checked_file: std::cell::Cell::new(Instant::now()),
        }
    }

    impl Claim {
        /// True once a newer request of the same device claimed the token.
        /// The memory check is free; the file is read at most every 2 s.
        pub fn superseded(&self) -> bool {
            let in_memory = IN_PROCESS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .and_then(|m| m.get(&self.file).copied());
            if in_memory.is_some_and(|t| t != self.token) {
                return true;
            }
            if self.checked_file.get().elapsed() < Duration::from_secs(2) {
                return false;
            }
            self.checked_file.set(Instant::now());
            std::fs::read_to_string(&self.file)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .is_some_and(|t| t != self.token)
        }
    }
}
