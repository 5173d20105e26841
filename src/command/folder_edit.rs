//! What FolderCreate, FolderUpdate and FolderDelete (MS-ASCMD 2.2.1.2-4) share:
//! each changes a collection and moves the device's hierarchy snapshot to a
//! new key, so the next FolderSync does not report the device's own change back.

use super::folder_sync::STATE;
use super::{CommandError, Ctx, Outcome};
use crate::backend::BackendError;
use crate::engine::hierarchy::Folder;
use crate::engine::store;
use crate::state::SyncKey;
use crate::wbxml::codepages::folderhierarchy as fh;
use crate::wbxml::{Element, Tag};

/// Status codes shared by the three commands (MS-ASCMD 2.2.3.177.2-3, .177.7).
pub mod status {
    pub const SUCCESS: u32 = 1;
    pub const EXISTS: u32 = 2;
    pub const SPECIAL_FOLDER: u32 = 3;
    pub const NOT_FOUND: u32 = 4;
    pub const PARENT_NOT_FOUND: u32 = 5;
    pub const SERVER_ERROR: u32 = 6;
    pub const INVALID_SYNC_KEY: u32 = 9;
    pub const BAD_REQUEST: u32 = 10;
}

/// The snapshot at the request's key, or the status to answer with.
pub(super) fn snapshot(
    ctx: &Ctx,
    body: &Element,
) -> Result<Result<(SyncKey, Vec<Folder>), u32>, CommandError> {
    let Some(key) = body
        .text_of(fh::SyncKey)
        .and_then(|k| k.parse::<SyncKey>().ok())
    else {
        return Ok(Err(status::INVALID_SYNC_KEY));
    };
    match store::load(ctx.device, STATE, &key).map_err(CommandError::Internal)? {
        Some(folders) => Ok(Ok((key, folders))),
        None => Ok(Err(status::INVALID_SYNC_KEY)),
    }
}

/// Save the changed snapshot under the next key; returns that key.
pub(super) fn commit(
    ctx: &mut Ctx,
    key: &SyncKey,
    folders: &[Folder],
) -> Result<SyncKey, CommandError> {
    let next = key.next();
    store::save(ctx.device, STATE, &next, &folders).map_err(CommandError::Internal)?;
    store::set_hierarchy(ctx.device, folders).map_err(CommandError::Internal)?;
    Ok(next)
}

pub(super) fn reply(
    root: Tag,
    code: u32,
    key: Option<&SyncKey>,
    server_id: Option<&str>,
) -> Outcome {
    let mut e = Element::new(root).with_text(fh::Status, code.to_string());
    if let Some(k) = key {
        e.push_text(fh::SyncKey, k.to_string());
    }
    if let Some(id) = server_id {
        e.push_text(fh::ServerId, id);
    }
    Outcome::Wbxml(e)
}

/// Backend failures that a folder status can express.
pub(super) fn backend_status(e: BackendError) -> Result<u32, CommandError> {
    match e {
        BackendError::NotFound(_) => Ok(status::NOT_FOUND),
        BackendError::PermissionDenied(_) => Ok(status::SPECIAL_FOLDER),
        BackendError::Invalid(_) => Ok(status::BAD_REQUEST),
        BackendError::Other(_) => Ok(status::SERVER_ERROR),
        e => Err(e.into()),
    }
}
