//! MeetingResponse (MS-ASCMD 2.2.1.11): the user accepts, tentatively
//! accepts or declines a meeting, named by a meeting request mail (its
//! iCalendar `METHOD:REQUEST` part, read over IMAP) or by an event of a
//! calendar folder (CollectionId + RequestId, or the search:LongId that
//! Search Store=Mailbox hands out).
//!
//! - Accept / tentative: the event is stored in the user's default calendar
//!   (imported from the mail, or the calendar's own event updated) with the
//!   user's ATTENDEE status, ResponseType and busy status set
//!   (`convert::itip::record_answer`); its id is the answer's CalendarId.
//! - Decline: the meeting leaves the user's calendar (MS-OXOCAL 3.1.4.8.3);
//!   with an InstanceId (14.1+) only that occurrence, as a deleted exception.
//! - A request mail is deleted once answered (to Trash where there is one),
//!   as Exchange and Horde do: the device removes it from its list itself.
//! - From 16.0 a `SendResponse` asks the server to mail the answer to the
//!   organizer: an iTIP REPLY, or a COUNTER with ProposedStartTime/EndTime.
//!   Before 16.0 the device sends its own answer with SendMail
//!   (`Version::meeting_response_sends_mail`). Without mail configured the
//!   calendar is still updated and the unsent answer is logged.
//!
//! Each Request gets its own Result with Status 1 (success), 2 (not a
//! meeting request / invalid, MS-ASCMD 2.2.3.177.9), 3 (mailbox error) or
//! 4 (server error, retry).

use super::identity;
use super::{CommandError, Ctx, Outcome};
use crate::backend::{occurrences, BackendError, Collection};
use crate::convert::eas_calendar;
use crate::engine::push;
use crate::convert::eas_fields::parse_time;
use crate::convert::ical;
use crate::convert::itip::{self, Answer, Reply};
use crate::engine::hierarchy::{folder_type, Folder};
use crate::engine::store;
use crate::model::event::{Event, Exception, When};
use crate::model::{Class, Item};
use crate::wbxml::codepages::{airsyncbase as asb, meetingresponse as mr, search};
use crate::wbxml::Element;
use chrono::{DateTime, Utc};

/// MeetingResponse Status values (MS-ASCMD 2.2.3.177.9).
pub mod status {
    pub const SUCCESS: u32 = 1;
    pub const INVALID_REQUEST: u32 = 2;
    pub const MAILBOX_ERROR: u32 = 3;
    pub const SERVER_ERROR: u32 = 4;
    /// Common status (MS-ASCMD 2.2.2): an InstanceId that is no date-time.
    pub const INVALID_DATETIME: u32 = 104;
}

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let body = body
        .filter(|b| b.tag == mr::MeetingResponse)
        .ok_or_else(|| CommandError::BadRequest("MeetingResponse expected".into()))?;
    let requests: Vec<&Element> = body.children_with(mr::Request).collect();
    if requests.is_empty() {
        return Err(CommandError::BadRequest("MeetingResponse without Request".into()));
    }
    let folders = store::hierarchy(ctx.device);
    let mut response = Element::new(mr::MeetingResponse);
    for request in requests {
        let mut result = Element::new(mr::Result);
        if let Some(id) = request.text_of(mr::RequestId) {
            result.push_text(mr::RequestId, id.trim());
        }
        let outcome = Request::parse(ctx, &folders, request).and_then(|r| r.answer(ctx));
        match outcome {
            Ok(calendar_id) => {
                result.push_text(mr::Status, status::SUCCESS.to_string());
                if let Some(id) = calendar_id {
                    result.push_text(mr::CalendarId, id);
                }
            }
            Err(Failure::Status(code)) => result.push_text(mr::Status, code.to_string()),
            Err(Failure::Fatal(e)) => return Err(e),
        }
        response.push(result);
    }
    Ok(Outcome::Wbxml(response))
}

/// AirSyncBase:Type of an HTML body.
const HTML_BODY: u32 = 2;

/// Why one Request was not answered.
enum Failure {
    /// Reported in its Result.
    Status(u32),
    /// Ends the whole command (wrong credentials).
    Fatal(CommandError),
}

impl From<BackendError> for Failure {
    fn from(e: BackendError) -> Failure {
        match e {
            BackendError::AuthFailed => Failure::Fatal(e.into()),
            BackendError::NotFound(_) | BackendError::Invalid(_) => {
                Failure::Status(status::INVALID_REQUEST)
            }
            BackendError::PermissionDenied(_) | BackendError::Other(_) => {
                Failure::Status(status::MAILBOX_ERROR)
            }
            BackendError::Unavailable(_) => Failure::Status(status::SERVER_ERROR),
        }
    }
}

fn invalid() -> Failure {
    Failure::Status(status::INVALID_REQUEST)
}

/// A 16.x SendResponse: mail the answer, with this note and proposed time.
struct SendResponse {
    comment: Option<String>,
    /// The note is HTML (AirSyncBase Type 2).
    html: bool,
    proposed: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// One checked Request.
struct Request {
    answer: Answer,
    folder: Folder,
    request_id: String,
    instance_id: Option<String>,
    send: Option<SendResponse>,
}

impl Request {
    fn parse(ctx: &Ctx, folders: &[Folder], e: &Element) -> Result<Request, Failure> {
        let version = ctx.req.version;
        let answer = e
            .u32_of(mr::UserResponse)
            .and_then(Answer::from_user_response)
            .ok_or_else(invalid)?;
        // A search:LongId (Search Store=Mailbox hands out `<folder>:<uid>`)
        // stands for CollectionId + RequestId, and excludes them.
        let (folder_id, request_id) = match e.text_of(search::LongId) {
            Some(_) if e.has(mr::CollectionId) || e.has(mr::RequestId) => {
                return Err(invalid())
            }
            Some(long_id) => long_id.trim().split_once(':').ok_or_else(invalid)?,
            None => (
                e.text_of(mr::CollectionId).ok_or_else(invalid)?.trim(),
                e.text_of(mr::RequestId).ok_or_else(invalid)?.trim(),
            ),
        };
        let folder = folders
            .iter()
            .find(|f| f.server_id == folder_id)
            .cloned()
            .ok_or_else(invalid)?;
        if request_id.is_empty() {
            return Err(invalid());
        }
        let request_id = request_id.to_string();
        let instance_id = e.text_of(mr::InstanceId).map(|i| i.trim().to_string());
        if let Some(instance) = &instance_id {
            // Only a calendar item has occurrences to name.
            if !version.meeting_response_instance_id() || folder.class != Class::Calendar {
                return Err(invalid());
            }
            if parse_time(instance).is_none() {
                return Err(Failure::Status(status::INVALID_DATETIME));
            }
        }
        let send = match e.child(mr::SendResponse) {
            Some(s) if version.meeting_response_sends_mail() => Some(SendResponse::parse(s)?),
            _ => None,
        };
        Ok(Request {
            answer,
            folder,
            request_id,
            instance_id,
            send,
        })
    }

    /// Do it; the CalendarId of an accepted or tentative meeting.
    fn answer(self, ctx: &mut Ctx) -> Result<Option<String>, Failure> {
        match self.folder.class {
            Class::Email => self.answer_mail(ctx),
            Class::Calendar => self.answer_event(ctx),
            _ => Err(invalid()),
        }
    }

    /// A meeting request in a mail folder: import (or update) its event in
    /// the default calendar, answer, and delete the request mail.
    fn answer_mail(self, ctx: &mut Ctx) -> Result<Option<String>, Failure> {
        let mailbox = self.folder.collection();
        let raw = match fetch_one(ctx, &mailbox, &self.request_id)? {
            Item::Email(mail) => mail.body.mime.ok_or_else(invalid)?,
            _ => return Err(invalid()),
        };
        let text = itip::request_in_message(&raw).ok_or_else(invalid)?;
        let mut event = ical::parse_event(&text).map_err(|_| invalid())?;
        let uid = event.uid.clone().ok_or_else(invalid)?;
        let me = my_address(ctx);
        // A request must come from someone else (RFC 5546 3.2.2).
        if organized_by_user(ctx, &event) {
            return Err(invalid());
        }
        let calendar = default_calendar(ctx)?;
        let stored = find_by_uid(ctx, &calendar, &uid)?;
        let now = DateTime::<Utc>::from(ctx.now);
        let sequence = itip::sequence_of(&text);
        // A request about one occurrence of a series the calendar has
        // answers that occurrence; it must not replace the series.
        let occurrence = itip::occurrence_of(&text).map_err(|_| invalid())?;
        if let (Some(original), Some(id)) = (occurrence, &stored) {
            let Item::Event(mut series) = fetch_one(ctx, &calendar, id)? else {
                return Err(invalid());
            };
            answer_occurrence(&mut series, original, &me, self.answer, now)?;
            ctx.session
                .replace(&calendar, id, &Item::Event(series))?;
            itip::record_answer(&mut event, &me, self.answer, now);
            self.mail_answer(ctx, &event, &uid, Some(original), sequence)?;
            self.done_with_request(ctx, &mailbox, &calendar);
            return Ok((self.answer != Answer::Declined).then(|| id.clone()));
        }
        itip::record_answer(&mut event, &me, self.answer, now);
        let calendar_id = match (self.answer, stored) {
            (Answer::Declined, Some(id)) => {
                ctx.session.delete(&calendar, &id)?;
                None
            }
            (Answer::Declined, None) => None,
            (_, Some(id)) => {
                ctx.session.replace(&calendar, &id, &Item::Event(event.clone()))?;
                Some(id)
            }
            (_, None) => Some(ctx.session.add(&calendar, &Item::Event(event.clone()))?),
        };
        self.mail_answer(ctx, &event, &uid, occurrence, sequence)?;
        self.done_with_request(ctx, &mailbox, &calendar);
        Ok(calendar_id)
    }

    /// The answered request mail goes (to Trash where there is one); a
    /// failure only costs the device a stale message, so it is logged.
    /// The user's other held requests hear of both folders at once.
    fn done_with_request(&self, ctx: &mut Ctx, mailbox: &Collection, calendar: &Collection) {
        if let Err(e) = ctx.session.delete(mailbox, &self.request_id) {
            log::warn!("MeetingResponse: request {} not deleted: {e}", self.request_id);
        }
        push::written(&ctx.req.user, &[mailbox.clone(), calendar.clone()]);
    }

    /// A meeting in a calendar folder: its (or one occurrence's) answer.
    fn answer_event(self, ctx: &mut Ctx) -> Result<Option<String>, Failure> {
        let calendar = self.folder.collection();
        let Item::Event(mut event) = fetch_one(ctx, &calendar, &self.request_id)? else {
            return Err(invalid());
        };
        let me = my_address(ctx);
        // An appointment without attendees, or the user's own meeting, has
        // nobody to answer (Status 2). Kronolith names the calendar's owner
        // as ORGANIZER of every event with attendees (it keeps no organizer),
        // so the user being listed as an attendee is what tells an
        // invitation from their own meeting.
        let invited = event
            .attendees
            .iter()
            .flatten()
            .any(|a| a.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&me)));
        if !invited && organized_by_user(ctx, &event) {
            return Err(invalid());
        }
        let now = DateTime::<Utc>::from(ctx.now);
        let instance = match &self.instance_id {
            None => {
                itip::record_answer(&mut event, &me, self.answer, now);
                None
            }
            Some(id) => {
                let start = eas_calendar::occurrence(&event, id)
                    .map_err(|_| Failure::Status(status::INVALID_DATETIME))?;
                answer_occurrence(&mut event, start, &me, self.answer, now)?;
                Some(start)
            }
        };
        if self.answer == Answer::Declined && instance.is_none() {
            ctx.session.delete(&calendar, &self.request_id)?;
        } else {
            ctx.session
                .replace(&calendar, &self.request_id, &Item::Event(event.clone()))?;
        }
        push::written(&ctx.req.user, std::slice::from_ref(&calendar));
        let uid = event.uid.clone().unwrap_or_else(|| self.request_id.clone());
        self.mail_answer(ctx, &event, &uid, instance, None)?;
        Ok((self.answer != Answer::Declined).then(|| self.request_id.clone()))
    }

    /// Mail the answer to the organizer when the device asked (16.x).
    fn mail_answer(
        &self,
        ctx: &mut Ctx,
        event: &Event,
        uid: &str,
        instance: Option<When>,
        sequence: Option<u32>,
    ) -> Result<(), Failure> {
        let Some(send) = &self.send else {
            return Ok(());
        };
        if organized_by_user(ctx, event) {
            log::warn!(
                "MeetingResponse: the organizer of {uid} is not known (the calendar names the \
                 user); answer not sent"
            );
            return Ok(());
        }
        let me = my_address(ctx);
        let reply = Reply {
            event,
            uid,
            attendee: &me,
            attendee_name: Some(identity::display_name(&ctx.req.user)),
            answer: self.answer,
            instance,
            comment: send.comment.as_deref(),
            comment_is_html: send.html,
            proposed: send.proposed,
            sequence,
            now: DateTime::<Utc>::from(ctx.now),
        };
        let Some(message) = reply.message() else {
            log::warn!("MeetingResponse: meeting {uid} has no organizer address; answer not sent");
            return Ok(());
        };
        match ctx.session.send_mail(&message, true) {
            Ok(()) => Ok(()),
            // No mail on this server (or the organizer refused): the
            // calendar is answered all the same.
            Err(BackendError::Invalid(e)) => {
                log::warn!("MeetingResponse: answer to {uid} not mailed: {e}");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl SendResponse {
    fn parse(e: &Element) -> Result<SendResponse, Failure> {
        let body = e.child(asb::Body);
        let comment = body.and_then(|b| b.text_of(asb::Data)).map(str::to_string);
        let html = body.and_then(|b| b.u32_of(asb::Type)) == Some(HTML_BODY);
        let time = |tag| e.text_of(tag).map(|t| parse_time(t).ok_or_else(invalid));
        let proposed = match (time(mr::ProposedStartTime), time(mr::ProposedEndTime)) {
            (None, None) => None,
            (Some(start), Some(end)) => {
                let (start, end) = (start?, end?);
                if end <= start {
                    return Err(invalid());
                }
                Some((start, end))
            }
            // One without the other is invalid (MS-ASCMD 2.2.3.140/141).
            _ => return Err(invalid()),
        };
        Ok(SendResponse {
            comment,
            html,
            proposed,
        })
    }
}

/// The occurrence of a recurring meeting that originally starts at
/// `start` answered (one the series does not have is Status 2): declined
/// becomes a deleted exception, otherwise the occurrence's exception gets
/// the attendee's status.
fn answer_occurrence(
    event: &mut Event,
    start: When,
    me: &str,
    answer: Answer,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    if event.recurrence.is_none() || !occurrences::is_occurrence(event, start) {
        return Err(invalid());
    }
    let attendees = event.attendees.clone();
    let exceptions = event.exceptions.get_or_insert_with(Vec::new);
    let earlier = exceptions
        .iter()
        .position(|x| x.original_start == Some(start))
        .map(|i| exceptions.remove(i));
    if answer == Answer::Declined {
        exceptions.push(Exception {
            original_start: Some(start),
            deleted: Some(true),
            changes: Box::default(),
        });
        return Ok(());
    }
    let mut changes = match earlier {
        Some(x) if x.deleted == Some(true) => return Err(invalid()),
        Some(x) => *x.changes,
        None => Event::default(),
    };
    if changes.attendees.is_none() {
        changes.attendees = attendees;
    }
    itip::record_answer(&mut changes, me, answer, now);
    exceptions.push(Exception {
        original_start: Some(start),
        deleted: None,
        changes: Box::new(changes),
    });
    Ok(())
}

/// Whether the event names the user (by address, or by user name as
/// Kronolith writes an owner without an address) or nobody as organizer.
fn organized_by_user(ctx: &Ctx, event: &Event) -> bool {
    let me = my_address(ctx);
    match event.organizer_email.as_deref().map(str::trim) {
        None | Some("") => true,
        Some(o) => o.eq_ignore_ascii_case(&me) || o.eq_ignore_ascii_case(&ctx.req.user),
    }
}

/// The user's address as attendees list it.
fn my_address(ctx: &Ctx) -> String {
    identity::email_address(ctx.config, &ctx.req.user).unwrap_or_else(|| ctx.req.user.clone())
}

/// The one item `id` of a collection (a missing one is an invalid request).
fn fetch_one(ctx: &mut Ctx, collection: &Collection, id: &str) -> Result<Item, Failure> {
    ctx.session
        .fetch(collection, &[id.to_string()])?
        .into_iter()
        .find(|(found, _)| found == id)
        .map(|(_, item)| item)
        .ok_or_else(invalid)
}

/// The user's default calendar: from the folders the device knows (no
/// backend call), else from the backend.
fn default_calendar(ctx: &mut Ctx) -> Result<Collection, Failure> {
    let known = store::hierarchy(ctx.device)
        .into_iter()
        .find(|f| f.folder_type == folder_type::CALENDAR);
    if let Some(folder) = known {
        return Ok(folder.collection());
    }
    let calendars: Vec<Collection> = ctx
        .session
        .collections()?
        .into_iter()
        .filter(|c| c.class == Class::Calendar)
        .collect();
    calendars
        .iter()
        .find(|c| c.is_default)
        .or(calendars.first())
        .cloned()
        .ok_or(Failure::Status(status::MAILBOX_ERROR))
}

/// The id of the calendar's event with this iCalendar UID, if it has one:
/// Horde keeps the UID as the id (one fetch); otherwise every event is read.
fn find_by_uid(
    ctx: &mut Ctx,
    calendar: &Collection,
    uid: &str,
) -> Result<Option<String>, Failure> {
    let has_uid = |item: &Item| matches!(item, Item::Event(e) if e.uid.as_deref() == Some(uid));
    if let Some((id, _)) = ctx
        .session
        .fetch(calendar, &[uid.to_string()])?
        .into_iter()
        .find(|(_, item)| has_uid(item))
    {
        return Ok(Some(id));
    }
    let ids = ctx.session.list(calendar, Default::default())?;
    Ok(ctx
        .session
        .fetch(calendar, &ids)?
        .into_iter()
        .find(|(_, item)| has_uid(item))
        .map(|(id, _)| id))
}
