//! Meeting invitations and answers for the MeetingResponse tests: the
//! iCalendar of a meeting bob organizes, the invitation mail his phone sends
//! to alice, the MeetingResponse request, and reading the iTIP part of the
//! answer bob receives.

use super::device::Phone;
use super::mail::wait_for_message;
use horde_activesync::wbxml::codepages::{
    airsync as a, airsyncbase as asb, composemail as cm, email as em, meetingresponse as mr,
};
use horde_activesync::wbxml::Element;
use mail_parser::{MessageParser, MimeHeaders};

pub const INBOX: u32 = 2;
pub const CALENDAR: u32 = 8;

/// A VCALENDAR of a meeting bob organizes, on 2027-12-01 10:00-11:00 UTC
/// (daily for five days when `recurring`), with alice invited.
pub fn meeting(method: &str, uid: &str, summary: &str, recurring: bool) -> String {
    let rrule = if recurring {
        "RRULE:FREQ=DAILY;COUNT=5\r\n"
    } else {
        ""
    };
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:{method}\r\n\
         BEGIN:VEVENT\r\nUID:{uid}\r\nSEQUENCE:1\r\nDTSTAMP:20261120T080000Z\r\n\
         DTSTART:20271201T100000Z\r\nDTEND:20271201T110000Z\r\n{rrule}SUMMARY:{summary}\r\n\
         ORGANIZER;CN=Bob:mailto:bob@example.test\r\n\
         ATTENDEE;CN=Alice;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.test\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// The invitation mail (iMIP, RFC 6047): text and `method=REQUEST` parts,
/// Message-ID `<{message_id}>`.
fn invitation_mail(message_id: &str, summary: &str, calendar: &str) -> Vec<u8> {
    format!(
        "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: {summary}\r\n\
         Message-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"inv\"\r\n\r\n\
         --inv\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nPlease come.\r\n\
         --inv\r\nContent-Type: text/calendar; charset=UTF-8; method=REQUEST\r\n\r\n{calendar}\r\n--inv--\r\n"
    )
    .into_bytes()
}

/// Bob's phone sends a mail (SendMail → Postfix); returns once it is in
/// alice's INBOX.
fn send_to_alice(bob: &Phone, message_id: &str, mail: Vec<u8>) {
    let req = Element::new(cm::SendMail)
        .with_text(cm::ClientId, message_id)
        .with(Element::opaque_element(cm::Mime, mail));
    let reply = bob.client.post("SendMail", Some(&req));
    assert_eq!(reply.status, 200, "{}", reply.xml());
    assert!(reply.body.is_none(), "SendMail failed: {}", reply.xml());
    wait_for_message(
        "alice",
        "INBOX",
        &format!("HEADER Message-ID \"<{message_id}>\""),
    );
}

/// Bob invites alice to the meeting `uid`.
pub fn send_invitation(bob: &Phone, uid: &str, summary: &str, recurring: bool) {
    let id = format!("{uid}@example.test");
    let calendar = meeting("REQUEST", uid, summary, recurring);
    send_to_alice(bob, &id, invitation_mail(&id, summary, &calendar));
}

/// Bob moves one occurrence of the daily series `uid` (the one of
/// `day`, 2027-12-DD 10:00 UTC) to 14:00 and asks alice about it alone.
pub fn send_occurrence_update(bob: &Phone, uid: &str, summary: &str, day: u32) {
    let id = format!("{uid}.{day}@example.test");
    let calendar = meeting("REQUEST", uid, summary, false)
        .replace(
            "DTSTART:20271201T100000Z\r\nDTEND:20271201T110000Z\r\n",
            &format!(
                "RECURRENCE-ID:202712{day:02}T100000Z\r\n\
                 DTSTART:202712{day:02}T140000Z\r\nDTEND:202712{day:02}T150000Z\r\n"
            ),
        )
        .replace("SEQUENCE:1", "SEQUENCE:2");
    send_to_alice(bob, &id, invitation_mail(&id, summary, &calendar));
}

/// (ServerId, Subject) of every message of a mail folder, from its first
/// Sync (key 0, then one round).
pub fn messages(phone: &mut Phone, folder: &str) -> Vec<(String, String)> {
    phone.sync(folder, Some(100), vec![]);
    let coll = phone.sync(folder, Some(100), vec![]);
    coll.child(a::Commands)
        .into_iter()
        .flat_map(|c| c.children_with(a::Add))
        .map(|add| {
            let subject = add
                .child(a::ApplicationData)
                .and_then(|d| d.text_of(em::Subject))
                .unwrap_or_default();
            (
                add.text_of(a::ServerId).unwrap_or_default().to_string(),
                subject.to_string(),
            )
        })
        .collect()
}

/// The ServerId of the message with this subject.
pub fn id_of(messages: &[(String, String)], subject: &str) -> String {
    messages
        .iter()
        .find(|(_, s)| s == subject)
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("{subject} not synced: {messages:?}"))
}

/// A MeetingResponse Request (UserResponse 1 accept, 2 tentative, 3 decline).
pub fn request(answer: u32, folder: &str, id: &str) -> Element {
    Element::new(mr::Request)
        .with_text(mr::UserResponse, answer.to_string())
        .with_text(mr::CollectionId, folder)
        .with_text(mr::RequestId, id)
}

/// A 16.x SendResponse with a plain-text note.
pub fn send_response(note: &str) -> Element {
    Element::new(mr::SendResponse).with(
        Element::new(asb::Body)
            .with_text(asb::Type, "1")
            .with_text(asb::Data, note),
    )
}

/// POST one Request; the answer's Result.
pub fn respond(phone: &Phone, request: Element) -> Element {
    let body = Element::new(mr::MeetingResponse).with(request);
    let reply = phone.client.post("MeetingResponse", Some(&body));
    assert_eq!(reply.status, 200, "{}", reply.xml());
    let body = reply.body.expect("MeetingResponse body");
    body.child(mr::Result).expect("Result").clone()
}

/// The iTIP part of a received answer: (method parameter, calendar text).
pub fn itip_part(raw: &[u8]) -> (String, String) {
    let msg = MessageParser::default().parse(raw).expect("a message");
    let part = msg
        .parts
        .iter()
        .find(|p| p.is_content_type("text", "calendar"))
        .expect("a text/calendar part");
    let method = part
        .content_type()
        .and_then(|c| c.attribute("method"))
        .unwrap_or_default()
        .to_string();
    (
        method,
        String::from_utf8_lossy(part.contents()).into_owned(),
    )
}

pub fn to_xml(e: &Element) -> String {
    horde_activesync::wbxml::xml::to_xml(e)
}
