//! The Horde backend against a real Horde (Debian's php-horde-* packages on a
//! loopback port, set up by scripts/horde-setup.sh through `ensure_horde`).

mod support;

use chrono::{TimeZone, Utc};
use horde_activesync::backend::horde::HordeBackend;
use horde_activesync::backend::{Backend, BackendError, Collection, Session, Window};
use horde_activesync::config::{BackendConfig, Config};
use horde_activesync::model::contact::{Address, CalendarDate};
use horde_activesync::model::event::When;
use horde_activesync::model::{Class, Contact, Event, Item, Note, Task};
use serde_json::json;
use std::time::Instant;
use support::horde::{ensure_horde, unique, HordeInfo};

fn backend_at(url: &str) -> HordeBackend {
    let config = Config {
        backend: BackendConfig {
            horde_rpc_url: url.to_string(),
            horde_timeout: 10,
            ..BackendConfig::default()
        },
        ..Config::default()
    };
    HordeBackend::new(&config)
}

fn alice(info: &HordeInfo) -> Box<dyn Session> {
    let (user, password) = info.user();
    backend_at(&info.rpc_url)
        .open(user, password)
        .expect("alice logs in")
}

fn default_of(session: &mut dyn Session, class: Class) -> Collection {
    session
        .collections()
        .unwrap()
        .into_iter()
        .find(|c| c.class == class && c.is_default)
        .unwrap_or_else(|| panic!("no default {class:?} collection"))
}

fn contact(first: &str, last: &str) -> Item {
    Item::Contact(Contact {
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        ..Contact::default()
    })
}

#[test]
fn right_password_opens_wrong_password_is_auth_failed() {
    let info = ensure_horde();
    let backend = backend_at(&info.rpc_url);
    let mut session = backend.open("alice", "alicepass").expect("alice logs in");
    assert!(session.calls() <= 1, "open costs at most one call");
    assert!(!session.collections().unwrap().is_empty());
    // A login accepted a moment ago is trusted without a call...
    assert_eq!(backend.open("alice", "alicepass").unwrap().calls(), 0);
    // ...but only with the same password.
    assert!(matches!(
        backend.open("alice", "wrong"),
        Err(BackendError::AuthFailed)
    ));
    assert!(matches!(
        backend.open("nobody", "alicepass"),
        Err(BackendError::AuthFailed)
    ));
    // A session cookie from the good login must not let a bad password in.
    assert!(matches!(
        backend.open("alice", "alicepass2"),
        Err(BackendError::AuthFailed)
    ));
    assert!(backend.open("alice", "alicepass").is_ok());
}

#[test]
fn horde_down_is_unavailable() {
    ensure_horde();
    // Port 9 (discard) is closed on loopback: connection refused.
    let backend = backend_at("http://127.0.0.1:9/rpc.php");
    match backend.open("alice", "alicepass") {
        Err(BackendError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {:?}", other.map(|_| "a session")),
    }
}

#[test]
fn every_class_has_its_default_collection() {
    let info = ensure_horde();
    let mut session = alice(info);
    let rpc = info.rpc("alice");
    let all = session.collections().unwrap();
    for (class, interface) in [
        (Class::Contacts, "contacts"),
        (Class::Calendar, "calendar"),
        (Class::Tasks, "tasks"),
        (Class::Notes, "notes"),
    ] {
        let defaults: Vec<_> = all
            .iter()
            .filter(|c| c.class == class && c.is_default)
            .collect();
        assert_eq!(defaults.len(), 1, "{class:?}: {all:?}");
        assert_eq!(defaults[0].id, rpc.default_share(interface));
    }
}

/// Needs the Horde API fixes scripts/horde-setup.sh applies (stock Debian
/// Horde dies on these calls for address books, calendars and notepads).
#[test]
fn collections_of_every_class_can_be_created_renamed_and_deleted() {
    let info = ensure_horde();
    let mut session = alice(info);
    let find = |session: &mut Box<dyn Session>, id: &str| {
        session
            .collections()
            .unwrap()
            .into_iter()
            .find(|c| c.id == id)
    };
    for class in [Class::Contacts, Class::Calendar, Class::Tasks, Class::Notes] {
        let name = unique(class.as_str());
        let created = session.create_collection(class, &name, None).unwrap();
        let listed =
            find(&mut session, &created.id).unwrap_or_else(|| panic!("{class:?} not listed"));
        assert_eq!(
            (listed.name.as_str(), listed.class, listed.is_default),
            (name.as_str(), class, false)
        );
        // A fresh session does not know the id yet: it must find its class.
        let mut other = alice(info);
        other
            .rename_collection(&created.id, &format!("{name} renamed"))
            .unwrap();
        assert_eq!(
            find(&mut session, &created.id).unwrap().name,
            format!("{name} renamed")
        );
        session.delete_collection(&created.id).unwrap();
        assert!(
            find(&mut session, &created.id).is_none(),
            "{class:?} still listed"
        );
    }
    assert!(matches!(
        session.create_collection(Class::Tasks, "nested", Some("parent")),
        Err(BackendError::Invalid(_))
    ));
    assert!(matches!(
        session.rename_collection("no-such-share", "x"),
        Err(BackendError::NotFound(_))
    ));
}

#[test]
fn contact_add_fetch_replace_delete_round_trip() {
    let info = ensure_horde();
    let mut session = alice(info);
    let book = default_of(session.as_mut(), Class::Contacts);
    let last = unique("Round");
    let full = Contact {
        first_name: Some("Jane".into()),
        middle_name: Some("Q".into()),
        last_name: Some(last.clone()),
        title: Some("Dr.".into()),
        nick_name: Some("JJ".into()),
        company_name: Some("Example Ltd".into()),
        job_title: Some("Engineer".into()),
        email1_address: Some("jane@example.com".into()),
        email2_address: Some("jane@home.example".into()),
        email3_address: Some("j.q@work.example".into()),
        mobile_phone_number: Some("+15550001".into()),
        business_phone_number: Some("+15550002".into()),
        home_address: Address {
            street: Some("1 Main St".into()),
            city: Some("Springfield".into()),
            postal_code: Some("12345".into()),
            ..Address::default()
        },
        birthday: CalendarDate::new(1980, 2, 29),
        body: Some("Met at the fair.\nLikes tea.".into()),
        ..Contact::default()
    };
    let id = session.add(&book, &Item::Contact(full.clone())).unwrap();
    assert!(session
        .list(&book, Window::default())
        .unwrap()
        .contains(&id));
    let Item::Contact(c) = fetch_one(session.as_mut(), &book, &id) else {
        panic!("not a contact")
    };
    assert_eq!(
        c.file_as.as_deref(),
        Some(format!("Dr. Jane Q {last}").as_str())
    );
    assert_eq!(
        Contact { file_as: None, ..c },
        full,
        "every field Turba stores comes back"
    );

    // A replace is a full object: what the new one lacks is cleared in Horde.
    let changed = Contact {
        last_name: Some(last.clone()),
        mobile_phone_number: Some("+15550009".into()),
        ..Contact::default()
    };
    session
        .replace(&book, &id, &Item::Contact(changed.clone()))
        .unwrap();
    let Item::Contact(c) = fetch_one(session.as_mut(), &book, &id) else {
        panic!("not a contact")
    };
    assert_eq!(Contact { file_as: None, ..c }, changed);

    session.delete(&book, &id).unwrap();
    assert!(session
        .fetch(&book, std::slice::from_ref(&id))
        .unwrap()
        .is_empty());
    // Turba treats deleting a uid that is gone as done (calendar and tasks say NotFound).
    session.delete(&book, &id).unwrap();
}

fn fetch_one(session: &mut dyn Session, collection: &Collection, id: &str) -> Item {
    let mut got = session.fetch(collection, &[id.to_string()]).unwrap();
    assert_eq!(got.len(), 1, "{id} not fetched");
    assert_eq!(got[0].0, id);
    got.remove(0).1
}

#[test]
fn task_add_fetch_replace_delete_round_trip() {
    let info = ensure_horde();
    let mut session = alice(info);
    let list = default_of(session.as_mut(), Class::Tasks);
    let due = Utc.with_ymd_and_hms(2026, 12, 5, 17, 0, 0).unwrap();
    let task = Task {
        subject: Some(unique("Task")),
        body: Some("Two\nlines".into()),
        utc_due_date: Some(due),
        importance: Some(2),
        complete: Some(false),
        ..Task::default()
    };
    let id = session.add(&list, &Item::Task(task.clone())).unwrap();
    assert!(session
        .list(&list, Window::default())
        .unwrap()
        .contains(&id));
    let Item::Task(got) = fetch_one(session.as_mut(), &list, &id) else {
        panic!("not a task")
    };
    assert_eq!(
        (&got.subject, &got.body, got.utc_due_date),
        (&task.subject, &task.body, Some(due))
    );
    assert_eq!((got.importance, got.complete), (Some(2), Some(false)));

    // Nag resets what a replace leaves out, so the full task goes each time.
    let done = Task {
        subject: Some("Edited, with; marks".into()),
        complete: Some(true),
        ..task.clone()
    };
    session.replace(&list, &id, &Item::Task(done)).unwrap();
    // The session's cached export was dropped by the replace.
    let Item::Task(got) = fetch_one(session.as_mut(), &list, &id) else {
        panic!("not a task")
    };
    assert_eq!(got.subject.as_deref(), Some("Edited, with; marks"));
    assert_eq!(
        (got.complete, got.importance, got.utc_due_date),
        (Some(true), Some(2), Some(due))
    );

    session.delete(&list, &id).unwrap();
    assert!(session
        .fetch(&list, std::slice::from_ref(&id))
        .unwrap()
        .is_empty());
    assert!(matches!(
        session.delete(&list, &id),
        Err(BackendError::NotFound(_))
    ));
}

#[test]
fn event_add_fetch_replace_delete_round_trip() {
    let info = ensure_horde();
    let mut session = alice(info);
    let calendar = default_of(session.as_mut(), Class::Calendar);
    let start = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
    let event = Event {
        subject: Some(unique("Event")),
        location: Some("Room 1".into()),
        start: Some(When::At(start)),
        end: Some(When::At(start + chrono::Duration::hours(1))),
        body: Some("Agenda".into()),
        ..Event::default()
    };
    let id = session.add(&calendar, &Item::Event(event.clone())).unwrap();
    let Item::Event(got) = fetch_one(session.as_mut(), &calendar, &id) else {
        panic!("not an event")
    };
    assert_eq!(
        (&got.subject, &got.location, &got.body),
        (&event.subject, &event.location, &event.body)
    );
    assert_eq!((got.start, got.end), (event.start, event.end));

    let moved = Event {
        start: Some(When::At(start + chrono::Duration::hours(2))),
        end: Some(When::At(start + chrono::Duration::hours(3))),
        ..event.clone()
    };
    session
        .replace(&calendar, &id, &Item::Event(moved.clone()))
        .unwrap();
    let Item::Event(got) = fetch_one(session.as_mut(), &calendar, &id) else {
        panic!("not an event")
    };
    assert_eq!(
        (got.start, got.end, &got.subject),
        (moved.start, moved.end, &event.subject)
    );

    session.delete(&calendar, &id).unwrap();
    assert!(session
        .fetch(&calendar, std::slice::from_ref(&id))
        .unwrap()
        .is_empty());
}

#[test]
fn note_add_fetch_replace_delete_round_trip() {
    let info = ensure_horde();
    let mut session = alice(info);
    let pad = default_of(session.as_mut(), Class::Notes);
    // Mnemo keeps a subject only as the body's first line.
    let note = |subject: &str, rest: &str| Note {
        subject: Some(subject.into()),
        body: Some(format!("{subject}\n{rest}")),
        ..Note::default()
    };
    let first = note(&unique("Note"), "milk, eggs");
    let id = session.add(&pad, &Item::Note(first.clone())).unwrap();
    assert!(session.list(&pad, Window::default()).unwrap().contains(&id));
    let Item::Note(got) = fetch_one(session.as_mut(), &pad, &id) else {
        panic!("not a note")
    };
    assert_eq!((&got.subject, &got.body), (&first.subject, &first.body));
    let second = note("Shopping", "bread");
    session
        .replace(&pad, &id, &Item::Note(second.clone()))
        .unwrap();
    let Item::Note(got) = fetch_one(session.as_mut(), &pad, &id) else {
        panic!("not a note")
    };
    assert_eq!((&got.subject, &got.body), (&second.subject, &second.body));
    session.delete(&pad, &id).unwrap();
    assert!(session.fetch(&pad, &[id]).unwrap().is_empty());
}

#[test]
fn events_made_in_horde_are_listed_fetched_windowed_and_deleted() {
    let info = ensure_horde();
    let rpc = info.rpc("alice");
    let mut session = alice(info);
    let calendar = default_of(session.as_mut(), Class::Calendar);
    let uid = format!("{}@test", unique("evt"));
    rpc.add_event(&calendar.id, &uid, "Planning");
    assert!(session
        .list(&calendar, Window::default())
        .unwrap()
        .contains(&uid));
    // 2026-12-01 10:00Z is inside Nov 30..Dec 2 and outside Jan 2027.
    let inside = Window {
        start: Some(1_796_000_000),
        end: Some(1_796_200_000),
    };
    let outside = Window {
        start: Some(1_798_761_600),
        end: Some(1_801_440_000),
    };
    assert!(session.list(&calendar, inside).unwrap().contains(&uid));
    assert!(!session.list(&calendar, outside).unwrap().contains(&uid));
    let got = session
        .fetch(&calendar, &[uid.clone(), "no-such@test".into()])
        .unwrap();
    assert_eq!(got.len(), 1);
    let Item::Event(e) = &got[0].1 else {
        panic!("not an event")
    };
    assert_eq!(e.subject.as_deref(), Some("Planning"));
    session.delete(&calendar, &uid).unwrap();
    assert!(!session
        .list(&calendar, Window::default())
        .unwrap()
        .contains(&uid));
}

#[test]
fn changes_since_a_cursor_see_adds_modifies_and_deletes_made_in_horde() {
    let info = ensure_horde();
    let rpc = info.rpc("alice");
    let mut session = alice(info);
    let book = default_of(session.as_mut(), Class::Contacts);
    let kept = rpc.add_contact(&book.id, "Kept", &unique("C"));
    let cursor = session.cursor(&book).unwrap();

    let calls = session.calls();
    let none = session.changes(&book, &cursor).unwrap();
    assert_eq!(session.calls() - calls, 1, "a no-change check is one call");
    assert!(none.changed.is_empty() && none.deleted.is_empty());
    assert_eq!(none.cursor, cursor);

    let added = rpc.add_contact(&book.id, "Added", &unique("C"));
    rpc.change_contact(&book.id, &kept, "Kept", "Changed");
    let transient = rpc.add_contact(&book.id, "Transient", &unique("C"));
    rpc.change_contact(&book.id, &transient, "Transient", "Changed");
    rpc.delete_contact(&book.id, &transient);

    let calls = session.calls();
    let changes = session.changes(&book, &cursor).unwrap();
    assert_eq!(session.calls() - calls, 2);
    assert!(changes.changed.contains(&added), "{changes:?}");
    assert!(changes.changed.contains(&kept), "{changes:?}");
    assert!(
        !changes.changed.contains(&transient),
        "deleted wins: {changes:?}"
    );
    assert!(changes.deleted.contains(&transient), "{changes:?}");
    assert!(changes.cursor.parse::<u64>().unwrap() > cursor.parse::<u64>().unwrap());
    // Caught up: nothing new since the returned cursor (for our items).
    let again = session.changes(&book, &changes.cursor).unwrap();
    assert!(!again.changed.contains(&added) && !again.deleted.contains(&transient));
    rpc.delete_contact(&book.id, &added);
    rpc.delete_contact(&book.id, &kept);
}

#[test]
fn calendar_changes_reconcile_kronolith_deletes() {
    let info = ensure_horde();
    let rpc = info.rpc("alice");
    let mut session = alice(info);
    let calendar = default_of(session.as_mut(), Class::Calendar);
    let cursor = session.cursor(&calendar).unwrap();
    let added = rpc.add_event(&calendar.id, &format!("{}@test", unique("a")), "Added");
    let gone = rpc.add_event(&calendar.id, &format!("{}@test", unique("g")), "Gone");
    rpc.call("calendar.delete", json!([gone]));
    let changes = session.changes(&calendar, &cursor).unwrap();
    assert!(changes.changed.contains(&added), "{changes:?}");
    assert!(
        changes.deleted.contains(&gone) && !changes.changed.contains(&gone),
        "{changes:?}"
    );
    session.delete(&calendar, &added).unwrap();
}

#[test]
fn fetching_100_contacts_costs_a_constant_number_of_calls() {
    let info = ensure_horde();
    let rpc = info.rpc("bob");
    let (_, password) = &info.users[1];
    let mut session = backend_at(&info.rpc_url).open("bob", password).unwrap();
    let book = default_of(session.as_mut(), Class::Contacts);
    let tag = unique("Bulk");
    let ids: Vec<String> = (0..100)
        .map(|i| rpc.add_contact(&book.id, &format!("P{i}"), &tag))
        .collect();

    let calls = session.calls();
    let started = Instant::now();
    let got = session.fetch(&book, &ids).unwrap();
    let elapsed = started.elapsed();
    let cost = session.calls() - calls;
    eprintln!(
        "fetch of 100 contacts: {cost} JSON-RPC calls, {} ms",
        elapsed.as_millis()
    );
    assert_eq!(cost, 2, "bulk read must not cost a call per contact");
    assert_eq!(got.len(), 100);
    for (i, (id, item)) in got.iter().enumerate() {
        assert_eq!(id, &ids[i], "fetch keeps the requested order");
        let Item::Contact(c) = item else {
            panic!("not a contact")
        };
        assert_eq!(c.first_name.as_deref(), Some(format!("P{i}").as_str()));
    }
    // The keys are remembered: the next windows cost one call each, and a
    // listing learns the keys of the whole book for the windows after it.
    let calls = session.calls();
    assert_eq!(session.fetch(&book, &ids[..50]).unwrap().len(), 50);
    assert_eq!(session.calls() - calls, 1, "a window with known keys");
    let late = rpc.add_contact(&book.id, "Late", &tag);
    assert!(session
        .list(&book, Window::default())
        .unwrap()
        .contains(&late));
    let calls = session.calls();
    let got = session.fetch(&book, std::slice::from_ref(&late)).unwrap();
    assert_eq!(session.calls() - calls, 1, "keys learnt by the listing");
    assert_eq!(got.len(), 1);
    // A contact deleted behind our back is left out, not an error.
    rpc.call("contacts.delete", json!([[late.clone()], book.id]));
    assert!(session.fetch(&book, &[late]).unwrap().is_empty());
    // Turba, Kronolith and Nag delete a list of uids in one call.
    rpc.call("contacts.delete", json!([ids, book.id]));
}

#[test]
fn moving_a_contact_between_address_books() {
    let info = ensure_horde();
    let mut session = alice(info);
    let from = default_of(session.as_mut(), Class::Contacts);
    let to = session
        .create_collection(Class::Contacts, &unique("Moves"), None)
        .unwrap();
    let last = unique("Mover");
    let id = session.add(&from, &contact("Mo", &last)).unwrap();
    let new_id = session.move_item(&from, &id, &to).unwrap();
    assert!(session.fetch(&from, &[id]).unwrap().is_empty());
    let got = session.fetch(&to, std::slice::from_ref(&new_id)).unwrap();
    let Item::Contact(c) = &got[0].1 else {
        panic!("not a contact")
    };
    assert_eq!(c.last_name.as_deref(), Some(last.as_str()));
    session.delete(&to, &new_id).unwrap();
    session.delete_collection(&to.id).unwrap();
}

#[test]
fn a_window_of_events_or_tasks_costs_one_call() {
    let info = ensure_horde();
    let rpc = info.rpc("bob");
    let (_, password) = &info.users[1];
    let mut session = backend_at(&info.rpc_url).open("bob", password).unwrap();
    let calendar = default_of(session.as_mut(), Class::Calendar);
    let list = default_of(session.as_mut(), Class::Tasks);
    let tag = unique("win");
    let events: Vec<String> = (0..30)
        .map(|i| rpc.add_event(&calendar.id, &format!("{tag}-e{i}@test"), &format!("E{i}")))
        .collect();
    let tasks: Vec<String> = (0..30)
        .map(|i| rpc.add_task(&list.id, &format!("{tag}-t{i}@test"), &format!("T{i}")))
        .collect();

    for (collection, ids) in [(&calendar, &events), (&list, &tasks)] {
        let calls = session.calls();
        let started = Instant::now();
        let got = session.fetch(collection, ids).unwrap();
        eprintln!(
            "fetch of {} {:?} items: {} call(s), {} ms",
            ids.len(),
            collection.class,
            session.calls() - calls,
            started.elapsed().as_millis()
        );
        assert_eq!(session.calls() - calls, 1, "{:?}", collection.class);
        assert_eq!(
            got.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            ids.iter().collect::<Vec<_>>()
        );
        // A second window of the same request reuses the export.
        session.fetch(collection, &ids[..5]).unwrap();
        assert_eq!(session.calls() - calls, 1);
    }
    rpc.call("calendar.delete", json!([events]));
    rpc.call("tasks.delete", json!([tasks]));
}

/// The JSON-RPC cost of each session method (asserted) and its time on this
/// machine (printed, never asserted).
#[test]
fn calls_per_session_method() {
    let info = ensure_horde();
    // Bob: no other test adds collections for him, so the counts hold.
    let (user, password) = (&info.users[1].0, &info.users[1].1);
    let backend = backend_at(&info.rpc_url);
    let timed = |what: &str,
                 expected: u32,
                 session: &mut dyn Session,
                 f: &mut dyn FnMut(&mut dyn Session)| {
        let calls = session.calls();
        let started = Instant::now();
        f(session);
        let cost = session.calls() - calls;
        eprintln!(
            "{what}: {cost} call(s), {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
        assert_eq!(cost, expected, "{what}");
    };
    let started = Instant::now();
    let mut session = backend.open(user, password).unwrap();
    eprintln!(
        "open: {} call, {:.1} ms",
        session.calls(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    // One `sources` call per app, plus `getDefaultShare` where there is a choice.
    let mut all = session.collections().unwrap();
    let with_choice = [Class::Contacts, Class::Calendar, Class::Tasks, Class::Notes]
        .iter()
        .filter(|class| all.iter().filter(|c| c.class == **class).count() > 1)
        .count() as u32;
    timed(
        "collections (4 apps)",
        4 + with_choice,
        session.as_mut(),
        &mut |s| all = s.collections().unwrap(),
    );
    let book = all
        .iter()
        .find(|c| c.class == Class::Contacts && c.is_default)
        .unwrap()
        .clone();
    let mut cursor = String::new();
    timed("cursor", 1, session.as_mut(), &mut |s| {
        cursor = s.cursor(&book).unwrap()
    });
    // The change points of a few collections, side by side, in order.
    let defaults: Vec<_> = all.iter().filter(|c| c.is_default).cloned().collect();
    let mut points = Vec::new();
    timed(
        "cursors (defaults)",
        defaults.len() as u32,
        session.as_mut(),
        &mut |s| points = s.cursors(&defaults).unwrap(),
    );
    // Each is that collection's point: a later single read is the same or,
    // when another test wrote meanwhile (Horde's modseq is app-wide), higher.
    for (collection, point) in defaults.iter().zip(&points) {
        let later: u64 = session.cursor(collection).unwrap().parse().unwrap();
        let point: u64 = point.parse().unwrap();
        assert!(point <= later, "{collection:?}: {point} > {later}");
    }
    // The `cursors` round just read the book's point: no call for it again.
    timed("changes, none, just read", 0, session.as_mut(), &mut |s| {
        s.changes(&book, &cursor).unwrap();
    });
    timed("changes, none", 1, session.as_mut(), &mut |s| {
        s.changes(&book, &cursor).unwrap();
    });
    // listUids and the keys of the whole book, side by side.
    timed("list", 2, session.as_mut(), &mut |s| {
        s.list(&book, Window::default()).unwrap();
    });
    let mut id = String::new();
    timed("add contact", 1, session.as_mut(), &mut |s| {
        id = s.add(&book, &contact("Cost", &unique("C"))).unwrap()
    });
    timed("changes, one add", 2, session.as_mut(), &mut |s| {
        assert!(s.changes(&book, &cursor).unwrap().changed.contains(&id));
    });
    // Right after a `cursors` round, `changes` reuses the point it read.
    timed("cursors, then changes", 2, session.as_mut(), &mut |s| {
        s.cursors(std::slice::from_ref(&book)).unwrap();
        assert!(s.changes(&book, &cursor).unwrap().changed.contains(&id));
    });
    timed("replace contact", 1, session.as_mut(), &mut |s| {
        s.replace(&book, &id, &contact("Cost", "Two")).unwrap()
    });
    timed("delete contact", 1, session.as_mut(), &mut |s| {
        s.delete(&book, &id).unwrap()
    });
}

#[test]
fn a_horde_that_does_not_answer_is_unavailable_after_the_timeout() {
    ensure_horde();
    // Accepts connections (the kernel backlog does) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/rpc.php", silent.local_addr().unwrap());
    let config = Config {
        backend: BackendConfig {
            horde_rpc_url: url,
            horde_timeout: 1,
            ..BackendConfig::default()
        },
        ..Config::default()
    };
    let started = Instant::now();
    let outcome = HordeBackend::new(&config).open("alice", "alicepass");
    assert!(
        matches!(outcome, Err(BackendError::Unavailable(_))),
        "{:?}",
        outcome.err()
    );
    assert!(started.elapsed().as_secs() < 10);
}

#[test]
fn moving_a_task_between_lists_gives_it_a_new_uid() {
    let info = ensure_horde();
    let mut session = alice(info);
    let from = default_of(session.as_mut(), Class::Tasks);
    let to = session
        .create_collection(Class::Tasks, &unique("Moves"), None)
        .unwrap();
    let subject = unique("Moving task");
    let task = Task {
        subject: Some(subject.clone()),
        importance: Some(2),
        ..Task::default()
    };
    let id = session.add(&from, &Item::Task(task)).unwrap();
    let new_id = session.move_item(&from, &id, &to).unwrap();
    assert_ne!(new_id, id);
    assert!(!session
        .list(&from, Window::default())
        .unwrap()
        .contains(&id));
    let Item::Task(got) = fetch_one(session.as_mut(), &to, &new_id) else {
        panic!("not a task")
    };
    assert_eq!(
        (got.subject.as_deref(), got.importance),
        (Some(subject.as_str()), Some(2))
    );
    let pad = default_of(session.as_mut(), Class::Notes);
    assert!(matches!(
        session.move_item(&from, &new_id, &pad),
        Err(BackendError::Invalid(_))
    ));
    session.delete_collection(&to.id).unwrap();
}

#[test]
fn moving_an_event_and_a_note_between_collections() {
    let info = ensure_horde();
    let mut session = alice(info);
    for class in [Class::Calendar, Class::Notes] {
        let from = default_of(session.as_mut(), class);
        let to = session
            .create_collection(class, &unique("Moves"), None)
            .unwrap();
        let subject = unique("Moving");
        let item = match class {
            Class::Calendar => {
                let start = Utc.with_ymd_and_hms(2026, 12, 9, 8, 0, 0).unwrap();
                Item::Event(Event {
                    subject: Some(subject.clone()),
                    start: Some(When::At(start)),
                    end: Some(When::At(start + chrono::Duration::minutes(30))),
                    ..Event::default()
                })
            }
            _ => Item::Note(Note {
                subject: Some(subject.clone()),
                body: Some(format!("{subject}\nbody")),
                ..Note::default()
            }),
        };
        let id = session.add(&from, &item).unwrap();
        let new_id = session.move_item(&from, &id, &to).unwrap();
        assert!(
            !session
                .list(&from, Window::default())
                .unwrap()
                .contains(&id),
            "{class:?}"
        );
        let moved_subject = match fetch_one(session.as_mut(), &to, &new_id) {
            Item::Event(e) => e.subject,
            Item::Note(n) => n.subject,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(
            moved_subject.as_deref(),
            Some(subject.as_str()),
            "{class:?}"
        );
        session.delete(&to, &new_id).unwrap();
        session.delete_collection(&to.id).unwrap();
    }
}
