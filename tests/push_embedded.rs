//! Ping and Sync-with-Wait through a real `serve` on the embedded store,
//! with short configured intervals (no test waits more than a few seconds).

mod support;

use horde_activesync::wbxml::codepages::{airsync as a, contacts as c, ping as p};
use horde_activesync::wbxml::Element;
use std::time::{Duration, Instant};
use support::device::{commands, ping_body, Phone};
use support::serve::Served;

const CONFIG: &str = "[provisioning]\nmode = \"none\"\n[ping]\nheartbeat_min = 1\nheartbeat_max = 30\npoll_interval = 1\nmax_folders = 3\n";

fn setup() -> (Served, Phone, Phone, String) {
    setup_with(CONFIG)
}

fn setup_with(config: &str) -> (Served, Phone, Phone, String) {
    let served = Served::start(config, &[("alice", "pw")]);
    let mut one = Phone::new(&served.url, "alice", "pw", "PUSH1", "14.1");
    let mut two = Phone::new(&served.url, "alice", "pw", "PUSH2", "14.1");
    one.folder_sync();
    two.folder_sync();
    let book = one.folder(9);
    one.start(&book, None);
    two.start(&book, None);
    (served, one, two, book)
}

fn add(client_id: &str) -> Element {
    Element::new(a::Add)
        .with_text(a::ClientId, client_id)
        .with(Element::new(a::ApplicationData).with_text(c::FirstName, client_id))
}

#[test]
fn ping_expires_without_changes_and_reports_a_change_by_another_phone() {
    let (_served, mut one, two, book) = setup();
    let t = Instant::now();
    let r = two
        .client
        .post("Ping", Some(&ping_body(2, &[&book], "Contacts")))
        .body
        .unwrap();
    assert_eq!(r.text_of(p::Status), Some("1"));
    assert!(
        t.elapsed() >= Duration::from_secs(2),
        "held for the heartbeat"
    );

    let waiter = {
        let client = two.client.clone();
        let body = ping_body(10, &[&book], "Contacts");
        std::thread::spawn(move || {
            let t = Instant::now();
            (client.post("Ping", Some(&body)).body.unwrap(), t.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    one.sync(&book, None, vec![add("x")]);
    let (r, took) = waiter.join().unwrap();
    assert_eq!(
        r.text_of(p::Status),
        Some("2"),
        "{}",
        horde_activesync::wbxml::xml::to_xml(&r)
    );
    assert_eq!(
        r.path(&[p::Folders]).unwrap().text_of(p::Folder),
        Some(book.as_str())
    );
    assert!(
        took < Duration::from_secs(4),
        "answered within a poll interval: {took:?}"
    );

    // An empty Ping re-uses the cached folders and interval: the change is still there.
    let r = two.client.post("Ping", None).body.unwrap();
    assert_eq!(r.text_of(p::Status), Some("2"));
}

#[test]
fn ping_bounds_and_missing_parameters() {
    let (_served, _one, two, book) = setup();
    let r = two
        .client
        .post("Ping", Some(&ping_body(100, &[&book], "Contacts")))
        .body
        .unwrap();
    assert_eq!(r.text_of(p::Status), Some("5"));
    assert_eq!(r.text_of(p::HeartbeatInterval), Some("30"));
    let r = two
        .client
        .post(
            "Ping",
            Some(&ping_body(5, &[&book, "A1", "A2", "A3"], "Contacts")),
        )
        .body
        .unwrap();
    assert_eq!(r.text_of(p::Status), Some("6"));
    assert_eq!(r.text_of(p::MaxFolders), Some("3"));
    let fresh = Phone::new(&two.client.base_url, "alice", "pw", "FRESH", "14.1");
    assert_eq!(
        fresh
            .client
            .post("Ping", None)
            .body
            .unwrap()
            .text_of(p::Status),
        Some("3")
    );
    let r = two
        .client
        .post(
            "Ping",
            Some(&ping_body(5, &["Cdeadbeefdeadbeef"], "Contacts")),
        )
        .body
        .unwrap();
    assert_eq!(
        r.text_of(p::Status),
        Some("7"),
        "unknown folder: FolderSync needed"
    );
}

#[test]
fn a_second_ping_ends_the_first_at_once() {
    let (_served, _one, two, book) = setup();
    let first = {
        let client = two.client.clone();
        let body = ping_body(20, &[&book], "Contacts");
        std::thread::spawn(move || {
            let t = Instant::now();
            (client.post("Ping", Some(&body)).body.unwrap(), t.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(700));
    let second = {
        let client = two.client.clone();
        let body = ping_body(2, &[&book], "Contacts");
        std::thread::spawn(move || client.post("Ping", Some(&body)).body.unwrap())
    };
    let (r, took) = first.join().unwrap();
    assert_eq!(r.text_of(p::Status), Some("1"));
    assert!(
        took < Duration::from_secs(5),
        "the older Ping ended early: {took:?}"
    );
    assert_eq!(second.join().unwrap().text_of(p::Status), Some("1"));
}

#[test]
fn sync_with_wait_returns_changes_or_an_empty_response() {
    let (_served, mut one, mut two, book) = setup();
    let key = two.keys[&book].clone();
    let mut body = two.sync_body(&book, &key, None, vec![]);
    body.push_text(a::HeartbeatInterval, "2");
    let t = Instant::now();
    let r = two.client.post("Sync", Some(&body));
    assert_eq!(
        (r.status, r.body.is_none()),
        (200, true),
        "no change: empty response"
    );
    assert!(t.elapsed() >= Duration::from_secs(2));

    let mut bad = two.sync_body(&book, &key, None, vec![]);
    bad.push_text(a::HeartbeatInterval, "99");
    let r = two.client.post("Sync", Some(&bad)).body.unwrap();
    assert_eq!(
        (r.text_of(a::Status), r.text_of(a::Limit)),
        (Some("14"), Some("30"))
    );

    let waiter = {
        let client = two.client.clone();
        let mut body = two.sync_body(&book, &key, None, vec![]);
        body.push_text(a::HeartbeatInterval, "10");
        std::thread::spawn(move || client.post("Sync", Some(&body)).body.unwrap())
    };
    std::thread::sleep(Duration::from_millis(500));
    one.sync(&book, None, vec![add("y")]);
    let r = waiter.join().unwrap();
    let coll = r.path(&[a::Collections, a::Collection]).unwrap();
    assert_eq!(commands(coll).len(), 1);
    two.keys
        .insert(book.clone(), coll.text_of(a::SyncKey).unwrap().to_string());
    assert!(commands(&two.sync(&book, None, vec![])).is_empty());
}

#[test]
fn a_write_by_another_phone_wakes_a_waiting_sync_before_the_next_poll() {
    // Polls every 60 s: an answer well inside that came from the write's wake-up.
    let (_served, mut one, two, book) = setup_with(
        "[provisioning]\nmode = \"none\"\n[ping]\nheartbeat_min = 1\nheartbeat_max = 100\npoll_interval = 60\n",
    );
    let key = two.keys[&book].clone();
    let waiter = {
        let mut client = two.client.clone();
        client.timeout = Duration::from_secs(120);
        let mut body = two.sync_body(&book, &key, None, vec![]);
        body.push_text(a::HeartbeatInterval, "90");
        std::thread::spawn(move || client.post("Sync", Some(&body)).body)
    };
    std::thread::sleep(Duration::from_millis(500));
    let wrote = Instant::now();
    one.sync(&book, None, vec![add("woken")]);
    let r = waiter
        .join()
        .unwrap()
        .expect("the held Sync answers with the change");
    let answered = wrote.elapsed();
    let coll = r.path(&[a::Collections, a::Collection]).unwrap();
    assert_eq!(commands(coll).len(), 1);
    assert!(
        answered < Duration::from_secs(30),
        "answered {answered:?} after the write: waited for the 60 s poll"
    );
}
