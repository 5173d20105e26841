//! The readable XML form of a WBXML tree, for the per-device debug log and
//! the `wbxml decode|encode` CLI verb.
//!
//! The form follows the MS-ASCMD examples: the root's code page is the
//! default namespace, every other page used gets a prefix that is its
//! lower-cased name (`xmlns:airsyncbase="AirSyncBase"`), all declared on the
//! root. It is exact: `encode(from_xml(to_xml(t)))` gives the bytes of
//! `encode(t)`.
//!
//! - `<Tag/>` is an element without content, `<Tag></Tag>` one whose only
//!   child is an empty string.
//! - OPAQUE content is marked with an `opaque` attribute (ActiveSync has no
//!   attributes, so it cannot clash): `opaque="text"` when the bytes are UTF-8
//!   (MIME, for instance, stays readable; CR and control characters are
//!   character references), `opaque="base64"` otherwise.
//! - Mixed content (text or opaque next to other children, which ActiveSync
//!   never sends) uses the pseudo-elements `<wbxml:text>` and
//!   `<wbxml:opaque opaque="...">` in the namespace [`PSEUDO_NAMESPACE`], so
//!   that indentation whitespace never becomes content.
//!
//! When reading, namespaces are matched by page name; a trailing `:` (as
//! libwbxml writes them) and letter case are ignored.
use super::codepages;
use super::tree::{Element, Node, Tag};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use std::fmt::Write;

/// Namespace of the `wbxml:text` / `wbxml:opaque` pseudo-elements.
pub const PSEUDO_NAMESPACE: &str = "urn:x-horde-activesync:wbxml";

/// Why an XML document could not be turned into a tree.
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    #[error("XML syntax: {0}")]
    Syntax(#[from] quick_xml::Error),
    #[error("XML attribute: {0}")]
    Attribute(#[from] quick_xml::events::attributes::AttrError),
    #[error("element <{0}> has no ActiveSync namespace")]
    NoNamespace(String),
    #[error("unknown namespace {0:?}")]
    UnknownNamespace(String),
    #[error("unknown tag {namespace}:{name}")]
    UnknownTag { namespace: String, name: String },
    #[error("opaque=\"{0}\" is neither \"base64\" nor \"text\"")]
    BadOpaqueEncoding(String),
    #[error("invalid base64 in opaque content of <{0}>")]
    BadBase64(String),
    #[error("text next to child elements in <{0}> (use <wbxml:text>)")]
    MixedContent(String),
    #[error("pseudo-element <wbxml:{0}> has child elements")]
    PseudoWithChildren(String),
    #[error("pseudo-element <wbxml:{0}> cannot be the root or is unknown")]
    BadPseudo(String),
    #[error("text outside the root element")]
    TextOutsideRoot,
    #[error("more than one root element")]
    SecondRoot,
    #[error("no root element")]
    NoRoot,
    #[error("elements nested deeper than {0}")]
    TooDeep(usize),
}

/// Deepest nesting [`from_xml`] accepts, like the decoder's default.
pub const MAX_DEPTH: usize = 64;

/// Renders the tree as indented XML.
pub fn to_xml(root: &Element) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    let mut writer = XmlWriter {
        out,
        root_page: root.tag.page(),
    };
    writer.document(root);
    writer.out
}

struct XmlWriter {
    out: String,
    root_page: u8,
}

/// What is left to write of an element opened in block form.
struct Open<'a> {
    element: &'a Element,
    next: usize,
}

impl XmlWriter {
    fn document(&mut self, root: &Element) {
        let (pages, mixed) = pages_used(root);
        let mut declarations = format!(" xmlns=\"{}\"", namespace(root.tag.page()));
        for page in pages.iter().filter(|p| **p != self.root_page) {
            let ns = namespace(*page);
            let _ = write!(declarations, " xmlns:{}=\"{ns}\"", ns.to_ascii_lowercase());
        }
        if mixed {
            let _ = write!(declarations, " xmlns:wbxml=\"{PSEUDO_NAMESPACE}\"");
        }
        let mut open: Vec<Open> = Vec::new();
        self.element(root, &declarations, 0, &mut open);
        while let Some(top) = open.last_mut() {
            let (element, next) = (top.element, top.next);
            top.next += 1;
            let depth = open.len();
            match element.children.get(next) {
                None => {
                    open.pop();
                    self.indent(depth - 1);
                    self.out.push_str("</");
                    self.name(element.tag);
                    self.out.push_str(">\n");
                }
                Some(Node::Element(e)) => self.element(e, "", depth, &mut open),
                Some(Node::Text(s)) if s.contains('\0') => {
                    self.indent(depth);
                    self.pseudo_opaque(s.as_bytes());
                }
                Some(Node::Text(s)) => {
                    self.indent(depth);
                    self.out.push_str("<wbxml:text>");
                    escape_into(&mut self.out, s);
                    self.out.push_str("</wbxml:text>\n");
                }
                Some(Node::Opaque(b)) => {
                    self.indent(depth);
                    self.pseudo_opaque(b);
                }
            }
        }
    }

    /// Writes a leaf whole, or the start tag of a block element (pushed on `open`).
    fn element<'a>(
        &mut self,
        e: &'a Element,
        declarations: &str,
        depth: usize,
        open: &mut Vec<Open<'a>>,
    ) {
        self.indent(depth);
        self.out.push('<');
        self.name(e.tag);
        self.out.push_str(declarations);
        match e.children.as_slice() {
            [] => self.out.push_str("/>\n"),
            [Node::Text(s)] if !s.contains('\0') => {
                self.out.push('>');
                escape_into(&mut self.out, s);
                self.end_tag(e.tag);
            }
            [Node::Text(s)] => self.opaque_content(e.tag, s.as_bytes()),
            [Node::Opaque(b)] => self.opaque_content(e.tag, b),
            _ => {
                self.out.push_str(">\n");
                open.push(Open {
                    element: e,
                    next: 0,
                });
            }
        }
    }

    /// ` opaque="...">content</tag>` after an open start tag.
    fn opaque_content(&mut self, tag: Tag, bytes: &[u8]) {
        self.opaque_attribute_and_content(bytes);
        self.end_tag(tag);
    }

    fn pseudo_opaque(&mut self, bytes: &[u8]) {
        self.out.push_str("<wbxml:opaque");
        self.opaque_attribute_and_content(bytes);
        self.out.push_str("</wbxml:opaque>\n");
    }

    fn opaque_attribute_and_content(&mut self, bytes: &[u8]) {
        match std::str::from_utf8(bytes) {
            Ok(s) if !s.contains('\0') && !s.is_empty() => {
                self.out.push_str(" opaque=\"text\">");
                escape_into(&mut self.out, s);
            }
            _ => {
                self.out.push_str(" opaque=\"base64\">");
                BASE64.encode_string(bytes, &mut self.out);
            }
        }
    }

    fn end_tag(&mut self, tag: Tag) {
        self.out.push_str("</");
        self.name(tag);
        self.out.push_str(">\n");
    }

    fn name(&mut self, tag: Tag) {
        if tag.page() != self.root_page {
            for c in namespace(tag.page()).chars() {
                self.out.push(c.to_ascii_lowercase());
            }
            self.out.push(':');
        }
        match codepages::name_of(tag) {
            Some((_, name)) => self.out.push_str(name),
            // Not produced by the decoder; keeps a hand-built tree printable.
            None => {
                let _ = write!(self.out, "Unknown_{:02X}", tag.token());
            }
        }
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }
}

/// The namespace name of a page (`Page<n>` for pages ActiveSync lacks).
fn namespace(page: u8) -> String {
    codepages::page_name(page)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Page{page}"))
}

/// The code pages the tree uses (sorted) and whether it has mixed content.
fn pages_used(root: &Element) -> (Vec<u8>, bool) {
    let mut seen = [false; 256];
    let mut mixed = false;
    let mut todo = vec![root];
    while let Some(e) = todo.pop() {
        seen[e.tag.page() as usize] = true;
        let leaf = matches!(e.children.as_slice(), [Node::Text(_)] | [Node::Opaque(_)]);
        for child in &e.children {
            match child {
                Node::Element(c) => todo.push(c),
                _ if !leaf => mixed = true,
                _ => {}
            }
        }
    }
    let pages = (0..=255u8).filter(|p| seen[*p as usize]).collect();
    (pages, mixed)
}

/// XML escaping that keeps every character exact through a parser:
/// markup characters, CR and control characters become references. All of
/// them are ASCII, so scanning bytes is safe and lets clean runs (most text,
/// long base64 photos) be copied whole.
fn escape_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let replacement = match b {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'"' => "&quot;",
            b'\t' | b'\n' => continue,
            b if b < 0x20 || b == 0x7F => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if replacement.is_empty() {
            let _ = write!(out, "&#{b};");
        } else {
            out.push_str(replacement);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// What an element being read is.
enum Kind {
    Real,
    PseudoText,
}

/// An element being read, with its text so far.
struct Frame {
    element: Element,
    kind: Kind,
    /// `Some(base64)` / `Some(text)` when the content is OPAQUE.
    opaque: Option<OpaqueEncoding>,
    text: String,
    /// Text that was not whitespace as written (after entity expansion it
    /// may be, e.g. `&#32;`).
    significant_text: bool,
    qualified_name: String,
}

#[derive(Clone, Copy)]
enum OpaqueEncoding {
    Base64,
    Text,
}

/// Parses the XML form back into a tree.
pub fn from_xml(text: &str) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = false;
    let mut open: Vec<Frame> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let (resolved, event) = reader.read_resolved_event()?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(XmlError::SecondRoot);
                }
                if open.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep(MAX_DEPTH));
                }
                open.push(frame(&resolved, &start, !open.is_empty())?);
            }
            Event::Empty(start) => {
                if root.is_some() {
                    return Err(XmlError::SecondRoot);
                }
                let f = frame(&resolved, &start, !open.is_empty())?;
                let node = match (&f.kind, f.opaque) {
                    (Kind::PseudoText, None) => Node::Text(String::new()),
                    (Kind::PseudoText, Some(_)) => Node::Opaque(Vec::new()),
                    (Kind::Real, Some(_)) => {
                        Node::Element(Element::opaque_element(f.element.tag, Vec::new()))
                    }
                    (Kind::Real, None) => Node::Element(f.element),
                };
                attach(&mut open, &mut root, node);
            }
            Event::Text(t) => {
                let raw_is_space = t.iter().all(u8::is_ascii_whitespace);
                let unescaped = t.unescape()?;
                match open.last_mut() {
                    Some(f) => {
                        f.text.push_str(&unescaped);
                        f.significant_text |= !raw_is_space;
                    }
                    None if raw_is_space => {}
                    None => return Err(XmlError::TextOutsideRoot),
                }
            }
            Event::CData(c) => {
                let Some(f) = open.last_mut() else {
                    return Err(XmlError::TextOutsideRoot);
                };
                f.text.push_str(&String::from_utf8_lossy(&c));
                f.significant_text = true;
            }
            Event::End(_) => {
                let f = open.pop().expect("quick-xml checks end tags");
                let node = finish(f)?;
                attach(&mut open, &mut root, node);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    root.ok_or(XmlError::NoRoot)
}

fn attach(open: &mut [Frame], root: &mut Option<Element>, node: Node) {
    match (open.last_mut(), node) {
        (Some(parent), node) => parent.element.children.push(node),
        (None, Node::Element(e)) => *root = Some(e),
        // `frame` refuses pseudo-elements at the root.
        (None, _) => {}
    }
}

/// A frame for a start tag: its tag (or pseudo kind) and opaque marker.
fn frame(resolved: &ResolveResult, start: &BytesStart, nested: bool) -> Result<Frame, XmlError> {
    let qualified_name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let local = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut opaque = None;
    for attribute in start.attributes() {
        let attribute = attribute?;
        if attribute.key.local_name().as_ref() == b"opaque" {
            opaque = Some(match attribute.value.as_ref() {
                b"base64" => OpaqueEncoding::Base64,
                b"text" => OpaqueEncoding::Text,
                other => {
                    return Err(XmlError::BadOpaqueEncoding(
                        String::from_utf8_lossy(other).into_owned(),
                    ))
                }
            });
        }
    }
    let namespace = match resolved {
        ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
        _ => return Err(XmlError::NoNamespace(qualified_name)),
    };
    let (kind, tag) = if namespace == PSEUDO_NAMESPACE {
        match local.as_str() {
            "text" if nested => (Kind::PseudoText, Tag::new(0, 0)),
            // A pseudo opaque is an opaque text node: read like one.
            "opaque" if nested => {
                opaque.get_or_insert(OpaqueEncoding::Base64);
                (Kind::PseudoText, Tag::new(0, 0))
            }
            _ => return Err(XmlError::BadPseudo(local)),
        }
    } else {
        let page = page_of_namespace(&namespace)?;
        let page_name = codepages::page_name(page).unwrap_or_default();
        let tag = codepages::tag_of(page_name, &local).ok_or_else(|| XmlError::UnknownTag {
            namespace: page_name.to_owned(),
            name: local.clone(),
        })?;
        (Kind::Real, tag)
    };
    Ok(Frame {
        element: Element::new(tag),
        kind,
        opaque,
        text: String::new(),
        significant_text: false,
        qualified_name,
    })
}

fn page_of_namespace(namespace: &str) -> Result<u8, XmlError> {
    let name = namespace.strip_suffix(':').unwrap_or(namespace);
    codepages::page_of(name)
        .or_else(|| {
            (0..=u8::MAX)
                .find(|p| codepages::page_name(*p).is_some_and(|n| n.eq_ignore_ascii_case(name)))
        })
        .ok_or_else(|| XmlError::UnknownNamespace(namespace.to_owned()))
}

/// The node an element becomes once its end tag is read.
fn finish(f: Frame) -> Result<Node, XmlError> {
    let has_elements = !f.element.children.is_empty();
    if let Kind::PseudoText = f.kind {
        if has_elements {
            return Err(XmlError::PseudoWithChildren(f.qualified_name));
        }
        return Ok(match f.opaque {
            Some(encoding) => Node::Opaque(opaque_bytes(encoding, f.text, &f.qualified_name)?),
            None => Node::Text(f.text),
        });
    }
    let mut element = f.element;
    if has_elements {
        if f.significant_text || f.opaque.is_some() {
            return Err(XmlError::MixedContent(f.qualified_name));
        }
        return Ok(Node::Element(element));
    }
    element.children.push(match f.opaque {
        Some(encoding) => Node::Opaque(opaque_bytes(encoding, f.text, &f.qualified_name)?),
        None => Node::Text(f.text),
    });
    Ok(Node::Element(element))
}

fn opaque_bytes(encoding: OpaqueEncoding, text: String, name: &str) -> Result<Vec<u8>, XmlError> {
    match encoding {
        OpaqueEncoding::Text => Ok(text.into_bytes()),
        OpaqueEncoding::Base64 => {
            let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            BASE64
                .decode(compact)
                .map_err(|_| XmlError::BadBase64(name.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wbxml::codepages::{airsync, airsyncbase, composemail, contacts};

    fn sample() -> Element {
        Element::new(airsync::Sync).with(
            Element::new(airsync::Collections).with(
                Element::new(airsync::Collection)
                    .with_text(airsync::SyncKey, "1")
                    .with(Element::new(airsync::GetChanges))
                    .with_text(airsync::Class, "")
                    .with(
                        Element::new(airsyncbase::Body)
                            .with_text(airsyncbase::Type, "1")
                            .with(Element::opaque_element(
                                airsyncbase::Data,
                                vec![0, 159, 146],
                            )),
                    )
                    .with_text(contacts::FileAs, "Funk, <Don> & \"co\"\r\n\t\u{1}  ")
                    .with(Element::opaque_element(
                        composemail::Mime,
                        b"From: a\r\n\r\nbody".to_vec(),
                    )),
            ),
        )
    }

    #[test]
    fn renders_the_spec_style_form() {
        let xml = to_xml(&sample());
        let expected = "<?xml version=\"1.0\" encoding=\"utf-8\"?>
<Sync xmlns=\"AirSync\" xmlns:contacts=\"Contacts\" xmlns:airsyncbase=\"AirSyncBase\" xmlns:composemail=\"ComposeMail\">
  <Collections>
    <Collection>
      <SyncKey>1</SyncKey>
      <GetChanges/>
      <Class></Class>
      <airsyncbase:Body>
        <airsyncbase:Type>1</airsyncbase:Type>
        <airsyncbase:Data opaque=\"base64\">AJ+S</airsyncbase:Data>
      </airsyncbase:Body>
      <contacts:FileAs>Funk, &lt;Don&gt; &amp; &quot;co&quot;&#13;
\t&#1;  </contacts:FileAs>
      <composemail:Mime opaque=\"text\">From: a&#13;
&#13;
body</composemail:Mime>
    </Collection>
  </Collections>
</Sync>
";
        assert_eq!(xml, expected);
    }

    #[test]
    fn round_trips_exactly() {
        let tree = sample();
        assert_eq!(from_xml(&to_xml(&tree)).unwrap(), tree);
    }

    #[test]
    fn mixed_content_uses_pseudo_elements() {
        let mut tree = Element::new(airsync::Sync);
        tree.children.push(Node::Text("  ".into()));
        tree.children.push(Node::Text("a".into()));
        tree.push(Element::new(airsync::Limit));
        tree.children.push(Node::Opaque(vec![1, 2]));
        tree.children.push(Node::Text("x\0y".into()));
        let xml = to_xml(&tree);
        assert!(xml.contains("<wbxml:text>  </wbxml:text>"), "{xml}");
        let back = from_xml(&xml).unwrap();
        assert_eq!(
            crate::wbxml::encode(&back),
            crate::wbxml::encode(&tree),
            "{xml}"
        );
    }

    #[test]
    fn reads_libwbxml_style_namespaces() {
        let xml = "<?xml version=\"1.0\"?><!DOCTYPE ActiveSync PUBLIC \"-//MICROSOFT//DTD ActiveSync//EN\" \"http://www.microsoft.com/\"><Sync xmlns=\"AirSync:\"><Limit/><DisplayName xmlns=\"Gal:\">x</DisplayName></Sync>";
        let tree = from_xml(xml).unwrap();
        assert_eq!(tree.children.len(), 2);
        assert_eq!(
            tree.text_of(crate::wbxml::codepages::gal::DisplayName),
            Some("x")
        );
    }

    #[test]
    fn rejects_what_it_cannot_map() {
        for (xml, what) in [
            ("<Sync/>", "namespace"),
            ("<Sync xmlns=\"Nope\"/>", "unknown namespace"),
            ("<Bogus xmlns=\"AirSync\"/>", "unknown tag"),
            ("<Sync xmlns=\"AirSync\">x<Limit/></Sync>", "text next to"),
            ("<Sync xmlns=\"AirSync\" opaque=\"hex\">x</Sync>", "neither"),
            (
                "<Sync xmlns=\"AirSync\" opaque=\"base64\">!!</Sync>",
                "base64",
            ),
            (
                "<Sync xmlns=\"AirSync\"/><Sync xmlns=\"AirSync\"/>",
                "more than one",
            ),
            ("", "no root"),
            ("<Sync xmlns=\"AirSync\"><Limit></Sync>", "XML syntax"),
        ] {
            let e = from_xml(xml).unwrap_err().to_string();
            assert!(e.contains(what), "{xml}: {e}");
        }
    }
}
