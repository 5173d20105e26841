//! Find (16.1) of the GAL through a real `serve` on the embedded store:
//! paging by growing Range, Total, photos, the Find statuses; and the
//! command surface a 16.1 client sees: every MS-ASCMD command is answered
//! (no 501), OPTIONS announces Find, and Search of a DocumentLibrary gets
//! the spec's invalid-request status instead of a fake result.

mod support;

use horde_activesync::wbxml::codepages::{
    airsync as a, contacts as c, documentlibrary as doclib, find as f, gal, itemoperations as io,
    search as s,
};
use horde_activesync::wbxml::Element;
use support::device::{contact_add, Phone};
use support::serve::Served;

const CONFIG: &str = "[provisioning]\nmode = \"none\"\n[gal]\nsources = [\"directory/Contacts\"]\n";

/// The directory user's address book (the GAL) gets `people`; Ann Berg
/// also gets a photo. Alice's own contact must never show in the GAL.
fn setup(people: &[(&str, &str)]) -> (Served, Phone) {
    let served = Served::start(CONFIG, &[("directory", "pw"), ("alice", "pw")]);
    let mut dir = Phone::new(&served.url, "directory", "pw", "DIR", "16.1");
    dir.folder_sync();
    let book = dir.folder(9);
    dir.start(&book, None);
    let adds = people
        .iter()
        .enumerate()
        .map(|(i, (first, last))| {
            let mut add = contact_add(
                &format!("c{i}"),
                first,
                last,
                &format!("{}@corp.test", first.to_lowercase()),
            );
            if *first == "Ann" {
                let data = add.children.iter_mut().find_map(|n| match n {
                    horde_activesync::wbxml::Node::Element(e) if e.tag == a::ApplicationData => {
                        Some(e)
                    }
                    _ => None,
                });
                data.unwrap().push_text(c::Picture, "iVBORw0KGgo=");
            }
            add
        })
        .collect();
    dir.sync(&book, None, adds);
    let mut alice = Phone::new(&served.url, "alice", "pw", "ALICE", "16.1");
    alice.folder_sync();
    let own = alice.folder(9);
    alice.start(&own, None);
    alice.sync(
        &own,
        None,
        vec![contact_add("p", "Annika", "Private", "a@home.test")],
    );
    (served, alice)
}

fn find_gal(phone: &Phone, search_id: &str, query: &str, options: Element) -> Element {
    let req = Element::new(f::Find)
        .with_text(f::SearchId, search_id)
        .with(
            Element::new(f::ExecuteSearch).with(
                Element::new(f::GalSearchCriterion)
                    .with_text(f::Query, query)
                    .with(options),
            ),
        );
    let reply = phone.client.post("Find", Some(&req));
    assert_eq!(reply.status, 200, "{}", reply.xml());
    reply.body.unwrap()
}

fn range(r: &str) -> Element {
    Element::new(f::Options).with_text(f::Range, r)
}

fn names(response: &Element) -> Vec<String> {
    response
        .children_with(f::Result)
        .map(|r| {
            r.path(&[f::Properties, gal::DisplayName])
                .and_then(Element::text)
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn find_pages_through_the_gal_with_total_and_photos() {
    let (_served, alice) = setup(&[
        ("Ann", "Berg"),
        ("Anna", "Smith"),
        ("Anders", "Lund"),
        ("Bob", "Jones"),
    ]);
    // The first page: one row, Total counts all three matches.
    let r = find_gal(&alice, "s1", "an", range("0-0"));
    assert_eq!(r.text_of(f::Status), Some("1"));
    let resp = r.child(f::Response).unwrap();
    assert_eq!(resp.text_of(io::Store), Some("GAL"));
    assert_eq!(resp.text_of(f::Status), Some("1"));
    assert_eq!(names(resp), ["Anders Lund"]);
    assert_eq!(resp.text_of(f::Range), Some("0-0"));
    assert_eq!(resp.text_of(f::Total), Some("3"));
    // The device asks for more: all of them, by display name; never alice's own contact.
    let r = find_gal(&alice, "s1", "an", range("0-9"));
    let resp = r.child(f::Response).unwrap();
    assert_eq!(names(resp), ["Anders Lund", "Ann Berg", "Anna Smith"]);
    assert_eq!(resp.text_of(f::Range), Some("0-2"));
    assert_eq!(resp.text_of(f::Total), Some("3"));
    let ann = resp.children_with(f::Result).nth(1).unwrap();
    assert_eq!(ann.text_of(a::Class), Some("Contacts"));
    assert!(ann.text_of(a::ServerId).is_some_and(|id| !id.is_empty()));
    assert!(ann
        .text_of(a::CollectionId)
        .is_some_and(|id| id.starts_with('C')));
    let props = ann.child(f::Properties).unwrap();
    assert_eq!(props.text_of(gal::EmailAddress), Some("ann@corp.test"));
    assert_eq!(props.text_of(gal::FirstName), Some("Ann"));
    assert_eq!(props.text_of(gal::LastName), Some("Berg"));
    assert_eq!(props.text_of(gal::Alias), Some("ann"));
    // Photos: Ann has one; the others get "no photo" (173).
    let pictures = Element::new(f::Options).with_text(f::Range, "0-9").with(
        Element::new(f::Picture)
            .with_text(f::MaxSize, "1000")
            .with_text(f::MaxPictures, "5"),
    );
    let r = find_gal(&alice, "s2", "an", pictures);
    let statuses: Vec<(String, Option<String>)> = r
        .child(f::Response)
        .unwrap()
        .children_with(f::Result)
        .map(|res| {
            let p = res.path(&[f::Properties, gal::Picture]).unwrap();
            (
                p.text_of(gal::Status).unwrap().to_string(),
                p.text_of(gal::Data).map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("173".to_string(), None),
            ("1".to_string(), Some("iVBORw0KGgo=".to_string())),
            ("173".to_string(), None)
        ]
    );
    // Nothing found: success, no Result, Total 0.
    let r = find_gal(&alice, "s3", "zzz", range("0-9"));
    let resp = r.child(f::Response).unwrap();
    assert_eq!(resp.text_of(f::Status), Some("1"));
    assert!(resp.child(f::Result).is_none());
    assert_eq!(resp.text_of(f::Total), Some("0"));
}

#[test]
fn find_statuses_for_bad_requests_and_older_versions() {
    let (served, alice) = setup(&[("Ann", "Berg")]);
    // A Range that does not start at 0: Response Status 4.
    let r = find_gal(&alice, "s1", "ann", range("1-5"));
    assert_eq!(
        r.path(&[f::Response, f::Status]).and_then(Element::text),
        Some("4")
    );
    // No SearchId, or an empty query: Status 2.
    let r = find_gal(&alice, "", "ann", range("0-5"));
    assert_eq!(r.text_of(f::Status), Some("2"));
    assert!(r.child(f::Response).is_none());
    let r = find_gal(&alice, "s2", "  ", range("0-5"));
    assert_eq!(r.text_of(f::Status), Some("2"));
    // A mailbox Find on a server without mail: an unknown folder is a
    // hierarchy out of date (3); over all folders it finds nothing.
    let mailbox = |collection: Option<&str>| {
        let mut q = Element::new(f::Query)
            .with_text(a::Class, "Email")
            .with_text(f::FreeText, "hello");
        if let Some(id) = collection {
            q.push_text(a::CollectionId, id);
        }
        Element::new(f::Find).with_text(f::SearchId, "m").with(
            Element::new(f::ExecuteSearch).with(Element::new(f::MailBoxSearchCriterion).with(q)),
        )
    };
    let r = alice.client.post("Find", Some(&mailbox(Some("M0000"))));
    assert_eq!(r.body.unwrap().text_of(f::Status), Some("3"));
    let r = alice
        .client
        .post("Find", Some(&mailbox(None)))
        .body
        .unwrap();
    assert_eq!(r.text_of(f::Status), Some("1"));
    assert_eq!(
        r.path(&[f::Response, f::Total]).and_then(Element::text),
        Some("0")
    );
    // Find exists from 16.1: a 14.1 client gets Status 2, not results.
    let old = Phone::new(&served.url, "alice", "pw", "OLD141", "14.1");
    let r = find_gal(&old, "s3", "ann", range("0-5"));
    assert_eq!(r.text_of(f::Status), Some("2"));
    assert!(r.child(f::Response).is_none());
}

/// Every command of MS-ASCMD 2.2.1 a 16.1 client may send (Autodiscover has
/// its own URL, checked below).
const COMMANDS: &[&str] = &[
    "Find",
    "FolderCreate",
    "FolderDelete",
    "FolderSync",
    "FolderUpdate",
    "GetAttachment",
    "GetItemEstimate",
    "ItemOperations",
    "MoveItems",
    "Ping",
    "Provision",
    "ResolveRecipients",
    "Search",
    "SendMail",
    "Settings",
    "SmartForward",
    "SmartReply",
    "Sync",
    "ValidateCert",
];

#[test]
fn a_16_1_client_gets_no_501_and_document_library_search_is_refused() {
    let (_served, alice) = setup(&[("Ann", "Berg")]);
    for cmd in COMMANDS {
        assert!(
            horde_activesync::command::IMPLEMENTED.contains(cmd),
            "{cmd} is not implemented"
        );
        // An empty request: whatever the command answers, it is not 501.
        let reply = alice.client.post(cmd, None);
        assert!(
            reply.status != 501 && reply.status != 500,
            "{cmd}: HTTP {}",
            reply.status
        );
    }
    // The same with the base64-encoded query (MS-ASHTTP 2.2.1.1.1.1), whose
    // command codes must know every command.
    let mut encoded = alice.client.clone();
    encoded.base64_query = true;
    for cmd in COMMANDS {
        let reply = encoded.post(cmd, None);
        assert!(
            reply.status != 501 && reply.status != 500,
            "{cmd} (base64 query): HTTP {}",
            reply.status
        );
    }
    let announced = alice.client.options();
    let commands = announced
        .header("MS-ASProtocolCommands")
        .unwrap()
        .to_string();
    assert!(commands.split(',').any(|c| c == "Find"), "{commands}");
    let reply = alice.client.post_path(
        "/autodiscover/autodiscover.xml",
        "text/xml",
        b"<?xml version=\"1.0\"?><Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006\"><Request><EMailAddress>alice@corp.test</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema></Request></Autodiscover>",
    );
    assert_eq!(reply.status, 200);

    // DocumentLibrary (SharePoint/UNC) is not served: Status 2 in its Store,
    // no Result.
    let req = Element::new(s::Search).with(
        Element::new(s::Store)
            .with_text(s::Name, "DocumentLibrary")
            .with(
                Element::new(s::Query).with(
                    Element::new(s::EqualTo)
                        .with(Element::new(doclib::LinkId))
                        .with_text(s::Value, "\\\\server\\share\\file.txt"),
                ),
            ),
    );
    let r = alice.client.post("Search", Some(&req));
    assert_eq!(r.status, 200);
    let body = r.body.unwrap();
    assert_eq!(body.text_of(s::Status), Some("1"));
    let store = body.path(&[s::Response, s::Store]).unwrap();
    assert_eq!(store.text_of(s::Status), Some("2"));
    assert!(store.child(s::Result).is_none());
}
