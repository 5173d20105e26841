//! ItemOperations (MS-ASCMD 2.2.1.10), three operations in any number:
//!
//! - `Fetch` from the mailbox store: an attachment by its FileReference
//!   (optionally a byte `Range`, answered with `Range` and `Total`), or a
//!   whole item of any class by CollectionId + ServerId or by the `LongId`
//!   of a Search result, with the device's BodyPreference, `MIMESupport`
//!   and `Schema` (the properties it wants). This is how a device gets the
//!   rest of a truncated email, an attachment, or one contact or event.
//! - `EmptyFolderContents` of a mail folder (all messages deleted for good,
//!   and with `DeleteSubFolders` its subfolders). Clients use it to empty
//!   Deleted Items; PIM folders are refused with "action not supported"
//!   rather than wiping an address book or calendar.
//! - `Move` of a conversation: not supported (the mail backend keeps no
//!   conversation index), answered with that status.
//!
//! Content goes inline (base64 `Data`), or, when the device accepts a
//! multipart response (`MS-ASAcceptMultiPart: T`, the base64 query's
//! option bit or `AcceptMultiPart=T`), as binary parts of an
//! `application/vnd.ms-sync.multipart` body referenced by `Part`
//! (MS-ASCMD 2.2.1.10.1), which spares the device base64 for large files.

use super::{CommandError, Ctx, Outcome};
use crate::backend::BackendError;
use crate::convert::body::{self, body_type};
use crate::convert::{self, BodyPreference};
use crate::engine::hierarchy::{self, Folder};
use crate::engine::{push, store};
use crate::blob::{Blob, Spool};
use crate::eas::server::WBXML_CONTENT_TYPE;
use crate::http::{Body, Response, Segment};
use crate::model::email::Email;
use crate::model::{Class, Item};
use crate::wbxml::codepages::{airsync as a, airsyncbase as asb, itemoperations as io, search as s};
use crate::wbxml::encode::{External, ExternalKind, Piece};
use crate::wbxml::{self, Element, Node};

/// ItemOperations Status values (MS-ASCMD 2.2.3.177.8).
mod status {
    pub const SUCCESS: u32 = 1;
    pub const PROTOCOL_ERROR: u32 = 2;
    pub const SERVER_ERROR: u32 = 3;
    /// Object not found or access denied.
    pub const NOT_FOUND: u32 = 6;
    pub const BYTE_RANGE_INVALID: u32 = 8;
    pub const STORE_UNKNOWN: u32 = 9;
    pub const INVALID_ATTACHMENT: u32 = 15;
    /// Required elements are missing.
    pub const MISSING_ELEMENTS: u32 = 155;
    pub const ACTION_NOT_SUPPORTED: u32 = 156;
}

/// The media type of a multipart response (MS-ASHTTP 2.2.2.1.2).
pub const MULTIPART_CONTENT_TYPE: &str = "application/vnd.ms-sync.multipart";

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let Some(body) = body.filter(|b| b.tag == io::ItemOperations) else {
        return Ok(Outcome::Wbxml(
            Element::new(io::ItemOperations)
                .with_text(io::Status, status::PROTOCOL_ERROR.to_string()),
        ));
    };
    let mut parts = Parts::new(ctx.req.params.accept_multipart);
    let mut response = Element::new(io::Response);
    for op in body.elements() {
        let r = if op.tag == io::Fetch {
            fetch(ctx, op, &mut parts)?
        } else if op.tag == io::EmptyFolderContents {
            empty_folder(ctx, op)?
        } else if op.tag == io::Move {
            // Conversations are not indexed by the mail backend.
            let mut out = Element::new(io::Move)
                .with_text(io::Status, status::ACTION_NOT_SUPPORTED.to_string());
            if let Some(c) = op.child(io::ConversationId) {
                out.push(c.clone());
            }
            out
        } else {
            Element::new(op.tag).with_text(io::Status, status::PROTOCOL_ERROR.to_string())
        };
        response.push(r);
    }
    let doc = Element::new(io::ItemOperations)
        .with_text(io::Status, status::SUCCESS.to_string())
        .with(response);
    Ok(parts.finish(doc))
}

/// Binary content of the response: inline, or the parts of a multipart body.
/// Either way the content stays a [`Blob`] (an attachment or a large
/// message may be a spool file) until the front end writes the response:
/// inline content goes on the way out into a gap the WBXML encoder leaves
/// in each `itemoperations:Data` element (as base64) and in each
/// `airsyncbase:Data` element without children (as opaque bytes: a MIME
/// body is a string, sent as it is).
struct Parts {
    multipart: bool,
    /// Multipart: part n is `data[n - 1]` (raw). Inline: the content of the
    /// n-th `itemoperations:Data` or childless `airsyncbase:Data` element
    /// of the document.
    data: Vec<Segment>,
}

impl Parts {
    fn new(multipart: bool) -> Parts {
        Parts {
            multipart,
            data: Vec::new(),
        }
    }

    /// itemoperations:Data (base64) or itemoperations:Part for this content.
    fn content(&mut self, blob: Blob) -> Element {
        if self.multipart {
            self.part(blob)
        } else {
            // Parts::content makes every io::Data of the response, so the
            // n-th one in document order is data[n] (see `inline`).
            self.data.push(Segment::Base64(blob));
            Element::new(io::Data)
        }
    }

    /// The airsyncbase:Data of a body held in a blob (itemoperations:Part
    /// in a multipart response); childless, which marks its gap.
    fn body_data(&mut self, blob: Blob) -> Element {
        if self.multipart {
            self.part(blob)
        } else {
            self.data.push(Segment::Raw(blob));
            Element::new(asb::Data)
        }
    }

    /// In a multipart response an airsyncbase:Body's Data moves to a part.
    fn body(&mut self, body: &mut Element) {
        if !self.multipart {
            return;
        }
        for node in &mut body.children {
            if let Node::Element(e) = node {
                if e.tag == asb::Data {
                    let bytes = e.bytes().unwrap_or_default().to_vec();
                    *e = self.part(bytes.into());
                }
            }
        }
    }

    /// Part numbers count from 1: part 0 is the WBXML document.
    fn part(&mut self, blob: Blob) -> Element {
        self.data.push(Segment::Raw(blob));
        Element::text_element(io::Part, self.data.len().to_string())
    }

    /// The response: WBXML (with inline content written around), or the
    /// MultiPartResponse structure (part count, then an (offset, length)
    /// pair per part, then the parts; little-endian 32-bit integers,
    /// offsets from the start).
    fn finish(self, doc: Element) -> Outcome {
        if !self.multipart {
            return inline(doc, self.data);
        }
        let document = wbxml::encode(&doc);
        let lengths: Vec<u64> = std::iter::once(document.len() as u64)
            .chain(self.data.iter().map(Segment::len))
            .collect();
        let header = 4 + 8 * lengths.len() as u64;
        let total = header + lengths.iter().sum::<u64>();
        let (Ok(count), Ok(_)) = (u32::try_from(lengths.len()), u32::try_from(total)) else {
            return Outcome::Http(Response::new(500));
        };
        let mut head = Vec::with_capacity(header as usize + document.len());
        head.extend_from_slice(&count.to_le_bytes());
        let mut offset = header;
        for len in &lengths {
            // Both fit in u32: their sum `total` does.
            head.extend_from_slice(&(offset as u32).to_le_bytes());
            head.extend_from_slice(&(*len as u32).to_le_bytes());
            offset += len;
        }
        head.extend_from_slice(&document);
        let mut body = Body::from(head);
        for segment in self.data {
            body.push(segment);
        }
        Outcome::Http(Response::new(200).with_body(MULTIPART_CONTENT_TYPE, body))
    }
}

/// The WBXML document with `data[n]` in its n-th `itemoperations:Data`
/// (base64, an inline string) or childless `airsyncbase:Data` element
/// (opaque), encoded while the response is written.
fn inline(doc: Element, data: Vec<Segment>) -> Outcome {
    if data.is_empty() {
        return Outcome::Wbxml(doc);
    }
    let mut next = data.iter();
    let pieces = wbxml::encode::encode_with_external(&doc, &mut |e| {
        let gap = e.tag == io::Data || (e.tag == asb::Data && e.children.is_empty());
        gap.then_some(())?;
        let segment = next.next()?;
        Some(External {
            len: segment.len(),
            kind: match segment {
                Segment::Base64(_) => ExternalKind::InlineString,
                Segment::Raw(_) => ExternalKind::Opaque,
            },
        })
    });
    let mut data: Vec<Option<Segment>> = data.into_iter().map(Some).collect();
    let mut body = Body::default();
    for piece in pieces {
        match piece {
            Piece::Bytes(b) => body.push(Segment::Raw(b.into())),
            Piece::External(n) => {
                if let Some(segment) = data.get_mut(n).and_then(Option::take) {
                    body.push(segment);
                }
            }
        }
    }
    Outcome::Http(Response::new(200).with_body(WBXML_CONTENT_TYPE, body))
}

/// Part 0 (the WBXML document) of a multipart response body, for the
/// debug log; `None` when the structure is malformed.
pub fn wbxml_part(body: &[u8]) -> Option<&[u8]> {
    let int = |at: usize| -> Option<usize> {
        let b: [u8; 4] = body.get(at..at + 4)?.try_into().ok()?;
        Some(u32::from_le_bytes(b) as usize)
    };
    let (count, offset, len) = (int(0)?, int(4)?, int(8)?);
    (count > 0).then_some(())?;
    body.get(offset..offset.checked_add(len)?)
}

fn fetch(ctx: &mut Ctx, op: &Element, parts: &mut Parts) -> Result<Element, CommandError> {
    let mut out = Element::new(io::Fetch);
    if !op
        .text_of(io::Store)
        .unwrap_or("Mailbox")
        .trim()
        .eq_ignore_ascii_case("Mailbox")
    {
        out.push_text(io::Status, status::STORE_UNKNOWN.to_string());
        return Ok(out);
    }
    let options = op.child(io::Options);
    if let Some(reference) = op.text_of(asb::FileReference) {
        return fetch_attachment(ctx, reference, options, parts);
    }
    // An item: by the LongId of a Search result (`<folder>:<id>`), or by
    // CollectionId + ServerId.
    let long_id = op.text_of(s::LongId);
    let target = match long_id {
        Some(long) => long.split_once(':'),
        None => op.text_of(a::CollectionId).zip(op.text_of(a::ServerId)),
    };
    let Some((folder_id, server_id)) = target else {
        let code = if long_id.is_some() {
            status::NOT_FOUND
        } else {
            status::MISSING_ELEMENTS
        };
        out.push_text(io::Status, code.to_string());
        return Ok(out);
    };
    let folders = store::hierarchy(ctx.device);
    let Some(folder) = folders.iter().find(|f| f.server_id == folder_id) else {
        out.push_text(io::Status, status::NOT_FOUND.to_string());
        return Ok(out);
    };
    let found = ctx
        .session
        .fetch(&folder.collection(), &[server_id.to_string()])?;
    let Some((_, item)) = found.into_iter().next() else {
        out.push_text(io::Status, status::NOT_FOUND.to_string());
        return Ok(out);
    };
    out.push_text(io::Status, status::SUCCESS.to_string());
    match long_id {
        Some(long) => out.push_text(s::LongId, long),
        None => {
            out.push_text(a::CollectionId, folder_id);
            out.push_text(a::ServerId, server_id);
        }
    }
    out.push_text(a::Class, folder.class.as_str());
    out.push(item_properties(ctx, folder, &item, options, parts)?);
    Ok(out)
}

/// The Properties of a fetched item: its ApplicationData children for the
/// device's body preferences, only those named in `Schema` when it sent one.
fn item_properties(
    ctx: &mut Ctx,
    folder: &Folder,
    item: &Item,
    options: Option<&Element>,
    parts: &mut Parts,
) -> Result<Element, CommandError> {
    let prefs = preferences(options, folder, item);
    let schema: Option<Vec<wbxml::Tag>> = options
        .and_then(|o| o.child(io::Schema))
        .map(|s| s.elements().map(|e| e.tag).collect())
        .filter(|tags: &Vec<wbxml::Tag>| !tags.is_empty());
    let mut props = Element::new(io::Properties);
    for child in convert::to_app_data(item, ctx.req.version, &prefs).elements() {
        if schema.as_ref().is_some_and(|tags| !tags.contains(&child.tag)) {
            continue;
        }
        let mut child = child.clone();
        if child.tag == asb::Body {
            let whole = match item {
                Item::Email(e) => whole_mime(ctx, e, &prefs, &child, parts)?,
                _ => None,
            };
            match whole {
                Some(body) => child = body,
                None => parts.body(&mut child),
            }
        }
        props.push(child);
    }
    Ok(props)
}

/// The Body of a large message whose MIME form the device gets, when it
/// wants more of it than the item holds (see `backend::mail::large`): the
/// raw message is read from the backend in pieces into a spool file, and
/// the whole of it, or its first TruncationSize octets, is sent from there
/// (MS-ASAIRS 2.2.2.40.2: without a TruncationSize the entire content).
/// `None` when the converted Body is already right (another form, a cut
/// within what is held, AllOrNone refusing a part) or the message is gone.
fn whole_mime(
    ctx: &mut Ctx,
    email: &Email,
    prefs: &[BodyPreference],
    converted: &Element,
    parts: &mut Parts,
) -> Result<Option<Element>, CommandError> {
    let partial = &email.body.partial;
    let (Some(size), Some(reference)) = (partial.mime, partial.mime_reference.as_deref()) else {
        return Ok(None);
    };
    if converted.u32_of(asb::Type) != Some(body_type::MIME) {
        return Ok(None);
    }
    // A Type 4 Body comes from the first MIME preference (`body::choose`).
    let pref = body::choose(prefs, &[body_type::MIME]);
    let held = email.body.mime.as_ref().map_or(0, |m| m.len() as u64);
    let limit = pref.truncation_size.map_or(size, |n| size.min(n.into()));
    if limit <= held || (pref.all_or_none && pref.truncation_size.is_some() && limit < size) {
        return Ok(None);
    }
    let spool = Spool::in_state_dir(&ctx.config.server.state_dir);
    let whole = match ctx.session.fetch_attachment(reference, &spool) {
        Ok((_, whole)) => whole,
        Err(e) => {
            failure(e, status::NOT_FOUND)?;
            return Ok(None);
        }
    };
    let size = whole.len();
    let data = whole.slice(0, limit);
    let mut body = Element::new(asb::Body)
        .with_text(asb::Type, body_type::MIME.to_string())
        .with_text(asb::EstimatedDataSize, size.to_string());
    if data.len() < size {
        body.push_text(asb::Truncated, "1");
    }
    body.push(parts.body_data(data));
    if let Some(preview) = converted.child(asb::Preview) {
        body.push(preview.clone());
    }
    Ok(Some(body))
}

/// The device's BodyPreferences; with `MIMESupport` 2 (always) or 1
/// (S/MIME messages only) the MIME form comes first for email
/// (MS-ASCMD 2.2.3.104).
fn preferences(options: Option<&Element>, folder: &Folder, item: &Item) -> Vec<BodyPreference> {
    let mut prefs: Vec<BodyPreference> = options
        .map(|o| {
            o.children_with(asb::BodyPreference)
                .map(BodyPreference::parse)
                .collect()
        })
        .unwrap_or_default();
    let mime_support = options.and_then(|o| o.u32_of(a::MIMESupport)).unwrap_or(0);
    let is_smime = matches!(item, Item::Email(e) if e
        .message_class
        .as_deref()
        .is_some_and(|c| c.starts_with("IPM.Note.SMIME")));
    let wants_mime = mime_support == 2 || (mime_support == 1 && is_smime);
    if folder.class == Class::Email && wants_mime {
        let mime = prefs
            .iter()
            .find(|p| p.body_type == body_type::MIME)
            .cloned()
            .unwrap_or(BodyPreference {
                body_type: body_type::MIME,
                truncation_size: None,
                all_or_none: false,
                preview: None,
            });
        prefs.retain(|p| p.body_type != body_type::MIME);
        prefs.insert(0, mime);
    }
    prefs
}

/// An attachment, whole or the byte range `Options/Range` (`m-n`,
/// inclusive; cut at the end of the file).
fn fetch_attachment(
    ctx: &mut Ctx,
    reference: &str,
    options: Option<&Element>,
    parts: &mut Parts,
) -> Result<Element, CommandError> {
    let mut out = Element::new(io::Fetch);
    let range = options.and_then(|o| o.text_of(io::Range));
    let spool = Spool::in_state_dir(&ctx.config.server.state_dir);
    let (content_type, blob) = match ctx.session.fetch_attachment(reference, &spool) {
        Ok(found) => found,
        Err(e) => {
            out.push_text(io::Status, failure(e, status::INVALID_ATTACHMENT)?.to_string());
            out.push_text(asb::FileReference, reference);
            return Ok(out);
        }
    };
    let total = blob.len();
    let slice = match range {
        None => Some((0, total)),
        Some(r) => byte_range(r, total),
    };
    let Some((start, end)) = slice else {
        out.push_text(io::Status, status::BYTE_RANGE_INVALID.to_string());
        out.push_text(asb::FileReference, reference);
        return Ok(out);
    };
    out.push_text(io::Status, status::SUCCESS.to_string());
    out.push_text(asb::FileReference, reference);
    let mut props = Element::new(io::Properties).with_text(asb::ContentType, content_type);
    if range.is_some() {
        props.push_text(io::Range, format!("{start}-{}", end.saturating_sub(1)));
        props.push_text(io::Total, total.to_string());
    }
    // A range of a spooled file stays a view of it: only the range is read.
    props.push(parts.content(blob.slice(start, end)));
    out.push(props);
    Ok(out)
}

/// `m-n` (inclusive) of a `total`-byte file as the half-open `(m, n+1)`,
/// `n` cut to the end; `None` when m > n or m is past the end.
fn byte_range(text: &str, total: u64) -> Option<(u64, u64)> {
    let (a, b) = text.trim().split_once('-')?;
    let (first, last): (u64, u64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (first <= last && first < total).then(|| (first, last.saturating_add(1).min(total)))
}

/// EmptyFolderContents of a mail folder (airsync:CollectionId), with
/// Options/DeleteSubFolders.
fn empty_folder(ctx: &mut Ctx, op: &Element) -> Result<Element, CommandError> {
    let mut out = Element::new(io::EmptyFolderContents);
    let Some(id) = op.text_of(a::CollectionId).map(str::trim) else {
        out.push_text(io::Status, status::MISSING_ELEMENTS.to_string());
        return Ok(out);
    };
    let folders = store::hierarchy(ctx.device);
    let code = match folders.iter().find(|f| f.server_id == id) {
        None => status::NOT_FOUND,
        Some(f) if f.class != Class::Email => status::ACTION_NOT_SUPPORTED,
        Some(folder) => {
            let delete_subfolders = op.path(&[io::Options, io::DeleteSubFolders]).is_some();
            match empty(ctx, &folders, folder, delete_subfolders) {
                Ok(()) => status::SUCCESS,
                Err(e) => failure(e, status::SERVER_ERROR)?,
            }
        }
    };
    out.push_text(io::Status, code.to_string());
    out.push_text(a::CollectionId, id);
    Ok(out)
}

/// Delete the folder's messages, then (deepest first) its subfolders.
fn empty(
    ctx: &mut Ctx,
    folders: &[Folder],
    folder: &Folder,
    delete_subfolders: bool,
) -> Result<(), BackendError> {
    ctx.session.empty_collection(&folder.collection())?;
    push::written(&ctx.req.user, &[folder.collection()]);
    if delete_subfolders {
        for sub in hierarchy::descendants(folders, &folder.server_id) {
            ctx.session.delete_collection(&sub.collection_id)?;
        }
    }
    Ok(())
}

/// The status of a failed operation (`invalid`: what a request the backend
/// cannot serve gets); a backend outage fails the whole request.
fn failure(e: BackendError, invalid: u32) -> Result<u32, CommandError> {
    match e {
        BackendError::NotFound(_) => Ok(status::NOT_FOUND),
        BackendError::Invalid(_) => Ok(invalid),
        BackendError::Unavailable(_) | BackendError::AuthFailed => Err(e.into()),
        _ => Ok(status::SERVER_ERROR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges() {
        assert_eq!(byte_range("0-9", 100), Some((0, 10)));
        assert_eq!(byte_range("90-200", 100), Some((90, 100)));
        assert_eq!(byte_range("99-99", 100), Some((99, 100)));
        assert_eq!(byte_range("100-120", 100), None);
        assert_eq!(byte_range("5-4", 100), None);
        assert_eq!(byte_range("x", 100), None);
    }

    #[test]
    fn multipart_layout() {
        let mut parts = Parts::new(true);
        let part = parts.content(b"hello".to_vec().into());
        assert_eq!(part.tag, io::Part);
        assert_eq!(part.text(), Some("1"));
        let doc = Element::new(io::ItemOperations).with(part);
        let Outcome::Http(r) = parts.finish(doc.clone()) else {
            panic!("multipart is an HTTP response");
        };
        assert_eq!(r.header("Content-Type"), Some(MULTIPART_CONTENT_TYPE));
        let raw = r.body.to_vec().unwrap();
        let int = |at: usize| u32::from_le_bytes(raw[at..at + 4].try_into().unwrap()) as usize;
        assert_eq!(int(0), 2);
        let (off0, len0, off1, len1) = (int(4), int(8), int(12), int(16));
        assert_eq!(off0, 20);
        let wbxml = wbxml::decode(&raw[off0..off0 + len0], &wbxml::Limits::default()).unwrap();
        assert_eq!(wbxml, doc);
        assert_eq!(&raw[off1..off1 + len1], b"hello");
        assert_eq!(raw.len(), off1 + len1);
        assert_eq!(r.body.len(), raw.len() as u64);
        assert_eq!(wbxml_part(&raw), Some(&raw[off0..off0 + len0]));
        assert_eq!(wbxml_part(&raw[..10]), None);
        assert_eq!(wbxml_part(&[1, 0, 0, 0, 255, 255, 255, 255, 1, 0, 0, 0]), None);
    }

    /// A spooled file of `n` bytes and those bytes.
    fn spooled(dir: &std::path::Path, n: usize) -> (Blob, Vec<u8>) {
        use std::io::Write;
        let bytes: Vec<u8> = (0..n).map(|i| (i * 7 % 256) as u8).collect();
        let mut f = Spool::new(dir).create().unwrap();
        f.write_all(&bytes).unwrap();
        (f.finish().unwrap(), bytes)
    }

    #[test]
    fn inline_content_is_base64_written_on_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let (file, bytes) = spooled(dir.path(), 200_001);
        let mut parts = Parts::new(false);
        let small = parts.content(b"hi".to_vec().into());
        let large = parts.content(file.slice(1, 200_000));
        let doc = Element::new(io::ItemOperations)
            .with(Element::new(io::Fetch).with(small))
            .with(Element::new(io::Fetch).with(large));
        let Outcome::Http(r) = parts.finish(doc) else {
            panic!("inline content from files is an HTTP response");
        };
        assert_eq!(r.header("Content-Type"), Some(WBXML_CONTENT_TYPE));
        assert!(r.body.bytes().is_none(), "the file is not read into the body");
        let raw = r.body.to_vec().unwrap();
        assert_eq!(r.body.len(), raw.len() as u64);
        let back = wbxml::decode(&raw, &wbxml::Limits::default()).unwrap();
        let data: Vec<&str> = back
            .children_with(io::Fetch)
            .filter_map(|f| f.text_of(io::Data))
            .collect();
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        assert_eq!(data, [b64.encode(b"hi"), b64.encode(&bytes[1..200_000])]);
        // Nothing inline: the document as it is.
        let mut none = Parts::new(false);
        let mut body = Element::new(asb::Body).with_text(asb::Data, "x");
        none.body(&mut body);
        assert_eq!(body.text_of(asb::Data), Some("x"));
        assert!(matches!(none.finish(body), Outcome::Wbxml(_)));
    }

    #[test]
    fn a_body_from_a_file_is_opaque_data_inline_and_a_part_in_multipart() {
        let dir = tempfile::tempdir().unwrap();
        let (file, bytes) = spooled(dir.path(), 100_000);
        for multipart in [false, true] {
            let mut parts = Parts::new(multipart);
            let attachment = parts.content(b"att".to_vec().into());
            let body = Element::new(asb::Body)
                .with_text(asb::Type, "4")
                .with(parts.body_data(file.clone()));
            let doc = Element::new(io::ItemOperations)
                .with(Element::new(io::Fetch).with(attachment))
                .with(Element::new(io::Fetch).with(body));
            let Outcome::Http(r) = parts.finish(doc) else {
                panic!("content from files is an HTTP response");
            };
            let raw = r.body.to_vec().unwrap();
            assert_eq!(r.body.len(), raw.len() as u64);
            let wbxml = if multipart { wbxml_part(&raw).unwrap() } else { &raw[..] };
            let back = wbxml::decode(wbxml, &wbxml::Limits::default()).unwrap();
            let fetches: Vec<&Element> = back.children_with(io::Fetch).collect();
            let data = fetches[1].path(&[asb::Body, asb::Data]);
            if multipart {
                let int = |at: usize| u32::from_le_bytes(raw[at..at + 4].try_into().unwrap());
                let part = |i: usize| {
                    let (offset, len) = (int(4 + 8 * i) as usize, int(8 + 8 * i) as usize);
                    &raw[offset..offset + len]
                };
                assert_eq!((part(1), part(2)), (&b"att"[..], &bytes[..]));
                assert_eq!(fetches[1].path(&[asb::Body, io::Part]).unwrap().text(), Some("2"));
                assert!(data.is_none());
            } else {
                use base64::Engine;
                let b64 = base64::engine::general_purpose::STANDARD.encode(b"att");
                assert_eq!(fetches[0].text_of(io::Data), Some(b64.as_str()));
                let data = data.unwrap();
                assert!(matches!(data.children[..], [Node::Opaque(ref b)] if *b == bytes));
            }
        }
    }

    #[test]
    fn multipart_parts_from_files_keep_exact_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let (file, bytes) = spooled(dir.path(), 150_000);
        let mut parts = Parts::new(true);
        let doc = Element::new(io::ItemOperations)
            .with(parts.content(file.slice(70_000, 140_000)))
            .with(parts.content(b"tail".to_vec().into()));
        let Outcome::Http(r) = parts.finish(doc) else {
            panic!("multipart is an HTTP response");
        };
        let raw = r.body.to_vec().unwrap();
        assert_eq!(r.body.len(), raw.len() as u64);
        let int = |at: usize| u32::from_le_bytes(raw[at..at + 4].try_into().unwrap()) as usize;
        assert_eq!(int(0), 3);
        let part = |i: usize| &raw[int(4 + 8 * i)..int(4 + 8 * i) + int(8 + 8 * i)];
        assert_eq!(part(1), &bytes[70_000..140_000]);
        assert_eq!(part(2), b"tail");
    }
}
