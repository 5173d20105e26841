//! Autodiscover for mobile devices (MS-ASCMD 2.2.1.1): the plain-old-XML
//! request a phone POSTs to `/autodiscover/autodiscover.xml` when the user
//! typed only an address and a password. It is answered with the URL of
//! the ActiveSync endpoint and the user's display name and address.
//!
//! Like every request it needs Basic credentials (the caller checks them).
//! The answer is about the authenticated user, whatever address the request
//! names: a device may only discover its own account. A body that is not
//! the mobilesync request (bad XML, no or several `Request`) gets
//! ErrorCode 600; a request in another schema, or one that cannot accept
//! the mobilesync response schema, gets 601 (no provider for it).

use crate::command::identity;
use crate::config::Config;
use crate::http::{Request, Response};
use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// The paths devices use (Exchange matches them case-insensitively).
const PATH: &str = "/autodiscover/autodiscover.xml";

pub const REQUEST_SCHEMA: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006";
pub const RESPONSE_SCHEMA: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006";
/// The namespace of the outer `Autodiscover` element of every response.
const OUTER_SCHEMA: &str = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";

/// Largest Autodiscover body read; real ones are a few hundred bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// Whether a request is for the Autodiscover endpoint.
pub fn is_autodiscover(req: &Request) -> bool {
    req.path.eq_ignore_ascii_case(PATH)
}

/// Answer the request of the authenticated `user`.
pub fn handle(config: &Config, user: &str, req: &Request) -> Response {
    if req.method != "POST" {
        return Response::new(405).with_header("Allow", "POST");
    }
    if req.body.len() > MAX_BODY {
        return Response::new(413);
    }
    let now = chrono::Utc::now();
    if let Err(f) = parse(&req.body) {
        log::info!("Autodiscover of user {user}: error {}", f.code());
        return failure(f, now);
    }
    let Some(url) = endpoint_url(config.server.public_url.as_deref(), req) else {
        log::warn!("Autodiscover of user {user}: no [server] public_url and no usable Host header");
        return failure(Failure::InvalidRequest, now);
    };
    let email = identity::email_address(config, user).unwrap_or_else(|| user.to_string());
    success(&Account {
        display_name: identity::display_name(user),
        email: &email,
        url: &url,
    })
}

/// ErrorCode values (MS-ASCMD 2.2.3.64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 600: the request is not a valid mobilesync Autodiscover request.
    InvalidRequest,
    /// 601: no provider for the request's schema or its AcceptableResponseSchema.
    NoProvider,
}

impl Failure {
    fn code(self) -> u32 {
        match self {
            Failure::InvalidRequest => 600,
            Failure::NoProvider => 601,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Failure::InvalidRequest => "Invalid Request",
            Failure::NoProvider => "Provider could not be found for the requested schema",
        }
    }
}

/// The user the answer describes.
pub struct Account<'a> {
    pub display_name: &'a str,
    pub email: &'a str,
    /// Absolute URL of the ActiveSync endpoint.
    pub url: &'a str,
}

/// Check that `body` is a mobilesync Autodiscover request.
pub fn parse(body: &[u8]) -> Result<(), Failure> {
    let text = std::str::from_utf8(body).map_err(|_| Failure::InvalidRequest)?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().trim_text(true);
    // (namespace, local name) of the open elements.
    let mut open: Vec<(String, String)> = Vec::new();
    let mut requests = 0;
    let mut acceptable: Option<String> = None;
    // A well-formed request of another schema (Outlook's, say).
    let mut foreign = false;
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|_| Failure::InvalidRequest)?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let namespace = match ns {
                    ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
                    _ => String::new(),
                };
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                match open.len() {
                    0 if name != "Autodiscover" => return Err(Failure::InvalidRequest),
                    0 => foreign = namespace != REQUEST_SCHEMA,
                    1 if name == "Request" => requests += 1,
                    _ => {}
                }
                if matches!(event, Event::Start(_)) {
                    open.push((namespace, name));
                }
            }
            Event::Text(t) => {
                let in_field = open.len() == 3
                    && open[1].1 == "Request"
                    && open[2].1 == "AcceptableResponseSchema";
                if in_field {
                    let value = t.unescape().map_err(|_| Failure::InvalidRequest)?;
                    acceptable = Some(value.trim().to_string());
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !open.is_empty() {
        return Err(Failure::InvalidRequest);
    }
    if foreign {
        return Err(Failure::NoProvider);
    }
    if requests != 1 {
        return Err(Failure::InvalidRequest);
    }
    match acceptable.as_deref() {
        None => Err(Failure::InvalidRequest),
        Some(RESPONSE_SCHEMA) => Ok(()),
        Some(_) => Err(Failure::NoProvider),
    }
}

fn xml_response(body: String) -> Response {
    Response::new(200).with_body("text/xml; charset=utf-8", body.into_bytes())
}

/// The successful answer.
pub fn success(account: &Account) -> Response {
    let url = escape(account.url);
    xml_response(format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <Autodiscover xmlns=\"{OUTER_SCHEMA}\">\n\
         <Response xmlns=\"{RESPONSE_SCHEMA}\">\n\
         <Culture>en:en</Culture>\n\
         <User>\n<DisplayName>{}</DisplayName>\n<EMailAddress>{}</EMailAddress>\n</User>\n\
         <Action>\n<Settings>\n<Server>\n<Type>MobileSync</Type>\n<Url>{url}</Url>\n\
         <Name>{url}</Name>\n</Server>\n</Settings>\n</Action>\n\
         </Response>\n</Autodiscover>\n",
        escape(account.display_name),
        escape(account.email),
    ))
}

/// The error answer: in the mobilesync response for an invalid request (as
/// the spec's example), in the generic response when there is no mobilesync
/// provider for the request.
pub fn failure(f: Failure, now: chrono::DateTime<chrono::Utc>) -> Response {
    let response_ns = match f {
        Failure::InvalidRequest => format!(" xmlns=\"{RESPONSE_SCHEMA}\""),
        Failure::NoProvider => String::new(),
    };
    xml_response(format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <Autodiscover xmlns=\"{OUTER_SCHEMA}\">\n\
         <Response{response_ns}>\n\
         <Error Time=\"{}\" Id=\"{}\">\n<ErrorCode>{}</ErrorCode>\n<Message>{}</Message>\n\
         <DebugData />\n</Error>\n</Response>\n</Autodiscover>\n",
        error_time(now),
        crate::state::random_u32(),
        f.code(),
        f.message(),
    ))
}

/// The `Time` attribute of an error: time of day with seven fraction digits,
/// as Exchange writes it.
fn error_time(now: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    format!(
        "{}.{:07}",
        now.format("%H:%M:%S"),
        now.nanosecond().min(999_999_999) / 100
    )
}

/// The ActiveSync URL: `[server] public_url` when set, else derived from the
/// Host the device reached (HTTPS, as devices require for Autodiscover).
pub fn endpoint_url(public_url: Option<&str>, req: &Request) -> Option<String> {
    if let Some(url) = public_url.filter(|u| !u.trim().is_empty()) {
        return Some(url.trim().to_string());
    }
    let host = req.header("Host")?.trim();
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    valid.then(|| format!("https://{host}/Microsoft-Server-ActiveSync"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(schema: &str, acceptable: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
             <Autodiscover xmlns=\"{schema}\"><Request>\
             <EMailAddress>jane@example.com</EMailAddress>\
             <AcceptableResponseSchema>{acceptable}</AcceptableResponseSchema>\
             </Request></Autodiscover>"
        )
    }

    #[test]
    fn recognises_the_mobilesync_request_and_refuses_others() {
        assert_eq!(
            parse(request(REQUEST_SCHEMA, RESPONSE_SCHEMA).as_bytes()),
            Ok(())
        );
        let outlook =
            "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
        assert_eq!(
            parse(request(outlook, RESPONSE_SCHEMA).as_bytes()),
            Err(Failure::NoProvider)
        );
        assert_eq!(
            parse(request(REQUEST_SCHEMA, "urn:other").as_bytes()),
            Err(Failure::NoProvider)
        );
        for bad in [
            "not xml <",
            "<Autodiscover xmlns=\"x\"><Request>",
            "",
            "\u{0}\u{1}",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let two = request(REQUEST_SCHEMA, RESPONSE_SCHEMA)
            .replace("</Request>", "</Request><Request></Request>");
        assert_eq!(parse(two.as_bytes()), Err(Failure::InvalidRequest));
        let none = format!("<Autodiscover xmlns=\"{REQUEST_SCHEMA}\"><Request/></Autodiscover>");
        assert_eq!(parse(none.as_bytes()), Err(Failure::InvalidRequest));
    }

    #[test]
    fn url_from_config_or_host() {
        let mut req = Request::default();
        assert_eq!(endpoint_url(None, &req), None);
        req.headers
            .push(("Host".into(), "mail.example.com:8443".into()));
        assert_eq!(
            endpoint_url(None, &req).as_deref(),
            Some("https://mail.example.com:8443/Microsoft-Server-ActiveSync")
        );
        assert_eq!(
            endpoint_url(
                Some("https://eas.example.com/Microsoft-Server-ActiveSync"),
                &req
            )
            .as_deref(),
            Some("https://eas.example.com/Microsoft-Server-ActiveSync")
        );
        req.headers[0].1 = "evil.com/<x>".into();
        assert_eq!(endpoint_url(None, &req), None);
    }

    #[test]
    fn answers_escape_and_carry_the_codes() {
        let r = success(&Account {
            display_name: "Jane & Co",
            email: "jane@example.com",
            url: "https://h/Microsoft-Server-ActiveSync",
        });
        let body = String::from_utf8(r.body.to_vec().unwrap()).unwrap();
        assert!(
            body.contains("<DisplayName>Jane &amp; Co</DisplayName>"),
            "{body}"
        );
        assert!(body.contains("<Type>MobileSync</Type>"));
        let noon = chrono::DateTime::parse_from_rfc3339("2026-11-27T12:34:56.1234567Z").unwrap();
        let r = failure(Failure::NoProvider, noon.with_timezone(&chrono::Utc));
        assert!(String::from_utf8(r.body.to_vec().unwrap())
            .unwrap()
            .contains("Time=\"12:34:56.1234567\""));
        assert!(String::from_utf8(r.body.to_vec().unwrap())
            .unwrap()
            .contains("<ErrorCode>601</ErrorCode>"));
    }
}
