//! GetItemEstimate (MS-ASCMD 2.2.1.9): how many changes a Sync would bring.
//!
//! The estimate is the pending changes of the collection's state after a
//! refresh (the listing on the first estimate after key 0). The collections'
//! change points are asked for together ([`Session::cursors`]: side by side
//! on Horde), and a collection whose point did not move needs nothing more.
//! The refreshed state is not saved: the next Sync computes it again.

use super::{CommandError, Ctx, Outcome};
use crate::backend::{Collection, Cursor};
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
    let mut asked = Vec::new();
    for c in colls.children_with(ie::Collection) {
        asked.push(prepare(ctx, c)?);
    }
    // One round for the change points of every collection with a cursor.
    let watched: Vec<(usize, Collection)> = asked
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match a {
            Asked::Known { st, collection, .. } if st.cursor.is_some() => {
                Some((i, collection.clone()))
            }
            _ => None,
        })
        .collect();
    let collections: Vec<Collection> = watched.iter().map(|(_, c)| c.clone()).collect();
    let mut now: Vec<Option<Cursor>> = vec![None; asked.len()];
    for ((i, _), cursor) in watched.iter().zip(ctx.session.cursors(&collections)?) {
        now[*i] = Some(cursor);
    }
    let mut root = Element::new(ie::GetItemEstimate);
    for (a, now) in asked.into_iter().zip(now) {
        root.push(match a {
            Asked::Answered(response) => response,
            Asked::Known {
                id,
                mut st,
                collection,
            } => {
                // No cursor yet (first estimate after key 0), or it moved.
                if st.cursor.is_none() || st.cursor != now {
                    let window = filter::window(collection.class, st.filter_type, ctx.now);
                    st.refresh(ctx.session, &collection, window, &BTreeSet::new())?;
                }
                response(&id, status::SUCCESS, Some(st.estimate()))
            }
        });
    }
    Ok(Outcome::Wbxml(root))
}

/// One requested collection: answered already, or its state to estimate from.
enum Asked {
    Answered(Element),
    Known {
        id: String,
        st: Box<CollectionState>,
        collection: Collection,
    },
}

fn response(id: &str, code: u32, count: Option<usize>) -> Element {
    let mut coll = Element::new(ie::Collection).with_text(ie::CollectionId, id);
    if let Some(n) = count {
        coll.push_text(ie::Estimate, n.to_string());
    }
    Element::new(ie::Response)
        .with_text(ie::Status, code.to_string())
        .with(coll)
}

fn prepare(ctx: &mut Ctx, c: &Element) -> Result<Asked, CommandError> {
    let id = c.text_of(ie::CollectionId).unwrap_or_default().to_string();
    // AirSync:SyncKey in every version; FilterType directly in the Collection
    // before 14.0, inside AirSync:Options from 14.0.
    let key = c.text_of(a::SyncKey).unwrap_or("0");
    let filter_type = c
        .children_with(a::Options)
        .find_map(|o| o.u32_of(a::FilterType))
        .or_else(|| c.u32_of(a::FilterType));
    let answered = |code: u32| Ok(Asked::Answered(response(&id, code, None)));
    let Some(folder) = store::hierarchy(ctx.device).into_iter().find(|f| f.server_id == id) else {
        return answered(status::INVALID_COLLECTION);
    };
    if key == "0" {
        return answered(status::NOT_PRIMED);
    }
    let loaded = key
        .parse::<SyncKey>()
        .ok()
        .map(|k| store::load::<CollectionState>(ctx.device, &folder.server_id, &k))
        .transpose()
        .map_err(CommandError::Internal)?
        .flatten();
    let Some(mut st) = loaded else {
        return answered(status::INVALID_SYNC_KEY);
    };
    if let Some(ft) = filter_type {
        if ft != st.filter_type {
            st.filter_type = ft;
            st.cursor = None;
        }
    }
    if !st.pending.is_empty() {
        // Changes are waiting already: no need to ask the backend.
        return Ok(Asked::Answered(response(&id, status::SUCCESS, Some(st.estimate()))));
    }
    Ok(Asked::Known {
        id,
        st: Box::new(st),
        collection: folder.collection(),
    })
}
