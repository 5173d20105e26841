//! Any bytes as the query string (plain or base64 form) and as the
//! Authorization header: parsing a request never panics, whatever it decides.
#![no_main]
use horde_activesync::config::Config;
use horde_activesync::eas::request::EasRequest;
use horde_activesync::http::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| *b as usize).min(data.len().saturating_sub(1));
    let (auth, query) = data.get(1..).unwrap_or_default().split_at(split.min(data.len().saturating_sub(1)));
    let req = Request {
        method: "POST".into(),
        path: "/Microsoft-Server-ActiveSync".into(),
        query: String::from_utf8_lossy(query).into_owned(),
        headers: vec![
            ("MS-ASProtocolVersion".into(), "14.1".into()),
            ("Authorization".into(), format!("Basic {}", String::from_utf8_lossy(auth))),
            ("X-MS-PolicyKey".into(), "123".into()),
        ],
        body: Vec::new(),
        remote_addr: None,
    };
    let _ = EasRequest::parse(&req, &Config::default());
});
