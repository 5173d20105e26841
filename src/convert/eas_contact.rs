//! Contact <-> the children of a Sync `ApplicationData` element (MS-ASCNTC).
//!
//! One table, [`FIELDS`], lists every element with its tag, the protocol
//! versions that have it and the model field it fills. [`to_eas`],
//! [`from_eas`] and the ghosting merge ([`merge_change`]) all walk it, so a
//! field cannot be mapped in one direction and forgotten in the other.
//!
//! Birthday and Anniversary: MS-ASCNTC 2.2.2.6 says the time part "SHOULD be
//! ignored", but clients send the user's local midnight converted to UTC (an
//! iPhone at UTC+2 sends 1980-05-03T22:00:00.000Z for 4 May; one at UTC-5
//! sends 1980-05-04T05:00:00.000Z), others send UTC midnight or UTC noon.
//! [`parse_eas_date`] takes the nearest midnight: a time after 12:00 means the
//! next day, 12:00 and earlier the same day. That reads local midnight right
//! for clients from UTC-12 to UTC+11, and UTC midnight/noon forms as written.
//! Known limit: a client at UTC+12 or later (New Zealand, Fiji) that sends its
//! local midnight gets the previous day. We send `YYYY-MM-DDT00:00:00.000Z`,
//! the form Exchange-compatible servers use and clients read back as that
//! date.

use super::body::{self, body_type, BodyPreference};
use super::ghost::{self, GhostField};
use crate::eas::version::Version;
use crate::model::contact::{CalendarDate, Contact};
use crate::wbxml::codepages::{airsyncbase, contacts, contacts2};
use crate::wbxml::{Element, Tag};
use base64::Engine as _;

type Get<V> = fn(&Contact) -> &Option<V>;
type GetMut<V> = fn(&mut Contact) -> &mut Option<V>;

/// What kind of value an element carries and which model field holds it.
#[derive(Clone, Copy)]
enum Value {
    Text(Get<String>, GetMut<String>),
    /// Birthday, Anniversary: EAS date-time <-> calendar date.
    Date(Get<CalendarDate>, GetMut<CalendarDate>),
    /// A container of repeated text children (Categories/Category,
    /// Children/Child).
    List(Tag, Get<Vec<String>>, GetMut<Vec<String>>),
    /// Base64 text on the wire, bytes in the model.
    Picture(Get<Vec<u8>>, GetMut<Vec<u8>>),
    Number(Get<u32>, GetMut<u32>),
    /// The notes: `contacts:Body` (2.5) or `airsyncbase:Body` (12.0+).
    Body,
}

/// Which protocol versions have an element.
#[derive(Clone, Copy)]
enum Availability {
    All,
    Since(Version),
    /// The 2.5 per-class body elements.
    ClassBody,
    /// `airsyncbase:Body`.
    AirSyncBaseBody,
}

/// One element of the Contact class.
#[derive(Clone, Copy)]
pub struct ContactField {
    tag: Tag,
    availability: Availability,
    value: Value,
}

macro_rules! field {
    ($tag:expr, $kind:ident, $($f:ident).+) => {
        field!($tag, Availability::All, $kind, $($f).+)
    };
    ($tag:expr, $avail:expr, $kind:ident, $($f:ident).+) => {
        ContactField {
            tag: $tag,
            availability: $avail,
            value: Value::$kind(|c| &c.$($f).+, |c| &mut c.$($f).+),
        }
    };
    ($tag:expr, List($item:expr), $($f:ident).+) => {
        ContactField {
            tag: $tag,
            availability: Availability::All,
            value: Value::List($item, |c| &c.$($f).+, |c| &mut c.$($f).+),
        }
    };
}

/// Every element of MS-ASCNTC (except `CompressedRTF`: RTF is not kept) in
/// the order they are written.
pub static FIELDS: &[ContactField] = &[
    field!(contacts::FileAs, Text, file_as),
    field!(contacts::Title, Text, title),
    field!(contacts::FirstName, Text, first_name),
    field!(contacts::MiddleName, Text, middle_name),
    field!(contacts::LastName, Text, last_name),
    field!(contacts::Suffix, Text, suffix),
    field!(contacts::YomiFirstName, Text, yomi_first_name),
    field!(contacts::YomiLastName, Text, yomi_last_name),
    field!(contacts2::NickName, Text, nick_name),
    field!(
        contacts::Alias,
        Availability::Since(Version::V14_0),
        Text,
        alias
    ),
    field!(
        contacts::WeightedRank,
        Availability::Since(Version::V14_0),
        Number,
        weighted_rank
    ),
    field!(contacts::CompanyName, Text, company_name),
    field!(contacts::YomiCompanyName, Text, yomi_company_name),
    field!(contacts::Department, Text, department),
    field!(contacts::JobTitle, Text, job_title),
    field!(contacts::OfficeLocation, Text, office_location),
    field!(contacts2::ManagerName, Text, manager_name),
    field!(contacts::AssistantName, Text, assistant_name),
    field!(contacts::Email1Address, Text, email1_address),
    field!(contacts::Email2Address, Text, email2_address),
    field!(contacts::Email3Address, Text, email3_address),
    field!(contacts::WebPage, Text, web_page),
    field!(contacts2::IMAddress, Text, im_address),
    field!(contacts2::IMAddress2, Text, im_address2),
    field!(contacts2::IMAddress3, Text, im_address3),
    field!(contacts2::MMS, Text, mms),
    field!(contacts::HomePhoneNumber, Text, home_phone_number),
    field!(contacts::Home2PhoneNumber, Text, home2_phone_number),
    field!(contacts::BusinessPhoneNumber, Text, business_phone_number),
    field!(contacts::Business2PhoneNumber, Text, business2_phone_number),
    field!(contacts::MobilePhoneNumber, Text, mobile_phone_number),
    field!(contacts::CarPhoneNumber, Text, car_phone_number),
    field!(contacts::RadioPhoneNumber, Text, radio_phone_number),
    field!(contacts::PagerNumber, Text, pager_number),
    field!(contacts::HomeFaxNumber, Text, home_fax_number),
    field!(contacts::BusinessFaxNumber, Text, business_fax_number),
    field!(contacts::AssistantPhoneNumber, Text, assistant_phone_number),
    field!(contacts2::CompanyMainPhone, Text, company_main_phone),
    field!(contacts::HomeAddressStreet, Text, home_address.street),
    field!(contacts::HomeAddressCity, Text, home_address.city),
    field!(contacts::HomeAddressState, Text, home_address.state),
    field!(
        contacts::HomeAddressPostalCode,
        Text,
        home_address.postal_code
    ),
    field!(contacts::HomeAddressCountry, Text, home_address.country),
    field!(
        contacts::BusinessAddressStreet,
        Text,
        business_address.street
    ),
    field!(contacts::BusinessAddressCity, Text, business_address.city),
    field!(contacts::BusinessAddressState, Text, business_address.state),
    field!(
        contacts::BusinessAddressPostalCode,
        Text,
        business_address.postal_code
    ),
    field!(
        contacts::BusinessAddressCountry,
        Text,
        business_address.country
    ),
    field!(contacts::OtherAddressStreet, Text, other_address.street),
    field!(contacts::OtherAddressCity, Text, other_address.city),
    field!(contacts::OtherAddressState, Text, other_address.state),
    field!(
        contacts::OtherAddressPostalCode,
        Text,
        other_address.postal_code
    ),
    field!(contacts::OtherAddressCountry, Text, other_address.country),
    field!(contacts::Birthday, Date, birthday),
    field!(contacts::Anniversary, Date, anniversary),
    field!(contacts::Spouse, Text, spouse),
    field!(contacts::Children, List(contacts::Child), children),
    field!(contacts::Categories, List(contacts::Category), categories),
    field!(contacts2::CustomerId, Text, customer_id),
    field!(contacts2::GovernmentId, Text, government_id),
    field!(contacts2::AccountName, Text, account_name),
    field!(contacts::Picture, Picture, picture),
    ContactField {
        tag: contacts::Body,
        availability: Availability::ClassBody,
        value: Value::Body,
    },
    ContactField {
        tag: airsyncbase::Body,
        availability: Availability::AirSyncBaseBody,
        value: Value::Body,
    },
];

impl ContactField {
    /// The element's tag.
    pub fn tag(&self) -> Tag {
        self.tag
    }

    /// Whether the element exists in this protocol version.
    pub fn exists_in(&self, version: Version) -> bool {
        match self.availability {
            Availability::All => true,
            Availability::Since(first) => version >= first,
            Availability::ClassBody => !version.uses_airsyncbase_body(),
            Availability::AirSyncBaseBody => version.uses_airsyncbase_body(),
        }
    }
}

impl GhostField<Contact> for ContactField {
    fn tag(&self) -> Tag {
        self.tag
    }

    fn exists_in(&self, version: Version) -> bool {
        ContactField::exists_in(self, version)
    }

    fn is_set(&self, c: &Contact) -> bool {
        match self.value {
            Value::Text(get, _) => get(c).is_some(),
            Value::Date(get, _) => get(c).is_some(),
            Value::List(_, get, _) => get(c).is_some(),
            Value::Picture(get, _) => get(c).is_some(),
            Value::Number(get, _) => get(c).is_some(),
            Value::Body => c.body.is_some(),
        }
    }

    fn copy(&self, from: &Contact, to: &mut Contact) {
        match self.value {
            Value::Text(get, get_mut) => *get_mut(to) = get(from).clone(),
            Value::Date(get, get_mut) => *get_mut(to) = *get(from),
            Value::List(_, get, get_mut) => *get_mut(to) = get(from).clone(),
            Value::Picture(get, get_mut) => *get_mut(to) = get(from).clone(),
            Value::Number(get, get_mut) => *get_mut(to) = *get(from),
            Value::Body => to.body = from.body.clone(),
        }
    }
}

/// The children of `ApplicationData` for this contact in this version.
/// `prefs` are the device's body preferences (for 2.5, the sync engine
/// passes its truncation as a plain-text preference).
pub fn to_eas(c: &Contact, version: Version, prefs: &[BodyPreference]) -> Vec<Element> {
    let mut out = Vec::new();
    for f in FIELDS.iter().filter(|f| f.exists_in(version)) {
        match f.value {
            Value::Text(get, _) => {
                if let Some(s) = get(c) {
                    out.push(Element::text_element(f.tag, s.as_str()));
                }
            }
            Value::Date(get, _) => {
                if let Some(d) = get(c) {
                    out.push(Element::text_element(f.tag, format_eas_date(*d)));
                }
            }
            Value::List(item, get, _) => {
                if let Some(items) = get(c).as_ref().filter(|v| !v.is_empty()) {
                    let mut list = Element::new(f.tag);
                    for i in items {
                        list.push_text(item, i.as_str());
                    }
                    out.push(list);
                }
            }
            Value::Picture(get, _) => {
                if let Some(bytes) = get(c) {
                    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
                    out.push(Element::text_element(f.tag, b64));
                }
            }
            Value::Number(get, _) => {
                if let Some(n) = get(c) {
                    out.push(Element::text_element(f.tag, n.to_string()));
                }
            }
            Value::Body => {
                if let Some(text) = &c.body {
                    out.extend(body_elements(f.tag, text, prefs));
                }
            }
        }
    }
    out
}

/// The body in the element form of its version: `airsyncbase:Body` (shared
/// with the other classes), or 2.5's `Body`, `BodySize` (the full size, only
/// when truncated) and `BodyTruncated`.
fn body_elements(tag: Tag, text: &str, prefs: &[BodyPreference]) -> Vec<Element> {
    if tag == airsyncbase::Body {
        return vec![body::plain_body(text, prefs)];
    }
    let limit = body::choose(prefs, &[body_type::PLAIN]).truncation_size;
    let data = limit.map_or(text, |n| body::truncate(text, n as usize));
    let truncated = data.len() < text.len();
    let mut out = vec![Element::text_element(contacts::Body, data)];
    if truncated {
        out.push(Element::text_element(
            contacts::BodySize,
            text.len().to_string(),
        ));
    }
    out.push(Element::text_element(
        contacts::BodyTruncated,
        if truncated { "1" } else { "0" },
    ));
    out
}

/// Read a contact from `ApplicationData`. Elements that do not exist in
/// `version` are ignored; an empty element reads as "no value".
pub fn from_eas(app_data: &Element, version: Version) -> Contact {
    let mut c = Contact::default();
    for f in FIELDS.iter().filter(|f| f.exists_in(version)) {
        let Some(e) = app_data.child(f.tag) else {
            continue;
        };
        match f.value {
            Value::Text(_, get_mut) => *get_mut(&mut c) = non_empty_text(e),
            Value::Date(_, get_mut) => *get_mut(&mut c) = e.text().and_then(parse_eas_date),
            Value::List(item, _, get_mut) => {
                let items: Vec<String> = e.children_with(item).filter_map(non_empty_text).collect();
                *get_mut(&mut c) = (!items.is_empty()).then_some(items);
            }
            Value::Picture(_, get_mut) => *get_mut(&mut c) = e.text().and_then(decode_base64),
            Value::Number(_, get_mut) => {
                *get_mut(&mut c) = e.text().and_then(|t| t.trim().parse().ok())
            }
            Value::Body => c.body = read_body(e),
        }
    }
    c
}

/// The text of a body element. For `airsyncbase:Body` only plain text and
/// HTML are readable; RTF (Type 3) and MIME (Type 4) read as no body.
fn read_body(e: &Element) -> Option<String> {
    if e.tag == airsyncbase::Body {
        let readable = matches!(
            e.u32_of(airsyncbase::Type),
            None | Some(body_type::PLAIN) | Some(body_type::HTML)
        );
        return readable
            .then(|| e.child(airsyncbase::Data).and_then(non_empty_text))
            .flatten();
    }
    non_empty_text(e)
}

fn non_empty_text(e: &Element) -> Option<String> {
    e.text().filter(|t| !t.is_empty()).map(str::to_string)
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .ok()
        .filter(|b| !b.is_empty())
}

/// `YYYY-MM-DDT00:00:00.000Z`.
pub fn format_eas_date(d: CalendarDate) -> String {
    format!("{d}T00:00:00.000Z")
}

/// The calendar date a client meant by a Birthday/Anniversary value (see the
/// module doc for the rule). Accepts `1980-05-04T22:00:00.000Z`, without
/// fraction or `Z`, the basic form `19800504T220000Z`, and a bare date.
pub fn parse_eas_date(text: &str) -> Option<CalendarDate> {
    use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
    let t = text.trim().trim_end_matches(['Z', 'z']);
    let dt = ["%Y-%m-%dT%H:%M:%S%.f", "%Y%m%dT%H%M%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        .or_else(|| {
            ["%Y-%m-%d", "%Y%m%d"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
                .map(|d| d.and_time(NaiveTime::MIN))
        })?;
    let noon = NaiveTime::from_hms_opt(12, 0, 0)?;
    let date = if dt.time() > noon {
        dt.date().checked_add_signed(Duration::days(1))?
    } else {
        dt.date()
    };
    Some(CalendarDate::from_naive(date))
}

/// The contact stored after a client's Change, per the ghosting rules of
/// [`ghost`] applied to [`FIELDS`].
pub fn merge_change(
    existing: &Contact,
    sent: &Contact,
    supported: Option<&[Tag]>,
    version: Version,
) -> Contact {
    ghost::merge_change(FIELDS, existing, sent, supported, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_is_mapped_once() {
        let mut tags: Vec<Tag> = FIELDS.iter().map(|f| f.tag).collect();
        tags.sort();
        let before = tags.len();
        tags.dedup();
        assert_eq!(before, tags.len());
    }
}
