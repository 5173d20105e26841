//! Per-device state: info files, per-folder sync states, locks, sync keys.
//!
//! Everything lives under `[server] state_dir`, one folder per user, so two
//! users with the same DeviceId never share anything (layout in
//! [`device`]). Every write is atomic ([`atomic`]); mutating requests of one
//! device are serialised by an exclusive fs2 lock ([`Store::open`]); a held
//! Ping works from an unlocked snapshot ([`Store::open_shared`]) so it never
//! blocks the same device's Sync.

mod atomic;
mod device;
mod ids;
mod info;
mod synckey;
mod user_file;

pub use atomic::random_u32;
pub use device::Device;
pub use ids::{validate, IdKind};
pub use info::{DeviceInfo, RwStatus, WipeKind};
pub use synckey::SyncKey;
pub use user_file::{load_user_file, save_user_file};

use device::{read_info, DevicePaths};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Why a state operation failed. [`StateError::InvalidId`] and
/// [`StateError::InvalidSyncKey`] are the client's fault (HTTP 400 / a
/// protocol status); the others are the server's.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A User, DeviceId or folder name that could escape its folder or is
    /// otherwise not allowed. No file was touched.
    #[error("invalid id: {0}")]
    InvalidId(String),
    #[error("invalid sync key {0:?}")]
    InvalidSyncKey(String),
    /// A state file exists but cannot be read (e.g. a bad hand edit).
    #[error("unreadable state file {}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// A write through a snapshot handle that does not hold the lock.
    #[error("device state must be locked before it is written")]
    NotLocked,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
}

impl StateError {
    fn io(context: String, source: io::Error) -> StateError {
        StateError::Io { context, source }
    }
}

/// One listed device: its user and id, and its info or why it is unreadable.
pub struct DeviceEntry {
    pub user: String,
    pub device_id: String,
    pub info: Result<DeviceInfo, StateError>,
}

/// The state folder.
#[derive(Debug, Clone)]
pub struct Store {
    state_dir: PathBuf,
}

impl Store {
    pub fn new(state_dir: PathBuf) -> Store {
        Store { state_dir }
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Open a device for a mutating request: validates both ids (touching
    /// nothing when they are bad), creates `state/<user>/<deviceid>/` (0700)
    /// and waits for the device's exclusive lock, held until the handle is
    /// dropped.
    pub fn open(&self, user: &str, device_id: &str) -> Result<Device, StateError> {
        let paths = DevicePaths::new(&self.state_dir, user, device_id)?;
        Device::open_locked(paths, user, device_id)
    }

    /// A snapshot for requests that wait (Ping): validates the ids and reads
    /// the info file without taking or waiting for the lock, and creates
    /// nothing. Call [`Device::lock`] briefly before saving.
    pub fn open_shared(&self, user: &str, device_id: &str) -> Result<Device, StateError> {
        let paths = DevicePaths::new(&self.state_dir, user, device_id)?;
        Device::snapshot(paths, user, device_id)
    }

    /// Remove a device's info and folder states under its lock; the next
    /// request of that device starts from scratch. Returns false when there
    /// was no info file.
    pub fn remove(&self, user: &str, device_id: &str) -> Result<bool, StateError> {
        let known = !self.open_shared(user, device_id)?.is_new();
        if !known && !self.state_dir.join(user).join(device_id).is_dir() {
            return Ok(false);
        }
        let mut device = self.open(user, device_id)?;
        let existed = !device.is_new();
        device.remove_all()?;
        Ok(existed)
    }

    /// Every device with an info file, optionally of one user, sorted by
    /// user and device id. Reads without locks (files are replaced
    /// atomically); an unreadable info file is listed with its error.
    pub fn list(&self, user: Option<&str>) -> Result<Vec<DeviceEntry>, StateError> {
        let users = match user {
            Some(u) => {
                validate(IdKind::User, u)?;
                vec![u.to_string()]
            }
            None => names_in(&self.state_dir)?
                .into_iter()
                .filter(|u| validate(IdKind::User, u).is_ok())
                .filter(|u| self.state_dir.join(u).is_dir())
                .collect(),
        };
        let mut out = Vec::new();
        for user in users {
            let dir = self.state_dir.join(&user);
            for name in names_in(&dir)? {
                let Some(device_id) = name.strip_prefix("info-") else {
                    continue;
                };
                if validate(IdKind::DeviceId, device_id).is_err() {
                    continue;
                }
                let info = read_info(&dir.join(&name)).and_then(|i| {
                    i.ok_or_else(|| StateError::io(name.clone(), io::ErrorKind::NotFound.into()))
                });
                out.push(DeviceEntry {
                    user: user.clone(),
                    device_id: device_id.to_string(),
                    info,
                });
            }
        }
        out.sort_by(|a, b| (&a.user, &a.device_id).cmp(&(&b.user, &b.device_id)));
        Ok(out)
    }
}

/// Names in a folder; empty when the folder does not exist.
fn names_in(dir: &Path) -> Result<Vec<String>, StateError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StateError::io(format!("listing {}", dir.display()), e)),
    };
    entries
        .map(|e| {
            e.map(|e| e.file_name().to_string_lossy().into_owned())
                .map_err(|e| StateError::io(format!("listing {}", dir.display()), e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::mpsc;
    use std::time::Duration;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("state"));
        (dir, store)
    }

    #[test]
    fn bad_ids_touch_nothing() {
        let (_tmp, store) = store();
        for (user, dev) in [
            ("../x", "d"),
            ("u", "../../etc"),
            ("/abs", "d"),
            ("u", "a\\b"),
            ("u", "a\0"),
        ] {
            assert!(matches!(
                store.open(user, dev),
                Err(StateError::InvalidId(_))
            ));
            assert!(matches!(
                store.open_shared(user, dev),
                Err(StateError::InvalidId(_))
            ));
        }
        assert!(!store.state_dir().exists(), "nothing was created");
    }

    #[test]
    fn open_creates_private_folders_and_saves_private_info() {
        let (_tmp, store) = store();
        let mut d = store.open("jane", "DEV1").unwrap();
        assert!(d.is_new());
        d.info.policykey = 42;
        d.save_info().unwrap();
        drop(d);
        let user_dir = store.state_dir().join("jane");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&user_dir), 0o700);
        assert_eq!(mode(&user_dir.join("DEV1")), 0o700);
        assert_eq!(mode(&user_dir.join("info-DEV1")), 0o600);
        let again = store.open("jane", "DEV1").unwrap();
        assert!(!again.is_new());
        assert_eq!(again.info.policykey, 42);
        assert_eq!(again.info.device_id, "DEV1");
    }

    #[test]
    fn users_do_not_share_devices() {
        let (_tmp, store) = store();
        let mut a = store.open("alice", "SAME").unwrap();
        a.info.policykey = 7;
        a.save_info().unwrap();
        drop(a);
        let b = store.open("bob", "SAME").unwrap();
        assert!(b.is_new());
        assert_eq!(b.info.policykey, 0);
    }

    #[test]
    fn snapshot_cannot_write_until_locked_and_reloads() {
        let (_tmp, store) = store();
        let mut snap = store.open_shared("jane", "DEV").unwrap();
        assert!(!store.state_dir().exists(), "a snapshot creates nothing");
        snap.info.policykey = 1;
        assert!(matches!(snap.save_info(), Err(StateError::NotLocked)));
        let mut writer = store.open("jane", "DEV").unwrap();
        writer.info.rwstatus = RwStatus::Pending;
        writer.save_info().unwrap();
        drop(writer);
        snap.lock().unwrap();
        assert_eq!(snap.info.rwstatus, RwStatus::Pending, "lock reloads");
        snap.info.ping = serde_json::json!({"heartbeat": 480});
        snap.save_info().unwrap();
        let back = store.open_shared("jane", "DEV").unwrap();
        assert_eq!(back.info.rwstatus, RwStatus::Pending);
        assert_eq!(back.info.ping["heartbeat"], 480);
    }

    #[test]
    fn exclusive_lock_serialises_but_snapshots_do_not_wait() {
        let (_tmp, store) = store();
        let held = store.open("jane", "DEV").unwrap();
        // A snapshot reads while the lock is held.
        store.open_shared("jane", "DEV").unwrap();
        let (tx, rx) = mpsc::channel();
        let s2 = store.clone();
        let t = std::thread::spawn(move || {
            let _d = s2.open("jane", "DEV").unwrap();
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "second writer waits"
        );
        drop(held);
        rx.recv_timeout(Duration::from_secs(60))
            .expect("second writer gets the lock");
        t.join().unwrap();
    }

    #[test]
    fn folder_states_keep_previous_key_and_collect_older() {
        let (_tmp, store) = store();
        let mut d = store.open("jane", "DEV").unwrap();
        let k1 = SyncKey::first();
        let k2 = k1.next();
        let k3 = k2.next();
        d.save_folder_state("contacts", &k1, b"one").unwrap();
        d.save_folder_state("contacts", &k2, b"two").unwrap();
        assert_eq!(d.folder_state_counters("contacts").unwrap(), [1, 2]);
        assert_eq!(
            d.load_folder_state("contacts", &k1).unwrap().unwrap(),
            b"one"
        );
        d.save_folder_state("contacts", &k3, b"three").unwrap();
        assert_eq!(d.folder_state_counters("contacts").unwrap(), [2, 3]);
        assert_eq!(d.load_folder_state("contacts", &k1).unwrap(), None);
        assert_eq!(
            d.load_folder_state("contacts", &k2).unwrap().unwrap(),
            b"two"
        );
        // Resending the previous key and saving its successor again is fine.
        d.save_folder_state("contacts", &k3, b"three again")
            .unwrap();
        assert_eq!(
            d.load_folder_state("contacts", &k3).unwrap().unwrap(),
            b"three again"
        );
        // Other folders are untouched by this folder's collection.
        d.save_folder_state("contacts-2", &SyncKey::first(), b"x")
            .unwrap();
        assert_eq!(d.folder_state_counters("contacts").unwrap(), [2, 3]);
    }

    #[test]
    fn a_key_of_another_lineage_finds_nothing() {
        let (_tmp, store) = store();
        let mut d = store.open("jane", "DEV").unwrap();
        let old = SyncKey::first();
        d.save_folder_state("cal", &old, b"old").unwrap();
        let fresh = SyncKey::INITIAL.next();
        assert_eq!(fresh.counter(), old.counter());
        assert_eq!(d.load_folder_state("cal", &fresh).unwrap(), None);
        assert_eq!(d.load_folder_state("cal", &SyncKey::INITIAL).unwrap(), None);
        d.save_folder_state("cal", &fresh, b"new").unwrap();
        assert_eq!(d.load_folder_state("cal", &old).unwrap(), None);
        assert_eq!(d.load_folder_state("cal", &fresh).unwrap().unwrap(), b"new");
    }

    #[test]
    fn reset_removes_all_states_of_the_folder() {
        let (_tmp, store) = store();
        let mut d = store.open("jane", "DEV").unwrap();
        let k = SyncKey::first();
        d.save_folder_state("mail", &k, b"a").unwrap();
        d.save_folder_state("mail", &k.next(), b"b").unwrap();
        d.save_folder_state("notes", &k, b"c").unwrap();
        d.reset_folder("mail").unwrap();
        assert!(d.folder_state_counters("mail").unwrap().is_empty());
        assert_eq!(d.folder_state_counters("notes").unwrap(), [1]);
        assert!(matches!(
            d.reset_folder("../x"),
            Err(StateError::InvalidId(_))
        ));
        assert!(matches!(
            d.save_folder_state("a/b", &k, b""),
            Err(StateError::InvalidId(_))
        ));
    }

    #[test]
    fn corrupt_files_are_reported_not_guessed() {
        let (_tmp, store) = store();
        let mut d = store.open("jane", "DEV").unwrap();
        d.save_info().unwrap();
        let k = SyncKey::first();
        d.save_folder_state("x", &k, b"ok").unwrap();
        drop(d);
        let dir = store.state_dir().join("jane");
        fs::write(dir.join("DEV/x.1"), b"garbage without newline").unwrap();
        fs::write(dir.join("info-DEV"), b"{ \"rwstatus\": 2, ").unwrap();
        assert!(matches!(
            store.open("jane", "DEV"),
            Err(StateError::Corrupt { .. })
        ));
        fs::write(dir.join("info-DEV"), b"{}").unwrap();
        let d = store.open("jane", "DEV").unwrap();
        assert!(matches!(
            d.load_folder_state("x", &k),
            Err(StateError::Corrupt { .. })
        ));
    }

    #[test]
    fn stale_temp_files_are_cleaned_under_the_lock() {
        let (_tmp, store) = store();
        let mut d = store.open("jane", "DEV").unwrap();
        d.save_info().unwrap();
        drop(d);
        let dir = store.state_dir().join("jane");
        fs::write(dir.join(".tmp-1-00000001-info-DEV"), b"half").unwrap();
        fs::write(dir.join(".tmp-1-00000001-info-OTHER"), b"half").unwrap();
        fs::write(dir.join("DEV/.tmp-1-00000001-x.3"), b"half").unwrap();
        drop(store.open("jane", "DEV").unwrap());
        assert!(!dir.join(".tmp-1-00000001-info-DEV").exists());
        assert!(!dir.join("DEV/.tmp-1-00000001-x.3").exists());
        assert!(dir.join(".tmp-1-00000001-info-OTHER").exists());
    }

    #[test]
    fn list_and_remove() {
        let (_tmp, store) = store();
        for (u, d) in [("bob", "B1"), ("alice", "A2"), ("alice", "A1")] {
            let mut dev = store.open(u, d).unwrap();
            dev.save_info().unwrap();
            dev.save_folder_state("f", &SyncKey::first(), b"s").unwrap();
        }
        let all: Vec<_> = store
            .list(None)
            .unwrap()
            .into_iter()
            .map(|e| format!("{}/{}", e.user, e.device_id))
            .collect();
        assert_eq!(all, ["alice/A1", "alice/A2", "bob/B1"]);
        assert_eq!(store.list(Some("bob")).unwrap().len(), 1);
        assert!(store.list(Some("..")).is_err());
        assert!(store.remove("alice", "A1").unwrap());
        assert!(!store.remove("alice", "A1").unwrap());
        assert!(!store.remove("alice", "NEVER").unwrap());
        assert!(!store.state_dir().join("alice/NEVER").exists());
        assert_eq!(store.list(Some("alice")).unwrap().len(), 1);
        let d = store.open("alice", "A1").unwrap();
        assert!(d.is_new());
        assert!(d.folder_state_counters("f").unwrap().is_empty());
    }

    #[test]
    fn a_hand_edit_during_a_request_survives_its_save() {
        let (_tmp, store) = store();
        let mut d = store.open("jane", "DEV").unwrap();
        d.info.policykey = 99;
        d.info.rwstatus = RwStatus::Ok;
        d.save_info().unwrap();
        // The admin edits the file while the request still holds the lock.
        let path = store.state_dir().join("jane/info-DEV");
        let text = fs::read_to_string(&path).unwrap();
        let edited = text
            .replace("\"rwstatus\": 1", "\"rwstatus\": 2")
            .replace("\"policykey\": 99", "\"policykey\": 0");
        fs::write(&path, edited).unwrap();
        d.info.hierarchy = serde_json::json!(["folders"]);
        d.save_info().unwrap();
        drop(d);
        let back = store.open_shared("jane", "DEV").unwrap().info;
        assert_eq!(back.rwstatus, RwStatus::Pending);
        assert_eq!(back.policykey, 0);
        assert_eq!(back.hierarchy, serde_json::json!(["folders"]));
        // A request's own change of those fields is kept when nobody edited.
        let mut d = store.open("jane", "DEV").unwrap();
        d.info.rwstatus = RwStatus::Wiped;
        d.save_info().unwrap();
        d.info.policykey = 5;
        d.save_info().unwrap();
        drop(d);
        let back = store.open_shared("jane", "DEV").unwrap().info;
        assert_eq!((back.rwstatus, back.policykey), (RwStatus::Wiped, 5));
    }

    #[test]
    fn note_request_records_first_and_last_seen() {
        let (_tmp, store) = store();
        let mut d = store.open("jane", "DEV").unwrap();
        let t1 = chrono::DateTime::parse_from_rfc3339("2026-11-27T01:00:00Z")
            .unwrap()
            .to_utc();
        let t2 = chrono::DateTime::parse_from_rfc3339("2026-11-27T02:00:00Z")
            .unwrap()
            .to_utc();
        d.note_request("iPhone", "Apple-iPhone/1", "14.1", t1);
        d.note_request("", "", "16.1", t2);
        assert_eq!(d.info.first_seen, "2026-11-27T01:00:00Z");
        assert_eq!(d.info.last_request, "2026-11-27T02:00:00Z");
        // Within the minute the stamp stays, so an idle request writes nothing.
        d.note_request("", "", "16.1", t2 + chrono::Duration::seconds(30));
        assert_eq!(d.info.last_request, "2026-11-27T02:00:00Z");
        d.note_request("", "", "16.1", t2 + chrono::Duration::seconds(61));
        assert_eq!(d.info.last_request, "2026-11-27T02:01:01Z");
        assert_eq!(d.info.device_type, "iPhone");
        assert_eq!(d.info.protocol_version, "16.1");
    }
}
