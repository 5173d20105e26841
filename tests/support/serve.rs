//! A real `horde-activesync serve` on a free loopback port with its own
//! config and state in a temporary folder; killed on drop.

use super::web::{free_port, wait_for_port};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_horde-activesync");

pub struct Served {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub url: String,
    child: Child,
}

impl Served {
    /// Start `serve` with the embedded store, `extra` TOML appended to the
    /// config, and these users (name, password).
    pub fn start(extra: &str, users: &[(&str, &str)]) -> Served {
        Served::start_with_args(extra, users, &[])
    }

    /// [`Served::start`] with more `serve` arguments (`--tls-cert ...`).
    pub fn start_with_args(extra: &str, users: &[(&str, &str)], args: &[&str]) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("activesync.toml");
        let mut f = std::fs::File::create(&config).unwrap();
        writeln!(
            f,
            "[server]\nstate_dir = \"state\"\n[backend]\nkind = \"embedded\"\n\
             embedded_db = \"embedded.sqlite\"\n[log]\nlevel = \"warn\"\n{extra}"
        )
        .unwrap();
        for (user, pw) in users {
            let st = Command::new(BIN)
                .args([
                    "--config",
                    config.to_str().unwrap(),
                    "users",
                    "add",
                    user,
                    "--password",
                    pw,
                ])
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success(), "users add {user}");
        }
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new(BIN)
            .args([
                "--config",
                config.to_str().unwrap(),
                "serve",
                "--listen",
                &addr,
            ])
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        wait_for_port(&addr);
        Served {
            dir,
            config,
            url: format!("http://{addr}/Microsoft-Server-ActiveSync"),
            child,
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU seconds the server process used so far.
    /// The server process's peak resident memory so far (VmHWM, KiB).
    pub fn peak_rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the ")" of the command name: utime is the 12th, stime the 13th.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<i64> = rest
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let ticks = f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0);
        // (state skipped; ppid is f[0], utime f[10], stime f[11])
        ticks as f64 / 100.0
    }
}
