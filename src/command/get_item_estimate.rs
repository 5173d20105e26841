//! GetItemEstimate (MS-ASCMD 2.2.1.9): how many changes a Sync would bring.
//!
//! The estimate is the pending changes of the collection's state after a
//! refresh (one backend call, the listing on the first estimate after key 0).
//! The refreshed state is not saved: the next Sync computes it again.

use super::{CommandError, Ctx, Outcome};
use crate::engine::collection::CollectionState;
use crate::engine::{filter, store};
use crate::state::SyncKey;
use crate::wbxml::codepages::airsync as a;
use crate::wbxml::codepages::itemestimate as ie;
use crate::wbxml::Element;
use std::collections::BTreeSet;

/// GetItemEstimate status codes (MS-ASCMD 2.2.3.177.6).
pub mod status {
    pub const SUCCESS: u32 = 1;
    pub const INVALID_COLLECTION: u32 = 2;
    pub const NOT_PRIMED: u32 = 3;
    pub const INVALID_SYNC_KEY: u32 = 4;
}

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let colls = body
        .filter(|b| b.tag == ie::GetItemEstimate)
        .and_then(|b| b.child(ie::Collections))
        .ok_or_else(|| CommandError::BadRequest("GetItemEstimate without Collections".into()))?;
    let mut root = Element::new(ie::GetItemEstimate);
    for c in colls.children_with(ie::Collection) {
        root.push(estimate(ctx, c)?);
    }
    Ok(Outcome::Wbxml(root))
}

fn estimate(ctx: &mut Ctx, c: &Element) -> Result<Element, CommandError> {
    let id = c.text_of(ie::CollectionId).unwrap_or_default().to_string();
    // AirSync:SyncKey in every version; FilterType directly in the Collection
    // before 14.0, inside AirSync:Options from 14.0.
    let key = c.text_of(a::SyncKey).unwrap_or("0");
    let filter_type = c
        .children_with(a::Options)
        .find_map(|o| o.u32_of(a::FilterType))
        .or_else(|| c.u32_of(a::FilterType));
    let response = |code: u32, count: Option<usize>| {
        let mut coll = Element::new(ie::Collection).with_text(ie::CollectionId, id.clone());
        if let Some(n) = count {
            coll.push_text(ie::Estimate, n.to_string());
        }
        Element::new(ie::Response).with_text(ie::Status, code.to_string()).with(coll)
    };
    let Some(folder) = store::hierarchy(ctx.device).into_iter().find(|f| f.server_id == id) else {
        return Ok(response(status::INVALID_COLLECTION, None));
    };
    if key == "0" {
        return Ok(response(status::NOT_PRIMED, None));
    }
    let loaded = key
        .parse::<SyncKey>()
        .ok()
        .map(|k| store::load::<CollectionState>(ctx.device, &folder.server_id, &k))
        .transpose()
        .map_err(CommandError::Internal)?
        .flatten();
    let Some(mut st) = loaded else {
        return Ok(response(status::INVALID_SYNC_KEY, None));
    };
    if let Some(ft) = filter_type {
        if ft != st.filter_type {
            st.filter_type = ft;
            st.cursor = None;
        }
    }
    let collection = folder.collection();
    if st.pending.is_empty() {
        let window = filter::window(collection.class, st.filter_type, ctx.now);
        st.refresh(ctx.session, &collection, window, &BTreeSet::new())?;
    }
    Ok(response(status::SUCCESS, Some(st.estimate())))
}
