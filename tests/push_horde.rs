//! Push end to end with real parts: the binary as FastCGI under real
//! lighttpd, Horde behind JSON-RPC. Changes are made in Horde itself
//! (JSON-RPC as another client would), each test in a collection of its own.
//! Short configured intervals: no wait here is longer than a few seconds
//! unless the server fails to answer.

mod support;

use horde_activesync::wbxml::codepages::ping as p;
use horde_activesync::wbxml::Element;
use serde_json::json;
use std::time::Duration;
use support::client::Client;
use support::device::{ping_body, Phone};
use support::horde::{ensure_horde, horde_config, unique, DirectRpc};
use support::web::{Variant, WebServer};

const PING: &str =
    "[log]\nlevel = \"warn\"\n[ping]\nheartbeat_min = 1\nheartbeat_max = 60\npoll_interval = 1\n";

/// Hold a Ping on another thread; the caller changes something meanwhile.
fn held_ping(
    client: &Client,
    heartbeat: u32,
    folder: &str,
    class: &str,
) -> std::thread::JoinHandle<Element> {
    let mut client = client.clone();
    client.timeout = Duration::from_secs(u64::from(heartbeat) + 30);
    let body = ping_body(heartbeat, &[folder], class);
    let handle =
        std::thread::spawn(move || client.post("Ping", Some(&body)).body.expect("Ping body"));
    // Let the Ping reach the server and read its first cursors.
    std::thread::sleep(Duration::from_millis(700));
    handle
}

/// A Horde collection made for one test, removed at the end.
struct Scratch {
    rpc: DirectRpc,
    interface: &'static str,
    share: String,
    name: String,
}

impl Scratch {
    fn new(interface: &'static str, create: &str) -> Scratch {
        let rpc = ensure_horde().rpc("alice");
        let name = unique(interface);
        let share = rpc
            .call(&format!("{interface}.{create}"), json!([name, {}]))
            .as_str()
            .expect("share id")
            .to_string();
        Scratch {
            rpc,
            interface,
            share,
            name,
        }
    }

    /// The phone's folder id of this collection.
    fn folder(&self, phone: &Phone) -> String {
        phone
            .folders
            .iter()
            .find(|(_, (name, _))| *name == self.name)
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("{} not in {:?}", self.name, phone.folders))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let delete = match self.interface {
            "contacts" => "contacts.deleteAddressbook",
            _ => "calendar.deleteCalendar",
        };
        let _ = self.rpc.try_call(delete, json!([self.share]));
    }
}

fn phone(web: &WebServer, tag: &str) -> Phone {
    let mut phone = Phone::new(
        &web.base_url,
        "alice",
        "alicepass",
        &unique(tag).replace('-', ""),
        "14.1",
    );
    phone.folder_sync();
    phone
}

#[test]
fn ping_expires_then_answers_a_contact_added_in_horde() {
    let dir = horde_config(PING);
    let web = WebServer::start(
        Variant::LighttpdFastcgi,
        &dir.path().join("activesync.toml"),
    );
    let book = Scratch::new("contacts", "addAddressbook");
    let mut phone = phone(&web, "PUSHC");
    let folder = book.folder(&phone);
    phone.start(&folder, None);

    let r = phone
        .client
        .post("Ping", Some(&ping_body(2, &[&folder], "Contacts")))
        .body
        .unwrap();
    assert_eq!(r.text_of(p::Status), Some("1"), "no change: expired");

    let waiter = held_ping(&phone.client, 30, &folder, "Contacts");
    book.rpc.add_contact(&book.share, "Pushed", "FromHorde");
    let r = waiter.join().unwrap();
    assert_eq!(
        r.text_of(p::Status),
        Some("2"),
        "{}\n{}",
        horde_activesync::wbxml::xml::to_xml(&r),
        web.log()
    );
    assert_eq!(
        r.path(&[p::Folders]).unwrap().text_of(p::Folder),
        Some(folder.as_str())
    );
}

#[test]
fn calendar_ping_ignores_events_outside_the_filter_window() {
    let dir = horde_config(PING);
    let web = WebServer::start(
        Variant::LighttpdFastcgi,
        &dir.path().join("activesync.toml"),
    );
    let calendar = Scratch::new("calendar", "addCalendar");
    let mut phone = phone(&web, "PUSHA");
    let folder = calendar.folder(&phone);
    // FilterType 4: events of the last two weeks and later.
    phone.filters.insert(folder.clone(), 4);
    phone.start(&folder, None);

    let waiter = held_ping(&phone.client, 4, &folder, "Calendar");
    let old = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{}\r\n\
         DTSTAMP:20200101T000000Z\r\nDTSTART:20200301T100000Z\r\nDTEND:20200301T110000Z\r\n\
         SUMMARY:Long ago\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        unique("push-old")
    );
    calendar.rpc.call(
        "calendar.import",
        json!([old, "text/calendar", calendar.share]),
    );
    let r = waiter.join().unwrap();
    assert_eq!(
        r.text_of(p::Status),
        Some("1"),
        "an event of 2020 is outside the window: {}",
        horde_activesync::wbxml::xml::to_xml(&r)
    );

    let waiter = held_ping(&phone.client, 30, &folder, "Calendar");
    calendar
        .rpc
        .add_event(&calendar.share, &unique("push-event"), "Inside the window");
    let r = waiter.join().unwrap();
    assert_eq!(
        r.text_of(p::Status),
        Some("2"),
        "{}\n{}",
        horde_activesync::wbxml::xml::to_xml(&r),
        web.log()
    );
}
