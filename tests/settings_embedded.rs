//! Settings end to end through a real `serve` on the embedded store:
//! device information into the info file, the user's addresses, out of
//! office shared by the user's devices, the recovery password never written
//! anywhere, and the empty rights-management template list.

mod support;

use horde_activesync::wbxml::codepages::{rightsmanagement as rm, settings as s};
use horde_activesync::wbxml::Element;
use support::client::Client;
use support::serve::Served;

/// Appended to the helper's config right after its `[log]` table, so the
/// first two lines extend that table.
const CONFIG: &str = "debug_devices = [\"PHONE1\"]\ndebug_dir = \"debug\"\n\
                      [provisioning]\nmode = \"none\"\n[mail]\ndomain = \"example.test\"\n";

fn start() -> Served {
    Served::start(CONFIG, &[("alice", "alicepw")])
}

/// Alice's device `id` speaking protocol `version`.
fn phone(served: &Served, id: &str, version: &str) -> Client {
    Client::new(&served.url, "alice", "alicepw", id, "TestPhone", version)
}

fn settings(client: &Client, children: Vec<Element>) -> Element {
    let mut req = Element::new(s::Settings);
    for c in children {
        req.push(c);
    }
    let r = client.post("Settings", Some(&req));
    assert_eq!(r.status, 200, "{}", r.xml());
    let body = r.body.expect("a Settings response");
    assert_eq!(body.text_of(s::Status), Some("1"), "{}", r_xml(&body));
    body
}

fn r_xml(e: &Element) -> String {
    horde_activesync::wbxml::xml::to_xml(e)
}

fn oof_message(tag: horde_activesync::wbxml::Tag, reply: &str) -> Element {
    Element::new(s::OofMessage)
        .with(Element::new(tag))
        .with_text(s::Enabled, "1")
        .with_text(s::ReplyMessage, reply)
        .with_text(s::BodyType, "Text")
}

fn oof_get(client: &Client, body_type: &str) -> Element {
    let r = settings(
        client,
        vec![Element::new(s::Oof).with(Element::new(s::Get).with_text(s::BodyType, body_type))],
    );
    let oof = r.child(s::Oof).unwrap().clone();
    assert_eq!(oof.text_of(s::Status), Some("1"), "{}", r_xml(&r));
    oof.child(s::Get).unwrap().clone()
}

#[test]
fn device_information_and_password_land_in_the_info_file_without_the_password() {
    let served = start();
    let phone = phone(&served, "PHONE1", "16.1");
    let set = Element::new(s::Set)
        .with_text(s::Model, "Pixel 9")
        .with_text(s::IMEI, "356938035643809")
        .with_text(s::FriendlyName, "Alice's phone")
        .with_text(s::OS, "Android 15")
        .with_text(s::OSLanguage, "German")
        .with_text(s::PhoneNumber, "+49 30 1234")
        .with_text(s::MobileOperator, "Telekom")
        .with_text(s::UserAgent, "TestAgent/2");
    let r = settings(
        &phone,
        vec![
            Element::new(s::DeviceInformation).with(set),
            Element::new(s::DevicePassword)
                .with(Element::new(s::Set).with_text(s::Password, "Recover-Me-42")),
        ],
    );
    for tag in [s::DeviceInformation, s::DevicePassword] {
        assert_eq!(
            r.child(tag).unwrap().text_of(s::Status),
            Some("1"),
            "{}",
            r_xml(&r)
        );
    }
    let info_path = served.dir.path().join("state/alice/info-PHONE1");
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info_path).unwrap()).unwrap();
    for (field, value) in [
        ("model", "Pixel 9"),
        ("imei", "356938035643809"),
        ("friendly_name", "Alice's phone"),
        ("os", "Android 15"),
        ("os_language", "German"),
        ("phone_number", "+49 30 1234"),
        ("mobile_operator", "Telekom"),
        ("user_agent", "TestAgent/2"),
    ] {
        assert_eq!(info[field], value, "{field}");
    }
    let set_at = info["recovery_password_set"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(set_at).is_ok(),
        "{set_at}"
    );
    // The administrator sees it with `devices show`.
    let shown = std::process::Command::new(support::serve::BIN)
        .args(["--config", served.config.to_str().unwrap()])
        .args(["devices", "show", "alice", "PHONE1"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    for part in ["Pixel 9", "356938035643809", "Telekom", set_at] {
        assert!(shown.contains(part), "{part} missing in {shown}");
    }
    // The password is nowhere under the server's folder (state, debug log).
    let debug = served.dir.path().join("debug/alice-PHONE1.log");
    assert!(std::fs::read_to_string(&debug).unwrap().contains("***"));
    for entry in walk(served.dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("Recover-Me-42"),
            "password found in {}",
            entry.display()
        );
    }
    // A DevicePassword without Password is a protocol error of that element only.
    let r = settings(
        &phone,
        vec![Element::new(s::DevicePassword).with(Element::new(s::Set))],
    );
    assert_eq!(
        r.path(&[s::DevicePassword, s::Status]).unwrap().text(),
        Some("2")
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn user_information_by_version() {
    let served = start();
    let old = phone(&served, "PHONE2", "14.0");
    let ui = || Element::new(s::UserInformation).with(Element::new(s::Get));
    let r = settings(&old, vec![ui()]);
    let get = r.path(&[s::UserInformation, s::Get]).unwrap();
    assert_eq!(
        get.path(&[s::EmailAddresses, s::SMTPAddress])
            .unwrap()
            .text(),
        Some("alice@example.test")
    );
    assert!(!get.has(s::Accounts));
    let new = phone(&served, "PHONE2", "16.1");
    let r = settings(&new, vec![ui()]);
    let account = r
        .path(&[s::UserInformation, s::Get, s::Accounts, s::Account])
        .unwrap();
    assert_eq!(account.text_of(s::UserDisplayName), Some("alice"));
    assert_eq!(
        account
            .path(&[s::EmailAddresses, s::PrimarySmtpAddress])
            .unwrap()
            .text(),
        Some("alice@example.test")
    );
    let rm_req = Element::new(s::RightsManagementInformation).with(Element::new(s::Get));
    let r = settings(&new, vec![rm_req.clone()]);
    let rmi = r.child(s::RightsManagementInformation).unwrap();
    assert_eq!(rmi.text_of(s::Status), Some("1"));
    let templates = rmi.path(&[s::Get, rm::RightsManagementTemplates]).unwrap();
    assert_eq!(templates.elements().count(), 0);
    // 14.0 has no rights management.
    let r = settings(&old, vec![rm_req]);
    assert_eq!(
        r.path(&[s::RightsManagementInformation, s::Status])
            .unwrap()
            .text(),
        Some("2")
    );
    // An empty Settings is a protocol error of the whole command.
    let r = new.post("Settings", Some(&Element::new(s::Settings)));
    assert_eq!(r.body.unwrap().text_of(s::Status), Some("2"));
    assert!(new
        .options()
        .header("MS-ASProtocolCommands")
        .unwrap()
        .split(',')
        .any(|c| c == "Settings"));
}

#[test]
fn out_of_office_is_shared_by_the_users_devices_and_bad_sets_change_nothing() {
    let served = start();
    let one = phone(&served, "PHONE1", "14.1");
    let two = phone(&served, "PHONE2", "16.1");
    assert_eq!(oof_get(&two, "Text").text_of(s::OofState), Some("0"));

    let set = Element::new(s::Set)
        .with_text(s::OofState, "2")
        .with_text(s::StartTime, "2026-12-24T00:00:00.000Z")
        .with_text(s::EndTime, "2027-01-02T00:00:00.000Z")
        .with(oof_message(
            s::AppliesToInternal,
            "On holiday until January 2nd.",
        ))
        .with(oof_message(s::AppliesToExternalKnown, "Away & back soon."));
    let r = settings(&one, vec![Element::new(s::Oof).with(set)]);
    assert_eq!(r.path(&[s::Oof, s::Status]).unwrap().text(), Some("1"));

    let get = oof_get(&two, "Text");
    assert_eq!(get.text_of(s::OofState), Some("2"));
    assert_eq!(get.text_of(s::StartTime), Some("2026-12-24T00:00:00.000Z"));
    assert_eq!(get.text_of(s::EndTime), Some("2027-01-02T00:00:00.000Z"));
    let messages: Vec<&Element> = get.children_with(s::OofMessage).collect();
    assert_eq!(messages.len(), 2);
    assert!(messages[0].has(s::AppliesToInternal));
    assert_eq!(
        messages[0].text_of(s::ReplyMessage),
        Some("On holiday until January 2nd.")
    );
    assert_eq!(messages[0].text_of(s::Enabled), Some("1"));
    let html = oof_get(&two, "HTML");
    let external = html.children_with(s::OofMessage).nth(1).unwrap();
    assert!(external.has(s::AppliesToExternalKnown));
    assert_eq!(external.text_of(s::BodyType), Some("HTML"));
    assert!(external
        .text_of(s::ReplyMessage)
        .unwrap()
        .contains("Away &amp; back soon."));

    // An end before the start: Conflicting arguments, nothing stored.
    let backwards = Element::new(s::Set)
        .with_text(s::OofState, "2")
        .with_text(s::StartTime, "2027-01-05T00:00:00.000Z")
        .with_text(s::EndTime, "2027-01-01T00:00:00.000Z");
    let r = settings(&two, vec![Element::new(s::Oof).with(backwards)]);
    assert_eq!(r.path(&[s::Oof, s::Status]).unwrap().text(), Some("6"));
    let bad_state = Element::new(s::Set).with_text(s::OofState, "7");
    let r = settings(&two, vec![Element::new(s::Oof).with(bad_state)]);
    assert_eq!(r.path(&[s::Oof, s::Status]).unwrap().text(), Some("5"));
    assert_eq!(
        oof_get(&one, "Text").text_of(s::StartTime),
        Some("2026-12-24T00:00:00.000Z")
    );

    // Switching it off keeps the messages for next time.
    let off = Element::new(s::Set).with_text(s::OofState, "0");
    settings(&one, vec![Element::new(s::Oof).with(off)]);
    let get = oof_get(&two, "Text");
    assert_eq!(get.text_of(s::OofState), Some("0"));
    assert_eq!(get.children_with(s::OofMessage).count(), 2);
    // Kept per user, beside the device info files.
    assert!(served.dir.path().join("state/alice/@oof.json").is_file());
}
