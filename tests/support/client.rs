//! A small ActiveSync test client over plain HTTP/1.1 (std `TcpStream`, one
//! connection per request), so tests see exactly what a device would: status,
//! headers and the decoded WBXML body. It also sends what a well-behaved
//! client would not (oversized or malformed bodies) without choking when the
//! server answers before reading them.
//!
//! ```text
//! let mut c = Client::new(&web.base_url, "alice", "secret", "DEV1", "TestPhone", "14.1");
//! let r = c.post("FolderSync", Some(&folder_sync_request));
//! c.policy_key = Some(1234);   // sent as X-MS-PolicyKey (or in the base64 query)
//! c.base64_query = true;       // MS-ASHTTP 2.2.1.1.1.1 query form
//! ```

use base64::Engine;
use horde_activesync::eas::request::{command_code, param_tag};
use horde_activesync::wbxml::{self, Element};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Clone)]
pub struct Client {
    /// `http://127.0.0.1:PORT/Microsoft-Server-ActiveSync`
    pub base_url: String,
    pub user: String,
    pub password: String,
    pub device_id: String,
    pub device_type: String,
    /// `MS-ASProtocolVersion`, e.g. "14.1".
    pub version: String,
    pub policy_key: Option<u32>,
    /// Send the base64-encoded query instead of the plain one.
    pub base64_query: bool,
    pub user_agent: String,
    /// How long to wait for an answer (a held Ping needs more than the default).
    pub timeout: Duration,
}

/// What the server answered.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub raw: Vec<u8>,
    /// The body decoded as WBXML, when it is WBXML.
    pub body: Option<Element>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as readable XML (for assertion messages).
    pub fn xml(&self) -> String {
        self.body
            .as_ref()
            .map(wbxml::xml::to_xml)
            .unwrap_or_default()
    }
}

impl Client {
    pub fn new(
        base_url: &str,
        user: &str,
        password: &str,
        device_id: &str,
        device_type: &str,
        version: &str,
    ) -> Client {
        Client {
            base_url: base_url.to_string(),
            user: user.to_string(),
            password: password.to_string(),
            device_id: device_id.to_string(),
            device_type: device_type.to_string(),
            version: version.to_string(),
            policy_key: None,
            base64_query: false,
            user_agent: "horde-activesync-test/1.0".into(),
            timeout: Duration::from_secs(30),
        }
    }

    /// HTTP OPTIONS with credentials.
    pub fn options(&self) -> Reply {
        self.exchange("OPTIONS", "", &[], &[])
    }

    /// POST a command with an optional WBXML body.
    pub fn post(&self, cmd: &str, body: Option<&Element>) -> Reply {
        self.post_with(cmd, &[], body)
    }

    /// POST with command parameters (`ItemId`, `CollectionId`, `SaveInSent`=`T`, ...).
    pub fn post_with(&self, cmd: &str, params: &[(&str, &str)], body: Option<&Element>) -> Reply {
        let bytes = body.map(wbxml::encode).unwrap_or_default();
        self.post_raw(cmd, params, &bytes)
    }

    /// POST arbitrary bytes as the body (malformed WBXML, oversized bodies).
    pub fn post_raw(&self, cmd: &str, params: &[(&str, &str)], body: &[u8]) -> Reply {
        let query = if self.base64_query {
            self.base64_query(cmd, params)
        } else {
            self.plain_query(cmd, params)
        };
        let mut headers = vec![("Content-Type", "application/vnd.ms-sync.wbxml".to_string())];
        if !self.base64_query {
            headers.push(("MS-ASProtocolVersion", self.version.clone()));
            if let Some(key) = self.policy_key {
                headers.push(("X-MS-PolicyKey", key.to_string()));
            }
        }
        self.exchange("POST", &query, &headers, body)
    }

    /// [`Client::post_with`] with extra request headers (`MS-ASAcceptMultiPart`).
    pub fn post_with_headers(
        &self,
        cmd: &str,
        params: &[(&str, &str)],
        extra: &[(&str, &str)],
        body: Option<&Element>,
    ) -> Reply {
        let bytes = body.map(wbxml::encode).unwrap_or_default();
        let mut headers = vec![
            ("Content-Type", "application/vnd.ms-sync.wbxml".to_string()),
            ("MS-ASProtocolVersion", self.version.clone()),
        ];
        if let Some(key) = self.policy_key {
            headers.push(("X-MS-PolicyKey", key.to_string()));
        }
        headers.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        self.exchange("POST", &self.plain_query(cmd, params), &headers, &bytes)
    }

    /// POST a body to another path of the same server (Autodiscover).
    pub fn post_path(&self, path: &str, content_type: &str, body: &[u8]) -> Reply {
        let rest = self
            .base_url
            .strip_prefix("http://")
            .expect("http:// base URL");
        let host = rest.split('/').next().unwrap_or(rest);
        let other = Client {
            base_url: format!("http://{host}{path}"),
            ..self.clone()
        };
        other.exchange(
            "POST",
            "",
            &[("Content-Type", content_type.to_string())],
            body,
        )
    }

    pub fn plain_query(&self, cmd: &str, params: &[(&str, &str)]) -> String {
        let mut q = format!(
            "Cmd={}&User={}&DeviceId={}&DeviceType={}",
            escape(cmd),
            escape(&self.user),
            escape(&self.device_id),
            escape(&self.device_type)
        );
        for (k, v) in params {
            q.push_str(&format!("&{}={}", escape(k), escape(v)));
        }
        q
    }

    /// MS-ASHTTP 2.2.1.1.1.1: version, command code, locale, device id,
    /// policy key, device type, then tagged command parameters.
    pub fn base64_query(&self, cmd: &str, params: &[(&str, &str)]) -> String {
        let version: f32 = self.version.parse().expect("numeric version");
        let code = command_code(cmd).unwrap_or_else(|| panic!("{cmd} has no base64 command code"));
        let mut b = vec![(version * 10.0).round() as u8, code, 0x09, 0x04];
        counted(&mut b, self.device_id.as_bytes());
        match self.policy_key {
            Some(k) => counted(&mut b, &k.to_le_bytes()),
            None => b.push(0),
        }
        counted(&mut b, self.device_type.as_bytes());
        let mut options = 0u8;
        for (name, value) in params {
            let tag = match *name {
                "AttachmentName" => param_tag::ATTACHMENT_NAME,
                "CollectionId" => param_tag::COLLECTION_ID,
                "ItemId" => param_tag::ITEM_ID,
                "LongId" => param_tag::LONG_ID,
                "ParentId" => param_tag::PARENT_ID,
                "Occurrence" => param_tag::OCCURRENCE,
                "User" => param_tag::USER,
                "SaveInSent" => {
                    if value.eq_ignore_ascii_case("T") {
                        options |= param_tag::OPTION_SAVE_IN_SENT;
                    }
                    continue;
                }
                other => panic!("no base64 tag for parameter {other}"),
            };
            b.push(tag);
            counted(&mut b, value.as_bytes());
        }
        if options != 0 {
            b.extend_from_slice(&[param_tag::OPTIONS, 1, options]);
        }
        escape(&base64::engine::general_purpose::STANDARD.encode(b))
    }

    fn exchange(
        &self,
        method: &str,
        query: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Reply {
        let rest = self
            .base_url
            .strip_prefix("http://")
            .expect("http:// base URL");
        let (host, path) = rest
            .split_once('/')
            .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
        let target = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        let credentials = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", self.user, self.password));
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {credentials}\r\n\
             User-Agent: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.user_agent,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut stream = TcpStream::connect(host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
        stream.set_read_timeout(Some(self.timeout)).unwrap();
        // Head and body go out as two writes: without this, Nagle holds the
        // body until the server's delayed ACK (40 ms per request).
        stream.set_nodelay(true).unwrap();
        stream
            .write_all(head.as_bytes())
            .expect("sending the request head");
        // A server may answer (413) and close before reading the body: that
        // is not the client's failure, the answer is read below.
        let _ = stream.write_all(body);
        let mut response = Vec::new();
        if let Err(e) = stream.read_to_end(&mut response) {
            // A reset after a complete answer (unread body) still leaves the answer.
            assert!(!response.is_empty(), "reading the response: {e}");
        }
        parse_response(&response)
    }
}

fn counted(b: &mut Vec<u8>, field: &[u8]) {
    b.push(u8::try_from(field.len()).expect("field shorter than 256 bytes"));
    b.extend_from_slice(field);
}

/// Percent-encode everything but unreserved characters.
pub fn escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn parse_response(bytes: &[u8]) -> Reply {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut reply = Reply {
        status,
        headers,
        raw: Vec::new(),
        body: None,
    };
    let rest = &bytes[split + 4..];
    reply.raw = if reply
        .header("Transfer-Encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        dechunk(rest)
    } else if let Some(n) = reply
        .header("Content-Length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        rest[..n.min(rest.len())].to_vec()
    } else {
        rest.to_vec()
    };
    let is_wbxml = reply
        .header("Content-Type")
        .is_some_and(|t| t.starts_with("application/vnd.ms-sync.wbxml"));
    if is_wbxml && !reply.raw.is_empty() {
        let decoded = wbxml::decode(&reply.raw, &wbxml::Limits::default());
        reply.body = Some(decoded.unwrap_or_else(|e| panic!("response is not valid WBXML: {e:?}")));
    }
    reply
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        data = &data[eol + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
    out
}

/// The parts of an `application/vnd.ms-sync.multipart` body (MS-ASCMD
/// 2.2.1.10.1.1): a count, (offset, length) pairs, the data; part 0 is the
/// WBXML document. Panics on a malformed structure.
pub fn multipart_parts(raw: &[u8]) -> Vec<&[u8]> {
    let int = |at: usize| u32::from_le_bytes(raw[at..at + 4].try_into().unwrap()) as usize;
    (0..int(0))
        .map(|i| {
            let (offset, len) = (int(4 + 8 * i), int(8 + 8 * i));
            &raw[offset..offset + len]
        })
        .collect()
}
