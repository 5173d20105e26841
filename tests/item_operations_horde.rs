//! ItemOperations Fetch of PIM items against a real Horde (Turba,
//! Kronolith) behind the binary as CGI under real lighttpd: a contact and an
//! event by CollectionId + ServerId with a BodyPreference (truncation,
//! Schema), as a multipart response, unknown items, and EmptyFolderContents
//! refused for PIM folders without touching them.

mod support;

use horde_activesync::wbxml::codepages::{
    airsync as a, airsyncbase as asb, calendar as cal, contacts as c, itemoperations as io,
};
use horde_activesync::wbxml::{self, Element};
use support::client::{multipart_parts, Reply};
use support::device::Phone;
use support::horde::{horde_config, unique};
use support::web::{Variant, WebServer};

fn fetch(folder: &str, server_id: &str, options: Element) -> Element {
    Element::new(io::Fetch)
        .with_text(io::Store, "Mailbox")
        .with_text(a::CollectionId, folder)
        .with_text(a::ServerId, server_id)
        .with(options)
}

fn body_preference(truncation: Option<&str>) -> Element {
    let mut pref = Element::new(asb::BodyPreference).with_text(asb::Type, "1");
    if let Some(n) = truncation {
        pref.push_text(asb::TruncationSize, n);
    }
    Element::new(io::Options).with(pref)
}

fn post(phone: &Phone, op: Element, multipart: bool) -> Reply {
    let extra: &[(&str, &str)] = if multipart {
        &[("MS-ASAcceptMultiPart", "T")]
    } else {
        &[]
    };
    let req = Element::new(io::ItemOperations).with(op);
    let reply = phone
        .client
        .post_with_headers("ItemOperations", &[], extra, Some(&req));
    assert_eq!(reply.status, 200);
    reply
}

/// The one operation result of an inline answer.
fn result(phone: &Phone, op: Element) -> Element {
    let body = post(phone, op, false).body.expect("WBXML");
    assert_eq!(body.text_of(io::Status), Some("1"));
    body.path(&[io::Response])
        .and_then(|r| r.elements().next())
        .unwrap()
        .clone()
}

/// Add one item to a folder with Sync; its ServerId.
fn add(phone: &mut Phone, folder: &str, data: Element) -> String {
    let r = phone.sync(
        folder,
        None,
        vec![Element::new(a::Add).with_text(a::ClientId, "n1").with(data)],
    );
    let added = r.path(&[a::Responses, a::Add]).unwrap();
    assert_eq!(added.text_of(a::Status), Some("1"));
    added.text_of(a::ServerId).unwrap().to_string()
}

#[test]
fn fetch_a_contact_and_an_event_from_horde_with_body_preference() {
    let dir = horde_config("[log]\nlevel = \"warn\"\n");
    let web = WebServer::start(Variant::LighttpdCgi, &dir.path().join("activesync.toml"));
    let mut phone = Phone::new(&web.base_url, "alice", "alicepass", "IOHORDE", "16.1");
    phone.folder_sync();

    // A contact with notes in the default address book.
    let book = phone.folder(9);
    phone.start(&book, None);
    let last = unique("Fetch");
    let contact = add(
        &mut phone,
        &book,
        Element::new(a::ApplicationData)
            .with_text(c::FirstName, "Iris")
            .with_text(c::LastName, last.clone())
            .with_text(c::Email1Address, "iris@example.test")
            .with(
                Element::new(asb::Body)
                    .with_text(asb::Type, "1")
                    .with_text(asb::Data, "Met at the fair; likes tea."),
            ),
    );
    let got = result(&phone, fetch(&book, &contact, body_preference(Some("6"))));
    assert_eq!(got.text_of(io::Status), Some("1"));
    assert_eq!(got.text_of(a::Class), Some("Contacts"));
    assert_eq!(got.text_of(a::ServerId), Some(contact.as_str()));
    let props = got.child(io::Properties).unwrap();
    assert_eq!(props.text_of(c::FirstName), Some("Iris"));
    assert_eq!(props.text_of(c::LastName), Some(last.as_str()));
    let body = props.child(asb::Body).unwrap();
    assert_eq!(body.text_of(asb::Truncated), Some("1"));
    assert_eq!(body.text_of(asb::Data), Some("Met at"));
    // Schema: just the body, untruncated.
    let options =
        body_preference(None).with(Element::new(io::Schema).with(Element::new(asb::Body)));
    let got = result(&phone, fetch(&book, &contact, options));
    let props = got.child(io::Properties).unwrap();
    assert!(props.child(c::FirstName).is_none());
    assert_eq!(
        props.path(&[asb::Body, asb::Data]).and_then(Element::text),
        Some("Met at the fair; likes tea.")
    );

    // An event in a new calendar, fetched as a multipart response.
    let calendar = phone.create_folder(&unique("IoCal"), 13);
    phone.start(&calendar, None);
    let event = add(
        &mut phone,
        &calendar,
        Element::new(a::ApplicationData)
            .with_text(cal::AllDayEvent, "0")
            .with_text(cal::BusyStatus, "2")
            .with_text(cal::DtStamp, "20261201T080000Z")
            .with_text(cal::StartTime, "20261203T090000Z")
            .with_text(cal::EndTime, "20261203T100000Z")
            .with_text(cal::Subject, "Budget review")
            .with_text(cal::UID, unique("io-event"))
            .with(
                Element::new(asb::Body)
                    .with_text(asb::Type, "1")
                    .with_text(asb::Data, "Agenda: numbers, more numbers"),
            ),
    );
    let reply = post(
        &phone,
        fetch(&calendar, &event, body_preference(None)),
        true,
    );
    assert_eq!(
        reply.header("Content-Type"),
        Some("application/vnd.ms-sync.multipart")
    );
    let parts = multipart_parts(&reply.raw);
    let doc = wbxml::decode(parts[0], &wbxml::Limits::default()).unwrap();
    let got = doc.path(&[io::Response, io::Fetch]).unwrap();
    assert_eq!(got.text_of(io::Status), Some("1"));
    assert_eq!(got.text_of(a::Class), Some("Calendar"));
    let props = got.child(io::Properties).unwrap();
    assert_eq!(props.text_of(cal::Subject), Some("Budget review"));
    assert_eq!(props.text_of(cal::StartTime), Some("20261203T090000Z"));
    let body = props.child(asb::Body).unwrap();
    assert!(body.child(asb::Data).is_none());
    let part: usize = body.text_of(io::Part).unwrap().parse().unwrap();
    assert_eq!(parts[part], b"Agenda: numbers, more numbers");

    // Unknown item: 6. A PIM folder is not emptied: 156, and its item stays.
    let got = result(
        &phone,
        fetch(&calendar, "no-such-event", body_preference(None)),
    );
    assert_eq!(got.text_of(io::Status), Some("6"));
    let empty = Element::new(io::EmptyFolderContents).with_text(a::CollectionId, calendar.clone());
    assert_eq!(result(&phone, empty).text_of(io::Status), Some("156"));
    let got = result(&phone, fetch(&calendar, &event, body_preference(None)));
    assert_eq!(got.text_of(io::Status), Some("1"));

    // Clean up: the contact and the calendar.
    let r = phone.sync(
        &book,
        None,
        vec![Element::new(a::Delete).with_text(a::ServerId, contact.clone())],
    );
    assert_eq!(r.text_of(a::Status), Some("1"));
    phone.folder_sync();
    let req = Element::new(horde_activesync::wbxml::codepages::folderhierarchy::FolderDelete)
        .with_text(
            horde_activesync::wbxml::codepages::folderhierarchy::SyncKey,
            phone.hierarchy_key.clone(),
        )
        .with_text(
            horde_activesync::wbxml::codepages::folderhierarchy::ServerId,
            calendar,
        );
    assert_eq!(phone.client.post("FolderDelete", Some(&req)).status, 200);
}
