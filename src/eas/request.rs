//! The MS-ASHTTP request form: which command, for which user and device, in
//! which protocol version, with which command parameters.
//!
//! Two query forms exist (MS-ASHTTP 2.2.1.1.1): the plain one
//! (`?Cmd=Sync&User=u&DeviceId=d&DeviceType=t`, version in the
//! `MS-ASProtocolVersion` header) and, from 12.1, a base64-encoded binary one
//! carrying the same fields. Both end up in one [`EasRequest`].
//!
//! **Who the user is.** The HTTP Basic user is authoritative; the `User` of the
//! query is only a fallback for logs when no credentials were sent (such a
//! request is refused with 401 anyway). Devices often type the account as
//! `DOMAIN\user`: the domain part is dropped. An address `user@example.com` is
//! kept whole, because Horde installations commonly log in with e-mail
//! addresses and the backend is the one who decides what a login is.

use super::version::Version;
use crate::config::Config;
use base64::Engine;

/// Command parameters of the query (MS-ASHTTP 2.2.1.1.1.2 / 2.2.1.1.1.1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pub item_id: Option<String>,
    pub collection_id: Option<String>,
    pub attachment_name: Option<String>,
    /// SendMail/SmartReply/SmartForward: keep a copy in Sent Items.
    pub save_in_sent: bool,
    pub long_id: Option<String>,
    pub occurrence: Option<String>,
    pub parent_id: Option<String>,
    /// ItemOperations: the client accepts a multipart response
    /// (`MS-ASAcceptMultiPart: T` header, the base64 Options bit, or the
    /// plain query's `AcceptMultiPart=T` some clients send).
    pub accept_multipart: bool,
}

/// One parsed ActiveSync command request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EasRequest {
    /// The command name as sent, e.g. `"Sync"`.
    pub cmd: String,
    /// Authenticated user name (see the module doc for the rule).
    pub user: String,
    pub device_id: String,
    pub device_type: String,
    pub version: Version,
    /// `X-MS-PolicyKey` header or the base64 field; `None` when absent.
    pub policy_key: Option<u32>,
    pub user_agent: Option<String>,
    pub params: Params,
    /// Basic credentials (normalised user, password) when sent.
    pub credentials: Option<(String, String)>,
}

/// Why a request could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Malformed query, header or identifier: HTTP 400.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// `MS-ASProtocolVersion` missing, unknown or not enabled in the config:
    /// HTTP 400 carrying `MS-ASProtocolVersions` so the client can pick one.
    #[error("unsupported protocol version {0:?}")]
    UnsupportedVersion(Option<String>),
    /// A base64 command code no command has: HTTP 501.
    #[error("unknown command code {0}")]
    UnknownCommandCode(u8),
}

fn bad(msg: impl Into<String>) -> RequestError {
    RequestError::BadRequest(msg.into())
}

/// Command codes of the base64 query (MS-ASHTTP 2.2.1.1.1.1.2).
const COMMAND_CODES: &[(u8, &str)] = &[
    (0, "Sync"),
    (1, "SendMail"),
    (2, "SmartForward"),
    (3, "SmartReply"),
    (4, "GetAttachment"),
    (9, "FolderSync"),
    (10, "FolderCreate"),
    (11, "FolderDelete"),
    (12, "FolderUpdate"),
    (13, "MoveItems"),
    (14, "GetItemEstimate"),
    (15, "MeetingResponse"),
    (16, "Search"),
    (17, "Settings"),
    (18, "Ping"),
    (19, "ItemOperations"),
    (20, "Provision"),
    (21, "ResolveRecipients"),
    (22, "ValidateCert"),
    (23, "Find"),
];

/// The base64 command code of a command name, for clients that build such queries.
pub fn command_code(name: &str) -> Option<u8> {
    COMMAND_CODES
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(c, _)| *c)
}

/// Tags of the base64 command parameters (MS-ASHTTP 2.2.1.1.1.1.3).
pub mod param_tag {
    pub const ATTACHMENT_NAME: u8 = 0;
    pub const COLLECTION_ID: u8 = 1;
    pub const ITEM_ID: u8 = 3;
    pub const LONG_ID: u8 = 4;
    pub const PARENT_ID: u8 = 5;
    pub const OCCURRENCE: u8 = 6;
    /// One byte of flags: [`OPTION_SAVE_IN_SENT`], [`OPTION_ACCEPT_MULTIPART`].
    pub const OPTIONS: u8 = 7;
    pub const USER: u8 = 8;
    pub const OPTION_SAVE_IN_SENT: u8 = 0x01;
    pub const OPTION_ACCEPT_MULTIPART: u8 = 0x02;
}

/// Longest DeviceId / DeviceType accepted. The spec's ids are 32 characters
/// at most; some clients send longer ones, so allow a margin.
const MAX_ID_LEN: usize = 64;

/// The fields common to both query forms, before validation.
#[derive(Default)]
struct Raw {
    cmd: Option<String>,
    user: Option<String>,
    device_id: Option<String>,
    device_type: Option<String>,
    version: Option<Version>,
    policy_key: Option<u32>,
    params: Params,
}

impl EasRequest {
    /// Parse a POST to `/Microsoft-Server-ActiveSync`.
    pub fn parse(req: &crate::http::Request, config: &Config) -> Result<EasRequest, RequestError> {
        let raw = if is_plain_query(&req.query) {
            parse_plain(req)?
        } else {
            parse_base64(&req.query)?
        };
        let version = raw.version.ok_or_else(|| {
            RequestError::UnsupportedVersion(req.header("MS-ASProtocolVersion").map(str::to_string))
        })?;
        if !enabled_versions(config).contains(&version) {
            return Err(RequestError::UnsupportedVersion(Some(version.to_string())));
        }
        let cmd = raw
            .cmd
            .filter(|c| !c.is_empty())
            .ok_or_else(|| bad("no Cmd"))?;
        if !cmd.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad(format!("invalid Cmd {cmd:?}")));
        }
        let device_id = raw.device_id.unwrap_or_default();
        if !is_valid_device_id(&device_id) {
            return Err(bad(format!("invalid DeviceId {device_id:?}")));
        }
        let device_type = raw.device_type.unwrap_or_default();
        if device_type.is_empty()
            || device_type.len() > MAX_ID_LEN
            || !device_type.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(bad(format!("invalid DeviceType {device_type:?}")));
        }
        let credentials = basic_credentials(req)?;
        let user = match &credentials {
            Some((u, _)) => u.clone(),
            None => normalize_user(raw.user.as_deref().unwrap_or_default()),
        };
        let policy_key = match raw.policy_key {
            Some(k) => Some(k),
            None => policy_key_header(req)?,
        };
        let mut params = raw.params;
        params.accept_multipart |= req
            .header("MS-ASAcceptMultiPart")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("T"));
        Ok(EasRequest {
            cmd,
            user,
            device_id,
            device_type,
            version,
            policy_key,
            user_agent: req.header("User-Agent").map(str::to_string),
            params,
            credentials,
        })
    }
}

/// The versions this server answers, from `[server] protocol_versions`
/// (entries that are no protocol version are ignored; the config check
/// reports them at startup).
pub fn enabled_versions(config: &Config) -> Vec<Version> {
    let mut v: Vec<Version> = config
        .server
        .protocol_versions
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A plain query always names its command; a base64 one never contains `=`
/// before its end padding, so `Cmd=` decides.
fn is_plain_query(query: &str) -> bool {
    query.split('&').any(|pair| {
        pair.split('=')
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case("Cmd"))
    })
}

fn parse_plain(req: &crate::http::Request) -> Result<Raw, RequestError> {
    let mut raw = Raw::default();
    for pair in req.query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(k)?;
        let value = percent_decode(v)?;
        let slot = match key.as_str() {
            "Cmd" => &mut raw.cmd,
            "User" => &mut raw.user,
            "DeviceId" => &mut raw.device_id,
            "DeviceType" => &mut raw.device_type,
            "ItemId" => &mut raw.params.item_id,
            "CollectionId" => &mut raw.params.collection_id,
            "AttachmentName" => &mut raw.params.attachment_name,
            "LongId" => &mut raw.params.long_id,
            "Occurrence" => &mut raw.params.occurrence,
            "ParentId" => &mut raw.params.parent_id,
            "SaveInSent" => {
                raw.params.save_in_sent = value.eq_ignore_ascii_case("T");
                continue;
            }
            "AcceptMultiPart" => {
                raw.params.accept_multipart = value.eq_ignore_ascii_case("T");
                continue;
            }
            // Unknown parameters are ignored, as HTTP servers do.
            _ => continue,
        };
        // The first occurrence wins; a repeated key cannot override it.
        slot.get_or_insert(value);
    }
    raw.version = match req.header("MS-ASProtocolVersion") {
        Some(v) => Some(
            v.parse()
                .map_err(|_| RequestError::UnsupportedVersion(Some(v.trim().to_string())))?,
        ),
        None => None,
    };
    Ok(raw)
}

/// Decode `%XX` escapes and `+` (space) of a query component; the result must be UTF-8.
fn percent_decode(s: &str) -> Result<String, RequestError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| bad(format!("bad percent escape in {s:?}")))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| bad(format!("query component {s:?} is not UTF-8")))
}

/// A cursor over the decoded base64 query that never reads past its end.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn byte(&mut self, what: &str) -> Result<u8, RequestError> {
        let (&b, rest) = self
            .0
            .split_first()
            .ok_or_else(|| bad(format!("base64 query truncated at {what}")))?;
        self.0 = rest;
        Ok(b)
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], RequestError> {
        if self.0.len() < n {
            return Err(bad(format!("base64 query truncated in {what}")));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    /// A length byte followed by that many bytes.
    fn counted(&mut self, what: &str) -> Result<&'a [u8], RequestError> {
        let n = self.byte(what)? as usize;
        self.take(n, what)
    }
}

fn parse_base64(query: &str) -> Result<Raw, RequestError> {
    // Clients percent-encode `+`, `/` and `=`; undo that first. A literal `+`
    // here is base64, not a space.
    let text = percent_decode(&query.replace('+', "%2B"))?;
    let bin = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| bad(format!("query is neither plain nor valid base64: {e}")))?;
    let mut f = Fields(&bin);
    let mut raw = Raw::default();
    let version_byte = f.byte("protocol version")?;
    let version = Version::from_query_byte(version_byte)
        .ok_or_else(|| RequestError::UnsupportedVersion(Some(version_byte.to_string())))?;
    if !version.base64_query_allowed() {
        return Err(bad(format!(
            "base64 query not defined for version {version}"
        )));
    }
    raw.version = Some(version);
    let code = f.byte("command code")?;
    let name = COMMAND_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| *n)
        .ok_or(RequestError::UnknownCommandCode(code))?;
    raw.cmd = Some(name.to_string());
    f.take(2, "locale")?;
    raw.device_id = Some(device_id_text(f.counted("device id")?));
    let key = f.counted("policy key")?;
    raw.policy_key = match key.len() {
        0 => None,
        4 => Some(u32::from_le_bytes([key[0], key[1], key[2], key[3]])),
        n => return Err(bad(format!("policy key of {n} bytes"))),
    };
    raw.device_type = Some(utf8(f.counted("device type")?, "device type")?);
    while !f.0.is_empty() {
        let tag = f.byte("parameter tag")?;
        let value = f.counted("parameter value")?;
        let text = || utf8(value, "parameter value");
        let p = &mut raw.params;
        match tag {
            param_tag::ATTACHMENT_NAME => p.attachment_name = Some(text()?),
            param_tag::COLLECTION_ID => p.collection_id = Some(text()?),
            param_tag::ITEM_ID => p.item_id = Some(text()?),
            param_tag::LONG_ID => p.long_id = Some(text()?),
            param_tag::PARENT_ID => p.parent_id = Some(text()?),
            param_tag::OCCURRENCE => p.occurrence = Some(text()?),
            param_tag::OPTIONS => {
                let flags = value.first().copied().unwrap_or(0);
                p.save_in_sent = flags & param_tag::OPTION_SAVE_IN_SENT != 0;
                p.accept_multipart = flags & param_tag::OPTION_ACCEPT_MULTIPART != 0;
            }
            param_tag::USER => raw.user = Some(text()?),
            // CollectionName (2) and unknown tags carry nothing we use.
            _ => {}
        }
    }
    Ok(raw)
}

/// The base64 device id is bytes: text devices send ASCII, older ones a
/// binary GUID, which becomes upper-case hex so it is a valid id either way.
fn device_id_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.chars().all(|c| c.is_ascii_alphanumeric()) => s.to_string(),
        _ => bytes.iter().map(|b| format!("{b:02X}")).collect(),
    }
}

fn utf8(bytes: &[u8], what: &str) -> Result<String, RequestError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| bad(format!("{what} is not UTF-8")))
}

/// DeviceIds name state files, so only letters, digits, `-` and `_`.
pub fn is_valid_device_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `DOMAIN\user` -> `user`; anything else unchanged but trimmed.
pub fn normalize_user(user: &str) -> String {
    let user = user.trim();
    match user.rsplit_once('\\') {
        Some((_, u)) => u.to_string(),
        None => user.to_string(),
    }
}

/// `Authorization: Basic base64(user:password)`, user normalised. A missing
/// header is `None` (the server answers 401); a malformed one is 400.
pub fn basic_credentials(
    req: &crate::http::Request,
) -> Result<Option<(String, String)>, RequestError> {
    let Some(value) = req.header("Authorization") else {
        return Ok(None);
    };
    let value = value.trim();
    let Some((scheme, token)) = value.split_once(' ') else {
        return Err(bad("malformed Authorization header"));
    };
    if !scheme.eq_ignore_ascii_case("Basic") {
        // Another scheme (NTLM, Bearer): we only speak Basic; the 401 says so.
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| bad("Authorization is not valid base64"))?;
    let text = String::from_utf8(decoded).map_err(|_| bad("Authorization is not UTF-8"))?;
    let (user, password) = text
        .split_once(':')
        .ok_or_else(|| bad("Authorization has no user:password"))?;
    let user = normalize_user(user);
    if user.is_empty() {
        return Ok(None);
    }
    Ok(Some((user, password.to_string())))
}

/// `X-MS-PolicyKey`: absent or empty is `None`; otherwise an unsigned 32-bit number.
fn policy_key_header(req: &crate::http::Request) -> Result<Option<u32>, RequestError> {
    match req.header("X-MS-PolicyKey").map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| bad(format!("invalid X-MS-PolicyKey {v:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Request;

    fn basic(user: &str, pw: &str) -> String {
        let t = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
        format!("Basic {t}")
    }

    fn request(query: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            method: "POST".into(),
            path: "/Microsoft-Server-ActiveSync".into(),
            query: query.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Request::default()
        }
    }

    fn parse(query: &str, headers: &[(&str, &str)]) -> Result<EasRequest, RequestError> {
        EasRequest::parse(&request(query, headers), &Config::default())
    }

    /// Build a base64 query the way a 12.1+ client does.
    fn b64_query(
        version: u8,
        code: u8,
        dev: &[u8],
        key: &[u8],
        dtype: &[u8],
        params: &[(u8, &[u8])],
    ) -> String {
        let mut b = vec![version, code, 0x09, 0x04, dev.len() as u8];
        b.extend_from_slice(dev);
        b.push(key.len() as u8);
        b.extend_from_slice(key);
        b.push(dtype.len() as u8);
        b.extend_from_slice(dtype);
        for (tag, v) in params {
            b.push(*tag);
            b.push(v.len() as u8);
            b.extend_from_slice(v);
        }
        base64::engine::general_purpose::STANDARD
            .encode(b)
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    }

    #[test]
    fn plain_query_with_headers() {
        let r = parse(
            "Cmd=SendMail&User=ignored&DeviceId=ABC123&DeviceType=iPhone&SaveInSent=T&ItemId=5%3A1&CollectionId=a+b",
            &[
                ("MS-ASProtocolVersion", "14.1"),
                ("authorization", &basic("CORP\\alice", "s:ecret")),
                ("X-MS-PolicyKey", "3942919513"),
                ("User-Agent", "Apple-iPhone/1"),
            ],
        )
        .unwrap();
        assert_eq!(r.cmd, "SendMail");
        assert_eq!(r.user, "alice");
        assert_eq!(r.credentials, Some(("alice".into(), "s:ecret".into())));
        assert_eq!(
            (r.device_id.as_str(), r.device_type.as_str()),
            ("ABC123", "iPhone")
        );
        assert_eq!(r.version, Version::V14_1);
        assert_eq!(r.policy_key, Some(3942919513));
        assert_eq!(r.user_agent.as_deref(), Some("Apple-iPhone/1"));
        assert!(r.params.save_in_sent);
        assert_eq!(r.params.item_id.as_deref(), Some("5:1"));
        assert_eq!(r.params.collection_id.as_deref(), Some("a b"));
        assert!(!r.params.accept_multipart);
    }

    #[test]
    fn user_rules() {
        let r = parse(
            "Cmd=Sync&User=q&DeviceId=d&DeviceType=t",
            &[
                ("MS-ASProtocolVersion", "2.5"),
                ("Authorization", &basic("bob@example.com", "x")),
            ],
        )
        .unwrap();
        assert_eq!(r.user, "bob@example.com");
        let r = parse(
            "Cmd=Sync&User=DOM%5Cq&DeviceId=d&DeviceType=t",
            &[("MS-ASProtocolVersion", "2.5")],
        )
        .unwrap();
        assert_eq!((r.user.as_str(), r.credentials), ("q", None));
        // Another scheme counts as no credentials.
        let r = parse(
            "Cmd=Sync&DeviceId=d&DeviceType=t",
            &[
                ("MS-ASProtocolVersion", "2.5"),
                ("Authorization", "NTLM abc"),
            ],
        )
        .unwrap();
        assert_eq!(r.credentials, None);
    }

    #[test]
    fn version_negotiation() {
        let q = "Cmd=Sync&DeviceId=d&DeviceType=t";
        assert_eq!(parse(q, &[]), Err(RequestError::UnsupportedVersion(None)));
        assert_eq!(
            parse(q, &[("MS-ASProtocolVersion", "13.0")]),
            Err(RequestError::UnsupportedVersion(Some("13.0".into())))
        );
        let mut config = Config::default();
        config.server.protocol_versions = vec!["14.0".into(), "14.1".into()];
        let err = EasRequest::parse(&request(q, &[("MS-ASProtocolVersion", "12.1")]), &config);
        assert_eq!(
            err,
            Err(RequestError::UnsupportedVersion(Some("12.1".into())))
        );
        assert_eq!(
            enabled_versions(&config),
            vec![Version::V14_0, Version::V14_1]
        );
    }

    #[test]
    fn malformed_plain_queries_and_headers() {
        let v = ("MS-ASProtocolVersion", "14.0");
        for q in [
            "Cmd=Sync&DeviceType=t",
            "Cmd=Sync&DeviceId=../etc&DeviceType=t",
            "Cmd=Sync&DeviceId=d",
            "Cmd=&DeviceId=d&DeviceType=t",
            "Cmd=Sy%20nc&DeviceId=d&DeviceType=t",
            "Cmd=Sync&DeviceId=d%ZZ&DeviceType=t",
            "Cmd=Sync&DeviceId=d%C3&DeviceType=t",
        ] {
            assert!(
                matches!(parse(q, &[v]), Err(RequestError::BadRequest(_))),
                "{q}"
            );
        }
        let q = "Cmd=Sync&DeviceId=d&DeviceType=t";
        for h in [
            ("X-MS-PolicyKey", "abc"),
            ("X-MS-PolicyKey", "-1"),
            ("Authorization", "Basic !!!"),
            ("Authorization", "Basic"),
        ] {
            assert!(
                matches!(parse(q, &[v, h]), Err(RequestError::BadRequest(_))),
                "{h:?}"
            );
        }
        assert_eq!(
            parse(q, &[v, ("X-MS-PolicyKey", "")]).unwrap().policy_key,
            None
        );
        assert_eq!(
            parse(q, &[v, ("X-MS-PolicyKey", "0")]).unwrap().policy_key,
            Some(0)
        );
        let r = parse(
            &format!("{q}&DeviceId=other"),
            &[v, ("MS-ASAcceptMultiPart", "T")],
        )
        .unwrap();
        assert_eq!(r.device_id, "d");
        assert!(r.params.accept_multipart);
    }

    #[test]
    fn base64_query() {
        let q = b64_query(
            141,
            19,
            b"DEV42",
            &7u32.to_le_bytes(),
            b"Android",
            &[
                (param_tag::ITEM_ID, b"12:3"),
                (param_tag::OPTIONS, &[0x03]),
                (param_tag::USER, b"carol"),
                (42, b"ignored"),
            ],
        );
        let r = parse(&q, &[("Authorization", &basic("carol", "pw"))]).unwrap();
        assert_eq!(r.cmd, "ItemOperations");
        assert_eq!(r.version, Version::V14_1);
        assert_eq!(r.device_id, "DEV42");
        assert_eq!(r.device_type, "Android");
        assert_eq!(r.policy_key, Some(7));
        assert_eq!(r.params.item_id.as_deref(), Some("12:3"));
        assert!(r.params.save_in_sent && r.params.accept_multipart);
        assert_eq!(r.user, "carol");
        // A binary GUID device id becomes hex; no policy key falls back to the header.
        let q = b64_query(121, 9, &[0xde, 0xad, 0x01], &[], b"PPC", &[]);
        let r = parse(&q, &[("X-MS-PolicyKey", "5")]).unwrap();
        assert_eq!(
            (r.device_id.as_str(), r.cmd.as_str(), r.policy_key),
            ("DEAD01", "FolderSync", Some(5))
        );
        assert_eq!(command_code("FolderSync"), Some(9));
    }

    #[test]
    fn malformed_base64_queries() {
        let full = {
            let mut b = vec![141u8, 0, 9, 4, 3];
            b.extend_from_slice(b"dev");
            b.extend_from_slice(&[4, 1, 2, 3, 4, 2]);
            b.extend_from_slice(b"tt");
            b.extend_from_slice(&[3, 2, b'x']);
            b
        };
        // Every truncation of the binary form is a clean 400 (the last one
        // cuts inside a parameter value).
        for cut in 0..full.len() {
            let q = base64::engine::general_purpose::STANDARD.encode(&full[..cut]);
            let r = parse(&q, &[]);
            if cut == 16 {
                // Ends right after the device type: a complete query without parameters.
                assert!(r.is_ok(), "{r:?}");
            } else {
                assert!(
                    matches!(r, Err(RequestError::BadRequest(_))),
                    "cut {cut}: {r:?}"
                );
            }
        }
        for q in ["!!!notbase64", "QUJD%", "%FF%FE"] {
            assert!(
                matches!(parse(q, &[]), Err(RequestError::BadRequest(_))),
                "{q}"
            );
        }
        // Base64 with a version that has no base64 form, an unknown version, an unknown command.
        let q = b64_query(120, 0, b"d", &[], b"t", &[]);
        assert!(matches!(parse(&q, &[]), Err(RequestError::BadRequest(_))));
        let q = b64_query(99, 0, b"d", &[], b"t", &[]);
        assert_eq!(
            parse(&q, &[]),
            Err(RequestError::UnsupportedVersion(Some("99".into())))
        );
        let q = b64_query(140, 200, b"d", &[], b"t", &[]);
        assert_eq!(parse(&q, &[]), Err(RequestError::UnknownCommandCode(200)));
        let q = b64_query(140, 0, b"d", &[1, 2], b"t", &[]);
        assert!(matches!(parse(&q, &[]), Err(RequestError::BadRequest(_))));
        let q = b64_query(140, 0, b"d", &[], &[0xff], &[]);
        assert!(matches!(parse(&q, &[]), Err(RequestError::BadRequest(_))));
    }

    proptest::proptest! {
        /// Any query, plain or base64 of any bytes, is parsed or refused, never a panic.
        #[test]
        fn never_panics(query in ".{0,200}", bin in proptest::collection::vec(proptest::num::u8::ANY, 0..120), key in ".{0,12}") {
            let _ = parse(&query, &[("MS-ASProtocolVersion", "14.1"), ("X-MS-PolicyKey", &key)]);
            let q = base64::engine::general_purpose::STANDARD.encode(&bin);
            let _ = parse(&q, &[("Authorization", &format!("Basic {key}"))]);
        }
    }
}
