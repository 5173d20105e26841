//! WBXML encoder: header `03 01 6A 00` (WBXML 1.3, unknown public id, UTF-8,
//! no string table), inline strings, OPAQUE for binary content, and a
//! SWITCH_PAGE only where the code page changes.
//!
//! Text containing a NUL byte cannot be an inline string; it is written as
//! OPAQUE with the same bytes ([`Element::text`] still reads it as text).
use super::decode::token;
use super::tree::{Element, Node};

/// Encodes a document whose root is `root`.
pub fn encode(root: &Element) -> Vec<u8> {
    let pieces = encode_with_external(root, &mut |_| None);
    pieces
        .into_iter()
        .find_map(|p| match p {
            Piece::Bytes(b) => Some(b),
            Piece::External(_) => None,
        })
        .unwrap_or_default()
}

/// The content of an element kept outside the tree (a large file, say):
/// the encoder writes the element around a gap of exactly `len` bytes that
/// the caller fills when it writes the document out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct External {
    pub len: u64,
    pub kind: ExternalKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalKind {
    /// An inline string (`STR_I`, NUL-terminated): the content must not
    /// contain NUL (base64 text, say).
    InlineString,
    /// `OPAQUE` with its length in front: `len` must fit in 32 bits.
    Opaque,
}

/// One piece of a document encoded with external content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Bytes(Vec<u8>),
    /// The gap for the n-th external content (from 0, in document order).
    External(usize),
}

/// Encodes a document in which `external` picks the elements whose content
/// lives outside the tree (their children, if any, are not written): the
/// pieces, with a gap for each such content in document order.
pub fn encode_with_external(
    root: &Element,
    external: &mut dyn FnMut(&Element) -> Option<External>,
) -> Vec<Piece> {
    let mut enc = Encoder {
        out: Vec::with_capacity(1024),
        page: 0,
        pieces: Vec::new(),
        externals: 0,
        external,
    };
    enc.out.extend_from_slice(&[
        token::VERSION_1_3,
        token::PUBLIC_ID_UNKNOWN,
        token::CHARSET_UTF8 as u8,
        0x00,
    ]);
    // Open elements with the index of the next child to write; no recursion,
    // so a deep tree built by a caller cannot overflow the stack.
    let mut open: Vec<(&Element, usize)> = Vec::new();
    enc.start_tag(root, &mut open);
    while let Some(top) = open.last_mut() {
        let (element, next) = *top;
        top.1 += 1;
        let Some(child) = element.children.get(next) else {
            enc.out.push(token::END);
            open.pop();
            continue;
        };
        match child {
            Node::Element(e) => enc.start_tag(e, &mut open),
            Node::Text(s) if !s.as_bytes().contains(&0) => {
                enc.out.push(token::STR_I);
                enc.out.extend_from_slice(s.as_bytes());
                enc.out.push(0);
            }
            Node::Text(s) => opaque(&mut enc.out, s.as_bytes()),
            Node::Opaque(b) => opaque(&mut enc.out, b),
        }
    }
    enc.pieces.push(Piece::Bytes(enc.out));
    enc.pieces
}

struct Encoder<'x> {
    out: Vec<u8>,
    page: u8,
    pieces: Vec<Piece>,
    /// External contents so far.
    externals: usize,
    external: &'x mut dyn FnMut(&Element) -> Option<External>,
}

impl Encoder<'_> {
    /// Writes the tag (switching page if needed); opens it when it has
    /// children, or writes it whole around a gap for external content.
    fn start_tag<'a>(&mut self, element: &'a Element, open: &mut Vec<(&'a Element, usize)>) {
        let tag = element.tag;
        debug_assert!(
            super::codepages::is_known(tag),
            "encoding an undefined tag {tag:?}"
        );
        if tag.page() != self.page {
            self.out
                .extend_from_slice(&[token::SWITCH_PAGE, tag.page()]);
            self.page = tag.page();
        }
        if let Some(ext) = (self.external)(element) {
            self.out.push((tag.token() & 0x3F) | token::CONTENT);
            match ext.kind {
                ExternalKind::InlineString => self.out.push(token::STR_I),
                ExternalKind::Opaque => {
                    debug_assert!(ext.len <= u64::from(u32::MAX));
                    self.out.push(token::OPAQUE);
                    mb_u32(&mut self.out, ext.len as u32);
                }
            }
            self.pieces
                .push(Piece::Bytes(std::mem::take(&mut self.out)));
            self.pieces.push(Piece::External(self.externals));
            self.externals += 1;
            if ext.kind == ExternalKind::InlineString {
                self.out.push(0);
            }
            self.out.push(token::END);
        } else if element.children.is_empty() {
            self.out.push(tag.token() & 0x3F);
        } else {
            self.out.push((tag.token() & 0x3F) | token::CONTENT);
            open.push((element, 0));
        }
    }
}

fn opaque(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(token::OPAQUE);
    mb_u32(out, bytes.len() as u32);
    out.extend_from_slice(bytes);
}

/// mb_u_int32: 7 bits per byte, most significant first, high bit = more.
fn mb_u32(out: &mut Vec<u8>, value: u32) {
    let mut groups = [0u8; 5];
    let mut n = 0;
    let mut v = value;
    loop {
        groups[n] = (v & 0x7F) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        out.push(groups[i] | if i > 0 { 0x80 } else { 0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wbxml::codepages::{airsync, airsyncbase, ping};
    use crate::wbxml::{decode, Limits};

    #[test]
    fn multi_byte_integers() {
        for (value, bytes) in [
            (0u32, &[0x00][..]),
            (0x7F, &[0x7F]),
            (0x80, &[0x81, 0x00]),
            (0xA0, &[0x81, 0x20]),
            (u32::MAX, &[0x8F, 0xFF, 0xFF, 0xFF, 0x7F]),
        ] {
            let mut out = Vec::new();
            mb_u32(&mut out, value);
            assert_eq!(out, bytes, "{value}");
        }
    }

    #[test]
    fn switches_page_only_when_needed() {
        let root = Element::new(airsync::Sync)
            .with(
                Element::new(airsyncbase::Body)
                    .with_text(airsyncbase::Type, "1")
                    .with(Element::new(airsyncbase::Truncated)),
            )
            .with(Element::new(airsync::Limit));
        let bytes = encode(&root);
        assert_eq!(
            bytes,
            [
                0x03, 0x01, 0x6A, 0x00, 0x45, 0x00, 0x11, 0x4A, 0x46, 0x03, b'1', 0x00, 0x01, 0x0D,
                0x01, 0x00, 0x00, 0x25, 0x01
            ]
        );
        assert_eq!(decode(&bytes, &Limits::default()).unwrap(), root);
    }

    #[test]
    fn text_with_nul_becomes_opaque() {
        let root = Element::text_element(ping::Id, "a\0b");
        let bytes = encode(&root);
        assert_eq!(
            &bytes[4..],
            &[0x00, 0x0D, 0x4B, 0xC3, 0x03, b'a', 0, b'b', 0x01]
        );
        let back = decode(&bytes, &Limits::default()).unwrap();
        assert_eq!(back.text(), Some("a\0b"));
    }

    #[test]
    fn empty_text_keeps_the_content_flag() {
        let bytes = encode(&Element::text_element(airsync::SyncKey, ""));
        assert_eq!(&bytes[4..], &[0x4B, 0x03, 0x00, 0x01]);
        let bytes = encode(&Element::new(airsync::SyncKey));
        assert_eq!(&bytes[4..], &[0x0B]);
    }

    #[test]
    fn external_content_round_trips_through_decode() {
        let file = b"aGVsbG8=".to_vec();
        let blob = vec![0u8, 1, 2, 3, 0xFF];
        let filled = Element::new(airsync::Sync)
            .with(Element::text_element(
                airsyncbase::Data,
                String::from_utf8(file.clone()).unwrap(),
            ))
            .with_text(airsync::SyncKey, "1")
            .with(Element::opaque_element(airsyncbase::Data, blob.clone()));
        // The same tree with placeholders: the Data elements, empty.
        let hollow = Element::new(airsync::Sync)
            .with(Element::new(airsyncbase::Data))
            .with_text(airsync::SyncKey, "1")
            .with(Element::new(airsyncbase::Data));
        let contents = [
            (&file, ExternalKind::InlineString),
            (&blob, ExternalKind::Opaque),
        ];
        let mut next = contents.iter();
        let pieces = encode_with_external(&hollow, &mut |e| {
            (e.tag == airsyncbase::Data).then_some(())?;
            let (bytes, kind) = next.next()?;
            Some(External {
                len: bytes.len() as u64,
                kind: *kind,
            })
        });
        assert!(matches!(pieces[1], Piece::External(0)));
        assert!(matches!(pieces[3], Piece::External(1)));
        let mut wire = Vec::new();
        for piece in &pieces {
            match piece {
                Piece::Bytes(b) => wire.extend_from_slice(b),
                Piece::External(n) => wire.extend_from_slice(contents[*n].0),
            }
        }
        assert_eq!(wire, encode(&filled));
        assert_eq!(decode(&wire, &Limits::default()).unwrap(), filled);
        // Without external content: one piece, the plain encoding.
        assert_eq!(
            encode_with_external(&filled, &mut |_| None),
            vec![Piece::Bytes(encode(&filled))]
        );
    }
}
