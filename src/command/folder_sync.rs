//! FolderSync (MS-ASCMD 2.2.1.5): the folder hierarchy and its changes.
//!
//! The snapshot the device holds is saved per hierarchy sync key; a request
//! with key N is answered with the difference between snapshot N and the
//! backend's collections now. No change keeps the key (no new state file).

use super::{CommandError, Ctx, Outcome};
use crate::engine::hierarchy::{self, Folder};
use crate::engine::store;
use crate::state::SyncKey;
use crate::wbxml::codepages::folderhierarchy as fh;
use crate::wbxml::Element;

/// The state name of the hierarchy snapshots (folder ids never look like it).
pub const STATE: &str = "hierarchy";

/// FolderSync status codes (MS-ASCMD 2.2.3.177.4).
pub mod status {
    pub const SUCCESS: u32 = 1;
    pub const SERVER_ERROR: u32 = 6;
    pub const INVALID_SYNC_KEY: u32 = 9;
    pub const BAD_REQUEST: u32 = 10;
}

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let Some(text) = body.and_then(|b| b.text_of(fh::SyncKey)) else {
        return Ok(reply(status::BAD_REQUEST));
    };
    let Ok(key) = text.parse::<SyncKey>() else {
        return Ok(reply(status::INVALID_SYNC_KEY));
    };
    let old: Vec<Folder> = if key.is_initial() {
        Vec::new()
    } else {
        match store::load(ctx.device, STATE, &key).map_err(CommandError::Internal)? {
            Some(snapshot) => snapshot,
            None => return Ok(reply(status::INVALID_SYNC_KEY)),
        }
    };
    let now = hierarchy::folders(&ctx.session.collections()?);
    let diff = hierarchy::diff(&old, &now);
    let new_key = if key.is_initial() || !diff.is_empty() { key.next() } else { key };
    if new_key != key {
        store::save(ctx.device, STATE, &new_key, &now).map_err(CommandError::Internal)?;
    }
    store::set_hierarchy(ctx.device, &now).map_err(CommandError::Internal)?;

    let mut changes = Element::new(fh::Changes).with_text(fh::Count, diff.len().to_string());
    for id in &diff.deleted {
        changes.push(Element::new(fh::Delete).with_text(fh::ServerId, id.clone()));
    }
    for f in &diff.updated {
        changes.push(folder_element(fh::Update, f));
    }
    for f in &diff.added {
        changes.push(folder_element(fh::Add, f));
    }
    Ok(Outcome::Wbxml(
        Element::new(fh::FolderSync)
            .with_text(fh::Status, status::SUCCESS.to_string())
            .with_text(fh::SyncKey, new_key.to_string())
            .with(changes),
    ))
}

fn folder_element(tag: crate::wbxml::Tag, f: &Folder) -> Element {
    Element::new(tag)
        .with_text(fh::ServerId, f.server_id.clone())
        .with_text(fh::ParentId, f.parent_id.clone())
        .with_text(fh::DisplayName, f.display_name.clone())
        .with_text(fh::Type, f.folder_type.to_string())
}

fn reply(code: u32) -> Outcome {
    Outcome::Wbxml(Element::new(fh::FolderSync).with_text(fh::Status, code.to_string()))
}

/// Default folders (Inbox, Calendar, Contacts, ...) cannot be renamed or deleted.
pub fn is_default_type(folder_type: u32) -> bool {
    (2..=11).contains(&folder_type) || folder_type == 19
}
