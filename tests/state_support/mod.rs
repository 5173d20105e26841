//! Drives the built `horde-activesync` binary as a CGI program, exactly as a
//! web server does: meta-variables in the environment, the body on stdin,
//! `Status:` + headers + body on stdout. Each [`Cgi`] has its own temporary
//! config, state folder and embedded user store with the user `jane`.
#![allow(dead_code)]

use horde_activesync::wbxml::codepages::{folderhierarchy, provision as p};
use horde_activesync::wbxml::{self, xml::from_xml, Element, Limits};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

pub const USER: &str = "jane";
pub const PASSWORD: &str = "s3cret-pw";

pub struct Cgi {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

/// One CGI response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The WBXML body as a tree (panics when there is none).
    pub fn tree(&self) -> Element {
        assert_eq!(self.status, 200, "{self:?}");
        wbxml::decode(&self.body, &Limits::default()).expect("a WBXML body")
    }
}

/// One request.
pub struct Req<'a> {
    pub cmd: &'a str,
    pub user: &'a str,
    pub password: &'a str,
    pub device: &'a str,
    pub version: &'a str,
    pub policy_key: Option<u32>,
    /// XML form of the WBXML body.
    pub xml: Option<&'a str>,
    pub method: &'a str,
    /// `User` of the query when it should differ from the Basic user.
    pub query_user: Option<&'a str>,
}

impl<'a> Req<'a> {
    pub fn new(cmd: &'a str, device: &'a str, version: &'a str) -> Req<'a> {
        Req {
            cmd,
            user: USER,
            password: PASSWORD,
            device,
            version,
            policy_key: None,
            xml: None,
            method: "POST",
            query_user: None,
        }
    }
    pub fn key(mut self, key: u32) -> Req<'a> {
        self.policy_key = Some(key);
        self
    }
    pub fn xml(mut self, xml: &'a str) -> Req<'a> {
        self.xml = Some(xml);
        self
    }
}

/// Something that answers ActiveSync requests: the CGI program or `serve`.
pub trait Client {
    fn send(&self, req: &Req) -> Reply;
}

impl Client for Cgi {
    fn send(&self, req: &Req) -> Reply {
        parse_cgi_output(&self.spawn(req).wait_with_output().unwrap())
    }
}

impl Cgi {
    /// A fresh installation in `[provisioning] mode = mode` with user jane.
    pub fn new(mode: &str) -> Cgi {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("activesync.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\nstate_dir = \"state\"\n\n[backend]\nkind = \"embedded\"\n\
                 embedded_db = \"users.sqlite\"\n\n[provisioning]\nmode = \"{mode}\"\n"
            ),
        )
        .unwrap();
        let cgi = Cgi { dir, config };
        let out = cgi.cli(&["users", "add", USER, "--password", PASSWORD]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        cgi
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn info_path(&self, user: &str, device: &str) -> PathBuf {
        self.state_dir().join(user).join(format!("info-{device}"))
    }

    /// The device's info file as JSON.
    pub fn info(&self, device: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(self.info_path(USER, device)).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// Edit the info file as an administrator would, with a text editor.
    pub fn edit_info(&self, device: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let mut v = self.info(device);
        edit(&mut v);
        let text = serde_json::to_string_pretty(&v).unwrap();
        std::fs::write(self.info_path(USER, device), text).unwrap();
    }

    /// Run the binary with a subcommand (`devices list`, `users add`, ...).
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_horde-activesync"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("GATEWAY_INTERFACE")
            .env_remove("HORDE_ACTIVESYNC_CONFIG")
            .output()
            .unwrap()
    }

    /// Start one CGI request; the caller waits for it (used for concurrency).
    pub fn spawn(&self, req: &Req) -> Child {
        let (query, body, token) = Cgi::wire(req);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_horde-activesync"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HORDE_ACTIVESYNC_CONFIG", &self.config)
            .env("GATEWAY_INTERFACE", "CGI/1.1")
            .env("SERVER_PROTOCOL", "HTTP/1.1")
            .env("REQUEST_METHOD", req.method)
            .env("SCRIPT_NAME", "/Microsoft-Server-ActiveSync")
            .env("QUERY_STRING", query)
            .env("CONTENT_LENGTH", body.len().to_string())
            .env("CONTENT_TYPE", "application/vnd.ms-sync.wbxml")
            .env("HTTP_AUTHORIZATION", format!("Basic {token}"))
            .env("HTTP_MS_ASPROTOCOLVERSION", req.version)
            .env("HTTP_USER_AGENT", "state-tests/1.0")
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(k) = req.policy_key {
            cmd.env("HTTP_X_MS_POLICYKEY", k.to_string());
        }
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&body).unwrap();
        drop(stdin);
        child
    }

    /// The query string and body of a request, and its Basic token.
    fn wire(req: &Req) -> (String, Vec<u8>, String) {
        let body = req
            .xml
            .map(|x| wbxml::encode(&from_xml(x).expect("test XML")))
            .unwrap_or_default();
        let query = format!(
            "Cmd={}&User={}&DeviceId={}&DeviceType=TestPhone",
            req.cmd,
            req.query_user.unwrap_or(req.user),
            req.device
        );
        (query, body, base64_basic(req.user, req.password))
    }

    /// Start `horde-activesync serve` on a free local port for this
    /// installation; it is killed when the returned value is dropped.
    pub fn serve(&self) -> Served {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_horde-activesync"))
            .arg("--config")
            .arg(&self.config)
            .args(["serve", "--listen", &addr])
            .env_remove("GATEWAY_INTERFACE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let served = Served { child, addr };
        // Waits only as long as the start takes; the bound is for a hung start.
        for _ in 0..600 {
            if std::net::TcpStream::connect(&served.addr).is_ok() {
                return served;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("serve did not start listening on {}", served.addr);
    }
}

/// A running `horde-activesync serve`.
pub struct Served {
    child: Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Client for Served {
    /// One HTTP/1.1 request on its own connection.
    fn send(&self, req: &Req) -> Reply {
        use std::io::Read;
        let (query, body, token) = Cgi::wire(req);
        let mut head = format!(
            "{} /Microsoft-Server-ActiveSync?{query} HTTP/1.1\r\nHost: {}\r\n\
             Authorization: Basic {token}\r\nMS-ASProtocolVersion: {}\r\n\
             User-Agent: state-tests/1.0\r\nContent-Type: application/vnd.ms-sync.wbxml\r\n\
             Content-Length: {}\r\nConnection: close\r\n",
            req.method,
            self.addr,
            req.version,
            body.len()
        );
        if let Some(k) = req.policy_key {
            head.push_str(&format!("X-MS-PolicyKey: {k}\r\n"));
        }
        head.push_str("\r\n");
        let mut stream = std::net::TcpStream::connect(&self.addr).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a header block");
        let head = std::str::from_utf8(&raw[..split]).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap()[9..12].parse().unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect();
        Reply {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        }
    }
}

/// Split `Status: ...`, headers and body.
pub fn parse_cgi_output(out: &Output) -> Reply {
    let raw = &out.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header block: {}", String::from_utf8_lossy(&out.stderr)));
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut status = 0;
    let mut headers = Vec::new();
    for line in head.split("\r\n") {
        let (k, v) = line.split_once(':').unwrap();
        if k.eq_ignore_ascii_case("Status") {
            status = v.trim()[..3].parse().unwrap();
        } else {
            headers.push((k.to_string(), v.trim().to_string()));
        }
    }
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// `Provision` initial request for a version (with DeviceInformation from 14.1).
pub fn provision_initial(version: &str) -> String {
    let policy_type = if version == "2.5" {
        "MS-WAP-Provisioning-XML"
    } else {
        "MS-EAS-Provisioning-WBXML"
    };
    let info = if matches!(version, "14.1" | "16.0" | "16.1") {
        "<settings:DeviceInformation><settings:Set><settings:Model>TestPhone 3</settings:Model>\
         <settings:OS>TestOS 1</settings:OS></settings:Set></settings:DeviceInformation>"
    } else {
        ""
    };
    format!(
        "<Provision xmlns=\"Provision\" xmlns:settings=\"Settings\">{info}<Policies><Policy>\
         <PolicyType>{policy_type}</PolicyType></Policy></Policies></Provision>"
    )
}

/// `Provision` acknowledgement of a temporary key.
pub fn provision_ack(version: &str, key: u32) -> String {
    let policy_type = if version == "2.5" {
        "MS-WAP-Provisioning-XML"
    } else {
        "MS-EAS-Provisioning-WBXML"
    };
    format!(
        "<Provision xmlns=\"Provision\"><Policies><Policy><PolicyType>{policy_type}</PolicyType>\
         <PolicyKey>{key}</PolicyKey><Status>1</Status></Policy></Policies></Provision>"
    )
}

/// Text of `Provision/Policies/Policy/PolicyKey` in a response.
pub fn policy_key(tree: &Element) -> Option<u32> {
    tree.path(&[p::Policies, p::Policy])?.u32_of(p::PolicyKey)
}

/// Both provisioning phases; returns the final key.
pub fn handshake(cgi: &impl Client, device: &str, version: &str) -> u32 {
    let first = cgi.send(&Req::new("Provision", device, version).xml(&provision_initial(version)));
    let temp = policy_key(&first.tree()).expect("a temporary key");
    let ack = provision_ack(version, temp);
    let second = cgi.send(&Req::new("Provision", device, version).key(temp).xml(&ack));
    let key = policy_key(&second.tree()).expect("a final key");
    assert_ne!(key, temp);
    key
}

/// The versions the provisioning tests cover.
pub const VERSIONS: [&str; 4] = ["2.5", "12.1", "14.1", "16.1"];

pub fn status_in_body(version: &str) -> bool {
    matches!(version, "14.0" | "14.1" | "16.0" | "16.1")
}

/// How the server asks this request to provision: `Some(449)` for HTTP 449,
/// `Some(code)` for a FolderHierarchy:Status from 140 to 144, else `None`
/// (the command ran, or failed for another reason).
pub fn provisioning_demand(reply: &Reply) -> Option<u32> {
    if reply.status == 449 {
        return Some(449);
    }
    if reply.status != 200 || reply.body.is_empty() {
        return None;
    }
    let tree = reply.tree();
    let code = tree.u32_of(folderhierarchy::Status)?;
    (140..=144).contains(&code).then_some(code)
}

/// The answer a blocked FolderSync gets in this version.
pub fn demand(version: &str, code: u32) -> Option<u32> {
    Some(if status_in_body(version) { code } else { 449 })
}

pub fn folder_sync(cgi: &impl Client, device: &str, version: &str, key: Option<u32>) -> Reply {
    let body = "<FolderSync xmlns=\"FolderHierarchy\"><SyncKey>0</SyncKey></FolderSync>";
    let mut req = Req::new("FolderSync", device, version).xml(body);
    req.policy_key = key;
    cgi.send(&req)
}

/// Steps 2-4 of the seed's procedure after step 1 was done (by hand or CLI).
pub fn wipe_flow(install: &Cgi, cgi: &impl Client, device: &str, version: &str, old_key: u32) {
    let blocked = folder_sync(cgi, device, version, Some(old_key));
    assert_eq!(
        provisioning_demand(&blocked),
        demand(version, 140),
        "{version}"
    );
    // OPTIONS and Ping are not gated.
    let mut options = Req::new("", device, version);
    options.method = "OPTIONS";
    assert_eq!(cgi.send(&options).status, 200);
    let ping = cgi.send(&Req::new("Ping", device, version).key(old_key));
    assert_ne!(ping.status, 449);
    assert_eq!(provisioning_demand(&ping), None);
    // The empty Provision after 140, and an ordinary one, get the directive.
    for body in [
        "<Provision xmlns=\"Provision\"/>".to_string(),
        provision_initial(version),
    ] {
        let tree = cgi
            .send(&Req::new("Provision", device, version).xml(&body))
            .tree();
        assert_eq!(tree.u32_of(p::Status), Some(1));
        assert!(tree.has(p::RemoteWipe), "{version}");
        assert!(!tree.has(p::Policies));
    }
    assert_eq!(
        install.info(device)["rwstatus"],
        json!(2),
        "not wiped before the ack"
    );
    let ack =
        "<Provision xmlns=\"Provision\"><RemoteWipe><Status>1</Status></RemoteWipe></Provision>";
    let tree = cgi
        .send(&Req::new("Provision", device, version).xml(ack))
        .tree();
    assert_eq!(tree.u32_of(p::Status), Some(1));
    assert!(!tree.has(p::Policies));
    assert_eq!(install.info(device)["rwstatus"], json!(3));
    // Wiped again on every reconnect while the file says so.
    let again = cgi.send(&Req::new("Provision", device, version).xml(&provision_initial(version)));
    assert!(again.tree().has(p::RemoteWipe));
}
