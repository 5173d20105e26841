//! SmartReply/SmartForward per MS-ASCMD against real Dovecot and Postfix:
//! the original quoted below a reply, named by ItemId alone (Inbox) or by a
//! Search LongId; the reply state (Email2 LastVerbExecuted and its time) in
//! the next Sync; Categories to IMAP keywords and back; ConversationIndex.

mod support;

use horde_activesync::wbxml::codepages::{airsync as a, composemail as cm, email as em, email2};
use horde_activesync::wbxml::Element;
use mail_parser::MessageParser;
use support::device::{commands, Phone};
use support::mail::{self, fresh_mailboxes, imap};
use support::serve::Served;

fn start(device: &str) -> (Served, Phone) {
    let config = format!("[provisioning]\nmode = \"none\"\n{}", mail::config());
    let served = Served::start(&config, &[("alice", "alicepass")]);
    let mut phone = Phone::new(&served.url, "alice", "alicepass", device, "14.1");
    phone.folder_sync();
    (served, phone)
}

/// Put a message from Bob (to Alice and sink) into alice's INBOX; its UID.
fn append_original(message_id: &str) -> String {
    let raw = format!(
        "From: Bob <bob@example.test>\r\nTo: alice@example.test, sink@example.test\r\n\
         Subject: Quarterly plan\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\n\
         Message-ID: <{message_id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Numbers are in.\r\nSee you Monday.\r\n"
    );
    let mut other = imap("alice");
    let r = other
        .run_with_literal("APPEND INBOX", Some(raw.as_bytes()))
        .unwrap();
    r.code("APPENDUID")
        .and_then(|c| c.split(' ').nth(1).map(str::to_string))
        .unwrap()
}

/// A device-written reply (no original inside).
fn reply(id: &str, to: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.test>\r\nTo: {to}\r\nSubject: Re: Quarterly plan\r\n\
         Message-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Thanks, Monday works.\r\n"
    )
    .into_bytes()
}

fn compose(
    kind: horde_activesync::wbxml::Tag,
    client_id: &str,
    source: Element,
    mime: Vec<u8>,
) -> Element {
    Element::new(kind)
        .with_text(cm::ClientId, client_id)
        .with(source)
        .with(Element::opaque_element(cm::Mime, mime))
}

/// The message with this Message-ID in `user`'s INBOX (waits up to 10 s).
fn delivered(user: &str, message_id: &str) -> Vec<u8> {
    mail::wait_for_message(
        user,
        "INBOX",
        &format!("HEADER Message-ID \"{message_id}\""),
    )
}

/// The ApplicationData of the Change (or Add) of `id` in a Sync response.
fn item(coll: &Element, id: &str) -> Element {
    coll.child(a::Commands)
        .and_then(|c| c.elements().find(|e| e.text_of(a::ServerId) == Some(id)))
        .and_then(|e| e.child(a::ApplicationData))
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no change of {id}: {}",
                horde_activesync::wbxml::xml::to_xml(coll)
            )
        })
}

#[test]
fn replies_quote_the_original_and_the_reply_state_reaches_the_device() {
    let _mail = fresh_mailboxes();
    let pid = std::process::id();
    let original = append_original(&format!("plan-{pid}@example.test"));
    let (_served, mut phone) = start("COMPOSE1");
    let inbox = phone.folder(2);
    let first = phone.start(&inbox, Some(100));
    let data = item(&first, &original);
    assert!(data.text_of(email2::LastVerbExecuted).is_none());
    assert_eq!(
        data.child(email2::ConversationIndex)
            .and_then(Element::bytes)
            .map(<[u8]>::len),
        Some(5),
        "a first message: the 5-byte header only"
    );

    // Reply to the sender, the original named by ItemId alone (= Inbox).
    let id = format!("re1-{pid}@phone.example.test");
    let req = compose(
        cm::SmartReply,
        "r1",
        Element::new(cm::Source).with_text(cm::ItemId, original.clone()),
        reply(&id, "Bob <bob@example.test>"),
    );
    let r = phone.client.post("SmartReply", Some(&req));
    assert_eq!((r.status, r.body.is_none()), (200, true), "{}", r.xml());
    let got = delivered("bob", &id);
    let msg = MessageParser::default().parse(&got).unwrap();
    let text = msg.body_text(0).unwrap();
    assert!(text.starts_with("Thanks, Monday works."), "{text}");
    assert!(
        text.contains("Bob wrote:\r\n> Numbers are in.\r\n> See you Monday."),
        "{text}"
    );
    assert_eq!(msg.attachments().count(), 0, "quoted, not attached");

    let before = chrono::Utc::now().timestamp() - 5;
    let r = phone.sync(&inbox, Some(100), vec![]);
    let data = item(&r, &original);
    assert_eq!(data.text_of(email2::LastVerbExecuted), Some("1"));
    let at = data.text_of(email2::LastVerbExecutionTime).unwrap();
    let at = horde_activesync::convert::eas_email::parse_date(at).unwrap();
    assert!(at >= before && at <= before + 65, "{at}");

    // Reply to all (sink too), the original named by a Search LongId.
    let long_id = phone.first_long_id(Some(&inbox), "Quarterly");
    let id = format!("re2-{pid}@phone.example.test");
    let req = compose(
        cm::SmartReply,
        "r2",
        Element::new(cm::Source).with_text(cm::LongId, long_id.clone()),
        reply(&id, "bob@example.test, sink@example.test"),
    );
    let r = phone.client.post("SmartReply", Some(&req));
    assert_eq!((r.status, r.body.is_none()), (200, true), "{}", r.xml());
    delivered("bob", &id);
    let r = phone.sync(&inbox, Some(100), vec![]);
    assert_eq!(
        item(&r, &original).text_of(email2::LastVerbExecuted),
        Some("2")
    );

    // Forward: the original attached, LastVerbExecuted 3.
    let id = format!("fw-{pid}@phone.example.test");
    let req = compose(
        cm::SmartForward,
        "f1",
        Element::new(cm::Source)
            .with_text(cm::FolderId, inbox.clone())
            .with_text(cm::ItemId, original.clone()),
        reply(&id, "bob@example.test"),
    );
    assert_eq!(phone.client.post("SmartForward", Some(&req)).status, 200);
    let got = delivered("bob", &id);
    let msg = MessageParser::default().parse(&got).unwrap();
    let inner = msg.attachment(0).and_then(|a| a.message()).unwrap();
    assert_eq!(inner.subject(), Some("Quarterly plan"));
    let r = phone.sync(&inbox, Some(100), vec![]);
    assert_eq!(
        item(&r, &original).text_of(email2::LastVerbExecuted),
        Some("3")
    );
    let mut other = imap("alice");
    other.run("SELECT INBOX").unwrap();
    let flags = other.run(&format!("UID FETCH {original} (FLAGS)")).unwrap();
    let flags = String::from_utf8_lossy(&flags.untagged[0]).to_string();
    assert!(
        flags.contains("\\Answered") && flags.contains("$Forwarded"),
        "{flags}"
    );

    // A LongId that names nothing: Status 150, nothing sent.
    let req = compose(
        cm::SmartReply,
        "r3",
        Element::new(cm::Source).with_text(cm::LongId, "no-such-long-id"),
        reply("never@x", "bob@example.test"),
    );
    let r = phone.client.post("SmartReply", Some(&req)).body.unwrap();
    assert_eq!(r.text_of(cm::Status), Some("150"));
}

#[test]
fn categories_become_imap_keywords_and_keywords_categories() {
    let _mail = fresh_mailboxes();
    let original = append_original(&format!("cat-{}@example.test", std::process::id()));
    let (_served, mut phone) = start("COMPOSE2");
    let inbox = phone.folder(2);
    phone.start(&inbox, Some(100));

    let change = Element::new(a::Change)
        .with_text(a::ServerId, original.clone())
        .with(
            Element::new(a::ApplicationData).with(
                Element::new(em::Categories)
                    .with_text(em::Category, "Rote Liste")
                    .with_text(em::Category, "Büro")
                    .with_text(em::Category, "x".repeat(60)),
            ),
        );
    let r = phone.sync(&inbox, Some(100), vec![change]);
    assert!(commands(&r).is_empty(), "own change not echoed");
    assert!(
        r.child(a::Responses).is_none(),
        "a category too long for an IMAP keyword does not fail the Change"
    );
    let mut other = imap("alice");
    other.run("SELECT INBOX").unwrap();
    let flags = |other: &mut horde_activesync::backend::mail::imap::Connection| {
        let r = other.run(&format!("UID FETCH {original} (FLAGS)")).unwrap();
        String::from_utf8_lossy(&r.untagged[0]).to_string()
    };
    let f = flags(&mut other);
    assert!(f.contains("Rote_Liste") && f.contains("B&APw-ro"), "{f}");

    // Another client drops one keyword and adds one: the device sees both.
    other
        .run(&format!("UID STORE {original} -FLAGS (B&APw-ro)"))
        .unwrap();
    other
        .run(&format!("UID STORE {original} +FLAGS (Projekt_X)"))
        .unwrap();
    let r = phone.sync(&inbox, Some(100), vec![]);
    let data = item(&r, &original);
    let mut cats: Vec<&str> = data
        .child(em::Categories)
        .unwrap()
        .children_with(em::Category)
        .filter_map(Element::text)
        .collect();
    cats.sort();
    assert_eq!(cats, vec!["Projekt X", "Rote Liste"]);
    assert!(!flags(&mut other).contains("B&APw-ro"));

    // An empty Categories element clears them all.
    let clear = Element::new(a::Change)
        .with_text(a::ServerId, original.clone())
        .with(Element::new(a::ApplicationData).with(Element::new(em::Categories)));
    phone.sync(&inbox, Some(100), vec![clear]);
    let f = flags(&mut other);
    assert!(!f.contains("Rote_Liste") && !f.contains("Projekt_X"), "{f}");
}
