//! SendMail (MS-ASCMD 2.2.1.16), and the shared half of SmartReply
//! (2.2.1.18) and SmartForward (2.2.1.17): the device hands over a complete
//! RFC 5322 message; the server submits it as the user, unchanged (only a
//! Bcc header is removed), and keeps a copy in Sent Items when asked.
//! SmartReply/SmartForward name an original message, which the server
//! attaches unless the device says ReplaceMime.
//!
//! 14.0+: a ComposeMail document (ClientId, Source, SaveInSentItems,
//! ReplaceMime, Mime). 2.5–12.1: the body is the message itself
//! (`message/rfc822`); `SaveInSent=T`, `ItemId`, `CollectionId` and
//! `LongId` are query parameters.
//!
//! The original is named by FolderId + ItemId, by ItemId alone (then it is
//! in the Inbox, MS-ASCMD 2.2.3.93.2) or by the LongId a mailbox Search
//! returned (`<folder>:<item>`).
//!
//! An original in a calendar folder is a meeting: SmartForward sends the
//! device's message with the meeting request attached (iTIP REQUEST, only
//! the occurrence InstanceId names when it names one); SmartReply sends the
//! device's message as it is, there being no mail to quote.

use super::{identity, CommandError, Ctx, Outcome};
use crate::backend::{occurrences, BackendError};
use crate::engine::hierarchy::{folder_type, Folder};
use crate::backend::Collection;
use crate::convert::{eas_calendar, eas_fields, ical, itip};
use crate::engine::store;
use crate::model::{Class, Item};
use crate::wbxml::codepages::composemail as cm;
use crate::wbxml::{Element, Tag};

/// ComposeMail Status values (MS-ASCMD 2.2.3.177.14, common status codes).
mod status {
    pub const INVALID_CONTENT: u32 = 101;
    pub const INVALID_DATETIME: u32 = 104;
    pub const SERVER_ERROR_RETRY_LATER: u32 = 111;
    pub const MESSAGE_HAS_NO_RECIPIENT: u32 = 119;
    pub const MAIL_SUBMISSION_FAILED: u32 = 120;
    pub const ITEM_NOT_FOUND: u32 = 150;
}

/// Which ComposeMail command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compose {
    Send,
    Reply,
    Forward,
}

impl Compose {
    fn root(self) -> Tag {
        match self {
            Compose::Send => cm::SendMail,
            Compose::Reply => cm::SmartReply,
            Compose::Forward => cm::SmartForward,
        }
    }
}

/// What the device asked for, in either request form.
struct Request {
    message: Vec<u8>,
    save_in_sent: bool,
    replace_mime: bool,
    /// Where the original message is.
    source: Option<Source>,
    /// The occurrence of a recurring meeting (ComposeMail InstanceId).
    instance: Option<String>,
}

/// The original of a SmartReply/SmartForward as the device named it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// (device folder id, or `None` for the Inbox; item id).
    Item(Option<String>, String),
    /// A Search result's LongId.
    LongId(String),
}

impl Source {
    fn from_parts(folder: Option<String>, item: Option<String>, long_id: Option<String>) -> Option<Source> {
        match (long_id, item) {
            (Some(long), _) => Some(Source::LongId(long)),
            (None, Some(item)) => Some(Source::Item(folder, item)),
            (None, None) => None,
        }
    }

    /// (device folder id, item id), with the Inbox looked up when no folder was named.
    fn resolve(self, folders: &[Folder]) -> Option<(String, String)> {
        match self {
            Source::Item(Some(folder), item) => Some((folder, item)),
            Source::Item(None, item) => folders
                .iter()
                .find(|f| f.folder_type == folder_type::INBOX)
                .map(|f| (f.server_id.clone(), item)),
            Source::LongId(long) => long
                .split_once(':')
                .map(|(folder, item)| (folder.to_string(), item.to_string())),
        }
    }
}


pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    compose(ctx, body, Compose::Send)
}

fn request(ctx: &Ctx, body: Option<&Element>) -> Request {
    if !ctx.req.version.compose_mail_wbxml() {
        let p = &ctx.req.params;
        return Request {
            message: ctx.raw_body.to_vec(),
            save_in_sent: p.save_in_sent,
            replace_mime: false,
            source: Source::from_parts(
                p.collection_id.clone(),
                p.item_id.clone(),
                p.long_id.clone(),
            ),
            instance: None,
        };
    }
    let Some(b) = body else {
        return Request {
            message: Vec::new(),
            save_in_sent: false,
            replace_mime: false,
            source: None,
            instance: None,
        };
    };
    let text = |e: &Element, tag| e.text_of(tag).map(str::to_string);
    Request {
        message: b
            .child(cm::Mime)
            .and_then(|m| {
                m.bytes()
                    .map(<[u8]>::to_vec)
                    .or_else(|| m.text().map(|t| t.as_bytes().to_vec()))
            })
            .unwrap_or_default(),
        save_in_sent: b.has(cm::SaveInSentItems),
        replace_mime: b.has(cm::ReplaceMime),
        source: b.child(cm::Source).and_then(|s| {
            Source::from_parts(
                text(s, cm::FolderId),
                text(s, cm::ItemId),
                text(s, cm::LongId),
            )
        }),
        instance: b.path(&[cm::Source, cm::InstanceId]).and_then(|i| i.text()).map(str::to_string),
    }
}

pub(super) fn compose(ctx: &mut Ctx, body: Option<&Element>, kind: Compose) -> Result<Outcome, CommandError> {
    let wbxml = ctx.req.version.compose_mail_wbxml();
    let req = request(ctx, body);
    if req.message.is_empty() {
        return failed(wbxml, kind, status::INVALID_CONTENT, "no message");
    }
    if req.instance.as_deref().is_some_and(|i| eas_fields::parse_time(i).is_none()) {
        return failed(wbxml, kind, status::INVALID_DATETIME, "InstanceId is no date-time");
    }
    let result = match (kind, &req.source) {
        (Compose::Send, _) => ctx.session.send_mail(&req.message, req.save_in_sent),
        (_, None) => return failed(wbxml, kind, status::ITEM_NOT_FOUND, "no Source"),
        (_, Some(source)) => {
            let folders = store::hierarchy(ctx.device);
            let Some((folder_id, item_id)) = source.clone().resolve(&folders) else {
                return failed(wbxml, kind, status::ITEM_NOT_FOUND, "no such original");
            };
            let Some(folder) = folders.iter().find(|f| f.server_id == folder_id) else {
                return failed(wbxml, kind, status::ITEM_NOT_FOUND, "unknown FolderId");
            };
            match folder.class {
                Class::Calendar => forward_meeting(ctx, &req, kind, &folder.collection(), &item_id),
                _ => ctx.session.send_with_original(
                    &req.message,
                    (&folder.collection(), &item_id),
                    kind == Compose::Forward,
                    req.replace_mime,
                    req.save_in_sent,
                ),
            }
        }
    };
    match result {
        Ok(()) => Ok(Outcome::Empty),
        Err(BackendError::Invalid(why)) if why.contains("no recipients") => {
            failed(wbxml, kind, status::MESSAGE_HAS_NO_RECIPIENT, &why)
        }
        Err(BackendError::Invalid(why)) => failed(wbxml, kind, status::MAIL_SUBMISSION_FAILED, &why),
        Err(BackendError::NotFound(why)) => failed(wbxml, kind, status::ITEM_NOT_FOUND, &why),
        Err(BackendError::Unavailable(why)) if wbxml => {
            log::warn!("{kind:?}: {why}");
            Ok(Outcome::Wbxml(reply(kind, status::SERVER_ERROR_RETRY_LATER)))
        }
        Err(e) => Err(e.into()),
    }
}

/// SmartForward/SmartReply of a calendar item (see the module comment).
fn forward_meeting(
    ctx: &mut Ctx,
    req: &Request,
    kind: Compose,
    calendar: &Collection,
    id: &str,
) -> Result<(), BackendError> {
    if kind == Compose::Reply || req.replace_mime {
        return ctx.session.send_mail(&req.message, req.save_in_sent);
    }
    let not_found = || BackendError::NotFound(format!("meeting {id} in {}", calendar.name));
    let Some((_, Item::Event(mut event))) = ctx
        .session
        .fetch(calendar, &[id.to_string()])?
        .into_iter()
        .find(|(found, _)| found == id)
    else {
        return Err(not_found());
    };
    let instance = match &req.instance {
        None => None,
        Some(i) => {
            let start = eas_calendar::occurrence(&event, i).map_err(|_| not_found())?;
            if event.recurrence.is_none() || !occurrences::is_occurrence(&event, start) {
                return Err(not_found());
            }
            Some(start)
        }
    };
    // Kronolith names the calendar's owner by login name as ORGANIZER of
    // every meeting it keeps; the recipients need an address to answer.
    let organizer = event.organizer_email.as_deref().map(str::trim);
    if organizer.is_none_or(|o| o.is_empty() || o == ctx.req.user) {
        if let Some(address) = identity::email_address(ctx.config, &ctx.req.user) {
            event.organizer_email = Some(address);
            event.organizer_name = Some(identity::display_name(&ctx.req.user).to_string());
        }
    }
    let uid = event.uid.clone().unwrap_or_else(|| id.to_string());
    let request = ical::write_request(&event, &uid, instance).ok_or_else(not_found)?;
    let message = itip::forward_message(&req.message, &request);
    ctx.session.send_mail(&message, req.save_in_sent)
}

fn reply(kind: Compose, code: u32) -> Element {
    Element::new(kind.root()).with_text(cm::Status, code.to_string())
}

/// 14.0+ says why in the Status element; earlier versions only have HTTP
/// (400 for a message that cannot be sent as given).
fn failed(wbxml: bool, kind: Compose, code: u32, why: &str) -> Result<Outcome, CommandError> {
    log::info!("{kind:?} refused ({code}): {why}");
    if wbxml {
        Ok(Outcome::Wbxml(reply(kind, code)))
    } else {
        Err(CommandError::BadRequest(why.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(id: &str, folder_type: u32) -> Folder {
        Folder {
            server_id: id.into(),
            parent_id: "0".into(),
            display_name: id.into(),
            folder_type,
            class: Class::Email,
            collection_id: id.into(),
        }
    }

    #[test]
    fn the_original_is_found_by_item_long_id_or_inbox() {
        let folders = [folder("M1", 12), folder("M2", folder_type::INBOX)];
        let resolve = |f: Option<&str>, i: Option<&str>, l: Option<&str>| {
            Source::from_parts(f.map(Into::into), i.map(Into::into), l.map(Into::into))
                .and_then(|s| s.resolve(&folders))
        };
        assert_eq!(resolve(Some("M1"), Some("7"), None), Some(("M1".into(), "7".into())));
        assert_eq!(resolve(None, Some("7"), None), Some(("M2".into(), "7".into())));
        assert_eq!(resolve(None, None, Some("M1:9")), Some(("M1".into(), "9".into())));
        assert_eq!(resolve(None, None, Some("nocolon")), None);
        assert_eq!(resolve(Some("M1"), None, None), None);
    }
}
