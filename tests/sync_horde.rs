//! Contacts sync end to end with real parts: the binary as CGI under real
//! lighttpd, Horde (Turba) behind JSON-RPC. Each test works in an address
//! book of its own, so runs never see each other's data.

mod support;

use horde_activesync::wbxml::codepages::{airsync as a, contacts as c};
use horde_activesync::wbxml::Element;
use serde_json::json;
use support::device::{commands, contact_add, Phone};
use support::horde::{ensure_horde, horde_config, unique, DirectRpc};
use support::web::{Variant, WebServer};

struct Setup {
    dir: tempfile::TempDir,
    web: WebServer,
    rpc: DirectRpc,
    book_share: String,
    book_name: String,
}

impl Setup {
    fn new() -> Setup {
        let horde = ensure_horde();
        let dir = horde_config("[log]\nlevel = \"warn\"\n");
        let web = WebServer::start(Variant::LighttpdCgi, &dir.path().join("activesync.toml"));
        let rpc = horde.rpc("alice");
        let book_name = unique("Book");
        let book_share = rpc
            .call("contacts.addAddressbook", json!([book_name, {}]))
            .as_str()
            .unwrap()
            .to_string();
        Setup {
            dir,
            web,
            rpc,
            book_share,
            book_name,
        }
    }

    fn phone(&self, id: &str) -> Phone {
        let mut p = Phone::new(&self.web.base_url, "alice", "alicepass", id, "14.1");
        p.folder_sync();
        p
    }

    /// The phone's folder id of this test's address book.
    fn book(&self, phone: &Phone) -> String {
        phone
            .folders
            .iter()
            .find(|(_, (name, t))| *name == self.book_name && *t == 14)
            .map(|(id, _)| id.clone())
            .unwrap_or_else(|| panic!("{} not in {:?}", self.book_name, phone.folders))
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self
            .rpc
            .try_call("contacts.deleteAddressbook", json!([self.book_share]));
        let _ = &self.dir;
    }
}

fn first_names(coll: &Element) -> Vec<String> {
    let mut v: Vec<String> = coll
        .child(a::Commands)
        .map(|cmds| {
            cmds.elements()
                .filter_map(|e| {
                    e.path(&[a::ApplicationData])
                        .and_then(|d| d.text_of(c::FirstName))
                })
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn two_phones_and_horde_stay_in_sync_through_lighttpd_cgi() {
    let s = Setup::new();
    let mut one = s.phone("HORDEPHONE1");
    let mut two = s.phone("HORDEPHONE2");
    let book = s.book(&one);
    assert_eq!(book, s.book(&two));
    assert!(commands(&one.start(&book, None)).is_empty());
    assert!(commands(&two.start(&book, None)).is_empty());

    // Phone one adds two contacts; Horde has them, phone two gets them.
    let r = one.sync(
        &book,
        None,
        vec![
            contact_add("1", "Ann", "Horde", "ann@example.test"),
            contact_add("2", "Bob", "Horde", "bob@example.test"),
        ],
    );
    let ids: Vec<String> = r
        .child(a::Responses)
        .unwrap()
        .children_with(a::Add)
        .map(|e| {
            assert_eq!(e.text_of(a::Status), Some("1"));
            e.text_of(a::ServerId).unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(commands(&r).is_empty(), "own adds are not echoed");
    let listed = s.rpc.call("contacts.listUids", json!([s.book_share]));
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    let r = two.sync(&book, None, vec![]);
    assert_eq!(first_names(&r), vec!["Ann", "Bob"]);

    // Phone one changes Ann and deletes Bob; phone two sees exactly that.
    let change = Element::new(a::Change)
        .with_text(a::ServerId, ids[0].clone())
        .with(
            Element::new(a::ApplicationData)
                .with_text(c::FirstName, "Anna")
                .with_text(c::LastName, "Horde")
                .with_text(c::Email1Address, "anna@example.test"),
        );
    one.sync(
        &book,
        None,
        vec![
            change,
            Element::new(a::Delete).with_text(a::ServerId, ids[1].clone()),
        ],
    );
    let r = two.sync(&book, None, vec![]);
    let mut got = commands(&r);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("Change".into(), ids[0].clone()),
            ("Delete".into(), ids[1].clone())
        ]
    );
    assert_eq!(first_names(&r), vec!["Anna"]);
    let exported = s.rpc.call(
        "contacts.export",
        json!([ids[0], "text/vcard", s.book_share]),
    );
    assert!(
        exported.as_str().unwrap().contains("anna@example.test"),
        "{exported}"
    );

    // A change made in Horde reaches both phones.
    let uid = s.rpc.add_contact(&s.book_share, "Carl", "FromHorde");
    for phone in [&mut one, &mut two] {
        let r = phone.sync(&book, None, vec![]);
        assert_eq!(commands(&r), vec![("Add".to_string(), uid.clone())]);
        assert_eq!(first_names(&r), vec!["Carl"]);
    }

    // Phone two's response gets lost: the same key gets the same answer.
    s.rpc
        .change_contact(&s.book_share, &uid, "Carla", "FromHorde");
    let key = two.keys[&book].clone();
    let body = two.sync_body(&book, &key, None, vec![]);
    let a1 = two.post_sync(&body);
    let a2 = two.post_sync(&body);
    assert_eq!(commands(&a1), vec![("Change".to_string(), uid.clone())]);
    assert_eq!(commands(&a1), commands(&a2));
    assert_eq!(first_names(&a2), vec!["Carla"]);
}

#[test]
fn a_thousand_contacts_page_by_window_size() {
    let s = Setup::new();
    for i in 0..1000 {
        s.rpc
            .add_contact(&s.book_share, &format!("P{i:04}"), "Bulk");
    }
    let mut phone = s.phone("HORDEBULK");
    let book = s.book(&phone);
    phone.sync(&book, Some(100), vec![]);
    assert_eq!(phone.estimate(&book), (1, Some(1000)));
    let (mut total, mut rounds) = (0, 0);
    let mut names = std::collections::BTreeSet::new();
    loop {
        let r = phone.sync(&book, Some(100), vec![]);
        total += commands(&r).len();
        names.extend(first_names(&r));
        rounds += 1;
        if !r.has(a::MoreAvailable) {
            break;
        }
    }
    assert_eq!((total, rounds, names.len()), (1000, 10, 1000));
    assert!(commands(&phone.sync(&book, Some(100), vec![])).is_empty());
}

#[test]
fn contacts_with_photos_reach_the_phone() {
    // Turba cannot JSON-encode a photo; such a window is read as vCards.
    let s = Setup::new();
    let mut phone = s.phone("HORDEPHOTO");
    let book = s.book(&phone);
    phone.start(&book, None);
    // JPEG framing (FF D8 ... FF D9) around arbitrary bytes: Turba trims
    // whitespace and NUL from the ends of what it stores, as PHP's trim does.
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend((0..=255u8).cycle().take(600));
    jpeg.extend([0xFF, 0xD9]);
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &jpeg);
    let card = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Pic Person\r\nN:Person;Pic;;;\r\nPHOTO;ENCODING=b;TYPE=JPEG:{b64}\r\nEND:VCARD\r\n"
    );
    s.rpc
        .call("contacts.import", json!([card, "text/vcard", s.book_share]));
    s.rpc.add_contact(&s.book_share, "Plain", "Person");
    let r = phone.sync(&book, None, vec![]);
    assert_eq!(
        commands(&r).len(),
        2,
        "{}",
        horde_activesync::wbxml::xml::to_xml(&r)
    );
    assert_eq!(first_names(&r), vec!["Pic", "Plain"]);
    let pic = r
        .child(a::Commands)
        .unwrap()
        .elements()
        .find_map(|e| e.path(&[a::ApplicationData, c::Picture]))
        .expect("Picture");
    let sent = pic.text().unwrap_or_default();
    let decoded =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, sent.trim()).unwrap();
    assert_eq!(decoded, jpeg);
}
