//! ResolveRecipients Availability through a real `serve` on the embedded
//! store: bob's phone puts events into his calendar, alice resolves bob's
//! address (a contact of hers) and gets his free/busy, one digit per half
//! hour, computed from those events (a weekly series included).

mod support;

use horde_activesync::wbxml::codepages::{airsync as a, calendar as cal, resolverecipients as r};
use horde_activesync::wbxml::Element;
use support::device::{contact_add, Phone};
use support::serve::Served;

const CALENDAR: u32 = 8;
const CONTACTS: u32 = 9;

/// A Sync Add of an event (times as compact UTC, BusyStatus 0-3).
fn event(id: &str, (start, end): (&str, &str), busy: &str, recurrence: Option<Element>) -> Element {
    let mut data = Element::new(a::ApplicationData)
        .with_text(cal::Subject, format!("Event {id}"))
        .with_text(cal::StartTime, start)
        .with_text(cal::EndTime, end)
        .with_text(cal::BusyStatus, busy)
        .with_text(cal::AllDayEvent, "0");
    if let Some(r) = recurrence {
        data.push(r);
    }
    Element::new(a::Add).with_text(a::ClientId, id).with(data)
}

fn free_busy(phone: &Phone, to: &str, start: &str, end: &str) -> Element {
    let req = Element::new(r::ResolveRecipients)
        .with_text(r::To, to)
        .with(
            Element::new(r::Options).with(
                Element::new(r::Availability)
                    .with_text(r::StartTime, start)
                    .with_text(r::EndTime, end),
            ),
        );
    let reply = phone.client.post("ResolveRecipients", Some(&req));
    assert_eq!(reply.status, 200);
    let body = reply.body.unwrap();
    body.path(&[r::Response, r::Recipient, r::Availability])
        .unwrap_or_else(|| panic!("{}", horde_activesync::wbxml::xml::to_xml(&body)))
        .clone()
}

#[test]
fn free_busy_of_a_user_from_the_events_of_their_calendar() {
    let served = Served::start(
        "[provisioning]\nmode = \"none\"\n[mail]\ndomain = \"example.test\"\n",
        &[("alice", "alicepass"), ("bob", "bobpass")],
    );
    let mut bob = Phone::new(&served.url, "bob", "bobpass", "AVBOB", "16.1");
    bob.folder_sync();
    let calendar = bob.folder(CALENDAR);
    bob.start(&calendar, None);
    let daily = Element::new(cal::Recurrence)
        .with_text(cal::Type, "0")
        .with_text(cal::Interval, "1");
    let adds = vec![
        event("a", ("20271201T100000Z", "20271201T110000Z"), "2", None),
        event("b", ("20271201T113000Z", "20271201T120000Z"), "1", None),
        event("c", ("20271201T123000Z", "20271201T130000Z"), "0", None),
        event(
            "d",
            ("20271130T083000Z", "20271130T090000Z"),
            "2",
            Some(daily),
        ),
    ];
    let r = bob.sync(&calendar, None, adds);
    let added = r
        .child(a::Responses)
        .map(|x| x.children_with(a::Add).count())
        .unwrap_or_default();
    assert_eq!(added, 4, "{}", horde_activesync::wbxml::xml::to_xml(&r));

    let mut alice = Phone::new(&served.url, "alice", "alicepass", "AVALICE", "16.1");
    alice.folder_sync();
    let contacts = alice.folder(CONTACTS);
    alice.start(&contacts, None);
    alice.sync(
        &contacts,
        None,
        vec![contact_add("c1", "Bob", "Builder", "bob@example.test")],
    );
    alice.sync(
        &contacts,
        None,
        vec![contact_add(
            "c2",
            "Xavier",
            "Outside",
            "xavier@elsewhere.test",
        )],
    );

    // 08:00-13:00 on Dec 1: standup 08:30 (the series' second day), review
    // 10-11, tentative lunch 11:30, the free event shows free.
    let avail = free_busy(
        &alice,
        "bob@example.test",
        "2027-12-01T08:00:00.000Z",
        "2027-12-01T13:00:00.000Z",
    );
    assert_eq!(avail.text_of(r::Status), Some("1"));
    assert_eq!(avail.text_of(r::MergedFreeBusy), Some("0200220100"));

    // Someone who is no user of this server: Status 163, no digits.
    let avail = free_busy(
        &alice,
        "xavier@elsewhere.test",
        "2027-12-01T08:00:00.000Z",
        "2027-12-01T13:00:00.000Z",
    );
    assert_eq!(avail.text_of(r::Status), Some("163"));
    assert!(!avail.has(r::MergedFreeBusy));
}
