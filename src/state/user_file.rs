//! Per-user JSON files that belong to no device (e.g. the out-of-office
//! settings every device of the user reads and writes).
//!
//! They live beside the info files as `state/<user>/@<name>.json`: `@` is
//! not allowed in a DeviceId, so such a file never collides with a device's
//! folder, and it does not start with `info-`, so `devices list` never takes
//! it for a device. Writes are atomic; two devices writing at once means the
//! last one wins, which is what a user changing a setting expects.

use super::atomic;
use super::ids::{validate, IdKind};
use super::StateError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The file of setting `name` (a constant of the caller) of `user`.
fn path(state_dir: &Path, user: &str, name: &str) -> Result<PathBuf, StateError> {
    validate(IdKind::User, user)?;
    validate(IdKind::Folder, name)?;
    Ok(state_dir.join(user).join(format!("@{name}.json")))
}

/// The stored value, `None` when it was never written.
pub fn load_user_file<T: DeserializeOwned>(
    state_dir: &Path,
    user: &str,
    name: &str,
) -> Result<Option<T>, StateError> {
    let path = path(state_dir, user, name)?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StateError::io(format!("reading {}", path.display()), e)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| StateError::Corrupt {
            path,
            reason: e.to_string(),
        })
}

/// Replace the stored value atomically (0600, folder 0700).
pub fn save_user_file<T: Serialize>(
    state_dir: &Path,
    user: &str,
    name: &str,
    value: &T,
) -> Result<(), StateError> {
    let path = path(state_dir, user, name)?;
    let dir = state_dir.join(user);
    atomic::create_private_dir(&dir)
        .map_err(|e| StateError::io(format!("creating {}", dir.display()), e))?;
    let mut text = serde_json::to_string_pretty(value).map_err(|e| StateError::Corrupt {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    text.push('\n');
    atomic::write(&path, text.as_bytes())
        .map_err(|e| StateError::io(format!("writing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_absent() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        assert_eq!(
            load_user_file::<Vec<u32>>(&dir, "jane", "oof").unwrap(),
            None
        );
        save_user_file(&dir, "jane", "oof", &vec![1u32, 2]).unwrap();
        assert_eq!(
            load_user_file::<Vec<u32>>(&dir, "jane", "oof").unwrap(),
            Some(vec![1, 2])
        );
        assert!(dir.join("jane/@oof.json").is_file());
        assert!(save_user_file(&dir, "../x", "oof", &1).is_err());
        std::fs::write(dir.join("jane/@oof.json"), "{").unwrap();
        assert!(matches!(
            load_user_file::<Vec<u32>>(&dir, "jane", "oof"),
            Err(StateError::Corrupt { .. })
        ));
    }
}
