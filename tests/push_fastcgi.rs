//! Held Pings in the FastCGI process under real lighttpd (embedded store):
//! SIGTERM makes every held Ping answer at once, so a restart does not cost
//! the devices a timeout, several devices of one user are answered
//! together when their folder changes, and a write by one device through
//! the server wakes the others' held Pings without waiting for the poll.

mod support;

use horde_activesync::wbxml::codepages::ping as p;
use horde_activesync::wbxml::Element;
use std::time::{Duration, Instant};
use support::client::Client;
use support::device::{contact_add, ping_body, Phone};
use support::web::{Variant, WebServer};

/// lighttpd with our FastCGI process on the embedded store, user alice,
/// cursors polled every `poll` seconds.
fn start(poll: u32) -> (tempfile::TempDir, WebServer) {
    let (dir, config) = support::web::embedded_site(
        &format!("[ping]\nheartbeat_min = 1\nheartbeat_max = 120\npoll_interval = {poll}\n"),
        &[("alice", "pw")],
    );
    let web = WebServer::start(Variant::LighttpdFastcgi, &config);
    (dir, web)
}

/// Hold a Ping on another thread; returns its answer and how long it took.
fn held_ping(
    client: &Client,
    heartbeat: u32,
    folder: &str,
) -> std::thread::JoinHandle<(Option<Element>, Duration)> {
    let mut client = client.clone();
    client.timeout = Duration::from_secs(u64::from(heartbeat) + 30);
    let body = ping_body(heartbeat, &[folder], "Contacts");
    std::thread::spawn(move || {
        let t = Instant::now();
        let r = client.post("Ping", Some(&body));
        (r.body, t.elapsed())
    })
}

/// The FastCGI processes lighttpd started (children named after our binary:
/// one for ActiveSync, one for Autodiscover).
fn fastcgi_pids(web: &WebServer) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|x| x.parse::<u32>().ok());
            stat.contains("(horde-activesyn") && ppid == Some(web.pid())
        })
        .collect()
}

fn ready_phone(web: &WebServer, device: &str) -> (Phone, String) {
    let mut phone = Phone::new(&web.base_url, "alice", "pw", device, "14.1");
    phone.folder_sync();
    let book = phone.folder(9);
    phone.start(&book, None);
    (phone, book)
}

#[test]
fn sigterm_answers_held_pings_at_once() {
    let (_dir, web) = start(1);
    let (one, book) = ready_phone(&web, "TERM1");
    let (two, _) = ready_phone(&web, "TERM2");
    let held = [
        held_ping(&one.client, 100, &book),
        held_ping(&two.client, 100, &book),
    ];
    std::thread::sleep(Duration::from_millis(800));
    let pids = fastcgi_pids(&web);
    assert!(!pids.is_empty(), "our FastCGI processes");
    for pid in pids {
        // SAFETY: a plain kill(2) of a process this test's lighttpd started.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    }
    for h in held {
        let (body, took) = h.join().unwrap();
        let body = body
            .unwrap_or_else(|| panic!("a Ping answer, not a dropped connection:\n{}", web.log()));
        assert_eq!(body.text_of(p::Status), Some("1"));
        // Not the 100 s heartbeat, nor the 10 s shutdown grace.
        assert!(took < Duration::from_secs(9), "answered after {took:?}");
    }
}

#[test]
fn devices_of_one_user_are_all_told_of_a_change() {
    let (_dir, web) = start(1);
    let phones: Vec<(Phone, String)> = (0..3)
        .map(|i| ready_phone(&web, &format!("SHARE{i}")))
        .collect();
    let (mut writer, book) = ready_phone(&web, "WRITER");
    let held: Vec<_> = phones
        .iter()
        .map(|(ph, b)| held_ping(&ph.client, 60, b))
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    writer.sync(
        &book,
        None,
        vec![contact_add("n1", "New", "Person", "new@example.test")],
    );
    for h in held {
        let (body, _) = h.join().unwrap();
        let body = body.expect("Ping answer");
        assert_eq!(body.text_of(p::Status), Some("2"));
        assert_eq!(
            body.path(&[p::Folders]).unwrap().text_of(p::Folder),
            Some(book.as_str())
        );
    }
    // The writer's own Ping does not wake for its own write.
    let (body, took) = held_ping(&writer.client, 2, &book).join().unwrap();
    assert_eq!(
        body.unwrap().text_of(p::Status),
        Some("1"),
        "after {took:?}"
    );
}

#[test]
fn a_write_through_the_server_wakes_held_pings_before_the_next_poll() {
    // Polls every 60 s: an answer well inside that came from the write's wake-up.
    let (_dir, web) = start(60);
    let (reader, book) = ready_phone(&web, "WAKE-READER");
    let (mut writer, _) = ready_phone(&web, "WAKE-WRITER");
    let held = held_ping(&reader.client, 110, &book);
    // The writer's own Ping, ended by its Sync below (not by a change).
    let own = held_ping(&writer.client, 110, &book);
    std::thread::sleep(Duration::from_millis(800));
    let wrote = Instant::now();
    writer.sync(
        &book,
        None,
        vec![contact_add("w1", "Woken", "Fast", "fast@example.test")],
    );
    let (body, _) = held.join().unwrap();
    let answered = wrote.elapsed();
    let body = body.unwrap_or_else(|| panic!("a Ping answer:\n{}", web.log()));
    assert_eq!(body.text_of(p::Status), Some("2"));
    assert_eq!(
        body.path(&[p::Folders]).unwrap().text_of(p::Folder),
        Some(book.as_str())
    );
    assert!(
        answered < Duration::from_secs(30),
        "answered {answered:?} after the write: waited for the 60 s poll"
    );
    let (own, _) = own.join().unwrap();
    assert_eq!(
        own.unwrap().text_of(p::Status),
        Some("1"),
        "superseded, not told of its own write"
    );
    // A new Ping of the writer sleeps through its own write.
    let (body, took) = held_ping(&writer.client, 2, &book).join().unwrap();
    assert_eq!(
        body.unwrap().text_of(p::Status),
        Some("1"),
        "after {took:?}"
    );
}
