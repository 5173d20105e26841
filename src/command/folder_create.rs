//! FolderCreate (MS-ASCMD 2.2.1.3): a new address book, calendar, task list,
//! notepad or mail folder; the backend of the class creates it (a backend
//! without mail refuses mail folders).

use super::folder_edit::{backend_status, commit, reply, snapshot, status};
use super::{CommandError, Ctx, Outcome};
use crate::wbxml::codepages::folderhierarchy as fh;
use crate::wbxml::Element;
use crate::engine::hierarchy::{self, class_of_type};


pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let root = fh::FolderCreate;
    let Some(body) = body else { return Ok(reply(root, status::BAD_REQUEST, None, None)) };
    let (key, mut folders) = match snapshot(ctx, body)? {
        Ok(s) => s,
        Err(code) => return Ok(reply(root, code, None, None)),
    };
    let name = body.text_of(fh::DisplayName).unwrap_or_default().trim().to_string();
    let parent = body.text_of(fh::ParentId).unwrap_or("0");
    let class = body.u32_of(fh::Type).and_then(class_of_type);
    let (Some(class), false) = (class, name.is_empty()) else {
        return Ok(reply(root, status::BAD_REQUEST, None, None));
    };
    let parent_id = if parent == "0" {
        None
    } else {
        match folders.iter().find(|f| f.server_id == parent) {
            Some(p) if p.class == class => Some(p.collection_id.clone()),
            _ => return Ok(reply(root, status::PARENT_NOT_FOUND, None, None)),
        }
    };
    if folders.iter().any(|f| f.parent_id == parent && f.display_name == name && f.class == class) {
        return Ok(reply(root, status::EXISTS, None, None));
    }
    let collection = match ctx.session.create_collection(class, &name, parent_id.as_deref()) {
        Ok(c) => c,
        Err(e) => return Ok(reply(root, backend_status(e)?, None, None)),
    };
    let folder = hierarchy::folders(std::slice::from_ref(&collection)).remove(0);
    let id = folder.server_id.clone();
    folders.push(folder);
    let next = commit(ctx, &key, &folders)?;
    Ok(reply(root, status::SUCCESS, Some(&next), Some(&id)))
}
