//! The FastCGI 1.0 record layer: record headers, name-value pairs, and the
//! records a responder writes. Every length comes from the peer, so every
//! read is bounds-checked and nothing here can panic on input.

use std::io::{self, Read, Write};

pub const VERSION_1: u8 = 1;
pub const BEGIN_REQUEST: u8 = 1;
pub const ABORT_REQUEST: u8 = 2;
pub const END_REQUEST: u8 = 3;
pub const PARAMS: u8 = 4;
pub const STDIN: u8 = 5;
pub const STDOUT: u8 = 6;
pub const GET_VALUES: u8 = 9;
pub const GET_VALUES_RESULT: u8 = 10;
pub const UNKNOWN_TYPE: u8 = 11;

pub const ROLE_RESPONDER: u16 = 1;
pub const FLAG_KEEP_CONN: u8 = 1;

pub const REQUEST_COMPLETE: u8 = 0;
pub const CANT_MPX_CONN: u8 = 1;
pub const UNKNOWN_ROLE: u8 = 3;

/// Largest content of one record.
const MAX_CONTENT: usize = 0xffff;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: u8,
    pub request_id: u16,
    pub content: Vec<u8>,
}

/// Read one record; `Ok(None)` on a clean end of stream between records.
pub fn read_record(r: &mut impl Read) -> io::Result<Option<Record>> {
    let mut header = [0u8; 8];
    let mut filled = 0;
    while filled < header.len() {
        match r.read(&mut header[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if header[0] != VERSION_1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not FastCGI version 1",
        ));
    }
    let content_len = u16::from_be_bytes([header[4], header[5]]) as usize;
    let padding = header[6] as usize;
    let mut content = vec![0; content_len];
    r.read_exact(&mut content)?;
    let mut pad = [0u8; 255];
    r.read_exact(&mut pad[..padding])?;
    Ok(Some(Record {
        kind: header[1],
        request_id: u16::from_be_bytes([header[2], header[3]]),
        content,
    }))
}

/// Write one record (content at most 65535 bytes), padded to 8 bytes.
pub fn write_record(
    w: &mut impl Write,
    kind: u8,
    request_id: u16,
    content: &[u8],
) -> io::Result<()> {
    debug_assert!(content.len() <= MAX_CONTENT);
    let padding = (8 - content.len() % 8) % 8;
    let id = request_id.to_be_bytes();
    let len = (content.len() as u16).to_be_bytes();
    w.write_all(&[
        VERSION_1,
        kind,
        id[0],
        id[1],
        len[0],
        len[1],
        padding as u8,
        0,
    ])?;
    w.write_all(content)?;
    w.write_all(&[0u8; 8][..padding])
}

/// A stream (STDIN in tests) as records of at most 64 KiB, then the empty
/// record that ends it.
#[cfg(test)]
pub fn write_stream(w: &mut impl Write, kind: u8, request_id: u16, data: &[u8]) -> io::Result<()> {
    let mut stream = StreamWriter::new(w, kind, request_id);
    stream.write_all(data)?;
    stream.finish()
}

/// A stream (STDOUT) written through `Write`: whatever the sizes of the
/// writes, the bytes leave as full records of [`MAX_CONTENT`] bytes (the
/// last one shorter), so a response of any size costs one record of
/// memory. [`StreamWriter::finish`] writes the empty record that ends it.
pub struct StreamWriter<'a, W: Write> {
    w: &'a mut W,
    kind: u8,
    request_id: u16,
    pending: Vec<u8>,
}

impl<'a, W: Write> StreamWriter<'a, W> {
    pub fn new(w: &'a mut W, kind: u8, request_id: u16) -> StreamWriter<'a, W> {
        StreamWriter {
            w,
            kind,
            request_id,
            pending: Vec::with_capacity(MAX_CONTENT),
        }
    }

    /// Write what is pending and the end-of-stream record.
    pub fn finish(mut self) -> io::Result<()> {
        self.write_pending()?;
        write_record(self.w, self.kind, self.request_id, &[])
    }

    fn write_pending(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            write_record(self.w, self.kind, self.request_id, &self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }
}

impl<W: Write> Write for StreamWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len().min(MAX_CONTENT - self.pending.len());
        self.pending.extend_from_slice(&buf[..n]);
        if self.pending.len() == MAX_CONTENT {
            self.write_pending()?;
        }
        Ok(n)
    }

    /// Pending bytes stay until a record is full or the stream ends: a
    /// flush in the middle would only make records smaller.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub fn write_end_request(
    w: &mut impl Write,
    request_id: u16,
    app_status: u32,
    protocol_status: u8,
) -> io::Result<()> {
    let s = app_status.to_be_bytes();
    write_record(
        w,
        END_REQUEST,
        request_id,
        &[s[0], s[1], s[2], s[3], protocol_status, 0, 0, 0],
    )
}

/// The role and flags of a BEGIN_REQUEST body; `None` when it is too short.
pub fn parse_begin_request(content: &[u8]) -> Option<(u16, u8)> {
    match content {
        [r0, r1, flags, ..] if content.len() >= 8 => Some((u16::from_be_bytes([*r0, *r1]), *flags)),
        _ => None,
    }
}

/// Decode name-value pairs; `None` when a length runs past the end.
pub fn parse_pairs(mut data: &[u8]) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    while !data.is_empty() {
        let name_len = take_length(&mut data)?;
        let value_len = take_length(&mut data)?;
        let name = take(&mut data, name_len)?;
        let value = take(&mut data, value_len)?;
        pairs.push((
            String::from_utf8_lossy(name).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        ));
    }
    Some(pairs)
}

/// Encode name-value pairs (lengths of 1 byte below 128, else 4 bytes).
pub fn encode_pairs(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    let length = |out: &mut Vec<u8>, n: usize| {
        if n < 0x80 {
            out.push(n as u8);
        } else {
            out.extend_from_slice(&(n as u32 | 0x8000_0000).to_be_bytes());
        }
    };
    for (name, value) in pairs {
        length(&mut out, name.len());
        length(&mut out, value.len());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

fn take_length(data: &mut &[u8]) -> Option<usize> {
    let first = *data.first()?;
    if first < 0x80 {
        *data = &data[1..];
        return Some(first as usize);
    }
    let bytes = take(data, 4)?;
    Some((u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) & 0x7fff_ffff) as usize)
}

fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if data.len() < n {
        return None;
    }
    let (head, rest) = data.split_at(n);
    *data = rest;
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_short_and_long() {
        let long = "v".repeat(300);
        let bytes = encode_pairs(&[("A", "b"), ("LONG", &long), ("EMPTY", "")]);
        let pairs = parse_pairs(&bytes).unwrap();
        assert_eq!(pairs[0], ("A".into(), "b".into()));
        assert_eq!(pairs[1].1.len(), 300);
        assert_eq!(pairs[2], ("EMPTY".into(), String::new()));
        // Every truncation is detected, never a panic.
        for cut in 1..bytes.len() {
            let parsed = parse_pairs(&bytes[..cut]);
            assert!(parsed.is_none() || parsed.unwrap().len() < 3, "cut {cut}");
        }
        assert_eq!(parse_pairs(&[0x80, 0, 0]), None);
        assert_eq!(parse_pairs(&[0xff, 0xff, 0xff, 0xff, 0]), None);
    }

    #[test]
    fn records_round_trip_with_padding() {
        let mut buf = Vec::new();
        write_record(&mut buf, PARAMS, 7, b"abc").unwrap();
        write_stream(&mut buf, STDOUT, 7, &vec![1u8; 70_000]).unwrap();
        assert_eq!(buf.len() % 8, 0);
        let mut r = &buf[..];
        let rec = read_record(&mut r).unwrap().unwrap();
        assert_eq!(
            (rec.kind, rec.request_id, rec.content.as_slice()),
            (PARAMS, 7, &b"abc"[..])
        );
        let sizes: Vec<usize> = std::iter::from_fn(|| read_record(&mut r).unwrap())
            .map(|rec| rec.content.len())
            .collect();
        assert_eq!(sizes, vec![65535, 70_000 - 65535, 0]);
    }

    #[test]
    fn malformed_records_are_errors() {
        assert!(read_record(&mut &[2u8, 1, 0, 1, 0, 0, 0, 0][..]).is_err());
        assert!(read_record(&mut &[1u8, 1, 0, 1][..]).is_err());
        assert!(read_record(&mut &[1u8, 5, 0, 1, 0, 9, 0, 0, 1, 2][..]).is_err());
        assert!(read_record(&mut &[][..]).unwrap().is_none());
        assert_eq!(
            parse_begin_request(&[0, 1, 1, 0, 0, 0, 0, 0]),
            Some((ROLE_RESPONDER, FLAG_KEEP_CONN))
        );
        assert_eq!(parse_begin_request(&[0, 1, 1]), None);
    }

    #[test]
    fn a_segmented_body_leaves_as_full_records() {
        use crate::blob::{Blob, Spool};
        use crate::http::{Body, Segment};
        let dir = tempfile::tempdir().unwrap();
        let mut file = Spool::new(dir.path()).create().unwrap();
        let bytes: Vec<u8> = (0..300_000).map(|i| (i % 253) as u8).collect();
        file.write_all(&bytes).unwrap();
        let file = file.finish().unwrap();
        let mut body = Body::from(b"head".to_vec());
        body.push(Segment::Raw(file.clone()));
        body.push(Segment::Base64(file.slice(5, 100_005)));
        body.push(Segment::Raw(Blob::from(b"tail".to_vec())));

        let mut wire = Vec::new();
        let mut stream = StreamWriter::new(&mut wire, STDOUT, 3);
        body.write_to(&mut stream).unwrap();
        stream.finish().unwrap();

        let mut r = &wire[..];
        let records: Vec<Record> = std::iter::from_fn(|| read_record(&mut r).unwrap()).collect();
        let sizes: Vec<usize> = records.iter().map(|r| r.content.len()).collect();
        let total = body.len() as usize;
        let mut expected = vec![MAX_CONTENT; total / MAX_CONTENT];
        expected.extend([total % MAX_CONTENT, 0]);
        assert_eq!(sizes, expected);
        assert!(records
            .iter()
            .all(|r| (r.kind, r.request_id) == (STDOUT, 3)));
        let content: Vec<u8> = records.into_iter().flat_map(|r| r.content).collect();
        assert_eq!(content, body.to_vec().unwrap());
    }

    proptest::proptest! {
        /// Arbitrary bytes are records or errors, pairs or `None`, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_pairs(&bytes);
            let _ = parse_begin_request(&bytes);
            let mut r = &bytes[..];
            while let Ok(Some(_)) = read_record(&mut r) {}
        }
    }
}
