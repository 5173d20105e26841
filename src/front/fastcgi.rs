//! FastCGI responder: `horde-activesync fastcgi` takes the listening socket
//! on fd 0 (as lighttpd's `bin-path` and spawn-fcgi hand it over), or
//! `--listen ADDR` (`127.0.0.1:9000`, `unix:/run/eas.sock`). Each connection
//! gets its own small-stack thread, so a held Ping never blocks other
//! requests. Requests on one connection are answered one after another
//! (no multiplexing, announced as `FCGI_MPXS_CONNS=0`).

use super::cgi::{content_length, request_from_env, write_response};
use super::fcgi_record::{self as rec, Record};
use super::workers::{accept_loop, Activity, Listener};
use crate::config::Config;
use crate::eas::Server;
use crate::http::Response;
use anyhow::{bail, Context, Result};
use std::io::{self, BufReader, Read, Write};
use std::os::fd::FromRawFd;
use std::sync::Arc;

/// Largest total size of one request's PARAMS (the CGI variables).
const MAX_PARAMS_BYTES: usize = 1024 * 1024;

pub fn run(config: Config, args: &[String]) -> Result<()> {
    super::init_logging(&config.log);
    let listener = match args {
        [] => inherited_listener()?,
        [flag, addr] if flag == "--listen" => {
            Listener::bind(addr).with_context(|| format!("listening on {addr}"))?
        }
        [arg] if arg.starts_with("--listen=") => {
            let addr = &arg["--listen=".len()..];
            Listener::bind(addr).with_context(|| format!("listening on {addr}"))?
        }
        _ => bail!("usage: horde-activesync fastcgi [--listen ADDR]"),
    };
    let server = Arc::new(Server::new(config)?);
    log::info!("FastCGI on {}", listener.describe());
    accept_loop(listener, move |stream, activity| {
        if let Err(e) = serve_connection(stream, &server, activity) {
            log::debug!("FastCGI connection ended: {e}");
        }
    })
}

/// The listening socket the web server passed as fd 0 (FCGI_LISTENSOCK_FILENO).
fn inherited_listener() -> Result<Listener> {
    // SAFETY: getsockname only writes into the buffer we give it.
    let family = unsafe {
        let mut addr: libc::sockaddr_storage = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if libc::getsockname(0, &mut addr as *mut _ as *mut libc::sockaddr, &mut len) != 0 {
            bail!("fd 0 is not a socket: start me from the web server or use --listen ADDR");
        }
        addr.ss_family as libc::c_int
    };
    // SAFETY: fd 0 is a socket of this family, owned by this process from now on.
    Ok(match family {
        libc::AF_UNIX => {
            Listener::Unix(unsafe { std::os::unix::net::UnixListener::from_raw_fd(0) })
        }
        libc::AF_INET | libc::AF_INET6 => {
            Listener::Tcp(unsafe { std::net::TcpListener::from_raw_fd(0) })
        }
        other => bail!("fd 0 is a socket of unsupported family {other}"),
    })
}

/// The request being received on a connection.
struct Pending {
    id: u16,
    keep_conn: bool,
    params: Vec<u8>,
    vars: Option<Vec<(String, String)>>,
    body: Vec<u8>,
    /// Set when CONTENT_LENGTH or the data itself exceeds the limit: the
    /// rest of STDIN is discarded as it arrives and the answer is 413.
    too_large: bool,
}

/// Serve requests on one connection until the web server closes it (or
/// does not ask to keep it).
fn serve_connection<S: Read + Write>(
    stream: S,
    server: &Server,
    activity: &Activity,
) -> io::Result<()> {
    let mut conn = BufReader::new(stream);
    let max_body = server.config().server.max_body_bytes;
    let mut pending: Option<Pending> = None;
    while let Some(Record {
        kind,
        request_id,
        content,
    }) = rec::read_record(&mut conn)?
    {
        match kind {
            rec::GET_VALUES => {
                let values = rec::encode_pairs(&[
                    ("FCGI_MAX_CONNS", "1000"),
                    ("FCGI_MAX_REQS", "1000"),
                    ("FCGI_MPXS_CONNS", "0"),
                ]);
                rec::write_record(conn.get_mut(), rec::GET_VALUES_RESULT, 0, &values)?;
                continue;
            }
            rec::BEGIN_REQUEST if pending.is_some() => {
                rec::write_end_request(conn.get_mut(), request_id, 0, rec::CANT_MPX_CONN)?;
                continue;
            }
            rec::BEGIN_REQUEST => {
                let Some((role, flags)) = rec::parse_begin_request(&content) else {
                    return Err(invalid("short BEGIN_REQUEST"));
                };
                if role == rec::ROLE_RESPONDER {
                    pending = Some(Pending {
                        id: request_id,
                        keep_conn: flags & rec::FLAG_KEEP_CONN != 0,
                        params: Vec::new(),
                        vars: None,
                        body: Vec::new(),
                        too_large: false,
                    });
                } else {
                    rec::write_end_request(conn.get_mut(), request_id, 0, rec::UNKNOWN_ROLE)?;
                }
                continue;
            }
            rec::ABORT_REQUEST
            | rec::PARAMS
            | rec::STDIN
            | rec::END_REQUEST..=rec::GET_VALUES_RESULT => {}
            other => {
                rec::write_record(
                    conn.get_mut(),
                    rec::UNKNOWN_TYPE,
                    0,
                    &[other, 0, 0, 0, 0, 0, 0, 0],
                )?;
                continue;
            }
        }
        // A record for another request id, or out of order, is ignored.
        let Some(p) = pending.as_mut().filter(|p| p.id == request_id) else {
            continue;
        };
        match kind {
            rec::ABORT_REQUEST => {
                pending = None;
                rec::write_end_request(conn.get_mut(), request_id, 0, rec::REQUEST_COMPLETE)?;
            }
            rec::PARAMS if p.vars.is_none() => {
                if content.is_empty() {
                    let vars =
                        rec::parse_pairs(&p.params).ok_or_else(|| invalid("malformed PARAMS"))?;
                    p.too_large = content_length(&vars).is_ok_and(|n| n > max_body);
                    p.vars = Some(vars);
                } else {
                    p.params.extend_from_slice(&content);
                    if p.params.len() > MAX_PARAMS_BYTES {
                        return Err(invalid("PARAMS too large"));
                    }
                }
            }
            rec::STDIN if p.vars.is_some() && !content.is_empty() => {
                if !p.too_large && (p.body.len() + content.len()) as u64 > max_body {
                    p.too_large = true;
                    p.body = Vec::new();
                }
                if !p.too_large {
                    p.body.extend_from_slice(&content);
                }
            }
            rec::STDIN if p.vars.is_some() => {
                let Some(p) = pending.take() else { continue };
                let response = {
                    let _busy = activity.begin();
                    answer(
                        server,
                        p.vars.as_deref().unwrap_or_default(),
                        p.body,
                        p.too_large,
                    )
                };
                let w = conn.get_mut();
                let mut stdout = rec::StreamWriter::new(w, rec::STDOUT, p.id);
                write_response(&response, &mut stdout)?;
                stdout.finish()?;
                rec::write_end_request(w, p.id, 0, rec::REQUEST_COMPLETE)?;
                w.flush()?;
                if !p.keep_conn || activity.stopping() {
                    return Ok(());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

fn answer(server: &Server, vars: &[(String, String)], body: Vec<u8>, too_large: bool) -> Response {
    if too_large {
        return Response::new(413);
    }
    let mut req = request_from_env(vars);
    if content_length(vars).is_ok_and(|n| n != body.len() as u64) {
        log::warn!("FastCGI STDIN length differs from CONTENT_LENGTH");
        return Response::new(400);
    }
    req.body = body;
    server.handle(&req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Backend, BackendError, Session};

    struct NoUsers;
    impl Backend for NoUsers {
        fn open(&self, _: &str, _: &str) -> crate::backend::Result<Box<dyn Session>> {
            Err(BackendError::AuthFailed)
        }
    }

    /// A connection whose input is prepared bytes and whose output is kept.
    struct Wire {
        input: io::Cursor<Vec<u8>>,
        output: Vec<u8>,
    }
    impl Read for Wire {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }
    impl Write for Wire {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn request_records(out: &mut Vec<u8>, id: u16, keep: bool, vars: &[(&str, &str)], body: &[u8]) {
        let flags = if keep { rec::FLAG_KEEP_CONN } else { 0 };
        rec::write_record(out, rec::BEGIN_REQUEST, id, &[0, 1, flags, 0, 0, 0, 0, 0]).unwrap();
        let params = rec::encode_pairs(vars);
        let (a, b) = params.split_at(params.len() / 2);
        rec::write_record(out, rec::PARAMS, id, a).unwrap();
        rec::write_record(out, rec::PARAMS, id, b).unwrap();
        rec::write_record(out, rec::PARAMS, id, &[]).unwrap();
        rec::write_stream(out, rec::STDIN, id, body).unwrap();
    }

    /// The STDOUT text of each request id, in order of completion.
    fn responses(output: &[u8]) -> Vec<(u16, String)> {
        let mut r = output;
        let mut done = Vec::new();
        let mut text: Vec<u8> = Vec::new();
        while let Some(record) = rec::read_record(&mut r).unwrap() {
            match record.kind {
                rec::STDOUT => text.extend_from_slice(&record.content),
                rec::END_REQUEST => {
                    assert_eq!(record.content[4], rec::REQUEST_COMPLETE);
                    done.push((
                        record.request_id,
                        String::from_utf8_lossy(&text).into_owned(),
                    ));
                    text.clear();
                }
                _ => {}
            }
        }
        done
    }

    fn run(input: Vec<u8>, max_body: u64) -> Vec<(u16, String)> {
        let mut config = Config::default();
        config.server.max_body_bytes = max_body;
        let server = Server::with_backend(config, Box::new(NoUsers));
        let mut wire = Wire {
            input: io::Cursor::new(input),
            output: Vec::new(),
        };
        serve_connection(&mut wire, &server, &Activity::default()).unwrap();
        responses(&wire.output)
    }

    #[test]
    fn keep_conn_serves_several_requests_and_limits_bodies() {
        let mut input = Vec::new();
        request_records(&mut input, 1, true, &[("REQUEST_METHOD", "OPTIONS")], b"");
        request_records(
            &mut input,
            2,
            true,
            &[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "20")],
            &[0; 20],
        );
        request_records(
            &mut input,
            3,
            false,
            &[("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "5")],
            &[0; 5],
        );
        // Not served: the previous request did not keep the connection.
        request_records(&mut input, 4, false, &[("REQUEST_METHOD", "OPTIONS")], b"");
        let out = run(input, 10);
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(out[0].0, 1);
        assert!(
            out[0].1.starts_with("Status: 401 Unauthorized\r\n"),
            "{}",
            out[0].1
        );
        assert!(out[0].1.contains("WWW-Authenticate: Basic realm="));
        assert!(out[1].1.starts_with("Status: 413 "), "{}", out[1].1);
        // Within the limit, it reaches the server (which wants credentials).
        assert!(
            out[2].1.starts_with("Status: 400 ") || out[2].1.starts_with("Status: 401 "),
            "{}",
            out[2].1
        );
    }

    #[test]
    fn roles_multiplexing_and_garbage() {
        let mut input = Vec::new();
        rec::write_record(&mut input, rec::BEGIN_REQUEST, 9, &[0, 2, 1, 0, 0, 0, 0, 0]).unwrap();
        rec::write_record(&mut input, rec::BEGIN_REQUEST, 1, &[0, 1, 1, 0, 0, 0, 0, 0]).unwrap();
        rec::write_record(&mut input, rec::BEGIN_REQUEST, 2, &[0, 1, 1, 0, 0, 0, 0, 0]).unwrap();
        let mut config = Config::default();
        config.server.max_body_bytes = 10;
        let server = Server::with_backend(config, Box::new(NoUsers));
        let mut wire = Wire {
            input: io::Cursor::new(input),
            output: Vec::new(),
        };
        serve_connection(&mut wire, &server, &Activity::default()).unwrap();
        let mut r = &wire.output[..];
        let statuses: Vec<(u16, u8)> = std::iter::from_fn(|| rec::read_record(&mut r).unwrap())
            .map(|rec| (rec.request_id, rec.content[4]))
            .collect();
        assert_eq!(
            statuses,
            vec![(9, rec::UNKNOWN_ROLE), (2, rec::CANT_MPX_CONN)]
        );
        // Malformed PARAMS end the connection with an error, not a panic.
        let mut input = Vec::new();
        rec::write_record(&mut input, rec::BEGIN_REQUEST, 1, &[0, 1, 0, 0, 0, 0, 0, 0]).unwrap();
        rec::write_record(&mut input, rec::PARAMS, 1, &[0x7f, 1, b'a']).unwrap();
        rec::write_record(&mut input, rec::PARAMS, 1, &[]).unwrap();
        let mut wire = Wire {
            input: io::Cursor::new(input),
            output: Vec::new(),
        };
        assert!(serve_connection(&mut wire, &server, &Activity::default()).is_err());
    }

    proptest::proptest! {
        /// A connection sending arbitrary bytes ends, with or without an
        /// error, never with a panic.
        #[test]
        fn arbitrary_connections_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let server = Server::with_backend(Config::default(), Box::new(NoUsers));
            let mut input = Vec::new();
            rec::write_record(&mut input, rec::BEGIN_REQUEST, 1, &[0, 1, 1, 0, 0, 0, 0, 0]).unwrap();
            input.extend_from_slice(&bytes);
            let mut wire = Wire { input: io::Cursor::new(input), output: Vec::new() };
            let _ = serve_connection(&mut wire, &server, &Activity::default());
        }
    }
}
