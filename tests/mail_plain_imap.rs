//! Email against an IMAP server that offers no CONDSTORE/QRESYNC (the second
//! Dovecot of scripts/mail-setup.sh, on the same mailboxes): changes are
//! found from UIDVALIDITY, UIDNEXT and a flag snapshot, a new UIDVALIDITY
//! re-syncs the folder, and a flag change made by another client wakes a
//! held Ping.

mod support;

use horde_activesync::backend::mail::imap::Connection;
use horde_activesync::wbxml::codepages::{airsync as a, email as em, ping as p};
use horde_activesync::wbxml::Element;
use std::time::Duration;
use support::device::{commands, ping_body, Phone};
use support::mail::{self, fresh_mailboxes, imap, PLAIN_IMAP_PORT};
use support::serve::Served;

fn start(device: &str) -> (Served, Phone) {
    let config = format!(
        "[provisioning]\nmode = \"none\"\n[ping]\nheartbeat_min = 1\nheartbeat_max = 30\npoll_interval = 1\n{}",
        mail::plain_config()
    );
    let served = Served::start(&config, &[("alice", "alicepass")]);
    let mut phone = Phone::new(&served.url, "alice", "alicepass", device, "14.1");
    phone.folder_sync();
    (served, phone)
}

/// Every sync state file of the served instance.
fn state_files(served: &Served) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else if let Ok(text) = std::fs::read_to_string(e.path()) {
                out.push(text);
            }
        }
    }
    let mut out = Vec::new();
    walk(served.dir.path(), &mut out);
    out
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

#[test]
fn without_condstore_flags_expunges_adds_and_a_new_uidvalidity_reach_the_device() {
    let _mail = fresh_mailboxes();
    let plain = Connection::login("127.0.0.1", PLAIN_IMAP_PORT, "alice", "alicepass").unwrap();
    assert!(!plain.has_capability("CONDSTORE") && !plain.has_capability("QRESYNC"));
    assert!(imap("alice").has_capability("CONDSTORE"));

    let (served, mut phone) = start("PLAIN1");
    let inbox = phone.folder(2);
    let first = phone.start(&inbox, Some(100));
    assert_eq!(commands(&first).len(), 12);
    assert!(
        state_files(&served)
            .iter()
            .any(|s| s.contains("\"cursor\":\"F")),
        "the folder state holds a flag snapshot, not a modseq"
    );
    assert!(commands(&phone.sync(&inbox, Some(100), vec![])).is_empty());

    // Another client flags one, marks one read, expunges one and adds one.
    let mut other = imap("alice");
    other.run("SELECT INBOX").unwrap();
    let unflagged_unread = |other: &mut Connection| -> Vec<String> {
        let r = other.run("UID SEARCH UNFLAGGED UNSEEN").unwrap();
        r.data("SEARCH")
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_number().map(|n| n.to_string()))
            .collect()
    };
    let mut ids = unflagged_unread(&mut other);
    assert!(ids.len() >= 3, "the seed has unread, unflagged messages");
    ids.push(
        commands(&first)
            .into_iter()
            .map(|(_, id)| id)
            .find(|id| !ids.contains(id))
            .unwrap(),
    );
    other
        .run(&format!("UID STORE {} +FLAGS (\\Flagged)", ids[0]))
        .unwrap();
    other
        .run(&format!("UID STORE {} +FLAGS (\\Seen)", ids[1]))
        .unwrap();
    other
        .run(&format!("UID STORE {} +FLAGS (\\Deleted)", ids[2]))
        .unwrap();
    other.run(&format!("UID EXPUNGE {}", ids[2])).unwrap();
    other
        .run_with_literal(
            "APPEND INBOX",
            Some(b"Subject: plain news\r\nMessage-ID: <plain-news@x>\r\n\r\nnew\r\n"),
        )
        .unwrap();
    let r = phone.sync(&inbox, Some(100), vec![]);
    let got = sorted(commands(&r));
    let added: Vec<&(String, String)> = got.iter().filter(|(op, _)| op == "Add").collect();
    assert_eq!(added.len(), 1, "{got:?}");
    assert!(got.contains(&("Change".into(), ids[0].clone())), "{got:?}");
    assert!(got.contains(&("Change".into(), ids[1].clone())), "{got:?}");
    assert!(got.contains(&("Delete".into(), ids[2].clone())), "{got:?}");
    assert_eq!(got.len(), 4, "{got:?}");
    let change = |id: &str| {
        r.child(a::Commands)
            .unwrap()
            .children_with(a::Change)
            .find(|c| c.text_of(a::ServerId) == Some(id))
            .and_then(|c| c.child(a::ApplicationData))
            .cloned()
            .unwrap()
    };
    assert_eq!(
        change(&ids[0])
            .path(&[em::Flag, em::Status])
            .and_then(Element::text),
        Some("2")
    );
    assert_eq!(change(&ids[1]).text_of(em::Read), Some("1"));

    // The device's own Read change goes to IMAP and is not echoed back.
    let mine = Element::new(a::Change)
        .with_text(a::ServerId, ids[3].clone())
        .with(Element::new(a::ApplicationData).with_text(em::Read, "0"));
    let r = phone.sync(&inbox, Some(100), vec![mine]);
    assert!(commands(&r).is_empty(), "{:?}", commands(&r));
    assert!(commands(&phone.sync(&inbox, Some(100), vec![])).is_empty());

    // A flag change by another client wakes a held Ping.
    let body = ping_body(20, &[&inbox], "Email");
    let waiter = {
        let client = phone.client.clone();
        std::thread::spawn(move || client.post("Ping", Some(&body)).body.unwrap())
    };
    std::thread::sleep(Duration::from_millis(500));
    other
        .run(&format!("UID STORE {} -FLAGS (\\Flagged)", ids[0]))
        .unwrap();
    let r = waiter.join().unwrap();
    assert_eq!(r.text_of(p::Status), Some("2"));
    let got = commands(&phone.sync(&inbox, Some(100), vec![]));
    assert_eq!(got, vec![("Change".to_string(), ids[0].clone())]);
    drop(other);

    // A new UIDVALIDITY: the device's copies are deleted, then every message
    // comes again (the same UIDs now name other messages).
    mail::reseed();
    let gone = commands(&phone.sync(&inbox, Some(100), vec![]));
    assert_eq!(gone.len(), 12, "{gone:?}");
    assert!(gone.iter().all(|(op, _)| op == "Delete"));
    let back = commands(&phone.sync(&inbox, Some(100), vec![]));
    // (At least: the mail server is shared with other test runs.)
    assert!(back.len() >= 12, "{back:?}");
    assert!(back.iter().all(|(op, _)| op == "Add"));
    assert!(commands(&phone.sync(&inbox, Some(100), vec![])).is_empty());
}
