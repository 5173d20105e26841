//! A JSON-RPC 1.1 client for Horde's `rpc.php` (`Horde_Rpc_Jsonrpc`).
//!
//! - One call per HTTP request: Horde rejects a batch (a JSON array) with
//!   "Request must be a JSON object", so bulk reads come from bulk API methods.
//! - HTTP Basic with the device user's own credentials on every call: Horde
//!   checks the password on each request and answers 401 when it is wrong.
//! - One `ureq::Agent` per process, so calls reuse keep-alive connections.
//! - Horde's session cookie (`Horde=`) is kept in memory per user and URL for
//!   the life of the process and sent back: Horde then reuses its PHP session
//!   instead of building a new one (and leaving a session file behind) on every
//!   call. Nothing is persisted: a CGI process making one request gets one new
//!   Horde session per request, which is what any stateless client costs.
//!   The cookie never replaces the password check (Horde re-authenticates
//!   every request), so a stale or foreign cookie cannot grant access.

use super::super::{BackendError, Result};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Largest JSON-RPC reply read (a whole calendar or task list export).
const MAX_REPLY_BYTES: u64 = 256 * 1024 * 1024;

/// The process-wide HTTP agent: its connection pool gives keep-alive.
fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::AgentBuilder::new()
            .max_idle_connections_per_host(8)
            .build()
    })
}

/// Horde session cookies (`name=value`) by `user@url`, for this process.
fn cookie_jar() -> &'static Mutex<HashMap<String, String>> {
    static JAR: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    JAR.get_or_init(Default::default)
}

/// Logins Horde accepted lately in this process, by `user@url`: the password
/// and when, plus what the check answered (see [`RpcClient::recent_login`]).
type Logins = HashMap<String, (String, Instant, Value)>;

fn recent_logins() -> &'static Mutex<Logins> {
    static LOGINS: OnceLock<Mutex<Logins>> = OnceLock::new();
    LOGINS.get_or_init(Default::default)
}

/// How long an accepted login is trusted without asking Horde again.
/// Horde still checks the password on every call, so a password changed
/// meanwhile fails the session's first call with `AuthFailed` anyway.
const LOGIN_TRUSTED_FOR: Duration = Duration::from_secs(60);

/// One user's connection to `rpc.php`; counts its calls.
pub struct RpcClient {
    url: String,
    user: String,
    password: String,
    timeout: Duration,
    calls: u32,
}

impl RpcClient {
    pub fn new(url: &str, user: &str, password: &str, timeout: Duration) -> RpcClient {
        RpcClient {
            url: url.to_string(),
            user: user.to_string(),
            password: password.to_string(),
            timeout,
            calls: 0,
        }
    }

    /// The `rpc.php` address this client calls.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// JSON-RPC calls made so far (each is one HTTP round trip).
    pub fn calls(&self) -> u32 {
        self.calls
    }

    fn jar_key(&self) -> String {
        format!("{}@{}", self.user, self.url)
    }

    /// What `method` answered for this user and password within the last
    /// [`LOGIN_TRUSTED_FOR`] in this process (a long-running `serve` or
    /// FastCGI process then skips the login check on most requests).
    pub fn recent_login(&self) -> Option<Value> {
        let logins = recent_logins().lock().ok()?;
        let (password, when, answer) = logins.get(&self.jar_key())?;
        (*password == self.password && when.elapsed() < LOGIN_TRUSTED_FOR).then(|| answer.clone())
    }

    /// Remember that Horde accepted this login, answering `answer`.
    pub fn remember_login(&self, answer: &Value) {
        if let Ok(mut logins) = recent_logins().lock() {
            let entry = (self.password.clone(), Instant::now(), answer.clone());
            logins.insert(self.jar_key(), entry);
        }
    }

    fn forget_login(&self) {
        if let Ok(mut logins) = recent_logins().lock() {
            logins.remove(&self.jar_key());
        }
    }

    /// Call `method` (e.g. `contacts.listUids`) with positional `params`.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        self.calls += 1;
        self.send(method, params, self.calls)
    }

    /// Make independent calls at the same time, one HTTP connection each;
    /// the answers come back in the order of `calls`.
    ///
    /// Horde spends ~15-20 ms of PHP on every call, almost all of it booting
    /// and checking the login, so calls that do not depend on each other
    /// (the four apps' collection lists, say) cost the time of one call on a
    /// Horde with several cores instead of the sum. They share the session
    /// cookie: Horde re-authenticates each call and does not lock the session
    /// for a JSON-RPC request.
    pub fn call_all(&mut self, calls: Vec<(String, Value)>) -> Vec<Result<Value>> {
        let first_id = self.calls;
        self.calls += calls.len() as u32;
        if calls.len() == 1 {
            let (method, params) = calls.into_iter().next().expect("one call");
            return vec![self.send(&method, params, first_id + 1)];
        }
        let this = &*self;
        std::thread::scope(|scope| {
            let running: Vec<_> = calls
                .into_iter()
                .zip(first_id + 1..)
                .map(|((method, params), id)| {
                    std::thread::Builder::new()
                        .stack_size(256 * 1024)
                        .spawn_scoped(scope, move || this.send(&method, params, id))
                })
                .collect();
            running
                .into_iter()
                .map(|spawned| match spawned {
                    Ok(handle) => handle.join().unwrap_or_else(|_| {
                        Err(BackendError::Other(anyhow::anyhow!(
                            "a JSON-RPC call panicked"
                        )))
                    }),
                    Err(e) => Err(BackendError::Unavailable(format!(
                        "no thread for a call: {e}"
                    ))),
                })
                .collect()
        })
    }

    /// One HTTP round trip: the JSON-RPC request `id` for `method`.
    fn send(&self, method: &str, params: Value, id: u32) -> Result<Value> {
        let body = json!({"version": "1.1", "method": method, "params": params, "id": id});
        let started = Instant::now();
        let mut request = agent()
            .post(&self.url)
            .timeout(self.timeout)
            .set("Content-Type", "application/json")
            .set("Accept", "application/json")
            .set("Authorization", &basic_auth(&self.user, &self.password));
        let cookie = cookie_jar()
            .lock()
            .ok()
            .and_then(|jar| jar.get(&self.jar_key()).cloned());
        if let Some(cookie) = &cookie {
            request = request.set("Cookie", cookie);
        }
        let outcome = request.send_string(&body.to_string());
        log::debug!(
            "horde rpc {method} user={} {:?} in {} ms",
            self.user,
            outcome.as_ref().map(|r| r.status()).map_err(error_status),
            started.elapsed().as_millis()
        );
        let response = match outcome {
            Ok(response) => response,
            Err(ureq::Error::Status(status, response)) => {
                if status == 401 {
                    self.forget_login();
                }
                return Err(status_error(
                    method,
                    status,
                    response.into_string().unwrap_or_default(),
                ));
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(BackendError::Unavailable(format!("{method}: {t}")))
            }
        };
        self.remember_cookie(&response);
        // Not `into_string`: it stops at 10 MB, and a whole-calendar export
        // can be larger.
        let mut text = String::new();
        let read = response
            .into_reader()
            .take(MAX_REPLY_BYTES)
            .read_to_string(&mut text);
        read.map_err(|e| BackendError::Unavailable(format!("{method}: reading reply: {e}")))?;
        parse_reply(method, &text)
    }

    /// GET another page of the same Horde, `path` relative to the folder of
    /// rpc.php (Kronolith's published free/busy, `kronolith/fb.php?u=...`);
    /// counted as a call. At most `limit` bytes are read.
    pub fn get_page(&mut self, path: &str, limit: u64) -> Result<String> {
        self.calls += 1;
        let base = self
            .url
            .rsplit_once('/')
            .map_or(self.url.as_str(), |(b, _)| b);
        let url = format!("{base}/{path}");
        let response = match agent().get(&url).timeout(self.timeout).call() {
            Ok(response) => response,
            Err(ureq::Error::Status(404, _)) => {
                return Err(BackendError::NotFound(format!("Horde page {path}")))
            }
            Err(e) => return Err(BackendError::Unavailable(format!("{path}: {e}"))),
        };
        let mut text = String::new();
        response
            .into_reader()
            .take(limit)
            .read_to_string(&mut text)
            .map_err(|e| BackendError::Unavailable(format!("{path}: reading reply: {e}")))?;
        Ok(text)
    }

    fn remember_cookie(&self, response: &ureq::Response) {
        let horde = response
            .all("set-cookie")
            .into_iter()
            .filter_map(|c| c.split(';').next())
            .rfind(|c| c.starts_with("Horde="));
        if let (Some(cookie), Ok(mut jar)) = (horde, cookie_jar().lock()) {
            jar.insert(self.jar_key(), cookie.to_string());
        }
    }
}

fn error_status(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Status(code, _) => code.to_string(),
        ureq::Error::Transport(t) => t.kind().to_string(),
    }
}

fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine;
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// A non-2xx reply: 401 is a wrong login; 500 carries a JSON-RPC error (or
/// is a PHP crash); other 5xx mean Horde is not serving right now.
fn status_error(method: &str, status: u16, body: String) -> BackendError {
    match status {
        401 => BackendError::AuthFailed,
        500 => match serde_json::from_str::<Value>(&body) {
            Ok(reply) if reply.get("error").is_some() => rpc_error(method, &reply["error"]),
            _ => BackendError::Unavailable(format!("{method}: HTTP 500 without a JSON-RPC reply")),
        },
        502..=504 => BackendError::Unavailable(format!("{method}: HTTP {status}")),
        _ => BackendError::Other(anyhow::anyhow!("{method}: unexpected HTTP {status}")),
    }
}

/// Map a JSON-RPC error object to a backend error. Horde sends code 999 for
/// almost everything, so the message is what tells the kinds apart.
fn rpc_error(method: &str, error: &Value) -> BackendError {
    let message = error["message"]
        .as_str()
        .unwrap_or("unknown error")
        .to_string();
    let lower = message.to_lowercase();
    let text = format!("{method}: {message}");
    // "Attribute \"DTSTART\" Not Found" is Horde's parser refusing an item.
    if lower.contains("not found") && !lower.starts_with("attribute") {
        BackendError::NotFound(text)
    } else if lower.contains("permission denied") || lower.contains("is not authorized for") {
        // The second is Horde refusing to start an app for this user.
        BackendError::PermissionDenied(text)
    } else if lower.contains("is not defined") {
        BackendError::Other(anyhow::Error::new(UndefinedMethod(text)))
    } else {
        BackendError::Invalid(text)
    }
}

/// Horde's answer to a method no installed application provides
/// (`Method "x.y" is not defined`), kept apart so a caller can tell "this
/// Horde lacks the method" from a method that failed.
#[derive(Debug)]
pub struct UndefinedMethod(String);

impl std::fmt::Display for UndefinedMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UndefinedMethod {}

/// Did Horde answer that the called method does not exist?
pub fn is_undefined_method(e: &BackendError) -> bool {
    matches!(e, BackendError::Other(e) if e.downcast_ref::<UndefinedMethod>().is_some())
}

/// A 200 reply is either `{"result": ...}`, or a Horde fatal-error HTML page
/// (Horde answers some PHP errors with status 200).
fn parse_reply(method: &str, text: &str) -> Result<Value> {
    match serde_json::from_str::<Value>(text) {
        Ok(mut reply) => {
            if let Some(error) = reply.get("error").filter(|e| !e.is_null()) {
                return Err(rpc_error(method, error));
            }
            Ok(reply
                .get_mut("result")
                .map(Value::take)
                .unwrap_or(Value::Null))
        }
        Err(_) => Err(BackendError::Other(anyhow::anyhow!(
            "{method}: Horde failed: {}",
            fatal_error_text(text)
        ))),
    }
}

/// The message of Horde's "A fatal error has occurred" page (`<h3>...</h3>`).
fn fatal_error_text(page: &str) -> String {
    let inner = page
        .split("<h3>")
        .nth(1)
        .and_then(|s| s.split("</h3>").next())
        .unwrap_or(page);
    inner.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_is_unwrapped() {
        let v = parse_reply("m", r#"{"version":"1.1","result":{"a":1},"id":1}"#).unwrap();
        assert_eq!(v, json!({"a": 1}));
    }

    #[test]
    fn json_rpc_errors_are_classified() {
        let e = |m: &str| status_error("x", 500, json!({"error": {"message": m}}).to_string());
        assert!(matches!(
            e("no-such-uid not found"),
            BackendError::NotFound(_)
        ));
        assert!(matches!(
            e("Permission Denied"),
            BackendError::PermissionDenied(_)
        ));
        assert!(matches!(e("bad vCard"), BackendError::Invalid(_)));
        let undefined = e("Method \"activesync.sources\" is not defined");
        assert!(is_undefined_method(&undefined), "{undefined}");
        assert!(undefined.to_string().contains("activesync.sources"));
        assert!(!is_undefined_method(&e("Permission Denied")));
        assert!(matches!(
            e("User bob is not authorized for Address Book (Host: 127.0.0.1)."),
            BackendError::PermissionDenied(_)
        ));
        assert!(matches!(
            e("Attribute \"DTSTART\" Not Found"),
            BackendError::Invalid(_)
        ));
        assert!(matches!(
            status_error("x", 500, "<html>".into()),
            BackendError::Unavailable(_)
        ));
        assert!(matches!(
            status_error("x", 401, String::new()),
            BackendError::AuthFailed
        ));
        assert!(matches!(
            status_error("x", 503, String::new()),
            BackendError::Unavailable(_)
        ));
    }

    #[test]
    fn fatal_error_page_gives_its_message() {
        let page = "<html><h1>A fatal error has occurred</h1><h3>Call to a member function share() on bool</h3></html>";
        let err = parse_reply("calendar.updateCalendar", page).unwrap_err();
        assert!(err.to_string().contains("share() on bool"), "{err}");
    }
}
