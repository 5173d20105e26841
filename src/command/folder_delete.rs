//! FolderDelete (MS-ASCMD 2.2.1.2): delete a collection and its sync states.

use super::folder_edit::{backend_status, commit, reply, snapshot, status};
use super::{CommandError, Ctx, Outcome};
use crate::wbxml::codepages::folderhierarchy as fh;
use crate::wbxml::Element;
use super::folder_sync;


pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let root = fh::FolderDelete;
    let Some(body) = body else { return Ok(reply(root, status::BAD_REQUEST, None, None)) };
    let (key, mut folders) = match snapshot(ctx, body)? {
        Ok(s) => s,
        Err(code) => return Ok(reply(root, code, None, None)),
    };
    let id = body.text_of(fh::ServerId).unwrap_or_default().to_string();
    let Some(pos) = folders.iter().position(|f| f.server_id == id) else {
        return Ok(reply(root, status::NOT_FOUND, None, None));
    };
    if folder_sync::is_default_type(folders[pos].folder_type) {
        return Ok(reply(root, status::SPECIAL_FOLDER, None, None));
    }
    if let Err(e) = ctx.session.delete_collection(&folders[pos].collection_id) {
        return Ok(reply(root, backend_status(e)?, None, None));
    }
    folders.remove(pos);
    ctx.device.reset_folder(&id).map_err(|e| CommandError::Internal(e.into()))?;
    let next = commit(ctx, &key, &folders)?;
    Ok(reply(root, status::SUCCESS, Some(&next), None))
}
