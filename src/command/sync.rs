//! Sync (MS-ASCMD 2.2.1.21): both directions for each requested collection.
//!
//! Per collection: SyncKey 0 creates an empty state; key N loads state N,
//! applies the device's Add/Change/Delete/Fetch, then (GetChanges) sends up
//! to WindowSize server changes with MoreAvailable. The writes a request with
//! key N made are recorded in state N itself, so a re-sent request (the
//! response was lost) neither adds twice nor echoes them back.

use super::{CommandError, Ctx, Outcome};
use crate::backend::{BackendError, Collection};
use crate::convert::{self, BodyPreference};
use crate::engine::collection::{CollectionState, Op, Outgoing};
use crate::engine::hierarchy::Folder;
use crate::engine::{filter, push, store};
use crate::model::{span, Item};
use crate::state::SyncKey;
use crate::wbxml::codepages::airsync as a;
use crate::wbxml::codepages::airsyncbase as asb;
use crate::wbxml::Element;
use std::collections::BTreeSet;

/// Sync status codes (MS-ASCMD 2.2.3.177.17).
pub mod status {
    pub const SUCCESS: u32 = 1;
    pub const INVALID_SYNC_KEY: u32 = 3;
    pub const PROTOCOL_ERROR: u32 = 4;
    pub const SERVER_ERROR: u32 = 5;
    pub const CONVERSION_ERROR: u32 = 6;
    pub const OBJECT_NOT_FOUND: u32 = 8;
    pub const HIERARCHY_CHANGED: u32 = 12;
    pub const INCOMPLETE_REQUEST: u32 = 13;
}

/// WindowSize when the device sends none, and the most honoured (MS-ASCMD 2.2.3.199).
const DEFAULT_WINDOW: u32 = 100;

/// One Collection of a Sync request, typed.
#[derive(Debug, Default)]
pub struct CollectionRequest {
    pub sync_key: String,
    pub collection_id: String,
    pub get_changes: Option<bool>,
    pub window_size: Option<u32>,
    pub deletes_as_moves: Option<bool>,
    /// `Namespace:Tag` names of the Supported element (ghosting).
    pub supported: Option<Vec<String>>,
    pub filter_type: Option<u32>,
    /// 0 = client wins, 1 = server wins (the default).
    pub conflict: Option<u32>,
    pub body_preferences: Vec<BodyPreference>,
    pub commands: Vec<ClientCommand>,
}

#[derive(Debug)]
pub enum ClientCommand {
    Add { client_id: String, data: Element },
    Change { server_id: String, data: Element },
    /// With `instance_id` (16.0+): delete one occurrence of a recurring event.
    Delete { server_id: String, instance_id: Option<String> },
    Fetch { server_id: String },
}

/// A Sync request, typed.
#[derive(Debug, Default)]
pub struct SyncRequest {
    pub collections: Vec<CollectionRequest>,
    pub window_size: Option<u32>,
    /// How long to wait for changes: `Wait` (minutes) or `HeartbeatInterval` (seconds).
    pub wait_seconds: Option<u32>,
    /// `Partial`: collections not listed come from the cached request.
    pub partial: bool,
}

impl SyncRequest {
    pub fn parse(sync: &Element) -> Result<SyncRequest, String> {
        if sync.tag != a::Sync {
            return Err("root is not AirSync:Sync".into());
        }
        let mut req = SyncRequest {
            window_size: sync.u32_of(a::WindowSize),
            wait_seconds: sync
                .u32_of(a::HeartbeatInterval)
                .or_else(|| sync.u32_of(a::Wait).map(|m| m.saturating_mul(60))),
            partial: sync.has(a::Partial),
            ..Default::default()
        };
        let Some(colls) = sync.child(a::Collections) else {
            return Ok(req);
        };
        for c in colls.children_with(a::Collection) {
            req.collections.push(CollectionRequest::parse(c)?);
        }
        Ok(req)
    }
}

impl CollectionRequest {
    fn parse(c: &Element) -> Result<CollectionRequest, String> {
        let text = |t| c.text_of(t).map(str::to_string);
        let mut r = CollectionRequest {
            sync_key: text(a::SyncKey).ok_or("Collection without SyncKey")?,
            collection_id: text(a::CollectionId).ok_or("Collection without CollectionId")?,
            get_changes: c.bool_of(a::GetChanges),
            window_size: c.u32_of(a::WindowSize),
            deletes_as_moves: c.bool_of(a::DeletesAsMoves),
            supported: c.child(a::Supported).map(|s| {
                s.elements()
                    .filter_map(|e| crate::wbxml::codepages::name_of(e.tag))
                    .map(|(ns, name)| format!("{ns}:{name}"))
                    .collect()
            }),
            ..Default::default()
        };
        for o in c.children_with(a::Options) {
            r.filter_type = r.filter_type.or(o.u32_of(a::FilterType));
            r.conflict = r.conflict.or(o.u32_of(a::Conflict));
            r.body_preferences.extend(o.children_with(asb::BodyPreference).map(BodyPreference::parse));
            r.body_preferences = convert::eas_email::with_mime_options(std::mem::take(&mut r.body_preferences), o);
        }
        if let Some(cmds) = c.child(a::Commands) {
            for cmd in cmds.elements() {
                let server_id = || cmd.text_of(a::ServerId).map(str::to_string).ok_or("command without ServerId");
                let data = || cmd.child(a::ApplicationData).cloned().unwrap_or_else(|| Element::new(a::ApplicationData));
                r.commands.push(match cmd.tag {
                    t if t == a::Add => ClientCommand::Add {
                        client_id: cmd.text_of(a::ClientId).ok_or("Add without ClientId")?.to_string(),
                        data: data(),
                    },
                    t if t == a::Change => ClientCommand::Change { server_id: server_id()?, data: data() },
                    t if t == a::Delete => ClientCommand::Delete {
                        server_id: server_id()?,
                        instance_id: cmd.text_of(asb::InstanceId).map(str::to_string),
                    },
                    t if t == a::Fetch => ClientCommand::Fetch { server_id: server_id()? },
                    _ => continue,
                });
            }
        }
        Ok(r)
    }
}

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let parsed = match body {
        Some(b) => match SyncRequest::parse(b) {
            Ok(r) => r,
            Err(_) => return Ok(top_status(status::PROTOCOL_ERROR)),
        },
        None => SyncRequest { partial: true, ..Default::default() },
    };
    // 12.1+ short forms: an empty Sync repeats the cached request, a Partial
    // one adds its collections to it (MS-ASCMD 2.2.3.131, 3.1.5.3).
    let cache = cache::load(ctx.device);
    let Some(req) = cache::complete(parsed, &cache, ctx.device) else {
        return Ok(top_status(status::INCOMPLETE_REQUEST));
    };
    if let Some(secs) = req.wait_seconds {
        let (min, max) = (ctx.config.ping.heartbeat_min, ctx.config.ping.heartbeat_max);
        if secs < min || secs > max {
            return Ok(Outcome::Wbxml(
                Element::new(a::Sync)
                    .with_text(a::Status, WAIT_OUT_OF_BOUNDS.to_string())
                    .with_text(a::Limit, secs.clamp(min, max).to_string()),
            ));
        }
    }
    cache::save(ctx.device, &req).map_err(CommandError::Internal)?;

    // A Sync ends any held Ping or waiting Sync of the same device.
    let claim = push::latest::claim(ctx.device.dir());
    let (collections, anything) = sync_all(ctx, &req)?;
    let Some(secs) = req.wait_seconds.filter(|_| !anything) else {
        return Ok(Outcome::Wbxml(Element::new(a::Sync).with(collections)));
    };
    // Nothing to say yet: wait for a change without holding the lock.
    match wait_for_changes(ctx, &req, secs, &claim)? {
        Some(changed) => {
            let subset = SyncRequest {
                collections: req
                    .collections
                    .into_iter()
                    .filter(|c| changed.contains(&c.collection_id))
                    .map(|mut c| {
                        c.sync_key = cache::latest_key(ctx.device, &c.collection_id).unwrap_or(c.sync_key);
                        c.commands.clear();
                        c
                    })
                    .collect(),
                window_size: req.window_size,
                ..Default::default()
            };
            let (collections, _) = sync_all(ctx, &subset)?;
            Ok(Outcome::Wbxml(Element::new(a::Sync).with(collections)))
        }
        // MS-ASCMD 2.2.3.198: no change within the wait is an empty response.
        None => Ok(Outcome::Empty),
    }
}

/// Sync status 14: Wait or HeartbeatInterval out of bounds (answered with `Limit`).
const WAIT_OUT_OF_BOUNDS: u32 = 14;

/// Sync every collection of the request; also says whether any of them has
/// something for the device (commands, responses, a new key or an error).
fn sync_all(ctx: &mut Ctx, req: &SyncRequest) -> Result<(Element, bool), CommandError> {
    let max = ctx.config.sync.max_window_size.max(1);
    let mut budget = req.window_size.unwrap_or(u32::MAX).min(max) as usize;
    let mut out = Element::new(a::Collections);
    let mut anything = false;
    for c in &req.collections {
        let window = c.window_size.unwrap_or(DEFAULT_WINDOW).clamp(1, max) as usize;
        let (element, sent) = sync_collection(ctx, c, window.min(budget.max(1)))?;
        budget = budget.saturating_sub(sent);
        let unchanged = element.text_of(a::Status) == Some("1")
            && element.text_of(a::SyncKey) == Some(c.sync_key.as_str())
            && !element.has(a::Commands)
            && !element.has(a::Responses);
        anything |= !unchanged;
        out.push(element);
    }
    Ok((out, anything))
}

/// Hold until a requested collection changes; `None` when the wait ran out.
fn wait_for_changes(
    ctx: &mut Ctx,
    req: &SyncRequest,
    secs: u32,
    claim: &push::latest::Claim,
) -> Result<Option<Vec<String>>, CommandError> {
    let hierarchy = store::hierarchy(ctx.device);
    let mut watched = Vec::new();
    for c in &req.collections {
        if let Some(folder) = hierarchy.iter().find(|f| f.server_id == c.collection_id) {
            let state = store::latest::<CollectionState>(ctx.device, &c.collection_id)
                .map_err(CommandError::Internal)?
                .map(|(_, s)| s);
            watched.push(push::Watched { folder: folder.clone(), state });
        }
    }
    ctx.device.unlock();
    let schedule = push::Schedule {
        heartbeat: std::time::Duration::from_secs(u64::from(secs)),
        poll: std::time::Duration::from_secs(u64::from(ctx.config.ping.poll_interval.max(1))),
    };
    let end = push::wait(ctx.session, &ctx.req.user, &mut watched, schedule, claim);
    ctx.device.lock().map_err(|e| CommandError::Internal(e.into()))?;
    Ok(match end? {
        push::WaitEnd::Changed(ids) => Some(ids),
        push::WaitEnd::Expired | push::WaitEnd::Interrupted => None,
    })
}

fn top_status(code: u32) -> Outcome {
    Outcome::Wbxml(Element::new(a::Sync).with_text(a::Status, code.to_string()))
}

/// The response head of a collection: Class (old versions), SyncKey, CollectionId, Status.
fn head(ctx: &Ctx, folder: Option<&Folder>, key: &str, id: &str, code: u32) -> Element {
    let mut e = Element::new(a::Collection);
    if ctx.req.version.sync_response_has_class() {
        if let Some(f) = folder {
            e.push_text(a::Class, f.class.as_str());
        }
    }
    e.with_text(a::SyncKey, key)
        .with_text(a::CollectionId, id)
        .with_text(a::Status, code.to_string())
}

/// Sync one collection; returns its response element and how many server
/// changes it sent (for the request-wide WindowSize).
fn sync_collection(
    ctx: &mut Ctx,
    req: &CollectionRequest,
    window: usize,
) -> Result<(Element, usize), CommandError> {
    let folder = store::hierarchy(ctx.device).into_iter().find(|f| f.server_id == req.collection_id);
    let Some(folder) = folder else {
        return Ok((head(ctx, None, &req.sync_key, &req.collection_id, status::HIERARCHY_CHANGED), 0));
    };
    let name = folder.server_id.clone();

    if req.sync_key == "0" {
        ctx.device.reset_folder(&name).map_err(|e| CommandError::Internal(e.into()))?;
        let state = CollectionState {
            filter_type: req.filter_type.unwrap_or(0),
            supported: req.supported.clone(),
            body_preferences: req.body_preferences.clone(),
            ..Default::default()
        };
        let key = SyncKey::first();
        store::save(ctx.device, &name, &key, &state).map_err(CommandError::Internal)?;
        return Ok((head(ctx, Some(&folder), &key.to_string(), &name, status::SUCCESS), 0));
    }

    let loaded = match req.sync_key.parse::<SyncKey>() {
        Ok(k) => store::load::<CollectionState>(ctx.device, &name, &k)
            .map_err(CommandError::Internal)?
            .map(|s| (k, s)),
        Err(_) => None,
    };
    let Some((key, before)) = loaded else {
        return Ok((head(ctx, Some(&folder), "0", &name, status::INVALID_SYNC_KEY), 0));
    };

    let collection = folder.collection();
    let mut record = before.clone(); // state N plus what this request wrote
    let mut st = before;
    st.client_ids.clear();
    st.own_writes.clear();
    if let Some(ft) = req.filter_type {
        if ft != st.filter_type {
            // A new window: list again; what left it is soft-deleted.
            st.filter_type = ft;
            st.cursor = None;
        }
    }
    if !req.body_preferences.is_empty() {
        st.body_preferences = req.body_preferences.clone();
    }

    let version = ctx.req.version;
    let mut responses = Element::new(a::Responses);
    let result = apply_commands(ctx, req, &collection, &mut st, &mut record, &mut responses);
    // Whatever got applied is recorded under key N before any error surfaces.
    store::save(ctx.device, &name, &key, &record).map_err(CommandError::Internal)?;
    if req.commands.iter().any(|c| !matches!(c, ClientCommand::Fetch { .. })) {
        push::written(&ctx.req.user, std::slice::from_ref(&collection));
    }
    result?;

    let mut sent = Vec::new();
    if req.get_changes.unwrap_or(true) {
        let own: BTreeSet<String> = record.own_writes.clone();
        if st.pending.is_empty() {
            let win = filter::window(collection.class, st.filter_type, ctx.now);
            st.refresh(ctx.session, &collection, win, &own)?;
        }
        let win = filter::window(collection.class, st.filter_type, ctx.now);
        let keep = |item: &Item| span::in_window(span::span_of(item), win);
        sent = st.take_window(ctx.session, &collection, window, &keep)?;
    }

    let changed = !sent.is_empty() || !responses.children.is_empty() || !req.commands.is_empty();
    let new_key = if changed || st != record_without_writes(&record) { key.next() } else { key };
    if new_key != key {
        store::save(ctx.device, &name, &new_key, &st).map_err(CommandError::Internal)?;
    }

    let mut e = head(ctx, Some(&folder), &new_key.to_string(), &name, status::SUCCESS);
    if !st.pending.is_empty() {
        e.push(Element::new(a::MoreAvailable));
    }
    if !sent.is_empty() {
        let mut cmds = Element::new(a::Commands);
        for o in &sent {
            cmds.push(outgoing_element(o, version, &st.body_preferences));
        }
        e.push(cmds);
    }
    if !responses.children.is_empty() {
        e.push(responses);
    }
    Ok((e, sent.len()))
}

/// State N as it was loaded, for the "did anything change" test.
fn record_without_writes(record: &CollectionState) -> CollectionState {
    let mut r = record.clone();
    r.client_ids.clear();
    r.own_writes.clear();
    r
}

fn outgoing_element(o: &Outgoing, version: crate::eas::version::Version, prefs: &[BodyPreference]) -> Element {
    let tag = match o.op {
        Op::Add => a::Add,
        Op::Change => a::Change,
        Op::Delete => a::Delete,
        Op::SoftDelete => a::SoftDelete,
    };
    let mut e = Element::new(tag).with_text(a::ServerId, o.id.clone());
    if let Some(item) = &o.item {
        e.push(convert::to_app_data(item, version, prefs));
    }
    e
}

/// Apply the device's commands in order. Writes are recorded in `record`
/// (state N) as they happen, so a failure half-way loses nothing.
fn apply_commands(
    ctx: &mut Ctx,
    req: &CollectionRequest,
    collection: &Collection,
    st: &mut CollectionState,
    record: &mut CollectionState,
    responses: &mut Element,
) -> Result<(), CommandError> {
    let version = ctx.req.version;
    let class = collection.class;
    // Existing items for Changes and Fetches, in one backend call.
    let wanted: Vec<String> = req
        .commands
        .iter()
        .filter_map(|c| match c {
            ClientCommand::Change { server_id, .. }
            | ClientCommand::Fetch { server_id }
            | ClientCommand::Delete { server_id, instance_id: Some(_) } => Some(server_id.clone()),
            _ => None,
        })
        .collect();
    let mut existing: std::collections::BTreeMap<String, Item> = if wanted.is_empty() {
        Default::default()
    } else {
        ctx.session.fetch(collection, &wanted)?.into_iter().collect()
    };
    let supported = st.supported.clone();
    let client_wins = req.conflict == Some(0);

    for cmd in &req.commands {
        match cmd {
            ClientCommand::Add { client_id, data } => {
                let server_id = match record.client_ids.get(client_id) {
                    Some(id) => Ok(id.clone()),
                    None => match convert::from_app_data(class, data, version) {
                        Ok(item) => ctx.session.add(collection, &item).map_err(Into::into),
                        Err(e) => Err(e),
                    },
                };
                let mut r = Element::new(a::Add).with_text(a::ClientId, client_id.clone());
                match server_id {
                    Ok(id) => {
                        record.client_ids.insert(client_id.clone(), id.clone());
                        record.own_writes.insert(id.clone());
                        st.device_wrote(&id, false);
                        r = r.with_text(a::ServerId, id).with_text(a::Status, status::SUCCESS.to_string());
                    }
                    Err(e) => r = r.with_text(a::Status, item_status(e)?.to_string()),
                }
                responses.push(r);
            }
            ClientCommand::Change { server_id, data } => {
                if st.has_pending(server_id) && !client_wins {
                    continue; // server wins: its pending version goes to the device
                }
                // 16.0+: a Change naming an InstanceId changes one occurrence.
                let result = match data.text_of(asb::InstanceId) {
                    Some(instance) => rewrite(ctx, collection, &mut existing, server_id, |old| {
                        convert::change_occurrence(old, instance, Some(data), version)
                    }),
                    None => rewrite(ctx, collection, &mut existing, server_id, |old| {
                        let sent = convert::from_app_data(class, data, version)?;
                        Ok(convert::apply_change(old, sent, supported.as_deref(), version))
                    }),
                };
                settle(result, a::Change, server_id, st, record, responses)?;
            }
            ClientCommand::Delete { server_id, instance_id: Some(instance) } => {
                let result = rewrite(ctx, collection, &mut existing, server_id, |old| {
                    convert::change_occurrence(old, instance, None, version)
                });
                settle(result, a::Delete, server_id, st, record, responses)?;
            }
            ClientCommand::Delete { server_id, instance_id: None } => {
                // DeletesAsMoves absent means 1 (MS-ASCMD 2.2.3.45).
                let deleted = if req.deletes_as_moves == Some(false) {
                    ctx.session.delete_permanently(collection, server_id)
                } else {
                    ctx.session.delete(collection, server_id)
                };
                match deleted {
                    Ok(()) | Err(BackendError::NotFound(_)) => {}
                    Err(e @ BackendError::Unavailable(_)) => return Err(e.into()),
                    Err(_) => {
                        responses.push(
                            Element::new(a::Delete)
                                .with_text(a::ServerId, server_id.clone())
                                .with_text(a::Status, status::OBJECT_NOT_FOUND.to_string()),
                        );
                        continue;
                    }
                }
                record.own_writes.insert(server_id.clone());
                st.device_wrote(server_id, true);
            }
            ClientCommand::Fetch { server_id } => {
                let mut r = Element::new(a::Fetch).with_text(a::ServerId, server_id.clone());
                match existing.get(server_id) {
                    Some(item) => {
                        r = r
                            .with_text(a::Status, status::SUCCESS.to_string())
                            .with(convert::to_app_data(item, version, &st.body_preferences));
                    }
                    None => r = r.with_text(a::Status, status::OBJECT_NOT_FOUND.to_string()),
                }
                responses.push(r);
            }
        }
    }
    Ok(())
}

/// After a rewrite of `server_id`: record it as the device's own write, or
/// answer the failed `op` (Change or Delete) with its item status.
fn settle(
    result: Result<(), convert::ConvertError>,
    op: crate::wbxml::Tag,
    server_id: &str,
    st: &mut CollectionState,
    record: &mut CollectionState,
    responses: &mut Element,
) -> Result<(), CommandError> {
    match result {
        Ok(()) => {
            record.own_writes.insert(server_id.to_string());
            st.device_wrote(server_id, false);
        }
        Err(e) => responses.push(
            Element::new(op)
                .with_text(a::ServerId, server_id)
                .with_text(a::Status, item_status(e)?.to_string()),
        ),
    }
    Ok(())
}

/// Replace a stored item with `change(existing)`; the cache of fetched items
/// follows, so later commands of the request see the new version.
fn rewrite(
    ctx: &mut Ctx,
    collection: &Collection,
    existing: &mut std::collections::BTreeMap<String, Item>,
    server_id: &str,
    change: impl FnOnce(&Item) -> Result<Item, convert::ConvertError>,
) -> Result<(), convert::ConvertError> {
    let old = existing.get(server_id).ok_or(convert::ConvertError::NotFound)?;
    let item = change(old)?;
    ctx.session.replace(collection, server_id, &item)?;
    existing.insert(server_id.to_string(), item);
    Ok(())
}

/// The per-item status for a failed write; a backend outage fails the request
/// (the device retries it as a whole).
fn item_status(e: convert::ConvertError) -> Result<u32, CommandError> {
    match e {
        convert::ConvertError::Backend(BackendError::Unavailable(m)) => {
            Err(CommandError::Backend(BackendError::Unavailable(m)))
        }
        convert::ConvertError::NotFound | convert::ConvertError::Backend(BackendError::NotFound(_)) => {
            Ok(status::OBJECT_NOT_FOUND)
        }
        convert::ConvertError::Backend(BackendError::AuthFailed) => {
            Err(CommandError::Backend(BackendError::AuthFailed))
        }
        _ => Ok(status::CONVERSION_ERROR),
    }
}

/// The cached Sync request behind the 12.1+ short forms (empty and Partial
/// Sync): options of each collection and the wait, kept in the device's info
/// file. Sync keys are not cached: each collection's newest state has them.
mod cache {
    use super::{CollectionRequest, SyncRequest};
    use crate::convert::BodyPreference;
    use crate::state::Device;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Default, Serialize, Deserialize)]
    pub struct Cached {
        collections: Vec<CachedCollection>,
        window_size: Option<u32>,
        wait_seconds: Option<u32>,
    }

    #[derive(Debug, Serialize, Deserialize)]
    struct CachedCollection {
        collection_id: String,
        window_size: Option<u32>,
        deletes_as_moves: Option<bool>,
        filter_type: Option<u32>,
        conflict: Option<u32>,
        body_preferences: Vec<BodyPreference>,
    }

    pub fn load(device: &Device) -> Cached {
        serde_json::from_value(device.info.sync_cache.clone()).unwrap_or_default()
    }

    pub fn save(device: &mut Device, req: &SyncRequest) -> anyhow::Result<()> {
        let cached = Cached {
            collections: req
                .collections
                .iter()
                .map(|c| CachedCollection {
                    collection_id: c.collection_id.clone(),
                    window_size: c.window_size,
                    deletes_as_moves: c.deletes_as_moves,
                    filter_type: c.filter_type,
                    conflict: c.conflict,
                    body_preferences: c.body_preferences.clone(),
                })
                .collect(),
            window_size: req.window_size,
            wait_seconds: req.wait_seconds,
        };
        let value = serde_json::to_value(&cached)?;
        if device.info.sync_cache != value {
            device.info.sync_cache = value;
            device.save_info()?;
        }
        Ok(())
    }

    /// The newest sync key the server gave for a folder.
    pub fn latest_key(device: &Device, folder: &str) -> Option<String> {
        device.latest_folder_state(folder).ok().flatten().map(|(k, _)| k.to_string())
    }

    /// The full request: `req` itself unless it is empty or Partial, in which
    /// case the cached collections and wait fill it in. `None` when there is
    /// nothing to fill it from (Sync status 13).
    pub fn complete(mut req: SyncRequest, cache: &Cached, device: &Device) -> Option<SyncRequest> {
        if !req.partial && !req.collections.is_empty() {
            return Some(req);
        }
        if cache.collections.is_empty() && req.collections.is_empty() {
            return None;
        }
        for c in &cache.collections {
            if let Some(sent) = req.collections.iter_mut().find(|r| r.collection_id == c.collection_id) {
                sent.window_size = sent.window_size.or(c.window_size);
                sent.filter_type = sent.filter_type.or(c.filter_type);
                sent.conflict = sent.conflict.or(c.conflict);
                if sent.body_preferences.is_empty() {
                    sent.body_preferences = c.body_preferences.clone();
                }
                continue;
            }
            let Some(sync_key) = latest_key(device, &c.collection_id) else { continue };
            req.collections.push(CollectionRequest {
                sync_key,
                collection_id: c.collection_id.clone(),
                window_size: c.window_size,
                deletes_as_moves: c.deletes_as_moves,
                filter_type: c.filter_type,
                conflict: c.conflict,
                body_preferences: c.body_preferences.clone(),
                ..Default::default()
            });
        }
        req.window_size = req.window_size.or(cache.window_size);
        req.wait_seconds = req.wait_seconds.or(cache.wait_seconds);
        Some(req)
    }
}
