//! FolderUpdate (MS-ASCMD 2.2.1.4): rename a collection.

use super::folder_edit::{backend_status, commit, reply, snapshot, status};
use super::{CommandError, Ctx, Outcome};
use crate::wbxml::codepages::folderhierarchy as fh;
use crate::wbxml::Element;


pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let root = fh::FolderUpdate;
    let Some(body) = body else { return Ok(reply(root, status::BAD_REQUEST, None, None)) };
    let (key, mut folders) = match snapshot(ctx, body)? {
        Ok(s) => s,
        Err(code) => return Ok(reply(root, code, None, None)),
    };
    let id = body.text_of(fh::ServerId).unwrap_or_default();
    let name = body.text_of(fh::DisplayName).unwrap_or_default().trim().to_string();
    let Some(pos) = folders.iter().position(|f| f.server_id == id) else {
        return Ok(reply(root, status::NOT_FOUND, None, None));
    };
    if name.is_empty() {
        return Ok(reply(root, status::BAD_REQUEST, None, None));
    }
    if folders.iter().any(|f| f.server_id != id && f.display_name == name && f.class == folders[pos].class) {
        return Ok(reply(root, status::EXISTS, None, None));
    }
    if let Err(e) = ctx.session.rename_collection(&folders[pos].collection_id, &name) {
        return Ok(reply(root, backend_status(e)?, None, None));
    }
    folders[pos].display_name = name;
    let next = commit(ctx, &key, &folders)?;
    Ok(reply(root, status::SUCCESS, Some(&next), None))
}
