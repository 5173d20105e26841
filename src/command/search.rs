//! Search (MS-ASCMD 2.2.1.16) of the Global Address List: `Store` `GAL`
//! with a `Query` matched against the `[gal] sources` address books (see
//! `backend::directory` for the rule), `Range` and `Total`. Other stores
//! (Mailbox, DocumentLibrary) are not served here and get Status 2 in their
//! Store; Picture is not returned (no contact photos in the results).

use super::{CommandError, Ctx, Outcome};
use crate::backend::directory;
use crate::model::Contact;
use crate::wbxml::codepages::{gal, search as s};
use crate::wbxml::Element;

/// Search:Status values (MS-ASCMD 2.2.3.177.13).
pub mod status {
    pub const SUCCESS: u32 = 1;
    pub const INVALID_REQUEST: u32 = 2;
}

/// Most results one Search returns (the spec's GAL limit: Range 0-99).
const MAX_RESULTS: usize = 100;
/// Most matches counted for `Total`.
const MAX_COUNTED: usize = 1000;

pub fn run(ctx: &mut Ctx, body: Option<&Element>) -> Result<Outcome, CommandError> {
    let store = body
        .filter(|b| b.tag == s::Search)
        .and_then(|b| b.child(s::Store));
    let Some(store) = store else {
        return Ok(reply(status::INVALID_REQUEST, None));
    };
    let query = store.text_of(s::Query).map(str::trim).unwrap_or_default();
    let range = match store.path(&[s::Options, s::Range]).and_then(|r| r.text()) {
        Some(text) => parse_range(text),
        None => Some((0, MAX_RESULTS - 1)),
    };
    let is_gal = store
        .text_of(s::Name)
        .is_some_and(|n| n.trim().eq_ignore_ascii_case("GAL"));
    let (Some((first, last)), true, false) = (range, is_gal, query.is_empty()) else {
        return Ok(reply(
            status::SUCCESS,
            Some(Element::new(s::Store).with_text(s::Status, status::INVALID_REQUEST.to_string())),
        ));
    };
    let books = ctx.session.gal_collections(&ctx.config.gal.sources)?;
    let mut found = ctx.session.search_contacts(&books, query, MAX_COUNTED)?;
    // By name, as a directory lists people (and stable across pages).
    found.sort_by_cached_key(|(id, c)| (directory::display_name(c).to_lowercase(), id.clone()));
    let mut result = Element::new(s::Store).with_text(s::Status, status::SUCCESS.to_string());
    let shown: Vec<&(String, Contact)> = found.iter().skip(first).take(last + 1 - first).collect();
    if shown.is_empty() {
        result.push(Element::new(s::Result));
    } else {
        for (_, contact) in &shown {
            result.push(Element::new(s::Result).with(properties(contact)));
        }
        result.push_text(s::Range, format!("{first}-{}", first + shown.len() - 1));
    }
    result.push_text(s::Total, found.len().to_string());
    Ok(reply(status::SUCCESS, Some(result)))
}

/// `m-n` with m <= n and at most [`MAX_RESULTS`] rows.
fn parse_range(text: &str) -> Option<(usize, usize)> {
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

/// The GAL properties of one contact (only those it has).
fn properties(c: &Contact) -> Element {
    let alias = c.alias.clone().or_else(|| {
        directory::addresses(c)
            .next()
            .and_then(|a| a.split('@').next())
            .map(str::to_string)
    });
    Element::new(s::Properties)
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
