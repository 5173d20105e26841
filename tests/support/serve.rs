//! A real `horde-activesync serve` on a free loopback port with its own
//! config and state in a temporary folder; killed on drop.

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_horde-activesync");

pub struct Served {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub url: String,
    child: Child,
}

impl Served {
    /// Start `serve` with the embedded store, `extra` appended to the config,
    /// and these users (name, password).
    pub fn start(extra: &str, users: &[(&str, &str)]) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("activesync.toml");
        let mut f = std::fs::File::create(&config).unwrap();
        writeln!(
            f,
            "[server]\nstate_dir = \"state\"\n[backend]\nkind = \"embedded\"\nembedded_db = \"embedded.sqlite\"\n\
             [log]\nlevel = \"warn\"\n{extra}"
        )
        .unwrap();
        for (user, pw) in users {
            let st = Command::new(BIN)
                .args(["--config", config.to_str().unwrap(), "users", "add", user, "--password", pw])
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(st.success(), "users add {user}");
        }
        let port = free_port();
        let child = Command::new(BIN)
            .args(["--config", config.to_str().unwrap(), "serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "serve did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Served { dir, config, url: format!("http://127.0.0.1:{port}/Microsoft-Server-ActiveSync"), child }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
