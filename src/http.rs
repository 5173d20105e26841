//! Plain HTTP request/response values passed between the front ends (CGI,
//! FastCGI, standalone HTTP) and the request handler. Front ends only fill and
//! write these; nothing here knows ActiveSync.

use crate::blob::Blob;
use std::io::{self, Write};

/// One HTTP request as the front end received it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `GET`, `POST`, `OPTIONS`, ...
    pub method: String,
    /// Path without the query, e.g. `/Microsoft-Server-ActiveSync`.
    pub path: String,
    /// Raw query string without `?` (may be empty).
    pub query: String,
    /// Header names as received (compare case-insensitively via [`Request::header`]).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Peer address for logs, when the front end knows it.
    pub remote_addr: Option<String>,
}

impl Request {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP response for the front end to write.
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::default(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn with_body(mut self, content_type: &str, body: impl Into<Body>) -> Response {
        self.headers
            .push(("Content-Type".into(), content_type.into()));
        self.body = body.into();
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One piece of a response body.
#[derive(Debug, Clone)]
pub enum Segment {
    /// The blob's bytes as they are.
    Raw(Blob),
    /// The blob's bytes in base64, encoded while being written.
    Base64(Blob),
}

impl Segment {
    pub fn len(&self) -> u64 {
        match self {
            Segment::Raw(b) => b.len(),
            Segment::Base64(b) => b.base64_len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A response body: segments written one after another, each from memory
/// or a spool file, so a body can be far larger than what the process
/// holds. Its exact length is known before writing (`Content-Length`).
/// Front ends copy it out with [`Body::write_to`], in pieces of at most
/// [`crate::blob::CHUNK`] bytes for file-backed segments.
#[derive(Debug, Clone, Default)]
pub struct Body {
    segments: Vec<Segment>,
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::from(Segment::Raw(Blob::Memory(bytes)))
    }
}

impl From<Blob> for Body {
    fn from(blob: Blob) -> Body {
        Body::from(Segment::Raw(blob))
    }
}

impl From<Segment> for Body {
    fn from(segment: Segment) -> Body {
        Body {
            segments: vec![segment],
        }
    }
}

impl Body {
    /// Append a segment.
    pub fn push(&mut self, segment: Segment) {
        if !segment.is_empty() {
            self.segments.push(segment);
        }
    }

    pub fn len(&self) -> u64 {
        self.segments.iter().map(Segment::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of a body held in memory whole; `None` when some of it is
    /// in a file or encoded on the way out.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self.segments.as_slice() {
            [] => Some(&[]),
            [Segment::Raw(Blob::Memory(b))] => Some(b),
            _ => None,
        }
    }

    /// Write the whole body to `out`.
    pub fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        for segment in &self.segments {
            match segment {
                Segment::Raw(b) => b.write_to(out)?,
                Segment::Base64(b) => b.write_base64_to(out)?,
            }
        }
        Ok(())
    }

    /// The whole body in memory (small bodies, tests).
    pub fn to_vec(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(self.len()).unwrap_or(0));
        self.write_to(&mut out)?;
        Ok(out)
    }
}

/// The reason phrase for a status code, for status lines and CGI `Status:`.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        449 => "Retry With",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    #[test]
    fn bodies_know_their_length_before_writing() {
        assert_eq!(Body::default().bytes(), Some(&[][..]));
        let small = Body::from(b"abc".to_vec());
        assert_eq!((small.len(), small.bytes()), (3, Some(&b"abc"[..])));
        let mut mixed = Body::from(b"<".to_vec());
        mixed.push(Segment::Raw(Blob::default()));
        mixed.push(Segment::Base64(Blob::from(b"hello".to_vec())));
        mixed.push(Segment::Raw(Blob::from(b">".to_vec())));
        assert_eq!(mixed.bytes(), None);
        let written = mixed.to_vec().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"hello");
        assert_eq!(written, format!("<{b64}>").into_bytes());
        assert_eq!(mixed.len(), written.len() as u64);
    }
}
