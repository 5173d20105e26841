//! The document tree shared by the decoder, the encoder and the protocol layer.
//!
//! ActiveSync never uses attributes or mixed content in practice, but the tree
//! keeps whatever the wire had (text, opaque and element children in order) so
//! that decode -> encode is byte-identical.

use std::fmt;

/// A tag: code page (high byte) and token (low byte, 0x05..=0x3F).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(u16);

impl Tag {
    pub const fn new(page: u8, token: u8) -> Tag {
        Tag(((page as u16) << 8) | token as u16)
    }
    pub const fn page(self) -> u8 {
        (self.0 >> 8) as u8
    }
    pub const fn token(self) -> u8 {
        (self.0 & 0xff) as u8
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match super::codepages::name_of(*self) {
            Some((ns, name)) => write!(f, "{ns}:{name}"),
            None => write!(f, "Tag({:#04x}, {:#04x})", self.page(), self.token()),
        }
    }
}

/// One child of an element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
    Opaque(Vec<u8>),
}

/// An element with its children in document order. An element with no
/// children is encoded without the content flag (`<Tag/>`); an element whose
/// only child is an empty `Text` is encoded as `<Tag></Tag>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    pub tag: Tag,
    pub children: Vec<Node>,
}

impl Element {
    pub fn new(tag: Tag) -> Element {
        Element {
            tag,
            children: Vec::new(),
        }
    }

    /// `<tag>text</tag>`
    pub fn text_element(tag: Tag, text: impl Into<String>) -> Element {
        Element {
            tag,
            children: vec![Node::Text(text.into())],
        }
    }

    /// `<tag>OPAQUE</tag>`
    pub fn opaque_element(tag: Tag, bytes: impl Into<Vec<u8>>) -> Element {
        Element {
            tag,
            children: vec![Node::Opaque(bytes.into())],
        }
    }

    /// Builder: append a child element.
    pub fn with(mut self, child: Element) -> Element {
        self.children.push(Node::Element(child));
        self
    }

    /// Builder: append `<tag>text</tag>`.
    pub fn with_text(self, tag: Tag, text: impl Into<String>) -> Element {
        self.with(Element::text_element(tag, text))
    }

    /// Builder: append `<tag>text</tag>` only when `text` is `Some`.
    pub fn with_opt_text<S: Into<String>>(self, tag: Tag, text: Option<S>) -> Element {
        match text {
            Some(t) => self.with_text(tag, t),
            None => self,
        }
    }

    /// Append a child element in place.
    pub fn push(&mut self, child: Element) {
        self.children.push(Node::Element(child));
    }

    /// Append `<tag>text</tag>` in place.
    pub fn push_text(&mut self, tag: Tag, text: impl Into<String>) {
        self.push(Element::text_element(tag, text));
    }

    /// Child elements in document order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The first child element with this tag.
    pub fn child(&self, tag: Tag) -> Option<&Element> {
        self.elements().find(|e| e.tag == tag)
    }

    /// All child elements with this tag.
    pub fn children_with(&self, tag: Tag) -> impl Iterator<Item = &Element> {
        self.elements().filter(move |e| e.tag == tag)
    }

    /// Follow a path of tags from this element (`child(a)?.child(b)?...`).
    pub fn path(&self, tags: &[Tag]) -> Option<&Element> {
        tags.iter().try_fold(self, |e, t| e.child(*t))
    }

    /// Concatenated text content; `None` when the element has no text child.
    /// Opaque content that is valid UTF-8 counts as text (some clients send
    /// strings as OPAQUE).
    pub fn text(&self) -> Option<&str> {
        let mut found = None;
        for n in &self.children {
            match n {
                Node::Text(s) => return Some(s.as_str()),
                Node::Opaque(b) if found.is_none() => found = std::str::from_utf8(b).ok(),
                _ => {}
            }
        }
        found
    }

    /// The raw bytes of the first OPAQUE child, or the UTF-8 of the first text child.
    pub fn bytes(&self) -> Option<&[u8]> {
        self.children.iter().find_map(|n| match n {
            Node::Opaque(b) => Some(b.as_slice()),
            Node::Text(s) => Some(s.as_bytes()),
            _ => None,
        })
    }

    /// Text of the child with this tag.
    pub fn text_of(&self, tag: Tag) -> Option<&str> {
        self.child(tag).and_then(|e| e.text())
    }

    /// Text of the child with this tag as an unsigned integer (trimmed).
    pub fn u32_of(&self, tag: Tag) -> Option<u32> {
        self.text_of(tag).and_then(|s| s.trim().parse().ok())
    }

    /// Text of the child with this tag as an EAS boolean (`1`/`0`; an empty
    /// element counts as true, as for `DeletesAsMoves`).
    pub fn bool_of(&self, tag: Tag) -> Option<bool> {
        self.child(tag).map(|e| match e.text().map(str::trim) {
            None | Some("") | Some("1") => true,
            Some(_) => false,
        })
    }

    /// True when a child with this tag exists.
    pub fn has(&self, tag: Tag) -> bool {
        self.child(tag).is_some()
    }
}
