//! ResolveRecipients Availability against real Horde: a busy slot put into
//! bob's Kronolith calendar (direct JSON-RPC) shows in the MergedFreeBusy
//! alice's phone gets for bob's address, through the binary as CGI under
//! lighttpd. The free/busy is Kronolith's published one (fb.php), which
//! covers today and the next 30 days.

mod support;

use chrono::{Duration, NaiveTime, Utc};
use horde_activesync::wbxml::codepages::resolverecipients as r;
use horde_activesync::wbxml::Element;
use serde_json::json;
use support::device::Phone;
use support::horde::{drop_free_busy_cache, ensure_horde, horde_config, unique, DirectRpc};
use support::web::{Variant, WebServer};

/// What the test added to Horde, removed on drop.
struct Cleanup {
    bob: DirectRpc,
    event: String,
    alice: DirectRpc,
    book: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = self.bob.try_call("calendar.delete", json!([self.event]));
        let _ = self
            .alice
            .try_call("contacts.deleteAddressbook", json!([self.book]));
        drop_free_busy_cache("bob");
    }
}

fn availability(phone: &Phone, start: &str, end: &str) -> Element {
    let req = Element::new(r::ResolveRecipients)
        .with_text(r::To, "bob@example.test")
        .with(
            Element::new(r::Options).with(
                Element::new(r::Availability)
                    .with_text(r::StartTime, start)
                    .with_text(r::EndTime, end),
            ),
        );
    let reply = phone.client.post("ResolveRecipients", Some(&req));
    assert_eq!(reply.status, 200, "{}", reply.xml());
    let body = reply.body.unwrap();
    body.path(&[r::Response, r::Recipient, r::Availability])
        .unwrap_or_else(|| panic!("{}", horde_activesync::wbxml::xml::to_xml(&body)))
        .clone()
}

#[test]
fn a_busy_slot_in_kronolith_shows_in_merged_free_busy() {
    let horde = ensure_horde();
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive();
    let today = Utc::now().date_naive();
    let at = |day: chrono::NaiveDate, h: u32, m: u32| {
        day.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap())
            .and_utc()
    };
    let ical = |t: chrono::DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let eas = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S.000Z").to_string();

    let bob = horde.rpc("bob");
    let uid = unique("busy");
    let calendar = bob.default_share("calendar");
    let event = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261120T080000Z\r\n\
         DTSTART:{}\r\nDTEND:{}\r\nSUMMARY:Busy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        ical(at(tomorrow, 10, 0)),
        ical(at(tomorrow, 11, 0))
    );
    bob.call("calendar.import", json!([event, "text/calendar", calendar]));
    let alice = horde.rpc("alice");
    let book = alice
        .call("contacts.addAddressbook", json!([unique("Colleagues"), {}]))
        .as_str()
        .unwrap()
        .to_string();
    let _cleanup = Cleanup {
        bob: horde.rpc("bob"),
        event: uid.clone(),
        alice: horde.rpc("alice"),
        book: book.clone(),
    };
    let contact = json!({"firstname": "Bob", "lastname": "Builder", "email": "bob@example.test"});
    alice.call("contacts.import", json!([contact, "array", book]));
    drop_free_busy_cache("bob");

    let dir = horde_config("[mail]\ndomain = \"example.test\"\n");
    let web = WebServer::start(Variant::LighttpdCgi, &dir.path().join("activesync.toml"));
    let mut phone = Phone::new(&web.base_url, "alice", "alicepass", "AVHORDE1", "16.1");
    phone.folder_sync();

    // Tomorrow 08:00-13:00: busy 10:00-11:00.
    let avail = availability(&phone, &eas(at(tomorrow, 8, 0)), &eas(at(tomorrow, 13, 0)));
    assert_eq!(avail.text_of(r::Status), Some("1"));
    assert_eq!(avail.text_of(r::MergedFreeBusy), Some("0000220000"));

    // Before today Kronolith publishes nothing: no data (4).
    let avail = availability(
        &phone,
        &eas(at(today, 0, 0) - Duration::hours(1)),
        &eas(at(today, 0, 30)),
    );
    assert_eq!(avail.text_of(r::MergedFreeBusy), Some("440"));
}
