//! Property tests of the WBXML codec: random trees survive encode/decode and
//! the XML form; random input never panics the decoder or the XML reader.
use horde_activesync::wbxml::{self, codepages, xml, Element, Limits, Node, Tag};
use proptest::prelude::*;

fn tag() -> impl Strategy<Value = Tag> {
    let tags: Vec<Tag> = codepages::all_tags().collect();
    proptest::sample::select(tags)
}

/// Text as the wire can carry it: any characters but NUL, often blank.
fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[^\\x00]{0,24}", "[ \\t\\r\\n]{0,4}", "[a-z<>&\"' ]{0,8}",]
}

fn tree() -> impl Strategy<Value = Element> {
    let leaf = tag().prop_map(Element::new);
    leaf.prop_recursive(6, 64, 6, |inner| {
        (
            tag(),
            prop::collection::vec(
                prop_oneof![
                    3 => inner.prop_map(Node::Element),
                    1 => text().prop_map(Node::Text),
                    1 => prop::collection::vec(any::<u8>(), 0..24).prop_map(Node::Opaque),
                ],
                0..6,
            ),
        )
            .prop_map(|(tag, children)| Element { tag, children })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_trees_round_trip(t in tree()) {
        let bytes = wbxml::encode(&t);
        prop_assert_eq!(wbxml::decode(&bytes, &Limits::default()).unwrap(), t.clone());
        let text = xml::to_xml(&t);
        prop_assert_eq!(xml::from_xml(&text).unwrap(), t, "{}", text);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = wbxml::decode(&bytes, &Limits::default());
    }

    #[test]
    fn random_bodies_never_panic_and_what_decodes_round_trips(
        body in prop::collection::vec(
            prop_oneof![
                // Mostly structural bytes, so that the decoder gets deep.
                4 => prop::sample::select(vec![0x00u8, 0x01, 0x03, 0x45, 0x4B, 0x05, 0xC3, 0x11, 0x83]),
                1 => any::<u8>(),
            ],
            0..128,
        )
    ) {
        let bytes = [&[0x03, 0x01, 0x6A, 0x00][..], &body].concat();
        if let Ok(t) = wbxml::decode(&bytes, &Limits::default()) {
            // Byte identity holds except for a content flag with no content
            // (`45 01`), which the tree cannot tell from `05`.
            let encoded = wbxml::encode(&t);
            if !bytes.windows(2).any(|w| w[0] & 0x40 != 0 && w[0] & 0x3F >= 5 && w[1] == 0x01) {
                prop_assert_eq!(&encoded, &bytes);
            }
            prop_assert_eq!(wbxml::decode(&encoded, &Limits::default()).unwrap(), t);
        }
    }

    #[test]
    fn random_xml_never_panics(s in "(<[/a-zA-Z: =\"]{0,12}>|[^<]{0,8}|&#?[a-z0-9]{0,4};?){0,12}") {
        let _ = xml::from_xml(&s);
        let prefixed = format!("<Sync xmlns=\"AirSync\">{s}</Sync>");
        if let Ok(t) = xml::from_xml(&prefixed) {
            let bytes = wbxml::encode(&t);
            prop_assert!(wbxml::decode(&bytes, &Limits::default()).is_ok());
        }
    }
}

#[test]
fn deep_documents_are_refused_not_overflowed() {
    // A million nested tags: refused at the depth limit, no stack overflow.
    let mut bytes = vec![0x03, 0x01, 0x6A, 0x00];
    bytes.extend(std::iter::repeat_n(0x45, 1_000_000));
    let e = wbxml::decode(&bytes, &Limits::default()).unwrap_err();
    assert_eq!(e.reason, wbxml::Reason::TooDeep { limit: 64 });
    let deep_xml = "<Sync xmlns=\"AirSync\">".repeat(100_000);
    assert!(xml::from_xml(&deep_xml).is_err());
}

#[test]
fn deep_trees_built_in_code_encode_without_recursion() {
    let mut t = Element::new(codepages::airsync::Sync);
    for _ in 0..100_000 {
        t = Element::new(codepages::airsync::Sync).with(t);
    }
    let bytes = wbxml::encode(&t);
    assert_eq!(bytes.len(), 4 + 100_000 * 2 + 1);
    // The XML form indents, so its size grows with the square of the depth:
    // render the innermost 2000 levels only.
    let mut inner = &t;
    for _ in 0..98_000 {
        inner = inner.elements().next().unwrap();
    }
    let text = xml::to_xml(inner);
    assert_eq!(text.matches("</Sync>").count(), 2000);
    // Drop without recursing either (the default Drop of a deep tree would).
    let mut todo = vec![t];
    while let Some(mut e) = todo.pop() {
        for c in e.children.drain(..) {
            if let Node::Element(c) = c {
                todo.push(c);
            }
        }
    }
}
