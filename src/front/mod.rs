//! Front ends: they move bytes between a web server or socket and
//! [`crate::eas::Server`], and nothing else.
pub mod cgi;
pub mod fastcgi;
mod fcgi_record;
pub mod http_server;
mod tls;
mod workers;

use crate::config::LogConfig;
use crate::http::Response;
use std::io::{self, Read, Write};

/// Log to stderr (the web server's error log under CGI/FastCGI) and, when
/// `[log] file` is set, to that file too. `RUST_LOG` overrides `[log] level`.
pub fn init_logging(config: &LogConfig) {
    let env = env_logger::Env::default().default_filter_or(config.level.as_str());
    let mut builder = env_logger::Builder::from_env(env);
    if let Some(path) = &config.file {
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(file) => {
                builder.target(env_logger::Target::Pipe(Box::new(Tee(file))));
            }
            Err(e) => eprintln!("horde-activesync: log file {}: {e}", path.display()),
        }
    }
    // A second initialisation (tests) keeps the first logger.
    let _ = builder.try_init();
}

/// Writes every log line to stderr and to the log file.
struct Tee(std::fs::File);

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().write_all(buf);
        self.0.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The header block shared by the CGI form (`Status: 200 OK`) and HTTP/1.1:
/// the response's headers plus `Content-Length`, ending with the empty line.
fn write_header_block(resp: &Response, out: &mut impl Write) -> io::Result<()> {
    for (name, value) in &resp.headers {
        // A header value never carries a line break into the output.
        let value: String = value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        write!(out, "{name}: {value}\r\n")?;
    }
    if resp.header("Content-Length").is_none() {
        write!(out, "Content-Length: {}\r\n", resp.body.len())?;
    }
    out.write_all(b"\r\n")
}

/// Refused bodies (413) up to this size are still consumed, streamed into
/// nothing and never buffered: closing a connection the peer is still
/// sending on resets it, and the peer then loses the 413 (Apache's CGI
/// gateway does exactly that). Larger ones are not worth the bandwidth.
const DISCARD_LIMIT: u64 = 64 * 1024 * 1024;

/// Read and drop `len` bytes of a refused body (see [`DISCARD_LIMIT`]).
fn discard_body(body: &mut impl Read, len: u64) {
    if len <= DISCARD_LIMIT {
        let _ = io::copy(&mut body.take(len), &mut io::sink());
    }
}
