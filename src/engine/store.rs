//! Typed access to the device's per-folder state files: JSON documents stored
//! per sync key by [`crate::state::Device`].

use crate::state::{Device, SyncKey};
use anyhow::{Context, Result};
use serde::{de::DeserializeOwned, Serialize};

/// The state saved for `name` at `key`, if the device may still use that key.
pub fn load<T: DeserializeOwned>(device: &Device, name: &str, key: &SyncKey) -> Result<Option<T>> {
    match device.load_folder_state(name, key)? {
        None => Ok(None),
        Some(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).with_context(|| format!("state {name} at {key}"))?,
        )),
    }
}

/// Save the state for `name` at `key` (atomically; older keys are collected).
pub fn save<T: Serialize>(device: &mut Device, name: &str, key: &SyncKey, state: &T) -> Result<()> {
    let bytes = serde_json::to_vec(state)?;
    device.save_folder_state(name, key, &bytes)?;
    Ok(())
}

/// The folders the device was last told about (kept in its info file, so a
/// Sync maps a CollectionId to its backend collection without a backend call).
pub fn hierarchy(device: &Device) -> Vec<crate::engine::hierarchy::Folder> {
    serde_json::from_value(device.info.hierarchy.clone()).unwrap_or_default()
}

/// Record the folders the device now knows.
pub fn set_hierarchy(
    device: &mut Device,
    folders: &[crate::engine::hierarchy::Folder],
) -> Result<()> {
    let value = serde_json::to_value(folders)?;
    if device.info.hierarchy != value {
        device.info.hierarchy = value;
        device.save_info()?;
    }
    Ok(())
}

/// The newest state saved for `name`, with its key.
pub fn latest<T: DeserializeOwned>(device: &Device, name: &str) -> Result<Option<(SyncKey, T)>> {
    match device.latest_folder_state(name)? {
        None => Ok(None),
        Some((key, bytes)) => Ok(Some((key, serde_json::from_slice(&bytes)?))),
    }
}
