//! `horde-activesync users ...` run as the built binary against a temporary
//! config whose `[backend] embedded_db` is relative to the config file.

use horde_activesync::backend::embedded::users::Users;
use std::path::{Path, PathBuf};
use std::process::Output;

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("activesync.toml");
        std::fs::write(&config, "[backend]\nembedded_db = \"data/users.sqlite\"\n").unwrap();
        Setup { dir, config }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("data/users.sqlite")
    }

    /// Run `horde-activesync --config FILE users ARGS...` from another folder.
    fn users(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_horde-activesync"))
            .arg("--config")
            .arg(&self.config)
            .arg("users")
            .args(args)
            .current_dir(std::env::temp_dir())
            .env_remove("HORDE_ACTIVESYNC_CONFIG")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.users(args);
        assert!(
            out.status.success(),
            "users {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.users(args);
        assert!(!out.status.success(), "users {args:?} succeeded");
        String::from_utf8(out.stderr).unwrap()
    }
}

fn verifies(db: &Path, name: &str, password: &str) -> bool {
    Users::open(db).unwrap().verify(name, password).is_ok()
}

/// The password printed on the `password: ...` line.
fn printed_password(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap_or_else(|| panic!("no password in {stdout:?}"))
        .to_string()
}

#[test]
fn add_list_passwd_remove() {
    let s = Setup::new();
    assert!(s
        .ok(&["add", "alice", "--password", "s3cret"])
        .contains("added user alice"));
    assert!(s.db().exists(), "store created next to the config");
    assert!(verifies(&s.db(), "alice", "s3cret"));
    assert!(s
        .fails(&["add", "alice", "--password", "other"])
        .contains("already exists"));
    assert!(
        verifies(&s.db(), "alice", "s3cret"),
        "failed add changed nothing"
    );

    let generated = printed_password(&s.ok(&["add", "bob"]));
    assert!(verifies(&s.db(), "bob", &generated));

    let list = s.ok(&["list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("CREATED") && lines[0].ends_with("ITEMS")
    );
    assert!(
        lines[1].starts_with("alice ") && lines[1].contains(" UTC ") && lines[1].ends_with(" 0"),
        "{list}"
    );
    assert!(lines[2].starts_with("bob "), "{list}");

    s.ok(&["passwd", "alice", "--password=n3w"]);
    assert!(!verifies(&s.db(), "alice", "s3cret"));
    assert!(verifies(&s.db(), "alice", "n3w"));
    let regenerated = printed_password(&s.ok(&["passwd", "alice"]));
    assert!(verifies(&s.db(), "alice", &regenerated));
    assert!(s
        .fails(&["passwd", "carol", "--password", "x"])
        .contains("no user"));

    assert!(s.ok(&["remove", "bob"]).contains("removed user bob"));
    assert!(!verifies(&s.db(), "bob", &generated));
    assert!(!s.ok(&["list"]).contains("bob"));
    assert!(s.fails(&["remove", "bob"]).contains("no user"));
}

#[test]
fn bad_usage_is_refused_and_adds_nobody() {
    let s = Setup::new();
    for args in [
        &["add"][..],
        &["frobnicate"],
        &["add", "a", "b"],
        &["add", "../x", "--password", "p"],
    ] {
        s.fails(args);
    }
    assert!(s
        .fails(&["add", "x", "--password"])
        .contains("needs a value"));
    assert_eq!(
        s.ok(&["list"]).lines().count(),
        2,
        "header and store path only"
    );
}
