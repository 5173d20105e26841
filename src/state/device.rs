//! One device's state on disk and the lock that serialises its writers.
//!
//! Layout (see docs/ARCHITECTURE.md):
//! ```text
//! state/<user>/info-<deviceid>          DeviceInfo as pretty JSON
//! state/<user>/<deviceid>/<name>.<n>    state of folder <name> for sync key {uuid}n
//! state/<user>/<deviceid>/lock          fs2 (flock) lock file, never removed
//! ```
//! A folder state file starts with the full sync key on its own line, so a
//! key of an older lineage (before a reset) with the same counter is never
//! taken for the current one.

use super::atomic;
use super::ids::{validate, IdKind};
use super::{DeviceInfo, StateError, SyncKey};
use chrono::{DateTime, SecondsFormat, Utc};
use fs2::FileExt;
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Where one device's files live.
#[derive(Debug, Clone)]
pub(super) struct DevicePaths {
    pub user_dir: PathBuf,
    pub info: PathBuf,
    pub dir: PathBuf,
}

impl DevicePaths {
    /// Validate both ids and build the paths; no file is touched.
    pub fn new(state_dir: &Path, user: &str, device_id: &str) -> Result<DevicePaths, StateError> {
        validate(IdKind::User, user)?;
        validate(IdKind::DeviceId, device_id)?;
        let user_dir = state_dir.join(user);
        Ok(DevicePaths {
            info: user_dir.join(format!("info-{device_id}")),
            dir: user_dir.join(device_id),
            user_dir,
        })
    }

    fn lock_file(&self) -> PathBuf {
        self.dir.join("lock")
    }
}

/// Seconds `last_request` may lag behind the newest request.
const LAST_REQUEST_STEP: i64 = 60;

/// A device's state. Opened with [`super::Store::open`] it holds the
/// device's exclusive lock until dropped; opened with
/// [`super::Store::open_shared`] it is a snapshot that holds no lock and must
/// call [`Device::lock`] before saving anything.
#[derive(Debug)]
pub struct Device {
    pub info: DeviceInfo,
    paths: DevicePaths,
    lock: Option<File>,
    is_new: bool,
    /// `info` as last read from or written to disk under the lock; a file
    /// that differs from it at save time was edited by hand meanwhile.
    on_disk: Option<DeviceInfo>,
}

impl Device {
    /// Take the exclusive lock (creating the folders 0700 if needed) and load
    /// the info file.
    pub(super) fn open_locked(
        paths: DevicePaths,
        user: &str,
        id: &str,
    ) -> Result<Device, StateError> {
        let mut device = Device::snapshot(paths, user, id)?;
        device.lock()?;
        Ok(device)
    }

    /// Read the info file without any lock: files are replaced atomically,
    /// so a reader sees a whole old or a whole new file.
    pub(super) fn snapshot(paths: DevicePaths, user: &str, id: &str) -> Result<Device, StateError> {
        let (info, is_new) = match read_info(&paths.info)? {
            Some(info) => (info, false),
            None => (
                DeviceInfo {
                    user: user.to_string(),
                    device_id: id.to_string(),
                    ..Default::default()
                },
                true,
            ),
        };
        Ok(Device {
            info,
            paths,
            lock: None,
            is_new,
            on_disk: None,
        })
    }

    /// Take the device's exclusive lock (waiting for the current holder) and
    /// reload `info` from disk, since another request may have changed it
    /// while this handle was unlocked: changes made to `info` before calling
    /// this are discarded, so apply them afterwards. Leftover temporary files
    /// of killed writers are removed. Does nothing when already locked.
    pub fn lock(&mut self) -> Result<(), StateError> {
        if self.lock.is_some() {
            return Ok(());
        }
        let dir = self.paths.dir.display().to_string();
        let io = |what: &str| {
            let context = format!("{what} {dir}");
            move |e| StateError::io(context, e)
        };
        atomic::create_private_dir(&self.paths.dir).map_err(io("creating"))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(self.paths.lock_file())
            .map_err(io("opening the lock in"))?;
        file.lock_exclusive().map_err(io("locking"))?;
        self.lock = Some(file);
        atomic::remove_stale_temps(&self.paths.user_dir, &info_name(&self.info.device_id))
            .map_err(io("cleaning"))?;
        self.remove_stale_folder_temps().map_err(io("cleaning"))?;
        if let Some(info) = read_info(&self.paths.info)? {
            self.info = info.clone();
            self.is_new = false;
            self.on_disk = Some(info);
        }
        Ok(())
    }

    /// Release the lock early (dropping the handle releases it too).
    pub fn unlock(&mut self) {
        self.lock = None;
    }

    pub fn is_locked(&self) -> bool {
        self.lock.is_some()
    }

    /// True when no info file existed when this handle was opened or locked.
    pub fn is_new(&self) -> bool {
        self.is_new
    }

    /// Record the fields every request carries and the time of the request
    /// (to the minute: `last_request` moves when it is a minute old); the
    /// first request also sets `first_seen`. Does not save.
    pub fn note_request(
        &mut self,
        device_type: &str,
        user_agent: &str,
        version: &str,
        now: DateTime<Utc>,
    ) {
        let stamp = now.to_rfc3339_opts(SecondsFormat::Secs, true);
        let info = &mut self.info;
        if info.first_seen.is_empty() {
            info.first_seen = stamp.clone();
        }
        // To the minute: a request that changes nothing else then writes
        // nothing (see `save_info`), instead of an fsync'ed file every time.
        let last = DateTime::parse_from_rfc3339(&info.last_request).ok();
        if last.is_none_or(|last| (now - last.to_utc()).num_seconds().abs() >= LAST_REQUEST_STEP) {
            info.last_request = stamp;
        }
        for (field, value) in [
            (&mut info.device_type, device_type),
            (&mut info.user_agent, user_agent),
            (&mut info.protocol_version, version),
        ] {
            if !value.is_empty() {
                *field = value.to_string();
            }
        }
    }

    /// Write `info` atomically (0600). Needs the lock.
    ///
    /// An administrator's editor takes no lock, so the file may have been
    /// edited by hand since this request read it. The fields the manual wipe
    /// procedure edits, `rwstatus` and `policykey`, are then taken from the
    /// edited file, so a request that was running during the edit cannot
    /// undo it.
    pub fn save_info(&mut self) -> Result<(), StateError> {
        self.require_lock()?;
        if self.on_disk.as_ref() == Some(&self.info) {
            return Ok(()); // unchanged: the file on disk says it all
        }
        self.adopt_hand_edits()?;
        let mut text =
            serde_json::to_string_pretty(&self.info).map_err(|e| StateError::Corrupt {
                path: self.paths.info.clone(),
                reason: e.to_string(),
            })?;
        text.push('\n');
        atomic::write(&self.paths.info, text.as_bytes())
            .map_err(|e| StateError::io(format!("writing {}", self.paths.info.display()), e))?;
        self.is_new = false;
        self.on_disk = Some(self.info.clone());
        Ok(())
    }

    fn adopt_hand_edits(&mut self) -> Result<(), StateError> {
        let Some(disk) = read_info(&self.paths.info)? else {
            return Ok(());
        };
        let before = self.on_disk.clone().unwrap_or_default();
        if disk.rwstatus != before.rwstatus {
            self.info.rwstatus = disk.rwstatus;
        }
        if disk.policykey != before.policykey {
            self.info.policykey = disk.policykey;
        }
        Ok(())
    }

    /// The state saved for `folder` under `key`; `None` for the initial key,
    /// an unknown key, or a key of another lineage (the client must then
    /// restart the folder with SyncKey 0).
    pub fn load_folder_state(
        &self,
        folder: &str,
        key: &SyncKey,
    ) -> Result<Option<Vec<u8>>, StateError> {
        validate(IdKind::Folder, folder)?;
        if key.is_initial() {
            return Ok(None);
        }
        let path = self.folder_file(folder, key.counter());
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateError::io(format!("reading {}", path.display()), e)),
        };
        let corrupt = |reason: &str| StateError::Corrupt {
            path: path.clone(),
            reason: reason.to_string(),
        };
        let newline = bytes
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| corrupt("no sync key line"))?;
        let stored: SyncKey = std::str::from_utf8(&bytes[..newline])
            .map_err(|_| corrupt("sync key line is not UTF-8"))?
            .parse()
            .map_err(|_| corrupt("sync key line is not a sync key"))?;
        Ok((stored == *key).then(|| bytes[newline + 1..].to_vec()))
    }

    /// Save the state of `folder` for `key` (the key about to be sent to the
    /// client). The state of the key before it stays, because the client may
    /// not have received this response and send the previous key again; all
    /// other states of the folder are removed. Needs the lock.
    pub fn save_folder_state(
        &mut self,
        folder: &str,
        key: &SyncKey,
        bytes: &[u8],
    ) -> Result<(), StateError> {
        validate(IdKind::Folder, folder)?;
        self.require_lock()?;
        if key.is_initial() {
            return Err(StateError::InvalidSyncKey("0 cannot carry a state".into()));
        }
        let n = key.counter();
        let path = self.folder_file(folder, n);
        let mut content = Vec::with_capacity(bytes.len() + 50);
        content.extend_from_slice(key.to_string().as_bytes());
        content.push(b'\n');
        content.extend_from_slice(bytes);
        atomic::write(&path, &content)
            .map_err(|e| StateError::io(format!("writing {}", path.display()), e))?;
        self.remove_folder_states(folder, |m| m != n && m + 1 != n)
    }

    /// Forget every state of `folder` (the client restarts it with key 0).
    /// Needs the lock.
    pub fn reset_folder(&mut self, folder: &str) -> Result<(), StateError> {
        validate(IdKind::Folder, folder)?;
        self.require_lock()?;
        self.remove_folder_states(folder, |_| true)
    }

    /// The newest state stored for `folder`, with its key (Ping and MoveItems
    /// look at where the device is now).
    pub fn latest_folder_state(
        &self,
        folder: &str,
    ) -> Result<Option<(SyncKey, Vec<u8>)>, StateError> {
        for n in self.folder_state_counters(folder)?.into_iter().rev() {
            let path = self.folder_file(folder, n);
            let bytes = match fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(StateError::io(format!("reading {}", path.display()), e)),
            };
            let Some(newline) = bytes.iter().position(|&b| b == b'\n') else {
                continue;
            };
            let key = std::str::from_utf8(&bytes[..newline])
                .ok()
                .and_then(|k| k.parse::<SyncKey>().ok());
            if let Some(key) = key {
                return Ok(Some((key, bytes[newline + 1..].to_vec())));
            }
        }
        Ok(None)
    }

    /// The device's own folder (for small per-device files such as the
    /// latest-request token of held Pings).
    pub fn dir(&self) -> &Path {
        &self.paths.dir
    }

    /// Counters of the states stored for `folder`, ascending.
    pub fn folder_state_counters(&self, folder: &str) -> Result<Vec<u32>, StateError> {
        validate(IdKind::Folder, folder)?;
        let mut found: Vec<u32> = self
            .list_dir()?
            .iter()
            .filter_map(|name| state_counter(name, folder))
            .collect();
        found.sort_unstable();
        Ok(found)
    }

    /// Every stored folder state as (name, counter), sorted.
    pub fn folder_states(&self) -> Result<Vec<(String, u32)>, StateError> {
        let mut found: Vec<(String, u32)> = self
            .list_dir()?
            .into_iter()
            .filter_map(|file| {
                let (name, _) = file.rsplit_once('.')?;
                validate(IdKind::Folder, name).ok()?;
                Some((name.to_string(), state_counter(&file, name)?))
            })
            .collect();
        found.sort();
        Ok(found)
    }

    /// Remove the info file and every folder state (not the lock file: a
    /// process waiting on it must keep locking the same file). Needs the
    /// lock; the handle is unusable afterwards except for dropping.
    pub(super) fn remove_all(&mut self) -> Result<(), StateError> {
        self.require_lock()?;
        for name in self.list_dir()? {
            if name != "lock" {
                remove_if_present(&self.paths.dir.join(name))?;
            }
        }
        remove_if_present(&self.paths.info)?;
        atomic::sync_dir(&self.paths.user_dir)
            .map_err(|e| StateError::io(format!("syncing {}", self.paths.user_dir.display()), e))
    }

    fn require_lock(&self) -> Result<(), StateError> {
        if self.lock.is_some() {
            Ok(())
        } else {
            Err(StateError::NotLocked)
        }
    }

    fn folder_file(&self, folder: &str, n: u32) -> PathBuf {
        self.paths.dir.join(format!("{folder}.{n}"))
    }

    fn remove_folder_states(
        &self,
        folder: &str,
        doomed: impl Fn(u32) -> bool,
    ) -> Result<(), StateError> {
        for name in self.list_dir()? {
            if state_counter(&name, folder).is_some_and(&doomed) {
                remove_if_present(&self.paths.dir.join(&name))?;
            }
        }
        Ok(())
    }

    fn remove_stale_folder_temps(&self) -> std::io::Result<()> {
        for entry in fs::read_dir(&self.paths.dir)? {
            let entry = entry?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(atomic::TEMP_PREFIX)
            {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }

    /// File names in the device folder (empty when it does not exist yet).
    fn list_dir(&self) -> Result<Vec<String>, StateError> {
        let entries = match fs::read_dir(&self.paths.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(StateError::io(
                    format!("listing {}", self.paths.dir.display()),
                    e,
                ))
            }
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry
                .map_err(|e| StateError::io(format!("listing {}", self.paths.dir.display()), e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }
}

/// File name of a device's info file.
pub(super) fn info_name(device_id: &str) -> String {
    format!("info-{device_id}")
}

/// Read and parse an info file; `None` when it does not exist.
pub(super) fn read_info(path: &Path) -> Result<Option<DeviceInfo>, StateError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StateError::io(format!("reading {}", path.display()), e)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| StateError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// `n` when `file_name` is `<folder>.<n>`.
fn state_counter(file_name: &str, folder: &str) -> Option<u32> {
    let digits = file_name.strip_prefix(folder)?.strip_prefix('.')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn remove_if_present(path: &Path) -> Result<(), StateError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StateError::io(format!("removing {}", path.display()), e)),
    }
}
