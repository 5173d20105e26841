//! Find (16.1) over the mailbox through a real `serve` against real
//! Dovecot/Postfix (alice's INBOX holds the 12 seed messages): free text
//! with paging by Range and Total, one folder or all, DeepTraversal into
//! subfolders, the spec's property set, and statuses 3 and 4.

mod support;

use horde_activesync::wbxml::codepages::{
    airsync as a, email as em, email2, find as f, gal, itemoperations as io,
};
use horde_activesync::wbxml::Element;
use support::device::{contact_add, Phone};
use support::mail::{self, fresh_mailboxes, imap};
use support::serve::Served;

/// The server with mail, and bob's address book as the GAL.
fn start() -> (Served, Phone) {
    let served = Served::start(
        &format!(
            "[provisioning]\nmode = \"none\"\n[gal]\nsources = [\"bob/Contacts\"]\n{}",
            mail::config()
        ),
        &[("alice", "alicepass"), ("bob", "bobpass")],
    );
    let mut phone = Phone::new(&served.url, "alice", "alicepass", "FINDMAIL", "16.1");
    phone.folder_sync();
    (served, phone)
}

fn find(phone: &Phone, text: &str, folder: Option<&str>, range: &str, deep: bool) -> Element {
    let mut query = Element::new(f::Query)
        .with_text(a::Class, "Email")
        .with_text(f::FreeText, text);
    if let Some(id) = folder {
        query.push_text(a::CollectionId, id);
    }
    let mut options = Element::new(f::Options).with_text(f::Range, range);
    if deep {
        options.push(Element::new(f::DeepTraversal));
    }
    let req = Element::new(f::Find).with_text(f::SearchId, "8F3A-1").with(
        Element::new(f::ExecuteSearch).with(
            Element::new(f::MailBoxSearchCriterion)
                .with(query)
                .with(options),
        ),
    );
    let reply = phone.client.post("Find", Some(&req));
    assert_eq!(reply.status, 200, "{}", reply.xml());
    reply.body.unwrap()
}

fn response(r: &Element) -> &Element {
    assert_eq!(
        r.text_of(f::Status),
        Some("1"),
        "{}",
        horde_activesync::wbxml::xml::to_xml(r)
    );
    let resp = r.child(f::Response).unwrap();
    assert_eq!(resp.text_of(io::Store), Some("Mailbox"));
    assert_eq!(resp.text_of(f::Status), Some("1"));
    resp
}

fn total(resp: &Element) -> usize {
    resp.text_of(f::Total).unwrap().parse().unwrap()
}

#[test]
fn find_pages_through_mail_with_total_and_the_spec_properties() {
    let _mail = fresh_mailboxes();
    let (_served, phone) = start();
    let inbox = phone.folder(2);

    // A word in many seed messages: the first page of 2, Total counts all.
    let r = find(&phone, "lorem", Some(&inbox), "0-1", false);
    let resp = response(&r);
    let all = total(resp);
    assert!(all > 2, "{all}");
    assert_eq!(resp.children_with(f::Result).count(), 2);
    assert_eq!(resp.text_of(f::Range), Some("0-1"));
    // Asking for more rows returns every match.
    let r = find(&phone, "lorem", None, "0-99", false);
    let resp = response(&r);
    assert_eq!(total(resp), all);
    assert_eq!(resp.children_with(f::Result).count(), all);
    assert_eq!(resp.text_of(f::Range).unwrap(), format!("0-{}", all - 1));

    // The Latin-1 message, found by a word of its RFC 2047 subject.
    let r = find(&phone, "Genève", Some(&inbox), "0-9", false);
    let resp = response(&r);
    assert_eq!(total(resp), 1);
    let hit = resp.child(f::Result).unwrap();
    assert_eq!(hit.text_of(a::Class), Some("Email"));
    assert_eq!(hit.text_of(a::CollectionId), Some(inbox.as_str()));
    assert!(hit.text_of(a::ServerId).unwrap().parse::<u32>().is_ok());
    let props = hit.child(f::Properties).unwrap();
    assert_eq!(
        props.text_of(em::Subject),
        Some("Réunion du comité à Genève - ordre du jour")
    );
    assert!(props.text_of(em::DateReceived).unwrap().ends_with('Z'));
    assert_eq!(props.text_of(email2::IsDraft), Some("0"));
    assert_eq!(props.text_of(f::HasAttachments), Some("0"));
    assert!(props.text_of(em::From).is_some());
    assert!(props.text_of(em::Read).is_some());
    assert!(props.text_of(f::Preview).unwrap().chars().count() <= 255);

    // KQL: a property restriction and a phrase, both must match.
    let r = find(
        &phone,
        "subject:Genève \"ordre du jour\"",
        None,
        "0-9",
        false,
    );
    assert_eq!(total(response(&r)), 1);
    let r = find(&phone, "lorem AND zzqxj", None, "0-9", false);
    assert_eq!(total(response(&r)), 0);

    // Nothing found: no Result, Total 0.
    let r = find(&phone, "zzqxj-nowhere", Some(&inbox), "0-9", false);
    let resp = response(&r);
    assert!(resp.child(f::Result).is_none());
    assert_eq!(total(resp), 0);

    // A Range not starting at 0 (status 4), an unknown folder (status 3).
    let r = find(&phone, "lorem", Some(&inbox), "2-5", false);
    assert_eq!(
        r.path(&[f::Response, f::Status]).and_then(Element::text),
        Some("4")
    );
    let r = find(&phone, "lorem", Some("M0123456789abcdef"), "0-9", false);
    assert_eq!(r.text_of(f::Status), Some("3"));
}

#[test]
fn deep_traversal_searches_subfolders_and_cc_preview_and_attachments_show() {
    let _mail = fresh_mailboxes();
    let mut conn = imap("alice");
    let list = conn.run("LIST \"\" \"\"").unwrap();
    let delimiter = list.data("LIST")[0][1].as_str().unwrap().to_string();
    let (parent, child) = ("Projects", format!("Projects{delimiter}Zebra"));
    conn.run(&format!("CREATE \"{parent}\"")).unwrap();
    conn.run(&format!("CREATE \"{child}\"")).unwrap();
    let message = |subject: &str| {
        format!(
            "From: Bob <bob@example.test>\r\nTo: Alice <alice@example.test>\r\n\
             Cc: \"Carol King\" <carol@example.test>, dave@example.test\r\n\
             Subject: {subject}\r\nMessage-ID: <{subject}@test>\r\n\r\n\
             The   zebrafind\r\nword is here.\r\n"
        )
    };
    // The subfolder's message is the newer one (INTERNALDATE).
    for (folder, subject, date) in [
        (parent, "top", "01-Jan-2026 10:00:00 +0000"),
        (child.as_str(), "below", "01-Feb-2026 10:00:00 +0000"),
    ] {
        conn.run_with_literal(
            &format!("APPEND \"{folder}\" \"{date}\""),
            Some(message(subject).as_bytes()),
        )
        .unwrap();
    }
    let (_served, phone) = start();
    let projects = phone
        .folders
        .iter()
        .find(|(_, (name, _))| name == parent)
        .map(|(id, _)| id.clone())
        .expect("Projects folder");

    // Only the folder itself, then with its subfolders.
    let r = find(&phone, "zebrafind", Some(&projects), "0-9", false);
    let resp = response(&r);
    assert_eq!(total(resp), 1);
    let props = resp.path(&[f::Result, f::Properties]).unwrap();
    assert_eq!(props.text_of(em::Subject), Some("top"));
    assert_eq!(
        props.text_of(f::DisplayCc),
        Some("Carol King; dave@example.test")
    );
    assert_eq!(props.text_of(em::DisplayTo), Some("Alice"));
    assert_eq!(
        props.text_of(f::Preview),
        Some("The zebrafind word is here.")
    );
    let r = find(&phone, "zebrafind", Some(&projects), "0-9", true);
    let resp = response(&r);
    assert_eq!(total(resp), 2);
    let subjects: Vec<&str> = resp
        .children_with(f::Result)
        .map(|r| {
            r.path(&[f::Properties, em::Subject])
                .and_then(Element::text)
                .unwrap()
        })
        .collect();
    assert_eq!(subjects, ["below", "top"], "newest first");

    // The 1 MiB attachment message says so.
    let r = find(&phone, "SHA-256", None, "0-9", false);
    let resp = response(&r);
    assert!(resp.children_with(f::Result).any(|r| r
        .path(&[f::Properties, f::HasAttachments])
        .and_then(Element::text)
        == Some("1")));
}

#[test]
fn gal_find_works_when_mail_is_configured_too() {
    let _mail = fresh_mailboxes();
    let (served, alice) = start();
    let mut bob = Phone::new(&served.url, "bob", "bobpass", "BOBGAL", "16.1");
    bob.folder_sync();
    let book = bob.folder(9);
    bob.start(&book, None);
    bob.sync(
        &book,
        None,
        vec![contact_add("g1", "Gustav", "Mahler", "gustav@example.test")],
    );
    let req = Element::new(f::Find).with_text(f::SearchId, "g").with(
        Element::new(f::ExecuteSearch).with(
            Element::new(f::GalSearchCriterion)
                .with_text(f::Query, "gust")
                .with(Element::new(f::Options).with_text(f::Range, "0-9")),
        ),
    );
    let r = alice.client.post("Find", Some(&req)).body.unwrap();
    let resp = r.child(f::Response).unwrap();
    assert_eq!(resp.text_of(io::Store), Some("GAL"));
    assert_eq!(resp.text_of(f::Total), Some("1"));
    assert_eq!(
        resp.path(&[f::Result, f::Properties, gal::EmailAddress])
            .and_then(Element::text),
        Some("gustav@example.test")
    );
}
