//! `horde-activesync serve`: a small HTTP/1.1 server for development, demos
//! and tests. Keep-alive, `Content-Length` bodies (ActiveSync clients do not
//! chunk requests), `Expect: 100-continue`, only `/Microsoft-Server-ActiveSync`
//! and the Autodiscover path.
//! One small-stack thread per connection, like the FastCGI front end.

use super::workers::{accept_loop, Activity, Listener, Stream};
use crate::backend::embedded::users::ensure_demo_user;
use crate::config::{BackendKind, Config};
use crate::eas::Server;
use crate::http::{reason, Request, Response};
use anyhow::{bail, Context, Result};
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The one path ActiveSync clients use (MS-ASHTTP 2.2.1.1.1).
pub const EAS_PATH: &str = "/Microsoft-Server-ActiveSync";

/// Largest request head (request line and headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_HEADERS: usize = 64;

/// An idle keep-alive connection is closed after this long. A held Ping is
/// not idle: the server is the one holding it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// The command line of `serve`.
#[derive(Debug, Default, PartialEq)]
struct Options {
    listen: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

const USAGE: &str =
    "usage: horde-activesync serve [--listen ADDR] [--tls-cert FILE --tls-key FILE]";

fn parse_options(args: &[String]) -> Result<Options> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, value) = match arg.split_once('=') {
            Some((f, v)) => (f, v.to_string()),
            None => (arg.as_str(), args.next().cloned().context(USAGE)?),
        };
        match flag {
            "--listen" => options.listen = Some(value),
            "--tls-cert" => options.tls_cert = Some(value.into()),
            "--tls-key" => options.tls_key = Some(value.into()),
            _ => bail!(USAGE),
        }
    }
    if options.tls_cert.is_some() != options.tls_key.is_some() {
        bail!("--tls-cert and --tls-key go together\n{USAGE}");
    }
    Ok(options)
}

pub fn run(config: Config, args: &[String]) -> Result<()> {
    super::init_logging(&config.log);
    let options = parse_options(args)?;
    let addr = options
        .listen
        .unwrap_or_else(|| config.server.listen.clone());
    let tls = match (&options.tls_cert, &options.tls_key) {
        (Some(cert), Some(key)) => Some(super::tls::server_config(cert, key)?),
        _ => None,
    };
    let listener =
        std::net::TcpListener::bind(&addr).with_context(|| format!("listening on {addr}"))?;
    announce_demo_user(&config)?;
    let server = Arc::new(Server::new(config)?);
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    log::info!("serving {scheme}://{local}{EAS_PATH}");
    accept_loop(Listener::Tcp(listener), move |stream, activity| {
        if let Err(e) = serve_connection(stream, &server, activity, tls.as_ref()) {
            log::debug!("HTTP connection ended: {e}");
        }
    })
}

/// On the first `serve` with an empty embedded store, create user `demo`
/// with a random password and print it, once, so a newcomer can log in.
fn announce_demo_user(config: &Config) -> Result<()> {
    if config.backend.kind != BackendKind::Embedded {
        return Ok(());
    }
    if let Some(password) = ensure_demo_user(&config.backend.embedded_db)? {
        println!(
            "Created user \"demo\" with password \"{password}\" (shown only now; \
             change it with `horde-activesync users passwd demo`)."
        );
    }
    Ok(())
}

/// What the head of one request says about how to read and answer it.
struct Head {
    request: Request,
    content_length: u64,
    keep_alive: bool,
    expect_continue: bool,
    chunked: bool,
}

/// One connection, plain or wrapped in TLS; the requests on it are served
/// by the same code either way.
fn serve_connection(
    stream: Stream,
    server: &Server,
    activity: &Activity,
    tls: Option<&Arc<rustls::ServerConfig>>,
) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    let peer = stream.peer();
    let Some(tls) = tls else {
        return serve_requests(stream, peer, server, activity);
    };
    let session = rustls::ServerConnection::new(Arc::clone(tls)).map_err(io::Error::other)?;
    let mut wrapped = rustls::StreamOwned::new(session, stream);
    let result = serve_requests(&mut wrapped, peer, server, activity);
    wrapped.conn.send_close_notify();
    let _ = wrapped.flush();
    result
}

fn serve_requests(
    mut stream: impl Read + Write,
    peer: Option<String>,
    server: &Server,
    activity: &Activity,
) -> io::Result<()> {
    let max_body = server.config().server.max_body_bytes;
    // Bytes read but not yet used (a pipelined next request, say).
    let mut buffered: Vec<u8> = Vec::new();
    loop {
        let Some(head_len) = read_head(&mut stream, &mut buffered)? else {
            return Ok(());
        };
        let head = match parse_head(&buffered[..head_len]) {
            Ok(h) => h,
            Err(status) => return write_response(&mut stream, &Response::new(status), false),
        };
        buffered.drain(..head_len);
        let refuse = |status| (status, false);
        let early = if head.chunked {
            Some(refuse(411))
        } else if head.content_length > max_body {
            Some(refuse(413))
        } else if !head.request.path.eq_ignore_ascii_case(EAS_PATH)
            && !crate::eas::autodiscover::is_autodiscover(&head.request)
        {
            // The body is left unread, so the connection cannot be reused.
            Some((404, head.content_length == 0 && head.keep_alive))
        } else {
            None
        };
        if let Some((status, keep)) = early {
            write_response(&mut stream, &Response::new(status), keep)?;
            if keep {
                continue;
            }
            // A client that is sending its body anyway (it did not wait for
            // 100 Continue) gets it consumed, so that closing does not reset
            // the connection before it has read the answer.
            if !head.chunked && !head.expect_continue {
                let buffered_part = buffered.len().min(head.content_length as usize);
                super::discard_body(&mut stream, head.content_length - buffered_part as u64);
            }
            return Ok(());
        }
        if head.expect_continue && head.content_length > buffered.len() as u64 {
            stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        let mut request = head.request;
        request.body = read_body(&mut stream, &mut buffered, head.content_length as usize)?;
        request.remote_addr = peer.clone();
        let response = {
            let _busy = activity.begin();
            server.handle(&request)
        };
        let keep = head.keep_alive && !activity.stopping();
        write_response(&mut stream, &response, keep)?;
        if !keep {
            return Ok(());
        }
    }
}

/// Read until `buffered` holds a complete head; its length, or `None` when
/// the peer closed the connection between requests.
fn read_head(stream: &mut impl Read, buffered: &mut Vec<u8>) -> io::Result<Option<usize>> {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(pos) = buffered.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(Some(pos + 4));
        }
        if buffered.len() > MAX_HEAD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return if buffered.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        buffered.extend_from_slice(&chunk[..n]);
    }
}

/// Parse a complete head; the error is the HTTP status to answer with.
fn parse_head(bytes: &[u8]) -> Result<Head, u16> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Err(httparse::Error::TooManyHeaders) => return Err(431),
        _ => return Err(400),
    }
    let target = parsed.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let request = Request {
        method: parsed.method.unwrap_or_default().to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: Vec::new(),
        remote_addr: None,
    };
    let content_length = match request.header("Content-Length") {
        Some(v) => v.trim().parse::<u64>().map_err(|_| 400u16)?,
        None => 0,
    };
    let connection = request
        .header("Connection")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let keep_alive = match parsed.version {
        Some(1) => !connection.contains("close"),
        _ => connection.contains("keep-alive"),
    };
    Ok(Head {
        expect_continue: request
            .header("Expect")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue")),
        chunked: request.header("Transfer-Encoding").is_some(),
        content_length,
        keep_alive,
        request,
    })
}

/// Exactly `len` body bytes: first what is buffered, then from the stream.
fn read_body(stream: &mut impl Read, buffered: &mut Vec<u8>, len: usize) -> io::Result<Vec<u8>> {
    let from_buffer = len.min(buffered.len());
    let mut body: Vec<u8> = buffered.drain(..from_buffer).collect();
    if body.len() < len {
        let start = body.len();
        body.resize(len, 0);
        stream.read_exact(&mut body[start..])?;
    }
    Ok(body)
}

/// Write a response; `Connection` says whether the connection stays open
/// (explicitly also when open, which HTTP/1.0 clients need). The head and
/// a small body leave together; a body in a spool file is copied out
/// through the same bounded buffer.
fn write_response(stream: &mut impl Write, resp: &Response, keep_alive: bool) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(crate::blob::CHUNK, stream);
    write!(out, "HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status))?;
    let connection = if keep_alive { "keep-alive" } else { "close" };
    write!(out, "Connection: {connection}\r\n")?;
    super::write_header_block(resp, &mut out)?;
    resp.body.write_to(&mut out)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_parsing() {
        let h = parse_head(b"POST /Microsoft-Server-ActiveSync?Cmd=Sync&DeviceId=d HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nExpect: 100-continue\r\nMS-ASProtocolVersion: 14.1\r\n\r\n").unwrap();
        assert_eq!(h.request.method, "POST");
        assert_eq!(h.request.path, EAS_PATH);
        assert_eq!(h.request.query, "Cmd=Sync&DeviceId=d");
        assert_eq!(h.request.header("ms-asprotocolversion"), Some("14.1"));
        assert_eq!(h.content_length, 12);
        assert!(h.keep_alive && h.expect_continue && !h.chunked);
        let h = parse_head(b"OPTIONS /x HTTP/1.0\r\n\r\n").unwrap();
        assert!(!h.keep_alive);
        let h = parse_head(
            b"GET / HTTP/1.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .unwrap();
        assert!(!h.keep_alive && h.chunked);
        assert_eq!(
            parse_head(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").err(),
            Some(400)
        );
        assert_eq!(parse_head(b"\x00\x01 nonsense\r\n\r\n").err(), Some(400));
        let many: String = (0..100).map(|i| format!("X-{i}: v\r\n")).collect();
        assert_eq!(
            parse_head(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()).err(),
            Some(431)
        );
    }

    #[test]
    fn head_and_body_reading_with_pipelining() {
        let wire = b"POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\n\r\n";
        let mut stream = &wire[..];
        let mut buffered = Vec::new();
        let n = read_head(&mut stream, &mut buffered).unwrap().unwrap();
        let head = parse_head(&buffered[..n]).unwrap();
        buffered.drain(..n);
        assert_eq!(
            read_body(&mut stream, &mut buffered, head.content_length as usize).unwrap(),
            b"abc"
        );
        let n = read_head(&mut stream, &mut buffered).unwrap().unwrap();
        assert_eq!(parse_head(&buffered[..n]).unwrap().request.path, "/b");
        buffered.drain(..n);
        assert_eq!(read_head(&mut stream, &mut buffered).unwrap(), None);
        let mut truncated = &b"GET / HTTP/1.1\r\n"[..];
        assert!(read_head(&mut truncated, &mut Vec::new()).is_err());
    }

    #[test]
    fn options() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_options(&[]).unwrap(), Options::default());
        let o = parse_options(&args(&[
            "--listen=[::1]:8443",
            "--tls-cert",
            "c.pem",
            "--tls-key=k.pem",
        ]))
        .unwrap();
        assert_eq!(o.listen.as_deref(), Some("[::1]:8443"));
        assert_eq!(o.tls_cert, Some(PathBuf::from("c.pem")));
        assert_eq!(o.tls_key, Some(PathBuf::from("k.pem")));
        assert!(parse_options(&args(&["--tls-cert", "c.pem"])).is_err());
        assert!(parse_options(&args(&["--listen"])).is_err());
        assert!(parse_options(&args(&["--bogus", "x"])).is_err());
    }

    #[test]
    fn a_segmented_body_is_written_with_its_exact_length() {
        use crate::blob::{Blob, Spool};
        use crate::http::Segment;
        let dir = tempfile::tempdir().unwrap();
        let mut file = Spool::new(dir.path()).create().unwrap();
        file.write_all(&vec![7u8; 200_000]).unwrap();
        let file = file.finish().unwrap();
        let mut body = crate::http::Body::from(b"<".to_vec());
        body.push(Segment::Base64(file.clone()));
        body.push(Segment::Raw(file));
        body.push(Segment::Raw(Blob::from(b">".to_vec())));
        let expected = body.to_vec().unwrap();
        let resp = Response::new(200).with_body("application/octet-stream", body);
        let mut out = Vec::new();
        write_response(&mut out, &resp, true).unwrap();
        let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&out[..head_end]);
        assert!(
            head.contains(&format!("Content-Length: {}\r\n", expected.len())),
            "{head}"
        );
        assert_eq!(&out[head_end..], expected);
    }

    #[test]
    fn response_writing() {
        let mut out = Vec::new();
        write_response(&mut out, &Response::new(404), false).unwrap();
        let mut open = Vec::new();
        write_response(&mut open, &Response::new(200), true).unwrap();
        assert!(open.starts_with(b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"));
        assert_eq!(
            out,
            b"HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
    }

    proptest::proptest! {
        /// Any head is parsed or answered with a status, never a panic.
        #[test]
        fn arbitrary_heads_never_panic(head in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_head(&head);
            let mut r = &head[..];
            let _ = read_head(&mut r, &mut Vec::new());
        }
    }
}
