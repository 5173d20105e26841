//! The binary behind every front end a Horde admin can use — `serve`, CGI and
//! FastCGI under real lighttpd and real Apache — answering OPTIONS and
//! authenticated requests, refusing wrong passwords (401) and oversized
//! bodies (413). The embedded store holds the test user.

mod support;

use horde_activesync::backend::embedded::users::Users;
use horde_activesync::config::Config;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::client::Client;
use support::web::{self, Variant, WebServer};

const USER: &str = "alice";
const PASSWORD: &str = "correct horse";
/// Small, so an oversized body is cheap to send.
const MAX_BODY: usize = 4096;

/// A config folder with an embedded store holding [`USER`].
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        web::make_world_readable(dir.path());
        std::fs::write(
            dir.path().join("activesync.toml"),
            format!(
                "[server]\nstate_dir = \"state\"\nmax_body_bytes = {MAX_BODY}\n\
                 [backend]\nkind = \"embedded\"\nembedded_db = \"state/embedded.sqlite\"\n\
                 [log]\nlevel = \"info\"\ndebug_dir = \"state/debug\"\n"
            ),
        )
        .unwrap();
        Users::open(&dir.path().join("state/embedded.sqlite"))
            .unwrap()
            .add(USER, PASSWORD)
            .unwrap();
        Setup { dir }
    }

    /// Ask for the debug log of `device`.
    fn with_debug_device(self, device: &str) -> Setup {
        let path = self.config();
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replace(
            "[log]\n",
            &format!("[log]\ndebug_devices = [\"{device}\"]\n"),
        );
        std::fs::write(&path, text).unwrap();
        self
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("activesync.toml")
    }
}

fn client(base_url: &str, password: &str) -> Client {
    Client::new(base_url, USER, password, "FRONTEND1", "TestDevice", "14.1")
}

/// What every front end must do the same way.
fn check_front_end(base_url: &str, log: &dyn Fn() -> String) {
    let good = client(base_url, PASSWORD);
    let r = good.options();
    assert_eq!(r.status, 200, "OPTIONS: {r:?}\n{}", log());
    assert_eq!(
        r.header("MS-ASProtocolVersions"),
        Some("2.5,12.0,12.1,14.0,14.1,16.0,16.1")
    );
    assert_eq!(r.header("Allow"), Some("OPTIONS,POST"));
    // Web servers drop a header with an empty value, as it is while no
    // command is registered.
    let commands = horde_activesync::command::IMPLEMENTED.join(",");
    assert_eq!(
        r.header("MS-ASProtocolCommands").unwrap_or_default(),
        commands
    );

    let r = client(base_url, "wrong").options();
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        r.header("WWW-Authenticate"),
        Some("Basic realm=\"Horde ActiveSync\"")
    );
    assert_eq!(
        client(base_url, "wrong").post("FolderSync", None).status,
        401
    );

    // Authenticated (else 401) and parsed (else 400): an unknown command is 501.
    let r = good.post("NoSuchCommand", None);
    assert_eq!(r.status, 501, "{r:?}\n{}", log());
    // A domain typed in front of the user name is dropped.
    let mut with_domain = client(base_url, PASSWORD);
    with_domain.user = format!("EXAMPLE\\{USER}");
    assert_eq!(with_domain.post("NoSuchCommand", None).status, 501);

    // The base64 query form reaches the parser and the auth check too.
    let mut b64 = client(base_url, "wrong");
    b64.base64_query = true;
    b64.policy_key = Some(1);
    let r = b64.post("FolderSync", None);
    assert_eq!(r.status, 401, "{r:?}\n{}", log());
    b64.password = PASSWORD.into();
    let r = b64.post("FolderSync", None);
    assert!(![400, 401, 500].contains(&r.status), "{r:?}\n{}", log());

    // Autodiscover reaches the server through the snippet's alias too.
    let autodiscover = format!(
        "<Autodiscover xmlns=\"{}\"><Request><EMailAddress>{USER}@example.test</EMailAddress>\
         <AcceptableResponseSchema>{}</AcceptableResponseSchema></Request></Autodiscover>",
        horde_activesync::eas::autodiscover::REQUEST_SCHEMA,
        horde_activesync::eas::autodiscover::RESPONSE_SCHEMA
    );
    for path in [
        "/autodiscover/autodiscover.xml",
        "/Autodiscover/Autodiscover.xml",
    ] {
        let r = good.post_path(path, "text/xml", autodiscover.as_bytes());
        let text = String::from_utf8_lossy(&r.raw).into_owned();
        assert_eq!(r.status, 200, "{path}: {r:?}\n{}", log());
        assert!(text.contains("<Type>MobileSync</Type>"), "{path}: {text}");
    }

    let r = good.post_raw("FolderSync", &[], &vec![0u8; MAX_BODY + 1]);
    assert_eq!(r.status, 413, "{r:?}\n{}", log());
    let r = good.post_raw("FolderSync", &[], &[0x03, 0x01]);
    assert_ne!(r.status, 413);
}

#[test]
fn lighttpd_cgi() {
    let setup = Setup::new();
    let web = WebServer::start(Variant::LighttpdCgi, &setup.config());
    check_front_end(&web.base_url, &|| web.log());
}

#[test]
fn lighttpd_fastcgi() {
    let setup = Setup::new();
    let web = WebServer::start(Variant::LighttpdFastcgi, &setup.config());
    check_front_end(&web.base_url, &|| web.log());
}

#[test]
fn apache_cgi() {
    let setup = Setup::new();
    web::give_to_apache_user(&setup.dir.path().join("state"));
    let web = WebServer::start(Variant::ApacheCgi, &setup.config());
    check_front_end(&web.base_url, &|| web.log());
}

#[test]
fn apache_fastcgi() {
    let setup = Setup::new();
    let web = WebServer::start(Variant::ApacheFastcgi, &setup.config());
    // A connection that began a request and went quiet (as a held Ping
    // keeps its thread busy) must not hold up anyone else.
    let mut stalled = TcpStream::connect(web.app_addr.as_deref().unwrap()).unwrap();
    let begin_request = [1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0];
    stalled.write_all(&begin_request).unwrap();
    check_front_end(&web.base_url, &|| web.log());
    drop(stalled);
}

/// `horde-activesync serve` as a child process; SIGTERM on drop.
struct Serve {
    child: Child,
    base_url: String,
}

impl Serve {
    fn start(config: &Path) -> Serve {
        let port = web::free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_horde-activesync"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("HORDE_ACTIVESYNC_CONFIG", config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        web::wait_for_port(&format!("127.0.0.1:{port}"));
        Serve {
            child,
            base_url: format!("http://127.0.0.1:{port}/Microsoft-Server-ActiveSync"),
        }
    }

    fn terminate(&mut self) {
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn standalone_serve_and_sigterm() {
    let setup = Setup::new();
    let mut serve = Serve::start(&setup.config());
    // Half a request on another connection blocks only its own thread.
    let addr = serve
        .base_url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let mut stalled = TcpStream::connect(&addr).unwrap();
    stalled
        .write_all(b"POST /Microsoft-Server-ActiveSync HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    check_front_end(&serve.base_url, &String::new);
    drop(stalled);
    let other = serve
        .base_url
        .replace("/Microsoft-Server-ActiveSync", "/index.html");
    assert_eq!(client(&other, PASSWORD).options().status, 404);

    serve.terminate();
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = serve.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

/// A device in `[log] debug_devices` gets its requests and responses as XML
/// in `<debug_dir>/<user>-<deviceid>.log`; other devices do not.
#[test]
fn debug_log_of_one_device() {
    use horde_activesync::wbxml::codepages::provision as p;
    use horde_activesync::wbxml::Element;
    let setup = Setup::new().with_debug_device("DEBUGME");
    let serve = Serve::start(&setup.config());
    let request = Element::new(p::Provision).with(
        Element::new(p::Policies)
            .with(Element::new(p::Policy).with_text(p::PolicyType, "MS-EAS-Provisioning-WBXML")),
    );
    let mut debugged = client(&serve.base_url, PASSWORD);
    debugged.device_id = "DEBUGME".into();
    let r = debugged.post("Provision", Some(&request));
    assert_eq!(r.status, 200, "{r:?}");
    // A body the decoder refuses is logged too, with the answer it got.
    let r = debugged.post_raw("Provision", &[], &[0x03, 0x01, 0x6a, 0x00, 0x45]);
    assert_eq!(r.status, 200, "{r:?}");
    let quiet = client(&serve.base_url, PASSWORD);
    assert_eq!(quiet.post("Provision", Some(&request)).status, 200);

    let debug_dir = setup.dir.path().join("state/debug");
    let log = std::fs::read_to_string(debug_dir.join(format!("{USER}-DEBUGME.log"))).unwrap();
    assert!(log.contains("Provision 14.1"), "{log}");
    assert!(
        log.contains(">>> request") && log.contains("MS-EAS-Provisioning-WBXML"),
        "{log}"
    );
    assert!(
        log.contains("<<< response") && log.contains("<PolicyKey>"),
        "{log}"
    );
    assert!(log.contains("--- HTTP 200"), "{log}");
    assert!(log.contains("5 bytes of undecodable WBXML"), "{log}");
    assert!(log.contains("<Status>102</Status>"), "{log}");
    let files: Vec<_> = std::fs::read_dir(&debug_dir).unwrap().collect();
    assert_eq!(files.len(), 1, "only the listed device is logged");
}

#[test]
fn shipped_config_resolves_paths_next_to_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = Config::from_file(&root.join("conf/activesync.toml")).unwrap();
    let root = root.canonicalize().unwrap();
    assert_eq!(config.server.state_dir, root.join("conf/../state"));
    assert_eq!(
        config.backend.embedded_db,
        root.join("conf/../state/embedded.sqlite")
    );
    assert_eq!(config.server.max_body_bytes, 50 * 1024 * 1024);
    assert_eq!(config.server.protocol_versions.len(), 7);
}
