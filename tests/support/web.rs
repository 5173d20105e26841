//! Real web servers in front of the built binary: lighttpd (CGI, and FastCGI
//! with lighttpd starting the binary) and Apache (CGI via `ScriptAlias`, and
//! FastCGI via mod_proxy_fcgi to `horde-activesync fastcgi --listen`), each on a free loopback port with a
//! generated config in a temporary folder, built from the project's own
//! snippets in `lighttpd/` and `apache/` (so the tests check what admins
//! install). They stop when dropped. A system Apache (e.g. Horde's on
//! 127.0.0.1:18080) is never touched: each instance has its own config,
//! port, pid file and runtime folder.

use horde_activesync::backend::embedded::users::Users;
use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    LighttpdCgi,
    LighttpdFastcgi,
    ApacheCgi,
    ApacheFastcgi,
}

pub struct WebServer {
    /// `http://127.0.0.1:PORT/Microsoft-Server-ActiveSync`
    pub base_url: String,
    /// The server's error log (CGI stderr ends up here).
    pub error_log: PathBuf,
    child: Child,
    /// `horde-activesync fastcgi --listen` when the web server does not start it.
    app: Option<Child>,
    /// Its address (`127.0.0.1:PORT`), for tests that talk FastCGI to it directly.
    pub app_addr: Option<String>,
    _dir: tempfile::TempDir,
}

/// Where the shipped snippets expect the binary and the config; replaced here.
const SNIPPET_BINARY: &str = "/usr/local/bin/horde-activesync";
const SNIPPET_CONFIG: &str = "/etc/horde-activesync/activesync.toml";
/// The folder of the snippet's FastCGI sockets (the test's temp folder instead).
const SNIPPET_SOCKET_DIR: &str = "/run/lighttpd/";
const SNIPPET_FASTCGI_ADDR: &str = "127.0.0.1:9000";

/// A user the web server's CGI processes run as under Apache, which refuses
/// to run them as root.
pub const APACHE_USER: &str = "www-data";

impl WebServer {
    /// Start `variant` serving the binary with the config file `config`
    /// (given to it as HORDE_ACTIVESYNC_CONFIG by the snippet).
    pub fn start(variant: Variant, config: &Path) -> WebServer {
        WebServer::start_with(variant, config, "")
    }

    /// [`WebServer::start`] with `extra` lines appended to the generated
    /// server config (e.g. lighttpd's `server.max-fds` for a load test).
    pub fn start_with(variant: Variant, config: &Path, extra: &str) -> WebServer {
        match variant {
            Variant::LighttpdCgi | Variant::LighttpdFastcgi => {
                ensure_installed("lighttpd", "/usr/sbin/lighttpd")
            }
            Variant::ApacheCgi | Variant::ApacheFastcgi => {
                ensure_installed("apache2", "/usr/sbin/apache2")
            }
        }
        let dir = tempfile::tempdir().expect("temp dir");
        make_world_readable(dir.path());
        let port = free_port();
        let root = env!("CARGO_MANIFEST_DIR");
        let snippet_file = match variant {
            Variant::LighttpdCgi => "lighttpd/horde-activesync-cgi.conf",
            Variant::LighttpdFastcgi => "lighttpd/horde-activesync.conf",
            Variant::ApacheCgi => "apache/horde-activesync.conf",
            Variant::ApacheFastcgi => "apache/horde-activesync-fcgi.conf",
        };
        let app_addr = format!("127.0.0.1:{}", free_port());
        let snippet = std::fs::read_to_string(Path::new(root).join(snippet_file))
            .expect("shipped snippet")
            .replace(SNIPPET_BINARY, env!("CARGO_BIN_EXE_horde-activesync"))
            .replace(SNIPPET_CONFIG, &config.display().to_string())
            .replace(SNIPPET_SOCKET_DIR, &format!("{}/", dir.path().display()))
            .replace(SNIPPET_FASTCGI_ADDR, &app_addr);
        let d = dir.path().display().to_string();
        std::fs::create_dir_all(dir.path().join("htdocs")).unwrap();
        std::fs::write(dir.path().join("snippet.conf"), snippet).unwrap();
        let error_log = dir.path().join("error.log");
        let (conf, mut command) = match variant {
            Variant::LighttpdCgi | Variant::LighttpdFastcgi => {
                let conf = format!(
                    "server.document-root = \"{d}/htdocs\"\n\
                     server.bind = \"127.0.0.1\"\n\
                     server.port = {port}\n\
                     server.errorlog = \"{d}/error.log\"\n\
                     server.upload-dirs = ( \"{d}\" )\n\
                     include \"{d}/snippet.conf\"\n"
                );
                let mut c = Command::new("/usr/sbin/lighttpd");
                c.arg("-D").arg("-f").arg(dir.path().join("lighttpd.conf"));
                (("lighttpd.conf", conf), c)
            }
            Variant::ApacheCgi | Variant::ApacheFastcgi => {
                let modules = [
                    "mpm_event",
                    "authz_core",
                    "alias",
                    "cgid",
                    "env",
                    "proxy",
                    "proxy_fcgi",
                ]
                .iter()
                .map(|m| format!("LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so\n"))
                .collect::<String>();
                let conf = format!(
                    "{modules}\
                     ServerName 127.0.0.1\n\
                     Listen 127.0.0.1:{port}\n\
                     PidFile {d}/httpd.pid\n\
                     DefaultRuntimeDir {d}\n\
                     ScriptSock {d}/cgisock\n\
                     Mutex file:{d} default\n\
                     ErrorLog {d}/error.log\n\
                     LogLevel warn\n\
                     User {APACHE_USER}\n\
                     Group {APACHE_USER}\n\
                     DocumentRoot {d}/htdocs\n\
                     Include {d}/snippet.conf\n"
                );
                let mut c = Command::new("/usr/sbin/apache2");
                c.arg("-f")
                    .arg(dir.path().join("httpd.conf"))
                    .arg("-DFOREGROUND");
                (("httpd.conf", conf), c)
            }
        };
        std::fs::write(dir.path().join(conf.0), format!("{}{extra}", conf.1)).unwrap();
        let child = command
            .env_remove("HORDE_ACTIVESYNC_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {variant:?}: {e}"));
        let app = (variant == Variant::ApacheFastcgi).then(|| {
            Command::new(env!("CARGO_BIN_EXE_horde-activesync"))
                .args(["fastcgi", "--listen", &app_addr])
                .env("HORDE_ACTIVESYNC_CONFIG", config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("starting horde-activesync fastcgi")
        });
        let mut server = WebServer {
            base_url: format!("http://127.0.0.1:{port}/Microsoft-Server-ActiveSync"),
            error_log,
            child,
            app_addr: app.is_some().then(|| app_addr.clone()),
            app,
            _dir: dir,
        };
        if server.app.is_some() {
            wait_for_port(&app_addr);
        }
        server.wait_until_listening(port, variant);
        server
    }

    /// The web server's process id (its FastCGI children have it as parent).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The error log so far, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.error_log).unwrap_or_default()
    }

    fn wait_until_listening(&mut self, port: u16, variant: Variant) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{variant:?} exited ({status}) before listening:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{variant:?} is not listening on {port}:\n{}", self.log());
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        if let Some(app) = self.app.as_mut() {
            let _ = app.kill();
            let _ = app.wait();
        }
        // SIGTERM lets Apache and lighttpd stop their children (CGI, FastCGI).
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait (a few seconds at most) until something listens on `addr`.
pub fn wait_for_port(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A loopback port nobody listens on right now for a server a test starts.
///
/// Not the kernel's pick (`bind` to port 0): that comes from the ephemeral
/// range, where an outgoing connection of a parallel test can take it before
/// the server binds it, and two parallel tests could be handed the same port
/// and one would talk to the other's server. So: a port below the ephemeral
/// range (32768 and up on Linux), never one this test process handed out
/// before, starting at an offset of the process id so test binaries run one
/// after the other do not reuse each other's ports.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    const FIRST: u16 = 20_000;
    const END: u16 = 32_000;
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let start = FIRST + (std::process::id() % 60) as u16 * 200;
    (start..END)
        .chain(FIRST..start)
        .find(|p| !handed_out.contains(p) && TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .inspect(|p| {
            handed_out.insert(*p);
        })
        .expect("a free loopback port below 32000")
}

/// A folder the web server's user can read, holding an `activesync.toml`
/// for the embedded store (state and database inside it, warnings only, no
/// provisioning) plus the `extra` TOML sections, and the store's `users`.
pub fn embedded_site(extra: &str, users: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    make_world_readable(dir.path());
    let d = dir.path().display();
    let config = dir.path().join("activesync.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nstate_dir = \"{d}/state\"\n[backend]\nkind = \"embedded\"\n\
             embedded_db = \"{d}/embedded.sqlite\"\n[log]\nlevel = \"warn\"\n\
             [provisioning]\nmode = \"none\"\n{extra}"
        ),
    )
    .unwrap();
    let mut store = Users::open(&dir.path().join("embedded.sqlite")).unwrap();
    for (user, password) in users {
        store.add(user, password).unwrap();
    }
    (dir, config)
}

/// Let the web server's unprivileged user read (and traverse) a temp folder.
pub fn make_world_readable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Give a folder (recursively) to the Apache CGI user, so the CGI can write state.
pub fn give_to_apache_user(dir: &Path) {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{APACHE_USER}:{APACHE_USER}"))
        .arg(dir)
        .status()
        .expect("chown");
    assert!(status.success(), "chown {}", dir.display());
}

/// Install a Debian package if `binary` is missing: as root, under a file
/// lock (parallel test binaries), without starting its system service
/// (a temporary policy-rc.d that forbids it).
pub fn ensure_installed(package: &str, binary: &str) {
    if Path::new(binary).exists() {
        return;
    }
    let lock = std::fs::File::create("/tmp/horde-activesync-apt.lock").expect("apt lock file");
    fs2::FileExt::lock_exclusive(&lock).expect("apt lock");
    if Path::new(binary).exists() {
        return;
    }
    let policy = Path::new("/usr/sbin/policy-rc.d");
    let made_policy = !policy.exists();
    if made_policy {
        std::fs::write(policy, "#!/bin/sh\nexit 101\n").unwrap();
        make_executable(policy);
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let ok = apt(&["install", "-y", "-q", "--no-install-recommends", package])
        || (apt(&["update", "-q"])
            && apt(&["install", "-y", "-q", "--no-install-recommends", package]));
    if made_policy {
        let _ = std::fs::remove_file(policy);
    }
    assert!(
        ok && Path::new(binary).exists(),
        "could not install {package}"
    );
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
