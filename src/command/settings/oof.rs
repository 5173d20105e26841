//! Out of office (Settings `Oof`, MS-ASCMD 2.2.3.122). Neither Horde's
//! JSON-RPC API nor the embedded store has vacation rules, so the settings
//! are kept per user in the state folder (`state/<user>/@oof.json`) and
//! every device of the user reads the same ones. A well-formed Set is
//! always stored (PROTOCOL-NOTES: there is no "not supported" status);
//! wrong values get Invalid arguments (5), an end before the start
//! Conflicting arguments (6), and change nothing.

use super::{status, status_only, Ctx};
use crate::state::{load_user_file, save_user_file};
use crate::wbxml::codepages::settings as s;
use crate::wbxml::{Element, Tag};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// The name of the per-user file.
const FILE: &str = "oof";

/// OofState (MS-ASCMD 2.2.3.123): 0 off, 1 on, 2 on between StartTime and EndTime.
const STATE_TIME_BASED: u32 = 2;

/// Who a reply message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Audience {
    Internal,
    ExternalKnown,
    ExternalUnknown,
}

const AUDIENCES: [(Tag, Audience); 3] = [
    (s::AppliesToInternal, Audience::Internal),
    (s::AppliesToExternalKnown, Audience::ExternalKnown),
    (s::AppliesToExternalUnknown, Audience::ExternalUnknown),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BodyType {
    Text,
    Html,
}

impl BodyType {
    /// `Text` or `HTML`, as the spec spells them (clients vary the case).
    fn parse(s: &str) -> Option<BodyType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Some(BodyType::Text),
            "html" => Some(BodyType::Html),
            _ => None,
        }
    }

    fn wire(self) -> &'static str {
        match self {
            BodyType::Text => "Text",
            BodyType::Html => "HTML",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Message {
    audience: Audience,
    enabled: bool,
    reply: String,
    body_type: BodyType,
}

/// What the user set, as stored in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
struct OofSettings {
    state: u32,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    messages: Vec<Message>,
}

pub fn run(ctx: &mut Ctx, request: &Element) -> Element {
    let state_dir = &ctx.config.server.state_dir;
    let user = ctx.req.user.as_str();
    let stored = match load_user_file::<OofSettings>(state_dir, user, FILE) {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => {
            log::error!("user {user}: out-of-office settings: {e}");
            return status_only(s::Oof, status::SERVER_UNAVAILABLE);
        }
    };
    if let Some(get) = request.child(s::Get) {
        let wanted = get.text_of(s::BodyType).map(BodyType::parse);
        return match wanted {
            Some(None) => status_only(s::Oof, status::INVALID_ARGUMENTS),
            Some(Some(t)) => answer(&stored, Some(t)),
            None => answer(&stored, None),
        };
    }
    let Some(set) = request.child(s::Set) else {
        return status_only(s::Oof, status::PROTOCOL_ERROR);
    };
    let updated = match apply(stored, set) {
        Ok(u) => u,
        Err(code) => return status_only(s::Oof, code),
    };
    match save_user_file(state_dir, user, FILE, &updated) {
        Ok(()) => status_only(s::Oof, status::SUCCESS),
        Err(e) => {
            log::error!("user {user}: saving out-of-office settings: {e}");
            status_only(s::Oof, status::SERVER_UNAVAILABLE)
        }
    }
}

/// The Get answer; messages in `body_type` when the client asked for one.
fn answer(oof: &OofSettings, body_type: Option<BodyType>) -> Element {
    let mut get = Element::new(s::Get).with_text(s::OofState, oof.state.to_string());
    if let (Some(start), Some(end)) = (oof.start, oof.end) {
        get.push_text(s::StartTime, wire_time(start));
        get.push_text(s::EndTime, wire_time(end));
    }
    for (tag, audience) in AUDIENCES {
        let Some(m) = oof.messages.iter().find(|m| m.audience == audience) else {
            continue;
        };
        let body_type = body_type.unwrap_or(m.body_type);
        get.push(
            Element::new(s::OofMessage)
                .with(Element::new(tag))
                .with_text(s::Enabled, if m.enabled { "1" } else { "0" })
                .with_text(s::ReplyMessage, convert(&m.reply, m.body_type, body_type))
                .with_text(s::BodyType, body_type.wire()),
        );
    }
    status_only(s::Oof, status::SUCCESS).with(get)
}

/// The settings after a Set, or the status that refuses it. Elements the
/// client leaves out keep their stored value; a message replaces the stored
/// one of the same audience.
fn apply(mut oof: OofSettings, set: &Element) -> Result<OofSettings, u32> {
    if let Some(text) = set.text_of(s::OofState) {
        oof.state = text
            .trim()
            .parse()
            .ok()
            .filter(|s| *s <= STATE_TIME_BASED)
            .ok_or(status::INVALID_ARGUMENTS)?;
    }
    for (tag, field) in [(s::StartTime, &mut oof.start), (s::EndTime, &mut oof.end)] {
        if let Some(text) = set.text_of(tag) {
            *field = Some(parse_time(text).ok_or(status::INVALID_ARGUMENTS)?);
        }
    }
    if oof.state == STATE_TIME_BASED {
        match (oof.start, oof.end) {
            (Some(start), Some(end)) if end <= start => return Err(status::CONFLICTING_ARGUMENTS),
            (Some(_), Some(_)) => {}
            _ => return Err(status::INVALID_ARGUMENTS),
        }
    }
    for m in set.children_with(s::OofMessage) {
        let message = parse_message(m).ok_or(status::INVALID_ARGUMENTS)?;
        oof.messages.retain(|old| old.audience != message.audience);
        oof.messages.push(message);
    }
    Ok(oof)
}

fn parse_message(m: &Element) -> Option<Message> {
    let audience = AUDIENCES
        .iter()
        .find(|(tag, _)| m.has(*tag))
        .map(|(_, a)| *a)?;
    let enabled = match m.text_of(s::Enabled).map(str::trim) {
        None | Some("0") => false,
        Some("1") => true,
        Some(_) => return None,
    };
    let body_type = match m.text_of(s::BodyType) {
        Some(t) => BodyType::parse(t)?,
        None => BodyType::Text,
    };
    Some(Message {
        audience,
        enabled,
        reply: m.text_of(s::ReplyMessage).unwrap_or_default().to_string(),
        body_type,
    })
}

/// MS-ASDTYPE dateTime, e.g. `2026-12-24T00:00:00.000Z`.
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn wire_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A reply message in the body type the client asked for.
fn convert(reply: &str, from: BodyType, to: BodyType) -> String {
    match (from, to) {
        (BodyType::Text, BodyType::Html) => {
            let escaped = reply
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            format!("<html><body>{}</body></html>", escaped.replace('\n', "<br>\n"))
        }
        (BodyType::Html, BodyType::Text) => html_to_text(reply),
        _ => reply.to_string(),
    }
}

/// The text of a small HTML message: line breaks for `<br>` and `</p>`,
/// other tags dropped, the five XML entities decoded.
fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim().to_ascii_lowercase();
        if tag.starts_with("br") || tag == "/p" || tag == "/div" {
            out.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    let text = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    text.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(tag: Tag, enabled: &str, reply: &str, body_type: &str) -> Element {
        Element::new(s::OofMessage)
            .with(Element::new(tag))
            .with_text(s::Enabled, enabled)
            .with_text(s::ReplyMessage, reply)
            .with_text(s::BodyType, body_type)
    }

    #[test]
    fn set_keeps_what_is_left_out_and_replaces_per_audience() {
        let set = Element::new(s::Set)
            .with_text(s::OofState, "1")
            .with(message(s::AppliesToInternal, "1", "away", "Text"))
            .with(message(s::AppliesToExternalUnknown, "0", "<p>gone</p>", "HTML"));
        let oof = apply(OofSettings::default(), &set).unwrap();
        assert_eq!((oof.state, oof.messages.len()), (1, 2));
        let set = Element::new(s::Set).with(message(s::AppliesToInternal, "1", "back soon", "TEXT"));
        let oof = apply(oof, &set).unwrap();
        assert_eq!(oof.state, 1);
        assert_eq!(oof.messages.len(), 2);
        assert!(oof.messages.iter().any(|m| m.reply == "back soon"));
    }

    #[test]
    fn bad_values_are_refused() {
        let base = OofSettings::default();
        let with = |tag, v: &str| Element::new(s::Set).with_text(tag, v);
        assert_eq!(apply(base.clone(), &with(s::OofState, "3")), Err(5));
        assert_eq!(apply(base.clone(), &with(s::OofState, "2")), Err(5));
        assert_eq!(apply(base.clone(), &with(s::StartTime, "yesterday")), Err(5));
        let backwards = Element::new(s::Set)
            .with_text(s::OofState, "2")
            .with_text(s::StartTime, "2026-12-24T00:00:00.000Z")
            .with_text(s::EndTime, "2026-12-20T00:00:00.000Z");
        assert_eq!(apply(base.clone(), &backwards), Err(6));
        let bad_type = Element::new(s::Set).with(message(s::AppliesToInternal, "1", "x", "RTF"));
        assert_eq!(apply(base.clone(), &bad_type), Err(5));
        let no_audience = Element::new(s::Set)
            .with(Element::new(s::OofMessage).with_text(s::ReplyMessage, "x"));
        assert_eq!(apply(base, &no_audience), Err(5));
    }

    #[test]
    fn body_types_convert() {
        assert_eq!(
            convert("a < b\nc", BodyType::Text, BodyType::Html),
            "<html><body>a &lt; b<br>\nc</body></html>"
        );
        assert_eq!(
            convert("<p>Out &amp; about</p><p>Back <b>Monday</b></p>", BodyType::Html, BodyType::Text),
            "Out & about\nBack Monday"
        );
        assert_eq!(convert("same", BodyType::Html, BodyType::Html), "same");
    }
}
