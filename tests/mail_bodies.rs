//! Email bodies for devices that predate BodyPreference or still send the
//! old options, against the seeded INBOX on real Dovecot: 2.5 Truncation
//! (email:Body/BodyTruncated/BodySize), 2.5 MIMESupport (MIMEData/
//! MIMETruncated/MIMESize) and 12.1 MIMESupport 1 (MIME for S/MIME only).

mod support;

use horde_activesync::backend::mail::imap::{fetch_items, Value};
use horde_activesync::wbxml::codepages::{airsync as a, airsyncbase as asb, email as em};
use horde_activesync::wbxml::Element;
use std::collections::HashMap;
use support::device::Phone;
use support::mail::{self, fresh_mailboxes, imap};
use support::serve::Served;

fn start(version: &str, device: &str) -> (Served, Phone) {
    let config = format!("[provisioning]\nmode = \"none\"\n{}", mail::config());
    let served = Served::start(&config, &[("alice", "alicepass")]);
    let mut phone = Phone::new(&served.url, "alice", "alicepass", device, version);
    phone.folder_sync();
    (served, phone)
}

/// Key 0 and a first GetChanges with these Options children; ServerId ->
/// ApplicationData of every Add.
fn initial(phone: &mut Phone, folder: &str, options: Element) -> HashMap<String, Element> {
    let mut key = "0".to_string();
    let mut adds = HashMap::new();
    for round in 0..2 {
        let mut coll = Element::new(a::Collection)
            .with_text(a::SyncKey, key.clone())
            .with_text(a::CollectionId, folder);
        if round > 0 {
            coll.push(Element::new(a::GetChanges));
        }
        coll.push_text(a::WindowSize, "100");
        coll.push(options.clone());
        if phone.client.version == "2.5" {
            coll = coll.with_text(a::Class, "Email");
        }
        let r =
            phone.post_sync(&Element::new(a::Sync).with(Element::new(a::Collections).with(coll)));
        assert_eq!(
            r.text_of(a::Status),
            Some("1"),
            "{}",
            horde_activesync::wbxml::xml::to_xml(&r)
        );
        key = r.text_of(a::SyncKey).unwrap().to_string();
        for add in r
            .child(a::Commands)
            .into_iter()
            .flat_map(|c| c.children_with(a::Add))
        {
            adds.insert(
                add.text_of(a::ServerId).unwrap().to_string(),
                add.child(a::ApplicationData).unwrap().clone(),
            );
        }
    }
    adds
}

fn raw_message(uid: &str) -> Vec<u8> {
    let mut conn = imap("alice");
    conn.run("SELECT INBOX").unwrap();
    let r = conn.run(&format!("UID FETCH {uid} (BODY.PEEK[])")).unwrap();
    match fetch_items(r.data("FETCH")[0][0].as_list())
        .into_iter()
        .find(|(k, _)| k == "BODY[]")
    {
        Some((_, Value::Str(b))) => b,
        _ => panic!("no body of {uid}"),
    }
}

fn data_bytes(e: &Element) -> Vec<u8> {
    e.bytes()
        .map(<[u8]>::to_vec)
        .or_else(|| e.text().map(|t| t.as_bytes().to_vec()))
        .unwrap_or_default()
}

#[test]
fn version_2_5_gets_truncated_body_or_whole_mime_data() {
    let _mail = fresh_mailboxes();
    let (_served, mut phone) = start("2.5", "LEGACY25");
    let inbox = phone.folder(2);
    // Truncation 1 = 512 characters.
    let items = initial(
        &mut phone,
        &inbox,
        Element::new(a::Options).with_text(a::Truncation, "1"),
    );
    assert_eq!(items.len(), 12);
    let long = items
        .values()
        .find(|d| d.text_of(em::BodyTruncated) == Some("1"))
        .expect("the 60 KB seed message is cut");
    assert!(long.text_of(em::Body).unwrap().len() <= 512);
    assert!(
        long.text_of(em::BodySize)
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 512
    );
    assert!(items
        .values()
        .all(|d| d.child(asb::Body).is_none() && d.child(em::MIMEData).is_none()));

    // MIMESupport 2 with MIMETruncation 8 (whole): the message byte for byte.
    let (_served, mut phone) = start("2.5", "LEGACY25M");
    let items = initial(
        &mut phone,
        &inbox,
        Element::new(a::Options)
            .with_text(a::MIMESupport, "2")
            .with_text(a::MIMETruncation, "8"),
    );
    let (uid, data) = items.iter().next().unwrap();
    let raw = raw_message(uid);
    assert_eq!(data_bytes(data.child(em::MIMEData).unwrap()), raw);
    assert_eq!(data.text_of(em::MIMETruncated), Some("0"));
    assert_eq!(
        data.text_of(em::MIMESize),
        Some(raw.len().to_string().as_str())
    );
    assert!(data.child(em::Body).is_none());
}

#[test]
fn mime_support_1_sends_mime_for_smime_messages_only() {
    let _mail = fresh_mailboxes();
    let (_served, mut phone) = start("12.1", "LEGACY121");
    let inbox = phone.folder(2);
    let items = initial(
        &mut phone,
        &inbox,
        Element::new(a::Options)
            .with_text(a::MIMESupport, "1")
            .with(Element::new(asb::BodyPreference).with_text(asb::Type, "1"))
            .with(Element::new(asb::BodyPreference).with_text(asb::Type, "4")),
    );
    let body_type = |d: &Element| {
        d.path(&[asb::Body, asb::Type])
            .and_then(Element::text)
            .map(str::to_string)
    };
    let mut smime = 0;
    for (uid, d) in &items {
        let class = d.text_of(em::MessageClass).unwrap_or_default();
        if class.starts_with("IPM.Note.SMIME") {
            smime += 1;
            assert_eq!(body_type(d).as_deref(), Some("4"), "{class}");
            assert_eq!(
                data_bytes(d.path(&[asb::Body, asb::Data]).unwrap()),
                raw_message(uid)
            );
        } else {
            assert_eq!(body_type(d).as_deref(), Some("1"), "{class}");
        }
    }
    assert_eq!(smime, 2, "the seed has a signed and an encrypted message");
}
