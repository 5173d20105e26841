//! Contacts sync end to end through a real `serve` on the embedded store:
//! two phones of one user, paging, replay of a lost response, estimates and
//! folder changes.

mod support;

use horde_activesync::wbxml::codepages::{airsync as a, contacts as c, folderhierarchy as fh};
use horde_activesync::wbxml::Element;
use support::device::{commands, contact_add, Phone};
use support::serve::Served;

const CONFIG: &str = "[provisioning]\nmode = \"none\"\n";

fn setup(version: &str) -> (Served, Phone, Phone, String) {
    let served = Served::start(CONFIG, &[("alice", "alicepw")]);
    let mut one = Phone::new(&served.url, "alice", "alicepw", "PHONE1", version);
    let mut two = Phone::new(&served.url, "alice", "alicepw", "PHONE2", version);
    one.folder_sync();
    two.folder_sync();
    let book = one.folder(9);
    assert_eq!(
        book,
        two.folder(9),
        "folder ids are derived from the collection"
    );
    (served, one, two, book)
}

#[test]
fn two_phones_see_each_others_adds_changes_and_deletes() {
    for version in ["2.5", "14.1", "16.1"] {
        let (_served, mut one, mut two, book) = setup(version);
        assert!(commands(&one.start(&book, None)).is_empty());
        assert!(commands(&two.start(&book, None)).is_empty());

        let r = one.sync(
            &book,
            None,
            vec![
                contact_add("c1", "Ann", "Tester", "ann@example.test"),
                contact_add("c2", "Bob", "Tester", "bob@example.test"),
            ],
        );
        let adds: Vec<&Element> = r
            .child(a::Responses)
            .unwrap()
            .children_with(a::Add)
            .collect();
        assert_eq!(adds.len(), 2);
        assert!(adds.iter().all(|e| e.text_of(a::Status) == Some("1")));
        let ann = adds[0].text_of(a::ServerId).unwrap().to_string();
        let bob = adds[1].text_of(a::ServerId).unwrap().to_string();
        assert!(
            commands(&r).is_empty(),
            "{version}: own adds are not echoed"
        );

        let r = two.sync(&book, None, vec![]);
        let got = commands(&r);
        assert_eq!(got.len(), 2, "{version}: {got:?}");
        let data = r
            .child(a::Commands)
            .unwrap()
            .elements()
            .find(|e| e.text_of(a::ServerId) == Some(ann.as_str()))
            .unwrap();
        let app = data.child(a::ApplicationData).unwrap();
        assert_eq!(app.text_of(c::FirstName), Some("Ann"));
        assert_eq!(app.text_of(c::Email1Address), Some("ann@example.test"));

        let change = Element::new(a::Change)
            .with_text(a::ServerId, ann.clone())
            .with(
                Element::new(a::ApplicationData)
                    .with_text(c::FirstName, "Anna")
                    .with_text(c::LastName, "Tester")
                    .with_text(c::Email1Address, "anna@example.test"),
            );
        let delete = Element::new(a::Delete).with_text(a::ServerId, bob.clone());
        let r = one.sync(&book, None, vec![change, delete]);
        assert!(commands(&r).is_empty());

        let r = two.sync(&book, None, vec![]);
        let mut got = commands(&r);
        got.sort();
        assert_eq!(
            got,
            vec![
                ("Change".to_string(), ann.clone()),
                ("Delete".to_string(), bob.clone())
            ],
            "{version}"
        );
        let changed = r.child(a::Commands).unwrap().child(a::Change).unwrap();
        assert_eq!(
            changed
                .path(&[a::ApplicationData])
                .unwrap()
                .text_of(c::FirstName),
            Some("Anna")
        );
        assert!(
            commands(&two.sync(&book, None, vec![])).is_empty(),
            "{version}: nothing twice"
        );
        assert!(
            commands(&one.sync(&book, None, vec![])).is_empty(),
            "{version}: nothing echoed"
        );
    }
}

#[test]
fn a_resent_sync_key_gets_the_same_answer_and_adds_nothing_twice() {
    let (_served, mut one, mut two, book) = setup("14.1");
    one.start(&book, None);
    two.start(&book, None);
    one.sync(
        &book,
        None,
        vec![contact_add("a", "Ann", "Tester", "ann@example.test")],
    );

    // Phone two's response gets lost: it sends the same key again.
    let key = two.keys[&book].clone();
    let body = two.sync_body(&book, &key, None, vec![]);
    let first = two.post_sync(&body);
    let again = two.post_sync(&body);
    assert_eq!(commands(&first).len(), 1);
    assert_eq!(commands(&first), commands(&again));
    assert_eq!(first.text_of(a::SyncKey), again.text_of(a::SyncKey));

    // Phone one re-sends an Add whose response got lost: one contact, same id.
    let key = one.keys[&book].clone();
    let body = one.sync_body(
        &book,
        &key,
        None,
        vec![contact_add("b", "Bea", "Tester", "bea@example.test")],
    );
    let r1 = one.post_sync(&body);
    let r2 = one.post_sync(&body);
    let id = |r: &Element| {
        r.path(&[a::Responses, a::Add])
            .and_then(|e| e.text_of(a::ServerId))
            .map(str::to_string)
    };
    assert!(id(&r1).is_some());
    assert_eq!(id(&r1), id(&r2));
    two.keys
        .insert(book.clone(), again.text_of(a::SyncKey).unwrap().to_string());
    let r = two.sync(&book, None, vec![]);
    assert_eq!(
        commands(&r).len(),
        1,
        "Bea arrives once: {:?}",
        commands(&r)
    );

    // A key that never existed is status 3.
    let bad = two.sync_body(
        &book,
        "{00000000-0000-0000-0000-000000000000}7",
        None,
        vec![],
    );
    assert_eq!(two.post_sync(&bad).text_of(a::Status), Some("3"));
}

#[test]
fn a_large_address_book_pages_by_window_size_with_estimates() {
    let (_served, mut one, mut two, book) = setup("14.1");
    one.start(&book, None);
    for batch in 0..5 {
        let adds = (0..50).map(|i| {
            let n = batch * 50 + i;
            contact_add(
                &format!("c{n}"),
                &format!("Person{n:03}"),
                "Tester",
                &format!("p{n}@example.test"),
            )
        });
        let r = one.sync(&book, None, adds.collect());
        assert_eq!(
            r.child(a::Responses).unwrap().children_with(a::Add).count(),
            50
        );
    }
    let first = two.sync(&book, Some(100), vec![]);
    assert_eq!(first.text_of(a::Status), Some("1"));
    assert_eq!(two.estimate(&book), (1, Some(250)));
    let mut total = 0;
    let mut rounds = 0;
    loop {
        let r = two.sync(&book, Some(100), vec![]);
        let n = commands(&r).len();
        total += n;
        rounds += 1;
        assert!(n <= 100);
        if !r.has(a::MoreAvailable) {
            break;
        }
        assert_eq!(two.estimate(&book), (1, Some(250 - total as u32)));
    }
    assert_eq!((total, rounds), (250, 3));
    assert_eq!(two.estimate(&book), (1, Some(0)));
}

#[test]
fn folder_changes_reach_the_other_phone_and_ids_survive_a_reset() {
    let (_served, mut one, mut two, book) = setup("14.1");
    let team = one.create_folder("Team", 14);
    assert_eq!(
        one.folder_sync()
            .path(&[fh::Changes])
            .unwrap()
            .u32_of(fh::Count),
        Some(0)
    );

    let r = two.folder_sync();
    assert_eq!(
        r.path(&[fh::Changes, fh::Add])
            .unwrap()
            .text_of(fh::ServerId),
        Some(team.as_str())
    );
    assert_eq!(two.folders[&team], ("Team".to_string(), 14));

    // The same phone starting over keeps every folder id.
    let before: Vec<String> = {
        let mut v: Vec<String> = two.folders.keys().cloned().collect();
        v.sort();
        v
    };
    two.hierarchy_key = "0".into();
    two.folders.clear();
    two.folder_sync();
    let mut after: Vec<String> = two.folders.keys().cloned().collect();
    after.sort();
    assert_eq!(before, after);
    assert!(after.contains(&book));

    // A stale hierarchy key is status 9.
    let stale = Element::new(fh::FolderSync)
        .with_text(fh::SyncKey, "{00000000-0000-0000-0000-000000000000}3");
    assert_eq!(
        two.client
            .post("FolderSync", Some(&stale))
            .body
            .unwrap()
            .text_of(fh::Status),
        Some("9")
    );
}

#[test]
fn move_items_between_address_books() {
    use horde_activesync::wbxml::codepages::mov as m;
    let (_served, mut one, mut two, book) = setup("14.1");
    let team = one.create_folder("Team", 14);
    two.folder_sync();
    for phone in [&mut one, &mut two] {
        phone.start(&book, None);
        phone.start(&team, None);
    }
    let r = one.sync(
        &book,
        None,
        vec![contact_add("m", "Mover", "Tester", "mover@example.test")],
    );
    let id = r
        .path(&[a::Responses, a::Add])
        .and_then(|e| e.text_of(a::ServerId))
        .unwrap()
        .to_string();
    two.sync(&book, None, vec![]);

    let req = Element::new(m::MoveItems).with(
        Element::new(m::Move)
            .with_text(m::SrcMsgId, id.clone())
            .with_text(m::SrcFldId, book.clone())
            .with_text(m::DstFldId, team.clone()),
    );
    let r = one.client.post("MoveItems", Some(&req)).body.unwrap();
    let resp = r.child(m::Response).unwrap();
    assert_eq!(
        resp.text_of(m::Status),
        Some("3"),
        "{}",
        horde_activesync::wbxml::xml::to_xml(&r)
    );
    let moved = resp.text_of(m::DstMsgId).unwrap().to_string();

    // The moving phone already did it: nothing comes back to it.
    assert!(commands(&one.sync(&book, None, vec![])).is_empty());
    assert!(commands(&one.sync(&team, None, vec![])).is_empty());
    // The other phone sees it leave one book and arrive in the other.
    assert_eq!(
        commands(&two.sync(&book, None, vec![])),
        vec![("Delete".to_string(), id)]
    );
    assert_eq!(
        commands(&two.sync(&team, None, vec![])),
        vec![("Add".to_string(), moved)]
    );

    // Same folder, unknown folder.
    let same = Element::new(m::MoveItems).with(
        Element::new(m::Move)
            .with_text(m::SrcMsgId, "x")
            .with_text(m::SrcFldId, team.clone())
            .with_text(m::DstFldId, team.clone()),
    );
    let r = one.client.post("MoveItems", Some(&same)).body.unwrap();
    assert_eq!(
        r.path(&[m::Response]).unwrap().text_of(m::Status),
        Some("4")
    );
}
