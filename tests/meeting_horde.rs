//! MeetingResponse end to end on real parts: the binary as CGI under
//! lighttpd with the Horde backend (Kronolith over JSON-RPC) and mail on
//! Dovecot + Postfix. Bob's phone sends alice invitations (SendMail →
//! Postfix → alice's INBOX); alice's phone answers them from the Inbox or
//! from her calendar; Kronolith (read back with a direct JSON-RPC export)
//! and bob's mailbox show the answers.

mod support;

use horde_activesync::wbxml::codepages::{composemail as cm, meetingresponse as mr};
use horde_activesync::wbxml::Element;
use serde_json::json;
use support::device::Phone;
use support::horde::{ensure_horde, horde_config, unique, DirectRpc};
use support::mail::{self, count_messages, fresh_mailboxes, wait_for_message};
use support::meeting::*;
use support::web::{Variant, WebServer};

/// Alice's ATTENDEE line in Kronolith's export of the event, `None` when
/// alice's calendars have no such event.
fn alice_line(rpc: &DirectRpc, uid: &str) -> Option<String> {
    let ical = rpc
        .try_call("calendar.export", json!([uid, "text/calendar"]))
        .ok()?;
    let text = ical.as_str().unwrap_or_default().replace("\r\n ", "");
    text.lines()
        .find(|l| l.starts_with("ATTENDEE") && l.to_lowercase().contains("alice@example.test"))
        .map(str::to_string)
}

/// Events this test put into alice's calendar, deleted on drop.
struct Cleanup(DirectRpc, Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for uid in &self.1 {
            let _ = self.0.try_call("calendar.delete", json!([uid]));
        }
    }
}

fn web_server(dir: &tempfile::TempDir) -> WebServer {
    WebServer::start(Variant::LighttpdCgi, &dir.path().join("activesync.toml"))
}

#[test]
fn invitations_in_the_inbox_are_answered_into_kronolith_and_to_the_organizer() {
    let horde = ensure_horde();
    let _mail = fresh_mailboxes();
    let dir = horde_config(&mail::config());
    let web = web_server(&dir);
    let rpc = horde.rpc("alice");
    let accepted = unique("meet-accept");
    let countered = unique("meet-counter");
    let declined = unique("meet-decline");
    let _cleanup = Cleanup(
        horde.rpc("alice"),
        vec![accepted.clone(), countered.clone(), declined.clone()],
    );

    let mut bob = Phone::new(&web.base_url, "bob", "bobpass", "MEETBOB1", "16.1");
    bob.folder_sync();
    for uid in [&accepted, &countered, &declined] {
        send_invitation(&bob, uid, &format!("Plan {uid}"), false);
    }

    let mut alice = Phone::new(&web.base_url, "alice", "alicepass", "MEETALICE1", "16.1");
    alice.folder_sync();
    let inbox = alice.folder(INBOX);
    let listed = messages(&mut alice, &inbox);
    let plain = listed
        .iter()
        .find(|(_, s)| !s.starts_with("Plan "))
        .map(|(id, _)| id.clone())
        .expect("a seeded message");

    // Accept with a note: Kronolith has the meeting with alice ACCEPTED, bob
    // gets a REPLY, the request leaves alice's INBOX.
    let first = id_of(&listed, &format!("Plan {accepted}"));
    let result = respond(
        &alice,
        request(1, &inbox, &first).with(send_response("See you there")),
    );
    assert_eq!(result.text_of(mr::Status), Some("1"), "{}", to_xml(&result));
    assert_eq!(result.text_of(mr::RequestId), Some(first.as_str()));
    assert_eq!(result.text_of(mr::CalendarId), Some(accepted.as_str()));
    let line = alice_line(&rpc, &accepted).expect("the meeting in alice's Kronolith");
    assert!(line.contains("PARTSTAT=ACCEPTED"), "{line}");
    let reply = wait_for_message(
        "bob",
        "INBOX",
        &format!("SUBJECT \"Accepted: Plan {accepted}\""),
    );
    let (method, ical) = itip_part(&reply);
    assert_eq!(method, "REPLY");
    for want in [
        format!("UID:{accepted}"),
        "PARTSTAT=ACCEPTED".into(),
        "SEQUENCE:1".into(),
        "COMMENT:See you there".into(),
    ] {
        assert!(ical.contains(&want), "{want} in {ical}");
    }
    assert!(String::from_utf8_lossy(&reply).contains("From: alice <alice@example.test>"));
    assert_eq!(
        count_messages("alice", "INBOX", &format!("SUBJECT \"Plan {accepted}\"")),
        0,
        "the answered request is deleted"
    );
    // The calendar folder now shows the meeting.
    let calendar = alice.folder(CALENDAR);
    let coll = alice.start(&calendar, Some(100));
    assert!(to_xml(&coll).contains(&accepted), "{}", to_xml(&coll));

    // Tentative with another time proposed: TENTATIVE in Kronolith, a
    // COUNTER with the proposed times to bob.
    let counter = Element::new(mr::SendResponse)
        .with_text(mr::ProposedStartTime, "20271202T090000Z")
        .with_text(mr::ProposedEndTime, "20271202T100000Z");
    let id = id_of(&listed, &format!("Plan {countered}"));
    let result = respond(&alice, request(2, &inbox, &id).with(counter));
    assert_eq!(result.text_of(mr::Status), Some("1"), "{}", to_xml(&result));
    assert_eq!(result.text_of(mr::CalendarId), Some(countered.as_str()));
    let line = alice_line(&rpc, &countered).unwrap();
    assert!(line.contains("PARTSTAT=TENTATIVE"), "{line}");
    let mail = wait_for_message(
        "bob",
        "INBOX",
        &format!("SUBJECT \"Tentative: Plan {countered}\""),
    );
    let (method, ical) = itip_part(&mail);
    assert_eq!(method, "COUNTER");
    assert!(ical.contains("DTSTART:20271202T090000Z"), "{ical}");

    // Decline without SendResponse: nothing in Kronolith, no CalendarId,
    // nothing mailed.
    let id = id_of(&listed, &format!("Plan {declined}"));
    let result = respond(&alice, request(3, &inbox, &id));
    assert_eq!(result.text_of(mr::Status), Some("1"), "{}", to_xml(&result));
    assert_eq!(result.text_of(mr::CalendarId), None);
    assert_eq!(alice_line(&rpc, &declined), None);
    assert_eq!(
        count_messages(
            "bob",
            "INBOX",
            &format!("SUBJECT \"Declined: Plan {declined}\"")
        ),
        0
    );

    // A message that is no meeting request, one that is gone, an unknown
    // folder, a bad UserResponse, InstanceId on a mail: Status 2.
    for bad in [
        request(1, &inbox, &plain),
        request(1, &inbox, &first),
        request(1, "M0000000000000000", &plain),
        request(7, &inbox, &plain),
        request(1, &inbox, &plain).with_text(mr::InstanceId, "2027-12-01T10:00:00.000Z"),
    ] {
        let result = respond(&alice, bad);
        assert_eq!(result.text_of(mr::Status), Some("2"), "{}", to_xml(&result));
    }
}

#[test]
fn meetings_in_a_kronolith_calendar_are_answered_per_series_and_occurrence() {
    let horde = ensure_horde();
    let _mail = fresh_mailboxes();
    let dir = horde_config(&mail::config());
    let web = web_server(&dir);
    let rpc = horde.rpc("alice");
    let single = unique("meet-cal");
    let series = unique("meet-series");
    let own = unique("meet-own");
    let _cleanup = Cleanup(
        horde.rpc("alice"),
        vec![single.clone(), series.clone(), own.clone()],
    );
    let share = rpc.default_share("calendar");
    for (uid, recurring) in [(&single, false), (&series, true)] {
        let text = meeting("PUBLISH", uid, &format!("Cal {uid}"), recurring);
        rpc.call("calendar.import", json!([text, "text/calendar", share]));
    }
    // An appointment of alice's own (no attendees) has nobody to answer.
    let text = meeting("PUBLISH", &own, "Own", false).replace(
        "ATTENDEE;CN=Alice;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.test\r\n",
        "",
    );
    rpc.call("calendar.import", json!([text, "text/calendar", share]));

    let mut alice = Phone::new(&web.base_url, "alice", "alicepass", "MEETCAL1", "16.1");
    alice.folder_sync();
    let calendar = alice.folder(CALENDAR);
    alice.start(&calendar, Some(100));

    // Tentative: Kronolith has TENTATIVE. Kronolith keeps no organizer (it
    // names alice), so the SendResponse cannot reach bob: nothing is mailed.
    let result = respond(
        &alice,
        request(2, &calendar, &single).with(send_response("maybe")),
    );
    assert_eq!(result.text_of(mr::Status), Some("1"), "{}", to_xml(&result));
    assert_eq!(result.text_of(mr::CalendarId), Some(single.as_str()));
    let line = alice_line(&rpc, &single).unwrap();
    assert!(line.contains("PARTSTAT=TENTATIVE"), "{line}");
    assert_eq!(count_messages("bob", "INBOX", "ALL"), 0);

    // One occurrence of the series declined (14.1+ InstanceId): the series
    // stays, that day is an exception date.
    let result = respond(
        &alice,
        request(3, &calendar, &series).with_text(mr::InstanceId, "2027-12-03T10:00:00.000Z"),
    );
    assert_eq!(result.text_of(mr::Status), Some("1"), "{}", to_xml(&result));
    assert_eq!(result.text_of(mr::CalendarId), None);
    let export = rpc.call("calendar.export", json!([series, "text/calendar"]));
    let export = export.as_str().unwrap().to_string();
    assert!(
        export.contains("EXDATE") && export.contains("20271203"),
        "{export}"
    );
    // Another occurrence accepted: an exception event with alice ACCEPTED.
    let result = respond(
        &alice,
        request(1, &calendar, &series).with_text(mr::InstanceId, "2027-12-04T10:00:00.000Z"),
    );
    assert_eq!(result.text_of(mr::Status), Some("1"), "{}", to_xml(&result));
    let export = rpc.call("calendar.export", json!([series, "text/calendar"]));
    let export = export.as_str().unwrap().replace("\r\n ", "");
    assert!(export.contains("RECURRENCE-ID"), "{export}");
    assert!(export.contains("PARTSTAT=ACCEPTED"), "{export}");

    // InstanceId of a single meeting, InstanceId from a 14.0 device, an
    // appointment without attendees, a time the series has no occurrence
    // at: Status 2; a malformed InstanceId: 104.
    let result = respond(
        &alice,
        request(1, &calendar, &single).with_text(mr::InstanceId, "2027-12-01T10:00:00.000Z"),
    );
    assert_eq!(result.text_of(mr::Status), Some("2"));
    let mut old = Phone::new(&web.base_url, "alice", "alicepass", "MEETCAL2", "14.0");
    old.folder_sync();
    let result = respond(
        &old,
        request(1, &calendar, &series).with_text(mr::InstanceId, "2027-12-02T10:00:00.000Z"),
    );
    assert_eq!(result.text_of(mr::Status), Some("2"));
    let result = respond(&alice, request(1, &calendar, &own));
    assert_eq!(result.text_of(mr::Status), Some("2"));
    for not_an_occurrence in ["2027-12-03T11:00:00.000Z", "2027-12-09T10:00:00.000Z"] {
        let result = respond(
            &alice,
            request(1, &calendar, &series).with_text(mr::InstanceId, not_an_occurrence),
        );
        assert_eq!(result.text_of(mr::Status), Some("2"), "{not_an_occurrence}");
    }
    let result = respond(
        &alice,
        request(1, &calendar, &series).with_text(mr::InstanceId, "tomorrow"),
    );
    assert_eq!(result.text_of(mr::Status), Some("104"));

    // Declining the whole meeting removes it from alice's calendar.
    let result = respond(&alice, request(3, &calendar, &single));
    assert_eq!(result.text_of(mr::Status), Some("1"));
    assert_eq!(alice_line(&rpc, &single), None);
}

/// SmartForward from the calendar (MS-ASCMD 2.2.3.92.2 InstanceId): the
/// device's message reaches the recipient with the meeting request
/// attached, the whole series or only the occurrence named.
#[test]
fn meetings_are_forwarded_from_the_calendar_as_requests() {
    let horde = ensure_horde();
    let _mail = fresh_mailboxes();
    let dir = horde_config(&mail::config());
    let web = web_server(&dir);
    let rpc = horde.rpc("alice");
    let series = unique("meet-fwd");
    let _cleanup = Cleanup(horde.rpc("alice"), vec![series.clone()]);
    let share = rpc.default_share("calendar");
    let text = meeting("PUBLISH", &series, &format!("Fwd {series}"), true);
    rpc.call("calendar.import", json!([text, "text/calendar", share]));

    let mut alice = Phone::new(&web.base_url, "alice", "alicepass", "MEETFWD1", "16.1");
    alice.folder_sync();
    let calendar = alice.folder(CALENDAR);
    alice.start(&calendar, Some(100));
    let forward = |subject: &str, instance: Option<&str>| {
        let mut source = Element::new(cm::Source)
            .with_text(cm::FolderId, calendar.clone())
            .with_text(cm::ItemId, series.clone());
        if let Some(i) = instance {
            source.push_text(cm::InstanceId, i);
        }
        let mime = format!(
            "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: {subject}\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nJoin us.\r\n"
        );
        let req = Element::new(cm::SmartForward)
            .with_text(cm::ClientId, subject)
            .with(source)
            .with(Element::opaque_element(cm::Mime, mime.into_bytes()));
        let reply = alice.client.post("SmartForward", Some(&req));
        assert_eq!(reply.status, 200, "{}", reply.xml());
        reply
            .body
            .and_then(|b| b.text_of(cm::Status).map(str::to_string))
    };

    // One occurrence: a REQUEST for that day only.
    let subject = format!("Fw: day 3 {series}");
    assert_eq!(forward(&subject, Some("2027-12-03T10:00:00.000Z")), None);
    let got = wait_for_message("bob", "INBOX", &format!("SUBJECT \"{subject}\""));
    assert!(String::from_utf8_lossy(&got).contains("Join us."));
    let (method, ical) = itip_part(&got);
    assert_eq!(method, "REQUEST");
    let ical = ical.replace("\r\n ", "");
    for want in [
        format!("UID:{series}"),
        "METHOD:REQUEST".into(),
        "RECURRENCE-ID:20271203T100000Z".into(),
        "DTSTART:20271203T100000Z".into(),
        format!("SUMMARY:Fwd {series}"),
    ] {
        assert!(ical.contains(&want), "{want} in {ical}");
    }
    // Kronolith keeps the owner's login name as organizer; the recipient
    // gets an address to answer.
    let organizer = ical
        .lines()
        .find(|l| l.starts_with("ORGANIZER"))
        .unwrap_or_default();
    assert!(organizer.ends_with(":mailto:alice@example.test"), "{ical}");
    assert!(!ical.contains("RRULE"), "{ical}");

    // The whole series.
    let subject = format!("Fw: all {series}");
    assert_eq!(forward(&subject, None), None);
    let got = wait_for_message("bob", "INBOX", &format!("SUBJECT \"{subject}\""));
    let (method, ical) = itip_part(&got);
    assert_eq!(method, "REQUEST");
    assert!(
        ical.contains("RRULE:FREQ=DAILY;INTERVAL=1;COUNT=5"),
        "{ical}"
    );
    assert!(!ical.contains("RECURRENCE-ID"), "{ical}");

    // A day the series has no occurrence on: 150, nothing sent; no
    // date-time at all: 104.
    assert_eq!(
        forward("Fw: none", Some("2027-12-09T10:00:00.000Z")).as_deref(),
        Some("150")
    );
    assert_eq!(
        forward("Fw: bad", Some("next week")).as_deref(),
        Some("104")
    );
    assert_eq!(count_messages("bob", "INBOX", "SUBJECT \"Fw: none\""), 0);
}
