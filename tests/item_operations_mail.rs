//! ItemOperations on mail through a real `serve` against real
//! Dovecot/Postfix (alice's INBOX holds the 12 seed messages): an
//! attachment inline, as a multipart response and as a byte range; a
//! message's MIME as a multipart part, byte for byte what IMAP holds; a
//! fetch by the LongId of a Search result; EmptyFolderContents with and
//! without DeleteSubFolders, checked over IMAP; Move answered "not supported".

mod support;

use base64::Engine;
use horde_activesync::backend::mail::imap::{fetch_items, Connection, Value};
use horde_activesync::wbxml::codepages::{
    airsync as a, airsyncbase as asb, email as em, find as f, itemoperations as io, search as s,
};
use horde_activesync::wbxml::{self, Element};
use support::client::{multipart_parts, Reply};
use support::device::Phone;
use support::mail::{self, fresh_mailboxes, imap};
use support::serve::Served;

fn start() -> (Served, Phone) {
    let served = Served::start(
        &format!("[provisioning]\nmode = \"none\"\n{}", mail::config()),
        &[("alice", "alicepass")],
    );
    let mut phone = Phone::new(&served.url, "alice", "alicepass", "IOMAIL", "16.1");
    phone.folder_sync();
    (served, phone)
}

/// The single operation result of an inline (WBXML) response.
fn inline(reply: Reply) -> Element {
    let body = reply.body.expect("a WBXML answer");
    assert_eq!(body.text_of(io::Status), Some("1"));
    body.path(&[io::Response])
        .and_then(|r| r.elements().next())
        .unwrap()
        .clone()
}

/// The WBXML document and the binary parts of a multipart response.
fn multipart(reply: &Reply) -> (Element, Vec<Vec<u8>>) {
    assert_eq!(
        reply.header("Content-Type"),
        Some("application/vnd.ms-sync.multipart")
    );
    let parts = multipart_parts(&reply.raw);
    let doc = wbxml::decode(parts[0], &wbxml::Limits::default()).unwrap();
    (doc, parts[1..].iter().map(|p| p.to_vec()).collect())
}

fn fetch_item(folder: &str, server_id: &str, options: Element) -> Element {
    Element::new(io::Fetch)
        .with_text(io::Store, "Mailbox")
        .with_text(a::CollectionId, folder)
        .with_text(a::ServerId, server_id)
        .with(options)
}

fn fetch_file(reference: &str, range: Option<&str>) -> Element {
    let mut op = Element::new(io::Fetch)
        .with_text(io::Store, "Mailbox")
        .with_text(asb::FileReference, reference);
    if let Some(r) = range {
        op.push(Element::new(io::Options).with_text(io::Range, r));
    }
    op
}

fn plain() -> Element {
    Element::new(io::Options).with(Element::new(asb::BodyPreference).with_text(asb::Type, "1"))
}

/// (CollectionId, ServerId) of the first Find hit for `text`.
fn find_one(phone: &Phone, text: &str) -> (String, String) {
    let req = Element::new(f::Find).with_text(f::SearchId, "io").with(
        Element::new(f::ExecuteSearch).with(
            Element::new(f::MailBoxSearchCriterion)
                .with(Element::new(f::Query).with_text(f::FreeText, text))
                .with(Element::new(f::Options).with_text(f::Range, "0-0")),
        ),
    );
    let r = phone.client.post("Find", Some(&req)).body.unwrap();
    let hit = r.path(&[f::Response, f::Result]).expect("a Find hit");
    (
        hit.text_of(a::CollectionId).unwrap().to_string(),
        hit.text_of(a::ServerId).unwrap().to_string(),
    )
}

fn sha256(bytes: &[u8]) -> String {
    let file = std::env::temp_dir().join(format!("eas-io-{}", std::process::id()));
    std::fs::write(&file, bytes).unwrap();
    let out = std::process::Command::new("sha256sum")
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

#[test]
fn attachment_inline_multipart_and_byte_range() {
    let _mail = fresh_mailboxes();
    let (_served, phone) = start();
    let (folder, id) = find_one(&phone, "SHA-256");
    let message = inline(phone.item_operations(fetch_item(&folder, &id, plain()), false));
    assert_eq!(message.text_of(io::Status), Some("1"));
    assert_eq!(message.text_of(a::Class), Some("Email"));
    let props = message.child(io::Properties).unwrap();
    let text = props
        .path(&[asb::Body, asb::Data])
        .and_then(Element::text)
        .unwrap();
    let sha = text.split("SHA-256: ").nth(1).unwrap()[..64].to_string();
    let reference = props
        .path(&[asb::Attachments])
        .unwrap()
        .children_with(asb::Attachment)
        .max_by_key(|a| {
            a.text_of(asb::EstimatedDataSize)
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .and_then(|a| a.text_of(asb::FileReference))
        .unwrap()
        .to_string();

    // Inline: base64 in Properties/Data.
    let fetched = inline(phone.item_operations(fetch_file(&reference, None), false));
    let data = fetched
        .path(&[io::Properties, io::Data])
        .and_then(Element::text)
        .unwrap();
    let whole = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    assert_eq!(whole.len(), 1 << 20);
    assert_eq!(sha256(&whole), sha);

    // Multipart: Properties/Part names the binary part, no base64.
    let reply = phone.item_operations(fetch_file(&reference, None), true);
    let (doc, parts) = multipart(&reply);
    let fetch = doc.path(&[io::Response, io::Fetch]).unwrap();
    assert_eq!(fetch.text_of(io::Status), Some("1"));
    let props = fetch.child(io::Properties).unwrap();
    assert!(props.child(io::Data).is_none());
    assert_eq!(props.text_of(io::Part), Some("1"));
    assert_eq!(parts.len(), 1);
    assert!(parts[0] == whole, "multipart bytes = inline bytes");

    // A byte range, inline and multipart: Range and Total say what it is.
    let fetched = inline(phone.item_operations(fetch_file(&reference, Some("1000-1999")), false));
    let props = fetched
        .child(io::Properties)
        .unwrap_or_else(|| panic!("{}", wbxml::xml::to_xml(&fetched)));
    assert_eq!(props.text_of(io::Range), Some("1000-1999"));
    assert_eq!(props.text_of(io::Total), Some("1048576"));
    let slice = base64::engine::general_purpose::STANDARD
        .decode(props.text_of(io::Data).unwrap())
        .unwrap();
    assert!(slice == whole[1000..2000]);
    let reply = phone.item_operations(fetch_file(&reference, Some("1048000-2000000")), true);
    let (doc, parts) = multipart(&reply);
    let props = doc
        .path(&[io::Response, io::Fetch, io::Properties])
        .unwrap();
    assert_eq!(props.text_of(io::Range), Some("1048000-1048575"));
    assert!(parts[0] == whole[1_048_000..]);
    // A range past the end: status 8, no data.
    let fetched =
        inline(phone.item_operations(fetch_file(&reference, Some("2000000-2000010")), false));
    assert_eq!(fetched.text_of(io::Status), Some("8"));
    assert!(fetched.child(io::Properties).is_none());
}

/// The raw message of `uid` in `mailbox` over IMAP.
fn raw_message(conn: &mut Connection, mailbox: &str, uid: &str) -> Vec<u8> {
    conn.run(&format!("SELECT \"{mailbox}\"")).unwrap();
    let r = conn.run(&format!("UID FETCH {uid} (BODY.PEEK[])")).unwrap();
    r.data("FETCH")
        .iter()
        .flat_map(|v| fetch_items(v[0].as_list()))
        .find_map(|(k, v)| match (k.as_str(), v) {
            ("BODY[]", Value::Str(b)) => Some(b),
            _ => None,
        })
        .unwrap()
}

#[test]
fn mime_as_a_part_byte_for_byte_and_fetch_by_long_id() {
    let _mail = fresh_mailboxes();
    let (_served, phone) = start();
    // The Latin-1 message: 8-bit bytes that must survive unchanged.
    let (folder, id) = find_one(&phone, "Genève");
    let options = Element::new(io::Options)
        .with_text(a::MIMESupport, "2")
        .with(Element::new(asb::BodyPreference).with_text(asb::Type, "4"));
    let reply = phone.item_operations(fetch_item(&folder, &id, options), true);
    let (doc, parts) = multipart(&reply);
    let body = doc
        .path(&[io::Response, io::Fetch, io::Properties, asb::Body])
        .unwrap();
    assert_eq!(body.text_of(asb::Type), Some("4"));
    assert_eq!(body.text_of(io::Part), Some("1"));
    assert!(body.child(asb::Data).is_none());
    assert!(parts[0] == raw_message(&mut imap("alice"), "INBOX", &id));

    // Schema: only the properties asked for.
    let options = plain().with(Element::new(io::Schema).with(Element::new(em::Subject)));
    let fetched = inline(phone.item_operations(fetch_item(&folder, &id, options), false));
    let names: Vec<_> = fetched
        .child(io::Properties)
        .unwrap()
        .elements()
        .map(|e| e.tag)
        .collect();
    assert_eq!(names, [em::Subject]);

    // The LongId of a Search result fetches the same message.
    let long_id = phone.first_long_id(None, "Genève");
    let op = Element::new(io::Fetch)
        .with_text(io::Store, "Mailbox")
        .with_text(s::LongId, long_id.clone())
        .with(plain());
    let fetched = inline(phone.item_operations(op, false));
    assert_eq!(fetched.text_of(io::Status), Some("1"));
    assert_eq!(fetched.text_of(s::LongId), Some(long_id.as_str()));
    assert_eq!(
        fetched
            .path(&[io::Properties, em::Subject])
            .and_then(Element::text),
        Some("Réunion du comité à Genève - ordre du jour")
    );
    // Unknown message or LongId: status 6.
    let fetched = inline(phone.item_operations(fetch_item(&folder, "999999", plain()), false));
    assert_eq!(fetched.text_of(io::Status), Some("6"));
    let op = Element::new(io::Fetch)
        .with_text(io::Store, "Mailbox")
        .with_text(s::LongId, "nonsense");
    assert_eq!(
        inline(phone.item_operations(op, false)).text_of(io::Status),
        Some("6")
    );
}

fn count(conn: &mut Connection, mailbox: &str) -> usize {
    conn.run(&format!("SELECT \"{mailbox}\"")).unwrap();
    let r = conn.run("UID SEARCH ALL").unwrap();
    r.data("SEARCH").into_iter().flatten().count()
}

fn empty_op(folder: &str, delete_subfolders: bool) -> Element {
    let mut op = Element::new(io::EmptyFolderContents).with_text(a::CollectionId, folder);
    if delete_subfolders {
        op.push(Element::new(io::Options).with(Element::new(io::DeleteSubFolders)));
    }
    op
}

#[test]
fn empty_folder_contents_of_a_mail_folder_and_its_subfolders() {
    let _mail = fresh_mailboxes();
    let mut conn = imap("alice");
    let list = conn.run("LIST \"\" \"\"").unwrap();
    let delimiter = list.data("LIST")[0][1].as_str().unwrap().to_string();
    let (old, sub) = ("Old", format!("Old{delimiter}Older"));
    conn.run(&format!("CREATE \"{old}\"")).unwrap();
    conn.run(&format!("CREATE \"{sub}\"")).unwrap();
    for (mailbox, n) in [(old, 3), (sub.as_str(), 2)] {
        for i in 0..n {
            let msg = format!("From: a@example.test\r\nSubject: {mailbox} {i}\r\n\r\nbody\r\n");
            conn.run_with_literal(&format!("APPEND \"{mailbox}\""), Some(msg.as_bytes()))
                .unwrap();
        }
    }
    let (_served, mut phone) = start();
    let folder = phone
        .folders
        .iter()
        .find(|(_, (name, _))| name == old)
        .map(|(id, _)| id.clone())
        .unwrap();

    // Without DeleteSubFolders: the folder is emptied, the subfolder keeps its mail.
    let r = inline(phone.item_operations(empty_op(&folder, false), false));
    assert_eq!(r.tag, io::EmptyFolderContents);
    assert_eq!(
        (r.text_of(io::Status), r.text_of(a::CollectionId)),
        (Some("1"), Some(folder.as_str()))
    );
    assert_eq!(count(&mut conn, old), 0);
    assert_eq!(count(&mut conn, &sub), 2);
    // With it: the subfolder is gone too, the folder itself stays.
    let r = inline(phone.item_operations(empty_op(&folder, true), false));
    assert_eq!(r.text_of(io::Status), Some("1"));
    let names: Vec<String> = imap("alice")
        .run("LIST \"\" \"*\"")
        .unwrap()
        .data("LIST")
        .iter()
        .filter_map(|l| l[2].as_str().map(str::to_string))
        .collect();
    assert!(names.iter().any(|n| n == old), "{names:?}");
    assert!(!names.contains(&sub), "{names:?}");
    // (Dovecot drops a session whose selected mailbox was deleted.)
    let mut conn = imap("alice");
    phone.folder_sync();
    assert!(phone.folders.contains_key(&folder));
    assert!(!phone.folders.values().any(|(name, _)| name == "Older"));

    // An unknown folder: 6. A contacts folder is not emptied: 156.
    let r = inline(phone.item_operations(empty_op("M0000000000000000", false), false));
    assert_eq!(r.text_of(io::Status), Some("6"));
    let r = inline(phone.item_operations(empty_op(&phone.folder(9), false), false));
    assert_eq!(r.text_of(io::Status), Some("156"));
    // Moving a conversation is not supported: 156, the id echoed.
    let op = Element::new(io::Move)
        .with(Element::opaque_element(
            io::ConversationId,
            b"0123456789abcdef".to_vec(),
        ))
        .with_text(io::DstFldId, folder.clone());
    let r = inline(phone.item_operations(op, false));
    assert_eq!(r.text_of(io::Status), Some("156"));
    assert!(r.child(io::ConversationId).is_some());
    // The INBOX was never touched.
    assert_eq!(count(&mut conn, "INBOX"), 12);
}
