//! The protocol surface against real Horde (Turba over JSON-RPC, the binary
//! as CGI under lighttpd): GAL Search finds a contact of the configured
//! address book and not one of a private book, ResolveRecipients finds the
//! private one as the user's own contact, UserInformation returns the
//! address and Autodiscover answers with Horde's authentication.

mod support;

use horde_activesync::eas::autodiscover::{REQUEST_SCHEMA, RESPONSE_SCHEMA};
use horde_activesync::wbxml::codepages::{gal, resolverecipients as r, search as s, settings};
use horde_activesync::wbxml::Element;
use serde_json::json;
use support::client::Client;
use support::horde::{ensure_horde, unique, DirectRpc};
use support::web::{self, Variant, WebServer};

/// Two address books of alice's, removed again on drop.
struct Books {
    rpc: DirectRpc,
    shares: Vec<String>,
}

impl Books {
    fn add(&mut self, name: &str) -> String {
        let share = self
            .rpc
            .call("contacts.addAddressbook", json!([name, {}]))
            .as_str()
            .unwrap()
            .to_string();
        self.shares.push(share.clone());
        share
    }
}

impl Drop for Books {
    fn drop(&mut self) {
        for share in &self.shares {
            let _ = self
                .rpc
                .try_call("contacts.deleteAddressbook", json!([share]));
        }
    }
}

#[test]
fn directory_settings_and_autodiscover_on_horde() {
    let horde = ensure_horde();
    let mut books = Books {
        rpc: horde.rpc("alice"),
        shares: Vec::new(),
    };
    let directory = books.add(&unique("Directory"));
    let private = books.add(&unique("Private"));
    let surname = unique("Galtest");
    // Recipients need an address: a contact without one never resolves.
    for (book, first) in [(&directory, "Dora"), (&private, "Priv")] {
        let contact = json!({"firstname": first, "lastname": surname,
                             "email": format!("{}@example.test", first.to_lowercase())});
        books
            .rpc
            .call("contacts.import", json!([contact, "array", book]));
    }

    let dir = tempfile::tempdir().unwrap();
    web::make_world_readable(dir.path());
    let config = dir.path().join("activesync.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nstate_dir = \"state\"\n[backend]\nkind = \"horde\"\nhorde_rpc_url = \"{}\"\n\
             [provisioning]\nmode = \"none\"\n[log]\nlevel = \"warn\"\n\
             [mail]\ndomain = \"example.test\"\n[gal]\nsources = [\"{directory}\"]\n",
            horde.rpc_url
        ),
    )
    .unwrap();
    let web = WebServer::start(Variant::LighttpdCgi, &config);
    let (user, password) = horde.user();
    let phone = Client::new(
        &web.base_url,
        user,
        password,
        "HORDEGAL1",
        "TestPhone",
        "16.1",
    );

    // Search GAL: the directory's contact only.
    let store = Element::new(s::Store)
        .with_text(s::Name, "GAL")
        .with_text(s::Query, surname.clone());
    let reply = phone.post("Search", Some(&Element::new(s::Search).with(store)));
    assert_eq!(reply.status, 200, "{}", reply.xml());
    let body = reply.body.unwrap();
    let store = body.path(&[s::Response, s::Store]).unwrap();
    assert_eq!(store.text_of(s::Status), Some("1"));
    assert_eq!(store.text_of(s::Total), Some("1"), "{}", reply_xml(&body));
    let props = store.path(&[s::Result, s::Properties]).unwrap();
    assert_eq!(props.text_of(gal::FirstName), Some("Dora"));
    assert_eq!(props.text_of(gal::LastName), Some(surname.as_str()));

    // ResolveRecipients: both, the directory's as GAL (1), the other as a
    // contact of alice's (2); two matches are suggestions (Status 2).
    let req = Element::new(r::ResolveRecipients).with_text(r::To, surname.clone());
    let body = phone.post("ResolveRecipients", Some(&req)).body.unwrap();
    let response = body.child(r::Response).unwrap();
    assert_eq!(
        response.text_of(r::Status),
        Some("2"),
        "{}",
        reply_xml(&body)
    );
    let mut kinds: Vec<(String, String)> = response
        .children_with(r::Recipient)
        .map(|x| {
            (
                x.text_of(r::Type).unwrap().to_string(),
                x.text_of(r::DisplayName).unwrap().to_string(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("1".to_string(), format!("Dora {surname}")),
            ("2".to_string(), format!("Priv {surname}"))
        ]
    );

    // UserInformation: the address from the user name and [mail] domain.
    let req = Element::new(settings::Settings)
        .with(Element::new(settings::UserInformation).with(Element::new(settings::Get)));
    let body = phone.post("Settings", Some(&req)).body.unwrap();
    let account = body
        .path(&[
            settings::UserInformation,
            settings::Get,
            settings::Accounts,
            settings::Account,
        ])
        .unwrap();
    assert_eq!(
        account
            .path(&[settings::EmailAddresses, settings::PrimarySmtpAddress])
            .unwrap()
            .text(),
        Some(format!("{user}@example.test").as_str())
    );

    // Autodiscover, authenticated by Horde.
    let request = format!(
        "<Autodiscover xmlns=\"{REQUEST_SCHEMA}\"><Request><EMailAddress>{user}@example.test\
         </EMailAddress><AcceptableResponseSchema>{RESPONSE_SCHEMA}</AcceptableResponseSchema>\
         </Request></Autodiscover>"
    );
    let reply = phone.post_path(
        "/autodiscover/autodiscover.xml",
        "text/xml",
        request.as_bytes(),
    );
    let text = String::from_utf8_lossy(&reply.raw);
    assert_eq!(reply.status, 200, "{text}");
    assert!(
        text.contains(&format!("<EMailAddress>{user}@example.test</EMailAddress>")),
        "{text}"
    );
    let wrong = Client::new(
        &web.base_url,
        user,
        "wrong",
        "HORDEGAL1",
        "TestPhone",
        "16.1",
    );
    let reply = wrong.post_path(
        "/autodiscover/autodiscover.xml",
        "text/xml",
        request.as_bytes(),
    );
    assert_eq!(reply.status, 401);
}

fn reply_xml(e: &Element) -> String {
    horde_activesync::wbxml::xml::to_xml(e)
}
