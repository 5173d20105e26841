//! A real Horde for the integration tests: `ensure_horde()` runs the
//! project's `scripts/horde-setup.sh` once per test process (and, through a
//! file lock, once at a time across test binaries), unless rpc.php already
//! answers an authenticated call for every test user and Horde was set up by
//! this very version of the script (the script records its SHA-256). Plus
//! direct JSON-RPC helpers to make "a change made in Horde" without going
//! through our backend.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Where the test Horde answers and who may log in.
#[derive(Debug, Clone)]
pub struct HordeInfo {
    /// JSON-RPC endpoint (`.../rpc.php`).
    pub rpc_url: String,
    /// Horde's own PHP ActiveSync server (the benchmark reference).
    pub eas_url: String,
    /// `(user, password)` pairs created by the setup.
    pub users: Vec<(String, String)>,
}

impl HordeInfo {
    /// The first user (alice).
    pub fn user(&self) -> (&str, &str) {
        let (u, p) = &self.users[0];
        (u, p)
    }

    /// A direct JSON-RPC client for `user` (test side, not our backend).
    pub fn rpc(&self, user: &str) -> DirectRpc {
        let password = self
            .users
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| panic!("no test user {user}"));
        DirectRpc {
            url: self.rpc_url.clone(),
            user: user.to_string(),
            password,
        }
    }
}

const SETUP_LOCK: &str = "/tmp/horde-activesync-horde-setup.lock";

/// Set up (if needed) and return the test Horde. Panics with the setup
/// script's output when Horde cannot be brought up.
pub fn ensure_horde() -> &'static HordeInfo {
    static INFO: OnceLock<HordeInfo> = OnceLock::new();
    INFO.get_or_init(|| {
        let port = std::env::var("HORDE_PORT").unwrap_or_else(|_| "18080".into());
        let info = HordeInfo {
            rpc_url: format!("http://127.0.0.1:{port}/rpc.php"),
            eas_url: format!("http://127.0.0.1:{port}/Microsoft-Server-ActiveSync"),
            users: vec![
                ("alice".into(), "alicepass".into()),
                ("bob".into(), "bobpass".into()),
            ],
        };
        let lock = std::fs::File::create(SETUP_LOCK).expect("create the Horde setup lock file");
        fs2::FileExt::lock_exclusive(&lock).expect("lock the Horde setup");
        if !set_up_by_this_script() || !answers(&info) {
            run_setup(&port);
            assert!(
                answers(&info),
                "Horde set up but rpc.php does not answer {}",
                info.rpc_url
            );
        }
        fs2::FileExt::unlock(&lock).expect("unlock the Horde setup");
        info
    })
}

/// Does rpc.php answer an authenticated call for every test user, with every
/// app the tests use (Mnemo is the last one the setup adds)?
fn answers(info: &HordeInfo) -> bool {
    info.users.iter().all(|(u, _)| {
        info.rpc(u)
            .try_call("notes.getDefaultShare", json!([]))
            .is_ok()
    })
}

fn setup_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/horde-setup.sh")
}

/// Was Horde set up by the current `scripts/horde-setup.sh`? (It records its
/// SHA-256 in /var/lib/horde/horde-setup.sha256.)
fn set_up_by_this_script() -> bool {
    let recorded = std::fs::read_to_string("/var/lib/horde/horde-setup.sha256").unwrap_or_default();
    let script = std::fs::File::open(setup_script()).expect("open scripts/horde-setup.sh");
    let current = Command::new("sha256sum")
        .stdin(script)
        .output()
        .expect("run sha256sum");
    let current = String::from_utf8_lossy(&current.stdout);
    let current = current
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    !current.is_empty() && recorded.trim() == current
}

fn run_setup(port: &str) {
    let script = setup_script();
    let out = Command::new("bash")
        .arg(&script)
        .env("HORDE_PORT", port)
        .output()
        .expect("run scripts/horde-setup.sh");
    assert!(
        out.status.success(),
        "horde-setup.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A plain JSON-RPC client for test fixtures ("a change made in Horde").
pub struct DirectRpc {
    url: String,
    user: String,
    password: String,
}

impl DirectRpc {
    pub fn new(url: &str, user: &str, password: &str) -> DirectRpc {
        DirectRpc {
            url: url.to_string(),
            user: user.to_string(),
            password: password.to_string(),
        }
    }

    /// Call and return the result, or the error text.
    pub fn try_call(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"version": "1.1", "method": method, "params": params, "id": 1});
        let auth = {
            use base64::Engine;
            let raw = format!("{}:{}", self.user, self.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        };
        let reply = ureq::post(&self.url)
            .timeout(Duration::from_secs(30))
            .set("Content-Type", "application/json")
            .set("Authorization", &auth)
            .send_string(&body.to_string());
        let text = match reply {
            Ok(r) => r.into_string().map_err(|e| e.to_string())?,
            Err(ureq::Error::Status(code, r)) => {
                return Err(format!(
                    "HTTP {code}: {}",
                    r.into_string().unwrap_or_default()
                ))
            }
            Err(e) => return Err(e.to_string()),
        };
        let mut v: Value = serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?;
        match v.get("error") {
            Some(e) if !e.is_null() => Err(e.to_string()),
            _ => Ok(v["result"].take()),
        }
    }

    /// Call; panic on any error.
    pub fn call(&self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{method} as {}: {e}", self.user))
    }

    /// The user's default collection of `interface` (`contacts`, `calendar`, `tasks`, `notes`).
    pub fn default_share(&self, interface: &str) -> String {
        let v = self.call(&format!("{interface}.getDefaultShare"), json!([]));
        v.as_str().expect("share id").to_string()
    }

    /// Add a contact to `book`; returns its uid.
    pub fn add_contact(&self, book: &str, first: &str, last: &str) -> String {
        let v = self.call(
            "contacts.import",
            json!([{"firstname": first, "lastname": last}, "array", book]),
        );
        v.as_str().expect("uid").to_string()
    }

    pub fn change_contact(&self, book: &str, uid: &str, first: &str, last: &str) {
        self.call(
            "contacts.replace",
            json!([uid, {"firstname": first, "lastname": last}, "array", book]),
        );
    }

    pub fn delete_contact(&self, book: &str, uid: &str) {
        self.call("contacts.delete", json!([uid, book]));
    }

    /// Add a one-hour event on 2026-12-01 to `calendar`; returns its uid.
    pub fn add_event(&self, calendar: &str, uid: &str, summary: &str) -> String {
        let ical = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
             DTSTAMP:20260101T000000Z\r\nDTSTART:20261201T100000Z\r\nDTEND:20261201T110000Z\r\n\
             SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        let v = self.call("calendar.import", json!([ical, "text/calendar", calendar]));
        v.as_str().expect("uid").to_string()
    }

    /// Add a task to `tasklist`; returns its uid.
    pub fn add_task(&self, tasklist: &str, uid: &str, summary: &str) -> String {
        let ical = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\nUID:{uid}\r\n\
             SUMMARY:{summary}\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
        );
        let v = self.call("tasks.import", json!([ical, "text/calendar", tasklist]));
        v.as_str().expect("uid").to_string()
    }
}

/// A unique suffix for names and uids made by one test.
pub fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{tag}-{nanos}-{}", std::process::id())
}

/// A folder with a config for our binary on the test Horde (provisioning
/// off), readable by a web server's user; the config is `activesync.toml`.
pub fn horde_config(extra: &str) -> tempfile::TempDir {
    write_horde_config("", extra)
}

/// [`horde_config`] with the Horde extension installed and turned on
/// (`backend.horde_extension = true`).
pub fn horde_extension_config(extra: &str) -> tempfile::TempDir {
    ensure_horde_extension();
    write_horde_config("horde_extension = true\n", extra)
}

fn write_horde_config(backend_extra: &str, extra: &str) -> tempfile::TempDir {
    let horde = ensure_horde();
    let dir = tempfile::tempdir().expect("temp dir");
    super::web::make_world_readable(dir.path());
    std::fs::write(
        dir.path().join("activesync.toml"),
        format!(
            "[server]\nstate_dir = \"state\"\n[backend]\nkind = \"horde\"\nhorde_rpc_url = \"{}\"\n\
             {backend_extra}[provisioning]\nmode = \"none\"\n{extra}",
            horde.rpc_url
        ),
    )
    .expect("write config");
    dir
}

/// The project's Horde extension (`horde/` in the repository) as
/// scripts/horde-setup.sh installs it: repository file -> installed file.
fn extension_files() -> Vec<(PathBuf, PathBuf)> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("horde");
    let root = Path::new("/usr/local/share/horde-activesync/activesync/lib");
    let mut files: Vec<(PathBuf, PathBuf)> = ["Api.php", "Application.php"]
        .iter()
        .map(|f| (repo.join("activesync/lib").join(f), root.join(f)))
        .collect();
    files.push((
        repo.join("registry.d/activesync.php"),
        PathBuf::from("/etc/horde/horde/registry.d/activesync.php"),
    ));
    files
}

/// The test Horde with this checkout's Horde extension installed: reruns
/// the setup (under the setup lock) when an installed file differs from the
/// repository's, e.g. after the extension changed but the script did not.
pub fn ensure_horde_extension() -> &'static HordeInfo {
    static DONE: OnceLock<()> = OnceLock::new();
    let info = ensure_horde();
    DONE.get_or_init(|| {
        let current = || {
            extension_files()
                .iter()
                .all(|(repo, installed)| std::fs::read(repo).ok() == std::fs::read(installed).ok())
        };
        let lock = std::fs::File::create(SETUP_LOCK).expect("create the Horde setup lock file");
        fs2::FileExt::lock_exclusive(&lock).expect("lock the Horde setup");
        if !current() {
            let port = std::env::var("HORDE_PORT").unwrap_or_else(|_| "18080".into());
            run_setup(&port);
            assert!(
                current(),
                "horde-setup.sh did not install the Horde extension"
            );
        }
        fs2::FileExt::unlock(&lock).expect("unlock the Horde setup");
    });
    info
}

/// Forget Kronolith's published free/busy of `user`: `kronolith/fb.php`
/// caches it for six minutes in Horde's file cache (key
/// `kronolith.fb.u.<user>`, file `cache_<md5 of the key>`), so a test that
/// just changed the user's calendar removes the entry to see the change.
pub fn drop_free_busy_cache(user: &str) {
    let key = format!("kronolith.fb.u.{user}");
    let out = Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(key.as_bytes())?;
            child.wait_with_output()
        })
        .expect("run md5sum");
    let md5 = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let _ = std::fs::remove_file(format!("/var/lib/horde/cache/cache_{md5}"));
}
