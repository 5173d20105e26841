//! Email end to end: a real `serve` (embedded PIM store + `[mail]`) against
//! real Dovecot and Postfix from scripts/mail-setup.sh, with alice's INBOX
//! holding the 12 seed messages (plain, iOS, HTML, UTF-8, Latin-1,
//! attachments, S/MIME, a 60 KB one, ...).

mod support;

use horde_activesync::backend::mail::imap::{fetch_items, Connection, Value};
use horde_activesync::wbxml::codepages::{
    airsync as a, airsyncbase as asb, composemail as cm, email as em, email2,
    folderhierarchy as fh, mov as mv, ping as p,
};
use horde_activesync::wbxml::Element;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use support::device::{commands, ping_body, Phone};
use support::mail::{self, fresh_mailboxes, imap};
use support::serve::Served;

const PLAIN_LIMIT: usize = 200;

fn config() -> String {
    format!(
        "[provisioning]\nmode = \"none\"\n[ping]\nheartbeat_min = 1\nheartbeat_max = 30\npoll_interval = 1\n{}",
        mail::config()
    )
}

fn start(version: &str, device: &str) -> (Served, Phone) {
    let served = Served::start(&config(), &[("alice", "alicepass")]);
    let mut phone = Phone::new(&served.url, "alice", "alicepass", device, version);
    phone.folder_sync();
    (served, phone)
}

/// One Sync round of a mail folder with plain-text bodies cut at PLAIN_LIMIT.
fn sync(phone: &mut Phone, folder: &str, cmds: Vec<Element>) -> Element {
    sync_filtered(phone, folder, "0", cmds)
}

fn sync_filtered(phone: &mut Phone, folder: &str, filter: &str, cmds: Vec<Element>) -> Element {
    sync_with(phone, folder, filter, ("1", Some(PLAIN_LIMIT)), cmds)
}

/// One Sync round with this FilterType and BodyPreference (type, truncation).
fn sync_with(
    phone: &mut Phone,
    folder: &str,
    filter: &str,
    (body_type, truncation): (&str, Option<usize>),
    cmds: Vec<Element>,
) -> Element {
    let key = phone
        .keys
        .get(folder)
        .cloned()
        .unwrap_or_else(|| "0".into());
    let mut coll = Element::new(a::Collection)
        .with_text(a::SyncKey, key.clone())
        .with_text(a::CollectionId, folder);
    if key != "0" {
        coll.push(Element::new(a::GetChanges));
    }
    coll.push_text(a::WindowSize, "100");
    let mut pref = Element::new(asb::BodyPreference).with_text(asb::Type, body_type);
    if let Some(n) = truncation {
        pref.push_text(asb::TruncationSize, n.to_string());
    }
    coll.push(
        Element::new(a::Options)
            .with_text(a::FilterType, filter)
            .with(pref),
    );
    if !cmds.is_empty() {
        let mut c = Element::new(a::Commands);
        for x in cmds {
            c.push(x);
        }
        coll.push(c);
    }
    let body = Element::new(a::Sync).with(Element::new(a::Collections).with(coll));
    let r = phone.post_sync(&body);
    assert_eq!(
        r.text_of(a::Status),
        Some("1"),
        "{}",
        horde_activesync::wbxml::xml::to_xml(&r)
    );
    phone.keys.insert(
        folder.to_string(),
        r.text_of(a::SyncKey).unwrap().to_string(),
    );
    r
}

/// Key 0, then the first GetChanges: ServerId -> ApplicationData of every Add.
fn initial(phone: &mut Phone, folder: &str) -> HashMap<String, Element> {
    sync(phone, folder, vec![]);
    let r = sync(phone, folder, vec![]);
    r.child(a::Commands)
        .map(|c| {
            c.children_with(a::Add)
                .map(|e| {
                    (
                        e.text_of(a::ServerId).unwrap().to_string(),
                        e.child(a::ApplicationData).unwrap().clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn flags(conn: &mut Connection, mailbox: &str, uid: &str) -> Vec<String> {
    conn.run(&format!("SELECT \"{mailbox}\"")).unwrap();
    let r = conn.run(&format!("UID FETCH {uid} (FLAGS)")).unwrap();
    r.data("FETCH")
        .iter()
        .flat_map(|v| fetch_items(v[0].as_list()))
        .filter(|(k, _)| k == "FLAGS")
        .flat_map(|(_, v)| {
            v.as_list()
                .iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn search(conn: &mut Connection, mailbox: &str, criteria: &str) -> Vec<u64> {
    conn.run(&format!("SELECT \"{mailbox}\"")).unwrap();
    let r = conn.run(&format!("UID SEARCH {criteria}")).unwrap();
    r.data("SEARCH")
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_number())
        .collect()
}

/// Wait (at most 10 s) until a message with this Message-ID is in the mailbox.
fn wait_for(user: &str, mailbox: &str, message_id: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut conn = imap(user);
    loop {
        let found = search(
            &mut conn,
            mailbox,
            &format!("HEADER Message-ID \"{message_id}\""),
        );
        if let Some(uid) = found.first() {
            let r = conn.run(&format!("UID FETCH {uid} (BODY.PEEK[])")).unwrap();
            let items = fetch_items(r.data("FETCH")[0][0].as_list());
            if let Some((_, Value::Str(b))) = items.into_iter().find(|(k, _)| k == "BODY[]") {
                return b;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{message_id} never reached {user}'s {mailbox}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn folder_sync_and_initial_sync_of_the_seeded_inbox() {
    let _mail = fresh_mailboxes();
    let (_served, mut phone) = start("14.1", "MAIL1");
    for (t, name) in [(2, "Inbox"), (3, "Drafts"), (4, "Trash"), (5, "Sent")] {
        let id = phone.folder(t);
        assert_eq!(phone.folders[&id].0, name, "folder type {t}");
    }
    phone.folder(9); // the embedded contacts are still there
    let inbox = phone.folder(2);
    let items = initial(&mut phone, &inbox);
    assert_eq!(items.len(), 12);
    let subjects: Vec<&str> = items
        .values()
        .filter_map(|e| e.text_of(em::Subject))
        .collect();
    assert!(
        subjects.contains(&"Grüße aus München – 会議の議事録 ✅"),
        "{subjects:?}"
    );
    assert!(
        subjects.contains(&"Réunion du comité à Genève - ordre du jour"),
        "{subjects:?}"
    );
    let unread = items
        .values()
        .filter(|e| e.text_of(em::Read) == Some("0"))
        .count();
    assert_eq!(unread, 4);
    let flagged = items
        .values()
        .filter(|e| e.path(&[em::Flag, em::Status]).and_then(Element::text) == Some("2"))
        .count();
    assert_eq!(flagged, 3);
    // Bodies are plain text cut at the device's TruncationSize.
    let size = |e: &Element| {
        e.path(&[asb::Body, asb::EstimatedDataSize])
            .and_then(Element::text)
            .and_then(|t| t.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let long = items.values().max_by_key(|e| size(e)).unwrap();
    let body = long.child(asb::Body).unwrap();
    assert_eq!(body.text_of(asb::Truncated), Some("1"));
    assert!(body.text_of(asb::Data).unwrap().len() <= PLAIN_LIMIT);
    assert!(body.u32_of(asb::EstimatedDataSize).unwrap() > 60_000);
    assert!(items
        .values()
        .all(|e| e.path(&[asb::Body, asb::Type]).and_then(Element::text) == Some("1")));
    let names: Vec<&str> = items
        .values()
        .filter_map(|e| e.child(asb::Attachments))
        .flat_map(|x| x.children_with(asb::Attachment))
        .filter_map(|x| x.text_of(asb::DisplayName))
        .collect();
    assert!(names.contains(&"Résumé übersicht.txt"), "{names:?}");
    let classes: Vec<&str> = items
        .values()
        .filter_map(|e| e.text_of(em::MessageClass))
        .collect();
    assert!(
        classes.contains(&"IPM.Note.SMIME.MultipartSigned") && classes.contains(&"IPM.Note.SMIME")
    );

    // Email2:ConversationId for every message; the seeded reply shares its root's.
    let mut conversations: HashMap<Vec<u8>, usize> = HashMap::new();
    for e in items.values() {
        let id = e
            .child(email2::ConversationId)
            .and_then(Element::bytes)
            .expect("ConversationId");
        *conversations.entry(id.to_vec()).or_default() += 1;
    }
    assert!(conversations.values().any(|n| *n >= 2), "{conversations:?}");

    // 2.5 gets the same messages with email:Body.
    let mut old = Phone::new(
        &phone.client.base_url.clone(),
        "alice",
        "alicepass",
        "MAIL25",
        "2.5",
    );
    old.folder_sync();
    let items = initial(&mut old, &inbox);
    assert_eq!(items.len(), 12);
    assert!(items
        .values()
        .all(|e| e.child(em::Body).is_some() && e.child(asb::Body).is_none()));
}

#[test]
fn read_flag_and_delete_reach_imap_and_other_clients_flags_reach_the_device() {
    let _mail = fresh_mailboxes();
    let (_served, mut phone) = start("16.1", "MAIL2");
    let inbox = phone.folder(2);
    let items = initial(&mut phone, &inbox);
    let unread = items
        .iter()
        .find(|(_, e)| e.text_of(em::Read) == Some("0"))
        .unwrap()
        .0
        .clone();
    let plain = items
        .iter()
        .find(|(id, e)| **id != unread && e.path(&[em::Flag, em::Status]).is_none())
        .unwrap()
        .0
        .clone();

    let change = Element::new(a::Change)
        .with_text(a::ServerId, unread.clone())
        .with(
            Element::new(a::ApplicationData)
                .with_text(em::Read, "1")
                .with(
                    Element::new(em::Flag)
                        .with_text(em::Status, "2")
                        .with_text(em::FlagType, "for Follow Up"),
                ),
        );
    let r = sync(&mut phone, &inbox, vec![change]);
    assert!(
        r.child(a::Responses).is_none(),
        "{}",
        horde_activesync::wbxml::xml::to_xml(&r)
    );
    let mut other = imap("alice");
    let f = flags(&mut other, "INBOX", &unread);
    assert!(
        f.iter().any(|x| x == "\\Seen") && f.iter().any(|x| x == "\\Flagged"),
        "{f:?}"
    );

    other
        .run(&format!("UID STORE {plain} +FLAGS (\\Flagged)"))
        .unwrap();
    let r = sync(&mut phone, &inbox, vec![]);
    let got = commands(&r);
    assert_eq!(
        got,
        vec![("Change".to_string(), plain.clone())],
        "own change not echoed"
    );
    let changed = r
        .path(&[a::Commands, a::Change, a::ApplicationData])
        .unwrap();
    assert_eq!(
        changed
            .path(&[em::Flag, em::Status])
            .and_then(Element::text),
        Some("2")
    );

    let r = sync(
        &mut phone,
        &inbox,
        vec![Element::new(a::Delete).with_text(a::ServerId, unread.clone())],
    );
    assert!(r.child(a::Responses).is_none());
    assert!(search(&mut other, "INBOX", &format!("UID {unread}")).is_empty());
    assert_eq!(
        search(&mut other, "Trash", "ALL").len(),
        1,
        "deleted = moved to Trash"
    );
    assert!(commands(&sync(&mut phone, &inbox, vec![])).is_empty());

    // DeletesAsMoves=0: gone for good, Trash unchanged.
    let victim = items
        .keys()
        .find(|id| **id != unread && **id != plain)
        .unwrap()
        .clone();
    let key = phone.keys[&inbox].clone();
    let body = Element::new(a::Sync).with(
        Element::new(a::Collections).with(
            Element::new(a::Collection)
                .with_text(a::SyncKey, key)
                .with_text(a::CollectionId, inbox.clone())
                .with_text(a::DeletesAsMoves, "0")
                .with(
                    Element::new(a::Commands)
                        .with(Element::new(a::Delete).with_text(a::ServerId, victim.clone())),
                ),
        ),
    );
    let r = phone.post_sync(&body);
    assert_eq!(r.text_of(a::Status), Some("1"));
    phone
        .keys
        .insert(inbox.clone(), r.text_of(a::SyncKey).unwrap().to_string());
    assert!(search(&mut other, "INBOX", &format!("UID {victim}")).is_empty());
    assert_eq!(search(&mut other, "Trash", "ALL").len(), 1);

    // Trash shows it; deleting there removes it for good.
    let trash = phone.folder(4);
    let in_trash = initial(&mut phone, &trash);
    assert_eq!(in_trash.len(), 1);
    let id = in_trash.keys().next().unwrap().clone();
    sync(
        &mut phone,
        &trash,
        vec![Element::new(a::Delete).with_text(a::ServerId, id)],
    );
    assert!(search(&mut other, "Trash", "ALL").is_empty());
}

fn message(id: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\nBcc: sink@example.test\r\n\
         Subject: {subject}\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Gr"
    )
    .into_bytes()
    .into_iter()
    .chain(*b"\xfc\xdfe from the phone\r\n.leading dot\r\n")
    .collect()
}

#[test]
fn send_mail_reaches_bob_byte_for_byte_and_a_copy_lands_in_sent() {
    let _mail = fresh_mailboxes();
    let (_served, phone) = start("14.1", "MAIL3");
    let id = format!("send-{}@phone.example.test", std::process::id());
    let raw = message(&id, "Sent from EAS 14.1");
    let req = Element::new(cm::SendMail)
        .with_text(cm::ClientId, "c1")
        .with(Element::new(cm::SaveInSentItems))
        .with(Element::opaque_element(cm::Mime, raw.clone()));
    let reply = phone.client.post("SendMail", Some(&req));
    assert_eq!(reply.status, 200);
    assert!(
        reply.body.is_none(),
        "success is an empty body: {}",
        reply.xml()
    );
    let got = wait_for("bob", "INBOX", &format!("<{id}>"));
    let body_start = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert!(got.ends_with(&raw[body_start..]), "body byte for byte");
    assert!(
        !String::from_utf8_lossy(&got).contains("Bcc:"),
        "Bcc header removed"
    );
    wait_for("sink", "INBOX", &format!("<{id}>")); // the Bcc recipient got it
    let sent = wait_for("alice", "Sent", &format!("<{id}>"));
    assert!(sent.ends_with(&raw[body_start..]));

    // 12.1: the body is the message itself, SaveInSent a query parameter.
    let mut old = Phone::new(
        &phone.client.base_url.clone(),
        "alice",
        "alicepass",
        "MAIL3OLD",
        "12.1",
    );
    old.folder_sync();
    let id = format!("legacy-{}@phone.example.test", std::process::id());
    let reply = old.client.post_raw(
        "SendMail",
        &[("SaveInSent", "T")],
        &message(&id, "Sent from EAS 12.1"),
    );
    assert_eq!(reply.status, 200);
    wait_for("bob", "INBOX", &format!("<{id}>"));
    wait_for("alice", "Sent", &format!("<{id}>"));

    // No recipient: status 119, nothing sent.
    let req = Element::new(cm::SendMail)
        .with_text(cm::ClientId, "c2")
        .with(Element::opaque_element(
            cm::Mime,
            b"Subject: nobody\r\n\r\nhi\r\n".to_vec(),
        ));
    let r = phone.client.post("SendMail", Some(&req)).body.unwrap();
    assert_eq!(r.text_of(cm::Status), Some("119"));
}

#[test]
fn a_new_message_wakes_a_held_ping() {
    let _mail = fresh_mailboxes();
    let (_served, mut phone) = start("14.1", "MAIL4");
    let inbox = phone.folder(2);
    initial(&mut phone, &inbox);
    let body = ping_body(20, &[&inbox], "Email");
    let waiter = {
        let client = phone.client.clone();
        std::thread::spawn(move || client.post("Ping", Some(&body)).body.unwrap())
    };
    std::thread::sleep(Duration::from_millis(500));
    let mut other = imap("alice");
    other
        .run_with_literal(
            "APPEND INBOX",
            Some(b"Subject: push\r\nMessage-ID: <push@x>\r\n\r\nnew\r\n"),
        )
        .unwrap();
    let r = waiter.join().unwrap();
    assert_eq!(
        r.text_of(p::Status),
        Some("2"),
        "{}",
        horde_activesync::wbxml::xml::to_xml(&r)
    );
    assert_eq!(
        r.path(&[p::Folders]).unwrap().text_of(p::Folder),
        Some(inbox.as_str())
    );
    let r = sync(&mut phone, &inbox, vec![]);
    let adds = commands(&r);
    assert_eq!(adds.len(), 1);
    assert_eq!(
        r.path(&[a::Commands, a::Add, a::ApplicationData])
            .unwrap()
            .text_of(em::Subject),
        Some("push")
    );
}

#[test]
fn move_items_between_mail_folders_and_a_new_uidvalidity() {
    let _mail = fresh_mailboxes();
    let (_served, mut phone) = start("14.1", "MAIL5");
    let inbox = phone.folder(2);
    let items = initial(&mut phone, &inbox);

    let projects = phone.create_folder("Projekte 2026", 12);
    // A FolderSync from scratch lists it as a user mail folder.
    phone.hierarchy_key = "0".into();
    phone.folders.clear();
    phone.folder_sync();
    assert_eq!(phone.folders[&projects], ("Projekte 2026".to_string(), 12));

    let src = items.keys().next().unwrap().clone();
    let req = Element::new(mv::MoveItems).with(
        Element::new(mv::Move)
            .with_text(mv::SrcMsgId, src.clone())
            .with_text(mv::SrcFldId, inbox.clone())
            .with_text(mv::DstFldId, projects.clone()),
    );
    let r = phone.client.post("MoveItems", Some(&req)).body.unwrap();
    let resp = r.child(mv::Response).unwrap();
    assert_eq!(
        resp.text_of(mv::Status),
        Some("3"),
        "{}",
        horde_activesync::wbxml::xml::to_xml(&r)
    );
    let dst = resp.text_of(mv::DstMsgId).unwrap().to_string();
    let mut other = imap("alice");
    assert_eq!(
        search(&mut other, "Projekte 2026", "ALL"),
        vec![dst.parse::<u64>().unwrap()]
    );
    assert!(search(&mut other, "INBOX", &format!("UID {src}")).is_empty());
    let moved = initial(&mut phone, &projects);
    assert_eq!(moved.keys().collect::<Vec<_>>(), vec![&dst]);

    // All mail deleted and re-seeded: a new UIDVALIDITY, the same UIDs again.
    mail::reseed();
    let gone = commands(&sync(&mut phone, &inbox, vec![]));
    assert_eq!(gone.len(), 11, "every old message deleted: {gone:?}");
    assert!(gone.iter().all(|(op, _)| op == "Delete"));
    let back = commands(&sync(&mut phone, &inbox, vec![]));
    assert_eq!(back.len(), 12, "then listed again: {back:?}");
    assert!(back.iter().all(|(op, _)| op == "Add"));
}

#[test]
fn starttls_imap_and_implicit_tls_smtp_check_the_certificate() {
    let _mail = fresh_mailboxes();
    let config = format!(
        "[provisioning]\nmode = \"none\"\n{}",
        mail::tls_config(true)
    );
    let served = Served::start(&config, &[("alice", "alicepass")]);
    let mut phone = Phone::new(&served.url, "alice", "alicepass", "MAILTLS", "14.1");
    phone.folder_sync();
    let inbox = phone.folder(2);
    assert_eq!(initial(&mut phone, &inbox).len(), 12);
    let id = format!("tls-{}@phone.example.test", std::process::id());
    let req = Element::new(cm::SendMail)
        .with_text(cm::ClientId, "t1")
        .with(Element::opaque_element(cm::Mime, message(&id, "over TLS")));
    assert_eq!(phone.client.post("SendMail", Some(&req)).status, 200);
    wait_for("bob", "INBOX", &format!("<{id}>"));

    // Without the CA the self-signed certificate is refused: no mail, 503.
    let config = format!(
        "[provisioning]\nmode = \"none\"\n{}",
        mail::tls_config(false)
    );
    let served = Served::start(&config, &[("alice", "alicepass")]);
    let phone = Phone::new(&served.url, "alice", "alicepass", "MAILTLS2", "14.1");
    let req = Element::new(fh::FolderSync).with_text(fh::SyncKey, "0");
    assert_eq!(phone.client.post("FolderSync", Some(&req)).status, 503);
}

#[test]
fn item_operations_fetches_a_1_mib_attachment_and_a_whole_body() {
    use horde_activesync::wbxml::codepages::itemoperations as io;
    let _mail = fresh_mailboxes();
    let (_served, mut phone) = start("14.1", "MAIL6");
    let inbox = phone.folder(2);
    let items = initial(&mut phone, &inbox);
    let (_, with_file) = items
        .iter()
        .find(|(_, e)| {
            e.text_of(em::Subject).is_some()
                && e.child(asb::Attachments).is_some()
                && e.path(&[asb::Body, asb::Data])
                    .and_then(Element::text)
                    .is_some_and(|t| t.contains("SHA-256: "))
        })
        .expect("the 1 MiB attachment message");
    let preview = with_file
        .path(&[asb::Body, asb::Data])
        .and_then(Element::text)
        .unwrap();
    let sha = preview.split("SHA-256: ").nth(1).unwrap()[..64].to_string();
    let reference = with_file
        .path(&[asb::Attachments, asb::Attachment, asb::FileReference])
        .and_then(Element::text)
        .unwrap()
        .to_string();
    let req = Element::new(io::ItemOperations).with(
        Element::new(io::Fetch)
            .with_text(io::Store, "Mailbox")
            .with_text(asb::FileReference, reference.clone()),
    );
    let r = phone
        .client
        .post("ItemOperations", Some(&req))
        .body
        .unwrap();
    let fetch = r.path(&[io::Response, io::Fetch]).unwrap();
    assert_eq!(fetch.text_of(io::Status), Some("1"));
    let data = fetch
        .path(&[io::Properties, io::Data])
        .and_then(Element::text)
        .unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    assert_eq!(bytes.len(), 1 << 20);
    let file = std::env::temp_dir().join(format!("eas-att-{}", std::process::id()));
    std::fs::write(&file, &bytes).unwrap();
    let out = std::process::Command::new("sha256sum")
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout)[..64], sha);

    // The whole plain body of the 60 KB message that Sync truncated.
    let (long_id, _) = items
        .iter()
        .find(|(_, e)| {
            e.path(&[asb::Body, asb::Truncated]).is_some()
                && e.path(&[asb::Body, asb::EstimatedDataSize])
                    .and_then(Element::text)
                    .is_some_and(|n| n.len() >= 5)
        })
        .unwrap();
    let req = Element::new(io::ItemOperations).with(
        Element::new(io::Fetch)
            .with_text(io::Store, "Mailbox")
            .with_text(a::CollectionId, inbox.clone())
            .with_text(a::ServerId, long_id.clone())
            .with(
                Element::new(io::Options)
                    .with(Element::new(asb::BodyPreference).with_text(asb::Type, "1")),
            ),
    );
    let r = phone
        .client
        .post("ItemOperations", Some(&req))
        .body
        .unwrap();
    let fetch = r.path(&[io::Response, io::Fetch]).unwrap();
    assert_eq!(fetch.text_of(io::Status), Some("1"));
    let body = fetch.path(&[io::Properties, asb::Body]).unwrap();
    assert!(body.child(asb::Truncated).is_none());
    assert!(body.text_of(asb::Data).unwrap().len() > 60_000);

    // 12.1 devices use GetAttachment with the same reference: the raw bytes.
    let old = Phone::new(
        &phone.client.base_url.clone(),
        "alice",
        "alicepass",
        "MAIL6OLD",
        "12.1",
    );
    let reply = old.client.post_with(
        "GetAttachment",
        &[("AttachmentName", reference.as_str())],
        None,
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("Content-Type"),
        Some("application/octet-stream")
    );
    assert!(
        reply.raw == bytes,
        "GetAttachment bytes = ItemOperations bytes"
    );
    let missing = reference.replace("@INBOX", "@Trash");
    let reply = old.client.post_with(
        "GetAttachment",
        &[("AttachmentName", missing.as_str())],
        None,
    );
    assert_eq!(reply.status, 500);

    // A reference to nothing: status 6, not an error of the whole request.
    let bad = reference.replace("@INBOX", "@Trash");
    let req = Element::new(io::ItemOperations).with(
        Element::new(io::Fetch)
            .with_text(io::Store, "Mailbox")
            .with_text(asb::FileReference, bad),
    );
    let r = phone
        .client
        .post("ItemOperations", Some(&req))
        .body
        .unwrap();
    assert_eq!(
        r.path(&[io::Response, io::Fetch])
            .unwrap()
            .text_of(io::Status),
        Some("6")
    );
}

#[test]
fn smart_forward_attaches_and_smart_reply_quotes_the_original_and_marks_it() {
    let _mail = fresh_mailboxes();
    let (_served, mut phone) = start("14.1", "MAIL7");
    let inbox = phone.folder(2);
    let items = initial(&mut phone, &inbox);
    let mut ids: Vec<&String> = items.keys().collect();
    ids.sort();
    let (fwd, re) = (ids[0].clone(), ids[1].clone());

    let id = format!("fwd-{}@phone.example.test", std::process::id());
    let req = Element::new(cm::SmartForward)
        .with_text(cm::ClientId, "f1")
        .with(
            Element::new(cm::Source)
                .with_text(cm::FolderId, inbox.clone())
                .with_text(cm::ItemId, fwd.clone()),
        )
        .with(Element::opaque_element(cm::Mime, message(&id, "Fwd: seed")));
    let reply = phone.client.post("SmartForward", Some(&req));
    assert_eq!(reply.status, 200, "{}", reply.xml());
    let got = wait_for("bob", "INBOX", &format!("<{id}>"));
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("Content-Type: message/rfc822"), "{text}");
    assert!(text.contains("X-EAS-Seed: "), "the original is inside");
    let mut other = imap("alice");
    assert!(flags(&mut other, "INBOX", &fwd)
        .iter()
        .any(|f| f == "$Forwarded"));

    // 12.1: query parameters, and ReplaceMime does not exist: the original is attached.
    let mut old = Phone::new(
        &phone.client.base_url.clone(),
        "alice",
        "alicepass",
        "MAIL7OLD",
        "12.1",
    );
    old.folder_sync();
    let id = format!("re-{}@phone.example.test", std::process::id());
    let reply = old.client.post_raw(
        "SmartReply",
        &[("ItemId", re.as_str()), ("CollectionId", inbox.as_str())],
        &message(&id, "Re: seed"),
    );
    assert_eq!(reply.status, 200);
    let got = wait_for("bob", "INBOX", &format!("<{id}>"));
    // A reply quotes the original below the device's text (base64 UTF-8).
    let text = mail_parser::MessageParser::default()
        .parse(&got)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap();
    assert!(text.contains(" wrote:\r\n> "), "{text}");
    assert!(flags(&mut other, "INBOX", &re)
        .iter()
        .any(|f| f == "\\Answered"));

    // ReplaceMime: the device's message goes out as it is.
    let id = format!("replace-{}@phone.example.test", std::process::id());
    let raw = message(&id, "Re: replaced");
    let req = Element::new(cm::SmartReply)
        .with_text(cm::ClientId, "r2")
        .with(
            Element::new(cm::Source)
                .with_text(cm::FolderId, inbox.clone())
                .with_text(cm::ItemId, re.clone()),
        )
        .with(Element::new(cm::ReplaceMime))
        .with(Element::opaque_element(cm::Mime, raw.clone()));
    assert_eq!(phone.client.post("SmartReply", Some(&req)).status, 200);
    let got = wait_for("bob", "INBOX", &format!("<{id}>"));
    assert!(!String::from_utf8_lossy(&got).contains("X-EAS-Seed: "));

    // An unknown original: status 150, nothing sent.
    let req = Element::new(cm::SmartReply)
        .with_text(cm::ClientId, "r3")
        .with(
            Element::new(cm::Source)
                .with_text(cm::FolderId, inbox.clone())
                .with_text(cm::ItemId, "999999"),
        )
        .with(Element::opaque_element(
            cm::Mime,
            message("never@x", "Re: none"),
        ));
    let r = phone.client.post("SmartReply", Some(&req)).body.unwrap();
    assert_eq!(r.text_of(cm::Status), Some("150"));
}

#[test]
fn filter_type_one_day_lists_only_the_last_24_hours() {
    let _mail = fresh_mailboxes();
    let (_served, mut phone) = start("14.1", "MAIL8");
    let inbox = phone.folder(2);
    sync_filtered(&mut phone, &inbox, "1", vec![]);
    let r = sync_filtered(&mut phone, &inbox, "1", vec![]);
    // Seed message k is 1.5^(k-1) hours old: k = 1..8 (up to 17 h) are in, 9 (25.6 h) is not.
    assert_eq!(commands(&r).len(), 8);
}

#[test]
fn mime_bodies_reach_the_device_byte_for_byte() {
    let _mail = fresh_mailboxes();
    let (_served, mut phone) = start("16.1", "MAIL9");
    let inbox = phone.folder(2);
    sync_with(&mut phone, &inbox, "0", ("4", None), vec![]);
    let r = sync_with(&mut phone, &inbox, "0", ("4", None), vec![]);
    let adds: Vec<&Element> = r
        .child(a::Commands)
        .unwrap()
        .children_with(a::Add)
        .collect();
    assert_eq!(adds.len(), 12);
    let mut other = imap("alice");
    other.run("SELECT INBOX").unwrap();
    for add in adds {
        let uid = add.text_of(a::ServerId).unwrap();
        let body = add.path(&[a::ApplicationData, asb::Body]).unwrap();
        assert_eq!(body.text_of(asb::Type), Some("4"));
        let data = body.child(asb::Data).unwrap();
        let sent = data
            .bytes()
            .map(<[u8]>::to_vec)
            .or_else(|| data.text().map(|t| t.as_bytes().to_vec()))
            .unwrap();
        let r = other
            .run(&format!("UID FETCH {uid} (BODY.PEEK[])"))
            .unwrap();
        let items = fetch_items(r.data("FETCH")[0][0].as_list());
        let Some((_, Value::Str(raw))) = items.into_iter().find(|(k, _)| k == "BODY[]") else {
            panic!("no BODY[] for {uid}")
        };
        assert!(
            sent == raw,
            "message {uid} differs ({} vs {} bytes)",
            sent.len(),
            raw.len()
        );
    }
}

#[test]
fn search_the_mailbox_by_free_text_with_range_and_total() {
    use horde_activesync::wbxml::codepages::search as s;
    let _mail = fresh_mailboxes();
    let (_served, mut phone) = start("14.1", "MAIL10");
    let inbox = phone.folder(2);
    initial(&mut phone, &inbox);
    let query = |text: &str, range: &str| {
        Element::new(s::Search).with(
            Element::new(s::Store)
                .with_text(s::Name, "Mailbox")
                .with(
                    Element::new(s::Query).with(
                        Element::new(s::And)
                            .with_text(a::Class, "Email")
                            .with_text(a::CollectionId, inbox.clone())
                            .with_text(s::FreeText, text),
                    ),
                )
                .with(Element::new(s::Options).with_text(s::Range, range)),
        )
    };
    // Found in a Latin-1, RFC 2047 Q-encoded subject.
    let r = phone
        .client
        .post("Search", Some(&query("Genève", "0-9")))
        .body
        .unwrap();
    assert_eq!(r.text_of(s::Status), Some("1"));
    let st = r.path(&[s::Response, s::Store]).unwrap();
    assert_eq!(
        st.text_of(s::Status),
        Some("1"),
        "{}",
        horde_activesync::wbxml::xml::to_xml(&r)
    );
    assert_eq!(st.text_of(s::Total), Some("1"));
    let hit = st.child(s::Result).unwrap();
    assert!(hit
        .text_of(s::LongId)
        .unwrap()
        .starts_with(&format!("{inbox}:")));
    assert_eq!(
        hit.path(&[s::Properties, em::Subject])
            .and_then(Element::text),
        Some("Réunion du comité à Genève - ordre du jour")
    );
    // A word in many messages: Range cuts, Total counts all.
    let r = phone
        .client
        .post("Search", Some(&query("lorem", "0-1")))
        .body
        .unwrap();
    let st = r.path(&[s::Response, s::Store]).unwrap();
    let total: usize = st.text_of(s::Total).unwrap().parse().unwrap();
    assert!(total > 2, "{total}");
    assert_eq!(st.children_with(s::Result).count(), 2);
    assert_eq!(st.text_of(s::Range), Some("0-1"));
    // Nothing found: an empty Result and Total 0.
    let r = phone
        .client
        .post("Search", Some(&query("zzqxj-nowhere", "0-9")))
        .body
        .unwrap();
    let st = r.path(&[s::Response, s::Store]).unwrap();
    assert_eq!(st.text_of(s::Total), Some("0"));
}
