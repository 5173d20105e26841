//! ResolveRecipients against real Horde, through the binary as CGI under
//! lighttpd: Availability (a busy slot put into bob's Kronolith calendar with
//! direct JSON-RPC shows in the MergedFreeBusy alice's phone gets for bob;
//! the free/busy is Kronolith's published one, fb.php, which covers today
//! and the next 30 days) and Certificates (the S/MIME certificate stored in
//! a Turba contact's smimePublicKey).

mod support;

use base64::Engine;
use chrono::{Duration, NaiveTime, Utc};
use horde_activesync::wbxml::codepages::resolverecipients as r;
use horde_activesync::wbxml::Element;
use serde_json::json;
use std::process::Command;
use support::device::Phone;
use support::horde::{drop_free_busy_cache, ensure_horde, horde_config, unique, DirectRpc};
use support::web::{Variant, WebServer};

/// What the test added to Horde, removed on drop.
struct Cleanup {
    bob: DirectRpc,
    event: String,
    alice: DirectRpc,
    book: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = self.bob.try_call("calendar.delete", json!([self.event]));
        let _ = self
            .alice
            .try_call("contacts.deleteAddressbook", json!([self.book]));
        drop_free_busy_cache("bob");
    }
}

fn availability(phone: &Phone, start: &str, end: &str) -> Element {
    let req = Element::new(r::ResolveRecipients)
        .with_text(r::To, "bob@example.test")
        .with(
            Element::new(r::Options).with(
                Element::new(r::Availability)
                    .with_text(r::StartTime, start)
                    .with_text(r::EndTime, end),
            ),
        );
    let reply = phone.client.post("ResolveRecipients", Some(&req));
    assert_eq!(reply.status, 200, "{}", reply.xml());
    let body = reply.body.unwrap();
    body.path(&[r::Response, r::Recipient, r::Availability])
        .unwrap_or_else(|| panic!("{}", horde_activesync::wbxml::xml::to_xml(&body)))
        .clone()
}

#[test]
fn a_busy_slot_in_kronolith_shows_in_merged_free_busy() {
    let horde = ensure_horde();
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive();
    let today = Utc::now().date_naive();
    let at = |day: chrono::NaiveDate, h: u32, m: u32| {
        day.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap())
            .and_utc()
    };
    let ical = |t: chrono::DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let eas = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S.000Z").to_string();

    let bob = horde.rpc("bob");
    let uid = unique("busy");
    let calendar = bob.default_share("calendar");
    let event = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261120T080000Z\r\n\
         DTSTART:{}\r\nDTEND:{}\r\nSUMMARY:Busy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        ical(at(tomorrow, 10, 0)),
        ical(at(tomorrow, 11, 0))
    );
    bob.call("calendar.import", json!([event, "text/calendar", calendar]));
    let alice = horde.rpc("alice");
    let book = alice
        .call("contacts.addAddressbook", json!([unique("Colleagues"), {}]))
        .as_str()
        .unwrap()
        .to_string();
    let _cleanup = Cleanup {
        bob: horde.rpc("bob"),
        event: uid.clone(),
        alice: horde.rpc("alice"),
        book: book.clone(),
    };
    let contact = json!({"firstname": "Bob", "lastname": "Builder", "email": "bob@example.test"});
    alice.call("contacts.import", json!([contact, "array", book]));
    drop_free_busy_cache("bob");

    let dir = horde_config("[mail]\ndomain = \"example.test\"\n");
    let web = WebServer::start(Variant::LighttpdCgi, &dir.path().join("activesync.toml"));
    let mut phone = Phone::new(&web.base_url, "alice", "alicepass", "AVHORDE1", "16.1");
    phone.folder_sync();

    // Tomorrow 08:00-13:00: busy 10:00-11:00.
    let avail = availability(&phone, &eas(at(tomorrow, 8, 0)), &eas(at(tomorrow, 13, 0)));
    assert_eq!(avail.text_of(r::Status), Some("1"));
    assert_eq!(avail.text_of(r::MergedFreeBusy), Some("0000220000"));

    // Before today Kronolith publishes nothing: no data (4).
    let avail = availability(
        &phone,
        &eas(at(today, 0, 0) - Duration::hours(1)),
        &eas(at(today, 0, 30)),
    );
    assert_eq!(avail.text_of(r::MergedFreeBusy), Some("440"));
}

/// A self-signed certificate made with openssl: (PEM text, DER bytes).
fn certificate(dir: &std::path::Path) -> (String, Vec<u8>) {
    let pem = dir.join("cert.pem");
    let der = dir.join("cert.der");
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Carol/emailAddress=carol@example.test",
        "-keyout",
        dir.join("key.pem").to_str().unwrap(),
        "-out",
        pem.to_str().unwrap(),
    ]);
    run(&[
        "x509",
        "-in",
        pem.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    (
        std::fs::read_to_string(pem).unwrap(),
        std::fs::read(der).unwrap(),
    )
}

/// Deletes the address book on drop.
struct Book(DirectRpc, String);

impl Drop for Book {
    fn drop(&mut self) {
        let _ = self
            .0
            .try_call("contacts.deleteAddressbook", json!([self.1]));
    }
}

#[test]
fn certificates_stored_in_turba_contacts_are_returned() {
    let horde = ensure_horde();
    let alice = horde.rpc("alice");
    let book = Book(
        horde.rpc("alice"),
        alice
            .call("contacts.addAddressbook", json!([unique("Secure"), {}]))
            .as_str()
            .unwrap()
            .to_string(),
    );
    let dir = horde_config("[mail]\ndomain = \"example.test\"\n");
    let (pem, der) = certificate(dir.path());
    let carol = unique("carol").replace('-', "");
    let dave = unique("dave").replace('-', "");
    for (name, key) in [(&carol, Some(&pem)), (&dave, None)] {
        let mut contact = json!({"firstname": name, "lastname": "Secure",
                                 "email": format!("{name}@example.test")});
        if let Some(key) = key {
            contact["smimePublicKey"] = json!(key);
        }
        alice.call("contacts.import", json!([contact, "array", book.1]));
    }
    let web = WebServer::start(Variant::LighttpdCgi, &dir.path().join("activesync.toml"));
    let phone = Phone::new(&web.base_url, "alice", "alicepass", "CERTHORDE1", "16.1");

    let certificates = |to: &str, options: Element| {
        let req = Element::new(r::ResolveRecipients)
            .with_text(r::To, to)
            .with(options);
        let reply = phone.client.post("ResolveRecipients", Some(&req));
        assert_eq!(reply.status, 200, "{}", reply.xml());
        let body = reply.body.unwrap();
        body.path(&[r::Response, r::Recipient, r::Certificates])
            .unwrap_or_else(|| panic!("{}", horde_activesync::wbxml::xml::to_xml(&body)))
            .clone()
    };
    let full = || Element::new(r::Options).with_text(r::CertificateRetrieval, "2");
    let carol_address = format!("{carol}@example.test");

    let certs = certificates(&carol_address, full());
    assert_eq!(certs.text_of(r::Status), Some("1"));
    assert_eq!(certs.text_of(r::CertificateCount), Some("1"));
    let expected = base64::engine::general_purpose::STANDARD.encode(&der);
    assert_eq!(certs.text_of(r::Certificate), Some(expected.as_str()));

    let certs = certificates(&format!("{dave}@example.test"), full());
    assert_eq!(certs.text_of(r::Status), Some("7"));
    assert_eq!(certs.text_of(r::CertificateCount), Some("0"));

    // MaxCertificates 0: held back with Status 8, the count says how many.
    let certs = certificates(&carol_address, full().with_text(r::MaxCertificates, "0"));
    assert_eq!(certs.text_of(r::Status), Some("8"));
    assert_eq!(certs.text_of(r::CertificateCount), Some("1"));
    assert!(!certs.has(r::Certificate));

    let mini = Element::new(r::Options).with_text(r::CertificateRetrieval, "3");
    let certs = certificates(&carol_address, mini);
    assert_eq!(certs.text_of(r::MiniCertificate), Some(expected.as_str()));
}
