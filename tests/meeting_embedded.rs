//! MeetingResponse with the embedded store: a real `serve` (embedded PIM
//! store + `[mail]` on Dovecot/Postfix). The store keeps the organizer, so
//! answers given from the calendar folder reach bob as iTIP REPLYs too.

mod support;

use horde_activesync::wbxml::codepages::{
    airsync as a, calendar as cal, meetingresponse as mr, search as s,
};
use horde_activesync::wbxml::Element;
use support::device::{commands, Phone};
use support::horde::unique;
use support::mail::{self, count_messages, fresh_mailboxes, wait_for_message};
use support::meeting::*;
use support::serve::Served;

#[test]
fn a_recurring_invitation_is_accepted_then_answered_per_occurrence_and_declined() {
    let _mail = fresh_mailboxes();
    let served = Served::start(
        &format!("[provisioning]\nmode = \"none\"\n{}", mail::config()),
        &[("alice", "alicepass"), ("bob", "bobpass")],
    );
    let mut bob = Phone::new(&served.url, "bob", "bobpass", "EMBBOB1", "16.1");
    bob.folder_sync();
    let uid = unique("weekly");
    let summary = format!("Standup {uid}");
    send_invitation(&bob, &uid, &summary, true);

    let mut alice = Phone::new(&served.url, "alice", "alicepass", "EMBALICE1", "16.1");
    alice.folder_sync();
    let inbox = alice.folder(INBOX);
    let calendar = alice.folder(CALENDAR);
    alice.start(&calendar, Some(100));
    let listed = messages(&mut alice, &inbox);
    let request_id = id_of(&listed, &summary);

    // Accepted from the Inbox without SendResponse: in the calendar, no mail.
    let result = respond(&alice, request(1, &inbox, &request_id));
    assert_eq!(result.text_of(mr::Status), Some("1"), "{}", to_xml(&result));
    let calendar_id = result
        .text_of(mr::CalendarId)
        .expect("CalendarId")
        .to_string();
    let coll = alice.sync(&calendar, Some(100), vec![]);
    let add = coll
        .child(a::Commands)
        .and_then(|c| {
            c.children_with(a::Add)
                .find(|e| e.text_of(a::ServerId) == Some(calendar_id.as_str()))
        })
        .unwrap_or_else(|| panic!("no Add of {calendar_id}: {}", to_xml(&coll)));
    let data = add.child(a::ApplicationData).unwrap();
    assert_eq!(data.text_of(cal::Subject), Some(summary.as_str()));
    assert_eq!(data.text_of(cal::OrganizerEmail), Some("bob@example.test"));
    assert_eq!(data.text_of(cal::ResponseType), Some("3"), "accepted");
    assert_eq!(
        data.text_of(cal::MeetingStatus),
        Some("3"),
        "a received meeting"
    );
    let alice_status = data
        .child(cal::Attendees)
        .into_iter()
        .flat_map(|a| a.children_with(cal::Attendee))
        .find(|a| a.text_of(cal::Email) == Some("alice@example.test"))
        .and_then(|a| a.text_of(cal::AttendeeStatus));
    assert_eq!(alice_status, Some("3"));

    // One occurrence tentatively, from the calendar, with SendResponse: bob
    // gets a REPLY for that RECURRENCE-ID.
    let result = respond(
        &alice,
        request(2, &calendar, &calendar_id)
            .with_text(mr::InstanceId, "2027-12-02T10:00:00.000Z")
            .with(send_response("Might be late")),
    );
    assert_eq!(result.text_of(mr::Status), Some("1"), "{}", to_xml(&result));
    assert_eq!(result.text_of(mr::CalendarId), Some(calendar_id.as_str()));
    let reply = wait_for_message("bob", "INBOX", &format!("SUBJECT \"Tentative: {summary}\""));
    let (method, ical) = itip_part(&reply);
    assert_eq!(method, "REPLY");
    assert!(ical.contains("RECURRENCE-ID:20271202T100000Z"), "{ical}");
    assert!(ical.contains("PARTSTAT=TENTATIVE"), "{ical}");
    let coll = alice.sync(&calendar, Some(100), vec![]);
    assert_eq!(
        commands(&coll),
        vec![("Change".to_string(), calendar_id.clone())],
        "the occurrence's answer reaches the device: {}",
        to_xml(&coll)
    );

    // Bob moves the Dec 3 occurrence and asks about it alone; accepting that
    // request answers the occurrence and keeps the series.
    send_occurrence_update(&bob, &uid, &summary, 3);
    let mut again = Phone::new(&served.url, "alice", "alicepass", "EMBALICE3", "16.1");
    again.folder_sync();
    let listed = messages(&mut again, &inbox);
    let update = id_of(&listed, &summary);
    let result = respond(
        &again,
        request(1, &inbox, &update).with(send_response("Fine")),
    );
    assert_eq!(result.text_of(mr::Status), Some("1"), "{}", to_xml(&result));
    assert_eq!(result.text_of(mr::CalendarId), Some(calendar_id.as_str()));
    let reply = wait_for_message("bob", "INBOX", &format!("SUBJECT \"Accepted: {summary}\""));
    let (_, ical) = itip_part(&reply);
    assert!(ical.contains("RECURRENCE-ID:20271203T100000Z"), "{ical}");
    let coll = alice.sync(&calendar, Some(100), vec![]);
    assert_eq!(
        commands(&coll),
        vec![("Change".to_string(), calendar_id.clone())]
    );
    let changed = coll
        .path(&[a::Commands, a::Change, a::ApplicationData])
        .unwrap();
    assert!(
        changed.has(cal::Recurrence) && changed.has(cal::Exceptions),
        "the series stays, with the occurrence as an exception: {}",
        to_xml(changed)
    );

    // The whole series declined: gone from the calendar, bob told.
    let result = respond(
        &alice,
        request(3, &calendar, &calendar_id).with(send_response("Sorry")),
    );
    assert_eq!(result.text_of(mr::Status), Some("1"), "{}", to_xml(&result));
    assert_eq!(result.text_of(mr::CalendarId), None);
    let reply = wait_for_message("bob", "INBOX", &format!("SUBJECT \"Declined: {summary}\""));
    let (_, ical) = itip_part(&reply);
    assert!(
        ical.contains("PARTSTAT=DECLINED") && !ical.contains("RECURRENCE-ID"),
        "{ical}"
    );
    let coll = alice.sync(&calendar, Some(100), vec![]);
    assert_eq!(
        commands(&coll),
        vec![("Delete".to_string(), calendar_id.clone())]
    );

    // A 14.1 device that found the invitation with Search answers it by its
    // LongId. 14.1 has no SendResponse: the server mails nothing (the device
    // sends its own answer with SendMail).
    let second = unique("once");
    let subject = format!("Review {second}");
    send_invitation(&bob, &second, &subject, false);
    let mut old = Phone::new(&served.url, "alice", "alicepass", "EMBALICE2", "14.1");
    old.folder_sync();
    let long_id = old.first_long_id(Some(&inbox), &second);
    let by_long_id = Element::new(mr::Request)
        .with_text(mr::UserResponse, "1")
        .with_text(s::LongId, long_id.clone())
        .with(send_response("ok"));
    let result = respond(&old, by_long_id);
    assert_eq!(result.text_of(mr::Status), Some("1"), "{}", to_xml(&result));
    assert!(result.text_of(mr::CalendarId).is_some());
    // LongId together with CollectionId is invalid (MS-ASCMD 2.2.3.150.2).
    let both = request(1, &inbox, "1").with_text(s::LongId, long_id);
    assert_eq!(respond(&old, both).text_of(mr::Status), Some("2"));
    assert_eq!(
        count_messages("bob", "INBOX", &format!("SUBJECT \"Accepted: {subject}\"")),
        0
    );
}
