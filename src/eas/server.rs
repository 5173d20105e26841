//! The request handler every front end calls: OPTIONS, parsing, auth, the
//! device/provisioning hook, WBXML decoding, command dispatch, encoding, and
//! the mapping of every failure to the HTTP status (or, from 14.0, the common
//! status) a client expects. [`Server::handle`] never panics.

use super::debug_log::DebugLog;
use super::request::{basic_credentials, EasRequest, RequestError};
use super::status::{command_status, common};
use crate::backend::{Backend, BackendError, Session};
use crate::command::provision::{self, Gate};
use crate::command::{self, CommandError, Ctx, Outcome};
use crate::config::Config;
use crate::http::{Request, Response};
use crate::state::{Device, StateError, Store};
use crate::wbxml::{self, Element};
use std::borrow::Cow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::SystemTime;

/// The WBXML media type of requests and responses (MS-ASHTTP 2.2.1.1.2.3).
pub const WBXML_CONTENT_TYPE: &str = "application/vnd.ms-sync.wbxml";

/// Larger response bodies not in memory (an attachment in a spool file)
/// are logged by their size only, rather than read back to be shown.
const DEBUG_BODY_LIMIT: u64 = 1 << 20;

/// Seconds a client is asked to wait when the backend is down.
const RETRY_AFTER_SECS: u32 = 60;

/// Built once per process (per request under CGI).
pub struct Server {
    config: Config,
    backend: Box<dyn Backend>,
    debug: DebugLog,
}

impl Server {
    /// The server with the backend `[backend] kind` selects.
    pub fn new(config: Config) -> anyhow::Result<Server> {
        let backend = crate::backend::from_config(&config)?;
        Ok(Server::with_backend(config, backend))
    }

    pub fn with_backend(config: Config, backend: Box<dyn Backend>) -> Server {
        let debug = DebugLog::new(&config.log);
        Server {
            config,
            backend,
            debug,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Answer one request. A panic anywhere below becomes a logged 500.
    pub fn handle(&self, req: &Request) -> Response {
        catch_unwind(AssertUnwindSafe(|| self.route(req))).unwrap_or_else(|_| {
            log::error!(
                "bug: panic while handling {} {}?{}",
                req.method,
                req.path,
                req.query
            );
            Response::new(500)
        })
    }

    fn route(&self, req: &Request) -> Response {
        if super::autodiscover::is_autodiscover(req) {
            return self.autodiscover(req);
        }
        match req.method.as_str() {
            "OPTIONS" => self.options(req),
            "POST" => self.post(req),
            _ => Response::new(405).with_header("Allow", "OPTIONS,POST"),
        }
    }

    /// OPTIONS needs valid credentials too (clients send them; an open
    /// OPTIONS would let anyone probe accounts' existence cheaply otherwise).
    fn options(&self, req: &Request) -> Response {
        let (user, password) = match basic_credentials(req) {
            Ok(Some(c)) => c,
            Ok(None) => return self.unauthorized(),
            Err(e) => return request_error(&e, &self.config),
        };
        match self.backend.open(&user, &password) {
            Ok(_) => command::options::response(&self.config),
            Err(e) => self.backend_error(&format!("OPTIONS user {user}"), e),
        }
    }

    /// Autodiscover (before any EAS query parsing: it has no EAS query),
    /// with the same Basic authentication as every other request.
    fn autodiscover(&self, req: &Request) -> Response {
        let (user, password) = match basic_credentials(req) {
            Ok(Some(c)) => c,
            Ok(None) => return self.unauthorized(),
            Err(e) => return request_error(&e, &self.config),
        };
        match self.backend.open(&user, &password) {
            Ok(_) => super::autodiscover::handle(&self.config, &user, req),
            Err(e) => self.backend_error(&format!("Autodiscover user {user}"), e),
        }
    }

    fn post(&self, req: &Request) -> Response {
        if req.body.len() as u64 > self.config.server.max_body_bytes {
            return Response::new(413);
        }
        let ereq = match EasRequest::parse(req, &self.config) {
            Ok(r) => r,
            Err(e) => {
                log::info!("rejected {}?{}: {e}", req.path, req.query);
                return request_error(&e, &self.config);
            }
        };
        let Some((user, password)) = &ereq.credentials else {
            return self.unauthorized();
        };
        let mut session = match self.backend.open(user, password) {
            Ok(s) => s,
            Err(e) => return self.backend_error(&describe(&ereq), e),
        };
        let response = self.run_command(&ereq, req, session.as_mut());
        log::info!("{} -> {}", describe(&ereq), response.status);
        response
    }

    fn run_command(&self, ereq: &EasRequest, req: &Request, session: &mut dyn Session) -> Response {
        // A protocol command this build lacks still meets the provisioning
        // gate first (a device is asked to provision before anything else).
        let run = command::lookup(&ereq.cmd);
        if run.is_none() && super::request::command_code(&ereq.cmd).is_none() {
            return Response::new(501);
        }
        // SendMail & co. before 14.0 carry the MIME message itself, not WBXML.
        let body = if command::takes_mime_body(&ereq.cmd, ereq.version) {
            Ok(None)
        } else {
            self.decode_body(ereq, &req.body)
        };
        let response = match &body {
            Ok(body) => self.execute(run, ereq, body.as_ref(), &req.body, session),
            Err(response) => response.clone(),
        };
        if self.debug.wants(&ereq.device_id) {
            let request = body.as_ref().ok().and_then(Option::as_ref);
            let entry = debug_entry(ereq, request, req.body.len(), &response, session.calls());
            self.debug.append(&ereq.user, &ereq.device_id, &entry);
        }
        response
    }

    /// Open the device (and pass the provisioning gate), then run the
    /// command (501 when this build lacks it); a panic inside becomes a
    /// logged 500.
    fn execute(
        &self,
        run: Option<command::Run>,
        ereq: &EasRequest,
        body: Option<&Element>,
        raw_body: &[u8],
        session: &mut dyn Session,
    ) -> Response {
        let mut device = match self.open_device(ereq) {
            Ok(d) => d,
            Err(response) => return response,
        };
        let Some(run) = run else {
            return Response::new(501);
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut ctx = Ctx {
                req: ereq,
                config: &self.config,
                session: &mut *session,
                device: &mut device,
                now: SystemTime::now(),
                raw_body,
            };
            run(&mut ctx, body)
        }));
        match result {
            Ok(Ok(outcome)) => outcome_response(outcome),
            Ok(Err(e)) => self.command_error(ereq, e),
            Err(_) => {
                log::error!("bug: panic in {}", describe(ereq));
                Response::new(500)
            }
        }
    }

    /// Decode the WBXML body; an empty body is `None`. Undecodable bodies get
    /// InvalidWBXML (102) in the command's Status from 14.0, HTTP 400 before.
    pub fn decode_body(&self, ereq: &EasRequest, body: &[u8]) -> Result<Option<Element>, Response> {
        if body.is_empty() {
            return Ok(None);
        }
        let limits = wbxml::Limits {
            max_bytes: usize::try_from(self.config.server.max_body_bytes).unwrap_or(usize::MAX),
            ..wbxml::Limits::default()
        };
        match wbxml::decode(body, &limits) {
            Ok(e) => Ok(Some(e)),
            Err(e) => {
                log::warn!("{}: undecodable WBXML body: {e}", describe(ereq));
                Err(status_or_http(ereq, common::INVALID_WBXML, 400))
            }
        }
    }

    /// Open the device's state and run the provisioning gate
    /// (`command::provision::gate`) before the command. Ping works from an
    /// unlocked snapshot so a held Ping never blocks the device's Sync; every
    /// other command holds the device's lock until it is answered. Invalid
    /// ids get 400 without touching any file.
    fn open_device(&self, ereq: &EasRequest) -> Result<Device, Response> {
        let store = Store::new(self.config.server.state_dir.clone());
        let opened = if ereq.cmd == "Ping" {
            store.open_shared(&ereq.user, &ereq.device_id)
        } else {
            store.open(&ereq.user, &ereq.device_id)
        };
        let state_error = |e: StateError| match e {
            StateError::InvalidId(why) => {
                log::info!("{}: {why}", describe(ereq));
                Response::new(400)
            }
            other => {
                log::error!("{}: device state: {other}", describe(ereq));
                Response::new(500)
            }
        };
        let mut device = opened.map_err(state_error)?;
        let gate = provision::gate(ereq, &mut device, &self.config);
        if device.is_locked() {
            device.save_info().map_err(state_error)?;
        }
        match gate {
            Gate::Pass => Ok(device),
            Gate::Http449 => Err(Response::new(449)),
            Gate::Status(code) => Err(status_or_http(ereq, code, 449)),
            Gate::Forbidden => Err(Response::new(403)),
        }
    }

    fn unauthorized(&self) -> Response {
        Response::new(401).with_header(
            "WWW-Authenticate",
            format!(
                "Basic realm=\"{}\"",
                self.config.server.realm.replace('"', "")
            ),
        )
    }

    fn backend_error(&self, what: &str, e: BackendError) -> Response {
        match e {
            BackendError::AuthFailed => {
                log::info!("{what}: authentication failed");
                self.unauthorized()
            }
            BackendError::Unavailable(msg) => {
                log::warn!("{what}: backend unavailable: {msg}");
                Response::new(503).with_header("Retry-After", RETRY_AFTER_SECS.to_string())
            }
            BackendError::PermissionDenied(msg) => {
                log::warn!("{what}: permission denied: {msg}");
                Response::new(403)
            }
            other => {
                log::error!("{what}: backend error: {other:#}");
                Response::new(500)
            }
        }
    }

    fn command_error(&self, ereq: &EasRequest, e: CommandError) -> Response {
        match e {
            CommandError::BadRequest(msg) => {
                log::warn!("{}: bad request: {msg}", describe(ereq));
                status_or_http(ereq, common::INVALID_XML, 400)
            }
            CommandError::Backend(e) => self.backend_error(&describe(ereq), e),
            CommandError::Internal(e) => {
                log::error!("{}: {e:#}", describe(ereq));
                Response::new(500)
            }
        }
    }
}

/// One debug log entry: the request and the response as XML (whatever
/// answered: the command, the provisioning gate or the decoder).
fn debug_entry(
    ereq: &EasRequest,
    request: Option<&Element>,
    request_len: usize,
    response: &Response,
    calls: u32,
) -> String {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut entry = format!("=== {now} {}\n", describe(ereq));
    match request {
        Some(e) => entry.push_str(&format!(
            ">>> request\n{}\n",
            wbxml::xml::to_xml(&super::debug_log::redacted(e))
        )),
        None if request_len > 0 => entry.push_str(&format!(
            ">>> request: {request_len} bytes of undecodable WBXML\n"
        )),
        None => entry.push_str(">>> request without body\n"),
    }
    // A multipart ItemOperations answer shows its WBXML part. A body too
    // large to log (an attachment in a spool file) is shown by its size.
    let body: Option<Cow<[u8]>> = match response.body.bytes() {
        Some(bytes) => Some(Cow::Borrowed(bytes)),
        None if response.body.len() <= DEBUG_BODY_LIMIT => {
            response.body.to_vec().ok().map(Cow::Owned)
        }
        None => None,
    };
    let document = match (response.header("Content-Type"), &body) {
        (Some(WBXML_CONTENT_TYPE), Some(body)) => Some(body.as_ref()),
        (Some(command::item_operations::MULTIPART_CONTENT_TYPE), Some(body)) => {
            command::item_operations::wbxml_part(body)
        }
        _ => None,
    };
    match document.map(|d| wbxml::decode(d, &wbxml::Limits::default())) {
        Some(Ok(e)) => entry.push_str(&format!("<<< response\n{}\n", wbxml::xml::to_xml(&e))),
        _ => entry.push_str(&format!("<<< response: {} bytes\n", response.body.len())),
    }
    entry.push_str(&format!(
        "--- HTTP {}, backend calls: {calls}\n\n",
        response.status
    ));
    entry
}

/// `user alice device ABC (iPhone) Sync 14.1`, for every log line about a request.
fn describe(r: &EasRequest) -> String {
    format!(
        "user {} device {} ({}) {} {}",
        r.user, r.device_id, r.device_type, r.cmd, r.version
    )
}

/// From 14.0 the common status in the command's own response; before, or
/// for commands without a WBXML response, the HTTP status.
fn status_or_http(ereq: &EasRequest, code: u32, http_status: u16) -> Response {
    match command_status(&ereq.cmd, code).filter(|_| ereq.version.common_status_codes()) {
        Some(e) => wbxml_response(&e),
        None => Response::new(http_status),
    }
}

fn request_error(e: &RequestError, config: &Config) -> Response {
    match e {
        RequestError::BadRequest(_) => Response::new(400),
        // MS-ASHTTP: the client learns the versions it may use from
        // MS-ASProtocolVersions, as in the OPTIONS answer.
        RequestError::UnsupportedVersion(_) => Response::new(400).with_header(
            "MS-ASProtocolVersions",
            command::options::versions_header(config),
        ),
        RequestError::UnknownCommandCode(_) => Response::new(501),
    }
}

fn wbxml_response(e: &Element) -> Response {
    Response::new(200).with_body(WBXML_CONTENT_TYPE, wbxml::encode(e))
}

fn outcome_response(outcome: Outcome) -> Response {
    match outcome {
        Outcome::Wbxml(e) => wbxml_response(&e),
        Outcome::Empty => Response::new(200),
        Outcome::Http(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{ChangeSet, Collection, Cursor, Result as BResult, Window};
    use crate::model::{Class, Item};
    use base64::Engine;

    /// Accepts alice/pw; user `down` finds the backend unavailable; user
    /// `boom` makes the backend panic.
    struct FakeBackend;
    struct FakeSession;

    impl Backend for FakeBackend {
        fn open(&self, user: &str, password: &str) -> BResult<Box<dyn Session>> {
            match (user, password) {
                ("alice", "pw") => Ok(Box::new(FakeSession)),
                ("down", _) => Err(BackendError::Unavailable("test".into())),
                ("boom", _) => panic!("fake backend bug"),
                _ => Err(BackendError::AuthFailed),
            }
        }
    }

    fn none<T>() -> BResult<T> {
        Err(BackendError::NotFound("fake".into()))
    }

    impl Session for FakeSession {
        fn collections(&mut self) -> BResult<Vec<Collection>> {
            Ok(Vec::new())
        }
        fn create_collection(&mut self, _: Class, _: &str, _: Option<&str>) -> BResult<Collection> {
            none()
        }
        fn rename_collection(&mut self, _: &str, _: &str) -> BResult<()> {
            none()
        }
        fn delete_collection(&mut self, _: &str) -> BResult<()> {
            none()
        }
        fn cursor(&mut self, _: &Collection) -> BResult<Cursor> {
            none()
        }
        fn list(&mut self, _: &Collection, _: Window) -> BResult<Vec<String>> {
            none()
        }
        fn changes(&mut self, _: &Collection, _: &Cursor) -> BResult<ChangeSet> {
            none()
        }
        fn fetch(&mut self, _: &Collection, _: &[String]) -> BResult<Vec<(String, Item)>> {
            none()
        }
        fn add(&mut self, _: &Collection, _: &Item) -> BResult<String> {
            none()
        }
        fn replace(&mut self, _: &Collection, _: &str, _: &Item) -> BResult<()> {
            none()
        }
        fn delete(&mut self, _: &Collection, _: &str) -> BResult<()> {
            none()
        }
        fn move_item(&mut self, _: &Collection, _: &str, _: &Collection) -> BResult<String> {
            none()
        }
    }

    fn server() -> Server {
        Server::with_backend(Config::default(), Box::new(FakeBackend))
    }

    fn request(method: &str, query: &str, auth: Option<(&str, &str)>, version: &str) -> Request {
        let mut headers = vec![("MS-ASProtocolVersion".to_string(), version.to_string())];
        if let Some((u, p)) = auth {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            headers.push(("Authorization".into(), format!("Basic {token}")));
        }
        Request {
            method: method.into(),
            path: "/Microsoft-Server-ActiveSync".into(),
            query: query.into(),
            headers,
            ..Request::default()
        }
    }

    const Q: &str = "Cmd=FolderSync&User=alice&DeviceId=DEV1&DeviceType=test";

    #[test]
    fn options_requires_auth() {
        let s = server();
        let r = s.handle(&request("OPTIONS", "", None, "14.1"));
        assert_eq!(r.status, 401);
        assert_eq!(
            r.header("WWW-Authenticate"),
            Some("Basic realm=\"Horde ActiveSync\"")
        );
        assert_eq!(
            s.handle(&request("OPTIONS", "", Some(("alice", "no")), ""))
                .status,
            401
        );
        let r = s.handle(&request("OPTIONS", "", Some(("alice", "pw")), ""));
        assert_eq!(r.status, 200);
        assert!(r.header("MS-ASProtocolVersions").unwrap().contains("14.1"));
    }

    #[test]
    fn post_error_statuses() {
        let s = server();
        assert_eq!(s.handle(&request("GET", Q, None, "14.1")).status, 405);
        assert_eq!(s.handle(&request("POST", Q, None, "14.1")).status, 401);
        assert_eq!(
            s.handle(&request("POST", Q, Some(("alice", "x")), "14.1"))
                .status,
            401
        );
        let r = s.handle(&request("POST", Q, Some(("alice", "pw")), "9.9"));
        assert_eq!(
            (r.status, r.header("MS-ASProtocolVersions").is_some()),
            (400, true)
        );
        let r = s.handle(&request("POST", Q, Some(("down", "pw")), "14.1"));
        assert_eq!((r.status, r.header("Retry-After")), (503, Some("60")));
        assert_eq!(
            s.handle(&request(
                "POST",
                "Cmd=NoSuch&DeviceId=d&DeviceType=t",
                Some(("alice", "pw")),
                "14.1"
            ))
            .status,
            501
        );
        assert_eq!(
            s.handle(&request(
                "POST",
                "Cmd=Sync&DeviceType=t",
                Some(("alice", "pw")),
                "14.1"
            ))
            .status,
            400
        );
        let mut big = request("POST", Q, Some(("alice", "pw")), "14.1");
        big.body = vec![0; 11];
        let mut config = Config::default();
        config.server.max_body_bytes = 10;
        let small = Server::with_backend(config, Box::new(FakeBackend));
        assert_eq!(small.handle(&big).status, 413);
    }

    #[test]
    fn a_panic_becomes_500() {
        let r = server().handle(&request("POST", Q, Some(("boom", "pw")), "14.1"));
        assert_eq!(r.status, 500);
    }

    #[test]
    fn undecodable_body_status_depends_on_version() {
        let s = server();
        let parse = |v: &str| {
            EasRequest::parse(&request("POST", Q, Some(("alice", "pw")), v), s.config()).unwrap()
        };
        let garbage = [0x03, 0x01, 0x6a, 0x00, 0xff, 0xff, 0xff];
        assert_eq!(
            s.decode_body(&parse("12.1"), &garbage).unwrap_err().status,
            400
        );
        let r = s.decode_body(&parse("14.0"), &garbage).unwrap_err();
        assert_eq!(r.status, 200);
        let e = wbxml::decode(r.body.bytes().unwrap(), &wbxml::Limits::default()).unwrap();
        assert_eq!(
            e,
            command_status("FolderSync", common::INVALID_WBXML).unwrap()
        );
        assert_eq!(s.decode_body(&parse("14.0"), &[]).unwrap(), None);
    }

    #[test]
    fn the_debug_log_shows_large_bodies_by_their_size() {
        use std::io::Write;
        let s = server();
        let ereq = EasRequest::parse(
            &request("POST", Q, Some(("alice", "pw")), "14.1"),
            s.config(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut file = crate::blob::Spool::new(dir.path()).create().unwrap();
        let size = DEBUG_BODY_LIMIT + 1;
        file.write_all(&vec![b'x'; size as usize]).unwrap();
        let big = Response::new(200).with_body(WBXML_CONTENT_TYPE, file.finish().unwrap());
        let entry = debug_entry(&ereq, None, 0, &big, 1);
        assert!(
            entry.contains(&format!("<<< response: {size} bytes\n")),
            "{entry}"
        );
        let doc = command_status("FolderSync", common::INVALID_WBXML).unwrap();
        let entry = debug_entry(&ereq, None, 0, &wbxml_response(&doc), 1);
        assert!(entry.contains("<<< response\n"), "{entry}");
    }
}
