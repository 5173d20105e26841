//! WBXML 1.3 decoder for ActiveSync documents (MS-ASWBXML, WAP-192-WBXML).
//!
//! Hostile input is the normal case here: the decoder never recurses (an
//! explicit stack of open elements, bounded by [`Limits::max_depth`]), never
//! allocates more than the input it has already checked, and reports every
//! problem as a [`DecodeError`] with the byte offset where it was found.
use super::codepages;
use super::tree::{Element, Node, Tag};
use std::ffi::CStr;
use std::fmt;

/// Global tokens of WBXML 1.3 (section 7.1).
pub(crate) mod token {
    pub const SWITCH_PAGE: u8 = 0x00;
    pub const END: u8 = 0x01;
    pub const STR_I: u8 = 0x03;
    pub const STR_T: u8 = 0x83;
    pub const OPAQUE: u8 = 0xC3;
    /// Tag flag: the tag has content and is closed by END.
    pub const CONTENT: u8 = 0x40;
    /// Tag flag: the tag has attributes (never used by ActiveSync).
    pub const ATTRIBUTES: u8 = 0x80;
    /// WBXML version 1.3.
    pub const VERSION_1_3: u8 = 0x03;
    /// Public identifier "unknown", what ActiveSync sends.
    pub const PUBLIC_ID_UNKNOWN: u8 = 0x01;
    /// IANA MIBenum of UTF-8.
    pub const CHARSET_UTF8: u32 = 106;
}

/// Bounds for one decode; the size comes from the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest element nesting accepted (the root is depth 1).
    pub max_depth: usize,
    /// Largest document accepted, in bytes.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 64,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Why a document was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The document is larger than [`Limits::max_bytes`].
    TooLarge { size: usize, limit: usize },
    /// The input ended where more bytes were required.
    Truncated,
    /// A WBXML version other than 1.1-1.3.
    UnsupportedVersion(u8),
    /// A character set other than UTF-8 (MIBenum 106).
    UnsupportedCharset(u32),
    /// SWITCH_PAGE to a code page ActiveSync does not define.
    UnknownPage(u8),
    /// A tag token its code page does not define.
    UnknownTag { page: u8, token: u8 },
    /// A tag with the attribute flag (ActiveSync has no attributes).
    Attributes,
    /// ENTITY, PI, LITERAL*, EXT* or another token ActiveSync does not use.
    UnsupportedToken(u8),
    /// A string that is not valid UTF-8.
    InvalidUtf8,
    /// An inline string without its terminating NUL.
    UnterminatedString,
    /// A length (string table, OPAQUE) that runs past the end of the input.
    LengthPastEnd { length: u32 },
    /// A STR_T index outside the string table (or not pointing at a string).
    BadStringTableIndex(u32),
    /// A multi-byte integer longer than 5 bytes or above 2^32-1.
    IntegerOverflow,
    /// Elements nested deeper than [`Limits::max_depth`].
    TooDeep { limit: usize },
    /// Text, OPAQUE or END outside the root element.
    ContentOutsideRoot,
    /// No root element before the end of the input.
    MissingRoot,
    /// Bytes after the root element was closed.
    TrailingBytes,
}

/// A rejected document: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset of the token or field that could not be decoded.
    pub offset: usize,
    pub reason: Reason,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::TooLarge { size, limit } => {
                write!(f, "document of {size} bytes exceeds the limit of {limit}")
            }
            Reason::Truncated => write!(f, "truncated document"),
            Reason::UnsupportedVersion(v) => write!(f, "unsupported WBXML version {v:#04x}"),
            Reason::UnsupportedCharset(c) => write!(f, "unsupported charset {c} (UTF-8 is 106)"),
            Reason::UnknownPage(p) => write!(f, "unknown code page {p}"),
            Reason::UnknownTag { page, token } => {
                write!(f, "unknown tag token {token:#04x} on code page {page}")
            }
            Reason::Attributes => write!(f, "attributes are not used by ActiveSync"),
            Reason::UnsupportedToken(t) => write!(f, "unsupported global token {t:#04x}"),
            Reason::InvalidUtf8 => write!(f, "string is not valid UTF-8"),
            Reason::UnterminatedString => write!(f, "inline string without terminating NUL"),
            Reason::LengthPastEnd { length } => {
                write!(f, "length {length} runs past the end of the document")
            }
            Reason::BadStringTableIndex(i) => write!(f, "bad string table index {i}"),
            Reason::IntegerOverflow => write!(f, "multi-byte integer exceeds 32 bits"),
            Reason::TooDeep { limit } => write!(f, "elements nested deeper than {limit}"),
            Reason::ContentOutsideRoot => write!(f, "content outside the root element"),
            Reason::MissingRoot => write!(f, "no root element"),
            Reason::TrailingBytes => write!(f, "bytes after the root element"),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WBXML error at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for DecodeError {}

/// Decodes one ActiveSync WBXML document into its root element.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Element, DecodeError> {
    if bytes.len() > limits.max_bytes {
        return Err(DecodeError {
            offset: 0,
            reason: Reason::TooLarge {
                size: bytes.len(),
                limit: limits.max_bytes,
            },
        });
    }
    let mut cursor = Cursor { bytes, pos: 0 };
    let strings = cursor.header()?;
    cursor.body(strings, limits.max_depth)
}

/// A read position over the input.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn fail<T>(&self, offset: usize, reason: Reason) -> Result<T, DecodeError> {
        Err(DecodeError { offset, reason })
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        match self.bytes.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => self.fail(self.pos, Reason::Truncated),
        }
    }

    /// mb_u_int32: big-endian groups of 7 bits, high bit = more follow.
    fn mb_u32(&mut self) -> Result<u32, DecodeError> {
        let start = self.pos;
        let mut value: u32 = 0;
        for _ in 0..5 {
            let b = self.byte()?;
            if value > u32::MAX >> 7 {
                return self.fail(start, Reason::IntegerOverflow);
            }
            value = (value << 7) | u32::from(b & 0x7F);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        self.fail(start, Reason::IntegerOverflow)
    }

    /// `length` bytes, checked against the remaining input before use.
    fn take(&mut self, length: u32, length_offset: usize) -> Result<&'a [u8], DecodeError> {
        let remaining = self.bytes.len() - self.pos;
        if length as usize > remaining {
            return self.fail(length_offset, Reason::LengthPastEnd { length });
        }
        let slice = &self.bytes[self.pos..self.pos + length as usize];
        self.pos += length as usize;
        Ok(slice)
    }

    /// version, publicid, charset, strtbl; returns the string table.
    fn header(&mut self) -> Result<&'a [u8], DecodeError> {
        let version = self.byte()?;
        if !(0x01..=token::VERSION_1_3).contains(&version) {
            return self.fail(0, Reason::UnsupportedVersion(version));
        }
        let public_id_offset = self.pos;
        let public_id = self.mb_u32()?;
        let public_id_index = if public_id == 0 {
            Some(self.mb_u32()?)
        } else {
            None
        };
        let charset_offset = self.pos;
        let charset = self.mb_u32()?;
        if charset != token::CHARSET_UTF8 {
            return self.fail(charset_offset, Reason::UnsupportedCharset(charset));
        }
        let length_offset = self.pos;
        let length = self.mb_u32()?;
        let strings = self.take(length, length_offset)?;
        if let Some(index) = public_id_index {
            string_at(strings, index).map_err(|reason| DecodeError {
                offset: public_id_offset,
                reason,
            })?;
        }
        Ok(strings)
    }

    /// Inline string (STR_I), the cursor just past the STR_I token.
    fn inline_string(&mut self) -> Result<String, DecodeError> {
        let start = self.pos;
        let rest = &self.bytes[start..];
        let Ok(c) = CStr::from_bytes_until_nul(rest) else {
            return self.fail(start, Reason::UnterminatedString);
        };
        let raw = c.to_bytes();
        self.pos += raw.len() + 1;
        utf8(raw).map_err(|reason| DecodeError {
            offset: start,
            reason,
        })
    }

    /// The body: one root element, built with an explicit stack.
    fn body(&mut self, strings: &'a [u8], max_depth: usize) -> Result<Element, DecodeError> {
        let mut page: u8 = 0;
        let mut open: Vec<Element> = Vec::new();
        let mut root: Option<Element> = None;
        while self.pos < self.bytes.len() {
            let at = self.pos;
            if root.is_some() {
                return self.fail(at, Reason::TrailingBytes);
            }
            let t = self.byte()?;
            let node = match t {
                token::SWITCH_PAGE => {
                    let p = self.byte()?;
                    if codepages::page_name(p).is_none() {
                        return self.fail(at + 1, Reason::UnknownPage(p));
                    }
                    page = p;
                    continue;
                }
                token::END => {
                    let Some(done) = open.pop() else {
                        return self.fail(at, Reason::ContentOutsideRoot);
                    };
                    match open.last_mut() {
                        Some(parent) => parent.children.push(Node::Element(done)),
                        None => root = Some(done),
                    }
                    continue;
                }
                token::STR_I => Node::Text(self.inline_string()?),
                token::STR_T => {
                    let index = self.mb_u32()?;
                    let raw = string_at(strings, index)
                        .map_err(|reason| DecodeError { offset: at, reason })?;
                    Node::Text(utf8(raw).map_err(|reason| DecodeError { offset: at, reason })?)
                }
                token::OPAQUE => {
                    let length_offset = self.pos;
                    let length = self.mb_u32()?;
                    Node::Opaque(self.take(length, length_offset)?.to_vec())
                }
                0x02 | 0x04 | 0x40..=0x44 | 0x80..=0x82 | 0x84 | 0xC0..=0xC2 | 0xC4 => {
                    return self.fail(at, Reason::UnsupportedToken(t));
                }
                _ => {
                    if t & token::ATTRIBUTES != 0 {
                        return self.fail(at, Reason::Attributes);
                    }
                    let tag = Tag::new(page, t & 0x3F);
                    if !codepages::is_known(tag) {
                        return self.fail(
                            at,
                            Reason::UnknownTag {
                                page,
                                token: t & 0x3F,
                            },
                        );
                    }
                    if t & token::CONTENT != 0 {
                        if open.len() >= max_depth {
                            return self.fail(at, Reason::TooDeep { limit: max_depth });
                        }
                        open.push(Element::new(tag));
                        continue;
                    }
                    if open.is_empty() {
                        // An empty root element: the whole document.
                        root = Some(Element::new(tag));
                        continue;
                    }
                    Node::Element(Element::new(tag))
                }
            };
            match open.last_mut() {
                Some(parent) => parent.children.push(node),
                None => return self.fail(at, Reason::ContentOutsideRoot),
            }
        }
        match root {
            Some(r) => Ok(r),
            None if open.is_empty() => self.fail(self.pos, Reason::MissingRoot),
            None => self.fail(self.pos, Reason::Truncated),
        }
    }
}

/// The NUL-terminated string at `index` of the string table.
fn string_at(strings: &[u8], index: u32) -> Result<&[u8], Reason> {
    let rest = strings
        .get(index as usize..)
        .filter(|r| !r.is_empty())
        .ok_or(Reason::BadStringTableIndex(index))?;
    CStr::from_bytes_until_nul(rest)
        .map(CStr::to_bytes)
        .map_err(|_| Reason::BadStringTableIndex(index))
}

fn utf8(raw: &[u8]) -> Result<String, Reason> {
    std::str::from_utf8(raw)
        .map(str::to_owned)
        .map_err(|_| Reason::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wbxml::codepages::{airsync, ping};

    fn err(bytes: &[u8]) -> DecodeError {
        decode(bytes, &Limits::default()).unwrap_err()
    }

    const HEAD: [u8; 4] = [0x03, 0x01, 0x6A, 0x00];

    fn doc(body: &[u8]) -> Vec<u8> {
        [&HEAD[..], body].concat()
    }

    #[test]
    fn decodes_text_opaque_and_empty_elements() {
        // <Sync><SyncKey>0</SyncKey><Limit/><Partial>OPAQUE 2 bytes</Partial></Sync>
        let bytes = doc(&[
            0x45, 0x4B, 0x03, b'0', 0x00, 0x01, 0x25, 0x66, 0xC3, 0x02, 0xFF, 0x00, 0x01, 0x01,
        ]);
        let root = decode(&bytes, &Limits::default()).unwrap();
        let expected = Element::new(airsync::Sync)
            .with_text(airsync::SyncKey, "0")
            .with(Element::new(airsync::Limit))
            .with(Element::opaque_element(airsync::Partial, vec![0xFF, 0x00]));
        assert_eq!(root, expected);
    }

    #[test]
    fn string_table_and_str_t() {
        // Table "ab\0cd\0"; <Ping><Id>STR_T 3</Id></Ping> on page 13.
        let bytes = [
            0x03, 0x01, 0x6A, 0x06, b'a', b'b', 0, b'c', b'd', 0, 0x00, 0x0D, 0x45, 0x4B, 0x83,
            0x03, 0x01, 0x01,
        ];
        let root = decode(&bytes, &Limits::default()).unwrap();
        assert_eq!(root.text_of(ping::Id), Some("cd"));
        // Index past the table, and index at the very end.
        let mut bad = bytes;
        bad[15] = 0x06;
        assert_eq!(err(&bad).reason, Reason::BadStringTableIndex(6));
    }

    #[test]
    fn public_id_by_string_table_index() {
        let bytes = [0x03, 0x00, 0x00, 0x6A, 0x02, b'x', 0, 0x45, 0x01];
        assert!(decode(&bytes, &Limits::default()).is_ok());
        let bad = [0x03, 0x00, 0x05, 0x6A, 0x02, b'x', 0, 0x45, 0x01];
        assert_eq!(err(&bad).reason, Reason::BadStringTableIndex(5));
    }

    #[test]
    fn rejects_with_offset_and_reason() {
        let cases: &[(&[u8], usize, Reason)] = &[
            (&[], 0, Reason::Truncated),
            (&[0x03, 0x01], 2, Reason::Truncated),
            (&[0x00, 0x01, 0x6A, 0x00], 0, Reason::UnsupportedVersion(0)),
            (&[0x03, 0x01, 0x04, 0x00], 2, Reason::UnsupportedCharset(4)),
            (
                &[0x03, 0x01, 0x6A, 0x05, 0x00],
                3,
                Reason::LengthPastEnd { length: 5 },
            ),
            (&doc(&[]), 4, Reason::MissingRoot),
            (&doc(&[0x45]), 5, Reason::Truncated),
            (&doc(&[0x45, 0x4B]), 6, Reason::Truncated),
            (&doc(&[0x45, 0x03, b'a']), 6, Reason::UnterminatedString),
            (
                &doc(&[0x45, 0x03, 0xC3, 0x28, 0x00, 0x01]),
                6,
                Reason::InvalidUtf8,
            ),
            (
                &doc(&[0x45, 0xC3, 0x09, 0x01]),
                6,
                Reason::LengthPastEnd { length: 9 },
            ),
            (
                &doc(&[0x45, 0xC3, 0x8F, 0xFF, 0xFF, 0xFF, 0x7F]),
                6,
                Reason::LengthPastEnd { length: u32::MAX },
            ),
            (
                &doc(&[0x45, 0xC3, 0x90, 0x80, 0x80, 0x80, 0x00]),
                6,
                Reason::IntegerOverflow,
            ),
            (
                &doc(&[0x45, 0xC3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
                6,
                Reason::IntegerOverflow,
            ),
            (&doc(&[0x00, 0x1A, 0x45, 0x01]), 5, Reason::UnknownPage(26)),
            (
                &doc(&[0x51, 0x01]),
                4,
                Reason::UnknownTag {
                    page: 0,
                    token: 0x11,
                },
            ),
            (&doc(&[0xC5, 0x01]), 4, Reason::Attributes),
            (
                &doc(&[0x45, 0x02, 0x41, 0x01]),
                5,
                Reason::UnsupportedToken(0x02),
            ),
            (&doc(&[0x45, 0x43, 0x01]), 5, Reason::UnsupportedToken(0x43)),
            (
                &doc(&[0x45, 0x04, 0x00, 0x01]),
                5,
                Reason::UnsupportedToken(0x04),
            ),
            (&doc(&[0x45, 0x01, 0x01]), 6, Reason::TrailingBytes),
            (&doc(&[0x45, 0x01, 0x00, 0x00]), 6, Reason::TrailingBytes),
            (&doc(&[0x01]), 4, Reason::ContentOutsideRoot),
            (
                &doc(&[0x03, b'a', 0x00, 0x45, 0x01]),
                4,
                Reason::ContentOutsideRoot,
            ),
        ];
        for (bytes, offset, reason) in cases {
            let e = err(bytes);
            assert_eq!((&e.reason, e.offset), (reason, *offset), "{bytes:02x?}");
        }
    }

    #[test]
    fn limits_depth_and_size() {
        let mut body = vec![0x45; 64];
        body.extend(vec![0x01; 64]);
        assert!(decode(&doc(&body), &Limits::default()).is_ok());
        let mut deeper = vec![0x45; 65];
        deeper.extend(vec![0x01; 65]);
        assert_eq!(
            err(&doc(&deeper)),
            DecodeError {
                offset: 4 + 64,
                reason: Reason::TooDeep { limit: 64 }
            }
        );
        let small = Limits {
            max_bytes: 5,
            ..Limits::default()
        };
        assert_eq!(
            decode(&doc(&[0x45, 0x01]), &small).unwrap_err().reason,
            Reason::TooLarge { size: 6, limit: 5 }
        );
    }

    #[test]
    fn empty_root_and_page_switches() {
        assert_eq!(
            decode(&doc(&[0x00, 0x0D, 0x05]), &Limits::default()).unwrap(),
            Element::new(ping::Ping)
        );
    }
}
