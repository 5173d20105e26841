//! Search (MS-ASCMD 2.2.1.16) in the mailbox (`Store/Name` = Mailbox,
//! 14.0+), called by `search` for that store: free text, optionally one
//! folder (airsync:CollectionId) and a DateReceived range
//! (GreaterThan/LessThan), newest first, with Range and Total. The search
//! itself ([`page`]) is shared with Find.

use super::search::{parse_range, DEFAULT_RANGE};
use super::{CommandError, Ctx, Outcome};
use crate::backend::Window;
use crate::convert::{self, eas_email, BodyPreference};
use crate::engine::hierarchy::Folder;
use crate::engine::store;
use crate::model::{Class, Item};
use crate::wbxml::codepages::{airsync as a, airsyncbase as asb, email as em, search as s};
use crate::wbxml::Element;

/// Search Status values (MS-ASCMD 2.2.3.177.16).
mod status {
    pub const SUCCESS: u32 = 1;
    pub const INVALID_REQUEST: u32 = 2;
    pub const FOLDER_SYNC_REQUIRED: u32 = 11;
}

/// Whether this Store asks for the mailbox.
pub fn is_mailbox(store_req: &Element) -> bool {
    store_req
        .text_of(s::Name)
        .is_some_and(|n| n.trim().eq_ignore_ascii_case("Mailbox"))
}

/// The device's mail folders (from the hierarchy it last got).
pub fn mail_folders(ctx: &Ctx) -> Vec<Folder> {
    store::hierarchy(ctx.device)
        .into_iter()
        .filter(|f| f.class == Class::Email)
        .collect()
}

/// One page of matching messages, newest first, and how many matched.
pub struct Page<'f> {
    pub total: usize,
    /// The folder, the message's UID and the message.
    pub rows: Vec<(&'f Folder, u64, Item)>,
}

/// Rows `from..=to` of the messages of `folders` containing every one of
/// `terms` (all messages when there are none) received inside `window`,
/// newest first. In one folder UIDs grow with arrival, so each folder's
/// newest `to + 1` hits are enough to know the page; they are fetched in
/// one call per folder and ordered by date across folders.
pub fn page<'f>(
    ctx: &mut Ctx,
    folders: &'f [Folder],
    terms: &[&str],
    window: Window,
    (from, to): (usize, usize),
) -> Result<Page<'f>, CommandError> {
    let mut total = 0;
    let mut rows = Vec::new();
    for folder in folders {
        let collection = folder.collection();
        let mut uids = search_all(ctx, &collection, terms, window)?;
        total += uids.len();
        uids.sort_unstable_by(|a, b| b.cmp(a));
        let newest: Vec<String> = uids.iter().take(to + 1).map(u64::to_string).collect();
        for (id, item) in ctx.session.fetch(&collection, &newest)? {
            if let Ok(uid) = id.parse() {
                rows.push((folder, uid, item));
            }
        }
    }
    let received = |item: &Item| match item {
        Item::Email(e) => e.date_received.unwrap_or(0),
        _ => 0,
    };
    rows.sort_by_key(|(_, uid, item)| std::cmp::Reverse((received(item), *uid)));
    let rows = rows.into_iter().skip(from).take(to + 1 - from).collect();
    Ok(Page { total, rows })
}

/// UIDs of the messages of a folder matching every term (one backend
/// search per term, intersected).
fn search_all(
    ctx: &mut Ctx,
    collection: &crate::backend::Collection,
    terms: &[&str],
    window: Window,
) -> Result<Vec<u64>, CommandError> {
    let mut found: Option<Vec<u64>> = None;
    for term in terms.iter().copied().chain(terms.is_empty().then_some("")) {
        let uids: Vec<u64> = ctx
            .session
            .search(collection, term, window)?
            .iter()
            .filter_map(|id| id.parse().ok())
            .collect();
        found = Some(match found {
            None => uids,
            Some(before) => {
                let now: std::collections::HashSet<u64> = uids.into_iter().collect();
                before.into_iter().filter(|u| now.contains(u)).collect()
            }
        });
        if found.as_ref().is_some_and(Vec::is_empty) {
            break;
        }
    }
    Ok(found.unwrap_or_default())
}

pub fn run(ctx: &mut Ctx, store_req: &Element) -> Result<Outcome, CommandError> {
    let query = store_req
        .child(s::Query)
        .and_then(|q| q.child(s::And).or(Some(q)));
    let Some(query) = query else {
        return Ok(Outcome::Wbxml(top(
            status::SUCCESS,
            Some(store(status::INVALID_REQUEST)),
        )));
    };
    let text = query
        .text_of(s::FreeText)
        .unwrap_or_default()
        .trim()
        .to_string();
    let window = Window {
        start: bound(query, s::GreaterThan),
        end: bound(query, s::LessThan),
    };
    let mail = mail_folders(ctx);
    if mail.is_empty() {
        // No mail on this server (or not synced yet): the store is not served.
        return Ok(Outcome::Wbxml(top(
            status::SUCCESS,
            Some(store(status::INVALID_REQUEST)),
        )));
    }
    let folders: Vec<Folder> = mail
        .into_iter()
        .filter(|f| {
            query
                .text_of(a::CollectionId)
                .is_none_or(|id| id == f.server_id)
        })
        .collect();
    if folders.is_empty() {
        return Ok(Outcome::Wbxml(top(
            status::SUCCESS,
            Some(store(status::FOLDER_SYNC_REQUIRED)),
        )));
    }
    let options = store_req.child(s::Options);
    let Some((from, to)) = options
        .and_then(|o| o.text_of(s::Range))
        .map_or(Some(DEFAULT_RANGE), parse_range)
    else {
        return Ok(Outcome::Wbxml(top(
            status::SUCCESS,
            Some(store(status::INVALID_REQUEST)),
        )));
    };
    let prefs: Vec<BodyPreference> = options
        .map(|o| {
            o.children_with(asb::BodyPreference)
                .map(BodyPreference::parse)
                .collect()
        })
        .unwrap_or_default();

    let terms: Vec<&str> = Some(text.as_str())
        .filter(|t| !t.is_empty())
        .into_iter()
        .collect();
    let page = page(ctx, &folders, &terms, window, (from, to))?;
    let mut out = store(status::SUCCESS);
    for (folder, uid, item) in &page.rows {
        let mut props = Element::new(s::Properties);
        for c in convert::to_app_data(item, ctx.req.version, &prefs).elements() {
            props.push(c.clone());
        }
        out.push(
            Element::new(s::Result)
                .with_text(a::Class, "Email")
                .with_text(s::LongId, format!("{}:{uid}", folder.server_id))
                .with_text(a::CollectionId, folder.server_id.clone())
                .with(props),
        );
    }
    if page.rows.is_empty() {
        out.push(Element::new(s::Result));
    } else {
        out.push_text(s::Range, format!("{from}-{}", from + page.rows.len() - 1));
    }
    out.push_text(s::Total, page.total.to_string());
    Ok(Outcome::Wbxml(top(status::SUCCESS, Some(out))))
}

fn top(code: u32, store: Option<Element>) -> Element {
    let mut e = Element::new(s::Search).with_text(s::Status, code.to_string());
    if let Some(st) = store {
        e.push(Element::new(s::Response).with(st));
    }
    e
}

fn store(code: u32) -> Element {
    Element::new(s::Store).with_text(s::Status, code.to_string())
}

/// `<GreaterThan><email:DateReceived/><Value>date</Value></GreaterThan>`.
fn bound(query: &Element, tag: crate::wbxml::Tag) -> Option<i64> {
    let e = query.child(tag).filter(|e| e.has(em::DateReceived))?;
    eas_email::parse_date(e.text_of(s::Value)?)
}
