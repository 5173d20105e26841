//! The WBXML corpus (tests/data/wbxml): realistic requests and responses of
//! every code page, each as WBXML and in the readable XML form, plus the
//! worked example of MS-ASWBXML byte for byte.
use horde_activesync::wbxml::codepages::{airsync, airsyncbase, contacts};
use horde_activesync::wbxml::{self, codepages, xml, Element, Limits, Node};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn corpus() -> Vec<(String, Vec<u8>, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/wbxml");
    let mut docs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wbxml"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&p).unwrap();
            let text = std::fs::read_to_string(p.with_extension("xml")).unwrap();
            (name, bytes, text)
        })
        .collect();
    docs.sort();
    docs
}

fn pages(e: &Element, seen: &mut BTreeSet<u8>) {
    seen.insert(e.tag.page());
    for c in e.elements() {
        pages(c, seen);
    }
}

#[test]
fn corpus_round_trips_and_matches_its_xml_form() {
    let docs = corpus();
    assert!(docs.len() >= 40, "only {} documents", docs.len());
    let mut seen = BTreeSet::new();
    for (name, bytes, text) in &docs {
        let tree =
            wbxml::decode(bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&xml::to_xml(&tree), text, "{name}: XML form differs");
        assert_eq!(&wbxml::encode(&tree), bytes, "{name}: re-encoding differs");
        let from_text = xml::from_xml(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(from_text, tree, "{name}: XML form reads back differently");
        pages(&tree, &mut seen);
    }
    let all: BTreeSet<u8> = (0..=25).collect();
    assert_eq!(seen, all, "code pages missing from the corpus");
}

#[test]
fn corpus_uses_every_token_of_the_common_pages() {
    // Every tag of the pages the server answers with most is exercised.
    let mut used = BTreeSet::new();
    for (_, bytes, _) in corpus() {
        let tree = wbxml::decode(&bytes, &Limits::default()).unwrap();
        let mut todo = vec![&tree];
        while let Some(e) = todo.pop() {
            used.insert(e.tag);
            todo.extend(e.elements());
        }
    }
    for page in [
        "FolderHierarchy",
        "Ping",
        "Move",
        "Provision",
        "AirSyncBase",
    ] {
        let number = codepages::page_of(page).unwrap();
        let missing: Vec<_> = codepages::all_tags()
            .filter(|t| t.page() == number && !used.contains(t))
            .map(|t| codepages::name_of(t).unwrap().1)
            .collect();
        // Tokens the spec defines but no client or server sends.
        let allowed: &[&str] = match page {
            "FolderHierarchy" => &["Folders", "Folder"],
            "Ping" => &["AutdState"],
            _ => &[],
        };
        let unexpected: Vec<_> = missing.iter().filter(|m| !allowed.contains(m)).collect();
        assert!(unexpected.is_empty(), "{page}: unused {unexpected:?}");
    }
}

/// MS-ASWBXML section 3.1.5.1 (example: a new contact in a Sync response).
const SPEC_EXAMPLE: &str = "
    03 01 6A 00 45 5C 4F 50 03 43 6F 6E 74 61 63 74 73 00 01 4B 03 32 00 01 52 03 32 00
    01 4E 03 31 00 01 56 47 4D 03 32 3A 31 00 01 5D 00 11 4A 46 03 31 00 01 4C 03 30 00
    01 4D 03 31 00 01 01 00 01 5E 03 46 75 6E 6B 2C 20 44 6F 6E 00 01 5F 03 44 6F 6E 00
    01 69 03 46 75 6E 6B 00 01 00 11 56 03 31 00 01 01 01 01 01 01 01";

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

#[test]
fn spec_worked_example_byte_for_byte() {
    let expected = Element::new(airsync::Sync).with(
        Element::new(airsync::Collections).with(
            Element::new(airsync::Collection)
                .with_text(airsync::Class, "Contacts")
                .with_text(airsync::SyncKey, "2")
                .with_text(airsync::CollectionId, "2")
                .with_text(airsync::Status, "1")
                .with(
                    Element::new(airsync::Commands).with(
                        Element::new(airsync::Add)
                            .with_text(airsync::ServerId, "2:1")
                            .with(
                                Element::new(airsync::ApplicationData)
                                    .with(
                                        Element::new(airsyncbase::Body)
                                            .with_text(airsyncbase::Type, "1")
                                            .with_text(airsyncbase::EstimatedDataSize, "0")
                                            .with_text(airsyncbase::Truncated, "1"),
                                    )
                                    .with_text(contacts::FileAs, "Funk, Don")
                                    .with_text(contacts::FirstName, "Don")
                                    .with_text(contacts::LastName, "Funk")
                                    .with_text(airsyncbase::NativeBodyType, "1"),
                            ),
                    ),
                ),
        ),
    );
    let bytes = hex(SPEC_EXAMPLE);
    assert_eq!(wbxml::encode(&expected), bytes);
    assert_eq!(wbxml::decode(&bytes, &Limits::default()).unwrap(), expected);
    let (_, corpus_bytes, _) = corpus()
        .into_iter()
        .find(|(n, _, _)| n == "spec-example-contact-add")
        .unwrap();
    assert_eq!(corpus_bytes, bytes);
}

#[test]
fn typed_helpers_read_the_corpus_like_the_spec() {
    let (_, bytes, _) = corpus()
        .into_iter()
        .find(|(n, _, _)| n == "sync-response-email")
        .unwrap();
    let root = wbxml::decode(&bytes, &Limits::default()).unwrap();
    let collection = root
        .path(&[airsync::Collections, airsync::Collection])
        .unwrap();
    assert_eq!(collection.text_of(airsync::CollectionId), Some("INBOX"));
    let add = collection
        .path(&[airsync::Commands, airsync::Add, airsync::ApplicationData])
        .unwrap();
    let conversation = add.child(codepages::email2::ConversationId).unwrap();
    assert!(matches!(conversation.children[..], [Node::Opaque(_)]));
    assert_eq!(conversation.bytes(), Some(&b"ABCDEFGHIJKLMNOP"[..]));
    let attachments = add.child(airsyncbase::Attachments).unwrap();
    assert_eq!(
        attachments.children_with(airsyncbase::Attachment).count(),
        2
    );
    assert_eq!(
        add.path(&[airsyncbase::Body, airsyncbase::EstimatedDataSize])
            .and_then(|e| e.text())
            .and_then(|t| t.parse::<u32>().ok()),
        Some(5120)
    );
    assert_eq!(
        add.child(airsyncbase::Body)
            .and_then(|b| b.bool_of(airsyncbase::Truncated)),
        Some(true)
    );
}
