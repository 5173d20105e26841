//! Contact <-> vCard 3.0 (RFC 2426), the form Horde Turba imports and exports
//! over JSON-RPC (`text/vcard`). Input may also be vCard 2.1 (bare type
//! flags, QUOTED-PRINTABLE, CHARSET) or 4.0 (`data:` photos, `tel:` URIs,
//! `ANNIVERSARY`, `IMPP`).
//!
//! [`write`] produces a full snapshot: every mapped property is written, empty
//! when the field is `None`, the way Turba's own export looks. This matters
//! because Turba's `replace` keeps properties that are absent from the new
//! card, so leaving a cleared field out would silently keep its old value.
//!
//! The field mapping (and what Turba drops) is listed in the README section
//! "Contacts: field mapping".

use super::contentline::{self, ContentLine};
use crate::model::contact::{Address, CalendarDate, Contact};
use anyhow::{bail, Result};
use base64::Engine as _;

type TextField = fn(&mut Contact) -> &mut Option<String>;

/// Single-valued text properties: (name written, other names read, field).
const TEXT_PROPS: &[(&str, &[&str], TextField)] = &[
    ("FN", &[], |c| &mut c.file_as),
    ("NICKNAME", &["X-EPOCSECONDNAME"], |c| &mut c.nick_name),
    ("TITLE", &[], |c| &mut c.job_title),
    ("NOTE", &[], |c| &mut c.body),
    ("URL", &[], |c| &mut c.web_page),
    ("X-PHONETIC-FIRST-NAME", &[], |c| &mut c.yomi_first_name),
    ("X-PHONETIC-LAST-NAME", &[], |c| &mut c.yomi_last_name),
    ("X-PHONETIC-ORG", &[], |c| &mut c.yomi_company_name),
    ("X-SPOUSE", &["X-EVOLUTION-SPOUSE", "X-MS-SPOUSE"], |c| {
        &mut c.spouse
    }),
    ("X-ASSISTANT", &["X-EVOLUTION-ASSISTANT"], |c| {
        &mut c.assistant_name
    }),
    ("X-MANAGER", &["X-EVOLUTION-MANAGER"], |c| {
        &mut c.manager_name
    }),
    ("X-OFFICE-LOCATION", &[], |c| &mut c.office_location),
    ("X-WV-ID", &[], |c| &mut c.im_address),
    ("X-IM-ADDRESS2", &[], |c| &mut c.im_address2),
    ("X-IM-ADDRESS3", &[], |c| &mut c.im_address3),
    ("X-CUSTOMER-ID", &[], |c| &mut c.customer_id),
    ("X-GOVERNMENT-ID", &[], |c| &mut c.government_id),
    ("X-ACCOUNT-NAME", &[], |c| &mut c.account_name),
    ("X-ALIAS", &[], |c| &mut c.alias),
];

/// Date properties: (name written, other names read, field).
type DateField = fn(&mut Contact) -> &mut Option<CalendarDate>;
const DATE_PROPS: &[(&str, &[&str], DateField)] = &[
    ("BDAY", &[], |c| &mut c.birthday),
    (
        "X-ANNIVERSARY",
        &["ANNIVERSARY", "X-EVOLUTION-ANNIVERSARY", "X-MS-ANNIVERSARY"],
        |c| &mut c.anniversary,
    ),
];

/// Comma-separated list properties.
type ListField = fn(&mut Contact) -> &mut Option<Vec<String>>;
const LIST_PROPS: &[(&str, ListField)] = &[
    ("CATEGORIES", |c| &mut c.categories),
    ("X-CHILDREN", |c| &mut c.children),
];

/// What a TEL line is, decided from its TYPE values by [`tel_kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TelKind {
    Home,
    Business,
    Mobile,
    Car,
    Radio,
    Pager,
    HomeFax,
    BusinessFax,
    Assistant,
    Company,
    Mms,
}

/// TEL slots in the order they are written. A kind with two slots (home,
/// business) fills them in order; the first is always written (empty when
/// unset) so that the second keeps its place.
const TEL_SLOTS: &[(TelKind, &[&str], TextField)] = &[
    (TelKind::Home, &["HOME", "VOICE"], |c| {
        &mut c.home_phone_number
    }),
    (TelKind::Home, &["HOME", "VOICE"], |c| {
        &mut c.home2_phone_number
    }),
    (TelKind::Business, &["WORK", "VOICE"], |c| {
        &mut c.business_phone_number
    }),
    (TelKind::Business, &["WORK", "VOICE"], |c| {
        &mut c.business2_phone_number
    }),
    (TelKind::Mobile, &["CELL", "VOICE"], |c| {
        &mut c.mobile_phone_number
    }),
    (TelKind::Car, &["CAR"], |c| &mut c.car_phone_number),
    (TelKind::Radio, &["X-RADIO"], |c| &mut c.radio_phone_number),
    (TelKind::Pager, &["PAGER"], |c| &mut c.pager_number),
    (TelKind::HomeFax, &["FAX", "HOME"], |c| {
        &mut c.home_fax_number
    }),
    // Turba files a FAX without HOME as its (business) `fax` field.
    (TelKind::BusinessFax, &["FAX"], |c| {
        &mut c.business_fax_number
    }),
    (TelKind::Assistant, &["X-ASSISTANT"], |c| {
        &mut c.assistant_phone_number
    }),
    (TelKind::Company, &["X-COMPANY"], |c| {
        &mut c.company_main_phone
    }),
    (TelKind::Mms, &["X-MMS"], |c| &mut c.mms),
];

/// Classify a TEL line by its (upper-cased) types; the most specific wins.
fn tel_kind(types: &[String]) -> TelKind {
    let has = |names: &[&str]| types.iter().any(|t| names.contains(&t.as_str()));
    if has(&["X-ASSISTANT", "X-EVOLUTION-ASSISTANT", "ASSISTANT"]) {
        TelKind::Assistant
    } else if has(&["X-COMPANY", "X-EVOLUTION-COMPANY"]) {
        TelKind::Company
    } else if has(&["X-RADIO", "X-EVOLUTION-RADIO"]) {
        TelKind::Radio
    } else if has(&["X-MMS"]) {
        TelKind::Mms
    } else if has(&["FAX"]) {
        if has(&["HOME"]) {
            TelKind::HomeFax
        } else {
            TelKind::BusinessFax
        }
    } else if has(&["PAGER"]) {
        TelKind::Pager
    } else if has(&["CAR"]) {
        TelKind::Car
    } else if has(&["CELL"]) {
        TelKind::Mobile
    } else if has(&["WORK"]) {
        TelKind::Business
    } else {
        TelKind::Home
    }
}

/// E-mail slots: Email1 plain, Email2 HOME, Email3 WORK (Turba's `email`,
/// `homeEmail`, `workEmail`, the same pairing Horde's own ActiveSync uses).
const EMAIL_SLOTS: &[(&[&str], TextField)] = &[
    (&["INTERNET"], |c| &mut c.email1_address),
    (&["INTERNET", "HOME"], |c| &mut c.email2_address),
    (&["INTERNET", "WORK"], |c| &mut c.email3_address),
];

type AddressField = fn(&mut Contact) -> &mut Address;
const ADDRESSES: &[(&str, AddressField)] = &[
    ("HOME", |c| &mut c.home_address),
    ("WORK", |c| &mut c.business_address),
    ("OTHER", |c| &mut c.other_address),
];

/// Parse the first vCard in `text`. Unknown properties are ignored, bad
/// values (a broken date or base64) leave their field unset; only text
/// without any `BEGIN:VCARD` is an error.
pub fn parse(text: &str) -> Result<Contact> {
    // Stray junk lines (no colon, bad name) are skipped, as devices send them.
    let lines = logical_lines(text)
        .into_iter()
        .filter_map(|l| ContentLine::parse(&l).ok());
    let mut inside = false;
    let mut card = Vec::new();
    for mut line in lines {
        // Apple's `item1.TEL`: the group prefix carries no meaning for us.
        if let Some((_, name)) = line.name.rsplit_once('.') {
            line.name = name.to_string();
        }
        match line.name.as_str() {
            "BEGIN" if line.value.trim().eq_ignore_ascii_case("VCARD") && !inside => inside = true,
            "END" if line.value.trim().eq_ignore_ascii_case("VCARD") && inside => break,
            _ if inside => card.push(line),
            _ => {}
        }
    }
    if !inside {
        bail!("no BEGIN:VCARD in the vCard text");
    }
    let mut c = Contact::default();
    let mut tel_used = [false; TEL_SLOTS.len()];
    let mut email_used = [false; EMAIL_SLOTS.len()];
    for line in &card {
        apply_line(&mut c, line, &mut tel_used, &mut email_used);
    }
    Ok(c)
}

fn apply_line(c: &mut Contact, line: &ContentLine, tel_used: &mut [bool], email_used: &mut [bool]) {
    let name = line.name.as_str();
    if let Some((_, _, field)) = TEXT_PROPS
        .iter()
        .find(|(n, alt, _)| *n == name || alt.contains(&name))
    {
        let is_main = TEXT_PROPS.iter().any(|(n, _, _)| *n == name);
        let slot = field(c);
        // A property read under another name only fills an empty field.
        if is_main || slot.is_none() {
            *slot = non_empty(text_value(line));
        }
        return;
    }
    if let Some((_, _, field)) = DATE_PROPS
        .iter()
        .find(|(n, alt, _)| *n == name || alt.contains(&name))
    {
        if let Some(d) = parse_vcard_date(&text_value(line)) {
            *field(c) = Some(d);
        }
        return;
    }
    if let Some((_, field)) = LIST_PROPS.iter().find(|(n, _)| *n == name) {
        let items: Vec<String> = contentline::split_text_list(&decoded_value(line))
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if !items.is_empty() {
            field(c).get_or_insert_with(Vec::new).extend(items);
        }
        return;
    }
    match name {
        "N" => {
            let parts = split_structured(&decoded_value(line));
            let part = |i: usize| non_empty(parts.get(i).cloned().unwrap_or_default());
            c.last_name = part(0);
            c.first_name = part(1);
            c.middle_name = part(2);
            c.title = part(3);
            c.suffix = part(4);
        }
        "ORG" => {
            let parts = split_structured(&decoded_value(line));
            c.company_name = non_empty(parts.first().cloned().unwrap_or_default());
            c.department = non_empty(parts.get(1).cloned().unwrap_or_default());
        }
        "ADR" => apply_adr(c, line),
        "TEL" => {
            let kind = tel_kind(&types(line));
            let free = (0..TEL_SLOTS.len()).find(|&i| !tel_used[i] && TEL_SLOTS[i].0 == kind);
            if let Some(i) = free {
                tel_used[i] = true;
                *(TEL_SLOTS[i].2)(c) = non_empty(strip_tel_uri(&text_value(line)));
            }
        }
        "EMAIL" => {
            let t = types(line);
            let has = |n: &str| t.iter().any(|x| x == n);
            let value = non_empty(text_value(line));
            let wanted = if has("PREF") && !email_used[0] {
                0
            } else if has("HOME") && !email_used[1] {
                1
            } else if has("WORK") && !email_used[2] {
                2
            } else {
                match email_used.iter().position(|u| !u) {
                    Some(i) => i,
                    None => return,
                }
            };
            email_used[wanted] = true;
            *(EMAIL_SLOTS[wanted].1)(c) = value;
        }
        "IMPP" => {
            let value = non_empty(text_value(line));
            for f in [
                (|c| &mut c.im_address) as TextField,
                |c| &mut c.im_address2,
                |c| &mut c.im_address3,
            ] {
                if f(c).is_none() {
                    *f(c) = value;
                    break;
                }
            }
        }
        "X-ASSISTANT-TEL" if c.assistant_phone_number.is_none() => {
            c.assistant_phone_number = non_empty(text_value(line));
        }
        "PHOTO" => c.picture = parse_photo(line),
        "X-WEIGHTED-RANK" => c.weighted_rank = line.value.trim().parse().ok(),
        _ => {}
    }
}

fn apply_adr(c: &mut Contact, line: &ContentLine) {
    let t = types(line);
    let prefix = if t.iter().any(|x| x == "HOME") {
        "HOME"
    } else if t.iter().any(|x| x == "WORK") {
        "WORK"
    } else {
        "OTHER"
    };
    let Some((_, field)) = ADDRESSES.iter().find(|(p, _)| *p == prefix) else {
        return;
    };
    let target = field(c);
    if !target.is_empty() {
        return; // the first address of a kind wins, as in Turba
    }
    let parts = split_structured(&decoded_value(line));
    let part = |i: usize| parts.get(i).cloned().unwrap_or_default();
    // Post office box and extended address have no EAS element: they become
    // leading lines of the street.
    let street: Vec<String> = [part(0), part(1), part(2)]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    *target = Address {
        street: non_empty(street.join("\n")),
        city: non_empty(part(3)),
        state: non_empty(part(4)),
        postal_code: non_empty(part(5)),
        country: non_empty(part(6)),
    };
}

/// Upper-cased TYPE values, including vCard 2.1 bare flags (`TEL;HOME;FAX:`)
/// and 4.0 quoted lists (`TYPE="work,voice"`).
fn types(line: &ContentLine) -> Vec<String> {
    line.params
        .iter()
        .filter(|(n, _)| n == "TYPE")
        .flat_map(|(_, values)| values.iter())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_uppercase())
        .collect()
}

/// The value after QUOTED-PRINTABLE and CHARSET decoding, still escaped.
fn decoded_value(line: &ContentLine) -> String {
    let qp = line
        .param_value("ENCODING")
        .is_some_and(|e| e.eq_ignore_ascii_case("QUOTED-PRINTABLE"))
        || types(line).iter().any(|t| t == "QUOTED-PRINTABLE");
    if !qp {
        return line.value.clone();
    }
    let bytes = decode_quoted_printable(&line.value);
    match line.param_value("CHARSET").map(|s| s.to_ascii_uppercase()) {
        Some(cs) if ["ISO-8859-1", "LATIN1", "WINDOWS-1252", "US-ASCII"].contains(&cs.as_str()) => {
            bytes.iter().map(|&b| b as char).collect()
        }
        _ => String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A single text value: decoded and unescaped.
fn text_value(line: &ContentLine) -> String {
    contentline::unescape_text(&decoded_value(line))
}

fn decode_quoted_printable(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// `tel:+1-555` (vCard 4 URI form) -> `+1-555`.
fn strip_tel_uri(v: &str) -> String {
    v.strip_prefix("tel:").unwrap_or(v).to_string()
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// BDAY / anniversary values: `1980-05-04`, `19800504`, with or without a
/// time part (ignored), and the year-less `--0504` / `--05-04` of vCard 4,
/// which gets the placeholder year 1604 (Apple's convention) because EAS
/// dates need a year.
fn parse_vcard_date(v: &str) -> Option<CalendarDate> {
    let v = v.trim();
    let date = v.split(['T', 't']).next().unwrap_or(v);
    if let Some(md) = date.strip_prefix("--") {
        let digits: String = md.chars().filter(|c| c.is_ascii_digit()).collect();
        if digits.len() != 4 {
            return None;
        }
        return CalendarDate::new(1604, digits[..2].parse().ok()?, digits[2..].parse().ok()?);
    }
    let digits: String = date.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() != 8 || date.len() > 10 {
        return None;
    }
    CalendarDate::new(
        digits[..4].parse().ok()?,
        digits[4..6].parse().ok()?,
        digits[6..].parse().ok()?,
    )
}

fn parse_photo(line: &ContentLine) -> Option<Vec<u8>> {
    let value = line.value.trim();
    let b64 = if let Some(rest) = value.strip_prefix("data:") {
        let (meta, data) = rest.split_once(',')?;
        if !meta.ends_with(";base64") {
            return None;
        }
        data
    } else {
        let encoded = line
            .param_value("ENCODING")
            .is_some_and(|e| e.eq_ignore_ascii_case("b") || e.eq_ignore_ascii_case("BASE64"))
            || types(line).iter().any(|t| t == "BASE64");
        if !encoded {
            return None; // a URL to a picture: not fetched
        }
        value
    };
    let clean: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(clean)
        .ok()?;
    (!bytes.is_empty()).then_some(bytes)
}

/// The image type for the PHOTO TYPE parameter, from the file's magic bytes.
fn image_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") {
        "PNG"
    } else if bytes.starts_with(b"GIF8") {
        "GIF"
    } else {
        "JPEG"
    }
}

/// Write a vCard 3.0 with this UID (see the module doc: every mapped
/// property is written, empty when unset).
pub fn write(c: &Contact, uid: &str) -> String {
    let mut c = c.clone(); // the accessor tables take `&mut Contact`
    let mut lines = vec![
        ContentLine::new("BEGIN", "VCARD"),
        ContentLine::new("VERSION", "3.0"),
        ContentLine::text("UID", uid),
    ];
    let text = |v: &Option<String>| contentline::escape_text(v.as_deref().unwrap_or(""));
    let name = [
        &c.last_name,
        &c.first_name,
        &c.middle_name,
        &c.title,
        &c.suffix,
    ]
    .map(|v| v.clone().unwrap_or_default());
    lines.push(ContentLine::new("N", join_escaped(&name, ';')));
    for (n, _, field) in TEXT_PROPS {
        lines.push(ContentLine::new(n, text(field(&mut c))));
    }
    for (n, _, field) in DATE_PROPS {
        let v = field(&mut c).map(|d| d.to_string()).unwrap_or_default();
        lines.push(ContentLine::new(n, v));
    }
    for (n, field) in LIST_PROPS {
        let v = field(&mut c).clone().unwrap_or_default();
        lines.push(ContentLine::new(n, join_escaped(&v, ',')));
    }
    let org = [&c.company_name, &c.department].map(|v| v.clone().unwrap_or_default());
    lines.push(ContentLine::new("ORG", join_escaped(&org, ';')));
    for (types, field) in EMAIL_SLOTS {
        lines.push(with_types(
            ContentLine::new("EMAIL", text(field(&mut c))),
            types,
        ));
    }
    for (i, (kind, types, field)) in TEL_SLOTS.iter().enumerate() {
        let second_of_kind = TEL_SLOTS[..i].iter().any(|(k, _, _)| k == kind);
        if second_of_kind && field(&mut c).is_none() {
            continue;
        }
        lines.push(with_types(
            ContentLine::new("TEL", text(field(&mut c))),
            types,
        ));
    }
    for (kind, field) in ADDRESSES {
        let a = field(&mut c).clone();
        let parts = [
            None,
            None,
            a.street,
            a.city,
            a.state,
            a.postal_code,
            a.country,
        ]
        .map(Option::unwrap_or_default);
        lines.push(with_types(
            ContentLine::new("ADR", join_escaped(&parts, ';')),
            &[kind],
        ));
    }
    let photo = match &c.picture {
        Some(bytes) => ContentLine::new(
            "PHOTO",
            base64::engine::general_purpose::STANDARD.encode(bytes),
        )
        .param("ENCODING", "b")
        .param("TYPE", image_type(bytes)),
        None => ContentLine::new("PHOTO", "").param("ENCODING", "b"),
    };
    lines.push(photo);
    lines.push(ContentLine::new(
        "X-WEIGHTED-RANK",
        c.weighted_rank.map(|r| r.to_string()).unwrap_or_default(),
    ));
    lines.push(ContentLine::new("END", "VCARD"));
    lines.iter().map(ContentLine::to_folded).collect()
}

/// `TYPE=A,B` (unquoted, as vCard 3.0 readers such as Horde expect).
fn with_types(mut line: ContentLine, types: &[&str]) -> ContentLine {
    line.params
        .push(("TYPE".into(), types.iter().map(|t| t.to_string()).collect()));
    line
}

/// Unfolded lines, with vCard 2.1 QUOTED-PRINTABLE soft line breaks (a QP
/// value ending in `=`) joined to the next line.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut continues = false;
    for line in contentline::unfold(text) {
        match out.last_mut() {
            Some(prev) if continues => {
                prev.pop(); // the soft break's '='
                prev.push_str(&line);
            }
            _ => out.push(line),
        }
        let last = out.last().map(String::as_str).unwrap_or("");
        continues = last.ends_with('=')
            && last
                .split(':')
                .next()
                .is_some_and(|head| head.to_ascii_uppercase().contains("QUOTED-PRINTABLE"));
    }
    out
}

/// Split a structured value (`N`, `ADR`, `ORG`) at unescaped `;` and
/// unescape each component; empty components are kept (they are positional).
fn split_structured(value: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let cur = parts.last_mut().expect("never empty");
                cur.push('\\');
                cur.extend(chars.next());
            }
            ';' => parts.push(String::new()),
            _ => parts.last_mut().expect("never empty").push(c),
        }
    }
    parts
        .iter()
        .map(|p| contentline::unescape_text(p))
        .collect()
}

/// Escape each part and join them with `sep`.
fn join_escaped<S: AsRef<str>>(parts: &[S], sep: char) -> String {
    let escaped: Vec<String> = parts
        .iter()
        .map(|p| contentline::escape_text(p.as_ref()))
        .collect();
    escaped.join(&sep.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tel_kinds_follow_the_most_specific_type() {
        let k = |t: &[&str]| tel_kind(&t.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(k(&["FAX", "HOME"]), TelKind::HomeFax);
        assert_eq!(k(&["FAX", "WORK"]), TelKind::BusinessFax);
        assert_eq!(k(&["CELL", "HOME"]), TelKind::Mobile);
        assert_eq!(k(&["WORK", "VOICE"]), TelKind::Business);
        assert_eq!(k(&["VOICE"]), TelKind::Home);
        assert_eq!(k(&["X-EVOLUTION-ASSISTANT"]), TelKind::Assistant);
    }

    #[test]
    fn dates_in_every_vcard_form() {
        let d = CalendarDate::new(1980, 5, 4);
        assert_eq!(parse_vcard_date("1980-05-04"), d);
        assert_eq!(parse_vcard_date("19800504"), d);
        assert_eq!(parse_vcard_date("1980-05-04T00:00:00Z"), d);
        assert_eq!(parse_vcard_date("--0504"), CalendarDate::new(1604, 5, 4));
        assert_eq!(parse_vcard_date(""), None);
        assert_eq!(parse_vcard_date("1980-13-04"), None);
        assert_eq!(parse_vcard_date("--"), None);
    }

    #[test]
    fn quoted_printable_with_latin1_charset() {
        let l = ContentLine::parse("NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:caf=E9=0Ax")
            .unwrap();
        assert_eq!(text_value(&l), "café\nx");
        let l = ContentLine::parse("NOTE;QUOTED-PRINTABLE;CHARSET=UTF-8:caf=C3=A9=").unwrap();
        assert_eq!(text_value(&l), "café=");
    }
}
