//! The contacts workload of issue 5, side by side: horde-activesync (CGI
//! and FastCGI under real lighttpd, Horde backend; FastCGI once more with
//! the optional Horde extension on) against Horde's own PHP ActiveSync
//! (Apache + mod_php) on the same Horde, in the same run; then the same
//! workload on the embedded store through `serve`, with our CPU per request.
//!
//! `cargo bench --bench eas_sync [-- ROUNDS]` (default 5 rounds). Needs root
//! (it sets Horde up like the tests do) and prints a table.

#[path = "../tests/support/mod.rs"]
mod support;

use horde_activesync::wbxml::codepages::{airsync as a, contacts as c, folderhierarchy as fh};
use horde_activesync::wbxml::Element;
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};
use support::device::{commands, Phone};
use support::serve::Served;
use support::web::{Variant, WebServer};

const USER: &str = "bench";
const PASSWORD: &str = "benchpass";
const CONTACTS: usize = 200;
const STEPS: [&str; 5] = [
    "FolderSync 0",
    "initial Sync (2x100)",
    "no-change Sync",
    "FolderSync again",
    "GetItemEstimate",
];

/// One round of the workload with a fresh device; returns the wall time of each step.
fn round(url: &str, device: &str) -> [Duration; 5] {
    let mut phone = Phone::new(url, USER, PASSWORD, device, "14.1");
    let mut t = [Duration::ZERO; 5];
    let s = Instant::now();
    phone.folder_sync();
    t[0] = s.elapsed();
    let book = phone.folder(9);
    phone.sync(&book, Some(100), vec![]);
    let s = Instant::now();
    let mut got = 0;
    loop {
        let r = phone.sync(&book, Some(100), vec![]);
        got += commands(&r).len();
        if !r.has(a::MoreAvailable) {
            break;
        }
    }
    t[1] = s.elapsed();
    assert!(got >= CONTACTS, "{url}: only {got} contacts");
    let s = Instant::now();
    let r = phone.sync(&book, Some(100), vec![]);
    t[2] = s.elapsed();
    assert!(commands(&r).is_empty());
    let s = Instant::now();
    let r = phone.folder_sync();
    t[3] = s.elapsed();
    assert_eq!(
        r.path(&[fh::Changes])
            .and_then(|c| c.u32_of(fh::Count))
            .unwrap_or(0),
        0
    );
    let s = Instant::now();
    phone.estimate(&book);
    t[4] = s.elapsed();
    t
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

fn medians(url: &str, tag: &str, rounds: usize) -> Vec<f64> {
    let runs: Vec<[Duration; 5]> = (0..rounds)
        .map(|r| round(url, &format!("{tag}{r}x{}", std::process::id())))
        .collect();
    (0..5)
        .map(|i| median(runs.iter().map(|r| r[i]).collect()))
        .collect()
}

/// Backend calls per request, from the (one) per-device debug log.
fn calls_per_request(debug_dir: &std::path::Path) -> Vec<u32> {
    let Some(log) = std::fs::read_dir(debug_dir)
        .into_iter()
        .flatten()
        .flatten()
        .next()
    else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(log.path()).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split("backend calls: ").nth(1))
        .map(|n| n.trim().parse().unwrap_or(0))
        .collect()
}

/// Make the bench user with exactly CONTACTS contacts in its default book.
fn seed_horde() -> String {
    let horde = support::horde::ensure_horde();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/horde-setup.sh");
    let st = Command::new("bash")
        .arg(script)
        .env(
            "HORDE_USERS",
            format!("alice:alicepass bob:bobpass {USER}:{PASSWORD}"),
        )
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "horde-setup.sh with the bench user");
    let rpc = support::horde::DirectRpc::new(&horde.rpc_url, USER, PASSWORD);
    let book = rpc.default_share("contacts");
    let uids = rpc.call("contacts.listUids", json!([book]));
    let have = uids.as_array().map(Vec::len).unwrap_or(0);
    if have != CONTACTS {
        for uid in uids.as_array().into_iter().flatten() {
            rpc.call("contacts.delete", json!([uid, book]));
        }
        let cards: String = (0..CONTACTS)
            .map(|i| format!("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bench {i:03}\r\nN:{i:03};Bench;;;\r\nEMAIL;TYPE=INTERNET:b{i}@example.test\r\nTEL;TYPE=CELL:+1555{i:04}\r\nEND:VCARD\r\n"))
            .collect();
        rpc.call("contacts.import", json!([cards, "text/vcard", book]));
    }
    horde.eas_url.clone()
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let php_url = seed_horde();

    let dir = support::horde::horde_config(
        "[log]\nlevel = \"warn\"\ndebug_dir = \"debug\"\ndebug_devices = [\"CALLS1\"]\n",
    );
    let config = dir.path().join("activesync.toml");
    let ext_dir = support::horde::horde_extension_config(
        "[log]\nlevel = \"warn\"\ndebug_dir = \"debug\"\ndebug_devices = [\"CALLS2\"]\n",
    );
    let cgi = WebServer::start(Variant::LighttpdCgi, &config);
    let fcgi = WebServer::start(Variant::LighttpdFastcgi, &config);
    let fcgi_ext = WebServer::start(
        Variant::LighttpdFastcgi,
        &ext_dir.path().join("activesync.toml"),
    );
    // Warm everything up once (PHP opcache, Horde session, page cache).
    round(&cgi.base_url, "WARMCGI");
    round(&fcgi.base_url, "WARMFCGI");
    round(&fcgi_ext.base_url, "WARMEXT");
    round(&php_url, "WARMPHP");
    let ours_cgi = medians(&cgi.base_url, "CGI", rounds);
    let ours_fcgi = medians(&fcgi.base_url, "FCGI", rounds);
    let ours_ext = medians(&fcgi_ext.base_url, "EXT", rounds);
    let php = medians(&php_url, "PHP", rounds);
    round(&cgi.base_url, "CALLS1");
    let calls = calls_per_request(&dir.path().join("debug"));
    round(&fcgi_ext.base_url, "CALLS2");
    let ext_calls = calls_per_request(&ext_dir.path().join("debug"));

    println!("\ncontacts workload, {CONTACTS} contacts, median of {rounds} rounds (ms)");
    println!(
        "{:<22} {:>10} {:>10} {:>14} {:>10} {:>9} {:>9} {:>9}",
        "step",
        "ours CGI",
        "ours FCGI",
        "ours FCGI+ext",
        "Horde PHP",
        "CGI/PHP",
        "FCGI/PHP",
        "ext/PHP"
    );
    for i in 0..5 {
        println!(
            "{:<22} {:>10.1} {:>10.1} {:>14.1} {:>10.1} {:>9.2} {:>9.2} {:>9.2}",
            STEPS[i],
            ours_cgi[i],
            ours_fcgi[i],
            ours_ext[i],
            php[i],
            ours_cgi[i] / php[i],
            ours_fcgi[i] / php[i],
            ours_ext[i] / php[i]
        );
    }
    println!("JSON-RPC calls per request (FolderSync, Sync 0, Sync, Sync, Sync, FolderSync, GetItemEstimate):");
    println!("  CGI: {calls:?}; FastCGI with the Horde extension: {ext_calls:?}");

    // The embedded store: our CPU per request, from /proc of the serve process.
    let served = Served::start("[provisioning]\nmode = \"none\"\n", &[(USER, PASSWORD)]);
    let mut seeder = Phone::new(&served.url, USER, PASSWORD, "SEED", "14.1");
    seeder.folder_sync();
    let book = seeder.folder(9);
    seeder.start(&book, None);
    for batch in 0..CONTACTS / 50 {
        let adds = (0..50)
            .map(|i| {
                let n = batch * 50 + i;
                Element::new(a::Add)
                    .with_text(a::ClientId, n.to_string())
                    .with(
                        Element::new(a::ApplicationData)
                            .with_text(c::FirstName, format!("Bench{n:03}"))
                            .with_text(c::Email1Address, format!("b{n}@example.test")),
                    )
            })
            .collect();
        seeder.sync(&book, None, adds);
    }
    let cpu_before = served.cpu_seconds();
    let emb = medians(&served.url, "EMB", rounds);
    let requests = rounds * 8;
    let cpu_ms = (served.cpu_seconds() - cpu_before) * 1000.0 / requests as f64;
    println!(
        "\nembedded store through serve (ms): {}",
        STEPS
            .iter()
            .zip(&emb)
            .map(|(s, v)| format!("{s} {v:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("our CPU per request (embedded, user+sys of the serve process / {requests} requests): {cpu_ms:.2} ms");
}
