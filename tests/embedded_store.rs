//! Semantics of the embedded SQLite store through the `Backend`/`Session`
//! traits: collections, the change counter, isolation, fetch, move, and
//! concurrent writers (threads and processes).

use horde_activesync::backend::embedded::users::Users;
use horde_activesync::backend::embedded::EmbeddedBackend;
use horde_activesync::backend::{Backend, BackendError, Collection, Session, Window};
use horde_activesync::model::event::When;
use horde_activesync::model::{Class, Contact, Event, Item, Note};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Store {
    _dir: tempfile::TempDir,
    db: PathBuf,
    backend: EmbeddedBackend,
}

/// A fresh store with users alice and bob (password "pw-<name>").
fn store() -> Store {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.sqlite");
    add_users(&db, &["alice", "bob"]);
    let backend = EmbeddedBackend::open_path(&db).unwrap();
    Store {
        _dir: dir,
        db,
        backend,
    }
}

fn add_users(db: &Path, names: &[&str]) {
    let mut users = Users::open(db).unwrap();
    for name in names {
        users.add(name, &format!("pw-{name}")).unwrap();
    }
}

fn login(backend: &EmbeddedBackend, user: &str) -> Box<dyn Session> {
    backend
        .open(user, &format!("pw-{user}"))
        .unwrap_or_else(|e| panic!("login {user}: {e}"))
}

fn default_of(s: &mut dyn Session, class: Class) -> Collection {
    s.collections()
        .unwrap()
        .into_iter()
        .find(|c| c.class == class && c.is_default)
        .unwrap()
}

fn contact() -> Item {
    Item::Contact(Contact::default())
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

#[test]
fn first_login_creates_one_default_collection_per_class() {
    let st = store();
    let mut s = login(&st.backend, "alice");
    let cols = s.collections().unwrap();
    let names: Vec<(Class, &str, bool)> = cols
        .iter()
        .map(|c| (c.class, c.name.as_str(), c.is_default))
        .collect();
    assert_eq!(
        names,
        [
            (Class::Contacts, "Contacts", true),
            (Class::Calendar, "Calendar", true),
            (Class::Tasks, "Tasks", true),
            (Class::Notes, "Notes", true),
        ]
    );
    drop(s);
    // A second login creates nothing more.
    let mut s = login(&st.backend, "alice");
    assert_eq!(s.collections().unwrap(), cols);
}

#[test]
fn wrong_or_unknown_credentials_fail() {
    let st = store();
    assert!(matches!(
        st.backend.open("alice", "pw-bob"),
        Err(BackendError::AuthFailed)
    ));
    assert!(matches!(
        st.backend.open("carol", "pw-carol"),
        Err(BackendError::AuthFailed)
    ));
}

#[test]
fn collection_create_rename_delete() {
    let st = store();
    let mut s = login(&st.backend, "alice");
    let work = s.create_collection(Class::Contacts, "Work", None).unwrap();
    assert!(!work.is_default);
    let sub = s
        .create_collection(Class::Contacts, "Clients", Some(&work.id))
        .unwrap();
    assert_eq!(sub.parent.as_deref(), Some(work.id.as_str()));
    s.add(&sub, &contact()).unwrap();

    s.rename_collection(&work.id, "Office").unwrap();
    let listed = s.collections().unwrap();
    assert!(listed.iter().any(|c| c.id == work.id && c.name == "Office"));
    assert!(listed.contains(&sub));

    // Deleting a collection takes its sub-collections and items with it.
    s.delete_collection(&work.id).unwrap();
    let listed = s.collections().unwrap();
    assert_eq!(listed.len(), 4);
    assert!(matches!(s.cursor(&sub), Err(BackendError::NotFound(_))));

    let contacts = default_of(s.as_mut(), Class::Contacts);
    s.rename_collection(&contacts.id, "Address book").unwrap();
    assert!(matches!(
        s.delete_collection(&contacts.id),
        Err(BackendError::PermissionDenied(_))
    ));
    assert!(matches!(
        s.create_collection(Class::Email, "Inbox", None),
        Err(BackendError::Invalid(_))
    ));
    assert!(matches!(
        s.create_collection(Class::Notes, "  ", None),
        Err(BackendError::Invalid(_))
    ));
    assert!(matches!(
        s.create_collection(Class::Notes, "x", Some("999999")),
        Err(BackendError::NotFound(_))
    ));
    assert!(matches!(
        s.rename_collection("not-a-number", "x"),
        Err(BackendError::NotFound(_))
    ));
}

#[test]
fn change_counter_reports_adds_changes_and_deletes() {
    let st = store();
    let mut s = login(&st.backend, "alice");
    let c = default_of(s.as_mut(), Class::Contacts);
    let start = s.cursor(&c).unwrap();
    assert_eq!(start, "0");

    let a = s.add(&c, &contact()).unwrap();
    let b = s.add(&c, &contact()).unwrap();
    let after_adds = s.cursor(&c).unwrap();
    let set = s.changes(&c, &start).unwrap();
    assert_eq!(sorted(&set.changed), sorted(&[a.clone(), b.clone()]));
    assert!(set.deleted.is_empty());
    assert_eq!(set.cursor, after_adds);

    // Nothing new: empty set, same cursor.
    let set = s.changes(&c, &after_adds).unwrap();
    assert!(set.changed.is_empty() && set.deleted.is_empty());
    assert_eq!(set.cursor, after_adds);

    s.replace(&c, &a, &contact()).unwrap();
    s.delete(&c, &b).unwrap();
    let set = s.changes(&c, &after_adds).unwrap();
    assert_eq!(set.changed, vec![a.clone()]);
    assert_eq!(set.deleted, vec![b.clone()]);
    assert!(set.cursor.parse::<i64>().unwrap() > after_adds.parse::<i64>().unwrap());
    assert_eq!(s.list(&c, Window::default()).unwrap(), vec![a.clone()]);

    // Unknown ids and bad cursors are errors that change nothing.
    let before = s.cursor(&c).unwrap();
    assert!(matches!(
        s.replace(&c, &b, &contact()),
        Err(BackendError::NotFound(_))
    ));
    assert!(matches!(
        s.delete(&c, "nope"),
        Err(BackendError::NotFound(_))
    ));
    assert_eq!(s.cursor(&c).unwrap(), before);
    assert!(matches!(
        s.changes(&c, &"x".to_string()),
        Err(BackendError::Invalid(_))
    ));
    assert!(matches!(
        s.changes(&c, &"999999".to_string()),
        Err(BackendError::Invalid(_))
    ));
}

#[test]
fn added_changed_and_deleted_in_one_window_is_only_deleted() {
    let st = store();
    let mut s = login(&st.backend, "alice");
    let c = default_of(s.as_mut(), Class::Contacts);
    let since = s.cursor(&c).unwrap();
    let id = s.add(&c, &contact()).unwrap();
    s.replace(&c, &id, &contact()).unwrap();
    s.delete(&c, &id).unwrap();
    let set = s.changes(&c, &since).unwrap();
    assert!(set.changed.is_empty(), "{set:?}");
    assert_eq!(set.deleted, [id]);
}

#[test]
fn counter_is_per_user_and_cursor_per_collection() {
    let st = store();
    let mut s = login(&st.backend, "alice");
    let contacts = default_of(s.as_mut(), Class::Contacts);
    let notes = default_of(s.as_mut(), Class::Notes);
    let notes_cursor = s.cursor(&notes).unwrap();
    s.add(&contacts, &contact()).unwrap();
    assert_eq!(
        s.cursor(&notes).unwrap(),
        notes_cursor,
        "other collection untouched"
    );
    let n = s.add(&notes, &Item::Note(Note::default())).unwrap();
    let set = s.changes(&notes, &notes_cursor).unwrap();
    assert_eq!(set.changed, [n]);
    // Values are unique across the user's collections.
    assert_ne!(s.cursor(&notes).unwrap(), s.cursor(&contacts).unwrap());
}

#[test]
fn users_never_see_each_other() {
    let st = store();
    let mut alice = login(&st.backend, "alice");
    let mut bob = login(&st.backend, "bob");
    let ac = default_of(alice.as_mut(), Class::Contacts);
    let bc = default_of(bob.as_mut(), Class::Contacts);
    assert_ne!(ac.id, bc.id);
    let id = alice.add(&ac, &contact()).unwrap();

    let bob_ids: BTreeSet<String> = bob
        .collections()
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert!(!bob_ids.contains(&ac.id));
    assert!(bob.list(&bc, Window::default()).unwrap().is_empty());
    // Alice's collection through Bob's session is simply not there.
    let not_found = |r: Result<(), BackendError>| matches!(r, Err(BackendError::NotFound(_)));
    assert!(not_found(bob.cursor(&ac).map(drop)));
    assert!(not_found(bob.list(&ac, Window::default()).map(drop)));
    assert!(not_found(bob.changes(&ac, &"0".to_string()).map(drop)));
    assert!(not_found(
        bob.fetch(&ac, std::slice::from_ref(&id)).map(drop)
    ));
    assert!(not_found(bob.add(&ac, &contact()).map(drop)));
    assert!(not_found(bob.replace(&ac, &id, &contact())));
    assert!(not_found(bob.delete(&ac, &id)));
    assert!(not_found(bob.move_item(&ac, &id, &bc).map(drop)));
    assert!(not_found(bob.move_item(&bc, &id, &ac).map(drop)));
    assert!(not_found(bob.rename_collection(&ac.id, "mine")));
    assert!(not_found(bob.delete_collection(&ac.id)));
    assert!(not_found(
        bob.create_collection(Class::Contacts, "x", Some(&ac.id))
            .map(drop)
    ));
    // An item id of Alice in Bob's own collection is not found either.
    assert!(bob
        .fetch(&bc, std::slice::from_ref(&id))
        .unwrap()
        .is_empty());
    assert!(not_found(bob.delete(&bc, &id)));

    assert_eq!(alice.list(&ac, Window::default()).unwrap(), [id]);
    assert_eq!(alice.collections().unwrap().len(), 4);
}

#[test]
fn fetch_many_ids_in_one_call() {
    let st = store();
    let mut s = login(&st.backend, "alice");
    let c = default_of(s.as_mut(), Class::Contacts);
    let ids: Vec<String> = (0..300).map(|_| s.add(&c, &contact()).unwrap()).collect();
    let calls = s.calls();
    let mut wanted = ids[..250].to_vec();
    wanted.push("gone".into());
    let got = s.fetch(&c, &wanted).unwrap();
    assert_eq!(s.calls(), calls + 1, "one round trip for 251 ids");
    let got_ids: BTreeSet<&String> = got.iter().map(|(id, _)| id).collect();
    assert_eq!(got_ids, ids[..250].iter().collect());
    assert!(got.iter().all(|(_, item)| *item == contact()));
    assert!(s.fetch(&c, &[]).unwrap().is_empty());
}

#[test]
fn items_must_match_the_collection_class() {
    let st = store();
    let mut s = login(&st.backend, "alice");
    let c = default_of(s.as_mut(), Class::Contacts);
    let before = s.cursor(&c).unwrap();
    assert!(matches!(
        s.add(&c, &Item::Note(Note::default())),
        Err(BackendError::Invalid(_))
    ));
    let id = s.add(&c, &contact()).unwrap();
    assert!(matches!(
        s.replace(&c, &id, &Item::Event(Event::default())),
        Err(BackendError::Invalid(_))
    ));
    let set = s.changes(&c, &before).unwrap();
    assert_eq!(set.changed, [id], "failed writes left no trace");
}

#[test]
fn move_keeps_the_id_and_logs_both_collections() {
    let st = store();
    let mut s = login(&st.backend, "alice");
    let home = default_of(s.as_mut(), Class::Contacts);
    let work = s.create_collection(Class::Contacts, "Work", None).unwrap();
    let id = s.add(&home, &contact()).unwrap();
    let (home_at, work_at) = (s.cursor(&home).unwrap(), s.cursor(&work).unwrap());

    let new_id = s.move_item(&home, &id, &work).unwrap();
    assert_eq!(new_id, id);
    assert!(s.list(&home, Window::default()).unwrap().is_empty());
    assert_eq!(s.list(&work, Window::default()).unwrap(), vec![id.clone()]);
    assert_eq!(s.fetch(&work, std::slice::from_ref(&id)).unwrap().len(), 1);
    let from = s.changes(&home, &home_at).unwrap();
    assert_eq!(
        (from.changed.len(), from.deleted.clone()),
        (0, vec![id.clone()])
    );
    let to = s.changes(&work, &work_at).unwrap();
    assert_eq!(
        (to.changed.clone(), to.deleted.len()),
        (vec![id.clone()], 0)
    );

    // Moving it back revives it in the first collection's log.
    s.move_item(&work, &id, &home).unwrap();
    let from = s.changes(&home, &home_at).unwrap();
    assert_eq!((from.changed, from.deleted.len()), (vec![id.clone()], 0));

    let notes = default_of(s.as_mut(), Class::Notes);
    assert!(matches!(
        s.move_item(&home, &id, &notes),
        Err(BackendError::Invalid(_))
    ));
    assert!(matches!(
        s.move_item(&work, &id, &home),
        Err(BackendError::NotFound(_))
    ));
}

fn timed_event(start: i64, end: i64) -> Item {
    let at = |t| When::At(chrono::DateTime::from_timestamp(t, 0).unwrap());
    Item::Event(Event {
        start: Some(at(start)),
        end: Some(at(end)),
        ..Event::default()
    })
}

#[test]
fn calendar_list_filters_by_the_window() {
    let st = store();
    let mut s = login(&st.backend, "alice");
    let cal = default_of(s.as_mut(), Class::Calendar);
    let day = 86_400;
    let t0 = 1_700_000_000;
    let before = s.add(&cal, &timed_event(t0 - 2 * day, t0 - day)).unwrap();
    let inside = s.add(&cal, &timed_event(t0 + 3600, t0 + 7200)).unwrap();
    let untimed = s.add(&cal, &Item::Event(Event::default())).unwrap();
    let window = Window {
        start: Some(t0),
        end: Some(t0 + day),
    };
    assert_eq!(
        sorted(&s.list(&cal, window).unwrap()),
        sorted(&[inside.clone(), untimed.clone()])
    );
    assert_eq!(s.list(&cal, Window::default()).unwrap().len(), 3);
    // A replace moves the stored span with the event.
    s.replace(&cal, &before, &timed_event(t0, t0 + 60)).unwrap();
    assert_eq!(s.list(&cal, window).unwrap().len(), 3);
    s.replace(&cal, &inside, &timed_event(t0 - 9 * day, t0 - 8 * day))
        .unwrap();
    assert_eq!(
        sorted(&s.list(&cal, window).unwrap()),
        sorted(&[before, untimed])
    );
}

#[test]
fn removing_a_user_removes_their_data() {
    let st = store();
    let mut s = login(&st.backend, "alice");
    let c = default_of(s.as_mut(), Class::Contacts);
    s.add(&c, &contact()).unwrap();
    drop(s);
    let mut users = Users::open(&st.db).unwrap();
    assert_eq!(users.list().unwrap()[0].items, 1);
    users.remove("alice").unwrap();
    users.add("alice", "pw-alice").unwrap();
    let mut s = login(&st.backend, "alice");
    let c = default_of(s.as_mut(), Class::Contacts);
    assert!(s.list(&c, Window::default()).unwrap().is_empty());
    assert_eq!(users.list().unwrap()[0].items, 0);
}

/// Writers on threads, each with its own backend (own connections) or
/// sharing one, all succeed and every change gets its own counter value.
#[test]
fn concurrent_threads_all_write() {
    let st = store();
    let shared = Arc::new(EmbeddedBackend::open_path(&st.db).unwrap());
    let threads: Vec<_> = (0..6)
        .map(|n| {
            let shared = Arc::clone(&shared);
            let db = st.db.clone();
            std::thread::spawn(move || {
                let own;
                let backend: &EmbeddedBackend = if n % 2 == 0 {
                    &shared
                } else {
                    own = EmbeddedBackend::open_path(&db).unwrap();
                    &own
                };
                for _ in 0..15 {
                    let mut s = login(backend, "alice");
                    let c = default_of(s.as_mut(), Class::Contacts);
                    let id = s.add(&c, &contact()).unwrap();
                    s.replace(&c, &id, &contact()).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer thread failed");
    }
    assert_written(&st.backend, 6 * 15, 6 * 15 * 2);
}

/// Several processes create one fresh store file at once, race to add the
/// same user (exactly one wins) and write to it: the test re-runs itself as
/// the writer when `EMBEDDED_WRITER_DB` is set.
#[test]
fn concurrent_processes_all_write() {
    const PROCESSES: usize = 4;
    const WRITES: usize = 25;
    if let Some(db) = std::env::var_os("EMBEDDED_WRITER_DB") {
        let db = Path::new(&db);
        let backend = EmbeddedBackend::open_path(db).unwrap();
        match Users::open(db).unwrap().add("alice", "pw-alice") {
            Ok(()) => println!("added alice"),
            Err(e) => assert!(e.to_string().contains("already exists"), "{e:#}"),
        }
        let mut s = login(&backend, "alice");
        let c = default_of(s.as_mut(), Class::Contacts);
        for _ in 0..WRITES {
            s.add(&c, &contact()).unwrap();
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new/store.sqlite");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "concurrent_processes_all_write",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("EMBEDDED_WRITER_DB", &db)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut adders = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "writer failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        adders += stdout.matches("added alice").count();
    }
    assert_eq!(adders, 1, "exactly one process created the user");
    let backend = EmbeddedBackend::open_path(&db).unwrap();
    assert_written(&backend, PROCESSES * WRITES, PROCESSES * WRITES);
}

/// Alice's contacts hold `items` items and the counter advanced `changes` times.
fn assert_written(backend: &EmbeddedBackend, items: usize, changes: usize) {
    let mut s = login(backend, "alice");
    let c = default_of(s.as_mut(), Class::Contacts);
    assert_eq!(s.list(&c, Window::default()).unwrap().len(), items);
    assert_eq!(s.cursor(&c).unwrap(), changes.to_string());
    assert_eq!(
        s.changes(&c, &"0".to_string()).unwrap().changed.len(),
        items
    );
}
