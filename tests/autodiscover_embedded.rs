//! Autodiscover (MS-ASCMD 2.2.1.1) through a real `serve`: the mobilesync
//! POX request on both spellings of the path, Basic auth, the URL derived
//! from Host (`[server] public_url` is covered by the unit tests), and the
//! error answers.

mod support;

use horde_activesync::eas::autodiscover::{REQUEST_SCHEMA, RESPONSE_SCHEMA};
use support::client::Client;
use support::serve::Served;

fn request(schema: &str, acceptable: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <Autodiscover xmlns=\"{schema}\">\n  <Request>\n\
         <EMailAddress>alice@example.test</EMailAddress>\n\
         <AcceptableResponseSchema>{acceptable}</AcceptableResponseSchema>\n\
         </Request>\n</Autodiscover>\n"
    )
}

fn body(r: &support::client::Reply) -> String {
    String::from_utf8_lossy(&r.raw).into_owned()
}

#[test]
fn answers_the_mobilesync_request_with_url_and_user() {
    let served = Served::start(
        "[mail]\ndomain = \"example.test\"\n",
        &[("alice", "alicepw")],
    );
    let alice = Client::new(&served.url, "alice", "alicepw", "X", "X", "14.1");
    let ok = request(REQUEST_SCHEMA, RESPONSE_SCHEMA);
    for path in [
        "/autodiscover/autodiscover.xml",
        "/Autodiscover/Autodiscover.xml",
    ] {
        let r = alice.post_path(path, "text/xml", ok.as_bytes());
        assert_eq!(r.status, 200, "{path}: {}", body(&r));
        assert!(r.header("Content-Type").unwrap().starts_with("text/xml"));
        let text = body(&r);
        let host = served
            .url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap();
        for part in [
            format!("<Response xmlns=\"{RESPONSE_SCHEMA}\">"),
            "<DisplayName>alice</DisplayName>".to_string(),
            "<EMailAddress>alice@example.test</EMailAddress>".to_string(),
            "<Type>MobileSync</Type>".to_string(),
            format!("<Url>https://{host}/Microsoft-Server-ActiveSync</Url>"),
        ] {
            assert!(text.contains(&part), "{part} missing in {text}");
        }
    }
    // Unauthenticated or wrong password: 401 like every request.
    let stranger = Client::new(&served.url, "alice", "wrong", "X", "X", "14.1");
    let r = stranger.post_path("/autodiscover/autodiscover.xml", "text/xml", ok.as_bytes());
    assert_eq!(r.status, 401);
    assert!(r.header("WWW-Authenticate").is_some());

    // Bad XML: ErrorCode 600; another schema: 601.
    let r = alice.post_path(
        "/autodiscover/autodiscover.xml",
        "text/xml",
        b"<Autodiscover><Req",
    );
    assert_eq!(r.status, 200);
    assert!(
        body(&r).contains("<ErrorCode>600</ErrorCode>"),
        "{}",
        body(&r)
    );
    let outlook = request(
        "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006",
        "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a",
    );
    let r = alice.post_path(
        "/autodiscover/autodiscover.xml",
        "text/xml",
        outlook.as_bytes(),
    );
    assert!(
        body(&r).contains("<ErrorCode>601</ErrorCode>"),
        "{}",
        body(&r)
    );
}
