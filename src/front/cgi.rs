//! CGI (RFC 3875): one process per request. The request comes from the
//! environment and stdin, the response goes to stdout as `Status:`, headers
//! and body. An oversized body is refused with 413 without being buffered. FastCGI passes the same variables, so it reuses
//! [`request_from_env`] and [`write_response`].

use crate::config::Config;
use crate::eas::Server;
use crate::http::{reason, Request, Response};
use anyhow::Result;
use std::io::{self, Read, Write};

pub fn run(config: Config) -> Result<()> {
    super::init_logging(&config.log);
    let vars: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let response = answer(config, &vars, &mut io::stdin().lock());
    // Block-buffered: stdout alone flushes at every newline of a binary body.
    let mut out = io::BufWriter::with_capacity(crate::blob::CHUNK, io::stdout().lock());
    write_response(&response, &mut out)?;
    out.flush()?;
    Ok(())
}

/// True when a web server runs us as CGI: `GATEWAY_INTERFACE` is set and
/// there are no arguments, or only the words of a query without `=` (a
/// base64 ActiveSync query), which RFC 3875 4.4 has servers pass as arguments.
pub fn is_cgi_invocation(args: &[String]) -> bool {
    std::env::var_os("GATEWAY_INTERFACE").is_some()
        && (args.is_empty()
            || std::env::var("QUERY_STRING").is_ok_and(|q| !q.is_empty() && !q.contains('=')))
}

/// The whole CGI exchange minus the process: oversized bodies are refused
/// before a byte of them is read.
fn answer(config: Config, vars: &[(String, String)], stdin: &mut impl Read) -> Response {
    let length = match content_length(vars) {
        Ok(n) => n,
        Err(()) => return Response::new(400),
    };
    if length > config.server.max_body_bytes {
        super::discard_body(stdin, length);
        return Response::new(413);
    }
    let mut req = request_from_env(vars);
    if let Err(e) = stdin.take(length).read_to_end(&mut req.body) {
        log::warn!("reading the request body: {e}");
        return Response::new(400);
    }
    if (req.body.len() as u64) < length {
        log::warn!("request body shorter than CONTENT_LENGTH");
        return Response::new(400);
    }
    match Server::new(config) {
        Ok(server) => server.handle(&req),
        Err(e) => {
            log::error!("cannot start: {e:#}");
            Response::new(500)
        }
    }
}

/// `CONTENT_LENGTH`; absent or empty is 0, anything else must be a number.
pub(super) fn content_length(vars: &[(String, String)]) -> Result<u64, ()> {
    match var(vars, "CONTENT_LENGTH").map(str::trim) {
        None | Some("") => Ok(0),
        Some(n) => n.parse().map_err(|_| ()),
    }
}

fn var<'a>(vars: &'a [(String, String)], name: &str) -> Option<&'a str> {
    vars.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Build the request from CGI meta-variables (the body is left empty).
/// `HTTP_X_MS_POLICYKEY` becomes header `X-Ms-Policykey` (names compare
/// case-insensitively). Apache hides `Authorization` unless `CGIPassAuth On`;
/// behind a rewrite it arrives as `REDIRECT_HTTP_AUTHORIZATION`, used as a fallback.
pub fn request_from_env(vars: &[(String, String)]) -> Request {
    let mut headers: Vec<(String, String)> = vars
        .iter()
        .filter_map(|(k, v)| {
            let name = match k.as_str() {
                "CONTENT_TYPE" => "Content-Type".to_string(),
                "CONTENT_LENGTH" => "Content-Length".to_string(),
                _ => header_name(k.strip_prefix("HTTP_")?),
            };
            Some((name, v.clone()))
        })
        .collect();
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("Authorization"))
    {
        if let Some(auth) = var(vars, "REDIRECT_HTTP_AUTHORIZATION") {
            headers.push(("Authorization".into(), auth.to_string()));
        }
    }
    let path = format!(
        "{}{}",
        var(vars, "SCRIPT_NAME").unwrap_or_default(),
        var(vars, "PATH_INFO").unwrap_or_default()
    );
    Request {
        method: var(vars, "REQUEST_METHOD").unwrap_or("GET").to_string(),
        path,
        query: var(vars, "QUERY_STRING").unwrap_or_default().to_string(),
        headers,
        body: Vec::new(),
        remote_addr: var(vars, "REMOTE_ADDR").map(str::to_string),
    }
}

/// `X_MS_POLICYKEY` -> `X-Ms-Policykey`.
fn header_name(cgi: &str) -> String {
    cgi.split('_')
        .map(|part| {
            let lower = part.to_ascii_lowercase();
            let mut chars = lower.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// `Status: 200 OK`, the headers, `Content-Length`, an empty line, the
/// body (copied out piece by piece when it is in a spool file).
pub fn write_response(resp: &Response, out: &mut impl Write) -> io::Result<()> {
    write!(out, "Status: {} {}\r\n", resp.status, reason(resp.status))?;
    super::write_header_block(resp, out)?;
    resp.body.write_to(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_to_request() {
        let v = vars(&[
            ("REQUEST_METHOD", "POST"),
            ("SCRIPT_NAME", "/Microsoft-Server-ActiveSync"),
            ("QUERY_STRING", "Cmd=Sync&DeviceId=d"),
            ("CONTENT_TYPE", "application/vnd.ms-sync.wbxml"),
            ("CONTENT_LENGTH", "12"),
            ("HTTP_X_MS_POLICYKEY", "42"),
            ("HTTP_MS_ASPROTOCOLVERSION", "14.1"),
            ("REDIRECT_HTTP_AUTHORIZATION", "Basic eDp5"),
            ("REMOTE_ADDR", "10.0.0.1"),
            ("PATH", "/usr/bin"),
        ]);
        let r = request_from_env(&v);
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/Microsoft-Server-ActiveSync");
        assert_eq!(r.query, "Cmd=Sync&DeviceId=d");
        assert_eq!(r.header("x-ms-policykey"), Some("42"));
        assert_eq!(r.header("MS-ASProtocolVersion"), Some("14.1"));
        assert_eq!(
            r.header("Content-Type"),
            Some("application/vnd.ms-sync.wbxml")
        );
        assert_eq!(r.header("Authorization"), Some("Basic eDp5"));
        assert_eq!(r.header("Path"), None);
        assert_eq!(r.remote_addr.as_deref(), Some("10.0.0.1"));
        // A directly passed Authorization wins over the rewrite copy.
        let r = request_from_env(&vars(&[
            ("HTTP_AUTHORIZATION", "Basic a"),
            ("REDIRECT_HTTP_AUTHORIZATION", "Basic b"),
        ]));
        assert_eq!(r.header("Authorization"), Some("Basic a"));
        assert_eq!(r.headers.len(), 1);
    }

    #[test]
    fn response_format() {
        let resp =
            Response::new(401).with_header("WWW-Authenticate", "Basic realm=\"x\"\r\nInjected: 1");
        let mut out = Vec::new();
        write_response(&resp, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Status: 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"Injected: 1\r\nContent-Length: 0\r\n\r\n"
        );
        let resp =
            Response::new(200).with_body("application/vnd.ms-sync.wbxml", vec![3, 1, 106, 0]);
        let mut out = Vec::new();
        write_response(&resp, &mut out).unwrap();
        let mut expected = b"Status: 200 OK\r\nContent-Type: application/vnd.ms-sync.wbxml\r\nContent-Length: 4\r\n\r\n".to_vec();
        expected.extend_from_slice(&[3, 1, 106, 0]);
        assert_eq!(out, expected);
        // A body of segments: written in order, its length announced.
        let mut body = crate::http::Body::from(b"x".to_vec());
        body.push(crate::http::Segment::Base64(b"hi".to_vec().into()));
        let resp = Response::new(200).with_body("text/plain", body);
        let mut out = Vec::new();
        write_response(&resp, &mut out).unwrap();
        assert!(out.ends_with(b"Content-Length: 5\r\n\r\nxaGk="));
    }

    /// A reader of `len` zero bytes that counts what was read.
    struct Counting {
        len: u64,
        read: u64,
    }
    impl Read for Counting {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = (self.len - self.read).min(buf.len() as u64) as usize;
            buf[..n].fill(0);
            self.read += n as u64;
            Ok(n)
        }
    }

    #[test]
    fn oversized_and_malformed_bodies() {
        let mut config = Config::default();
        config.server.max_body_bytes = 100;
        let post = |length: &str| vars(&[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", length)]);
        // Refused, and consumed so the web server can deliver the 413.
        let mut body = Counting { len: 101, read: 0 };
        assert_eq!(answer(config.clone(), &post("101"), &mut body).status, 413);
        assert_eq!(body.read, 101);
        // Far too large to be worth reading: not read at all.
        let huge = (super::super::DISCARD_LIMIT + 1).to_string();
        let mut body = Counting {
            len: u64::MAX,
            read: 0,
        };
        assert_eq!(answer(config.clone(), &post(&huge), &mut body).status, 413);
        assert_eq!(body.read, 0);
        let mut body = Counting { len: 0, read: 0 };
        assert_eq!(answer(config.clone(), &post("ten"), &mut body).status, 400);
        assert_eq!(answer(config, &post("10"), &mut &b"short"[..]).status, 400);
        assert_eq!(content_length(&vars(&[])), Ok(0));
    }
}
