//! The optional Horde extension (`horde/` in this repository, installed into
//! the test Horde by scripts/horde-setup.sh) against the real Horde: its
//! answers equal those of the per-app calls, in one call each; and a phone
//! syncs through lighttpd FastCGI with it turned on.

mod support;

use horde_activesync::backend::horde::HordeBackend;
use horde_activesync::backend::{Backend, Collection, Session};
use horde_activesync::config::{BackendConfig, Config};
use horde_activesync::model::Class;
use horde_activesync::wbxml::codepages::{folderhierarchy as fh, ping};
use serde_json::json;
use support::device::{commands, ping_body, Phone};
use support::horde::{ensure_horde_extension, horde_extension_config, unique, DirectRpc};
use support::web::{Variant, WebServer};

const USER: &str = "bob";
const PASSWORD: &str = "bobpass";

/// The tests of this file change bob's collections; each runs alone so the
/// others' folder lists stay put.
fn alone() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn session(extension: bool) -> Box<dyn Session> {
    let info = ensure_horde_extension();
    let config = Config {
        backend: BackendConfig {
            horde_rpc_url: info.rpc_url.clone(),
            horde_timeout: 10,
            horde_extension: extension,
            ..BackendConfig::default()
        },
        ..Config::default()
    };
    HordeBackend::new(&config)
        .open(USER, PASSWORD)
        .expect("bob logs in")
}

/// One extra collection of every class but notes for bob, each with one
/// item (so each has history of its own); deleted again on drop.
struct Extra {
    rpc: DirectRpc,
    /// `(delete method, collection id, name)`, the address book first.
    made: Vec<(String, String, String)>,
}

impl Extra {
    fn new() -> Extra {
        let rpc = ensure_horde_extension().rpc(USER);
        let mut made = Vec::new();
        for (interface, create, delete) in [
            ("contacts", "addAddressbook", "deleteAddressbook"),
            ("calendar", "addCalendar", "deleteCalendar"),
            ("tasks", "addTasklist", "deleteTasklist"),
        ] {
            let name = unique("Ext");
            let params = match interface {
                "tasks" => json!([name, "", "", {}]),
                _ => json!([name, {}]),
            };
            let id = rpc.call(&format!("{interface}.{create}"), params);
            let id = id.as_str().expect("new collection id").to_string();
            match interface {
                "contacts" => rpc.add_contact(&id, "Ext", "Contact"),
                "calendar" => rpc.add_event(&id, &unique("ev"), "Ext event"),
                _ => rpc.add_task(&id, &unique("task"), "Ext task"),
            };
            made.push((format!("{interface}.{delete}"), id, name));
        }
        Extra { rpc, made }
    }

    /// The extra address book's id.
    fn book(&self) -> &str {
        &self.made[0].1
    }
}

impl Drop for Extra {
    fn drop(&mut self) {
        for (delete, id, _) in &self.made {
            let _ = self.rpc.try_call(delete, json!([id]));
        }
    }
}

fn sorted(mut collections: Vec<Collection>) -> Vec<(String, Class, String, bool)> {
    collections.sort_by(|a, b| a.id.cmp(&b.id));
    collections
        .into_iter()
        .map(|c| (c.id, c.class, c.name, c.is_default))
        .collect()
}

/// Other tests change Horde meanwhile: read without, with, without the
/// extension until the two reads without agree, then the one with must too.
fn agree<T: PartialEq + std::fmt::Debug>(mut read: impl FnMut(bool) -> T) {
    for _ in 0..5 {
        let before = read(false);
        let with = read(true);
        if read(false) == before {
            assert_eq!(with, before, "the extension answers differently");
            return;
        }
    }
    panic!("Horde kept changing; nothing compared");
}

#[test]
fn one_call_lists_every_collection_as_the_per_app_calls_do() {
    let _alone = alone();
    let _extra = Extra::new();
    let mut plain = session(false);
    let several = plain.collections().unwrap();
    for class in [Class::Contacts, Class::Calendar, Class::Tasks] {
        assert!(
            several.iter().filter(|c| c.class == class).count() > 1,
            "bob should have several {class:?} collections: {several:?}"
        );
    }
    agree(|extension| {
        let mut session = session(extension);
        let before = session.calls();
        let found = sorted(session.collections().unwrap());
        let calls = session.calls() - before;
        if extension {
            assert_eq!(calls, 1, "the whole hierarchy in one call");
        } else {
            assert!(calls >= 4, "one call per app at least, got {calls}");
        }
        found
    });
}

#[test]
fn one_call_reads_the_cursors_of_every_collection() {
    let _alone = alone();
    let _extra = Extra::new();
    let collections = session(false).collections().unwrap();
    assert!(collections.len() >= 7, "{collections:?}");
    agree(|extension| {
        let mut session = session(extension);
        let before = session.calls();
        let cursors = session.cursors(&collections).unwrap();
        let calls = session.calls() - before;
        let expected = if extension {
            1
        } else {
            collections.len() as u32
        };
        assert_eq!(calls, expected, "calls for {} cursors", collections.len());
        assert!(cursors.iter().all(|c| c.parse::<u64>().unwrap() > 0));
        cursors
    });
}

#[test]
fn a_modseq_moves_after_a_change() {
    let _alone = alone();
    let extra = Extra::new();
    let mut session = session(true);
    let book = session
        .collections()
        .unwrap()
        .into_iter()
        .find(|c| c.id == extra.book())
        .expect("the extra address book");
    let before: u64 = session.cursor(&book).unwrap().parse().unwrap();
    let uid = extra.rpc.add_contact(&book.id, "Moves", "Modseq");
    let after: u64 = session.cursor(&book).unwrap().parse().unwrap();
    assert!(after > before, "{after} after {before}");
    let own = extra
        .rpc
        .call("contacts.getHighestModSeq", json!([book.id]));
    assert_eq!(own.as_u64().unwrap(), after, "Turba's own answer");
    let changes = session.changes(&book, &before.to_string()).unwrap();
    assert_eq!(changes.changed, vec![uid]);
    assert_eq!(changes.cursor, after.to_string());
}

#[test]
fn a_bad_parent_is_refused() {
    let rpc = ensure_horde_extension().rpc(USER);
    let book = rpc.default_share("contacts");
    let good = rpc.call(
        "activesync.highestModSeqs",
        json!([[format!("turba:{book}")]]),
    );
    assert!(
        good[format!("turba:{book}")].as_u64().unwrap() > 0,
        "{good}"
    );
    for bad in [
        json!(["imp:INBOX"]),
        json!(["turba:%"]),
        json!([format!("turba:{book}%")]),
        json!(["turba:"]),
        json!(["turba:a\nb"]),
        json!([format!("{book}")]),
        json!([["turba", "x"]]),
        json!("turba:x"),
    ] {
        let answer = rpc.try_call("activesync.highestModSeqs", json!([bad]));
        assert!(answer.is_err(), "{bad} was accepted: {answer:?}");
    }
}

/// Backend calls of each request, from the per-device debug log.
fn calls_per_request(debug_dir: &std::path::Path) -> Vec<u32> {
    let log = std::fs::read_dir(debug_dir)
        .expect("debug dir")
        .flatten()
        .next()
        .expect("a debug log");
    std::fs::read_to_string(log.path())
        .unwrap()
        .lines()
        .filter_map(|l| l.split("backend calls: ").nth(1))
        .map(|n| n.trim().parse().unwrap())
        .collect()
}

#[test]
fn a_phone_syncs_through_fastcgi_with_the_extension() {
    let _alone = alone();
    let extra = Extra::new();
    let dir = horde_extension_config(
        "[log]\nlevel = \"warn\"\ndebug_dir = \"debug\"\ndebug_devices = [\"EXTPHONE\"]\n\
         [ping]\nheartbeat_min = 1\npoll_interval = 1\n",
    );
    let web = WebServer::start(
        Variant::LighttpdFastcgi,
        &dir.path().join("activesync.toml"),
    );
    let book_id = extra.book().to_string();
    let mut phone = Phone::new(&web.base_url, USER, PASSWORD, "EXTPHONE", "14.1");
    phone.folder_sync();
    // Address book (14), calendar (13), task list (15): user-created types.
    for ((_, _, name), folder_type) in extra.made.iter().zip([14, 13, 15]) {
        assert!(
            phone
                .folders
                .values()
                .any(|(n, t)| n == name && *t == folder_type),
            "{name} not in {:?}",
            phone.folders
        );
    }
    let folder = phone
        .folders
        .iter()
        .find(|(_, (name, _))| *name == extra.made[0].2)
        .map(|(id, _)| id.clone())
        .expect("the extra address book on the phone");
    let first = phone.start(&folder, Some(100));
    assert_eq!(commands(&first).len(), 1, "the one contact");
    extra.rpc.add_contact(&book_id, "Second", "Contact");
    assert_eq!(phone.estimate(&folder), (1, Some(1)));
    let second = phone.sync(&folder, Some(100), vec![]);
    assert_eq!(commands(&second).len(), 1, "the new contact");
    assert_eq!(phone.estimate(&folder), (1, Some(0)));
    let again = phone.folder_sync();
    let changed = again.path(&[fh::Changes]).and_then(|c| c.u32_of(fh::Count));
    assert_eq!(changed.unwrap_or(0), 0, "nothing changed in the hierarchy");
    let calls = calls_per_request(&dir.path().join("debug"));
    // FolderSync, Sync 0, Sync, GetItemEstimate, Sync, GetItemEstimate, FolderSync.
    assert_eq!(calls.len(), 7, "{calls:?}");
    assert!(
        calls[0] <= 2,
        "first FolderSync: login check + 1: {calls:?}"
    );
    assert_eq!(
        calls[5], 1,
        "a no-change GetItemEstimate in one call: {calls:?}"
    );
    assert_eq!(calls[6], 1, "FolderSync again in one call: {calls:?}");

    // A held Ping sees a change made in Horde (the poll hub reads the
    // cursors through the extension too).
    let client = phone.client.clone();
    let body = ping_body(30, &[&folder], "Contacts");
    let held =
        std::thread::spawn(move || client.post("Ping", Some(&body)).body.expect("Ping body"));
    std::thread::sleep(std::time::Duration::from_millis(700));
    extra.rpc.add_contact(&book_id, "Pushed", "Contact");
    let answer = held.join().unwrap();
    assert_eq!(answer.text_of(ping::Status), Some("2"), "the book changed");
    assert_eq!(
        answer
            .path(&[ping::Folders])
            .and_then(|f| f.text_of(ping::Folder)),
        Some(folder.as_str())
    );
    drop(web);
}
