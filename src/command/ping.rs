//! Ping (MS-ASCMD 2.2.1.13): hold the request until a watched folder changes
//! or the heartbeat interval passes.
//!
//! An empty Ping re-uses the folders and interval of the last one (kept in
//! the device's info file). The device's lock is released while waiting, so
//! its Sync requests are never blocked by its own held Ping.

use super::{CommandError, Ctx, Outcome};
use crate::engine::collection::CollectionState;
use crate::engine::push::{self, WaitEnd, Watched};
use crate::engine::store;
use crate::wbxml::codepages::ping as p;
use crate::wbxml::Element;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Ping status codes (MS-ASCMD 2.2.3.177.12).
pub mod status {
    pub const EXPIRED: u32 = 1;
    pub const CHANGES: u32 = 2;
    pub const MISSING_PARAMETERS: u32 = 3;
    pub const SYNTAX_ERROR: u32 = 4;
    pub const BAD_INTERVAL: u32 = 5;
    pub const TOO_MANY_FOLDERS: u32 = 6;
    pub const HIERARCHY_SYNC_NEEDED: u32 = 7;
    pub const SERVER_ERROR: u32 = 8;
}

/// The parameters of the last Ping, kept for an empty Ping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PingParams {
    pub heartbeat: u32,
    pub folders: Vec<String>,
}

fn reply(code: u32) -> Element {
    Element::new(p::Ping).with_text(p::Status, code.to_string())
}

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let cached: PingParams = serde_json::from_value(ctx.device.info.ping.clone()).unwrap_or_default();
    if body.is_some_and(|b| b.tag != p::Ping) {
        return Ok(Outcome::Wbxml(reply(status::SYNTAX_ERROR)));
    }
    let heartbeat = body.and_then(|b| b.u32_of(p::HeartbeatInterval)).unwrap_or(cached.heartbeat);
    let folders: Vec<String> = match body.and_then(|b| b.child(p::Folders)) {
        Some(f) => f.children_with(p::Folder).filter_map(|e| e.text_of(p::Id)).map(str::to_string).collect(),
        None => cached.folders.clone(),
    };
    if heartbeat == 0 || folders.is_empty() {
        return Ok(Outcome::Wbxml(reply(status::MISSING_PARAMETERS)));
    }
    let limits = &ctx.config.ping;
    if heartbeat < limits.heartbeat_min || heartbeat > limits.heartbeat_max {
        let allowed = heartbeat.clamp(limits.heartbeat_min, limits.heartbeat_max);
        return Ok(Outcome::Wbxml(
            reply(status::BAD_INTERVAL).with_text(p::HeartbeatInterval, allowed.to_string()),
        ));
    }
    if folders.len() > limits.max_folders as usize {
        return Ok(Outcome::Wbxml(
            reply(status::TOO_MANY_FOLDERS).with_text(p::MaxFolders, limits.max_folders.to_string()),
        ));
    }
    let params = PingParams { heartbeat, folders };
    if params != cached {
        ctx.device.lock().map_err(|e| CommandError::Internal(e.into()))?;
        ctx.device.info.ping = serde_json::to_value(&params).map_err(|e| CommandError::Internal(e.into()))?;
        ctx.device.save_info().map_err(|e| CommandError::Internal(e.into()))?;
    }
    ctx.device.unlock();

    let hierarchy = store::hierarchy(ctx.device);
    let mut watched = Vec::with_capacity(params.folders.len());
    for id in &params.folders {
        let Some(folder) = hierarchy.iter().find(|f| &f.server_id == id) else {
            return Ok(Outcome::Wbxml(reply(status::HIERARCHY_SYNC_NEEDED)));
        };
        let state = store::latest::<CollectionState>(ctx.device, id)
            .map_err(CommandError::Internal)?
            .map(|(_, s)| s);
        watched.push(Watched { folder: folder.clone(), state });
    }
    let schedule = push::Schedule {
        heartbeat: Duration::from_secs(u64::from(heartbeat)),
        poll: Duration::from_secs(u64::from(ctx.config.ping.poll_interval.max(1))),
    };
    let claim = push::latest::claim(ctx.device.dir());
    let end = push::wait(ctx.session, &ctx.req.user, &mut watched, schedule, &claim)?;
    Ok(Outcome::Wbxml(match end {
        WaitEnd::Changed(ids) => {
            let mut f = Element::new(p::Folders);
            for id in ids {
                f.push_text(p::Folder, id);
            }
            reply(status::CHANGES).with(f)
        }
        WaitEnd::Expired | WaitEnd::Interrupted => reply(status::EXPIRED),
    }))
}
