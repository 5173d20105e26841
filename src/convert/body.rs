//! AirSyncBase bodies (MS-ASAIRS 2.2.2.4 Body, 2.2.2.7 BodyPreference), shared
//! by every class: the device says which body types it wants and how long,
//! the server answers with one Body element.

use crate::wbxml::codepages::airsyncbase as asb;
use crate::wbxml::Element;
use serde::{Deserialize, Serialize};

/// AirSyncBase:Type values.
pub mod body_type {
    pub const PLAIN: u32 = 1;
    pub const HTML: u32 = 2;
    pub const RTF: u32 = 3;
    pub const MIME: u32 = 4;
}

/// One BodyPreference of a Sync/ItemOperations/Search request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyPreference {
    pub body_type: u32,
    pub truncation_size: Option<u32>,
    pub all_or_none: bool,
    pub preview: Option<u32>,
}

impl BodyPreference {
    pub fn parse(e: &Element) -> BodyPreference {
        BodyPreference {
            body_type: e.u32_of(asb::Type).unwrap_or(body_type::PLAIN),
            truncation_size: e.u32_of(asb::TruncationSize),
            all_or_none: e.bool_of(asb::AllOrNone).unwrap_or(false),
            preview: e.u32_of(asb::Preview),
        }
    }
}

/// The preference that applies to a body offered as `available` types
/// (first match in the device's order; plain text when it asked for none).
pub fn choose(prefs: &[BodyPreference], available: &[u32]) -> BodyPreference {
    prefs
        .iter()
        .find(|p| available.contains(&p.body_type))
        .cloned()
        .unwrap_or(BodyPreference {
            body_type: body_type::PLAIN,
            truncation_size: None,
            all_or_none: false,
            preview: None,
        })
}

/// Cut `text` to at most `max` bytes on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The AirSyncBase:Body element for a plain-text body (PIM items keep plain
/// text), honouring TruncationSize, AllOrNone and Preview.
pub fn plain_body(text: &str, prefs: &[BodyPreference]) -> Element {
    body_element(&[Offer::whole(body_type::PLAIN, text.as_bytes())], prefs)
}

/// One body form on offer: its type and content, and the size of the whole
/// form when the content is only its beginning (the text or MIME of a
/// message too large to read whole, see `model::email::Partial`).
#[derive(Debug, Clone, Copy)]
pub struct Offer<'a> {
    pub body_type: u32,
    pub content: &'a [u8],
    pub full_size: Option<u64>,
}

impl<'a> Offer<'a> {
    pub fn whole(body_type: u32, content: &'a [u8]) -> Offer<'a> {
        Offer {
            body_type,
            content,
            full_size: None,
        }
    }

    /// The size of the whole form (EstimatedDataSize, MIMESize, BodySize).
    pub fn size(&self) -> u64 {
        let held = self.content.len() as u64;
        self.full_size.map_or(held, |full| full.max(held))
    }
}

/// The AirSyncBase:Body element for an item that has several body types on
/// offer (e.g. an email's plain, HTML and MIME forms): the device's first
/// preference that is on offer wins, else the first offer. Text is cut on a
/// character boundary; content that is not UTF-8 (a MIME message with 8-bit
/// parts) is cut on bytes and sent as opaque data, so it reaches the device
/// byte for byte. EstimatedDataSize is the size of the whole form, and
/// Truncated is set whenever less than all of it is sent, also when only
/// its beginning was on offer; with AllOrNone (which counts only with a
/// TruncationSize, MS-ASAIRS 2.2.2.3.2) such a body goes without Data.
/// Preview is plain text (MS-ASAIRS 2.2.2.38).
pub fn body_element(offers: &[Offer], prefs: &[BodyPreference]) -> Element {
    let available: Vec<u32> = offers.iter().map(|o| o.body_type).collect();
    let mut pref = choose(prefs, &available);
    let offer = match offers.iter().find(|o| o.body_type == pref.body_type) {
        Some(o) => *o,
        None => {
            let o = offers
                .first()
                .copied()
                .unwrap_or(Offer::whole(body_type::PLAIN, b""));
            pref.body_type = o.body_type;
            o
        }
    };
    let limit = pref.truncation_size.map_or(usize::MAX, |n| n as usize);
    let data = cut(offer.content, limit);
    let truncated = (data.len() as u64) < offer.size();
    let mut body = Element::new(asb::Body).with_text(asb::Type, pref.body_type.to_string());
    body.push_text(asb::EstimatedDataSize, offer.size().to_string());
    if truncated {
        body.push_text(asb::Truncated, "1");
    }
    if !(truncated && pref.all_or_none && pref.truncation_size.is_some()) {
        body.push(data_element(data));
    }
    if let Some(n) = pref.preview.filter(|n| *n > 0) {
        let plain = offers.iter().find(|o| o.body_type == body_type::PLAIN);
        if let Some(text) = plain.and_then(|o| std::str::from_utf8(o.content).ok()) {
            body.push_text(asb::Preview, truncate(text, n as usize));
        }
    }
    body
}

/// At most `max` bytes of `content`, on a character boundary when it is text.
fn cut(content: &[u8], max: usize) -> &[u8] {
    match std::str::from_utf8(content) {
        Ok(text) => truncate(text, max).as_bytes(),
        Err(_) => &content[..max.min(content.len())],
    }
}

/// AirSyncBase:Data as a string when it is UTF-8, else as opaque bytes.
fn data_element(content: &[u8]) -> Element {
    match std::str::from_utf8(content) {
        Ok(text) => Element::text_element(asb::Data, text),
        Err(_) => Element::opaque_element(asb::Data, content),
    }
}

/// The text of an AirSyncBase:Body sent by the device (`None` without one).
pub fn read_body(app_data: &Element) -> Option<String> {
    app_data
        .child(asb::Body)
        .map(|b| b.text_of(asb::Data).unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pref(size: Option<u32>, all_or_none: bool) -> Vec<BodyPreference> {
        vec![BodyPreference {
            body_type: 1,
            truncation_size: size,
            all_or_none,
            preview: None,
        }]
    }

    #[test]
    fn plain_body_truncates_on_char_boundaries() {
        let b = plain_body("héllo wörld", &pref(Some(2), false));
        assert_eq!(b.text_of(asb::Data), Some("h"));
        assert_eq!(b.text_of(asb::Truncated), Some("1"));
        assert_eq!(b.text_of(asb::EstimatedDataSize), Some("13"));
        let b = plain_body("hello", &pref(Some(2), true));
        assert!(b.child(asb::Data).is_none());
        let b = plain_body("hello", &pref(None, false));
        assert_eq!(b.text_of(asb::Data), Some("hello"));
        assert!(b.child(asb::Truncated).is_none());
    }

    #[test]
    fn body_element_picks_the_first_offered_preference() {
        let prefs = vec![
            BodyPreference {
                body_type: 3,
                truncation_size: None,
                all_or_none: false,
                preview: None,
            },
            BodyPreference {
                body_type: 2,
                truncation_size: Some(4),
                all_or_none: false,
                preview: Some(3),
            },
        ];
        let b = body_element(
            &[
                Offer::whole(1, b"plain text"),
                Offer::whole(2, b"<p>html</p>"),
            ],
            &prefs,
        );
        assert_eq!(b.text_of(asb::Type), Some("2"));
        assert_eq!(b.text_of(asb::Data), Some("<p>h"));
        assert_eq!(b.text_of(asb::Preview), Some("pla"));
        // No preference on offer: the first offer, untruncated.
        let b = body_element(&[Offer::whole(4, b"MIME\xe9")], &prefs);
        assert_eq!(b.text_of(asb::Type), Some("4"));
        assert_eq!(b.child(asb::Data).unwrap().bytes(), Some(&b"MIME\xe9"[..]));
    }

    #[test]
    fn a_form_held_in_part_is_truncated_with_its_full_size() {
        let offer = Offer {
            body_type: body_type::MIME,
            content: b"Subject: big\r\n\r\nbeginning",
            full_size: Some(5000),
        };
        let mime = |size, all_or_none| {
            let p = BodyPreference {
                body_type: body_type::MIME,
                truncation_size: size,
                all_or_none,
                preview: None,
            };
            body_element(&[offer], &[p])
        };
        // No TruncationSize: what is held, marked as cut.
        let b = mime(None, false);
        assert_eq!(b.text_of(asb::Data), Some("Subject: big\r\n\r\nbeginning"));
        assert_eq!(b.text_of(asb::Truncated), Some("1"));
        assert_eq!(b.text_of(asb::EstimatedDataSize), Some("5000"));
        let b = mime(Some(7), false);
        assert_eq!(b.text_of(asb::Data), Some("Subject"));
        assert_eq!(b.text_of(asb::EstimatedDataSize), Some("5000"));
        // AllOrNone: nothing rather than a part, even under the limit.
        let b = mime(Some(10_000), true);
        assert!(b.child(asb::Data).is_none());
        assert_eq!(b.text_of(asb::Truncated), Some("1"));
        // Without AllOrNone's TruncationSize it does not count.
        assert!(mime(None, true).child(asb::Data).is_some());
    }

    #[test]
    fn body_round_trips_through_read_body() {
        let app = Element::new(crate::wbxml::codepages::airsync::ApplicationData)
            .with(plain_body("x\ny", &[]));
        assert_eq!(read_body(&app).as_deref(), Some("x\ny"));
    }
}
