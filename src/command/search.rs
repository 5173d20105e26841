//! Search (MS-ASCMD 2.2.1.16) of the Global Address List: `Store` `GAL`
//! with a `Query` matched against the `[gal] sources` address books (see
//! `backend::directory` for the rule), `Range` and `Total`. `Mailbox` is
//! searched by `search_mailbox`; DocumentLibrary (not served) gets Status 2
//! in its Store. From 14.1 `Picture` asks for the contacts' photos, limited by
//! `MaxSize` (bytes) and `MaxPictures`; each result then carries a
//! `gal:Picture` with its own status.

use super::{CommandError, Ctx, Outcome};
use crate::backend::directory;
use crate::model::Contact;
use crate::wbxml::codepages::{gal, search as s};
use crate::wbxml::Element;
use base64::Engine;

/// Search:Status values (MS-ASCMD 2.2.3.177.13).
pub mod status {
    pub const SUCCESS: u32 = 1;
    pub const INVALID_REQUEST: u32 = 2;
    /// gal:Picture: the contact has no photo.
    pub const NO_PICTURE: u32 = 173;
    /// gal:Picture: the photo is larger than MaxSize.
    pub const PICTURE_TOO_LARGE: u32 = 174;
    /// gal:Picture: MaxPictures photos were already returned.
    pub const TOO_MANY_PICTURES: u32 = 175;
}

/// What the client asked of contact photos.
#[derive(Debug, Clone, Copy)]
pub struct PictureLimits {
    pub max_size: Option<usize>,
    pub max_pictures: Option<usize>,
}

impl PictureLimits {
    /// The limits of a `Picture` request element (`MaxSize`, `MaxPictures`
    /// in the given code page's tags).
    pub fn parse(e: &Element, max_size: crate::wbxml::Tag, max_pictures: crate::wbxml::Tag) -> Self {
        PictureLimits {
            max_size: e.u32_of(max_size).map(|n| n as usize),
            max_pictures: e.u32_of(max_pictures).map(|n| n as usize),
        }
    }

    /// The status and, on success, the photo to send; `sent` counts the
    /// photos already in the response.
    pub fn check<'a>(&self, photo: Option<&'a [u8]>, sent: &mut usize) -> (u32, Option<&'a [u8]>) {
        match photo {
            None => (status::NO_PICTURE, None),
            Some(p) if self.max_size.is_some_and(|m| p.len() > m) => (status::PICTURE_TOO_LARGE, None),
            Some(_) if self.max_pictures.is_some_and(|m| *sent >= m) => (status::TOO_MANY_PICTURES, None),
            Some(p) => {
                *sent += 1;
                (status::SUCCESS, Some(p))
            }
        }
    }

    /// The `gal:Picture` element of a GAL result (Search and Find).
    pub fn picture(&self, contact: &Contact, sent: &mut usize) -> Element {
        let (code, photo) = self.check(contact.picture.as_deref(), sent);
        let mut picture = Element::new(gal::Picture).with_text(gal::Status, code.to_string());
        if let Some(photo) = photo {
            picture.push_text(gal::Data, base64::engine::general_purpose::STANDARD.encode(photo));
        }
        picture
    }
}

/// Most results one Search or Find returns (the spec's limit: Range 0-99).
pub const MAX_RESULTS: usize = 100;
/// Most matches counted for `Total`.
const MAX_COUNTED: usize = 1000;

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let store = body
        .filter(|b| b.tag == s::Search)
        .and_then(|b| b.child(s::Store));
    let Some(store) = store else {
        return Ok(reply(status::INVALID_REQUEST, None));
    };
    if super::search_mailbox::is_mailbox(store) {
        return super::search_mailbox::run(ctx, store);
    }
    let query = store.text_of(s::Query).map(str::trim).unwrap_or_default();
    let range = match store.path(&[s::Options, s::Range]).and_then(|r| r.text()) {
        Some(text) => parse_range(text),
        None => Some(DEFAULT_RANGE),
    };
    // GAL is the only other store served; DocumentLibrary (SharePoint/UNC
    // shares) does not exist here, so its query is an invalid request.
    let is_gal = store
        .text_of(s::Name)
        .is_some_and(|n| n.trim().eq_ignore_ascii_case("GAL"));
    let (Some((first, last)), true, false) = (range, is_gal, query.is_empty()) else {
        return Ok(reply(
            status::SUCCESS,
            Some(Element::new(s::Store).with_text(s::Status, status::INVALID_REQUEST.to_string())),
        ));
    };
    let pictures = store
        .path(&[s::Options, s::Picture])
        .filter(|_| ctx.req.version.has_contact_pictures())
        .map(|p| PictureLimits::parse(p, s::MaxSize, s::MaxPictures));
    let found = gal_search(ctx, query)?;
    let mut result = Element::new(s::Store).with_text(s::Status, status::SUCCESS.to_string());
    let shown: Vec<&GalEntry> = found.iter().skip(first).take(last + 1 - first).collect();
    if shown.is_empty() {
        result.push(Element::new(s::Result));
    } else {
        let mut sent = 0;
        for entry in &shown {
            let mut props = gal_properties(s::Properties, &entry.contact);
            if let Some(limits) = pictures {
                props.push(limits.picture(&entry.contact, &mut sent));
            }
            result.push(Element::new(s::Result).with(props));
        }
        result.push_text(s::Range, format!("{first}-{}", first + shown.len() - 1));
    }
    result.push_text(s::Total, found.len().to_string());
    Ok(reply(status::SUCCESS, Some(result)))
}

/// One directory match and the address book it is in.
pub struct GalEntry {
    /// The book's backend collection id.
    pub book: String,
    /// The contact's id in the book.
    pub id: String,
    pub contact: Contact,
}

/// The GAL entries matching `query` (see `backend::directory`), at most
/// [`MAX_COUNTED`], sorted by display name as a directory lists people
/// (and stable across pages). Shared by Search and Find.
pub fn gal_search(ctx: &mut Ctx, query: &str) -> Result<Vec<GalEntry>, CommandError> {
    let books = ctx.session.gal_collections(&ctx.config.gal.sources)?;
    let mut found = Vec::new();
    for book in &books {
        let left = MAX_COUNTED.saturating_sub(found.len());
        if left == 0 {
            break;
        }
        let matches = ctx
            .session
            .search_contacts(std::slice::from_ref(book), query, left)?;
        found.extend(matches.into_iter().map(|(id, contact)| GalEntry {
            book: book.id.clone(),
            id,
            contact,
        }));
    }
    found.sort_by_cached_key(|e| (directory::display_name(&e.contact).to_lowercase(), e.id.clone()));
    Ok(found)
}

/// The rows a Search or Find returns when the device names no Range.
pub const DEFAULT_RANGE: (usize, usize) = (0, MAX_RESULTS - 1);

/// `m-n` with m <= n, cut to at most [`MAX_RESULTS`] rows (the spec lets
/// a server return fewer rows than asked; Total tells the device).
pub fn parse_range(text: &str) -> Option<(usize, usize)> {
    let (a, b) = text.trim().split_once('-')?;
    let (first, last): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (first <= last).then_some((first, last.min(first + MAX_RESULTS - 1)))
}

fn reply(code: u32, store: Option<Element>) -> Outcome {
    let mut e = Element::new(s::Search).with_text(s::Status, code.to_string());
    if let Some(store) = store {
        e.push(Element::new(s::Response).with(store));
    }
    Outcome::Wbxml(e)
}

/// The GAL properties of one contact (only those it has), in a
/// `container` (search:Properties or find:Properties).
pub fn gal_properties(container: crate::wbxml::Tag, c: &Contact) -> Element {
    let alias = c.alias.clone().or_else(|| {
        directory::addresses(c)
            .next()
            .and_then(|a| a.split('@').next())
            .map(str::to_string)
    });
    Element::new(container)
        .with_text(gal::DisplayName, directory::display_name(c))
        .with_opt_text(gal::Phone, c.business_phone_number.clone())
        .with_opt_text(gal::Office, c.office_location.clone())
        .with_opt_text(gal::Title, c.job_title.clone())
        .with_opt_text(gal::Company, c.company_name.clone())
        .with_opt_text(gal::Alias, alias)
        .with_opt_text(gal::FirstName, c.first_name.clone())
        .with_opt_text(gal::LastName, c.last_name.clone())
        .with_opt_text(gal::HomePhone, c.home_phone_number.clone())
        .with_opt_text(gal::MobilePhone, c.mobile_phone_number.clone())
        .with_opt_text(gal::EmailAddress, directory::addresses(c).next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("0-9"), Some((0, 9)));
        assert_eq!(parse_range(" 5 - 5 "), Some((5, 5)));
        assert_eq!(parse_range("0-1000"), Some((0, 99)));
        assert_eq!(parse_range("9-0"), None);
        assert_eq!(parse_range("x"), None);
    }
}
