//! MoveItems (MS-ASCMD 2.2.1.12): move items between collections of a class.
//!
//! The device removes the item from the source and adds it under DstMsgId
//! itself, so both folders' latest sync states are updated here; otherwise
//! the next Sync would delete it from the source again and add it twice to
//! the destination.

use super::{CommandError, Ctx, Outcome};
use crate::backend::BackendError;
use crate::engine::collection::CollectionState;
use crate::engine::hierarchy::Folder;
use crate::engine::{push, store};
use crate::wbxml::codepages::mov as m;
use crate::wbxml::Element;

/// MoveItems status codes (MS-ASCMD 2.2.3.177.9).
pub mod status {
    pub const INVALID_SOURCE: u32 = 1;
    pub const INVALID_DESTINATION: u32 = 2;
    pub const SUCCESS: u32 = 3;
    pub const SAME_FOLDER: u32 = 4;
    pub const FAILED: u32 = 5;
}

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let body = body
        .filter(|b| b.tag == m::MoveItems)
        .ok_or_else(|| CommandError::BadRequest("MoveItems expected".into()))?;
    let folders = store::hierarchy(ctx.device);
    let mut root = Element::new(m::MoveItems);
    for mv in body.children_with(m::Move) {
        let src_msg = mv.text_of(m::SrcMsgId).unwrap_or_default().to_string();
        let (code, dst_msg) = move_one(ctx, &folders, mv, &src_msg)?;
        let mut r = Element::new(m::Response)
            .with_text(m::SrcMsgId, src_msg)
            .with_text(m::Status, code.to_string());
        if let Some(id) = dst_msg {
            r.push_text(m::DstMsgId, id);
        }
        root.push(r);
    }
    Ok(Outcome::Wbxml(root))
}

fn move_one(
    ctx: &mut Ctx,
    folders: &[Folder],
    mv: &Element,
    src_msg: &str,
) -> Result<(u32, Option<String>), CommandError> {
    let find = |tag| mv.text_of(tag).and_then(|id| folders.iter().find(|f| f.server_id == id));
    let Some(src) = find(m::SrcFldId) else { return Ok((status::INVALID_SOURCE, None)) };
    let Some(dst) = find(m::DstFldId) else { return Ok((status::INVALID_DESTINATION, None)) };
    if src.server_id == dst.server_id {
        return Ok((status::SAME_FOLDER, None));
    }
    if src.class != dst.class {
        return Ok((status::INVALID_DESTINATION, None));
    }
    let new_id = match ctx.session.move_item(&src.collection(), src_msg, &dst.collection()) {
        Ok(id) => id,
        Err(BackendError::NotFound(_)) => return Ok((status::INVALID_SOURCE, None)),
        Err(e @ (BackendError::Unavailable(_) | BackendError::AuthFailed)) => return Err(e.into()),
        Err(_) => return Ok((status::FAILED, None)),
    };
    record(ctx, &src.server_id, src_msg, true)?;
    record(ctx, &dst.server_id, &new_id, false)?;
    push::written(&ctx.req.user, &[src.collection(), dst.collection()]);
    Ok((status::SUCCESS, Some(new_id)))
}

/// Note in the folder's latest sync state that the device already did this.
fn record(ctx: &mut Ctx, folder: &str, id: &str, removed: bool) -> Result<(), CommandError> {
    let latest = store::latest::<CollectionState>(ctx.device, folder).map_err(CommandError::Internal)?;
    if let Some((key, mut st)) = latest {
        st.device_wrote(id, removed);
        // Its backend change is the device's own doing: not echoed back.
        st.own_writes.insert(id.to_string());
        store::save(ctx.device, folder, &key, &st).map_err(CommandError::Internal)?;
    }
    Ok(())
}
