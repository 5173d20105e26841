//! Device state under concurrent processes and under SIGKILL.
//!
//! The state-level tests start copies of this test binary as worker
//! processes (`worker` below, selected with `--exact worker` and told what
//! to do through `STATE_WORKER_*` variables), because the guarantees are
//! about separate processes: fs2 locks, atomic renames, and a kill between
//! any two system calls. The CGI test runs the real binary 20 times at once.

mod state_support;

use horde_activesync::state::{random_u32, Store, SyncKey};
use horde_activesync::wbxml::codepages::folderhierarchy as fh;
use state_support::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const FOLDER: &str = "seq";

/// One mutating "request": take the lock, read the state of the current key
/// (it must exist), append a line, save it under the next key, then move
/// the device's key forward. `payload` bytes of filler make writes long
/// enough to be killed in the middle.
fn step(dir: &Path, payload: usize) -> SyncKey {
    let store = Store::new(dir.to_path_buf());
    let mut device = store.open("jane", "DEV").unwrap();
    let key = device.info.hierarchy_synckey;
    let mut lines = if key.is_initial() {
        Vec::new()
    } else {
        let bytes = device
            .load_folder_state(FOLDER, &key)
            .unwrap()
            .expect("state of the current key");
        check_state(&bytes, key.counter())
    };
    lines.push(std::process::id().to_string());
    let next = key.next();
    device
        .save_folder_state(FOLDER, &next, &encode_state(&lines, payload))
        .unwrap();
    device.info.hierarchy_synckey = next;
    device.save_info().unwrap();
    next
}

/// `n` lines, then a filler of `payload` bytes all equal to `n % 251`.
fn encode_state(lines: &[String], payload: usize) -> Vec<u8> {
    let mut out = format!("{}\n{}\n", lines.len(), lines.join(",")).into_bytes();
    out.extend(std::iter::repeat_n((lines.len() % 251) as u8, payload));
    out
}

/// Check a state written by [`encode_state`] for counter `n`; return its lines.
fn check_state(bytes: &[u8], n: u32) -> Vec<String> {
    let text_end = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .map(|(i, _)| i)
        .expect("two header lines");
    let text = std::str::from_utf8(&bytes[..text_end]).unwrap();
    let (count, lines) = text.split_once('\n').unwrap();
    let count: usize = count.parse().unwrap();
    assert_eq!(count, n as usize, "state content belongs to its key");
    let lines: Vec<String> = lines.split(',').map(String::from).collect();
    assert_eq!(lines.len(), count);
    let filler = &bytes[text_end + 1..];
    assert!(
        filler.iter().all(|&b| b == (count % 251) as u8),
        "filler intact"
    );
    lines
}

/// The worker side: one step (or steps until killed with
/// `STATE_WORKER_LOOP`) in `STATE_WORKER_DIR`. Run directly, it performs one
/// step in a fresh folder and checks it.
#[test]
fn worker() {
    let payload: usize = std::env::var("STATE_WORKER_PAYLOAD").map_or(16, |p| p.parse().unwrap());
    match std::env::var_os("STATE_WORKER_DIR") {
        Some(dir) if std::env::var_os("STATE_WORKER_LOOP").is_some() => loop {
            step(Path::new(&dir), payload);
        },
        Some(dir) => {
            step(Path::new(&dir), payload);
        }
        None => {
            let tmp = tempfile::tempdir().unwrap();
            assert_eq!(step(tmp.path(), payload).counter(), 1);
            assert_eq!(step(tmp.path(), payload).counter(), 2);
        }
    }
}

fn spawn_worker(dir: &Path, looping: bool, payload: usize) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "worker", "--test-threads=1", "-q"])
        .env("STATE_WORKER_DIR", dir)
        .env("STATE_WORKER_PAYLOAD", payload.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if looping {
        cmd.env("STATE_WORKER_LOOP", "1");
    }
    cmd.spawn().unwrap()
}

#[test]
fn twenty_processes_make_one_key_sequence() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let workers: Vec<Child> = (0..20).map(|_| spawn_worker(&dir, false, 4096)).collect();
    let mut pids = Vec::new();
    for w in workers {
        pids.push(w.id().to_string());
        let out = w.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let store = Store::new(dir);
    let device = store.open("jane", "DEV").unwrap();
    let key = device.info.hierarchy_synckey;
    assert_eq!(key.counter(), 20, "every step saw the one before it");
    let lines = check_state(
        &device.load_folder_state(FOLDER, &key).unwrap().unwrap(),
        20,
    );
    let mut seen = lines.clone();
    seen.sort();
    pids.sort();
    assert_eq!(seen, pids, "each process appended exactly once");
    // The previous key's state is kept and is a prefix; older ones are gone.
    let prev = SyncKey::INITIAL.next();
    assert_eq!(device.folder_state_counters(FOLDER).unwrap(), [19, 20]);
    assert!(
        device.load_folder_state(FOLDER, &prev).unwrap().is_none(),
        "other lineage"
    );
    let all = std::fs::read_dir(store.state_dir().join("jane/DEV"))
        .unwrap()
        .count();
    assert_eq!(all, 3, "lock + two states, no temporary files");
}

#[test]
fn sigkill_while_writing_leaves_the_previous_state_readable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let mut last = 0;
    for round in 0..10 {
        let mut child = spawn_worker(&dir, true, 512 * 1024);
        // Let it write for a random while (the kill lands between arbitrary
        // system calls); the checks below hold whenever it lands.
        std::thread::sleep(Duration::from_millis(30 + u64::from(random_u32() % 220)));
        child.kill().unwrap();
        child.wait().unwrap();
        let store = Store::new(dir.clone());
        let device = store
            .open("jane", "DEV")
            .expect("info file parseable after a kill");
        let key = device.info.hierarchy_synckey;
        assert!(
            key.counter() >= last,
            "round {round}: the key never goes back"
        );
        last = key.counter();
        if !key.is_initial() {
            let bytes = device
                .load_folder_state(FOLDER, &key)
                .unwrap()
                .expect("current state readable");
            check_state(&bytes, key.counter());
        }
        // A new state for the next key may exist already (killed before the
        // info was saved): it is whole, and the current key still works.
        for n in device.folder_state_counters(FOLDER).unwrap() {
            assert!(
                n + 1 >= key.counter() && n <= key.counter() + 1,
                "GC keeps only neighbours"
            );
        }
        let leftovers = std::fs::read_dir(store.state_dir().join("jane/DEV"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".tmp-")
            })
            .count();
        assert_eq!(
            leftovers, 0,
            "opening under the lock removed half-written files"
        );
    }
    assert!(last > 0, "the workers made progress");
    // And the sequence continues normally.
    assert_eq!(step(&dir, 16).counter(), last + 1);
}

#[test]
fn twenty_cgi_requests_at_once_on_one_device() {
    let cgi = Cgi::new("force");
    let initial = provision_initial("14.1");
    let children: Vec<Child> = (0..20)
        .map(|_| cgi.spawn(&Req::new("Provision", "BUSY", "14.1").xml(&initial)))
        .collect();
    let mut temps = Vec::new();
    for child in children {
        let reply = parse_cgi_output(&child.wait_with_output().unwrap());
        temps.push(policy_key(&reply.tree()).expect("every request got a temporary key"));
    }
    let info = cgi.info("BUSY");
    let pending = info["pending_policykey"].as_u64().unwrap() as u32;
    assert!(
        temps.contains(&pending),
        "the stored key is one that was handed out"
    );
    // The last one handed out is the one to acknowledge; the final key opens the gate.
    let ack = provision_ack("14.1", pending);
    let reply = cgi.send(&Req::new("Provision", "BUSY", "14.1").xml(&ack));
    let key = policy_key(&reply.tree()).unwrap();
    let sync = "<FolderSync xmlns=\"FolderHierarchy\"><SyncKey>0</SyncKey></FolderSync>";
    let children: Vec<Child> = (0..20)
        .map(|_| cgi.spawn(&Req::new("FolderSync", "BUSY", "14.1").key(key).xml(sync)))
        .collect();
    let mut handed_out = Vec::new();
    for child in children {
        let tree = parse_cgi_output(&child.wait_with_output().unwrap()).tree();
        assert_eq!(
            tree.u32_of(fh::Status),
            Some(1),
            "no request failed on the state"
        );
        handed_out.push(tree.text_of(fh::SyncKey).unwrap().to_string());
    }
    let info = cgi.info("BUSY");
    assert_eq!(info["policykey"].as_u64(), Some(u64::from(key)));
    assert_eq!(info["rwstatus"].as_u64(), Some(1));
    // Each SyncKey 0 starts a new lineage; the state kept is whole and is
    // that of one of the keys handed out, and that key continues normally.
    let dir = cgi.state_dir().join(USER).join("BUSY");
    let stored = std::fs::read_to_string(dir.join("hierarchy.1")).unwrap();
    let stored_key = stored.lines().next().unwrap().to_string();
    assert!(
        handed_out.contains(&stored_key),
        "{stored_key} was handed out"
    );
    let next = format!(
        "<FolderSync xmlns=\"FolderHierarchy\"><SyncKey>{stored_key}</SyncKey></FolderSync>"
    );
    let tree = cgi
        .send(&Req::new("FolderSync", "BUSY", "14.1").key(key).xml(&next))
        .tree();
    assert_eq!(tree.u32_of(fh::Status), Some(1));
    let following: SyncKey = tree.text_of(fh::SyncKey).unwrap().parse().unwrap();
    let stored: SyncKey = stored_key.parse().unwrap();
    assert!(
        following.same_lineage(&stored) && following.counter() >= stored.counter(),
        "{following} continues {stored}"
    );
}
