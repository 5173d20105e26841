//! The email benchmark as a test: alice's INBOX re-seeded with
//! `MAIL_BENCH_MESSAGES` (default 1000) messages, then a FolderSync and an
//! initial Sync with WindowSize 100 and plain-text bodies cut at 32 KB through
//! a real `serve` and Dovecot. Asserts that every message arrives in the
//! expected number of rounds and that the server's peak RSS stays bounded
//! (the window, not the mailbox, decides memory); prints wall time, peak RSS
//! and IMAP commands per request for the README. `MAIL_BENCH_PLAIN=1` runs it
//! against the second Dovecot without CONDSTORE/QRESYNC (flag snapshot
//! cursors), and then also times a Sync that finds no change.

mod support;

use horde_activesync::wbxml::codepages::airsync as a;
use horde_activesync::wbxml::Element;
use std::path::Path;
use std::time::Instant;
use support::device::{commands, Phone};
use support::serve::Served;

/// Peak resident set of the `serve` process started with this config, in kB.
fn peak_rss_kb(config: &Path) -> u64 {
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd);
        if cmd.contains(config.to_str().unwrap()) && cmd.contains("serve") {
            let status = std::fs::read_to_string(entry.path().join("status")).unwrap();
            return status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap();
        }
    }
    panic!("serve process not found");
}

#[test]
fn initial_sync_of_a_large_inbox_is_bounded_by_the_window() {
    let n: usize = std::env::var("MAIL_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let _mail = support::mail::fresh_mailboxes();
    support::mail::seed(n);
    let plain = std::env::var("MAIL_BENCH_PLAIN").is_ok_and(|v| v == "1");
    let mail_config = if plain {
        support::mail::plain_config()
    } else {
        support::mail::config()
    };
    let config = format!(
        "debug_devices = [\"BENCH\"]\ndebug_dir = \"debug\"\n[provisioning]\nmode = \"none\"\n{mail_config}"
    );
    let served = Served::start(&config, &[("alice", "alicepass")]);
    let mut phone = Phone::new(&served.url, "alice", "alicepass", "BENCH", "14.1");
    let started = Instant::now();
    phone.folder_sync();
    let inbox = phone.folder(2);
    let (mut key, mut total, mut rounds) = ("0".to_string(), 0, 0);
    loop {
        let r = phone.post_sync(&support::mail::plain_text_sync(&inbox, &key, 100, 32768));
        let first = key == "0";
        key = r.text_of(a::SyncKey).unwrap().to_string();
        total += commands(&r).len();
        rounds += 1;
        if !first && r.child(a::MoreAvailable).is_none() {
            break;
        }
    }
    let took = started.elapsed();
    // One more Sync that finds nothing: the cost of a change check.
    let idle = Instant::now();
    let coll = Element::new(a::Collection)
        .with_text(a::SyncKey, key.clone())
        .with_text(a::CollectionId, inbox.clone())
        .with(Element::new(a::GetChanges));
    let r = phone.post_sync(&Element::new(a::Sync).with(Element::new(a::Collections).with(coll)));
    let idle = idle.elapsed();
    let idle_changes = commands(&r).len();
    let rss = peak_rss_kb(&served.config);
    let log = std::fs::read_to_string(served.dir.path().join("debug/alice-BENCH.log")).unwrap();
    let calls: Vec<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("--- HTTP 200, backend calls: "))
        .collect();
    eprintln!(
        "mail bench: {total} messages, {rounds} Sync requests (+ FolderSync), {took:?}, \
         peak RSS {rss} kB, backend commands per request {calls:?}; a Sync without changes {idle:?}"
    );
    assert_eq!(idle_changes, 0, "nothing changed");
    assert_eq!(total, n);
    assert_eq!(rounds, 1 + n.div_ceil(100));
    assert!(rss < 200_000, "peak RSS {rss} kB");
}
