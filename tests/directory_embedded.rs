//! The directory through a real `serve` on the embedded store: Search of the
//! GAL (`[gal] sources` = another user's address book) with Range and Total,
//! and ResolveRecipients over the GAL and the user's own contacts with the
//! resolved, ambiguous, partial and unresolved statuses. Contacts are put in
//! by each user's phone with Sync, as in real life.

mod support;

use horde_activesync::wbxml::codepages::{
    airsync as a, contacts as c, gal, resolverecipients as r, search as s,
};
use horde_activesync::wbxml::Element;
use support::device::Phone;
use support::serve::Served;

const CONFIG: &str = "[provisioning]\nmode = \"none\"\n[gal]\nsources = [\"directory/Contacts\"]\n";

/// Ann Berg's photo (any bytes do; base64 on the wire).
const PHOTO_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB";

/// Add contacts (first, last, address, company) to the user's Contacts;
/// Ann Berg gets a photo.
fn add_contacts(served: &Served, user: &str, contacts: &[(&str, &str, &str, &str)]) {
    let mut phone = Phone::new(&served.url, user, "pw", "PHONE", "16.1");
    phone.folder_sync();
    let book = phone.folder(9);
    phone.start(&book, None);
    let adds = contacts
        .iter()
        .enumerate()
        .map(|(i, (first, last, email, company))| {
            let mut data = Element::new(a::ApplicationData)
                .with_text(c::FirstName, *first)
                .with_text(c::LastName, *last)
                .with_text(c::Email1Address, *email)
                .with_text(c::CompanyName, *company)
                .with_text(c::BusinessPhoneNumber, "+49 30 555");
            if (*first, *last) == ("Ann", "Berg") {
                data.push_text(c::Picture, PHOTO_B64);
            }
            Element::new(a::Add)
                .with_text(a::ClientId, format!("c{i}"))
                .with(data)
        })
        .collect();
    let r = phone.sync(&book, None, adds);
    let statuses: Vec<_> = r
        .child(a::Responses)
        .unwrap()
        .children_with(a::Add)
        .map(|e| e.text_of(a::Status).unwrap().to_string())
        .collect();
    assert_eq!(statuses, vec!["1"; contacts.len()]);
}

fn setup() -> (Served, Phone) {
    let served = Served::start(
        CONFIG,
        &[("directory", "pw"), ("alice", "pw"), ("carol", "pw")],
    );
    add_contacts(
        &served,
        "directory",
        &[
            ("Ann", "Berg", "ann@corp.test", "Corp"),
            ("Anna", "Smith", "anna@corp.test", "Corp"),
            ("Bob", "Jones", "bob@corp.test", "Corp"),
        ],
    );
    add_contacts(
        &served,
        "alice",
        &[("Annette", "Private", "annette@home.test", "Home")],
    );
    add_contacts(
        &served,
        "carol",
        &[("Ann", "Hidden", "hidden@carol.test", "Secret")],
    );
    let alice = Phone::new(&served.url, "alice", "pw", "ALICE1", "16.1");
    (served, alice)
}

fn search(phone: &Phone, store: &str, query: &str, range: Option<&str>) -> Element {
    let mut st = Element::new(s::Store)
        .with_text(s::Name, store)
        .with_text(s::Query, query);
    if let Some(range) = range {
        st.push(Element::new(s::Options).with_text(s::Range, range));
    }
    let reply = phone
        .client
        .post("Search", Some(&Element::new(s::Search).with(st)));
    assert_eq!(reply.status, 200);
    let body = reply.body.unwrap();
    assert_eq!(body.text_of(s::Status), Some("1"));
    body.path(&[s::Response, s::Store]).unwrap().clone()
}

fn names(store: &Element) -> Vec<String> {
    store
        .children_with(s::Result)
        .filter_map(|r| r.path(&[s::Properties, gal::DisplayName]))
        .map(|d| d.text().unwrap().to_string())
        .collect()
}

#[test]
fn gal_search_finds_the_directory_and_nothing_private() {
    let (_served, alice) = setup();
    let store = search(&alice, "GAL", "ann", None);
    assert_eq!(store.text_of(s::Status), Some("1"));
    assert_eq!(names(&store), ["Ann Berg", "Anna Smith"]);
    assert_eq!(store.text_of(s::Total), Some("2"));
    assert_eq!(store.text_of(s::Range), Some("0-1"));
    let first = store.path(&[s::Result, s::Properties]).unwrap();
    assert_eq!(first.text_of(gal::EmailAddress), Some("ann@corp.test"));
    assert_eq!(first.text_of(gal::Company), Some("Corp"));
    assert_eq!(first.text_of(gal::Phone), Some("+49 30 555"));
    assert_eq!(first.text_of(gal::Alias), Some("ann"));

    let page = search(&alice, "GAL", "ann", Some("1-5"));
    assert_eq!(names(&page), ["Anna Smith"]);
    assert_eq!(page.text_of(s::Range), Some("1-1"));
    assert_eq!(page.text_of(s::Total), Some("2"));

    // By address, and nothing of alice's or carol's own books.
    assert_eq!(
        names(&search(&alice, "GAL", "bob@corp", None)),
        ["Bob Jones"]
    );
    for private in ["annette", "hidden"] {
        let none = search(&alice, "GAL", private, None);
        assert_eq!(none.text_of(s::Total), Some("0"), "{private}");
        assert!(!none.has(s::Range));
    }
    // Stores other than the GAL, and bad ranges, get Status 2 in the Store.
    assert_eq!(
        search(&alice, "Mailbox", "ann", None).text_of(s::Status),
        Some("2")
    );
    assert_eq!(
        search(&alice, "GAL", "ann", Some("5-1")).text_of(s::Status),
        Some("2")
    );
    assert!(alice
        .client
        .options()
        .header("MS-ASProtocolCommands")
        .unwrap()
        .contains("Search"));
}

fn resolve(phone: &Phone, to: &[&str], options: Option<Element>) -> Vec<Element> {
    let mut req = Element::new(r::ResolveRecipients);
    for t in to {
        req.push_text(r::To, *t);
    }
    if let Some(o) = options {
        req.push(o);
    }
    let reply = phone.client.post("ResolveRecipients", Some(&req));
    assert_eq!(reply.status, 200);
    let body = reply.body.unwrap();
    assert_eq!(body.text_of(r::Status), Some("1"));
    body.children_with(r::Response).cloned().collect()
}

fn recipients(response: &Element) -> Vec<(String, String)> {
    response
        .children_with(r::Recipient)
        .map(|x| {
            (
                x.text_of(r::Type).unwrap().to_string(),
                x.text_of(r::EmailAddress).unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn resolve_recipients_statuses() {
    let (_served, alice) = setup();
    let with_certs = Element::new(r::Options).with_text(r::CertificateRetrieval, "2");
    let answers = resolve(
        &alice,
        &[
            "bob@corp.test",
            "ann",
            "annette",
            "nobody@nowhere.test",
            "hidden",
        ],
        Some(with_certs),
    );
    assert_eq!(answers.len(), 5);
    let status = |i: usize| answers[i].text_of(r::Status).unwrap().to_string();

    assert_eq!(answers[0].text_of(r::To), Some("bob@corp.test"));
    assert_eq!(status(0), "1");
    assert_eq!(
        recipients(&answers[0]),
        [("1".into(), "bob@corp.test".into())]
    );
    let certs = answers[0].path(&[r::Recipient, r::Certificates]).unwrap();
    assert_eq!(certs.text_of(r::Status), Some("7"));
    assert_eq!(certs.text_of(r::CertificateCount), Some("0"));

    // "ann": two directory entries and alice's own Annette are suggestions.
    assert_eq!(status(1), "2");
    assert_eq!(answers[1].text_of(r::RecipientCount), Some("3"));
    assert_eq!(
        recipients(&answers[1]),
        [
            ("1".into(), "ann@corp.test".into()),
            ("1".into(), "anna@corp.test".into()),
            ("2".into(), "annette@home.test".into())
        ]
    );
    assert!(answers[1]
        .children_with(r::Recipient)
        .all(|x| !x.has(r::Certificates)));

    assert_eq!(status(2), "1");
    assert_eq!(
        recipients(&answers[2]),
        [("2".into(), "annette@home.test".into())]
    );
    assert_eq!(status(3), "4");
    assert_eq!(answers[3].text_of(r::RecipientCount), Some("0"));
    assert_eq!(status(4), "4", "carol's private book is not the directory");

    // Availability (14.0+): no free/busy source, said per recipient.
    let window = Element::new(r::Options).with(
        Element::new(r::Availability)
            .with_text(r::StartTime, "2026-12-01T08:00:00.000Z")
            .with_text(r::EndTime, "2026-12-01T18:00:00.000Z"),
    );
    let free_busy = resolve(&alice, &["bob@corp.test"], Some(window));
    let availability = free_busy[0].path(&[r::Recipient, r::Availability]).unwrap();
    assert_eq!(availability.text_of(r::Status), Some("163"));
    assert!(!availability.has(r::MergedFreeBusy));

    // A window ending before it starts is a protocol error of the command.
    let backwards = Element::new(r::ResolveRecipients)
        .with_text(r::To, "bob@corp.test")
        .with(
            Element::new(r::Options).with(
                Element::new(r::Availability)
                    .with_text(r::StartTime, "2026-12-01T18:00:00.000Z")
                    .with_text(r::EndTime, "2026-12-01T08:00:00.000Z"),
            ),
        );
    let reply = alice.client.post("ResolveRecipients", Some(&backwards));
    assert_eq!(reply.body.unwrap().text_of(r::Status), Some("5"));

    // MaxAmbiguousRecipients cuts the suggestions: Status 3.
    let max = Element::new(r::Options).with_text(r::MaxAmbiguousRecipients, "2");
    let cut = resolve(&alice, &["ann"], Some(max));
    assert_eq!(cut[0].text_of(r::Status), Some("3"));
    assert_eq!(recipients(&cut[0]).len(), 2);

    // No To at all is a protocol error of the command.
    let reply = alice.client.post(
        "ResolveRecipients",
        Some(&Element::new(r::ResolveRecipients)),
    );
    assert_eq!(reply.body.unwrap().text_of(r::Status), Some("5"));
}

#[test]
fn contact_photos_within_the_limits() {
    let (_served, alice) = setup();
    let picture = |store: &Element| -> Vec<(String, Option<String>)> {
        store
            .children_with(s::Result)
            .map(|r| {
                let p = r.path(&[s::Properties, gal::Picture]).unwrap();
                (
                    p.text_of(gal::Status).unwrap().to_string(),
                    p.text_of(gal::Data).map(str::to_string),
                )
            })
            .collect()
    };
    let search_with = |max_size: &str, max_pictures: &str| {
        let options = Element::new(s::Options).with(
            Element::new(s::Picture)
                .with_text(s::MaxSize, max_size)
                .with_text(s::MaxPictures, max_pictures),
        );
        let st = Element::new(s::Store)
            .with_text(s::Name, "GAL")
            .with_text(s::Query, "ann")
            .with(options);
        let reply = alice
            .client
            .post("Search", Some(&Element::new(s::Search).with(st)));
        reply
            .body
            .unwrap()
            .path(&[s::Response, s::Store])
            .unwrap()
            .clone()
    };
    // Ann Berg has a photo, Anna Smith none (173).
    assert_eq!(
        picture(&search_with("10000", "10")),
        [
            ("1".into(), Some(PHOTO_B64.to_string())),
            ("173".into(), None)
        ]
    );
    assert_eq!(picture(&search_with("3", "10"))[0], ("174".into(), None));
    assert_eq!(picture(&search_with("10000", "0"))[0], ("175".into(), None));

    let req = Element::new(r::ResolveRecipients)
        .with_text(r::To, "ann@corp.test")
        .with(
            Element::new(r::Options).with(Element::new(r::Picture).with_text(r::MaxSize, "10000")),
        );
    let reply = alice.client.post("ResolveRecipients", Some(&req));
    let body = reply.body.unwrap();
    let p = body.path(&[r::Response, r::Recipient, r::Picture]).unwrap();
    assert_eq!(p.text_of(r::Status), Some("1"));
    assert_eq!(p.text_of(r::Data), Some(PHOTO_B64));
}
