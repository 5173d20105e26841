//! Drives the built `horde-activesync` binary as a CGI program, exactly as a
//! web server does: meta-variables in the environment, the body on stdin,
//! `Status:` + headers + body on stdout. Each [`Cgi`] has its own temporary
//! config, state folder and embedded user store with the user `jane`.
#![allow(dead_code)]

use horde_activesync::wbxml::{self, xml::from_xml, Element, Limits};
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
        let token = base64_basic(req.user, req.password);
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

    /// One request, answered.
    pub fn send(&self, req: &Req) -> Reply {
        parse_cgi_output(&self.spawn(req).wait_with_output().unwrap())
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
    use horde_activesync::wbxml::codepages::provision as p;
    tree.path(&[p::Policies, p::Policy])?.u32_of(p::PolicyKey)
}

/// Both provisioning phases through CGI; returns the final key.
pub fn handshake(cgi: &Cgi, device: &str, version: &str) -> u32 {
    let first = cgi.send(&Req::new("Provision", device, version).xml(&provision_initial(version)));
    let temp = policy_key(&first.tree()).expect("a temporary key");
    let ack = provision_ack(version, temp);
    let second = cgi.send(&Req::new("Provision", device, version).key(temp).xml(&ack));
    let key = policy_key(&second.tree()).expect("a final key");
    assert_ne!(key, temp);
    key
}
